//! The SDD documents of a feature: `<specs>/<feature>/spec.md`, `plan.md` and `tasks.md`.
//!
//! - **Approved**: the spec says so in a status line (`**Status**: Approved`, `Status: approved`)
//!   or in front matter (`status: approved`). `Draft`, `In review` and the like are not approved;
//!   a spec without a status line is not approved.
//! - **ADRs**: the distinct link targets in `plan.md` that point at an ADR: a path with an `adr`
//!   directory (`history/adr/0007-….md`, `docs/adr/…`) or a file named `ADR-…`/`adr-…`.
//! - **Tasks**: markdown checkboxes (`- [ ]`, `* [x]`, `1. [X]`) outside code fences; checked
//!   ones are done.
//!
//! A missing file is `exists: false`, not an error; a file that cannot be read is an error
//! that names it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the documents of one feature say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocsReport {
    pub spec_exists: bool,
    pub spec_approved: bool,
    pub plan_exists: bool,
    pub adrs: usize,
    pub tasks_exists: bool,
    pub tasks_total: usize,
    pub tasks_done: usize,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read {}: {reason}", file.display())]
#[diagnostic(code(phasev::collect::docs::unreadable))]
pub struct DocsError {
    pub file: PathBuf,
    pub reason: String,
}

/// Reads the documents of `feature` under `specs`.
pub fn inspect_feature(specs: &Path, feature: &str) -> Result<DocsReport, DocsError> {
    let dir = specs.join(feature);
    let spec = read_optional(&dir.join("spec.md"))?;
    let plan = read_optional(&dir.join("plan.md"))?;
    let tasks = read_optional(&dir.join("tasks.md"))?;
    let (tasks_total, tasks_done) = tasks.as_deref().map_or((0, 0), count_tasks);
    Ok(DocsReport {
        spec_exists: spec.is_some(),
        spec_approved: spec.as_deref().is_some_and(is_approved),
        plan_exists: plan.is_some(),
        adrs: plan.as_deref().map_or(0, count_adrs),
        tasks_exists: tasks.is_some(),
        tasks_total,
        tasks_done,
    })
}

fn read_optional(file: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DocsError {
            file: file.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Whether a status line or front-matter field says `approved`.
pub fn is_approved(spec: &str) -> bool {
    spec.lines().any(|line| {
        let plain: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '>'))
            .collect();
        let plain = plain.trim().trim_start_matches(['-', ' ']);
        let Some((key, value)) = plain.split_once(':') else {
            return false;
        };
        key.trim().eq_ignore_ascii_case("status")
            && value
                .split_whitespace()
                .next()
                .is_some_and(|w| w.trim_matches(['.', ',']).eq_ignore_ascii_case("approved"))
    })
}

/// Distinct link targets that point at an ADR.
pub fn count_adrs(plan: &str) -> usize {
    let mut targets = BTreeSet::new();
    let mut rest = plan;
    while let Some(open) = rest.find("](") {
        let after = &rest[open + 2..];
        let Some(close) = after.find(')') else { break };
        let target = after[..close].trim();
        let target = target.split_whitespace().next().unwrap_or(target);
        if is_adr(target) {
            targets.insert(target.to_owned());
        }
        rest = &after[close..];
    }
    targets.len()
}

fn is_adr(target: &str) -> bool {
    let path = target.split(['#', '?']).next().unwrap_or(target);
    let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
    let mut in_adr_dir = false;
    while let Some(part) = parts.next() {
        let lower = part.to_ascii_lowercase();
        if parts.peek().is_none() {
            return in_adr_dir || lower.starts_with("adr-") || lower.starts_with("adr_");
        }
        if lower == "adr" || lower == "adrs" || lower == "decisions" {
            in_adr_dir = true;
        }
    }
    false
}

/// `(total, done)` checkboxes outside code fences.
pub fn count_tasks(tasks: &str) -> (usize, usize) {
    let mut fenced = false;
    let (mut total, mut done) = (0, 0);
    for line in tasks.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let item = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| t.strip_prefix("+ "))
            .or_else(|| {
                let digits = t.find(|c: char| !c.is_ascii_digit())?;
                (digits > 0).then(|| t[digits..].strip_prefix(". "))?
            });
        match item.map(str::trim_start) {
            Some(i) if i.starts_with("[ ]") => total += 1,
            Some(i) if i.starts_with("[x]") || i.starts_with("[X]") => {
                total += 1;
                done += 1;
            }
            _ => {}
        }
    }
    (total, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_needs_an_approved_status() {
        assert!(is_approved("# Spec\n**Status**: Approved\n"));
        assert!(is_approved("---\nstatus: approved\n---\n"));
        assert!(is_approved("- Status: APPROVED (2026-10-01)"));
        assert!(!is_approved("**Status**: Draft\n"));
        assert!(!is_approved("**Status**: In review, to be approved\n"));
        assert!(!is_approved(
            "# Spec without a status\nThe approved design.\n"
        ));
    }

    #[test]
    fn adr_links_are_counted_once_each() {
        let plan = "see [ADR-0007](../../history/adr/0007-kafka.md) and \
                    [again](../../history/adr/0007-kafka.md), [adr](docs/ADR-12.md), \
                    [spec](./spec.md), [site](https://example.com/adr)";
        assert_eq!(count_adrs(plan), 2);
        assert_eq!(count_adrs("no links"), 0);
    }

    #[test]
    fn tasks_count_checkboxes_outside_code() {
        let tasks = "- [x] a\n- [ ] b\n* [X] c\n1. [ ] d\n```\n- [ ] not a task\n```\n- plain\n";
        assert_eq!(count_tasks(tasks), (4, 2));
    }

    #[test]
    fn missing_documents_are_not_errors() {
        let report = inspect_feature(Path::new("/nonexistent"), "x");
        assert_eq!(report.ok(), Some(DocsReport::default()));
    }
}
