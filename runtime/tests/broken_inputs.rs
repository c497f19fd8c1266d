//! A project with broken inputs: every problem is a clear message and the right exit code,
//! never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

/// A temporary project using the standard policy, with `files` written into it.
fn project(name: &str, config_tail: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phasev-broken-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let standard = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/phase-v.phasev");
    let config = format!(
        "[project]\nname = \"t\"\npolicy = {:?}\n\n[tests]\nunit = [\"reports/unit/*.xml\"]\n\n[features.orders]\nstage = \"local_k8s\"\n{config_tail}",
        standard.display().to_string()
    );
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn gate(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("phasev-eval").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(dir);
    cmd.args(["gate", "--feature", "orders", "--to", "cloud_staging"]);
    cmd
}

/// The SDD documents, so that the gates get past the first requirement.
const SPECS: [(&str, &str); 3] = [
    ("specs/orders/spec.md", "# Orders\n**Status**: Approved\n"),
    ("specs/orders/plan.md", "# Plan\n"),
    ("specs/orders/tasks.md", "- [x] one\n"),
];

#[test]
fn an_empty_repository_fails_on_its_missing_spec_and_is_never_a_pass() {
    let dir = project("empty", "", &[]);
    gate(&dir)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("docs.spec.exists is false"))
        .stdout(predicate::str::contains(
            "undecided: tests.unit.total is missing",
        ))
        .stderr(predicate::str::is_empty());
    let mut readiness = Command::cargo_bin("phasev-eval").unwrap();
    readiness.current_dir(&dir).args(["report", "readiness"]);
    readiness
        .assert()
        .code(0)
        .stdout(predicate::str::contains("| orders | spec | ✅ | ❌ | ⏳ |"));
}

#[test]
fn a_malformed_junit_report_is_an_errored_fact_naming_the_file() {
    let truncated = "<?xml version=\"1.0\"?>\n<testsuite name=\"u\" tests=\"2\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\"><failure><![CDATA[boom";
    let mut files = SPECS.to_vec();
    files.push(("reports/unit/TEST-u.xml", truncated));
    let dir = project("junit", "", &files);
    gate(&dir)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("tests.unit.total is error: "))
        .stdout(predicate::str::contains("reports/unit/TEST-u.xml"));
}

#[test]
fn an_unknown_config_key_points_at_it() {
    let dir = project("key", "ownr = \"x\"\n", &[]);
    gate(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field `ownr`"))
        .stderr(predicate::str::contains("did you mean `owner`?"))
        .stderr(predicate::str::contains("phasev.toml:10:1"));
}

#[test]
fn a_stage_that_is_not_a_rung_is_a_config_error() {
    let dir = project("stage", "", &[]);
    let config = std::fs::read_to_string(dir.join("phasev.toml"))
        .unwrap()
        .replace("local_k8s", "locl_k8s");
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    gate(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "feature `orders` is on stage `locl_k8s`, which is not a rung of policy `phase_v`",
        ))
        .stderr(predicate::str::contains("did you mean `local_k8s`?"));
}

#[test]
fn an_unreadable_spec_is_an_errored_fact() {
    let dir = project("spec", "", &SPECS[1..]);
    // A directory where spec.md should be: reading it fails.
    std::fs::create_dir_all(dir.join("specs/orders/spec.md")).unwrap();
    let out = Command::cargo_bin("phasev-eval")
        .unwrap()
        .env("NO_COLOR", "1")
        .current_dir(&dir)
        .args(["gate", "--feature", "orders", "--to", "cloud_staging"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("docs.spec.exists is error: cannot read"),
        "{stdout}"
    );
}

#[test]
fn reports_older_than_their_freshness_limit_are_stale() {
    let mut files = SPECS.to_vec();
    let report = "<testsuite name=\"u\"><testcase name=\"a\"/></testsuite>";
    files.push(("reports/unit/TEST-u.xml", report));
    let dir = project("stale", "\n[freshness]\ntests = \"1h\"\n", &files);
    let three_days = std::time::Duration::from_secs(3 * 86_400);
    let old = std::time::SystemTime::now() - three_days;
    let file = std::fs::File::options()
        .write(true)
        .open(dir.join("reports/unit/TEST-u.xml"))
        .unwrap();
    file.set_modified(old).unwrap();
    gate(&dir).assert().code(3).stdout(predicate::str::contains(
        "undecided: tests.unit.total is stale (3d old, limit 1h)",
    ));
    let fresh = project("fresh", "\n[freshness]\ntests = \"1h\"\n", &files);
    gate(&fresh)
        .assert()
        .stdout(predicate::str::contains("tests.unit.total is stale").not());
    let bad = project("badlimit", "\n[freshness]\ntests = \"soon\"\n", &files);
    gate(&bad).assert().code(2).stderr(predicate::str::contains(
        "[freshness] `tests` = `soon` is not a duration",
    ));
}

#[test]
fn the_baseline_comes_from_the_newest_passing_record() {
    let dir = std::env::temp_dir().join(format!("phasev-baseline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("records/orders")).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies/baseline.phasev");
    let config = format!(
        "[project]\nname = \"t\"\npolicy = {:?}\n\n[baseline]\nrecords = \"records/{{feature}}\"\n\n[features.orders]\nstage = \"dev\"\n",
        policy.display().to_string()
    );
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    let run = |latency: &str, record: Option<&str>| {
        std::fs::write(
            dir.join("facts.json"),
            format!("{{\"metrics\": {{\"latency_p95\": \"{latency}\"}}}}"),
        )
        .unwrap();
        let mut cmd = Command::cargo_bin("phasev-eval").unwrap();
        cmd.current_dir(&dir).args([
            "gate",
            "--feature",
            "orders",
            "--to",
            "prod",
            "--facts",
            "facts.json",
        ]);
        if let Some(r) = record {
            cmd.args(["--record", r]);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // No record yet: the baseline is missing, so the warning is undecided.
    let (code, text) = run("200ms", Some("records/orders/1.json"));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("undecided: baseline.metrics.latency_p95 is missing"),
        "{text}"
    );
    // The record (a warn) is the baseline now.
    let (code, text) = run("300ms", None);
    assert_eq!(code, Some(0));
    assert!(
        text.contains(
            "metrics.latency_p95 is 300ms, needs <= baseline.metrics.latency_p95 * 110% (220ms)"
        ),
        "{text}"
    );
    let (_, text) = run("210ms", None);
    assert!(text.starts_with("orders → prod: PASS"), "{text}");
}

#[test]
fn helm_lint_runs_when_helm_is_installed_and_no_output_is_saved() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = SPECS.to_vec();
    files.push((
        "charts/orders/Chart.yaml",
        "apiVersion: v2\nname: orders\nversion: 0.1.0\n",
    ));
    let dir = project("helmrun", "chart = \"charts/orders\"\n", &files);
    // A stand-in for helm that reports two errors, as `helm lint` prints them.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helm = bin.join("helm");
    std::fs::write(
        &helm,
        "#!/bin/sh\necho '==> Linting charts/orders'\necho '[ERROR] templates/: parse error'\necho '[ERROR] values.yaml: bad'\necho\necho 'Error: 1 chart(s) linted, 1 chart(s) failed'\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    gate(&dir)
        .env("PATH", path)
        .assert()
        .stdout(predicate::str::contains(
            "helm.lint.errors is 2, needs == 0",
        ));
}
