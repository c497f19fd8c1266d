//! The secret scanner: credentials written into files, by file, line and rule. The secret
//! itself is never kept: a [`Finding`] has no field for it, so no report can show it.
//!
//! - **Rules are data** ([`rules`]): gitleaks' default configuration, copied unchanged, and
//!   phasev's additions beside it (`secret-assignment`, `url-credentials`, `sql-password`,
//!   `stripe-webhook-secret`, `high-entropy-string`). A line reports one rule: any other before
//!   a generic one (`generic-api-key`), then the first in load order.
//! - **Nothing is skipped silently** (`walk.rs`): every file under a configured path is scanned
//!   or listed as not scanned with the reason, and a list that is not empty makes the scan an
//!   error naming the files, unless `[secrets] exclude` excludes them. Symbolic links are
//!   followed within the project and never outside it; a link out is a finding of its own
//!   (`symlink-outside-project`). Files with NUL bytes are scanned as bytes, UTF-16 text with a
//!   byte-order mark is decoded first; compressed files are not scanned.
//! - **No bypass by content**: no file name (`Cargo.lock`, `*.sum`) and no word on a line
//!   (`EXAMPLE`, `kind: SealedSecret`, `gitleaks:allow`) turns a rule off; allow-lists match the
//!   secret's own value (exact placeholders such as AWS's documented `AKIAIOSFODNN7EXAMPLE`,
//!   references, digests, SealedSecret ciphertext).

pub mod rules;
mod walk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

pub use rules::{RuleSet, RulesError, Skipped};
pub use walk::{NotScanned, Reason};

/// Where a secret was found; the value itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file, relative to the project (a symbolic link is named by its own path).
    pub file: String,
    /// 1-based; 1 for findings about a whole file.
    pub line: u32,
    pub rule: &'static str,
}

/// The rule of a symbolic link whose target is outside the project.
pub const SYMLINK_OUT: &str = "symlink-outside-project";

/// Why a scan has no answer.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SecretsError {
    #[error("cannot scan {}: {source}", path.display())]
    #[diagnostic(code(phasev::collect::secrets::unreadable))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the secret rules do not load: {0}")]
    #[diagnostic(code(phasev::collect::secrets::rules))]
    Rules(RulesError),
    #[error("[secrets] exclude: {0}")]
    #[diagnostic(code(phasev::collect::secrets::exclude))]
    Exclude(#[source] crate::collect::change::ChangeError),
    #[error("{}", not_scanned(.0))]
    #[diagnostic(code(phasev::collect::secrets::not_scanned))]
    NotScanned(Vec<NotScanned>),
}

/// How many files the message names; the count covers the rest.
const NAMED: usize = 10;

/// The files not scanned, the first [`NAMED`] by name, and the fix.
fn not_scanned(files: &[NotScanned]) -> String {
    let count = match files.len() {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    let mut named: Vec<String> = files.iter().take(NAMED).map(ToString::to_string).collect();
    if files.len() > NAMED {
        named.push(format!("and {} more", files.len() - NAMED));
    }
    format!(
        "{count} not scanned: {}; accept them unscanned with `[secrets] exclude` in phasev.toml",
        named.join("; ")
    )
}

static RULES: LazyLock<Result<RuleSet, RulesError>> = LazyLock::new(RuleSet::load);

/// The embedded rules, loaded once.
pub fn rules() -> Result<&'static RuleSet, SecretsError> {
    RULES.as_ref().map_err(|e| SecretsError::Rules(e.clone()))
}

/// What a scan found, and what it could not look at.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub findings: Vec<Finding>,
    pub not_scanned: Vec<NotScanned>,
}

/// Scans one file's content; `file` is how findings name it (and what rules with a `path`
/// match).
pub fn scan_bytes(file: &str, bytes: &[u8]) -> Result<Vec<Finding>, SecretsError> {
    Ok(scan_with(rules()?, file, bytes))
}

fn scan_with(rules: &'static RuleSet, file: &str, bytes: &[u8]) -> Vec<Finding> {
    let decoded = utf16(bytes);
    let text = decoded.as_deref().unwrap_or(bytes);
    let starts: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // Per line, the rule that wins: not generic first, then the first loaded.
    let mut best: BTreeMap<usize, (bool, usize)> = BTreeMap::new();
    for hit in rules.hits(&file.replace('\\', "/"), text) {
        let line = starts.partition_point(|&nl| nl < hit.start) + 1;
        let rank = (rules.rules[hit.rule].generic, hit.rule);
        best.entry(line)
            .and_modify(|r| *r = (*r).min(rank))
            .or_insert(rank);
    }
    best.into_iter()
        .map(|(line, (_, rule))| Finding {
            file: file.to_owned(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            rule: rules.rules[rule].id.as_str(),
        })
        .collect()
}

/// UTF-16 text with a byte-order mark, as UTF-8 (unpaired surrogates become U+FFFD).
fn utf16(bytes: &[u8]) -> Option<Vec<u8>> {
    let little = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|c| {
        let pair = [c[0], c[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    Some(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
            .into_bytes(),
    )
}

/// Scans every file under `path` (a file or a directory); findings name files relative to
/// `project`, the directory symbolic links must stay in. Files matching `exclude` (globs on
/// those relative names) are neither scanned nor listed.
pub fn scan_path(path: &Path, project: &Path, exclude: &[String]) -> Result<Scan, SecretsError> {
    let rules = rules()?;
    let exclude = crate::collect::change::Globs::new(exclude).map_err(SecretsError::Exclude)?;
    let walked = walk::walk(path, project, &exclude)?;
    let mut scan = Scan {
        findings: walked.links_out,
        not_scanned: walked.not_scanned,
    };
    for file in walked.files {
        match walk::read(&file.real)? {
            Ok(bytes) => scan.findings.extend(scan_with(rules, &file.name, &bytes)),
            Err(reason) => scan.not_scanned.push(NotScanned {
                file: file.name,
                reason,
            }),
        }
    }
    scan.findings.sort();
    scan.not_scanned.sort();
    Ok(scan)
}

/// Scans `paths` as [`scan_path`] does; any file not scanned makes the whole scan an error,
/// since a secret could be in it.
pub fn scan_paths(
    paths: &[PathBuf],
    project: &Path,
    exclude: &[String],
) -> Result<Vec<Finding>, SecretsError> {
    let mut findings = Vec::new();
    let mut not_scanned = Vec::new();
    for path in paths {
        let scan = scan_path(path, project, exclude)?;
        findings.extend(scan.findings);
        not_scanned.extend(scan.not_scanned);
    }
    if not_scanned.is_empty() {
        Ok(findings)
    } else {
        Err(SecretsError::NotScanned(not_scanned))
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly when the rules do not load"
)]
mod tests;
