//! `phasev-eval` as a pipeline runs it: exit codes, reports, and clear errors on bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A file written into a test's temporary directory.
fn facts_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write facts");
    path
}

const PASSING: &str = r#"{"svc": {"ok": true, "errors": 0, "latency": "200ms", "budget": "250ms",
    "quota": "10%", "pods": [{"name": "a", "ready": true}]}}"#;

fn gate(facts: &Path, to: &str) -> Command {
    let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--policy"])
        .arg(data("policies/mini.phasev"));
    cmd.arg("--facts")
        .arg(facts)
        .args(["--feature", "orders", "--to", to]);
    cmd
}

#[test]
fn each_verdict_has_its_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("pass", PASSING.to_owned(), 0, "orders → prod: PASS"),
        (
            "fail",
            PASSING.replace("200ms", "312ms"),
            1,
            "svc.latency is 312ms, needs <= svc.budget (250ms)",
        ),
        (
            "inconclusive",
            PASSING.replace(r#""ok": true, "#, ""),
            3,
            "undecided: svc.ok is missing",
        ),
        (
            "escalate",
            PASSING.replace("10%", "95%"),
            4,
            "🚨 ESCALATION REQUIRED: Quota nearly exhausted",
        ),
        (
            "warn",
            PASSING.replace(r#""errors": 0"#, r#""errors": 9"#),
            0,
            "orders → prod: WARN",
        ),
    ];
    for (name, json, code, shown) in cases {
        let facts = facts_file(&tmp, &format!("{name}.json"), &json);
        gate(&facts, "prod")
            .assert()
            .code(code)
            .stdout(predicate::str::contains(shown))
            .stderr(predicate::str::is_empty());
    }
    let warn = facts_file(
        &tmp,
        "warn2.json",
        &PASSING.replace(r#""errors": 0"#, r#""errors": 9"#),
    );
    gate(&warn, "prod").arg("--fail-on-warn").assert().code(1);
}

#[test]
fn json_has_a_top_level_verdict_and_a_schema_version() {
    let tmp = tempfile::tempdir().unwrap();
    let facts = facts_file(&tmp, "f.json", &PASSING.replace("10%", "95%"));
    let out = gate(&facts, "prod")
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["verdict"], "escalate");
    assert_eq!(doc["features"][0]["feature"], "orders");
    assert_eq!(
        doc["features"][0]["requirements"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(
        doc["policy"]["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
}

#[test]
fn compiled_ir_decides_like_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let source = data("policies/mini.phasev");
    let compilation = phasev_compiler::compile_path(&source, &phasev_compiler::Options::default());
    let program = compilation.program.expect("compiles");
    let facts = facts_file(&tmp, "f.json", &PASSING.replace("200ms", "312ms"));
    let json_ir = facts.with_file_name("mini.ir.json");
    let bin_ir = facts.with_file_name("mini.phir");
    std::fs::write(&json_ir, program.to_json()).expect("write IR");
    std::fs::write(&bin_ir, program.to_bytes()).expect("write IR");
    for ir in [json_ir, bin_ir] {
        let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
        cmd.args(["gate", "--policy"])
            .arg(&ir)
            .arg("--facts")
            .arg(&facts);
        cmd.args(["--feature", "orders", "--to", "prod"])
            .assert()
            .code(1);
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let good = facts_file(&tmp, "good.json", PASSING);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--to".into(), "production".into()],
            "`production` is not a rung of policy `mini`",
        ),
        (
            vec![
                "--facts".into(),
                facts_file(&tmp, "t.json", r#"{"svc": {"latency": 5s}}"#)
                    .display()
                    .to_string(),
            ],
            "is not valid JSON",
        ),
        (
            vec![
                "--facts".into(),
                facts_file(&tmp, "w.json", r#"{"svc": {"ok": "yes"}}"#)
                    .display()
                    .to_string(),
            ],
            "`svc.ok` must be a bool",
        ),
        (vec!["--to".into(), "prdo".into()], "did you mean `prod`?"),
        (
            vec!["--facts".into(), "/nonexistent/facts.json".into()],
            "cannot read facts file",
        ),
        (
            vec!["--policy".into(), "/nonexistent/p.phasev".into()],
            "phasev::load::unreadable",
        ),
        (
            vec![
                "--policy".into(),
                facts_file(&tmp, "p.ir", "not IR").display().to_string(),
            ],
            "not a phasev IR file",
        ),
    ];
    for (args, message) in cases {
        let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
        cmd.env("NO_COLOR", "1").arg("gate");
        let has = |flag: &str| args.iter().any(|a| a == flag);
        if !has("--policy") {
            cmd.arg("--policy").arg(data("policies/mini.phasev"));
        }
        if !has("--facts") {
            cmd.arg("--facts").arg(&good);
        }
        if !has("--to") {
            cmd.args(["--to", "prod"]);
        }
        cmd.args(["--feature", "orders"]).args(&args);
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn a_misspelt_fact_in_a_facts_file_is_named_with_the_fact_meant() {
    let tmp = tempfile::tempdir().unwrap();
    let typo = facts_file(
        &tmp,
        "typo.json",
        r#"{"svc": {"ok": true, "erors": 0, "latency": "200ms", "budget": "250ms",
            "quota": "10%", "pods": [{"name": "a", "ready": true}]}, "elsewhere": {"x": 1}}"#,
    );
    let warning = "warning: facts file ";
    // The misspelt fact is missing: its `warn` is undecided, which warns.
    gate(&typo, "prod")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("svc.errors is missing"))
        .stderr(predicate::str::contains(
            "`svc.erors` is not a fact path this policy reads; did you mean `svc.errors`?",
        ))
        .stderr(predicate::str::contains("elsewhere").not())
        .stderr(predicate::str::contains(warning).count(1));
}

#[test]
fn all_with_no_feature_to_decide_is_a_usage_error_not_a_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = facts_file(&tmp, "shared.json", PASSING);
    let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--all", "--policy"])
        .arg(data("policies/mini.phasev"))
        .arg("--facts")
        .arg(&shared);
    cmd.assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--all found no feature to decide"));
}

#[test]
fn a_policy_with_errors_is_reported_like_phasevc_does() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = facts_file(
        &tmp,
        "broken.phasev",
        "policy p\nladder { a b }\ngate a -> b {\n  require \"r\": nope.fact\n}\n",
    );
    let facts = facts_file(&tmp, "f.json", "{}");
    let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--policy"])
        .arg(&policy);
    cmd.arg("--facts")
        .arg(&facts)
        .args(["--feature", "x", "--to", "b"]);
    cmd.assert()
        .code(2)
        .stderr(predicate::str::contains("phasev::check::unknown_fact"))
        .stderr(predicate::str::contains("unknown fact `nope.fact`"));
}

/// A project in a fresh temporary directory of this test: `policy.phasev`, a facts file
/// that says the service is fine, and `orders` on stage `qa` of the ladder `dev qa prod`.
fn project(policy: &str) -> TempDir {
    let config = "[project]\nname = \"t\"\npolicy = \"policy.phasev\"\nfacts = [\"facts.json\"]\n\n\
                  [features.orders]\nstage = \"qa\"\n";
    let dir = tempfile::tempdir().unwrap();
    facts_file(&dir, "phasev.toml", config);
    facts_file(&dir, "policy.phasev", policy);
    let facts = r#"{"features": {"orders": {"svc": {"ok": true}}}}"#;
    facts_file(&dir, "facts.json", facts);
    dir
}

/// A policy over `dev qa prod` that never reads `feature.stage`; `gates` follow the ladder.
fn stage_blind(gates: &str) -> String {
    format!("policy p\nladder {{ dev qa prod }}\nfact svc.ok: bool\n{gates}")
}

fn eval_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
    cmd.env("NO_COLOR", "1").current_dir(dir).args(args);
    cmd
}

