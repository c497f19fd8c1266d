//! Policy tests: cases of facts with the verdicts they must produce, written next to the
//! policy as TOML and run by `phasev-eval test`.
//!
//! ```toml
//! policy = "phase-v.phasev"          # relative to this file
//! feature = "orders"                 # the default feature of every case
//!
//! [facts]                            # facts every case starts from (a facts document)
//! tests.unit = { total = 12, failed = 0 }
//!
//! [[case]]
//! name = "a failing unit test blocks staging"
//! to = "cloud_staging"
//! facts = { tests.unit.failed = 1 }  # merged over [facts]
//! unset = ["metrics.error_rate"]     # facts to remove: they become missing
//! expect = "fail"                    # the verdict
//! requirements = { "all unit tests pass" = "fail" }   # and, optionally, outcomes
//! ```
//!
//! Coverage: each requirement's outcomes across all cases; a policy whose tests never see a
//! requirement both pass and fail is not fully tested.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use phasev_compiler::diag::closest;
use phasev_compiler::ir::Program;
use serde::Deserialize;

use crate::decide::{Decision, Outcome};
use crate::eval::Evaluator;
use crate::facts::{Document, FactRules, Facts, apply_documents};
use crate::facts_json;
use crate::neutral::xml;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub policy: PathBuf,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub facts: toml::Table,
    #[serde(rename = "case", default)]
    pub cases: Vec<Case>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub to: String,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub facts: toml::Table,
    #[serde(default)]
    pub unset: Vec<String>,
    pub expect: String,
    /// Expected outcomes (`pass`, `fail`, `inconclusive`) by requirement name; a name used in
    /// several gates is checked in the last of them (the one leading to `to`).
    #[serde(default)]
    pub requirements: BTreeMap<String, String>,
    /// Whether each named escalation fires.
    #[serde(default)]
    pub escalations: BTreeMap<String, bool>,
}

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub name: String,
    /// What went wrong; empty when the case passed.
    pub failures: Vec<String>,
    pub decision: Option<Decision>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SuiteError {
    #[error("cannot read the policy tests {}: {error}", file.display())]
    #[diagnostic(code(phasev::test::unreadable))]
    Unreadable {
        file: PathBuf,
        /// Why, as the system said it (kept whole for callers that ask which error).
        error: std::io::Error,
    },
    #[error("{} is not a valid policy test file: {reason}", file.display())]
    #[diagnostic(
        code(phasev::test::invalid),
        help("see the format in `phasev-eval test --help` and policies/phase-v.tests.toml")
    )]
    Invalid { file: PathBuf, reason: String },
    /// A key of the suite's `[facts]` names no fact the policy reads: every case would test
    /// less than it says.
    #[error("{}: [facts] {problems}", file.display())]
    #[diagnostic(
        code(phasev::test::unknown_fact),
        help("a policy test sets only facts its policy reads; fix the path, or remove it")
    )]
    UnknownFact { file: PathBuf, problems: String },
}

impl Suite {
    pub fn read(file: &Path) -> Result<Suite, SuiteError> {
        let text = phasev_compiler::load::read_text(file).map_err(|e| SuiteError::Unreadable {
            file: file.to_owned(),
            error: e,
        })?;
        toml::from_str(&text).map_err(|e| SuiteError::Invalid {
            file: file.to_owned(),
            reason: e.message().trim().to_owned(),
        })
    }
}

/// Runs every case of `suite` against `program`; `file` names the suite in messages. A key of
/// the suite's `[facts]` that names no fact the policy reads is an error; a case's is a
/// failure of that case.
pub fn run(program: &Program, suite: &Suite, file: &Path) -> Result<Vec<CaseResult>, SuiteError> {
    let known = Known::of(program);
    let problems = known.unread(&suite.facts);
    if !problems.is_empty() {
        return Err(SuiteError::UnknownFact {
            file: file.to_owned(),
            problems: problems.join("; "),
        });
    }
    let evaluator = Evaluator::new(program);
    Ok(suite
        .cases
        .iter()
        .map(|case| run_case(program, &known, &evaluator, suite, case, file))
        .collect())
}

/// The fact paths a policy reads and the namespaces above them.
struct Known<'p> {
    paths: Vec<&'p str>,
    facts: HashSet<&'p str>,
    namespaces: HashSet<&'p str>,
}

