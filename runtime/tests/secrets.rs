//! The secret scanner against three labelled corpora (detect-secrets, CredSweeper, gitleaks)
//! and real negatives. Precision and recall are measured at (file, line) granularity and
//! printed (`cargo test -p phasev-runtime --test secrets -- --nocapture`); the floors below sit
//! just under the measured values, so a regression fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use phasev_runtime::collect::secrets::{Finding, scan_path, scan_text};

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
fn scan_files(dir: &Path, files: &[String]) -> Lines {
    let mut all = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(dir.join(f)).unwrap()).into_owned();
        all.extend(scan_text(f, &text));
    }
    found_lines(&all)
}

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
    let found = scan_files(&data("detect-secrets"), &files);
    let score = Score::of(&expected, &found);
    score.print("detect-secrets");
    per_file(&files, &expected, &found);
    assert!(
        !found.contains(&("config.yaml".to_owned(), 18)),
        "the UUID on config.yaml:18"
    );
    assert!(score.precision() >= 0.5 && score.recall() >= 0.4);
}

#[test]
fn credsweeper_corpus() {
    let expected_doc = json("credsweeper/expected.json");
    let mode = &expected_doc["modes"]["default_ml"];
    let files: Vec<String> = mode["count_by_file"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let expected: Lines = mode["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    let found = scan_files(&data("credsweeper/samples"), &files);
    let score = Score::of(&expected, &found);
    score.print("CredSweeper (default_ml)");
    per_file(&files, &expected, &found);
    let image = found.iter().filter(|(f, _)| f == "aws_multi_fp").count();
    assert_eq!(image, 0, "the base64 image in aws_multi_fp");
    assert!(score.precision() >= 0.9 && score.recall() >= 0.3);
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
    let found = scan_files(&data("gitleaks/nogit"), &[".env.prod".to_owned()]);
    let score = Score::of(&expected, &found);
    score.print("gitleaks");
    assert_eq!((score.tp, score.fp, score.fn_), (1, 0, 0));
}

#[test]
fn negatives_have_no_findings() {
    let found = scan_path(&data("negatives"), &data("negatives")).unwrap();
    println!("negatives (go.sum, yarn.lock): {} findings", found.len());
    assert!(found.is_empty(), "{found:?}");
}
