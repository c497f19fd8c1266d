//! The language server's re-check of the standard policy after an edit, against the baseline
//! of `phasevc check`'s path (read from disk, parse, check, analyse, lower) in the same process.
//!
//! `cargo bench -p phasev-compiler --bench lsp` prints both medians, their ratio and the
//! 5 ms target, then runs the criterion benchmarks (skipped with `PHASEV_BENCH_QUICK=1`).
//! The re-check is what the server does on every `didChange`: the whole policy is checked
//! again from the new text (full-text sync), and its diagnostics converted to LSP ranges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at a broken setup by panicking"
)]

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use criterion::Criterion;
use phasev_compiler::lsp::Workspace;
use phasev_compiler::{Options, compile_path};
use support::timing::median;

// The allocator `phasevc` uses, so the times are the ones a user sees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_MS: f64 = 5.0;
const RUNS: usize = 500;

fn standard_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/phase-v.phasev")
        .canonicalize()
        .expect("policies/phase-v.phasev exists")
}

/// The server's state with the standard policy open, and two texts to alternate between, so
/// every re-check sees a change (a requirement's threshold).
fn open_standard() -> (Workspace, PathBuf, [String; 2]) {
    let path = standard_policy();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("> 0", "> 1", 1);
    assert_ne!(text, edited, "the edit changes the policy");
    let uri = lsp_types::Uri::from_str(&format!("file://{}", path.display())).unwrap();
    let mut ws = Workspace::new(Options::default());
    let published = ws.open(path.clone(), uri, text.clone());
    assert_eq!(published.len(), 1);
    assert!(published[0].1.is_empty(), "the standard policy is clean");
    (ws, path, [edited, text])
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let path = standard_policy();
    let options = Options::default();
    let (mut ws, open, texts) = open_standard();

    let mut baseline = Vec::with_capacity(RUNS);
    let mut recheck = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let start = Instant::now();
        black_box(compile_path(black_box(&path), &options));
        baseline.push(start.elapsed());
        let start = Instant::now();
        black_box(ws.change(&open, texts[i % 2].clone()));
        recheck.push(start.elapsed());
    }
    let (baseline, recheck) = (median(&baseline), median(&recheck));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("policies/phase-v.phasev, median of {RUNS} runs each:");
    println!(
        "  phasevc check path (compile_path): {:.3} ms",
        ms(baseline)
    );
    println!("  LSP re-check after an edit:        {:.3} ms", ms(recheck));
    println!(
        "  ratio re-check / check path:       {:.2}",
        ms(recheck) / ms(baseline)
    );
    let verdict = if ms(recheck) < TARGET_MS {
        "MET"
    } else {
        "MISSED"
    };
    println!(
        "  target: re-check < {TARGET_MS} ms → {:.3} ms: {verdict}\n",
        ms(recheck)
    );
    if std::env::var_os("PHASEV_BENCH_QUICK").is_some() {
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("standard_policy");
    g.bench_function("phasevc_check_path", |b| {
        b.iter(|| compile_path(black_box(&path), &options))
    });
    let mut i = 0;
    g.bench_function("lsp_recheck", |b| {
        b.iter(|| {
            i += 1;
            ws.change(&open, texts[i % 2].clone())
        })
    });
    g.finish();
    c.final_summary();
}
