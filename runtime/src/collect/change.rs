//! The change under review: the files changed between a base ref and `HEAD`
//! (`git diff --relative --no-renames --name-only BASE...HEAD`, so paths are relative to the
//! project and changes outside it do not count), classified by glob patterns as
//! security-sensitive or contract-altering.
//!
//! - **Renames** are listed as a deletion of the old path and an addition of the new one, so
//!   moving a file out of a sensitive directory (`auth/token.go` → `token.go`) still matches
//!   the globs of the directory it left.
//! - **Globs** follow the `globset` crate with a literal separator: `*` and `?` stay within a
//!   directory, `**` crosses directories (`**/*.proto` also matches `a.proto` at the top),
//!   `{a,b}` is an alternation (`**/*.{proto,avsc}`), `[ab]` a class; a path matches when the
//!   whole path does. A pattern that is not a glob is an error, never a silent non-match.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ChangeError {
    #[error("git is not installed or not on PATH: {reason}")]
    #[diagnostic(
        code(phasev::collect::change::no_git),
        help("the change collector runs `git diff`; install git in the pipeline's image")
    )]
    NoGit { reason: String },
    #[error("cannot run git in {}: {reason}", dir.display())]
    #[diagnostic(code(phasev::collect::change::git))]
    Git { dir: PathBuf, reason: String },
    #[error("{} is not a git repository: {stderr}", dir.display())]
    #[diagnostic(
        code(phasev::collect::change::not_a_repository),
        help("run phasev-eval from a git checkout of the project")
    )]
    NotARepository { dir: PathBuf, stderr: String },
    #[error("`{base}` is not a ref of this repository")]
    #[diagnostic(
        code(phasev::collect::change::unknown_ref),
        help("in CI, fetch it first (`git fetch origin main`); a ref never starts with `-`")
    )]
    UnknownRef { base: String },
    #[error("git diff against `{base}` failed: {stderr}")]
    #[diagnostic(
        code(phasev::collect::change::diff),
        help(
            "`BASE...HEAD` needs their merge base: a shallow clone may lack it (fetch with more depth)"
        )
    )]
    Diff { base: String, stderr: String },
    /// The message carries the fix, because it reaches users as an errored fact's reason.
    #[error(
        "this shallow clone lacks `{base}` or its merge base with HEAD: fetch them with \
         `{fetch}` (deeper if they parted longer ago, or `git fetch --unshallow`)"
    )]
    #[diagnostic(
        code(phasev::collect::change::shallow_clone),
        help(
            "CI checkouts fetch one commit by default (GitHub's actions/checkout: set \
             `fetch-depth: 0`)"
        )
    )]
    ShallowClone { base: String, fetch: String },
    #[error("`{pattern}` is not a glob: {reason}")]
    #[diagnostic(code(phasev::collect::change::glob))]
    Glob { pattern: String, reason: String },
}

/// The files changed between `base` and `HEAD` in the repository at `dir`, sorted.
pub fn changed_paths(dir: &Path, base: &str) -> Result<Vec<String>, ChangeError> {
    // A "ref" such as `--output=x` would be read as an option of git diff.
    if base.is_empty() || base.starts_with('-') {
        return Err(ChangeError::UnknownRef {
            base: base.to_owned(),
        });
    }
    let out = git(
        dir,
        &[
            "diff",
            "--relative",
            "--no-renames",
            "--name-only",
            "-z",
            &format!("{base}...HEAD"),
        ],
    )?;
    if !out.status.success() {
        return Err(diagnose(dir, base, &out)?);
    }
    let mut paths: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

fn git(dir: &Path, args: &[&str]) -> Result<Output, ChangeError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            // `-C` is an argument: only a missing git makes the spawn itself not find a file.
            std::io::ErrorKind::NotFound => ChangeError::NoGit {
                reason: e.to_string(),
            },
            _ => ChangeError::Git {
                dir: dir.to_owned(),
                reason: e.to_string(),
            },
        })
}

/// Why `git diff` failed: not a repository, a shallow clone without the base or the merge
/// base, an unknown ref, or something else.
fn diagnose(dir: &Path, base: &str, diff: &Output) -> Result<ChangeError, ChangeError> {
    let repo = git(dir, &["rev-parse", "--git-dir"])?;
    if !repo.status.success() {
        return Ok(ChangeError::NotARepository {
            dir: dir.to_owned(),
            stderr: stderr(&repo),
        });
    }
    let shallow = git(dir, &["rev-parse", "--is-shallow-repository"])?;
    if String::from_utf8_lossy(&shallow.stdout).trim() == "true" {
        return Ok(ChangeError::ShallowClone {
            base: base.to_owned(),
            fetch: fetch_command(dir, base)?,
        });
    }
    let known = git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ],
    )?;
    if !known.status.success() {
        return Ok(ChangeError::UnknownRef {
            base: base.to_owned(),
        });
    }
    Ok(ChangeError::Diff {
        base: base.to_owned(),
        stderr: stderr(diff),
    })
}

