//! Plugin call benchmark: what a sandboxed check costs next to the same check in the policy.
//!
//! `cargo bench -p phasev-runtime --bench plugin` (after `bash plugins/build.sh`) prints, for
//! the `trivial` test plugin (reads `tests.unit.failed`, passes when it is 0):
//! 1. the first load: compiling the component (no cache), and loading it from the disk cache;
//! 2. one isolated call: a fresh store, a fresh instance from the `InstancePre`, the call, the
//!    outcome converted back (the path `phasev-eval` takes for every feature);
//! 3. the same requirement, `tests.unit.failed == 0`, evaluated natively by phasev over loaded
//!    facts, and the ratio of the two.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops at a broken setup by panicking"
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use phasev_compiler::ir::hex;
use phasev_compiler::{Options, compile_path};
use phasev_runtime::config::{Grants, PluginLimits, PluginManifest};
use phasev_runtime::decide::Outcome;
use phasev_runtime::eval::{Evaluator, Scope};
use phasev_runtime::facts::{Document, FactRules, Facts, apply_documents};
use phasev_runtime::plugin::{
    CacheKey, CacheSettings, Compiler, DEFAULT_CACHE_SIZE, DEFAULT_MAX_FUNCTIONS,
    DEFAULT_MAX_PLUGIN_SIZE, Host, HostSettings, Lookup, Request,
};
use serde_json::json;
use sha2::{Digest, Sha256};

mod support;

use support::timing::{per, time};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLS: usize = 2_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = root.join("plugins/dist/trivial.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first (bash plugins/build.sh)",
            wasm.display()
        )
    });
    let manifest = PluginManifest {
        path: wasm.clone(),
        sha256: hex(&Sha256::digest(&bytes)),
        limits: PluginLimits::default(),
        grants: Grants::default(),
    };
    let settings = |cache| HostSettings {
        max_memory: 64 << 20,
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: Compiler::new(PathBuf::from(env!("CARGO_BIN_EXE_phasev-eval"))),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache,
    };

    println!(
        "==== phasev plugin benchmark (trivial plugin, {} bytes) ====\n",
        bytes.len()
    );
    let uncached = Host::new(&settings(None)).unwrap();
    let start = Instant::now();
    let (plugin, _) = uncached.load(None, &manifest, Path::new("")).unwrap();
    let compile = start.elapsed();
    let cache = tempfile::tempdir().unwrap();
    let cached = Host::new(&settings(Some(CacheSettings {
        dir: cache.path().to_owned(),
        key: CacheKey::Given("the benchmark's key, at least 32 characters".to_owned()),
        max_size: DEFAULT_CACHE_SIZE,
    })))
    .unwrap();
    cached.load(None, &manifest, Path::new("")).unwrap();
    let start = Instant::now();
    let (_, lookup) = cached.load(None, &manifest, Path::new("")).unwrap();
    let from_cache = start.elapsed();
    assert_eq!(lookup, Lookup::Hit);
    println!(
        "first load (validate, compile, link, describe)  {:>9.2} ms",
        compile.as_secs_f64() * 1e3
    );
    println!(
        "load from the disk cache (+ link, describe)     {:>9.2} ms\n",
        from_cache.as_secs_f64() * 1e3
    );

    let request = Request {
        feature: "orders".to_owned(),
        target: "cloud_staging".to_owned(),
        config: json!({}),
        facts: vec![("tests.unit.failed".to_owned(), Ok(json!(0)))],
    };
    let outcome = plugin.evaluate(&request).unwrap();
    assert_eq!(outcome.findings[0].status, Outcome::Pass);
    let runs = 15;
    let call = time(runs, || {
        for _ in 0..CALLS {
            plugin.evaluate(&request).unwrap();
        }
    });

    let policy = root.join("runtime/benches/data/unit.phasev");
    let program = compile_path(&policy, &Options::default()).program.unwrap();
    let doc = Document::parse(
        &program,
        Path::new("f.json"),
        r#"{"tests": {"unit": {"failed": 0}}}"#,
        false,
    )
    .unwrap();
    let mut facts = Facts::missing(&program);
    apply_documents(
        &program,
        std::slice::from_ref(&doc),
        "orders",
        &FactRules::none(),
        &mut facts,
    );
    let evaluator = Evaluator::new(&program);
    let expr = program.gates[0].requirements[0].expr;
    assert_eq!(
        evaluator.truth(expr, &mut Scope::quiet(&facts, 1)),
        Ok(true)
    );
    let native_calls = CALLS * 100;
    let native = time(runs, || {
        for _ in 0..native_calls {
            evaluator.truth(expr, &mut Scope::quiet(&facts, 1)).unwrap();
        }
    });
    let (plugin_us, native_us) = (per(call, CALLS), per(native, native_calls));
    println!("one isolated call (median of {runs} runs of {CALLS})");
    println!("  plugin: fresh store + instance + call  {plugin_us:>9.2} µs  (target: under 15 µs)");
    println!("  the same requirement, native           {native_us:>9.3} µs");
    println!(
        "  ratio                                  {:>9.0}×",
        plugin_us / native_us
    );
}
