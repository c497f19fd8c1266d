//! The change under review: the files changed between a base ref and `HEAD`
//! (`git diff --relative --name-only BASE...HEAD`, so paths are relative to the project and
//! changes outside it do not count), classified by glob patterns as security-sensitive or
//! contract-altering.
//!
//! Globs follow the `glob` crate: `*` stays within a directory, `**` crosses directories, and
//! a path matches when the whole path does (`**/*.proto`, `api/openapi*.yaml`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ChangeError {
    #[error("cannot run git in {}: {reason}", dir.display())]
    #[diagnostic(
        code(phasev::collect::change::git),
        help("the change collector needs git on PATH and a git checkout")
    )]
    Git { dir: PathBuf, reason: String },
    #[error("git diff against `{base}` failed: {stderr}")]
    #[diagnostic(
        code(phasev::collect::change::diff),
        help(
            "is `{base}` a ref of this repository? In CI, fetch it first (`git fetch origin main`)"
        )
    )]
    Diff { base: String, stderr: String },
    #[error("`{pattern}` is not a glob: {reason}")]
    #[diagnostic(code(phasev::collect::change::glob))]
    Glob { pattern: String, reason: String },
}

/// The files changed between `base` and `HEAD` in the repository at `dir`, sorted.
pub fn changed_paths(dir: &Path, base: &str) -> Result<Vec<String>, ChangeError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["diff", "--relative", "--name-only", "-z"])
        .arg(format!("{base}...HEAD"))
        .output()
        .map_err(|e| ChangeError::Git {
            dir: dir.to_owned(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ChangeError::Diff {
            base: base.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let mut paths: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Compiled glob patterns.
#[derive(Clone, Debug, Default)]
pub struct Globs(Vec<glob::Pattern>);

impl Globs {
    pub fn new(patterns: &[String]) -> Result<Globs, ChangeError> {
        patterns
            .iter()
            .map(|p| {
                glob::Pattern::new(p).map_err(|e| ChangeError::Glob {
                    pattern: p.clone(),
                    reason: e.msg.to_owned(),
                })
            })
            .collect::<Result<_, _>>()
            .map(Globs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, path: &str) -> bool {
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        self.0.iter().any(|p| p.matches_with(path, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_paths() {
        let globs = Globs::new(&["**/*.proto".to_owned(), "api/openapi*.yaml".to_owned()]);
        let Ok(globs) = globs else { unreachable!() };
        assert!(globs.matches("services/orders/orders.proto"));
        assert!(globs.matches("api/openapi.v2.yaml"));
        assert!(!globs.matches("api/v2/openapi.yaml"));
        assert!(!globs.matches("docs/proto.md"));
        assert!(Globs::new(&["[".to_owned()]).is_err());
    }
}
