//! The production gate (cloud_staging -> cloud_prod) of `policies/phase-v.phasev` over the same
//! 10,000 generated features in phasev, in regorus (the Rego interpreter, `gate.rego`), in
//! cel-interpreter (`gate.cel`) and hand-written over `serde_json::Value`, facts already loaded
//! in each engine's own value type. Every engine must reach phasev's verdict for every feature
//! before anything is timed.
//!
//! `cargo run --release --manifest-path bench-engines/Cargo.toml`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use phasev_compiler::{Options, compile_path};
use phasev_runtime::decide::Verdict;
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Document, Facts, apply_documents};
use serde_json::Value as Json;

#[path = "../../runtime/benches/support/gate.rs"]
mod gate;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FEATURES: usize = 10_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn verdict_of(text: &str) -> Verdict {
    match text {
        "pass" => Verdict::Pass,
        "warn" => Verdict::Warn,
        "fail" => Verdict::Fail,
        "inconclusive" => Verdict::Inconclusive,
        other => panic!("unexpected verdict {other}"),
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let program = compile_path(
        &root.join("../policies/phase-v.phasev"),
        &Options::default(),
    )
    .program
    .expect("the standard policy compiles");
    let evaluator = Evaluator::new(&program);
    let target = 3;
    let gate = program.gates.iter().find(|g| g.to == target).unwrap();
    let rung_of = |name: &str| {
        program
            .rungs
            .iter()
            .position(|r| r.name == name)
            .map(|i| i as u32)
    };

    let doc = gate::features(FEATURES);
    let text = doc.to_string();
    let names: Vec<String> = doc["features"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let raw: Vec<&Json> = names.iter().map(|n| &doc["features"][n]).collect();
    let parsed = Document::parse(&program, Path::new("bench.json"), &text, false).unwrap();
    let loaded: Vec<Facts> = names
        .iter()
        .map(|n| {
            let mut f = Facts::missing(&program);
            apply_documents(std::slice::from_ref(&parsed), n, &mut f);
            f
        })
        .collect();

    let mut rego = regorus::Engine::new();
    rego.add_policy(
        "gate.rego".to_owned(),
        std::fs::read_to_string(root.join("gate.rego")).unwrap(),
    )
    .unwrap();
    let rego_inputs: Vec<regorus::Value> = raw
        .iter()
        .map(|f| regorus::Value::from_json_str(&f.to_string()).unwrap())
        .collect();
    let mut rego_verdict = |input: &regorus::Value| {
        rego.set_input(input.clone());
        let v = rego.eval_rule("data.phasev.verdict".to_owned()).unwrap();
        verdict_of(v.as_string().unwrap())
    };

    let cel =
        cel_interpreter::Program::compile(&std::fs::read_to_string(root.join("gate.cel")).unwrap())
            .unwrap();
    let cel_inputs: Vec<cel_interpreter::Value> = raw
        .iter()
        .map(|f| cel_interpreter::to_value(f).unwrap())
        .collect();
    let cel_verdict = |input: &cel_interpreter::Value| {
        let mut context = cel_interpreter::Context::default();
        context.add_variable_from_value("f", input.clone());
        match cel.execute(&context).unwrap() {
            cel_interpreter::Value::String(s) => verdict_of(&s),
            other => panic!("unexpected CEL result {other:?}"),
        }
    };

    for i in 0..FEATURES {
        let ours = evaluator.verdict_of([gate], false, &loaded[i], target);
        assert_eq!(
            ours,
            gate::hand_written(raw[i], &rung_of, target),
            "hand-written, feature {i}"
        );
        assert_eq!(ours, rego_verdict(&rego_inputs[i]), "regorus, feature {i}");
        assert_eq!(ours, cel_verdict(&cel_inputs[i]), "cel, feature {i}");
    }

    let runs = 5;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / FEATURES as f64;
    let ours = per(time(runs, || {
        loaded
            .iter()
            .filter(|f| evaluator.verdict_of([gate], false, f, target) == Verdict::Pass)
            .count()
    }));
    let hand = per(time(runs, || {
        raw.iter()
            .filter(|f| gate::hand_written(f, &rung_of, target) == Verdict::Pass)
            .count()
    }));
    let regorus = per(time(runs, || {
        rego_inputs
            .iter()
            .filter(|f| rego_verdict(f) == Verdict::Pass)
            .count()
    }));
    let cel_time = per(time(runs, || {
        cel_inputs
            .iter()
            .filter(|f| cel_verdict(f) == Verdict::Pass)
            .count()
    }));
    println!("==== the production gate in four engines, {FEATURES} features, facts loaded ====\n");
    for (name, us) in [
        ("phasev", ours),
        ("hand-written Rust", hand),
        ("regorus (interpreter)", regorus),
        ("cel-interpreter", cel_time),
    ] {
        println!(
            "  {name:<24} {us:>8.3} µs/feature   {:>6.2}× phasev",
            us / ours
        );
    }
}
