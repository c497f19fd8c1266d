//! Facts: one typed value (or the reason there is none) per slot of the program, with where
//! it came from.
//!
//! A facts document (`--facts FILE`, JSON or TOML) mirrors fact paths with nested keys:
//! `{"tests": {"unit": {"failed": 0}}}` supplies `tests.unit.failed`. A top-level `features`
//! table supplies several features at once; every other top-level key is shared by all of
//! them, and a feature's own value wins over a shared one. Later documents win over earlier
//! ones. An absent key is a missing fact; a value that does not fit the slot's type, or a key
//! written twice, rejects the document; a number out of range makes its fact errored. A
//! top-level `observed_at` (RFC 3339) dates the document's facts for `[freshness]`; without it
//! the file's modification time does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use miette::{Diagnostic, NamedSource, SourceSpan};
use phasev_compiler::ir::{Program, Slot, SlotOrigin};
use phasev_compiler::types::Type;
use serde_json::Value as Json;
use thiserror::Error;

use crate::facts_json::{self, ReadError, SlotDocument};
use crate::value::Value;

/// Where a fact came from: a facts file, a collector and what it read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source(pub Arc<str>);

impl Source {
    pub fn new(text: impl Into<Arc<str>>) -> Source {
        Source(text.into())
    }
}

/// Why a fact has no usable value; each makes what reads it inconclusive.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Absent {
    /// Nothing supplied it.
    Missing,
    /// It is older than its freshness limit.
    Stale { age: String, limit: String },
    /// Its collector failed.
    Error(String),
}

impl std::fmt::Display for Absent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Absent::Missing => f.write_str("missing"),
            Absent::Stale { age, limit } => write!(f, "stale ({age} old, limit {limit})"),
            Absent::Error(reason) => write!(f, "error: {reason}"),
        }
    }
}

/// One slot's fact.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub value: Result<Value, Absent>,
    /// Where the value (or the failure) came from; `None` when nothing supplied it.
    pub source: Option<Source>,
}

impl Fact {
    pub const MISSING: Fact = Fact {
        value: Err(Absent::Missing),
        source: None,
    };
}

/// The facts of one feature, by slot of one program.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    slots: Vec<Fact>,
    /// What a fact's source said about its value, by slot (a failed plugin check's findings);
    /// the explanation of a failure that read the fact shows it. Rare, so kept aside.
    notes: BTreeMap<u32, Vec<String>>,
}

impl Facts {
    /// Every slot of `program` missing.
    pub fn missing(program: &Program) -> Facts {
        Facts {
            slots: vec![Fact::MISSING; program.slots.len()],
            notes: BTreeMap::new(),
        }
    }

    pub fn get(&self, slot: u32) -> &Fact {
        self.slots.get(slot as usize).unwrap_or(&Fact::MISSING)
    }

    /// Sets a slot's fact, dropping the notes of the fact it replaces.
    pub fn set(&mut self, slot: u32, fact: Fact) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = fact;
            if !self.notes.is_empty() {
                self.notes.remove(&slot);
            }
        }
    }

    /// Notes on the fact of `slot`, replacing any it had.
    pub fn note(&mut self, slot: u32, notes: Vec<String>) {
        if (slot as usize) < self.slots.len() && !notes.is_empty() {
            self.notes.insert(slot, notes);
        }
    }

    /// The notes on the fact of `slot`.
    pub fn notes(&self, slot: u32) -> &[String] {
        self.notes.get(&slot).map_or(&[], Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &Fact)> {
        (0u32..).zip(&self.slots)
    }
}

/// A problem with a facts document. Every variant names the file.
#[derive(Debug, Error, Diagnostic)]
pub enum FactsError {
    #[error("cannot read facts file {}: {error}", file.display())]
    #[diagnostic(code(phasev::facts::unreadable))]
    Unreadable {
        file: PathBuf,
        /// Why, as the system said it (kept whole for callers that ask which error).
        error: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(Box<SyntaxError>),
    #[error("facts file {}: the top level must be a table of fact namespaces", file.display())]
    #[diagnostic(
        code(phasev::facts::shape),
        help("write `{{\"tests\": {{\"unit\": {{\"failed\": 0}}}}}}`")
    )]
    NotATable { file: PathBuf },
    #[error("facts file {}: `features` must be a table of feature names", file.display())]
    #[diagnostic(
        code(phasev::facts::shape),
        help("write `{{\"features\": {{\"orders\": {{…}}}}}}`, one table per feature")
    )]
    FeaturesNotATable { file: PathBuf },
    #[error("facts file {}: `{path}` must be {expected}, found {found}", file.display())]
    #[diagnostic(code(phasev::facts::wrong_type), help("{hint}"))]
    WrongType {
        file: PathBuf,
        path: String,
        expected: String,
        found: String,
        hint: String,
    },
}