const BOTH_GATES: &str = "gate dev -> qa { require \"service ok\": svc.ok }\n\
                          gate qa -> prod { require \"service ok\": svc.ok }\n";

#[test]
fn a_promotion_to_a_rung_no_gate_leads_into_is_refused_naming_the_gate() {
    let policy = stage_blind("gate dev -> qa { require \"service ok\": svc.ok }\n");
    let dir = project(&policy);
    eval_in(dir.path(), &["gate", "--feature", "orders", "--to", "prod"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "no gate leads into `prod`, so a promotion to it would pass unchecked",
        ))
        .stderr(predicate::str::contains(
            "add `gate qa -> prod { … }` to the policy, or `gate qa -> prod open` if promotion",
        ));
    // Said on purpose, it is a promotion like any other.
    let open =
        stage_blind("gate dev -> qa { require \"service ok\": svc.ok }\ngate qa -> prod open\n");
    std::fs::write(dir.path().join("policy.phasev"), open).unwrap();
    eval_in(dir.path(), &["gate", "--feature", "orders", "--to", "prod"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("orders → prod: PASS"));
}

#[test]
fn a_promotion_to_a_rung_the_feature_already_stands_on_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(&stage_blind(BOTH_GATES));
    for to in ["qa", "dev"] {
        eval_in(dir.path(), &["gate", "--feature", "orders", "--to", to])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "feature `orders` already stands on `qa`, at or above `{to}`"
            )))
            .stderr(predicate::str::contains(format!(
                "`phasev-eval explain --feature orders --to {to}`"
            )));
    }
    // Where the stage is not known, the first rung is still no promotion.
    gate(&facts_file(&tmp, "f.json", PASSING), "dev")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`dev` is the first rung of the ladder: no gate leads to it",
        ));
    // The re-check it points to evaluates the gates up to the rung.
    eval_in(
        dir.path(),
        &["explain", "--feature", "orders", "--to", "qa"],
    )
    .assert()
    .code(0)
    .stdout(predicate::str::contains("service ok"));
}