impl<'p> Known<'p> {
    fn of(program: &'p Program) -> Known<'p> {
        let paths: Vec<&str> = program.slots.iter().map(|s| s.path.as_str()).collect();
        let namespaces = paths
            .iter()
            .flat_map(|p| p.match_indices('.').map(|(i, _)| &p[..i]))
            .collect();
        Known {
            facts: paths.iter().copied().collect(),
            paths,
            namespaces,
        }
    }

    /// What is wrong with each key of a case's or the suite's facts that names no fact the
    /// policy reads (a misspelling would leave the fact it meant as it was, and the case
    /// testing less than it says), with the nearest path that does.
    fn unread(&self, facts: &toml::Table) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, value) in expand(facts) {
            match (key.as_str(), value) {
                (facts_json::OBSERVED_AT, _) => {}
                ("features", toml::Value::Table(features)) => {
                    for (feature, value) in features {
                        let toml::Value::Table(table) = value else {
                            problems.push(format!("`features.{feature}` is not a table of facts"));
                            continue;
                        };
                        for (path, unknown) in self.unknown("", table) {
                            problems.push(self.problem(
                                &format!("features.{feature}."),
                                &path,
                                unknown,
                            ));
                        }
                    }
                }
                (key, value) => {
                    let one = toml::Table::from_iter([(key.to_owned(), value)]);
                    for (path, unknown) in self.unknown("", one) {
                        problems.push(self.problem("", &path, unknown));
                    }
                }
            }
        }
        problems
    }

    /// The paths under `prefix` in `table` that are neither a fact nor a namespace holding
    /// facts; `true` when the path is a namespace given a value instead of a table.
    fn unknown(&self, prefix: &str, table: toml::Table) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key
            } else {
                format!("{prefix}.{key}")
            };
            if self.facts.contains(path.as_str()) {
                continue;
            }
            match value {
                toml::Value::Table(inner) if self.namespaces.contains(path.as_str()) => {
                    out.extend(self.unknown(&path, inner));
                }
                _ => {
                    let namespace = self.namespaces.contains(path.as_str());
                    out.push((path, namespace));
                }
            }
        }
        out
    }

    fn problem(&self, written_prefix: &str, path: &str, namespace: bool) -> String {
        if namespace {
            return format!(
                "`{written_prefix}{path}` is a namespace of facts, not a fact: give its facts \
                 (`{path}.…`)"
            );
        }
        match closest(path, self.paths.iter().copied()) {
            Some(meant) => format!(
                "`{written_prefix}{path}` is not a fact the policy reads (did you mean `{meant}`?)"
            ),
            None => format!("`{written_prefix}{path}` is not a fact the policy reads"),
        }
    }

    /// What is wrong with an `unset` entry that names no fact the policy reads.
    fn unset_problem(&self, path: &str) -> Option<String> {
        if self.facts.contains(path) {
            return None;
        }
        Some(match closest(path, self.paths.iter().copied()) {
            Some(meant) => format!(
                "`unset` names `{path}`, which is not a fact the policy reads (did you mean `{meant}`?)"
            ),
            None => format!("`unset` names `{path}`, which is not a fact the policy reads"),
        })
    }
}

fn run_case(
    program: &Program,
    known: &Known<'_>,
    evaluator: &Evaluator<'_>,
    suite: &Suite,
    case: &Case,
    file: &Path,
) -> CaseResult {
    let mut failures = Vec::new();
    let feature = case
        .feature
        .clone()
        .or_else(|| suite.feature.clone())
        .unwrap_or_else(|| "feature".to_owned());
    let Some(target) = program
        .rungs
        .iter()
        .position(|r| r.name == case.to)
        .and_then(|i| u32::try_from(i).ok())
    else {
        failures.push(format!(
            "`to = \"{}\"` is not a rung of the policy",
            case.to
        ));
        return CaseResult {
            name: case.name.clone(),
            failures,
            decision: None,
        };
    };
    failures.extend(known.unread(&case.facts));
    failures.extend(case.unset.iter().filter_map(|p| known.unset_problem(p)));
    if !failures.is_empty() {
        return CaseResult {
            name: case.name.clone(),
            failures,
            decision: None,
        };
    }
    let facts = match facts(program, suite, case, &feature, file) {
        Ok(f) => f,
        Err(e) => {
            failures.push(e);
            return CaseResult {
                name: case.name.clone(),
                failures,
                decision: None,
            };
        }
    };
    let decision = evaluator.decide(&feature, &facts, target);
    if decision.verdict.as_str() != case.expect {
        let why: Vec<String> = decision
            .requirements
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .map(|r| format!("{} {:?}: {}", r.kind, r.name, r.outcome.as_str()))
            .collect();
        failures.push(format!(
            "expected {}, got {}{}",
            case.expect,
            decision.verdict.as_str(),
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        ));
    }
    for (name, want) in &case.requirements {
        let last = decision.requirements.iter().rev().find(|r| &r.name == name);
        match last.map(|r| r.outcome.as_str()) {
            None => failures.push(format!(
                "no requirement {name:?} in the gates up to {}",
                case.to
            )),
            Some(got) if got == want => {}
            Some(got) => failures.push(format!("requirement {name:?}: expected {want}, got {got}")),
        }
    }
    for (title, want) in &case.escalations {
        match decision.escalations.iter().find(|e| &e.title == title) {
            None => failures.push(format!("no escalation {title:?}")),
            Some(e) if e.fired == Some(*want) => {}
            Some(e) => failures.push(format!(
                "escalation {title:?}: expected {}, got {}",
                if *want { "fired" } else { "not fired" },
                match e.fired {
                    Some(true) => "fired",
                    Some(false) => "not fired",
                    None => "undecided",
                }
            )),
        }
    }
    CaseResult {
        name: case.name.clone(),
        failures,
        decision: Some(decision),
    }
}