/// The fetch that brings `base` and its merge base with `HEAD` into a shallow clone:
/// `--deepen` extends the history of `HEAD` too (fetching the base alone leaves them
/// unconnected), and the explicit destination works in a single-branch clone. `origin/main`
/// is branch `main` of remote `origin`; a name without a remote is fetched from `origin`.
fn fetch_command(dir: &Path, base: &str) -> Result<String, ChangeError> {
    let remotes = git(dir, &["remote"])?;
    let remotes = String::from_utf8_lossy(&remotes.stdout);
    let refspec = match base.split_once('/') {
        Some((remote, branch)) if remotes.lines().any(|r| r == remote) => {
            format!("{remote} {branch}:refs/remotes/{remote}/{branch}")
        }
        _ => format!("origin {base}:{base}"),
    };
    Ok(format!("git fetch --deepen=100 {refspec}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Compiled glob patterns, kept with their source text to say which one matched.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Result<Globs, ChangeError> {
        let mut set = GlobSetBuilder::new();
        for p in patterns {
            let glob = GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| ChangeError::Glob {
                    pattern: p.clone(),
                    reason: e.kind().to_string(),
                })?;
            set.add(glob);
        }
        let set = set.build().map_err(|e| ChangeError::Glob {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Globs {
            patterns: patterns.to_vec(),
            set,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path)
    }

    /// The patterns that match `path`, in the order they were given.
    pub fn matching(&self, path: &str) -> Vec<&str> {
        self.set
            .matches(path)
            .into_iter()
            .filter_map(|i| self.patterns.get(i).map(String::as_str))
            .collect()
    }
}

/// Which class of change a glob marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    SecuritySensitive,
    ContractAltering,
}

/// One changed path matched by one pattern.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    pub path: String,
    pub class: Class,
    pub pattern: String,
}

/// The change, classified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeReport {
    /// The changed paths, sorted and distinct.
    pub paths: Vec<String>,
    pub security_sensitive: bool,
    pub contract_altering: bool,
    /// Every (path, class, pattern) that matched, sorted: the evidence for the two flags.
    pub matched: Vec<Match>,
}

/// Classifies `paths` by the security-sensitive and the contract-altering globs.
pub fn classify(paths: &[String], security: &Globs, contract: &Globs) -> ChangeReport {
    let mut paths = paths.to_vec();
    paths.sort();
    paths.dedup();
    let mut matched = Vec::new();
    for path in &paths {
        for (class, globs) in [
            (Class::SecuritySensitive, security),
            (Class::ContractAltering, contract),
        ] {
            matched.extend(globs.matching(path).into_iter().map(|pattern| Match {
                path: path.clone(),
                class,
                pattern: pattern.to_owned(),
            }));
        }
    }
    matched.sort();
    ChangeReport {
        security_sensitive: matched.iter().any(|m| m.class == Class::SecuritySensitive),
        contract_altering: matched.iter().any(|m| m.class == Class::ContractAltering),
        paths,
        matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(patterns: &[&str]) -> Globs {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Globs::new(&patterns).unwrap_or_default()
    }

    #[test]
    fn globs_match_whole_paths() {
        let g = globs(&["**/*.proto", "api/openapi*.yaml", "**/*.{avsc,graphql}"]);
        assert!(g.matches("services/orders/orders.proto"));
        assert!(g.matches("top.proto"));
        assert!(g.matches("api/openapi.v2.yaml"));
        assert!(g.matches("schemas/deep/order.avsc"));
        assert!(!g.matches("api/v2/openapi.yaml"));
        assert!(!g.matches("docs/proto.md"));
        assert_eq!(g.matching("a/b.proto"), ["**/*.proto"]);
        assert!(Globs::new(&["[".to_owned()]).is_err());
        assert!(Globs::new(&["{a,b".to_owned()]).is_err());
    }

    #[test]
    fn option_like_refs_are_refused_before_git_runs() {
        let err = changed_paths(Path::new("."), "--output=/tmp/x");
        assert!(matches!(err, Err(ChangeError::UnknownRef { .. })));
    }
}
