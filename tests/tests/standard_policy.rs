//! The standard Phase V policy compiles without a diagnostic, is formatted, and has the whole
//! ladder, all three gates, the four escalation categories and the 13-item checklist.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use phasev_compiler::ast::FileId;
use phasev_compiler::{Options, compile_path, fmt, parser};

const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/phase-v.phasev");

#[test]
fn compiles_without_a_diagnostic() {
    let c = compile_path(Path::new(POLICY), &Options::default());
    let messages: Vec<_> = c
        .diagnostics
        .iter()
        .map(|d| d.message().to_owned())
        .collect();
    assert!(messages.is_empty(), "{messages:?}");
    let ir = c.program.unwrap();
    let rungs: Vec<_> = ir.rungs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        rungs,
        ["local_compose", "local_k8s", "cloud_staging", "cloud_prod"]
    );
    let gates: Vec<_> = ir.gates.iter().map(|g| (g.from, g.to)).collect();
    assert_eq!(gates, [(0, 1), (1, 2), (2, 3)]);
    assert_eq!(ir.escalations.len(), 4);
    assert_eq!(ir.checklist.len(), 13);
}

#[test]
fn is_formatted() {
    let text = std::fs::read_to_string(POLICY).unwrap();
    let module = parser::parse(FileId(0), &text).unwrap();
    assert_eq!(
        fmt::format(&module, &text),
        text,
        "run `phasevc fmt policies/phase-v.phasev`"
    );
}
