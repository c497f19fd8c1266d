//! A project with broken inputs: every problem is a clear message and the right exit code,
//! never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

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

/// A project in a fresh temporary directory whose policy warns when latency regresses past
/// its baseline, and whose records of `orders` (on `dev`) are kept in `records/orders`.
fn baseline_project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phasev-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("records/orders")).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies/baseline.phasev");
    let config = format!(
        "[project]\nname = \"t\"\npolicy = {:?}\n\n[baseline]\nrecords = \"records/{{feature}}\"\n\n[features.orders]\nstage = \"dev\"\n",
        policy.display().to_string()
    );
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    dir
}

#[test]
fn the_baseline_comes_from_the_newest_passing_record() {
    let dir = baseline_project("baseline");
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

#[test]
fn a_fifo_as_a_spec_is_refused_and_a_hung_collector_ends_the_run_on_time() {
    use std::os::unix::fs::PermissionsExt as _;
    let tail = "\n[collect]\ntimeout = \"1s\"\n\n[change]\nbase = \"main\"\n";
    let dir = project("fifo", tail, &SPECS[1..]);
    let fifo = dir.join("specs/orders/spec.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A git that never answers: the change collector overruns its timeout.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = bin.join("git");
    std::fs::write(&git, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = std::time::Instant::now();
    gate(&dir)
        .env("PATH", path)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "undecided: docs.spec.exists is error: cannot read ./specs/orders/spec.md: it is not a regular file (a FIFO, socket or device)",
        ))
        .stdout(predicate::str::contains(
            "the change collector timed out after 1s",
        ));
    let took = started.elapsed();
    assert!(took.as_secs() < 10, "the run took {took:?}");
}

#[test]
fn a_junit_glob_match_that_is_not_a_regular_file_is_an_errored_fact_naming_it() {
    let report = "<testsuite name=\"u\"><testcase name=\"a\"/></testsuite>";
    let mut files = SPECS.to_vec();
    files.push(("reports/unit/TEST-u.xml", report));
    let dir = project("junit-fifo", "", &files);
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("reports/unit/r.xml"))
        .status()
        .unwrap();
    assert!(made.success());
    gate(&dir)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(3)
        .stdout(predicate::str::contains("tests.unit.total is error: "))
        .stdout(predicate::str::contains("reports/unit/r.xml: matched by"))
        .stdout(predicate::str::contains(
            "but not a regular file (a directory, FIFO, socket or device); it was not read",
        ));
    let dir = project("junit-dir", "", &files);
    std::fs::create_dir_all(dir.join("reports/unit/d.xml")).unwrap();
    gate(&dir)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("reports/unit/d.xml: matched by"))
        .stdout(predicate::str::contains("tests.unit.total is error: "));
}

#[test]
fn numbers_out_of_range_are_errored_facts_naming_the_file_and_path() {
    let facts = r#"{
        "kafka": {"groups": [{"name": "g", "members": 1, "lag": 0, "balanced": true},
                             {"name": "h", "members": 1, "lag": -5, "balanced": true}]},
        "metrics": {"latency_p95": "-5ms", "error_rate": "-50%"}
    }"#;
    let quota = r#"[{"name": "cpus", "used": -1000, "limit": 100}]"#;
    let tail = "\n[cloud]\nquota = \"usage.json\"\n";
    let mut files = SPECS.to_vec();
    files.push(("facts.json", facts));
    files.push(("usage.json", quota));
    let dir = project("range", tail, &files);
    let out = Command::cargo_bin("phasev-eval")
        .unwrap()
        .current_dir(&dir)
        .args(["gate", "--feature", "orders", "--to", "cloud_prod"])
        .args(["--facts", "facts.json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "kafka.groups is error: facts file facts.json: `kafka.groups[1].lag` = `-5` is negative, and this fact counts or measures something",
        "metrics.latency_p95 is error: facts file facts.json: `metrics.latency_p95` = `-5ms` is a negative duration",
        "metrics.error_rate is error: facts file facts.json: `metrics.error_rate` = `-50%` is a negative percentage",
        "cloud.quota is error: quota listing",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(
        text.contains("`.used` = `-1000` is negative"),
        "the collector's value is range-checked too\n{text}"
    );
    // A number no document can hold stops the run, at its place.
    for (name, text) in [
        ("big.json", r#"{"metrics": {"latency_p95": 1e400}}"#),
        ("big.toml", "[metrics]\nlatency_p95 = 1e400\n"),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        gate(&dir)
            .args(["--facts", name])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("facts file {name}")));
    }
}

