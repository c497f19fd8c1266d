//! The secret scanner against labelled corpora (detect-secrets, CredSweeper, gitleaks), real
//! lock files of common ecosystems as negatives, and hostile checkouts (links, large and binary
//! files). Recall and false-positive rates are measured and printed
//! (`cargo test -p phasev-runtime --test secrets -- --nocapture`); the floors below sit just
//! under the measured values, so a regression fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use phasev_runtime::collect::secrets::{
    Finding, NotScanned, Reason, SYMLINK_OUT, SecretsError, rules, scan_bytes, scan_path,
    scan_paths,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/secrets")
        .join(rel)
}

fn json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data(rel)).unwrap()).unwrap()
}

type Lines = BTreeSet<(String, u32)>;

fn found_lines(findings: &[Finding]) -> Lines {
    findings.iter().map(|f| (f.file.clone(), f.line)).collect()
}

struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn of(expected: &Lines, found: &Lines) -> Score {
        Score {
            tp: found.intersection(expected).count(),
            fp: found.difference(expected).count(),
            fn_: expected.difference(found).count(),
        }
    }

    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }

    fn print(&self, corpus: &str) {
        println!(
            "{corpus}: precision {:.2} recall {:.2} (tp {}, fp {}, fn {})",
            self.precision(),
            self.recall(),
            self.tp,
            self.fp,
            self.fn_
        );
    }
}

/// With `PHASEV_SECRETS_DEBUG` set, the score of each file and its wrong lines.
fn per_file(files: &[String], expected: &Lines, found: &Lines) {
    if std::env::var_os("PHASEV_SECRETS_DEBUG").is_none() {
        return;
    }
    for f in files {
        let e: Lines = expected.iter().filter(|(x, _)| x == f).cloned().collect();
        let g: Lines = found.iter().filter(|(x, _)| x == f).cloned().collect();
        let s = Score::of(&e, &g);
        let lines =
            |set: BTreeSet<&(String, u32)>| set.into_iter().map(|(_, l)| *l).collect::<Vec<_>>();
        println!(
            "  {f}: tp {} fp {} fn {}; false lines {:?}, missed lines {:?}",
            s.tp,
            s.fp,
            s.fn_,
            lines(g.difference(&e).collect()),
            lines(e.difference(&g).collect())
        );
    }
}

/// Scans the files of `dir` named in `files`, naming them relative to `dir`.
fn scan_files(dir: &Path, files: &[String]) -> Vec<Finding> {
    let mut all = Vec::new();
    for f in files {
        all.extend(scan_bytes(f, &std::fs::read(dir.join(f)).unwrap()).unwrap());
    }
    all
}

#[test]
fn every_rule_loads_or_is_listed_as_skipped() {
    let rules = rules().unwrap();
    println!("{} rules in force", rules.len());
    for s in rules.skipped() {
        println!("skipped `{}`: {}", s.what, s.reason);
    }
    let ids: BTreeSet<&str> = rules.ids().collect();
    for id in [
        "private-key",
        "aws-access-token",
        "github-pat",
        "github-fine-grained-pat",
        "gitlab-pat",
        "slack-bot-token",
        "slack-webhook-url",
        "stripe-access-token",
        "npm-access-token",
        "jwt",
        "gcp-api-key",
        "generic-api-key",
        "secret-assignment",
        "url-credentials",
        "sql-password",
        "stripe-webhook-secret",
        "high-entropy-string",
    ] {
        assert!(ids.contains(id), "{id}");
    }
    let skipped: Vec<&str> = rules.skipped().iter().map(|s| s.what.as_str()).collect();
    assert_eq!(skipped, EXPECTED_SKIPPED);
    // gitleaks' 222 rules, all loaded (only allow-list regexes are skipped), and phasev's 5.
    assert_eq!(rules.len(), 222 + 5);
}

/// The gitleaks regexes the `regex` crate cannot compile, each listed with its reason in
/// `phasev-rules.toml`.
const EXPECTED_SKIPPED: &[&str] = &[
    r"^\$(?:\d+|{\d+})$",
    r"^\${(?:[A-Z_]+|[a-z_]+)}$",
    r#"['"]?\$?{{[^}]+}}['"]?:['"]?\$?{{[^}]+}}['"]?"#,
    r#"import[ \t]+{[ \t\w,]+}[ \t]+from[ \t]+['"][^'"]+['"]"#,
];

