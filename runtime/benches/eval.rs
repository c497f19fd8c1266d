//! Evaluation benchmark: the standard policy's cloud_staging → cloud_prod gate, per feature.
//!
//! `cargo bench -p phasev-runtime --bench eval` prints, for the same generated features:
//! 1. the gate evaluated by phasev over facts already loaded, next to the same gate written by
//!    hand in Rust over `serde_json::Value`, as a ratio: over 10,000 distinct features (cache
//!    misses included), and for one feature decided repeatedly (its facts in cache);
//! 2. 10,000 features end to end from one JSON facts file (parse, load, decide), next to the
//!    hand-written gate including its `serde_json` parse.
//!
//! Both sides decide the same verdict for every feature (checked before timing), with the same
//! three-valued logic: a missing fact makes a requirement undecided, not false.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at a broken setup by panicking"
)]

use std::hint::black_box;
use std::path::Path;

use phasev_compiler::ir::Program;
use phasev_compiler::{Options, compile_path};
use phasev_runtime::decide::Verdict;
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Document, FactRules, Facts, apply_documents};
use serde_json::Value as Json;

mod support;

use support::gate::{features, hand_written};
use support::timing::{per, time};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FEATURES: usize = 10_000;

fn standard() -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/phase-v.phasev");
    compile_path(&path, &Options::default())
        .program
        .expect("the standard policy compiles")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let program = standard();
    let evaluator = Evaluator::new(&program);
    let target = program
        .rungs
        .iter()
        .position(|r| r.name == "cloud_prod")
        .unwrap() as u32;
    let gate = program.gates.iter().find(|g| g.to == target).unwrap();
    let rung_of = |name: &str| {
        program
            .rungs
            .iter()
            .position(|r| r.name == name)
            .map(|i| i as u32)
    };
    let doc = features(FEATURES);
    let text = doc.to_string();
    let names: Vec<String> = doc["features"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let per_feature: Vec<&Json> = names.iter().map(|n| &doc["features"][n]).collect();

    // Facts loaded once, as a pipeline holds them.
    let parsed = Document::parse(&program, Path::new("bench.json"), &text, false).unwrap();
    let loaded: Vec<Facts> = names
        .iter()
        .map(|n| {
            let mut f = Facts::missing(&program);
            apply_documents(
                &program,
                std::slice::from_ref(&parsed),
                n,
                &FactRules::none(),
                &mut f,
            );
            f
        })
        .collect();

    // Both sides must agree before either is timed.
    let mut tally = std::collections::BTreeMap::new();
    for (facts, raw) in loaded.iter().zip(&per_feature) {
        let ours = evaluator.verdict_of([gate], false, facts, target);
        assert_eq!(ours, hand_written(raw, &rung_of, target));
        *tally.entry(ours.as_str()).or_insert(0) += 1;
    }

    println!("==== phasev evaluation benchmark ====\n");
    println!(
        "gate cloud_staging -> cloud_prod of policies/phase-v.phasev, {FEATURES} generated features"
    );
    println!("verdicts: {tally:?}\n");

    let runs = 15;
    let ours_loaded = time(runs, || {
        loaded
            .iter()
            .map(|f| evaluator.verdict_of([gate], false, f, target))
            .filter(|v| *v == Verdict::Pass)
            .count()
    });
    let hand_loaded = time(runs, || {
        per_feature
            .iter()
            .map(|f| hand_written(f, &rung_of, target))
            .filter(|v| *v == Verdict::Pass)
            .count()
    });
    println!("facts already loaded (median of {runs} runs over {FEATURES} features)");
    println!(
        "  phasev evaluator            {:>8.3} µs/feature",
        per(ours_loaded, FEATURES)
    );
    println!(
        "  hand-written Rust baseline  {:>8.3} µs/feature",
        per(hand_loaded, FEATURES)
    );
    println!(
        "  ratio                       {:>8.2}×  (target: at most 1 µs/feature, ≤ 3× the baseline)\n",
        ours_loaded.as_secs_f64() / hand_loaded.as_secs_f64()
    );

    // One feature decided over and over: its facts stay in the cache, as when a pipeline
    // decides one feature.
    let hot = 100_000;
    let (one_facts, one_raw) = (&loaded[1], per_feature[1]);
    let ours_hot = time(runs, || {
        (0..hot)
            .filter(|_| {
                evaluator.verdict_of([gate], false, black_box(one_facts), target) == Verdict::Pass
            })
            .count()
    });
    let hand_hot = time(runs, || {
        (0..hot)
            .filter(|_| hand_written(black_box(one_raw), &rung_of, target) == Verdict::Pass)
            .count()
    });
    println!("one feature decided {hot} times (facts in cache)");
    println!(
        "  phasev evaluator            {:>8.3} µs/decision",
        per(ours_hot, hot)
    );
    println!(
        "  hand-written Rust baseline  {:>8.3} µs/decision",
        per(hand_hot, hot)
    );
    println!(
        "  ratio                       {:>8.2}×\n",
        ours_hot.as_secs_f64() / hand_hot.as_secs_f64()
    );

    let runs = 7;
    let ours_json = time(runs, || {
        let doc = Document::parse(&program, Path::new("bench.json"), &text, false).unwrap();
        let docs = [doc];
        let mut facts = Facts::missing(&program);
        names
            .iter()
            .filter(|n| {
                facts = Facts::missing(&program);
                apply_documents(&program, &docs, n, &FactRules::none(), &mut facts);
                evaluator.verdict_of([gate], false, &facts, target) == Verdict::Pass
            })
            .count()
    });
    let hand_json = time(runs, || {
        let doc: Json = serde_json::from_str(&text).unwrap();
        let features = doc["features"].as_object().unwrap();
        features
            .values()
            .filter(|f| hand_written(f, &rung_of, target) == Verdict::Pass)
            .count()
    });
    println!(
        "from a JSON facts file of {} KiB, end to end (median of {runs} runs)",
        text.len() / 1024
    );
    println!(
        "  phasev (parse, load, decide) {:>7.3} µs/feature",
        per(ours_json, FEATURES)
    );
    println!(
        "  hand-written (serde_json)    {:>7.3} µs/feature",
        per(hand_json, FEATURES)
    );
    println!(
        "  ratio                        {:>7.2}×  (target: ≤ 1.2× the baseline)",
        ours_json.as_secs_f64() / hand_json.as_secs_f64()
    );
}