#[test]
fn reports_and_gate_all_take_the_stage_from_phasev_toml_when_the_policy_does_not_read_it() {
    let dir = project(&stage_blind(BOTH_GATES));
    eval_in(dir.path(), &["gate", "--all"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("orders → prod: PASS"));
    eval_in(dir.path(), &["report", "deployment"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("orders"));
    eval_in(dir.path(), &["report", "readiness"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Next Milestone: orders → prod, ready to promote",
        ));
    // Without phasev.toml nothing says where it stands: that is not the top rung.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    eval_in(&elsewhere, &["report", "readiness", "--policy"])
        .arg(dir.path().join("policy.phasev"))
        .arg("--facts")
        .arg(dir.path().join("facts.json"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Next Milestone: not known: no stage for orders",
        ));
}

#[test]
fn a_device_as_facts_file_or_import_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let good = facts_file(&tmp, "good.json", PASSING);
    let importing = facts_file(
        &tmp,
        "importing.phasev",
        "policy p\nimport \"/dev/zero\"\nladder { a b }\n",
    );
    let refused = "it is not a regular file (a FIFO, socket or device)";
    gate(Path::new("/dev/zero"), "prod")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot read facts file /dev/zero: {refused}"
        )));
    let mut cmd = Command::cargo_bin("phasev-eval").expect("binary");
    cmd.env("NO_COLOR", "1")
        .args(["gate", "--policy"])
        .arg(&importing)
        .arg("--facts")
        .arg(&good)
        .args(["--feature", "orders", "--to", "b"]);
    cmd.assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "cannot read `/dev/zero`: {refused}"
        )));
}

#[test]
fn a_duplicate_key_in_a_json_facts_file_is_an_error_at_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"svc": {"ok": true, "ok": false}}"#,
            "duplicate key `ok`",
        ),
        (
            r#"{"svc": {"ok": true}, "svc": {"ok": false}}"#,
            "duplicate key `svc`",
        ),
        (
            r#"{"features": {"orders": {}, "orders": {"svc": {"ok": false}}}}"#,
            "duplicate key `orders`",
        ),
        (
            r#"{"svc": {"pods": [{"name": "a", "ready": true, "ready": false}]}}"#,
            "duplicate key `ready`",
        ),
    ];
    for (text, message) in cases {
        let file = facts_file(&tmp, "d.json", text);
        gate(&file, "prod")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("is not valid JSON"))
            // The report points at the second key.
            .stderr(predicate::str::contains("here"));
    }
}