#[test]
fn detect_secrets_corpus() {
    let files: Vec<String> = [
        "config.env",
        "config.ini",
        "config.md",
        "config.yaml",
        "config2.yaml",
        "only_comments.yaml",
        "files/private_key",
        "short_files/last_line.ini",
        "short_files/middle_line.yml",
    ]
    .map(str::to_owned)
    .to_vec();
    let baseline = json("detect-secrets/baseline.file");
    let mut expected = Lines::new();
    for (file, results) in baseline["results"].as_object().unwrap() {
        if files.contains(file) {
            for r in results.as_array().unwrap() {
                expected.insert((file.clone(), r["line_number"].as_u64().unwrap() as u32));
            }
        }
    }
    let found = found_lines(&scan_files(&data("detect-secrets"), &files));
    let score = Score::of(&expected, &found);
    score.print("detect-secrets");
    per_file(&files, &expected, &found);
    assert!(
        !found.contains(&("config.yaml".to_owned(), 18)),
        "the UUID on config.yaml:18"
    );
    assert!(score.precision() >= 0.55 && score.recall() >= 0.6);
}

fn credsweeper() -> (Vec<String>, Vec<(String, u32, String)>) {
    let expected_doc = json("credsweeper/expected.json");
    let mode = &expected_doc["modes"]["default_ml"];
    let files: Vec<String> = mode["count_by_file"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let expected = mode["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap() as u32,
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (files, expected)
}

#[test]
fn credsweeper_corpus() {
    let (files, expected) = credsweeper();
    let expected: Lines = expected.into_iter().map(|(f, l, _)| (f, l)).collect();
    let found = found_lines(&scan_files(&data("credsweeper/samples"), &files));
    let score = Score::of(&expected, &found);
    score.print("CredSweeper (default_ml), by line");
    per_file(&files, &expected, &found);
    let image = found.iter().filter(|(f, _)| f == "aws_multi_fp").count();
    assert_eq!(image, 0, "the base64 image in aws_multi_fp");
    assert!(score.precision() >= 0.9 && score.recall() >= 0.6);
}

#[test]
fn gitleaks_corpus() {
    let expected_doc = json("gitleaks/nogit/expected.json");
    let expected: Lines = expected_doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                ".env.prod".to_owned(),
                f["start_line"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    let found = found_lines(&scan_files(
        &data("gitleaks/nogit"),
        &[".env.prod".to_owned()],
    ));
    let score = Score::of(&expected, &found);
    score.print("gitleaks");
    assert_eq!((score.tp, score.fp, score.fn_), (1, 0, 0));
}

/// The class of a CredSweeper rule, for the classes phasev promises to find.
fn class_of(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "PEM Private Key" => "private key",
        "AWS Client ID" | "AWS Multi" => "AWS",
        "Github Classic Token" | "Github Fine-granted Token" => "GitHub",
        "Gitlab Prefix Token" => "GitLab",
        "Slack Token" | "Slack Webhook" => "Slack",
        "Stripe Credentials" => "Stripe",
        "NPM Token" => "npm",
        "JSON Web Token" => "JWT",
        "URL Credentials" => "URL credentials",
        "Password" => "password assignment",
        _ => return None,
    })
}

/// Recall per class of secret, counting a multi-line private key once (CredSweeper lists each
/// of its lines; a key is found when any finding falls within it), and the false-positive rate:
/// findings on lines with no secret, over the lines with no secret, in the labelled samples and
/// in the lock files.
#[test]
fn recall_and_false_positive_rate_by_class() {
    let (files, expected) = credsweeper();
    let found = scan_files(&data("credsweeper/samples"), &files);
    let found_set = found_lines(&found);
    // Expected items: (file, first line, last line, class).
    let mut items: Vec<(String, u32, u32, &str)> = Vec::new();
    for (file, line, rule) in &expected {
        let Some(class) = class_of(rule) else {
            continue;
        };
        match items.last_mut() {
            Some(last)
                if class == "private key"
                    && last.3 == class
                    && last.0 == *file
                    && last.2 + 1 == *line =>
            {
                last.2 = *line;
            }
            _ => items.push((file.clone(), *line, *line, class)),
        }
    }
    let mut classes: Vec<&str> = items.iter().map(|i| i.3).collect();
    classes.dedup();
    let classes: BTreeSet<&str> = classes.into_iter().collect();
    let (mut all_hit, mut all) = (0, 0);
    for class in &classes {
        let of: Vec<_> = items.iter().filter(|i| i.3 == *class).collect();
        let hit = of
            .iter()
            .filter(|(f, a, b, _)| found_set.iter().any(|(g, l)| g == f && a <= l && l <= b))
            .count();
        println!("recall {class}: {hit}/{}", of.len());
        all_hit += hit;
        all += of.len();
    }
    let recall = all_hit as f64 / all as f64;
    // A finding inside any expected secret (of any CredSweeper class) is not false.
    let secret_lines: Lines = expected.iter().map(|(f, l, _)| (f.clone(), *l)).collect();
    let in_key = |f: &str, l: u32| {
        items
            .iter()
            .any(|(g, a, b, _)| g == f && *a <= l && l <= *b)
    };
    let false_in_samples = found_set
        .iter()
        .filter(|(f, l)| !secret_lines.contains(&(f.clone(), *l)) && !in_key(f, *l))
        .count();
    let sample_lines: usize = files
        .iter()
        .map(|f| count_lines(&data("credsweeper/samples").join(f)))
        .sum::<usize>()
        - secret_lines.len();
    let (negative_findings, negative_lines) = negatives();
    let fp_rate =
        (false_in_samples + negative_findings) as f64 / (sample_lines + negative_lines) as f64;
    println!(
        "recall {:.3} ({all_hit}/{all}); false positives {:.4} ({} of {} lines without a secret: {false_in_samples} in the samples, {negative_findings} in lock files)",
        recall,
        fp_rate,
        false_in_samples + negative_findings,
        sample_lines + negative_lines
    );
    assert!(recall >= 0.85, "recall {recall}");
    assert!(fp_rate <= 0.003, "false positives {fp_rate}");
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path).unwrap().split(|&b| b == b'\n').count()
}