/// The facts of a case: the suite's, the case's over them, its `unset` removed (each of
/// which names a fact: [`Known::unset_problem`]). The error is the case's failure.
fn facts(
    program: &Program,
    suite: &Suite,
    case: &Case,
    feature: &str,
    file: &Path,
) -> Result<Facts, String> {
    let to_doc = |table: &toml::Table| -> Result<Document, String> {
        let text = toml::to_string(&expand(table))
            .map_err(|e| format!("its facts do not make a facts document: {e}"))?;
        Document::parse(program, file, &text, true).map_err(|e| e.to_string())
    };
    let docs = [to_doc(&suite.facts)?, to_doc(&case.facts)?];
    let mut facts = Facts::missing(program);
    apply_documents(program, &docs, feature, &FactRules::none(), &mut facts);
    for path in &case.unset {
        if let Some(slot) = program.slot_index(path) {
            facts.set(slot, crate::facts::Fact::MISSING);
        }
    }
    Ok(facts)
}

/// Dotted keys (`"tests.unit.failed" = 1`) as nested tables, so a case can name one fact
/// without repeating its namespace.
fn expand(table: &toml::Table) -> toml::Table {
    let mut out = toml::Table::new();
    for (key, value) in table {
        let mut nested = match value {
            toml::Value::Table(t) => toml::Value::Table(expand(t)),
            other => other.clone(),
        };
        let segments: Vec<&str> = key.split('.').collect();
        let Some((first, rest)) = segments.split_first() else {
            continue;
        };
        for segment in rest.iter().rev() {
            let mut wrapper = toml::Table::new();
            wrapper.insert((*segment).to_owned(), nested);
            nested = toml::Value::Table(wrapper);
        }
        merge(&mut out, first, nested);
    }
    out
}

fn merge(into: &mut toml::Table, key: &str, value: toml::Value) {
    match (into.get_mut(key), value) {
        (Some(toml::Value::Table(existing)), toml::Value::Table(new)) => {
            for (k, v) in new {
                merge(existing, &k, v);
            }
        }
        (_, value) => {
            into.insert(key.to_owned(), value);
        }
    }
}

/// For each requirement (by name and gate): the outcomes the cases saw.
pub fn coverage(program: &Program, results: &[CaseResult]) -> BTreeMap<String, [bool; 3]> {
    let rung = |r: u32| {
        program
            .rungs
            .get(r as usize)
            .map_or("?", |r| r.name.as_str())
    };
    // A requirement that several gates repeat is covered in each of them.
    let key = |name: &str, gate: &str| format!("{name} ({gate})");
    let mut seen: BTreeMap<String, [bool; 3]> = program
        .gates
        .iter()
        .flat_map(|g| {
            let gate = format!("{} -> {}", rung(g.from), rung(g.to));
            g.requirements
                .iter()
                .map(move |r| (key(&r.name, &gate), [false; 3]))
        })
        .collect();
    for d in results.iter().filter_map(|r| r.decision.as_ref()) {
        for r in &d.requirements {
            if let Some(s) = seen.get_mut(&key(&r.name, &r.gate)) {
                let i = match r.outcome {
                    Outcome::Pass => 0,
                    Outcome::Fail => 1,
                    Outcome::Inconclusive => 2,
                };
                s[i] = true;
            }
        }
    }
    seen
}

/// The results as a JUnit XML report: one test case per policy test.
pub fn junit(suite_name: &str, results: &[CaseResult]) -> String {
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
        xml(suite_name),
        results.len()
    );
    for r in results {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(suite_name),
            xml(&r.name)
        ));
        if r.failures.is_empty() {
            out.push_str("/>\n");
        } else {
            let text = r.failures.join("\n");
            out.push_str(&format!(
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                xml(r.failures.first().map_or("", String::as_str)),
                xml(&text)
            ));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