/// `init` writes a project whose policy tests pass and whose gate runs: undecided while the
/// facts file states nothing (it ships no made-up evidence), failing when the added
/// requirement fails; then it refuses to write over the project. A bad feature name, or a
/// file where a directory must go, writes nothing; an odd directory name is escaped.
#[test]
fn init_scaffolds_a_working_project_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    eval_in(root, &["init", "--feature", "orders"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "created phasev.toml, policy.phasev, policy.tests.toml, facts.toml, \
             specs/orders/spec.md, specs/orders/plan.md, specs/orders/tasks.md\n\nnext:\n",
        ))
        .stdout(predicate::str::contains(
            "phasev-eval gate --feature orders --to local_k8s",
        ));
    eval_in(root, &["test", "policy.tests.toml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("result: 2 passed, 0 failed"));
    eval_in(root, &["gate", "--feature", "orders", "--to", "local_k8s"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "? require \"unit test coverage at least 80%\"",
        ))
        .stdout(predicate::str::contains(
            "undecided: team.coverage is missing",
        ))
        .stdout(predicate::str::contains(
            "undecided: service.health.passed is missing",
        ));
    let facts = root.join("facts.toml");
    let text = std::fs::read_to_string(&facts).unwrap();
    std::fs::write(
        &facts,
        text.replace("# team.coverage = 85", "team.coverage = 60"),
    )
    .unwrap();
    eval_in(root, &["gate", "--feature", "orders", "--to", "local_k8s"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("team.coverage is 60, needs >= 80"));

    let before = std::fs::read_to_string(root.join("phasev.toml")).unwrap();
    eval_in(root, &["init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not overwriting what is there: ./phasev.toml, ./policy.phasev, \
             ./policy.tests.toml, ./facts.toml",
        ));
    assert_eq!(
        std::fs::read_to_string(root.join("phasev.toml")).unwrap(),
        before
    );
    assert!(!root.join("specs/service").exists(), "nothing written");

    let empty = tempfile::tempdir().unwrap();
    eval_in(empty.path(), &["init", "--feature", "Orders!"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`Orders!` is not a feature name"));
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);

    std::fs::write(empty.path().join("specs"), "a file, not a directory").unwrap();
    eval_in(empty.path(), &["init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not overwriting what is there: ./specs (init",
        ));
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 1);

    let odd = tempfile::tempdir().unwrap();
    let named = odd.path().join("shop\"\n[sandbox]");
    std::fs::create_dir(&named).unwrap();
    eval_in(&named, &["init"]).assert().code(0);
    eval_in(&named, &["test", "policy.tests.toml"])
        .assert()
        .code(0);
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(named.join("phasev.toml")).unwrap()).unwrap();
    assert_eq!(
        config["project"]["name"].as_str(),
        Some("shop\"\n[sandbox]")
    );
    assert!(!config.contains_key("sandbox"));
}

/// `gate --all` when every feature already stands on the top rung says there is nothing to
/// decide, in every format, instead of printing nothing.
#[test]
fn gate_all_with_every_feature_on_the_top_rung_says_so() {
    let dir = project(&stage_blind(BOTH_GATES));
    let config = std::fs::read_to_string(dir.path().join("phasev.toml")).unwrap();
    facts_file(
        &dir,
        "phasev.toml",
        &config.replace("stage = \"qa\"", "stage = \"prod\""),
    );
    for format in ["text", "json", "sarif"] {
        eval_in(dir.path(), &["gate", "--all", "--format", format])
            .assert()
            .code(0)
            .stderr(predicate::str::contains(
                "every feature stands on the top rung, `prod`: there is no promotion to decide",
            ));
    }
}