/// Findings and lines in the negatives: lock files and pinned revisions.
fn negatives() -> (usize, usize) {
    let dir = data("negatives");
    let scan = scan_path(&dir, &dir, &[]).unwrap();
    assert!(scan.not_scanned.is_empty(), "{:?}", scan.not_scanned);
    let lines = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| count_lines(&e.unwrap().path()))
        .sum();
    (scan.findings.len(), lines)
}

#[test]
fn lock_files_and_pinned_revisions_have_no_findings() {
    let dir = data("negatives");
    let scan = scan_path(&dir, &dir, &[]).unwrap();
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    println!(
        "negatives ({}): {} findings",
        files.join(", "),
        scan.findings.len()
    );
    assert!(scan.findings.is_empty(), "{:?}", scan.findings);
    assert!(scan.not_scanned.is_empty(), "{:?}", scan.not_scanned);
}

/// A fake AWS key id that no allow-list knows.
fn aws_key() -> String {
    ["AKIA", "Z7QWERTYUIOPASDF"].concat()
}

/// A fake private key, with 5 lines of key material.
fn private_key() -> String {
    format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}-----END RSA PRIVATE KEY-----\n",
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM5Oi4aQvT0b7gxFQ+ZQ2rXk2yq8wE\n".repeat(5)
    )
}

const PASSWORD: &str = "v9Kq2mX7tLr4Wz8sBn3yHd6P";

/// How a not-scanned error ends.
const FIX: &str = "accept them unscanned with `[secrets] exclude` in phasev.toml";

fn rules_in(file: &str, text: &str) -> Vec<(u32, &'static str)> {
    scan_bytes(file, text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.rule))
        .collect()
}

#[test]
fn no_word_on_the_line_and_no_file_name_hides_a_key() {
    let aws = aws_key();
    for file in [
        "Cargo.lock",
        "go.sum",
        "deps.sum",
        "yarn.lock",
        "package-lock.json",
    ] {
        assert_eq!(
            rules_in(file, &format!("key = \"{aws}\" # EXAMPLE\n")),
            [(1, "aws-access-token")],
            "{file}"
        );
        assert_eq!(
            rules_in(file, &private_key()),
            [(1, "private-key")],
            "{file}"
        );
    }
    let sealed = format!("# kind: SealedSecret\nkind: SealedSecret\ndata:\n  aws: {aws}\n");
    assert_eq!(rules_in("s.yaml", &sealed), [(4, "aws-access-token")]);
    let sealed_key = format!("kind: SealedSecret\nkey: |\n{}", private_key());
    assert_eq!(rules_in("s.yaml", &sealed_key), [(3, "private-key")]);
    assert_eq!(
        rules_in(
            "a.env",
            &format!("AWS_KEY={aws}  # gitleaks:allow pragma: allowlist secret\n")
        ),
        [(1, "aws-access-token")]
    );
    // The documented placeholders are not secrets: exact values, not words on the line.
    assert!(rules_in("a.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n").is_empty());
    assert!(rules_in("a.env", "password: changeme\n").is_empty());
}

