//! End-to-end compile benchmarks: the standard policy and a generated 10,000-requirement one.
//!
//! `cargo bench -p phasev-compiler --bench compile` first prints a report (per-stage times,
//! the 100 ms target, and memory at three policy sizes), then runs the criterion benchmarks.
//!
//! Times are taken with mimalloc as the global allocator, as in `phasevc`.
//!
//! Memory: a counting allocator would need `unsafe` code, which the workspace forbids.
//! Instead the binary re-runs itself once per size (`PHASEV_BENCH_MEM_CHILD=<n>`) and reads
//! the child's resident set from `/proc/self/status`: the peak during compilation (`VmHWM`,
//! reset through `/proc/self/clear_refs` just before compiling) and what stays resident while
//! the `Compilation` is alive, both above the baseline taken after generating the source
//! text. Set `PHASEV_BENCH_QUICK=1` to skip the criterion part.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at a broken setup by panicking"
)]

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use phasev_compiler::ast::FileId;
use phasev_compiler::diag::Diagnostics;
use phasev_compiler::load::{self, MemoryFs};
use phasev_compiler::{Options, analyze, check, compile_with, lower, parser};
use support::policy_gen::{Spec, generate};
use support::timing::median;

// The allocator `phasevc` uses, so the times are the ones a user sees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The product's target for the 10,000-requirement policy.
const TARGET_MS: f64 = 100.0;
const BIG: usize = 10_000;
const MEMORY_SIZES: [usize; 3] = [2_500, 5_000, 10_000];
const CHILD_ENV: &str = "PHASEV_BENCH_MEM_CHILD";

const ROOT: &str = "bench/root.phasev";

/// The standard policy when it exists, else the brief's sketch; with its display name.
fn standard_policy() -> (String, String) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        workspace.join("policies/phase-v.phasev"),
        workspace.join("tests/corpus/valid/brief_sketch.phasev"),
    ];
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let name = path
                .strip_prefix(&workspace)
                .map_or_else(|_| path.clone(), Path::to_path_buf)
                .display()
                .to_string();
            return (name, text);
        }
    }
    panic!("neither policies/phase-v.phasev nor the brief sketch could be read");
}

/// The standard policy may import siblings: put every `.phasev` beside it in memory too.
fn standard_fs(text: &str) -> MemoryFs {
    let mut fs = MemoryFs::new().with(ROOT, text);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let is_policy = path.extension().is_some_and(|e| e == "phasev");
            let name = path.file_name().map(PathBuf::from);
            if let (true, Some(name), Ok(body)) = (is_policy, name, std::fs::read_to_string(&path))
                && name != Path::new("phase-v.phasev")
            {
                fs = fs.with(Path::new("bench").join(name), body);
            }
        }
    }
    fs
}

fn compile_mem(fs: &MemoryFs) -> phasev_compiler::Compilation {
    compile_with(Path::new(ROOT), fs, &Options::default())
}

/// Compiles once and fails loudly if the policy does not compile: a benchmark of the error
/// path would measure the wrong thing.
fn assert_compiles(name: &str, fs: &MemoryFs) {
    let c = compile_mem(fs);
    if c.program.is_none() {
        for d in c.rendered_diagnostics().into_iter().take(5) {
            eprintln!("{:?}", miette_free(&d));
        }
        panic!("{name} does not compile");
    }
}

fn miette_free(d: &phasev_compiler::diag::Diagnostic) -> String {
    format!(
        "{:?} at {}..{}: {}",
        d.code(),
        d.span().start,
        d.span().end,
        d.message()
    )
}

#[derive(Default)]
struct StageTimes {
    parse_only: Vec<Duration>,
    load_parse: Vec<Duration>,
    check: Vec<Duration>,
    analyze: Vec<Duration>,
    lower: Vec<Duration>,
    total: Vec<Duration>,
    compile_with: Vec<Duration>,
}