/// A facts document that is not valid JSON or TOML, pointing at the place.
#[derive(Debug, Error, Diagnostic)]
#[error("facts file {} is not valid {format}: {reason}", file.display())]
#[diagnostic(
    code(phasev::facts::syntax),
    help(
        "facts files are JSON (`.json`) or TOML (`.toml`) documents whose keys mirror fact paths"
    )
)]
pub struct SyntaxError {
    pub file: PathBuf,
    pub format: &'static str,
    pub reason: String,
    #[source_code]
    src: NamedSource<Arc<str>>,
    #[label("here")]
    at: Option<SourceSpan>,
}

/// One facts document, read into the slots of a program.
#[derive(Clone, Debug)]
pub struct Document {
    file: PathBuf,
    slots: SlotDocument,
    /// When its facts were observed: its `observed_at`, else the file's modification time.
    observed: Option<SystemTime>,
}

impl Document {
    /// Reads a JSON or TOML facts document (TOML when the name ends in `.toml`).
    pub fn read(program: &Program, file: &Path) -> Result<Document, FactsError> {
        let text = phasev_compiler::load::read_text(file).map_err(|e| FactsError::Unreadable {
            file: file.to_owned(),
            error: e,
        })?;
        let is_toml = file.extension().is_some_and(|e| e == "toml");
        let mut doc = Document::parse(program, file, &text, is_toml)?;
        if doc.observed.is_none() {
            doc.observed = std::fs::metadata(file).and_then(|m| m.modified()).ok();
        }
        Ok(doc)
    }

    /// Reads the facts of `program` from a document's text; `file` is only used in messages.
    /// JSON is read straight into the slots; TOML through a JSON tree.
    pub fn parse(
        program: &Program,
        file: &Path,
        text: &str,
        is_toml: bool,
    ) -> Result<Document, FactsError> {
        let format = if is_toml { "TOML" } else { "JSON" };
        let syntax = |reason: String, at: Option<SourceSpan>| {
            FactsError::Syntax(Box::new(SyntaxError {
                file: file.to_owned(),
                format,
                reason,
                src: NamedSource::new(file.display().to_string(), Arc::from(text)),
                at,
            }))
        };
        let read = if is_toml {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                syntax(
                    e.message().trim().to_owned(),
                    e.span().map(|r| SourceSpan::new(r.start.into(), r.len())),
                )
            })?;
            facts_json::read(program, toml_to_json(toml::Value::Table(table)))
        } else {
            let mut de = serde_json::Deserializer::from_str(text);
            facts_json::read(program, &mut de).and_then(|doc| {
                de.end()
                    .map(|()| doc)
                    .map_err(|e| ReadError::Syntax(e.to_string()))
            })
        };
        let slots = read.map_err(|e| match e {
            ReadError::Syntax(reason) => match json_position(&reason, text) {
                Some((message, offset)) => {
                    syntax(message.to_owned(), Some(SourceSpan::new(offset.into(), 0)))
                }
                None => syntax(reason, None),
            },
            ReadError::Shape(facts_json::SHAPE_FEATURES) => FactsError::FeaturesNotATable {
                file: file.to_owned(),
            },
            ReadError::Shape(_) => FactsError::NotATable {
                file: file.to_owned(),
            },
            ReadError::Mismatch(m) => FactsError::WrongType {
                file: file.to_owned(),
                path: m.path.replace('@', ""),
                expected: m.expected,
                found: m.found,
                hint: m.hint,
            },
        })?;
        Ok(Document {
            file: file.to_owned(),
            observed: slots.observed_at,
            slots,
        })
    }

    /// Keys it skipped that look like misspellings of facts the policy reads, as (the path
    /// written, the fact meant): the fact itself is then missing.
    pub fn near_misses(&self) -> impl Iterator<Item = (&str, &str)> {
        self.slots
            .near_misses
            .iter()
            .map(|(written, meant)| (written.as_str(), meant.as_str()))
    }

    /// The file it was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The features this document names in its `features` table.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.slots.features.keys().map(String::as_str)
    }
}