#[test]
fn keys_inline_in_yaml_and_json_are_found() {
    let key = private_key();
    let escaped = key.replace('\n', "\\n");
    let service_account = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"shop\",\n  \"private_key\": \"{escaped}\",\n  \"client_email\": \"ci@shop.iam.gserviceaccount.com\"\n}}\n"
    );
    assert_eq!(rules_in("sa.json", &service_account), [(4, "private-key")]);
    let yaml = format!(
        "tls:\n  key: |\n{}",
        key.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    assert_eq!(rules_in("values.yaml", &yaml), [(3, "private-key")]);
    let yaml_inline = format!("tls:\n  key: \"{escaped}\"\n");
    assert_eq!(rules_in("values.yaml", &yaml_inline), [(2, "private-key")]);
}

#[test]
fn url_credentials_and_password_assignments_are_found() {
    assert_eq!(
        rules_in(
            "app.env",
            "DATABASE_URL=postgres://orders:Tr0ub4dor3x@db.internal:5432/orders\n"
        ),
        [(1, "url-credentials")]
    );
    assert!(
        rules_in(
            "app.env",
            "DATABASE_URL=postgres://orders:${DB_PASSWORD}@db:5432/orders\n"
        )
        .is_empty()
    );
    for line in [
        "password=Tr0ub4dor3x",
        "passwd: hunter2hunter",
        "db_pwd = \"s3cretpassw0rd\"",
        "\"password\": \"correcthorse99\"",
        "export SMTP_PASSWORD='Summer2024!x'",
    ] {
        assert_eq!(
            rules_in("f.conf", line),
            [(1, "secret-assignment")],
            "{line}"
        );
    }
    for line in [
        "password: ${SMTP_PASSWORD}",
        "password: {{ .Values.smtp.password }}",
        "password_file: /run/secrets/smtp",
        "secretName: smtp-credentials",
        "password: <your password>",
    ] {
        assert!(rules_in("f.yaml", line).is_empty(), "{line}");
    }
}

/// A project with `services/orders -> ../elsewhere/orders`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("services")).unwrap();
    std::fs::create_dir_all(dir.path().join("elsewhere/orders")).unwrap();
    std::fs::write(
        dir.path().join("elsewhere/orders/smtp.yaml"),
        format!("smtp:\n  password: \"{PASSWORD}\"\n"),
    )
    .unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn a_linked_directory_inside_the_project_is_scanned_under_its_link() {
    let dir = project();
    std::os::unix::fs::symlink("../elsewhere/orders", dir.path().join("services/orders")).unwrap();
    let found = scan_paths(&[dir.path().join("services/orders")], dir.path(), &[]).unwrap();
    assert_eq!(
        found,
        [Finding {
            file: "services/orders/smtp.yaml".to_owned(),
            line: 2,
            rule: "secret-assignment"
        }]
    );
    // A link cycle ends.
    std::os::unix::fs::symlink("..", dir.path().join("elsewhere/orders/up")).unwrap();
    let found = scan_paths(&[dir.path().join("services")], dir.path(), &[]).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_project_is_a_finding_and_never_followed() {
    let dir = project();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), private_key()).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("services/orders")).unwrap();
    let found = scan_paths(&[dir.path().join("services")], dir.path(), &[]).unwrap();
    assert_eq!(
        found,
        [Finding {
            file: "services/orders".to_owned(),
            line: 1,
            rule: SYMLINK_OUT
        }]
    );
}

#[test]
fn a_file_over_the_size_limit_makes_the_scan_inconclusive() {
    let dir = project();
    let big = dir.path().join("elsewhere/orders/dump.sql");
    let mut text = "-- a dump\n".repeat(300_000);
    text.push_str(&format!("password = \"{PASSWORD}\"\n"));
    std::fs::write(&big, &text).unwrap();
    let err = scan_paths(&[dir.path().join("elsewhere")], dir.path(), &[]).unwrap_err();
    let SecretsError::NotScanned(files) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        files,
        &[NotScanned {
            file: "elsewhere/orders/dump.sql".to_owned(),
            reason: Reason::TooLarge {
                bytes: text.len() as u64
            }
        }]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "1 file not scanned: `elsewhere/orders/dump.sql` ({} bytes, over the 2 MiB limit); {FIX}",
            text.len()
        )
    );
    // Excluded on purpose, it no longer stands in the way.
    let found = scan_paths(
        &[dir.path().join("elsewhere")],
        dir.path(),
        &["**/*.sql".to_owned()],
    )
    .unwrap();
    assert_eq!(found.len(), 1);
}