#[test]
fn a_facts_file_value_outside_a_declared_range_is_an_errored_fact() {
    let policy = "policy t\n\nladder {\n  dev\n  prod\n}\n\nfact team.coverage: int in 0..100\n\ngate dev -> prod {\n  require \"coverage\": team.coverage >= 80\n}\n";
    let dir = std::env::temp_dir().join(format!("phasev-declared-range-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.phasev"), policy).unwrap();
    std::fs::write(
        dir.join("phasev.toml"),
        "[project]\nname = \"t\"\npolicy = \"policy.phasev\"\n\n[features.orders]\nstage = \"dev\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("over.json"), r#"{"team": {"coverage": 150}}"#).unwrap();
    std::fs::write(dir.join("over.toml"), "[team]\ncoverage = -3\n").unwrap();
    std::fs::write(dir.join("fine.json"), r#"{"team": {"coverage": 90}}"#).unwrap();
    let run = |facts: &str| {
        Command::cargo_bin("phasev-eval")
            .unwrap()
            .env("NO_COLOR", "1")
            .current_dir(&dir)
            .args([
                "gate",
                "--feature",
                "orders",
                "--to",
                "prod",
                "--facts",
                facts,
            ])
            .assert()
    };
    run("over.json").code(3).stdout(predicate::str::contains(
        "team.coverage is error: facts file over.json: `team.coverage` = `150` is outside the declared range `0..100`",
    ));
    run("over.toml").code(3).stdout(predicate::str::contains(
        "team.coverage is error: facts file over.toml: `team.coverage` = `-3` is outside the declared range `0..100`",
    ));
    run("fine.json").code(0);
}

/// `phasev-eval gate` for orders to cloud_prod in `dir`, with `args` added.
fn gate_to_prod(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("phasev-eval")
        .unwrap()
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(["gate", "--feature", "orders", "--to", "cloud_prod"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn facts_files_are_dated_by_their_observed_at_or_modification_time_and_go_stale() {
    let tail = "\n[freshness]\nmetrics = \"24h\"\n";
    let metrics = r#""metrics": {"latency_p95": "100ms", "error_rate": "0.01%"}"#;
    let old = format!(r#"{{"observed_at": "2020-01-01T00:00:00Z", {metrics}}}"#);
    let undated = format!("{{{metrics}}}");
    let files = [
        ("old.json", old.as_str()),
        ("undated.json", undated.as_str()),
        ("touched.json", undated.as_str()),
        (
            "old.toml",
            "observed_at = 2020-01-01T00:00:00Z\n[metrics]\nlatency_p95 = \"100ms\"\n",
        ),
        (
            "bad.json",
            r#"{"observed_at": "yesterday", "metrics": {"latency_p95": "100ms"}}"#,
        ),
        (
            "future.json",
            r#"{"observed_at": "2999-01-01T00:00:00Z", "metrics": {"latency_p95": "100ms"}}"#,
        ),
    ];
    let dir = project("dated", tail, &files);
    let touched = std::fs::File::options()
        .write(true)
        .open(dir.join("touched.json"))
        .unwrap();
    touched.set_modified(std::time::UNIX_EPOCH).unwrap();
    let stale = "undecided: metrics.latency_p95 is stale (";
    for file in ["old.json", "touched.json", "old.toml"] {
        let (_, text, _) = gate_to_prod(&dir, &["--facts", file]);
        assert!(text.contains(stale), "{file}: {text}");
        assert!(text.contains("old, limit 1d)"), "{file}: {text}");
    }
    let (_, text, _) = gate_to_prod(&dir, &["--facts", "undated.json"]);
    assert!(!text.contains(stale), "{text}");
    // A time in the future would keep a fact fresh until then: it is no age at all.
    let (_, text, _) = gate_to_prod(&dir, &["--facts", "future.json"]);
    assert!(
        text.contains("undecided: metrics.latency_p95 is error: it was observed ")
            && text.contains(" in the future, so its age is not known"),
        "{text}"
    );
    let (code, _, err) = gate_to_prod(&dir, &["--facts", "bad.json"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(
            "`observed_at` = \"yesterday\" is not an RFC 3339 time such as `2026-12-07T09:30:00Z`"
        ),
        "{err}"
    );
}

#[test]
fn a_facts_file_over_a_collector_finding_is_reported_and_refused_for_secrets() {
    let tail = "\n[secrets]\npaths = [\"services/{feature}\"]\n";
    let key = ["AKIA", "Z7QWERTYUIOPASDF"].concat();
    let env = format!("aws_access_key_id = {key}\n");
    let hide = r#"{"secrets": {"findings": []}, "features": {"ordrs": {}}}"#;
    let mut files = SPECS.to_vec();
    files.push(("services/orders/app.env", env.as_str()));
    files.push(("hide.json", hide));
    let dir = project("override", tail, &files);
    let scanner = "secret scanner: services/{feature}";

    // By default secrets are protected: the override makes the fact errored.
    let (code, text, err) = gate_to_prod(&dir, &["--facts", "hide.json"]);
    assert_eq!(code, Some(3), "{text}");
    let refused = format!(
        "secrets.findings is error: facts file hide.json may not override `secrets.findings`, which {scanner} found ([project] protect)"
    );
    assert!(text.contains(&refused), "{text}");
    assert!(
        err.contains(&format!(
            "warning: facts file hide.json may not override `secrets.findings`, which {scanner} found ([project] protect); the fact is errored"
        )),
        "{err}"
    );
    // A feature table that is not a feature is named, with the one meant.
    assert!(
        err.contains(
            "warning: facts file hide.json: `features.ordrs` is not a feature of phasev.toml; did you mean `orders`?"
        ),
        "{err}"
    );

    // Allowed, the override is still named in the fact's source and warned about.
    let config = std::fs::read_to_string(dir.join("phasev.toml")).unwrap();
    let config = config.replacen("\n\n", "\nprotect = []\n\n", 1);
    std::fs::write(dir.join("phasev.toml"), config).unwrap();
    let (_, text, err) = gate_to_prod(&dir, &["--facts", "hide.json"]);
    assert!(
        text.contains("✓ require \"no hard-coded secrets\""),
        "{text}"
    );
    assert!(
        err.contains(&format!(
            "warning: facts file hide.json overrides `secrets.findings`, which {scanner} found"
        )),
        "{err}"
    );
    let explained = Command::cargo_bin("phasev-eval")
        .unwrap()
        .current_dir(&dir)
        .args(["explain", "--feature", "orders", "--to", "cloud_staging"])
        .args(["--facts", "hide.json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(
        text.contains(&format!(
            "read secrets.findings = []   [facts file hide.json, overriding {scanner}]"
        )),
        "{text}"
    );
}

#[test]
fn an_edited_record_is_never_a_baseline_and_an_edited_verdict_says_so() {
    let dir = baseline_project("edited");
    std::fs::write(
        dir.join("facts.json"),
        r#"{"metrics": {"latency_p95": "200ms"}}"#,
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("phasev-eval")
            .unwrap()
            .env("NO_COLOR", "1")
            .current_dir(&dir)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let gate = [
        "gate",
        "--feature",
        "orders",
        "--to",
        "prod",
        "--facts",
        "facts.json",
    ];
    let record = "records/orders/1.json";
    let (code, _, _) = run(&[&gate[..], &["--record", record]].concat());
    assert_eq!(code, Some(0));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(record)).unwrap()).unwrap();
    // The record as written is the baseline.
    let (_, text, _) = run(&gate);
    assert!(text.starts_with("orders → prod: PASS"), "{text}");

    // An edited verdict, then an edited fact.
    let mut verdict = written.clone();
    verdict["decision"]["verdict"] = serde_json::json!("pass");
    let mut fact = written.clone();
    for f in fact["facts"].as_array_mut().unwrap() {
        if f["path"] == "metrics.latency_p95" {
            f["value"] = serde_json::json!(900.0);
        }
    }
    for (doc, what) in [(verdict, "decision"), (fact, "facts list")] {
        std::fs::write(dir.join(record), doc.to_string()).unwrap();
        let edited =
            format!("this record was edited: the record's {what} does not match its digest");
        let (code, text, _) = run(&gate);
        assert_eq!(code, Some(0), "a warn undecided is still a pass: {text}");
        assert!(
            text.contains(&format!(
                "undecided: baseline.metrics.latency_p95 is error: {}: {edited}",
                Path::new("./records/orders/1.json").display()
            )),
            "{text}"
        );
        let (code, _, err) = run(&["replay", record]);
        assert_eq!(code, Some(2));
        assert!(err.contains(&edited), "{err}");
    }
}

/// A feature whose stage is stale (or errored) cannot be promoted by `gate --all`, and the
/// message says why the stage is not known.
#[test]
fn an_unusable_stage_is_refused_with_its_reason() {
    let dir = project(
        "stale-stage",
        "\n[features.payments]\nstage = \"local_compose\"\n\n[freshness]\nfeature = \"1h\"\n",
        &[(
            "facts.json",
            r#"{"observed_at": "2020-01-01T00:00:00Z", "features": {"payments": {"feature": {"stage": "local_k8s"}}}}"#,
        )],
    );
    let mut cmd = Command::cargo_bin("phasev-eval").unwrap();
    cmd.env("NO_COLOR", "1")
        .current_dir(&dir)
        .args(["gate", "--all", "--facts", "facts.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the stage of feature `payments` is not known: stale (",
        ))
        .stderr(predicate::str::contains("old, limit 1h)"));
}
