//! Facts: one typed value (or the reason there is none) per slot of the program, with where
//! it came from.
//!
//! A facts document (`--facts FILE`, JSON or TOML) mirrors fact paths with nested keys:
//! `{"tests": {"unit": {"failed": 0}}}` supplies `tests.unit.failed`. A top-level `features`
//! table supplies several features at once; every other top-level key is shared by all of
//! them, and a feature's own value wins over a shared one. Later documents win over earlier
//! ones. An absent key is a missing fact; a value that does not fit the slot's type rejects
//! the document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::Diagnostic;
use phasev_compiler::ir::Program;
use phasev_compiler::types::Type;
use serde_json::{Map, Value as Json};
use thiserror::Error;

use crate::value::{Value, parse_date, parse_duration, parse_percent};

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
}

impl Facts {
    /// Every slot of `program` missing.
    pub fn missing(program: &Program) -> Facts {
        Facts {
            slots: vec![Fact::MISSING; program.slots.len()],
        }
    }

    pub fn get(&self, slot: u32) -> &Fact {
        self.slots.get(slot as usize).unwrap_or(&Fact::MISSING)
    }

    pub fn set(&mut self, slot: u32, fact: Fact) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = fact;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &Fact)> {
        (0u32..).zip(&self.slots)
    }
}

/// A problem with a facts document. Every variant names the file.
#[derive(Debug, Error, Diagnostic)]
pub enum FactsError {
    #[error("cannot read facts file {}: {reason}", file.display())]
    #[diagnostic(code(phasev::facts::unreadable))]
    Unreadable { file: PathBuf, reason: String },
    #[error("facts file {} is not valid {format}: {reason}", file.display())]
    #[diagnostic(
        code(phasev::facts::syntax),
        help(
            "facts files are JSON (`.json`) or TOML (`.toml`) documents whose keys mirror fact paths"
        )
    )]
    Syntax {
        file: PathBuf,
        format: &'static str,
        reason: String,
    },
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

/// One facts document, parsed.
#[derive(Clone, Debug)]
pub struct Document {
    file: PathBuf,
    shared: Map<String, Json>,
    features: BTreeMap<String, Map<String, Json>>,
}

impl Document {
    /// Reads a JSON or TOML facts document (TOML when the name ends in `.toml`).
    pub fn read(file: &Path) -> Result<Document, FactsError> {
        let text = std::fs::read_to_string(file).map_err(|e| FactsError::Unreadable {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
        let is_toml = file.extension().is_some_and(|e| e == "toml");
        Document::parse(file, &text, is_toml)
    }

    /// Parses a facts document; `file` is only used in messages.
    pub fn parse(file: &Path, text: &str, is_toml: bool) -> Result<Document, FactsError> {
        let syntax = |format, reason: String| FactsError::Syntax {
            file: file.to_owned(),
            format,
            reason,
        };
        let root = if is_toml {
            let table: toml::Table =
                toml::from_str(text).map_err(|e| syntax("TOML", e.message().to_owned()))?;
            toml_to_json(toml::Value::Table(table))
        } else {
            serde_json::from_str(text).map_err(|e| syntax("JSON", e.to_string()))?
        };
        let Json::Object(mut shared) = root else {
            return Err(FactsError::NotATable {
                file: file.to_owned(),
            });
        };
        let mut features = BTreeMap::new();
        if let Some(table) = shared.remove("features") {
            let Json::Object(table) = table else {
                return Err(FactsError::FeaturesNotATable {
                    file: file.to_owned(),
                });
            };
            for (name, facts) in table {
                let Json::Object(facts) = facts else {
                    return Err(FactsError::FeaturesNotATable {
                        file: file.to_owned(),
                    });
                };
                features.insert(name, facts);
            }
        }
        Ok(Document {
            file: file.to_owned(),
            shared,
            features,
        })
    }

    /// The features this document names in its `features` table.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.features.keys().map(String::as_str)
    }

    /// The raw value at `path` for `feature`: the feature's own, else the shared one.
    fn lookup(&self, feature: &str, path: &str) -> Option<&Json> {
        let own = self.features.get(feature).and_then(|f| walk(f, path));
        own.or_else(|| walk(&self.shared, path))
    }
}

fn walk<'a>(map: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut segments = path.split('.');
    let mut current = map.get(segments.next()?)?;
    for segment in segments {
        current = current.as_object()?.get(segment)?;
    }
    Some(current)
}

/// Fills `facts` (for `feature`) from `docs`, the last document that has a value winning.
/// Values that do not fit their slot's type are errors.
pub fn apply_documents(
    program: &Program,
    docs: &[Document],
    feature: &str,
    facts: &mut Facts,
) -> Result<(), FactsError> {
    for (slot, info) in (0u32..).zip(&program.slots) {
        let Some((doc, raw)) = docs
            .iter()
            .rev()
            .find_map(|d| d.lookup(feature, &info.path).map(|raw| (d, raw)))
        else {
            continue;
        };
        let value = convert(program, raw, &info.ty).map_err(|e| FactsError::WrongType {
            file: doc.file.clone(),
            path: format!("{}{}", info.path, e.at),
            expected: e.expected,
            found: describe(e.found),
            hint: e.hint,
        })?;
        let source = Source::new(format!("facts file {}", doc.file.display()));
        facts.set(
            slot,
            Fact {
                value: Ok(value),
                source: Some(source),
            },
        );
    }
    Ok(())
}

