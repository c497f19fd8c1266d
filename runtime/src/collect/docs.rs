//! The SDD documents of a feature: `<specs>/<feature>/spec.md`, `plan.md` and `tasks.md`.
//!
//! Code fences (```` ``` ```` or `~~~`, closed by the same marker at least as long) are not
//! prose: nothing inside them approves a spec, links an ADR or counts as a task.
//!
//! - **Approved**: the spec declares its status near its top, as spec-kit's template does
//!   (`**Status**: Draft`), and the first declaration decides. A declaration is a `status` key
//!   in front matter (`---` … `---`), a `Status: …` field line before the first section heading
//!   (emphasis, list bullets, quotes and table cells allowed: `- **Status**: Approved`,
//!   `| Status | Approved |`), or the first line of a `## Status` section. The spec is approved
//!   when that status's first word is `approved` (any case): `Draft`, `In review`,
//!   `Not approved` are not, and a spec without a status is not. A later line such as
//!   `- Status: approved → the order ships` in the body is content, not a declaration.
//! - **ADRs**: the distinct link targets in `plan.md` (inline `[t](target)`, reference
//!   definitions `[t]: target`, autolinks `<target>`; not images) whose path names a file in a
//!   directory called `adr`, `adrs` or `decisions` (`history/adr/0007-kafka.md`, `docs/adr/…`,
//!   a repository URL), or a file named `ADR-…`/`adr_…`. Targets differing only in `#fragment`
//!   or `?query` are one ADR; a link to the directory itself is none.
//! - **Tasks**: GitHub task-list items, `[ ]` open and `[x]`/`[X]` done, after a `-`, `*`, `+`
//!   bullet or a `1.`/`1)` number, at any indentation.
//!
//! A missing file is `exists: false`, not an error; a file that cannot be read is an error
//! that names it.
//!
//! **SDD stage** (`feature.sdd_stage`, unless `phasev.toml` sets `sdd_stage`): the first
//! document still to write decides (`spec` while the spec is missing or not approved, then
//! `plan`, then `tasks`); once all three exist, the unit tests do: `red` until a unit report
//! shows tests and none failing, then `green` while tasks are open, `refactor` when every
//! task is done.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The stages of spec-driven development, in order.
pub const SDD_STAGES: [&str; 6] = ["spec", "plan", "tasks", "red", "green", "refactor"];

/// A feature's SDD stage from its facts (`fact` reads one by path), as the module docs say;
/// `None` when a document fact it needs is not known.
pub fn sdd_stage(fact: impl Fn(&str) -> Option<i64>) -> Option<&'static str> {
    for (path, stage) in [
        ("docs.spec.approved", "spec"),
        ("docs.plan.exists", "plan"),
        ("docs.tasks.exists", "tasks"),
    ] {
        if fact(path)? == 0 {
            return Some(stage);
        }
    }
    let green =
        fact("tests.unit.total").is_some_and(|n| n > 0) && fact("tests.unit.failed") == Some(0);
    if !green {
        return Some("red");
    }
    let open = fact("docs.tasks.total")? - fact("docs.tasks.done")?;
    Some(if open > 0 { "green" } else { "refactor" })
}

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
    match phasev_compiler::load::read_text(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DocsError {
            file: file.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// The lines of `text` outside code fences.
fn prose(text: &str) -> impl Iterator<Item = &str> {
    // INVARIANT: `fence` is the opening marker (char, length) while inside a fence.
    let mut fence: Option<(char, usize)> = None;
    text.lines().filter(move |line| {
        let t = line.trim_start();
        let marker = t.chars().next().filter(|c| matches!(c, '`' | '~'));
        let run = marker.map_or(0, |m| t.chars().take_while(|c| *c == m).count());
        match (fence, marker) {
            (None, Some(m)) if run >= 3 => {
                fence = Some((m, run));
                false
            }
            (Some((m, n)), Some(c)) if c == m && run >= n && t[run..].trim().is_empty() => {
                fence = None;
                false
            }
            (Some(_), _) => false,
            (None, _) => true,
        }
    })
}

/// Whether the spec's first status declaration says `approved`.
pub fn is_approved(spec: &str) -> bool {
    status(spec).is_some_and(|s| {
        s.split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | ';' | '(' | '|'))
            .find(|w| !w.is_empty())
            .is_some_and(|w| w.eq_ignore_ascii_case("approved"))
    })
}

