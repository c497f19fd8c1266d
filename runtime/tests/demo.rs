//! The demo project (`demo/`) end to end: every feature's verdict and exit code, and the
//! readiness report, snapshotted (`PHASEV_BLESS=1` rewrites the snapshot; read the diff).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use phasev_compiler::ir::hex;
use sha2::{Digest, Sha256};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/phasev.toml")
}

fn eval() -> Command {
    let mut cmd = Command::cargo_bin("phasev-eval").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn every_demo_feature_gets_its_verdict() {
    let cases = [
        ("catalog", "local_k8s", 0, "PASS"),
        ("orders", "cloud_staging", 0, "PASS"),
        ("payments", "cloud_prod", 0, "PASS"),
        ("notifications", "cloud_staging", 1, "FAIL"),
        ("analytics", "cloud_prod", 4, "ESCALATE"),
        ("search", "cloud_staging", 3, "INCONCLUSIVE"),
        ("inventory", "local_k8s", 1, "FAIL"),
        ("reviews", "cloud_staging", 0, "WARN"),
    ];
    for (feature, to, code, verdict) in cases {
        let out = eval()
            .args(["gate", "--config"])
            .arg(demo())
            .args(["--feature", feature, "--to", to])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{feature}:\n{stdout}");
        let headline = format!("{feature} → {to}: {verdict}");
        assert!(stdout.starts_with(&headline), "{stdout}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_secret_in_notifications_is_reported_without_its_value() {
    let out = eval()
        .args(["gate", "--format", "json", "--config"])
        .arg(demo())
        .args(["--feature", "notifications", "--to", "cloud_staging"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("services/notifications/smtp.yaml"), "{text}");
    let secret =
        std::fs::read_to_string(demo().with_file_name("services/notifications/smtp.yaml")).unwrap();
    let value = secret
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap()
        .trim_matches('"');
    assert!(!text.contains(value));
}

#[test]
fn the_readiness_report_matches_its_snapshot() {
    let out = eval()
        .args(["report", "readiness", "--config"])
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let (title, rest) = text.split_once('\n').unwrap();
    assert!(
        title.starts_with("## Phase V Readiness Report — 20"),
        "{title}"
    );
    let normalized = format!("## Phase V Readiness Report — DATE\n{rest}");
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/readiness.md");
    if std::env::var_os("PHASEV_BLESS").is_some() {
        std::fs::write(&snapshot, &normalized).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert_eq!(
        normalized, expected,
        "run with PHASEV_BLESS=1 to accept the new output"
    );
    // The README shows this output under its first command: it must be today's.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let shown = readme
        .split_once("```markdown\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .unwrap();
    let (_, shown_rest) = shown.split_once('\n').unwrap();
    assert_eq!(
        shown_rest, rest,
        "README.md's first output block is not what the readiness report prints"
    );
}

#[test]
fn escalations_print_the_process_block_and_checklists_their_items() {
    let out = eval()
        .args(["gate", "--config"])
        .arg(demo())
        .args(["--feature", "analytics", "--to", "cloud_prod"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "🚨 ESCALATION REQUIRED: Cloud cost/quota blocker",
        "Context: standardDSv3Family is at 95 of its limit of 100",
        "  1. Request a quota increase from the cloud provider — Tradeoff: ",
        "Recommendation: Request a quota increase from the cloud provider — ",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let out = eval()
        .args(["report", "checklist", "--config"])
        .arg(demo())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("## Feature Completeness Checklist — ").count(),
        9
    );
    assert!(text.contains("- [ ] Unit tests passing (red → green cycle completed) — not known: tests.unit.total is missing"));
    assert!(text.contains("- [x] Spec exists and is approved (`specs/<feature>/spec.md`)"));
}

#[test]
fn records_replay_bit_for_bit_and_refuse_tampering() {
    let dir = std::env::temp_dir().join(format!("phasev-records-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (feature, to, code) in [
        ("analytics", "cloud_prod", 4),
        ("search", "cloud_staging", 3),
        ("orders", "cloud_staging", 0),
    ] {
        let record = dir.join(format!("{feature}.json"));
        eval()
            .args(["gate", "--config"])
            .arg(demo())
            .args(["--feature", feature, "--to", to, "--record"])
            .arg(&record)
            .assert()
            .code(code);
        let out = eval().arg("replay").arg(&record).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("): identical"));
    }
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("analytics.json")).unwrap())
            .unwrap();
    // The demo imports the standard policy from phasev's standard library: the record says
    // which text of which release.
    let standard =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/phase-v.phasev"))
            .unwrap();
    assert_eq!(
        record["library"],
        serde_json::json!([{
            "name": "std/phase-v.phasev",
            "version": env!("CARGO_PKG_VERSION"),
            "sha256": format!("sha256:{}", hex(&Sha256::digest(&standard))),
        }])
    );
    let mut facts = record.clone();
    for f in facts["facts"].as_array_mut().unwrap() {
        if f["path"] == "cloud.quota" {
            f["value"]["used"] = serde_json::json!(10.0);
        }
    }
    let mut policy = record.clone();
    policy["policy"]["name"] = serde_json::json!("edited");
    let mut verdict = record.clone();
    verdict["decision"]["verdict"] = serde_json::json!("pass");
    for (name, doc, message) in [
        (
            "verdict",
            verdict,
            "this record was edited: the record's decision does not match its digest",
        ),
        (
            "facts",
            facts,
            "the record's facts list does not match its digest",
        ),
        (
            "policy",
            policy,
            "the record's policy IR does not match its digest",
        ),
    ] {
        let path = dir.join(format!("tampered-{name}.json"));
        std::fs::write(&path, doc.to_string()).unwrap();
        eval()
            .arg("replay")
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(message));
    }
}

#[test]
fn every_output_format_reports_the_secret_without_its_value() {
    // Run outside the repository (a fresh directory, which never holds it), except for the
    // GitHub annotations, run from the repository root as a workflow does.
    let outside = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(demo().parent().unwrap().parent().unwrap()).unwrap();
    let format = |f: &str| {
        let here = if f == "github" {
            root.as_path()
        } else {
            outside.path()
        };
        let out = eval()
            .current_dir(here)
            .args(["gate", "--format", f, "--config"])
            .arg(demo())
            .args(["--feature", "notifications", "--to", "cloud_staging"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{f}");
        out.stdout
    };
    let junit = phasev_runtime::collect::junit::parse_junit(&format("junit")).unwrap();
    // One test case per requirement: the standard gates' (with "escalation inputs known") and
    // the shop's TLS check, which fails beside the secret.
    assert_eq!((junit.total, junit.failed), (16, 2));
    let sarif: serde_json::Value = serde_json::from_slice(&format("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let secret = &results[0]["locations"][0]["physicalLocation"];
    // Outside the repository, the file is a file:// URI; from its root, a relative path.
    let smtp_file =
        std::fs::canonicalize(demo().with_file_name("services/notifications/smtp.yaml")).unwrap();
    assert_eq!(
        secret["artifactLocation"]["uri"],
        format!("file://{}", smtp_file.display())
    );
    assert_eq!(secret["region"]["startLine"], 6);
    let github = String::from_utf8(format("github")).unwrap();
    assert!(
        github.lines().any(|l| l
            .starts_with("::error title=notifications → cloud_staging%3A no hard-coded secrets::")),
        "{github}"
    );
    assert!(
        github.lines().any(|l| l == format!(
            "::error file={},line=6,title=notifications%3A hard-coded secret::a hard-coded secret (secret-assignment); its value is not shown",
            smtp_file.strip_prefix(&root).unwrap().display()
        )),
        "{github}"
    );
    assert!(
        github.contains("len(secrets.findings) is 1, needs == 0"),
        "messages keep their commas and colons: {github}"
    );
    let markdown = String::from_utf8(format("markdown")).unwrap();
    assert!(markdown.contains(
        "| local_k8s -> cloud_staging | require no hard-coded secrets | 🔴 critical | ❌ fail |"
    ));
    let smtp =
        std::fs::read_to_string(demo().with_file_name("services/notifications/smtp.yaml")).unwrap();
    let value = smtp
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap()
        .trim_matches('"');
    for f in ["text", "json", "markdown", "junit", "sarif", "github"] {
        assert!(!String::from_utf8_lossy(&format(f)).contains(value), "{f}");
    }
}

#[test]
fn gate_all_decides_every_feature_at_its_next_rung_and_exits_with_the_worst() {
    let out = eval()
        .args(["gate", "--all", "--format", "json", "--config"])
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verdict"], "fail");
    let verdicts: Vec<(String, String)> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["feature"].as_str().unwrap().to_owned(),
                f["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(verdicts.len(), 9);
    assert!(verdicts.contains(&("search".to_owned(), "inconclusive".to_owned())));
    assert!(verdicts.contains(&("analytics".to_owned(), "escalate".to_owned())));
}

#[test]
fn explain_shows_every_fact_read_with_its_source() {
    let out = eval()
        .args([
            "explain",
            "--feature",
            "search",
            "--to",
            "cloud_staging",
            "--config",
        ])
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "read tests.unit.total = missing   [no JUnit unit report matches reports/search/unit/*.xml]"
        ),
        "{text}"
    );
    assert!(
        text.contains("read helm.chart.exists = true   [chart charts/search]"),
        "{text}"
    );
}

#[test]
fn deployment_reports_cover_every_feature() {
    let out = eval()
        .args(["report", "deployment", "--config"])
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("## Deployment Report — ").count(), 9);
    assert!(text.contains("Kafka Topics: payments.events (6 partitions, replication 3)"));
    assert!(text.contains("Result: SUCCESS (the first rung has no gate)"));
}

#[test]
fn escalations_on_shared_facts_are_reported_project_wide() {
    let shared = std::env::temp_dir().join(format!("phasev-shared-{}.json", std::process::id()));
    std::fs::write(
        &shared,
        r#"{"cloud": {"quota": {"name": "regional vCPUs", "used": 97.0, "limit": 100.0}}}"#,
    )
    .unwrap();
    let out = eval()
        .args(["report", "readiness", "--config"])
        .arg(demo())
        .arg("--facts")
        .arg(&shared)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, after_table) = text.split_once("Next Milestone:").unwrap();
    assert!(
        after_table.contains("🚨 ESCALATION REQUIRED: Cloud cost/quota blocker"),
        "{text}"
    );
    assert!(after_table.contains("Context: regional vCPUs is at 97 of its limit of 100"));
}

#[test]
fn the_shops_tls_plugin_runs_in_the_sandbox_and_blocks_notifications() {
    let out = eval()
        .args(["explain", "--config"])
        .arg(demo())
        .args(["--feature", "notifications", "--to", "cloud_staging"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "require \"TLS settings meet PCI DSS\" (local_k8s -> cloud_staging, critical): fail\n  \
             read tls.passed = false   [plugin tls-settings@0.1.0 (sha256:"
        ),
        "{text}"
    );
    let orders = eval()
        .args(["explain", "--config"])
        .arg(demo())
        .args(["--feature", "orders", "--to", "cloud_staging"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&orders.stdout);
    assert!(
        text.contains(
            "require \"TLS settings meet PCI DSS\" (local_k8s -> cloud_staging, critical): pass"
        ),
        "{text}"
    );
}

#[test]
fn a_plugin_that_is_not_the_pinned_file_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(demo()).unwrap();
    let root = demo().parent().unwrap().canonicalize().unwrap();
    let pinned = config.lines().find(|l| l.starts_with("sha256 = ")).unwrap();
    let edited = config
        .replace(pinned, &format!("sha256 = \"{}\"", "ab".repeat(32)))
        .replace(
            "policy = \"policy.phasev\"",
            &format!("policy = \"{}/policy.phasev\"", root.display()),
        )
        .replace(
            "path = \"plugins/",
            &format!("path = \"{}/plugins/", root.display()),
        );
    let file = dir.path().join("phasev.toml");
    std::fs::write(&file, edited).unwrap();
    let out = eval()
        .args(["report", "readiness", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("phasev::plugin::digest"), "{stderr}");
    assert!(stderr.contains(&"ab".repeat(32)), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// `gate --all` writes every format as one document over all the features: one JUnit test
/// suite per feature, one SARIF run holding every feature's results and the secret at its
/// line, an annotation block and a Markdown section per feature; the exit code is the worst.
#[test]
fn gate_all_writes_every_format_as_one_document() {
    let all = |format: &str| {
        let out = eval()
            .args(["gate", "--all", "--format", format, "--config"])
            .arg(demo())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        out.stdout
    };
    let json: serde_json::Value = serde_json::from_slice(&all("json")).unwrap();
    let features = json["features"].as_array().unwrap();
    let requirements: usize = features
        .iter()
        .map(|f| f["requirements"].as_array().unwrap().len())
        .sum();

    let junit_xml = all("junit");
    let junit = phasev_runtime::collect::junit::parse_junit(&junit_xml).unwrap();
    assert_eq!(junit.total, requirements as u64);
    let suites = String::from_utf8(junit_xml).unwrap();
    assert_eq!(suites.matches("<testsuite ").count(), features.len());
    assert_eq!(suites.matches("<testsuites>").count(), 1);

    let sarif: serde_json::Value = serde_json::from_slice(&all("sarif")).unwrap();
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for feature in ["notifications", "shipping", "search", "reviews"] {
        assert!(
            results
                .iter()
                .any(|r| r["message"]["text"].as_str().unwrap().starts_with(feature)),
            "{feature} has results"
        );
    }
    assert!(results.iter().any(|r| {
        r["ruleId"].as_str().unwrap().starts_with("secrets/")
            && r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64()
    }));

    let github = String::from_utf8(all("github")).unwrap();
    let markdown = String::from_utf8(all("markdown")).unwrap();
    for f in features {
        let (feature, target) = (
            f["feature"].as_str().unwrap(),
            f["target"].as_str().unwrap(),
        );
        let verdict = f["verdict"].as_str().unwrap();
        assert!(
            github.contains(&format!("\n{feature} → {target}: {verdict}\n"))
                || github.starts_with(&format!("{feature} → {target}: {verdict}\n")),
            "{feature} in the annotations"
        );
        assert!(
            markdown.contains(&format!(
                "## {feature} → {target}: {}",
                verdict.to_uppercase()
            )),
            "{feature} in the Markdown"
        );
    }
}
