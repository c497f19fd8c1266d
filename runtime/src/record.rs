//! Decision records: everything one decision depended on, so `phasev-eval replay` can
//! reproduce it offline, bit for bit.
//!
//! A record holds the policy's IR (JSON) and its digest, every fact the program reads (value or
//! absence reason, with its source) and the facts' digest, the feature, the target rung, and
//! the decision and its digest. Replaying re-evaluates the recorded IR over the recorded facts
//! and compares the new decision with the recorded one. A record whose parts do not match
//! their digests was edited: it is neither replayed nor used as a baseline.

use std::path::{Path, PathBuf};

use phasev_compiler::ir::{Program, hex};
use phasev_compiler::std_library;
use phasev_compiler::types::Type;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::decide::Decision;
use crate::eval::Evaluator;
use crate::facts::{Absent, Fact, Facts, Source, slot_value};
use crate::value::{Value, date};

/// Version of the record's shape (3: the decision has a digest).
pub const RECORD_VERSION: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub record_version: u32,
    pub policy_digest: String,
    /// The policy, as `phasevc compile --emit json` writes it.
    pub policy: Json,
    pub feature: String,
    pub target: String,
    pub facts_digest: String,
    pub facts: Vec<RecordedFact>,
    /// The decision, as `--format json` prints it.
    pub decision: Json,
    /// So that an edited verdict reads as an edited record, not as a change in evaluation.
    pub decision_digest: String,
    /// The modules of phasev's standard library the policy imports (`import "std/…"`): which
    /// text, of which release, the decision's policy was compiled from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub library: Vec<LibraryModule>,
}