/// serde_json's `… at line L column C` as the message and the byte offset of that place in
/// `text` (lines and columns count from 1, columns in bytes), where the report can point.
fn json_position<'r>(reason: &'r str, text: &str) -> Option<(&'r str, usize)> {
    let (message, place) = reason.rsplit_once(" at line ")?;
    let (line, column) = place.split_once(" column ")?;
    let (line, column): (usize, usize) = (line.parse().ok()?, column.parse().ok()?);
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    Some((message, (start + column.saturating_sub(1)).min(text.len())))
}

/// What facts are held to as they are applied, whatever their source.
#[derive(Clone, Debug)]
pub struct FactRules {
    /// `[freshness]`: a fact path or namespace and its limit in milliseconds; the longest
    /// match applies, and a fact observed longer ago than that is stale.
    pub freshness: Vec<(String, f64)>,
    /// Fact paths or namespaces a facts file may not override once a collector has found
    /// them (`[project] protect`): such an override makes the fact errored.
    pub protected: Vec<String>,
    /// The time ages are measured at.
    pub now: SystemTime,
}

impl FactRules {
    /// No limits and nothing protected (policy tests, where there are no collectors).
    pub fn none() -> FactRules {
        FactRules {
            freshness: Vec::new(),
            protected: Vec::new(),
            now: SystemTime::now(),
        }
    }

    /// Why a fact at `path` observed at `at` is stale, if it is past its freshness limit. A
    /// fact under a limit whose observation time is not known (`None`: a file whose
    /// modification time cannot be read) proves no age, so it is errored.
    pub fn stale(&self, path: &str, at: Option<SystemTime>) -> Option<Absent> {
        let limit = longest_match(path, self.freshness.iter().map(|(p, l)| (p.as_str(), *l)))?;
        let Some(at) = at else {
            return Some(Absent::Error(format!(
                "when it was observed is not known, so its age cannot be held to its \
                 [freshness] limit of {}",
                crate::value::duration(limit)
            )));
        };
        let age = match self.now.duration_since(at) {
            Ok(age) => age.as_secs_f64() * 1000.0,
            // A time ahead of this clock would keep the fact fresh for as long as it is ahead:
            // it proves no age, so the fact is errored (a minute of clock skew is allowed).
            Err(ahead) if ahead.duration() > std::time::Duration::from_secs(60) => {
                return Some(Absent::Error(format!(
                    "it was observed {} in the future, so its age is not known",
                    rough(ahead.duration().as_secs_f64() * 1000.0)
                )));
            }
            Err(_) => 0.0,
        };
        (age > limit).then(|| Absent::Stale {
            age: rough(age),
            limit: crate::value::duration(limit),
        })
    }

    fn is_protected(&self, path: &str) -> bool {
        longest_match(path, self.protected.iter().map(|p| (p.as_str(), ()))).is_some()
    }
}

/// The item of the longest prefix in `prefixes` that is `path` or one of its namespaces.
fn longest_match<'a, T>(path: &str, prefixes: impl Iterator<Item = (&'a str, T)>) -> Option<T> {
    prefixes
        .filter(|(prefix, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, item)| item)
}

/// An age in its largest whole unit, to one decimal: `3.2d`, `5h`, `40s`.
fn rough(ms: f64) -> String {
    let units = [
        ("d", 86_400_000.0),
        ("h", 3_600_000.0),
        ("m", 60_000.0),
        ("s", 1_000.0),
    ];
    let (unit, size) = units
        .into_iter()
        .find(|(_, size)| ms >= *size)
        .unwrap_or(("ms", 1.0));
    let value = format!("{:.1}", ms / size);
    format!("{}{unit}", value.trim_end_matches(".0"))
}

/// A facts file's value put over what a collector found for the same fact.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub path: String,
    pub file: PathBuf,
    /// The collector's source of the fact replaced.
    pub replaced: Source,
    /// Whether `[project] protect` forbids it (the fact is then errored).
    pub forbidden: bool,
}