/// The value of the spec's first status declaration, without markup.
fn status(spec: &str) -> Option<String> {
    let plain = |line: &str| -> String {
        line.chars()
            .filter(|c| !matches!(c, '*' | '_' | '`'))
            .collect::<String>()
    };
    let mut lines = spec.lines().peekable();
    // Front matter: `---` (YAML) or `+++` (TOML) on the first line.
    if let Some(open) = lines
        .peek()
        .map(|l| l.trim())
        .filter(|l| *l == "---" || *l == "+++")
    {
        let open = open.to_owned();
        lines.next();
        for line in lines.by_ref() {
            if line.trim() == open {
                break;
            }
            if let Some(v) = field(&plain(line)) {
                return Some(v);
            }
        }
    }
    let rest: Vec<&str> = lines.collect();
    let body = rest.join("\n");
    let mut in_preamble = true;
    let mut in_status_section = false;
    for line in prose(&body) {
        let text = plain(line);
        let t = text.trim();
        if let Some(heading) = t.strip_prefix('#') {
            let level = 1 + heading.chars().take_while(|c| *c == '#').count();
            let title = heading.trim_start_matches('#').trim();
            if level >= 2 {
                in_preamble = false;
                in_status_section = title.eq_ignore_ascii_case("status");
            }
            continue;
        }
        if in_status_section && !t.is_empty() {
            let value = t.trim_start_matches(['-', '>', ' ']);
            return Some(field(value).unwrap_or_else(|| value.to_owned()));
        }
        if in_preamble && let Some(v) = field(t) {
            return Some(v);
        }
    }
    None
}

/// The value of a `status: value` field line (or a `| status | value |` table row).
fn field(line: &str) -> Option<String> {
    let t = line.trim().trim_start_matches(['-', '>', ' ']);
    if let Some(row) = t.strip_prefix('|') {
        let mut cells = row.split('|').map(str::trim);
        let key = cells.next()?;
        let value = cells.next()?;
        return key.eq_ignore_ascii_case("status").then(|| value.to_owned());
    }
    let (key, value) = t.split_once(':')?;
    let key = key.trim().trim_matches(['"', '\'']);
    key.eq_ignore_ascii_case("status")
        .then(|| value.trim().trim_matches(['"', '\'']).to_owned())
}

/// Distinct link targets that point at an ADR.
pub fn count_adrs(plan: &str) -> usize {
    let mut targets = BTreeSet::new();
    for line in prose(plan) {
        for target in link_targets(line) {
            let path = target.split(['#', '?']).next().unwrap_or(target);
            if is_adr(path) {
                targets.insert(path.to_owned());
            }
        }
    }
    targets.len()
}

/// The targets of the links on one line: inline links (not images), a reference definition,
/// and autolinks.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let t = line.trim_start();
    // A reference definition: `[label]: target "title"`.
    if t.starts_with('[')
        && let Some(close) = t.find("]:")
        && let Some(target) = t[close + 2..].split_whitespace().next()
    {
        out.push(target.trim_matches(['<', '>']));
    }
    let mut at = 0;
    while let Some(open) = line[at..].find("](") {
        let start = at + open + 2;
        let Some(close) = line[start..].find(')') else {
            break;
        };
        let label_start = line[..at + open].rfind('[');
        let image = label_start.is_some_and(|i| line[..i].ends_with('!'));
        let inner = line[start..start + close].trim();
        let target = match inner.strip_prefix('<') {
            Some(angled) => angled.split('>').next().unwrap_or(angled),
            None => inner.split_whitespace().next().unwrap_or(inner),
        };
        if !image {
            out.push(target);
        }
        at = start + close;
    }
    let mut at = 0;
    while let Some(open) = line[at..].find('<') {
        let start = at + open + 1;
        let Some(close) = line[start..].find('>') else {
            break;
        };
        let inner = &line[start..start + close];
        if inner.contains("://") && !inner.contains(char::is_whitespace) {
            out.push(inner);
        }
        at = start + close;
    }
    out
}

fn is_adr(path: &str) -> bool {
    let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
    let mut in_adr_dir = false;
    while let Some(part) = parts.next() {
        let lower = part.to_ascii_lowercase();
        if parts.peek().is_none() {
            return in_adr_dir || lower.starts_with("adr-") || lower.starts_with("adr_");
        }
        in_adr_dir = matches!(lower.as_str(), "adr" | "adrs" | "decisions");
    }
    false
}

/// `(total, done)` task-list items outside code fences.
pub fn count_tasks(tasks: &str) -> (usize, usize) {
    let (mut total, mut done) = (0, 0);
    for line in prose(tasks) {
        match list_item(line).and_then(|i| i.get(..3)) {
            Some("[ ]") => total += 1,
            Some("[x]" | "[X]") => {
                total += 1;
                done += 1;
            }
            _ => {}
        }
    }
    (total, done)
}