/// Runs each stage `runs` times, the way `compile_with` chains them.
fn stage_times(text: &str, fs: &MemoryFs, runs: usize) -> StageTimes {
    let mut t = StageTimes::default();
    let options = Options::default();
    for _ in 0..runs {
        // Each timing ends when the stage has produced its result; freeing it afterwards is
        // not part of compiling (phasevc exits without waiting for it).
        let start = Instant::now();
        let module = black_box(parser::parse(FileId(0), black_box(text)).ok());
        t.parse_only.push(start.elapsed());
        drop(module);

        let start = Instant::now();
        let mut diags = Diagnostics::default();
        let loaded = load::load(Path::new(ROOT), fs, &mut diags);
        let after_load = Instant::now();
        let typed = check::check(&loaded.modules, &options, &mut diags);
        let after_check = Instant::now();
        let typed = typed.expect("the policy type-checks");
        let warnings = black_box(analyze::analyze(&typed));
        let after_analyze = Instant::now();
        let program = black_box(lower::lower(&typed, &loaded.sources));
        let end = Instant::now();
        drop((warnings, program));
        t.load_parse.push(after_load - start);
        t.check.push(after_check - after_load);
        t.analyze.push(after_analyze - after_check);
        t.lower.push(end - after_analyze);
        t.total.push(end - start);
        drop((typed, loaded));

        let start = Instant::now();
        let compilation = black_box(compile_mem(fs));
        t.compile_with.push(start.elapsed());
        drop(compilation);
    }
    t
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn min(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

fn print_stages(title: &str, text: &str, fs: &MemoryFs, runs: usize) -> Duration {
    let t = stage_times(text, fs, runs);
    println!(
        "\n{title}: {} bytes, {} lines; median (min) of {runs} runs",
        text.len(),
        text.lines().count()
    );
    let rows: [(&str, &[Duration]); 7] = [
        ("parse only (parser::parse)", &t.parse_only),
        ("load + parse (load::load)", &t.load_parse),
        ("check (check::check)", &t.check),
        ("analyze (analyze::analyze)", &t.analyze),
        ("lower (lower::lower)", &t.lower),
        ("sum of stages", &t.total),
        ("compile_with end to end", &t.compile_with),
    ];
    for (name, v) in rows {
        println!(
            "  {name:<30} {:>9.3} ms  ({:>9.3} ms)",
            ms(median(v)),
            ms(min(v))
        );
    }
    median(&t.compile_with)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// In the child: generate, take a baseline, compile, report. Prints one line
/// `requirements baseline_kib peak_kib retained_kib`.
fn memory_child(requirements: usize) {
    let text = generate(&Spec::scaled(requirements));
    let fs = MemoryFs::new().with(ROOT, text.as_str());
    // A warm-up at another size would pollute the high-water mark; compile exactly once.
    let baseline = proc_status_kib("VmRSS:").unwrap_or(0);
    // Resets VmHWM to the current RSS (Linux ≥ 4.0); ignored elsewhere.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let compilation = compile_mem(&fs);
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    let retained = proc_status_kib("VmRSS:").unwrap_or(0);
    assert!(compilation.program.is_some(), "generated policy compiles");
    println!(
        "{requirements} {baseline} {} {}",
        if reset { peak } else { 0 },
        retained
    );
    drop(black_box(compilation));
}

fn print_memory() {
    let Ok(exe) = std::env::current_exe() else {
        println!("\nmemory: cannot find the benchmark binary; skipped");
        return;
    };
    println!(
        "\nmemory (resident set of a fresh process per size, above the baseline after generating the text)"
    );
    println!(
        "  {:>12} {:>8} {:>14} {:>12} {:>16} {:>12}",
        "requirements", "facts", "peak KiB", "peak B/req", "retained KiB", "retained B/req"
    );
    for n in MEMORY_SIZES {
        let out = Command::new(&exe).env(CHILD_ENV, n.to_string()).output();
        let Ok(out) = out else {
            println!("  {n:>12}  (child failed to start)");
            continue;
        };
        let line = String::from_utf8_lossy(&out.stdout);
        let nums: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [_, baseline, peak, retained] = nums[..] else {
            println!(
                "  {n:>12}  (child said: {} {})",
                line.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        };
        let peak_kib = peak.saturating_sub(baseline);
        let kept_kib = retained.saturating_sub(baseline);
        let per = |kib: u64| kib as f64 * 1024.0 / n as f64;
        println!(
            "  {n:>12} {:>8} {peak_kib:>14} {:>12.0} {kept_kib:>16} {:>12.0}",
            Spec::scaled(n).facts,
            per(peak_kib),
            per(kept_kib)
        );
    }
}

fn report(standard_name: &str, standard: &str, big: &str) {
    println!("==== phasev compile benchmark ====");
    print_stages(
        &format!("standard policy ({standard_name})"),
        standard,
        &standard_fs(standard),
        50,
    );
    let big_fs = MemoryFs::new().with(ROOT, big);
    let spec = Spec::scaled(BIG);
    let t = print_stages(
        &format!(
            "generated policy: {} requirements over {} facts, {} rules",
            spec.requirements, spec.facts, spec.rules
        ),
        big,
        &big_fs,
        15,
    );
    let verdict = if ms(t) < TARGET_MS { "MET" } else { "MISSED" };
    println!(
        "\n  target: {BIG} requirements in < {TARGET_MS} ms → {:.1} ms: {verdict}",
        ms(t)
    );
    print_memory();
    println!();
}

fn criterion_benches(c: &mut Criterion, standard_name: &str, standard: &str, big: &str) {
    let standard_fs = standard_fs(standard);
    let big_fs = MemoryFs::new().with(ROOT, big);

    let mut g = c.benchmark_group("compile_with");
    g.throughput(Throughput::Bytes(standard.len() as u64));
    g.bench_function(BenchmarkId::new("standard", standard_name), |b| {
        b.iter(|| compile_mem(black_box(&standard_fs)))
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(BIG as u64));
    g.bench_function(BenchmarkId::new("generated", BIG), |b| {
        b.iter(|| compile_mem(black_box(&big_fs)))
    });
    g.finish();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(standard.len() as u64));
    g.bench_function(BenchmarkId::new("standard", standard_name), |b| {
        b.iter(|| parser::parse(FileId(0), black_box(standard)))
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(BIG as u64));
    g.bench_function(BenchmarkId::new("generated", BIG), |b| {
        b.iter(|| parser::parse(FileId(0), black_box(big)))
    });
    g.finish();
}

fn main() {
    if let Ok(n) = std::env::var(CHILD_ENV) {
        memory_child(n.parse().expect("a number of requirements"));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        // `cargo bench -- --list` and test harness discovery: nothing to measure.
        let mut c = Criterion::default().configure_from_args();
        return criterion_benches(&mut c, "standard", "", "");
    }
    let (standard_name, standard) = standard_policy();
    let big = generate(&Spec::scaled(BIG));
    if let Ok(path) = std::env::var("PHASEV_BENCH_DUMP") {
        std::fs::write(&path, &big).expect("write the generated policy");
        println!("wrote {} bytes to {path}", big.len());
        return;
    }
    assert_compiles(&standard_name, &standard_fs(&standard));
    assert_compiles(
        "the generated policy",
        &MemoryFs::new().with(ROOT, big.as_str()),
    );

    report(&standard_name, &standard, &big);
    if std::env::var_os("PHASEV_BENCH_QUICK").is_some() {
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_benches(&mut c, &standard_name, &standard, &big);
    c.final_summary();
}