struct Mismatch<'a> {
    /// Where inside the fact (`[2].ready`), empty at the top.
    at: String,
    expected: String,
    found: &'a Json,
    hint: String,
}

fn mismatch<'a>(found: &'a Json, ty: &Type, hint: &str) -> Mismatch<'a> {
    Mismatch {
        at: String::new(),
        expected: expected(ty),
        found,
        hint: hint.to_owned(),
    }
}

fn expected(ty: &Type) -> String {
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

fn describe(json: &Json) -> String {
    let text = json.to_string();
    let short: String = text.chars().take(40).collect();
    let short = if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    };
    let kind = match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a table",
    };
    format!("{kind} `{short}`")
}

/// Converts a JSON value (from a document or a collector) to a runtime value of type `ty`;
/// the error says what was expected, where inside the value, and how to write it.
pub fn value_of(program: &Program, json: &Json, ty: &Type) -> Result<Value, String> {
    convert(program, json, ty).map_err(|m| {
        let at = if m.at.is_empty() {
            String::new()
        } else {
            format!(" at `{}`", m.at)
        };
        format!("expected {}{at}, found {}", m.expected, describe(m.found))
    })
}

/// Converts a document value to a runtime value of type `ty`.
fn convert<'a>(program: &Program, json: &'a Json, ty: &Type) -> Result<Value, Mismatch<'a>> {
    let fail = |hint: &str| Err(mismatch(json, ty, hint));
    match ty {
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            _ => fail("write `true` or `false`"),
        },
        Type::Int => match json.as_i64() {
            Some(n) => Ok(Value::Int(n)),
            None => fail("write a whole number, such as `3`"),
        },
        Type::Float => match json.as_f64() {
            Some(x) => Ok(Value::Float(x)),
            None => fail("write a number, such as `0.5`"),
        },
        Type::String => match json {
            Json::String(s) => Ok(Value::Str(Arc::from(s.as_str()))),
            _ => fail("write a quoted string"),
        },
        Type::Duration => match json {
            Json::Number(n) => n.as_f64().map(Value::Duration).map_or_else(|| fail(""), Ok),
            Json::String(s) => match parse_duration(s) {
                Some(ms) => Ok(Value::Duration(ms)),
                None => fail(
                    "write a string with a unit (`\"312ms\"`, `\"1.5s\"`, `\"2h\"`) or a number of milliseconds",
                ),
            },
            _ => fail("write a string with a unit (`\"312ms\"`) or a number of milliseconds"),
        },
        Type::Percent => match json {
            Json::Number(n) => n.as_f64().map(Value::Percent).map_or_else(|| fail(""), Ok),
            Json::String(s) => match parse_percent(s) {
                Some(p) => Ok(Value::Percent(p)),
                None => fail("write a string with `%` (`\"0.04%\"`) or a fraction (`0.0004`)"),
            },
            _ => fail("write a string with `%` (`\"0.04%\"`) or a fraction (`0.0004`)"),
        },
        Type::Rung => {
            let names: Vec<&str> = program.rungs.iter().map(|r| r.name.as_str()).collect();
            let found = json
                .as_str()
                .and_then(|s| names.iter().position(|n| *n == s))
                .and_then(|i| u32::try_from(i).ok());
            match found {
                Some(i) => Ok(Value::Rung(i)),
                None => fail(&format!("the rungs are {}", names.join(", "))),
            }
        }
        Type::Date => match json.as_str().and_then(parse_date) {
            Some(d) => Ok(Value::Date(d)),
            None => fail("write a calendar date as `\"YYYY-MM-DD\"`"),
        },
        Type::List(elem) => {
            let Json::Array(items) = json else {
                return fail("write a list: `[…]`");
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(convert(program, item, elem).map_err(|mut m| {
                    m.at = format!("[{i}]{}", m.at);
                    m
                })?);
            }
            Ok(Value::List(out.into()))
        }
        Type::Record(fields) => {
            let Json::Object(map) = json else {
                return fail("write a table with the fields of the type");
            };
            let mut out = Vec::with_capacity(fields.len());
            for (name, field_ty) in fields {
                let Some(raw) = map.get(name) else {
                    return Err(Mismatch {
                        at: String::new(),
                        expected: format!("a table with a `{name}` field (`{ty}`)"),
                        found: json,
                        hint: format!("add `{name}`"),
                    });
                };
                out.push(convert(program, raw, field_ty).map_err(|mut m| {
                    m.at = format!(".{name}{}", m.at);
                    m
                })?);
            }
            Ok(Value::Record(out.into()))
        }
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