/// Fills `facts` (for `feature`) from `docs`: in each document the shared values, then the
/// feature's own; later documents win. Each fact is dated by its document and held to
/// `rules`; every fact that replaces what a collector found (a value or an error) is returned,
/// and its source says so.
pub fn apply_documents(
    program: &Program,
    docs: &[Document],
    feature: &str,
    rules: &FactRules,
    facts: &mut Facts,
) -> Vec<Override> {
    // Facts with a source before any document is applied came from the collectors.
    let collected: Vec<bool> = facts
        .iter()
        .map(|(_, f)| f.source.is_some() && f.value != Err(Absent::Missing))
        .collect();
    let mut overrides = Vec::new();
    for doc in docs {
        let own = doc.slots.features.get(feature).into_iter().flatten();
        let from = format!("facts file {}", doc.file.display());
        for (slot, value) in doc.slots.shared.iter().chain(own) {
            let Some(info) = program.slots.get(*slot as usize) else {
                continue;
            };
            let mut value = match value {
                Ok(v) => match rules.stale(&info.path, doc.observed) {
                    Some(stale) => Err(stale),
                    None => Ok(v.clone()),
                },
                Err(why) => Err(Absent::Error(format!("{from}: {why}"))),
            };
            let mut source = from.clone();
            if collected.get(*slot as usize) == Some(&true)
                && let Some(replaced) = facts.get(*slot).source.clone()
            {
                let forbidden = rules.is_protected(&info.path);
                if forbidden {
                    value = Err(Absent::Error(format!(
                        "{from} may not override `{}`, which {} found ([project] protect)",
                        info.path, replaced.0
                    )));
                    source = format!("{from}, refused over {}", replaced.0);
                } else {
                    source = format!("{from}, overriding {}", replaced.0);
                }
                if !overrides.iter().any(|o: &Override| o.path == info.path) {
                    overrides.push(Override {
                        path: info.path.clone(),
                        file: doc.file.clone(),
                        replaced,
                        forbidden,
                    });
                }
            }
            facts.set(
                *slot,
                Fact {
                    value,
                    source: Some(Source::new(source)),
                },
            );
        }
    }
    overrides
}

/// Converts a JSON value (from a collector or a decision record) to a runtime value of type
/// `ty`; the error says what was expected, where inside the value, and what was found, or
/// which number is out of range (infinite, or a negative duration).
pub fn value_of(program: &Program, json: &Json, ty: &Type) -> Result<Value, String> {
    facts_json::value_of(program, json, ty, SlotOrigin::Declared, None)
}

/// The value of a fact for `slot`, range-checked as its origin requires: every number in a
/// built-in fact is a count, size, duration or rate, which cannot be negative, and a declared
/// fact's lies in the range it states.
pub fn slot_value(program: &Program, json: &Json, slot: &Slot) -> Result<Value, String> {
    facts_json::value_of(program, json, &slot.ty, slot.origin, slot.range.as_ref())
}

/// How a type is named in messages.
pub(crate) fn expected(ty: &Type) -> String {
    match ty {
        Type::Bool => "a bool (`true` or `false`)".to_owned(),
        Type::Int => "an integer".to_owned(),
        Type::Float => "a number".to_owned(),
        Type::String => "a string".to_owned(),
        Type::Duration => "a duration".to_owned(),
        Type::Percent => "a percentage".to_owned(),
        Type::Rung => "a rung name".to_owned(),
        Type::Date => "a date".to_owned(),
        Type::List(_) => format!("a list (`{ty}`)"),
        Type::Record(_) => format!("a table (`{ty}`)"),
    }
}

fn toml_to_json(value: toml::Value) -> Json {
    match value {
        toml::Value::String(s) => Json::String(s),
        toml::Value::Integer(n) => Json::from(n),
        toml::Value::Float(x) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
        toml::Value::Boolean(b) => Json::Bool(b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_syntax_errors_point_at_their_byte() {
        let text = "{\n  \"tests\": {\"unit\": {\"failed\": 0,}}\n}\n";
        let err = serde_json::from_str::<Json>(text)
            .err()
            .map(|e| e.to_string());
        let (message, offset) =
            json_position(err.as_deref().unwrap_or(""), text).unwrap_or_default();
        assert_eq!(message, "trailing comma");
        assert_eq!(&text[offset..offset + 1], "}", "{text:?} at {offset}");
        assert_eq!(json_position("EOF while parsing", text), None);
        assert_eq!(json_position("x at line 9 column 9", "{}"), Some(("x", 2)));
    }

    /// A fact under a freshness limit with no known observation time proves no age: it is
    /// errored, never taken as fresh. Without a limit, age does not matter.
    #[test]
    fn a_fact_of_unknown_age_under_a_freshness_limit_is_errored() {
        let rules = FactRules {
            freshness: vec![("tests".to_owned(), 3_600_000.0)],
            ..FactRules::none()
        };
        assert_eq!(
            rules.stale("tests.unit.failed", None),
            Some(Absent::Error(
                "when it was observed is not known, so its age cannot be held to its \
                 [freshness] limit of 1h"
                    .to_owned()
            ))
        );
        assert_eq!(rules.stale("tests.unit.failed", Some(rules.now)), None);
        assert_eq!(rules.stale("metrics.latency_p95", None), None);
    }
}