/// The text of a list item after its bullet (`-`, `*`, `+`) or number (`1.`, `1)`).
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let after = if digits > 0 {
        t[digits..].strip_prefix(['.', ')'])?
    } else {
        t.strip_prefix(['-', '*', '+'])?
    };
    after.starts_with([' ', '\t']).then(|| after.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDD stage of a feature whose facts are `known` (path, value); others unknown.
    fn stage_of(known: &[(&str, i64)]) -> Option<&'static str> {
        sdd_stage(|path| known.iter().find(|(p, _)| *p == path).map(|(_, v)| *v))
    }

    #[test]
    fn the_sdd_stage_is_the_first_missing_document_then_the_unit_tests() {
        let docs = [
            ("docs.spec.approved", 1),
            ("docs.plan.exists", 1),
            ("docs.tasks.exists", 1),
            ("docs.tasks.total", 4),
            ("docs.tasks.done", 2),
        ];
        assert_eq!(stage_of(&[("docs.spec.approved", 0)]), Some("spec"));
        assert_eq!(stage_of(&docs[..1]), None, "the plan is not known");
        assert_eq!(stage_of(&[docs[0], ("docs.plan.exists", 0)]), Some("plan"));
        assert_eq!(
            stage_of(&[docs[0], docs[1], ("docs.tasks.exists", 0)]),
            Some("tasks")
        );
        assert_eq!(stage_of(&docs), Some("red"), "no unit report yet");
        let failing = [
            &docs[..],
            &[("tests.unit.total", 9), ("tests.unit.failed", 1)],
        ]
        .concat();
        assert_eq!(stage_of(&failing), Some("red"));
        let empty = [
            &docs[..],
            &[("tests.unit.total", 0), ("tests.unit.failed", 0)],
        ]
        .concat();
        assert_eq!(stage_of(&empty), Some("red"), "no test at all is not green");
        let passing = [
            &docs[..],
            &[("tests.unit.total", 9), ("tests.unit.failed", 0)],
        ]
        .concat();
        assert_eq!(stage_of(&passing), Some("green"), "two tasks open");
        let done = [&passing[..], &[("docs.tasks.done", 4)]].concat();
        assert_eq!(
            sdd_stage(|path| done.iter().rev().find(|(p, _)| *p == path).map(|(_, v)| *v)),
            Some("refactor")
        );
    }

    #[test]
    fn approval_needs_an_approved_status() {
        assert!(is_approved("# Spec\n**Status**: Approved\n"));
        assert!(is_approved("---\nstatus: approved\n---\n# Spec\n"));
        assert!(is_approved("# Spec\n- Status: APPROVED (2026-10-01)"));
        assert!(is_approved("# Spec\n| **Status** | Approved |\n"));
        assert!(is_approved("# Spec\n\n## Status\n\nApproved by @lead\n"));
        assert!(!is_approved("**Status**: Draft\n"));
        assert!(!is_approved("**Status**: In review, to be approved\n"));
        assert!(!is_approved("Status: Not approved\n"));
        assert!(!is_approved(
            "# Spec without a status\nThe approved design.\n"
        ));
    }

    #[test]
    fn only_the_first_declaration_near_the_top_counts() {
        let draft = "# Orders\n**Status**: Draft\n\n## States\n- Status: approved → ships\n";
        assert!(!is_approved(draft));
        let none = "# Orders\n\n## States\n- Status: approved → ships\n";
        assert!(!is_approved(none));
        let fenced = "# Orders\n```yaml\nstatus: approved\n```\n";
        assert!(!is_approved(fenced));
    }

    #[test]
    fn adr_links_are_counted_once_each() {
        let plan = "see [ADR-0007](../../history/adr/0007-kafka.md) and \
                    [again](../../history/adr/0007-kafka.md#context), [adr](docs/ADR-12.md), \
                    [spec](./spec.md), [site](https://example.com/adr), [all](../adr/), \
                    ![diagram](../adr/flow.png)\n\
                    [ref]: <../decisions/0003-dapr.md> \"Dapr\"\n\
                    <https://git.example.com/o/r/blob/main/docs/adr/0009-helm.md>\n\
                    ```\n[fenced](history/adr/0001-x.md)\n```\n";
        assert_eq!(count_adrs(plan), 4);
        assert_eq!(count_adrs("no links"), 0);
    }

    #[test]
    fn tasks_count_checkboxes_outside_code() {
        let tasks = "- [x] a\n- [ ] b\n* [X] c\n1. [ ] d\n2) [x] e\n  + [ ] f\n\
                     ````\n- [ ] not a task\n```\n- [ ] still code\n````\n\
                     - plain\n-[ ] no space\n[ ] no bullet\n";
        assert_eq!(count_tasks(tasks), (6, 3));
    }

    #[test]
    fn missing_documents_are_not_errors() {
        let report = inspect_feature(Path::new("/nonexistent"), "x");
        assert_eq!(report.ok(), Some(DocsReport::default()));
    }
}
