//! The docs keep up with the compiler: the language reference documents every diagnostic code
//! the compiler emits, at its level (the codes are collected from the compiler's source, so a
//! new code without docs fails here), and docs/facts.md lists every built-in fact with its type,
//! and nothing else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use phasev_compiler::diag::{Code, Level};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every code a pass of the compiler can report: each `Code::Variant` written in its source
/// outside the table of codes. A note is never reported on its own.
fn emitted_codes() -> BTreeSet<Code> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let pattern = regex::Regex::new(r"\bCode::([A-Z][a-z][A-Za-z]*)").unwrap();
    let mut codes = BTreeSet::new();
    for file in files.iter().filter(|f| !f.ends_with("diag/codes.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for name in pattern.captures_iter(&text).map(|c| c[1].to_owned()) {
            let code = Code::ALL.iter().find(|c| format!("{c:?}") == name);
            let code = code.unwrap_or_else(|| panic!("{}: no code `{name}`", file.display()));
            if *code != Code::Note {
                codes.insert(*code);
            }
        }
    }
    codes
}

/// The table of docs/language.md: code → level, from its rows `| `code` | level | … |`.
fn documented_codes() -> BTreeMap<String, String> {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    let text = std::fs::read_to_string(docs).unwrap();
    text.lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
            let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let level = cells.next()?;
            code.starts_with("phasev::")
                .then(|| (code.to_owned(), level.to_owned()))
        })
        .collect()
}

#[test]
fn every_emitted_code_is_in_the_language_reference_at_its_level() {
    let emitted = emitted_codes();
    assert!(
        emitted.contains(&Code::UnknownFact) && emitted.contains(&Code::EmptyGate),
        "the source scan finds the codes the passes use: {emitted:?}"
    );
    let documented = documented_codes();
    let wrong: Vec<String> = emitted
        .iter()
        .filter_map(|code| {
            let level = match code.level() {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            match documented.get(code.as_str()) {
                Some(l) if l == level => None,
                Some(l) => Some(format!(
                    "{} is documented as {l}, is {level}",
                    code.as_str()
                )),
                None => Some(format!("{} ({level}) is not documented", code.as_str())),
            }
        })
        .collect();
    assert_eq!(wrong, Vec::<String>::new());
}

/// The tables of docs/facts.md: path → type, from its rows `| `path` | `type` | … |`; a path
/// listed twice is reported.
fn documented_facts() -> (BTreeMap<String, String>, Vec<String>) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/facts.md");
    let text = std::fs::read_to_string(docs).unwrap();
    let mut facts = BTreeMap::new();
    let mut twice = Vec::new();
    for line in text.lines() {
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let mut cells = row.split('|').map(str::trim);
        let mut code = || cells.next()?.strip_prefix('`')?.strip_suffix('`');
        if let (Some(path), Some(ty)) = (code(), code())
            && facts.insert(path.to_owned(), ty.to_owned()).is_some()
        {
            twice.push(format!("{path} is listed twice"));
        }
    }
    (facts, twice)
}

#[test]
fn every_builtin_fact_is_in_the_facts_reference_with_its_type() {
    let builtin: BTreeMap<String, String> = phasev_compiler::schema::Schema::builtin()
        .iter()
        .filter(|(path, _)| !path.starts_with("baseline."))
        .map(|(path, ty)| (path.to_owned(), ty.to_string()))
        .collect();
    assert!(
        builtin.contains_key("tests.e2e.skipped") && builtin.contains_key("cloud.quota"),
        "the built-in schema: {builtin:?}"
    );
    let (documented, mut wrong) = documented_facts();
    for (path, ty) in &builtin {
        match documented.get(path) {
            Some(t) if t == ty => {}
            Some(t) => wrong.push(format!("{path} is documented as `{t}`, is `{ty}`")),
            None => wrong.push(format!("{path} (`{ty}`) is not documented")),
        }
    }
    for path in documented.keys().filter(|p| !builtin.contains_key(*p)) {
        wrong.push(format!("{path} is documented but not a built-in fact"));
    }
    assert_eq!(wrong, Vec::<String>::new());
}
