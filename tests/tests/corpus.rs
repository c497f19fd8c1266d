//! The corpus: every `tests/corpus/valid` policy compiles (its warnings, if any, match the
//! `.stderr` next to it), every `tests/corpus/invalid` policy fails with exactly the rendered
//! diagnostics of its `.stderr`. A directory holding `main.phasev` is one multi-file case.
//!
//! `PHASEV_BLESS=1 cargo test -p phasev-tests --test corpus` rewrites the `.stderr` files.
//! A `.stderr` without its case fails the run, so snapshots cannot go stale. A case may describe
//! the plugins its checks use in `<case>.plugins.json` beside it (a list of descriptions as
//! `phasev-eval plugin inspect --format json` prints them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

use phasev_compiler::{Options, compile_path, diag};

/// A case: its root file and its snapshot.
struct Case {
    root: PathBuf,
    snapshot: PathBuf,
}

/// Cases under `dir`, relative to the package root (the working directory of tests), so
/// file names in snapshots do not depend on where the repository is checked out.
fn cases(dir: &Path) -> (Vec<Case>, Vec<PathBuf>) {
    let mut cases = Vec::new();
    let mut snapshots = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            let root = path.join("main.phasev");
            assert!(root.exists(), "{} has no main.phasev", path.display());
            cases.push(Case {
                snapshot: path.join("main.stderr"),
                root,
            });
            snapshots.extend(
                fs::read_dir(&path)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "stderr")),
            );
        } else if path.extension().is_some_and(|e| e == "phasev") {
            cases.push(Case {
                snapshot: path.with_extension("stderr"),
                root: path,
            });
        } else if path.extension().is_some_and(|e| e == "stderr") {
            snapshots.push(path);
        }
    }
    (cases, snapshots)
}

/// The options of a case: the plugin descriptions of its `.plugins.json`, if it has one.
fn options(root: &Path) -> Options {
    let mut options = Options::default();
    let file = root.with_extension("plugins.json");
    if let Ok(text) = fs::read_to_string(&file) {
        let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for d in list {
            let (name, schema) =
                phasev_compiler::check::PluginSchema::from_json(&d.to_string()).unwrap();
            options.plugins.insert(name, schema);
        }
    }
    options
}

fn render(root: &Path) -> (String, bool) {
    let compilation = compile_path(root, &options(root));
    let rendered = diag::render_plain(&compilation.rendered_diagnostics(), false);
    (rendered, compilation.program.is_some())
}

fn run(dir: &str, must_compile: bool) {
    let bless = std::env::var_os("PHASEV_BLESS").is_some();
    let (cases, snapshots) = cases(Path::new(dir));
    let mut failures = Vec::new();
    for case in &cases {
        let (rendered, compiled) = render(&case.root);
        let name = case.root.display();
        if compiled != must_compile {
            failures.push(format!(
                "{name}: expected it to {}, got:\n{rendered}",
                if must_compile { "compile" } else { "fail" }
            ));
            continue;
        }
        if rendered.contains('\u{1b}') {
            failures.push(format!("{name}: ANSI escape in the rendering"));
        }
        let expected = fs::read_to_string(&case.snapshot).ok();
        if bless {
            if rendered.is_empty() {
                let _ = fs::remove_file(&case.snapshot);
            } else {
                fs::write(&case.snapshot, &rendered).unwrap();
            }
            continue;
        }
        match expected {
            None if rendered.is_empty() => {}
            None => failures.push(format!(
                "{name}: no snapshot; run with PHASEV_BLESS=1\n{rendered}"
            )),
            Some(expected) if expected == rendered => {}
            Some(expected) => failures.push(format!(
                "{name}: differs from its snapshot\n{}",
                diff(&expected, &rendered)
            )),
        }
    }
    for snapshot in &snapshots {
        if !cases.iter().any(|c| c.snapshot == *snapshot) {
            failures.push(format!("{}: snapshot without a case", snapshot.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The first differing lines, enough to see what changed.
fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            out.push_str(&format!("line {}:\n- {e}\n+ {a}\n", i + 1));
        }
    }
    let (ne, na) = (expected.lines().count(), actual.lines().count());
    if ne != na {
        out.push_str(&format!("({ne} lines expected, {na} found)\n"));
    }
    out
}

#[test]
fn valid_policies_compile() {
    run("corpus/valid", true);
}

#[test]
fn invalid_policies_report_their_diagnostics() {
    run("corpus/invalid", false);
}

#[test]
fn the_corpus_is_large_enough() {
    let (valid, _) = cases(Path::new("corpus/valid"));
    let (invalid, _) = cases(Path::new("corpus/invalid"));
    assert!(
        valid.len() + invalid.len() >= 60,
        "{} cases",
        valid.len() + invalid.len()
    );
    // Every error code that a policy can trigger is exercised by some invalid case.
    let mut seen = std::collections::BTreeSet::new();
    for case in invalid.iter().chain(&valid) {
        for d in compile_path(&case.root, &options(&case.root))
            .diagnostics
            .iter()
        {
            seen.insert(d.code());
        }
    }
    let missing: Vec<_> = diag::Code::ALL
        .iter()
        .filter(|c| !seen.contains(c) && !matches!(c, diag::Code::Note | diag::Code::RuleDepth))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no corpus case for {missing:?}");
}