#[test]
fn a_file_with_a_nul_byte_is_scanned() {
    let dir = project();
    let mut bytes = b"\0binary header\n".to_vec();
    bytes.extend(format!("password = \"{PASSWORD}\"\n").as_bytes());
    std::fs::write(dir.path().join("elsewhere/orders/blob.bin"), bytes).unwrap();
    let found = scan_paths(&[dir.path().join("elsewhere/orders")], dir.path(), &[]).unwrap();
    let files: Vec<(&str, u32)> = found.iter().map(|f| (f.file.as_str(), f.line)).collect();
    assert_eq!(
        files,
        [
            ("elsewhere/orders/blob.bin", 2),
            ("elsewhere/orders/smtp.yaml", 2)
        ]
    );
}

#[test]
fn compressed_files_and_dependency_directories_are_listed_not_scanned() {
    let dir = project();
    let orders = dir.path().join("elsewhere/orders");
    std::fs::write(orders.join("backup.gz"), [0x1F, 0x8B, 8, 0, 0, 0]).unwrap();
    std::fs::create_dir_all(orders.join("node_modules/left-pad")).unwrap();
    let err = scan_paths(std::slice::from_ref(&orders), dir.path(), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "2 files not scanned: `elsewhere/orders/backup.gz` (gzip data); `elsewhere/orders/node_modules/` (a dependency, build or version-control directory); {FIX}"
        )
    );
    let exclude = ["**/node_modules".to_owned(), "**/*.gz".to_owned()];
    assert_eq!(
        scan_paths(&[orders], dir.path(), &exclude).unwrap().len(),
        1
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_listed_and_never_opened() {
    let dir = project();
    let fifo = dir.path().join("elsewhere/orders/pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = scan_paths(&[dir.path().join("elsewhere")], dir.path(), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("1 file not scanned: `elsewhere/orders/pipe` (a FIFO, not a regular file); {FIX}")
    );
}

#[test]
fn no_finding_or_error_carries_the_value() {
    let dir = project();
    let aws = aws_key();
    std::fs::write(
        dir.path().join("elsewhere/orders/keys.env"),
        format!(
            "AWS_KEY={aws}\nDB=postgres://u:{PASSWORD}@db/x\n{}",
            private_key()
        ),
    )
    .unwrap();
    let found = scan_paths(&[dir.path().join("elsewhere")], dir.path(), &[]).unwrap();
    assert_eq!(found.len(), 4, "{found:?}");
    let shown = format!(
        "{found:?} {}",
        serde_json::to_string(
            &found
                .iter()
                .map(|f| (&f.file, f.line, f.rule))
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
    for value in [aws.as_str(), PASSWORD, "MIIEpAIBAAKCAQEA3Tz2mr7SZ"] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }
}

/// A project whose only gate requires no hard-coded secrets in `services/orders`.
fn gated_project(config_tail: &str) -> tempfile::TempDir {
    let dir = project();
    std::fs::write(
        dir.path().join("policy.phasev"),
        "policy secrets_only\n\nladder {\n  dev\n  prod\n}\n\ngate dev -> prod {\n  require critical \"no hard-coded secrets\": len(secrets.findings) == 0\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("phasev.toml"),
        format!("[project]\nname = \"t\"\npolicy = \"policy.phasev\"\n\n[secrets]\npaths = [\"services/{{feature}}\"]\n{config_tail}\n[features.orders]\nstage = \"dev\"\n"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("services/orders")).unwrap();
    std::fs::write(
        dir.path().join("services/orders/config.yaml"),
        "replicas: 2\n",
    )
    .unwrap();
    dir
}

fn gate(dir: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("phasev-eval")
        .unwrap()
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(["gate", "--feature", "orders", "--to", "prod"])
        .output()
        .unwrap()
}

#[test]
fn an_unscanned_file_leaves_the_gate_undecided_until_it_is_excluded() {
    let dir = gated_project("");
    let out = gate(dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let big = "# generated\n".repeat(200_000) + &format!("password: \"{PASSWORD}\"\n");
    std::fs::write(dir.path().join("services/orders/fixtures.yaml"), &big).unwrap();
    let out = gate(dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "secrets.findings is error: 1 file not scanned: `services/orders/fixtures.yaml` ({} bytes, over the 2 MiB limit); {FIX}",
            big.len()
        )),
        "{text}"
    );
    assert!(!text.contains(PASSWORD));
    let excluded = gated_project("exclude = [\"services/*/fixtures.yaml\"]\n");
    std::fs::write(excluded.path().join("services/orders/fixtures.yaml"), &big).unwrap();
    assert_eq!(gate(excluded.path()).status.code(), Some(0));
    // What was accepted unscanned stays visible where the fact comes from.
    let explain = assert_cmd::Command::cargo_bin("phasev-eval")
        .unwrap()
        .current_dir(excluded.path())
        .args(["explain", "--feature", "orders", "--to", "prod"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("secret scanner: services/{feature} (excluding services/*/fixtures.yaml)"),
        "{text}"
    );
}

#[test]
fn no_output_format_shows_the_value() {
    let dir = gated_project("");
    let aws = aws_key();
    std::fs::write(
        dir.path().join("services/orders/smtp.yaml"),
        format!("password: \"{PASSWORD}\"\naws: {aws}\n"),
    )
    .unwrap();
    // Whether the output names the file.
    for (args, located) in [
        (&["gate", "--format", "text"][..], false),
        (&["gate", "--format", "json"], true),
        (&["gate", "--format", "sarif"], true),
        (&["gate", "--format", "github"], true),
        (&["gate", "--format", "markdown"], false),
        (&["explain"], true),
    ] {
        let out = assert_cmd::Command::cargo_bin("phasev-eval")
            .unwrap()
            .current_dir(dir.path())
            .args(args)
            .args(["--feature", "orders", "--to", "prod"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("len(secrets.findings) is 2"),
            "{args:?}: {text}"
        );
        assert_eq!(text.contains("smtp.yaml"), located, "{args:?}: {text}");
        assert!(
            !text.contains(PASSWORD) && !text.contains(&aws),
            "{args:?}: {text}"
        );
    }
}

/// The rules load once; the times to load them, to scan the demo's services and charts (tens of
/// milliseconds in a debug build) and a 2 MiB file whose every line holds keywords (about a
/// second) are printed; the bound only catches a blow-up.
#[test]
fn scanning_stays_fast() {
    let started = std::time::Instant::now();
    rules().unwrap();
    let loaded = started.elapsed();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let started = std::time::Instant::now();
    let found = scan_paths(&[demo.join("services"), demo.join("charts")], &demo, &[]).unwrap();
    let demo_time = started.elapsed();
    assert_eq!(
        found,
        [Finding {
            file: "services/notifications/smtp.yaml".to_owned(),
            line: 6,
            rule: "secret-assignment"
        }]
    );
    let line = "api_key: none  # token secret password key access auth ey s. -----BEGIN\n";
    let text = line.repeat((2 << 20) / line.len());
    let started = std::time::Instant::now();
    let big = scan_bytes("big.yaml", text.as_bytes()).unwrap();
    let big_time = started.elapsed();
    println!(
        "rules loaded in {loaded:?}; demo scanned in {demo_time:?}; {} KiB of keywords in {big_time:?} ({} findings)",
        text.len() / 1024,
        big.len()
    );
    assert!(big.is_empty(), "{:?}", &big[..3]);
    assert!(demo_time.as_secs() < 5 && big_time.as_secs() < 30);
}

#[test]
fn a_long_list_of_unscanned_files_names_ten() {
    let dir = project();
    for i in 0..12 {
        std::fs::write(
            dir.path().join(format!("elsewhere/orders/{i:02}.gz")),
            [0x1F, 0x8B, 8, 0],
        )
        .unwrap();
    }
    let err = scan_paths(&[dir.path().join("elsewhere")], dir.path(), &[]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("12 files not scanned: `elsewhere/orders/00.gz` (gzip data); "),
        "{text}"
    );
    assert!(
        text.contains("`elsewhere/orders/09.gz` (gzip data); and 2 more; accept them"),
        "{text}"
    );
    assert!(!text.contains("10.gz"), "{text}");
}

#[test]
fn a_bad_exclude_glob_is_an_error_not_a_silent_non_match() {
    let dir = project();
    let err = scan_paths(
        &[dir.path().join("elsewhere")],
        dir.path(),
        &["[".to_owned()],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("[secrets] exclude: `[` is not a glob: "),
        "{err}"
    );
}
