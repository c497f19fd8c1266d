//! What both facts-document targets do: read the document against the standard policy's
//! slots, apply it to every feature it names under freshness limits and the default
//! protection, decide every gate, and check that no built-in fact holds a number out of range.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use phasev_compiler::ir::{Program, SlotOrigin};
use phasev_compiler::load::MemoryFs;
use phasev_compiler::{Options, compile_with};
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Document, FactRules, Facts, apply_documents};
use phasev_runtime::value::Value;

/// The standard policy, compiled once.
fn standard() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let text = include_str!("../../../policies/phase-v.phasev");
        let fs = MemoryFs::new().with("phase-v.phasev", text);
        let compilation = compile_with(Path::new("phase-v.phasev"), &fs, &Options::default());
        match compilation.program {
            Some(program) => program,
            None => panic!("the standard policy compiles: {:?}", compilation.diagnostics),
        }
    })
}

/// Whether every number in `value` is finite and not negative.
fn in_range(value: &Value) -> bool {
    match value {
        Value::Int(n) => *n >= 0,
        Value::Float(x) | Value::Duration(x) | Value::Percent(x) => x.is_finite() && *x >= 0.0,
        Value::List(items) | Value::Record(items) => items.iter().all(in_range),
        Value::Bool(_) | Value::Str(_) | Value::Rung(_) | Value::Date(_) => true,
    }
}

pub fn read(text: &str, is_toml: bool) {
    let program = standard();
    let file = if is_toml { "f.toml" } else { "f.json" };
    let doc = match Document::parse(program, Path::new(file), text, is_toml) {
        Ok(doc) => doc,
        Err(err) => {
            // Rendered as phasev-eval does, which reads the span the error points at.
            let mut out = String::new();
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            std::hint::black_box(handler.render_report(&mut out, &err).is_ok());
            return;
        }
    };
    let rules = FactRules {
        freshness: vec![("metrics".to_owned(), 3_600_000.0)],
        protected: vec!["secrets".to_owned()],
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    };
    let mut features: Vec<&str> = doc.feature_names().collect();
    features.push("");
    let docs = [doc.clone()];
    for feature in features {
        let mut facts = Facts::missing(program);
        std::hint::black_box(apply_documents(program, &docs, feature, &rules, &mut facts));
        for (slot, fact) in facts.iter() {
            let builtin = program.slots[slot as usize].origin == SlotOrigin::Builtin;
            if let (true, Ok(value)) = (builtin, &fact.value) {
                assert!(in_range(value), "slot {slot} holds {value:?}");
            }
        }
        let evaluator = Evaluator::new(program);
        for target in 1..u32::try_from(program.rungs.len()).unwrap_or(1) {
            std::hint::black_box(evaluator.decide(feature, &facts, target));
        }
    }
}
