//! The docs collector on spec-kit-shaped documents in `data/docs`, and on unreadable files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use phasev_runtime::collect::docs::{DocsReport, inspect_feature};

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/docs")
}

#[test]
fn a_complete_feature_is_read_in_full() {
    let report = inspect_feature(&specs(), "notifications").unwrap();
    assert_eq!(
        report,
        DocsReport {
            spec_exists: true,
            spec_approved: true,
            plan_exists: true,
            // ADR-0004 (twice, once with a fragment), docs/adr/0011 and the reference
            // definition to docs/decisions/0013; not the ADR directory, the image or the
            // fenced example.
            adrs: 3,
            tasks_exists: true,
            // T001–T006b outside the fence, four of them checked.
            tasks_total: 8,
            tasks_done: 4,
        }
    );
}

#[test]
fn front_matter_declares_the_status_first() {
    // `status: In review` in front matter; the later `**Status**: Approved` and the body's
    // `Status: approved` do not override it.
    let report = inspect_feature(&specs(), "refunds").unwrap();
    assert!(report.spec_exists);
    assert!(!report.spec_approved);
    assert!(report.plan_exists);
    assert_eq!(report.adrs, 0);
    assert!(!report.tasks_exists);
    assert_eq!((report.tasks_total, report.tasks_done), (0, 0));
}

#[test]
fn a_status_section_approves() {
    let report = inspect_feature(&specs(), "search").unwrap();
    assert!(report.spec_approved);
    assert!(!report.plan_exists);
    assert!(!report.tasks_exists);
}

#[test]
fn a_feature_without_documents_exists_nowhere() {
    let report = inspect_feature(&specs(), "no-such-feature").unwrap();
    assert_eq!(report, DocsReport::default());
}

#[test]
fn an_unreadable_document_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("orders");
    std::fs::create_dir_all(&feature).unwrap();
    std::fs::write(feature.join("spec.md"), "**Status**: Approved\n").unwrap();
    // Not UTF-8: read_to_string refuses it, whoever runs the test (root reads mode 000 files).
    std::fs::write(feature.join("tasks.md"), b"- [x] caf\xe9\n").unwrap();
    let err = inspect_feature(dir.path(), "orders").unwrap_err();
    assert_eq!(err.file, feature.join("tasks.md"));
    let message = err.to_string();
    assert!(message.starts_with("cannot read "), "{message}");
    assert!(message.contains("orders/tasks.md"), "{message}");
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("phasev::collect::docs::unreadable"));
}

#[test]
fn a_directory_where_a_document_should_be_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("orders/plan.md")).unwrap();
    let err = inspect_feature(dir.path(), "orders").unwrap_err();
    assert_eq!(err.file, dir.path().join("orders/plan.md"));
}
