//! `phasevc` as a user runs it: exit codes, where output goes, JSON diagnostics, `fmt`,
//! `compile` and `explain`, and clear errors for files that cannot be read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn phasevc() -> Command {
    let mut cmd = Command::cargo_bin("phasevc").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A scratch directory under the target dir, fresh for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const BROKEN: &str =
    "policy p\nladder { a b }\ngate a -> b {\n  require \"r\": tests.unit.faild == 0\n}\n";
const WARNS: &str = "policy p\nladder { a b }\nrule spare = true\ngate a -> b {\n  require \"r\": rollback.tested\n}\n";

#[test]
fn check_of_the_standard_policy_is_clean() {
    phasevc()
        .args(["check", "--deny-warnings"])
        .arg(repo("policies/phase-v.phasev"))
        .assert()
        .code(0)
        .stderr("")
        .stdout(predicate::str::contains(
            "ok, policy `phase_v`: 4 rungs, 3 gates",
        ));
}

#[test]
fn check_reports_errors_with_code_and_span_and_exits_2() {
    let dir = scratch("check_errors");
    let file = dir.join("broken.phasev");
    std::fs::write(&file, BROKEN).unwrap();
    phasevc()
        .arg("check")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("phasev::check::unknown_fact"))
        .stderr(predicate::str::contains("broken.phasev:4:16"))
        .stderr(predicate::str::contains(
            "did you mean `tests.unit.failed`?",
        ))
        .stderr(predicate::str::contains("\u{1b}[").not())
        .stdout(format!("{}: failed, 1 error, 0 warnings\n", file.display()));
}

#[test]
fn json_diagnostics_are_machine_readable() {
    let dir = scratch("check_json");
    let file = dir.join("broken.phasev");
    std::fs::write(&file, BROKEN).unwrap();
    let out = phasevc()
        .args(["check", "--format", "json"])
        .arg(&file)
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let first = &json[0];
    assert_eq!(first["code"], "phasev::check::unknown_fact");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["labels"][0]["span"]["offset"], 53);
    assert!(
        first["help"]
            .as_str()
            .unwrap()
            .contains("tests.unit.failed")
    );
}

#[test]
fn warnings_exit_1_only_when_denied() {
    let dir = scratch("warnings");
    let file = dir.join("warns.phasev");
    std::fs::write(&file, WARNS).unwrap();
    phasevc()
        .arg("check")
        .arg(&file)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("rule `spare` is never used"));
    phasevc()
        .args(["check", "--deny-warnings"])
        .arg(&file)
        .assert()
        .code(1);
}

#[test]
fn fmt_check_then_fmt() {
    let dir = scratch("fmt");
    let file = dir.join("messy.phasev");
    std::fs::write(&file, "policy   p // name\nladder{a b}\n").unwrap();
    phasevc()
        .args(["fmt", "--check"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("would reformat"));
    phasevc().arg("fmt").arg(&file).assert().code(0);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "policy p  // name\nladder {\n  a\n  b\n}\n"
    );
    phasevc()
        .args(["fmt", "--check"])
        .arg(&file)
        .assert()
        .code(0);
}

#[test]
fn compile_writes_both_forms_with_one_digest() {
    let dir = scratch("compile");
    let policy = repo("policies/phase-v.phasev");
    let json = dir.join("phase-v.json");
    let bin = dir.join("phase-v.phir");
    let a = phasevc()
        .arg("compile")
        .arg(&policy)
        .arg("-o")
        .arg(&json)
        .args(["--emit", "json"])
        .assert()
        .code(0);
    let b = phasevc()
        .arg("compile")
        .arg(&policy)
        .arg("-o")
        .arg(&bin)
        .assert()
        .code(0);
    let digest = |out: &[u8]| {
        let text = String::from_utf8_lossy(out);
        text.split("(sha256:")
            .nth(1)
            .unwrap()
            .trim_end()
            .trim_end_matches(')')
            .to_owned()
    };
    assert_eq!(
        digest(&a.get_output().stdout),
        digest(&b.get_output().stdout)
    );
    let ir = phasev_compiler::ir::Program::from_bytes(&std::fs::read(&bin).unwrap()).unwrap();
    let from_json =
        phasev_compiler::ir::Program::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(ir, from_json);
}

#[test]
fn compile_infers_the_form_from_the_extension_and_refuses_a_mismatch() {
    let dir = scratch("compile_extension");
    let policy = repo("policies/phase-v.phasev");
    let json = dir.join("out.json");
    phasevc()
        .arg("compile")
        .arg(&policy)
        .arg("-o")
        .arg(&json)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(phasev_compiler::ir::Program::from_json(&text).is_ok());

    let refused = dir.join("bin.json");
    phasevc()
        .arg("compile")
        .arg(&policy)
        .arg("-o")
        .arg(&refused)
        .args(["--emit", "bin"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "error: `{}` ends in `.json` but `--emit bin` writes the binary IR; name it \
             `.phir`, or write JSON with `--emit json`\n",
            refused.display()
        ));
    assert!(!refused.exists());
}

#[test]
fn compile_refuses_a_broken_policy_and_writes_nothing() {
    let dir = scratch("compile_broken");
    let file = dir.join("broken.phasev");
    std::fs::write(&file, BROKEN).unwrap();
    let out = dir.join("out.phir");
    phasevc()
        .arg("compile")
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
    assert!(!out.exists());
}

#[test]
fn explain_prints_long_texts_and_lists_codes() {
    phasevc()
        .args(["explain", "unknown_fact"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("phasev::check::unknown_fact"))
        .stdout(predicate::str::contains("fact team.pci.passed: bool"));
    phasevc()
        .arg("explain")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("phasev::analyze::never_passes"));
    phasevc()
        .args(["explain", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no diagnostic code `nope`"));
}

#[test]
fn unreadable_and_missing_files_are_clear_errors() {
    phasevc()
        .args(["check", "does/not/exist.phasev"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read `does/not/exist.phasev`: no such file",
        ))
        .stderr(predicate::str::contains("panicked").not());
    let dir = scratch("binary");
    let file = dir.join("binary.phasev");
    std::fs::write(&file, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    phasevc()
        .arg("check")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the file is not UTF-8"));
    phasevc()
        .args(["fmt", "does/not/exist.phasev"])
        .assert()
        .code(2);
}

#[test]
fn usage_errors_exit_2_with_help() {
    phasevc()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    phasevc().args(["check"]).assert().code(2);
    phasevc()
        .args(["compile", "x.phasev"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output"));
}