/// A module of the standard library, as a record names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryModule {
    /// Its import path (`std/phase-v.phasev`).
    pub name: String,
    /// The version of the phasev that shipped it.
    pub version: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedFact {
    pub path: String,
    /// The value in facts-file form; absent when `absent` says why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub absent: Option<Absent>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
    /// What its source said about it (a failed plugin check's findings), which the
    /// decision's explanations show.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RecordError {
    #[error("cannot read the record {}: {error}", file.display())]
    #[diagnostic(code(phasev::record::unreadable))]
    Unreadable {
        file: PathBuf,
        /// Why, as the system said it (kept whole for callers that ask which error).
        error: std::io::Error,
    },
    #[error("{} is not a phasev decision record: {reason}", file.display())]
    #[diagnostic(
        code(phasev::record::invalid),
        help("records are written by `phasev-eval gate --record FILE`")
    )]
    Invalid { file: PathBuf, reason: String },
    #[error(
        "this record was edited: the record's {what} does not match its digest (recorded {recorded}, found {found})"
    )]
    #[diagnostic(
        code(phasev::record::tampered),
        help("the record was edited after it was written; it cannot be replayed")
    )]
    Tampered {
        what: &'static str,
        recorded: String,
        found: String,
    },
    /// A part of a record that does not serialise: the record is not written rather than
    /// written with that part empty.
    #[error("cannot make the decision record: its {what} does not serialise: {source}")]
    #[diagnostic(
        code(phasev::record::unserialisable),
        help("this is a bug in phasev: please report it with the policy and facts")
    )]
    Unserialisable {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// A value in the form facts files use (the inverse of [`slot_value`]).
pub fn to_json(program: &Program, value: &Value, ty: &Type) -> Json {
    match (value, ty) {
        (Value::Bool(b), _) => json!(b),
        (Value::Int(n), _) => json!(n),
        (Value::Float(x) | Value::Duration(x) | Value::Percent(x), _) => json!(x),
        (Value::Str(s), _) => json!(s.as_ref()),
        (Value::Rung(r), _) => program
            .rungs
            .get(*r as usize)
            .map_or_else(|| json!(r), |rung| json!(rung.name)),
        (Value::Date(d), _) => json!(date(*d)),
        (Value::List(items), Type::List(elem)) => {
            Json::Array(items.iter().map(|i| to_json(program, i, elem)).collect())
        }
        (Value::Record(fields), Type::Record(names)) => Json::Object(
            names
                .iter()
                .zip(fields.iter())
                .map(|((name, t), v)| (name.clone(), to_json(program, v, t)))
                .collect(),
        ),
        (Value::List(items) | Value::Record(items), _) => Json::Array(
            items
                .iter()
                .map(|i| to_json(program, i, &Type::Bool))
                .collect(),
        ),
    }
}

/// The sha256 of the facts' JSON (object keys sorted, so it is canonical).
fn facts_digest(facts: &[RecordedFact]) -> Result<String, serde_json::Error> {
    Ok(digest(&serde_json::to_vec(facts)?))
}

/// The sha256 of the decision's JSON (object keys sorted, so it is canonical).
fn decision_digest(decision: &Json) -> String {
    digest(decision.to_string().as_bytes())
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The record of one decision.
pub fn record(
    program: &Program,
    facts: &Facts,
    decision: &Decision,
) -> Result<Record, RecordError> {
    let recorded: Vec<RecordedFact> = facts
        .iter()
        .filter_map(|(slot, fact)| {
            let info = program.slots.get(slot as usize)?;
            let (value, absent) = match &fact.value {
                Ok(v) => (Some(to_json(program, v, &info.ty)), None),
                Err(why) => (None, Some(why.clone())),
            };
            Some(RecordedFact {
                path: info.path.clone(),
                value,
                absent,
                source: fact.source.as_ref().map(|s| s.0.to_string()),
                notes: facts.notes(slot).to_vec(),
            })
        })
        .collect();
    let unserialisable = |what| move |source| RecordError::Unserialisable { what, source };
    let decided = serde_json::to_value(decision).map_err(unserialisable("decision"))?;
    Ok(Record {
        record_version: RECORD_VERSION,
        policy_digest: program.digest(),
        policy: serde_json::from_str(&program.to_json()).map_err(unserialisable("policy"))?,
        feature: decision.feature.clone(),
        target: decision.target.clone(),
        facts_digest: facts_digest(&recorded).map_err(unserialisable("facts"))?,
        facts: recorded,
        decision_digest: decision_digest(&decided),
        decision: decided,
        library: program
            .files
            .iter()
            .filter_map(|name| {
                Some(LibraryModule {
                    sha256: std_library::digest(name)?,
                    name: name.clone(),
                    version: std_library::VERSION.to_owned(),
                })
            })
            .collect(),
    })
}

/// Reads a record and checks that its policy is the one it was decided with.
pub fn read(file: &Path) -> Result<(Record, Program), RecordError> {
    let text = phasev_compiler::load::read_text(file).map_err(|e| RecordError::Unreadable {
        file: file.to_owned(),
        error: e,
    })?;
    let invalid = |reason: String| RecordError::Invalid {
        file: file.to_owned(),
        reason,
    };
    let record: Record = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if record.record_version != RECORD_VERSION {
        return Err(invalid(format!(
            "record version {}, this build reads {RECORD_VERSION}",
            record.record_version
        )));
    }
    let program =
        Program::from_json(&record.policy.to_string()).map_err(|e| invalid(e.to_string()))?;
    let found = program.digest();
    if found != record.policy_digest {
        return Err(RecordError::Tampered {
            what: "policy IR",
            recorded: record.policy_digest,
            found,
        });
    }
    let found = facts_digest(&record.facts).map_err(|source| RecordError::Unserialisable {
        what: "facts",
        source,
    })?;
    if found != record.facts_digest {
        return Err(RecordError::Tampered {
            what: "facts list",
            recorded: record.facts_digest,
            found,
        });
    }
    let found = decision_digest(&record.decision);
    if found != record.decision_digest {
        return Err(RecordError::Tampered {
            what: "decision",
            recorded: record.decision_digest,
            found,
        });
    }
    Ok((record, program))
}

/// The facts a record holds, as the evaluator reads them.
pub fn facts(program: &Program, record: &Record) -> Facts {
    let mut facts = Facts::missing(program);
    for f in &record.facts {
        let Some(slot) = program.slot_index(&f.path) else {
            continue;
        };
        let Some(info) = program.slots.get(slot as usize) else {
            continue;
        };
        let value = match (&f.value, &f.absent) {
            (Some(json), _) => slot_value(program, json, info).map_err(Absent::Error),
            (None, Some(why)) => Err(why.clone()),
            (None, None) => Err(Absent::Missing),
        };
        facts.set(
            slot,
            Fact {
                value,
                source: f.source.clone().map(Source::new),
            },
        );
        facts.note(slot, f.notes.clone());
    }
    facts
}

/// Re-decides a record: the new decision, and whether it is identical to the recorded one.
pub fn replay(program: &Program, record: &Record) -> Option<(Decision, bool)> {
    let target = program.rungs.iter().position(|r| r.name == record.target)?;
    let facts = facts(program, record);
    let decision =
        Evaluator::new(program).decide(&record.feature, &facts, u32::try_from(target).ok()?);
    let same = serde_json::to_value(&decision).ok()? == record.decision;
    Some((decision, same))
}
