//! `phasev-eval test` on the standard policy's tests (`policies/phase-v.tests.toml`): every case
//! passes and every requirement is seen passing, failing and inconclusive. Also its JUnit output
//! and its errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use phasev_runtime::collect::junit::parse_junit;
use predicates::prelude::*;

fn standard_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/phase-v.tests.toml")
}

fn eval() -> Command {
    let mut cmd = Command::cargo_bin("phasev-eval").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn the_standard_policy_passes_its_tests_with_full_coverage() {
    eval()
        .arg("test")
        .arg(standard_tests())
        .arg("--require-coverage")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "coverage: 23 requirements, 23 seen both passing and failing, 23 seen inconclusive",
        ))
        .stdout(predicate::str::contains("FAILED").not());
}

#[test]
fn junit_output_has_one_case_per_test() {
    let out = eval()
        .arg("test")
        .arg(standard_tests())
        .args(["--format", "junit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let counts = parse_junit(&out.stdout).unwrap();
    let cases = std::fs::read_to_string(standard_tests())
        .unwrap()
        .matches("[[case]]")
        .count();
    assert_eq!((counts.total, counts.failed), (cases as u64, 0));
}

fn suite(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phasev-policy-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies/mini.phasev");
    let path = dir.join(name);
    let text = format!(
        "policy = {:?}\nfeature = \"f\"\n{body}",
        policy.display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_wrong_expectation_fails_and_says_why() {
    let file = suite(
        "wrong.tests.toml",
        "[facts]\nsvc = { ok = true, errors = 0, quota = \"1%\" }\n\n[[case]]\nname = \"expects too much\"\nto = \"staging\"\nexpect = \"fail\"\nrequirements = { \"service ok\" = \"fail\" }\n",
    );
    eval()
        .arg("test")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("test expects too much ... FAILED"))
        .stdout(predicate::str::contains("expected fail, got pass"))
        .stdout(predicate::str::contains(
            "requirement \"service ok\": expected fail, got pass",
        ));
    let out = eval()
        .arg("test")
        .arg(&file)
        .args(["--format", "junit"])
        .output()
        .unwrap();
    let counts = parse_junit(&out.stdout).unwrap();
    assert_eq!((counts.total, counts.failed), (1, 1));
}

#[test]
fn incomplete_coverage_fails_only_when_required() {
    let file = suite(
        "partial.tests.toml",
        "[[case]]\nname = \"only a pass\"\nto = \"staging\"\nfacts = { svc = { ok = true, errors = 0, quota = \"1%\" } }\nexpect = \"pass\"\n",
    );
    eval().arg("test").arg(&file).assert().code(0);
    eval()
        .arg("test")
        .arg(&file)
        .arg("--require-coverage")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "not seen both passing and failing: \"service ok (dev -> staging)\"",
        ));
}

#[test]
fn broken_test_files_are_usage_errors() {
    let unknown_key = suite(
        "bad.tests.toml",
        "[[case]]\nname = \"x\"\nto = \"staging\"\nexpectt = \"pass\"\n",
    );
    eval()
        .arg("test")
        .arg(&unknown_key)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a valid policy test file"));
    eval()
        .args(["test", "/nonexistent/x.tests.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the policy tests"));
    let bad_type = suite(
        "type.tests.toml",
        "[[case]]\nname = \"x\"\nto = \"staging\"\nfacts = { svc = { ok = \"yes\" } }\nexpect = \"pass\"\n",
    );
    eval()
        .arg("test")
        .arg(&bad_type)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("`svc.ok` must be a bool"));
}

/// A case that sets a fact the policy does not read tests less than it says: a misspelt key
/// (`svc.errros`), a namespace given a value, or an `unset` of no fact would leave the fact
/// meant as it was, and the case would pass. Each fails the case, naming the nearest fact.
#[test]
fn a_case_that_sets_no_fact_the_policy_reads_fails() {
    let file = suite(
        "misspelt.tests.toml",
        "[facts]\nsvc = { ok = true, errors = 0, quota = \"1%\" }\n\n\
         [[case]]\nname = \"misspelt\"\nto = \"staging\"\nfacts = { \"svc.errros\" = 7 }\nexpect = \"pass\"\n\n\
         [[case]]\nname = \"namespace\"\nto = \"staging\"\nfacts = { svc = 1 }\nexpect = \"pass\"\n\n\
         [[case]]\nname = \"per feature\"\nto = \"staging\"\nfacts = { features = { f = { svc = { okk = false } } } }\nexpect = \"pass\"\n\n\
         [[case]]\nname = \"unset\"\nto = \"staging\"\nunset = [\"svc.okay\", \"nothing.like.it\"]\nexpect = \"pass\"\n\n\
         [[case]]\nname = \"right\"\nto = \"staging\"\nfacts = { \"svc.errors\" = 7, features = { f = { svc = { ok = true } } } }\nunset = [\"svc.quota\"]\nexpect = \"warn\"\n",
    );
    let out = eval().arg("test").arg(&file).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for expected in [
        "test misspelt ... FAILED",
        "`svc.errros` is not a fact the policy reads (did you mean `svc.errors`?)",
        "test namespace ... FAILED",
        "`svc` is a namespace of facts, not a fact: give its facts (`svc.…`)",
        "test per feature ... FAILED",
        "`features.f.svc.okk` is not a fact the policy reads (did you mean `svc.ok`?)",
        "test unset ... FAILED",
        "`unset` names `svc.okay`, which is not a fact the policy reads (did you mean `svc.ok`?)",
        "`unset` names `nothing.like.it`, which is not a fact the policy reads",
        "test right ... ok",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
}

/// A key of the suite's `[facts]` that names no fact the policy reads is an error of the file.
#[test]
fn suite_facts_that_the_policy_does_not_read_are_an_error() {
    let file = suite(
        "suite-facts.tests.toml",
        "[facts]\nsvc = { ok = true, eror = 0 }\n\n[[case]]\nname = \"x\"\nto = \"staging\"\nexpect = \"pass\"\n",
    );
    eval()
        .arg("test")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: [facts] `svc.eror` is not a fact the policy reads (did you mean `svc.errors`?)",
            file.display()
        )))
        .stderr(predicate::str::contains("phasev::test::unknown_fact"));
}
