//! What the plugin test binaries share: the components `plugins/build.sh` builds, manifests
//! pinning them, a host, and calls of the hostile plugin by mode.

#![allow(
    dead_code,
    reason = "each test binary includes this module and uses a part of it"
)]

use std::path::{Path, PathBuf};

use phasev_compiler::ir::hex;
use phasev_runtime::config::{Grants, PluginLimits, PluginManifest};
use phasev_runtime::plugin::{
    CacheKey, CacheSettings, Compiler, DEFAULT_CACHE_SIZE, DEFAULT_MAX_FUNCTIONS,
    DEFAULT_MAX_PLUGIN_SIZE, Host, HostSettings, Outcome, Plugin, Request,
};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A component of `plugins/dist`.
pub fn dist(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: build the plugins first (bash plugins/build.sh)",
        path.display()
    );
    path
}

/// A manifest pinning `path` by its digest.
pub fn manifest(path: &Path, limits: PluginLimits, grants: Grants) -> PluginManifest {
    let bytes = std::fs::read(path).unwrap();
    PluginManifest {
        path: path.to_owned(),
        sha256: hex(&Sha256::digest(&bytes)),
        limits,
        grants,
    }
}

/// The key the tests' caches are authenticated with (as `PHASEV_CACHE_KEY` would give it),
/// so no test writes a key file into the home directory.
pub const TEST_CACHE_KEY: &str = "phasev's tests sign their cache entries with this key";

/// A cache in `dir`, authenticated with [`TEST_CACHE_KEY`].
pub fn cache_settings(dir: PathBuf) -> CacheSettings {
    CacheSettings {
        dir,
        key: CacheKey::Given(TEST_CACHE_KEY.to_owned()),
        max_size: DEFAULT_CACHE_SIZE,
    }
}

/// The cache the tests share across runs (a JavaScript plugin takes long to compile).
pub fn shared_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")
}

/// How the tests compile plugins: by the `phasev-eval` this package builds, with the default
/// budgets.
pub fn compiler() -> Compiler {
    Compiler::new(PathBuf::from(env!("CARGO_BIN_EXE_phasev-eval")))
}

pub fn host(cache: Option<PathBuf>) -> Host {
    Host::new(&HostSettings {
        max_memory: 128 << 20,
        max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
        compiler: compiler(),
        max_functions: DEFAULT_MAX_FUNCTIONS,
        stack: 512 << 10,
        cache: cache.map(cache_settings),
    })
    .unwrap()
}

pub fn load(host: &Host, path: &Path, limits: PluginLimits, grants: Grants) -> Plugin {
    host.load(None, &manifest(path, limits, grants), Path::new(""))
        .unwrap()
        .0
}

pub fn limits(timeout: &str, fuel: u64, memory: &str, output: &str) -> PluginLimits {
    PluginLimits {
        timeout: timeout.to_owned(),
        fuel,
        memory: memory.to_owned(),
        output: output.to_owned(),
        ..PluginLimits::default()
    }
}

/// The limits the hostile cases run under: 300ms, 32MiB, 64KiB of output, and fuel enough
/// that the deadline stops a loop (`fuel` gives the limits under which fuel does).
pub fn tight() -> PluginLimits {
    limits("300ms", 10_000_000_000, "32MiB", "64KiB")
}

pub fn fuel() -> PluginLimits {
    limits("60s", 5_000_000, "32MiB", "64KiB")
}

pub fn request(config: serde_json::Value) -> Request {
    Request {
        feature: "orders".to_owned(),
        target: "cloud_staging".to_owned(),
        config,
        facts: Vec::new(),
    }
}

/// One call of the hostile plugin in `mode`.
pub fn mode(plugin: &Plugin, mode: &str) -> Result<Outcome, String> {
    plugin.evaluate(&request(json!({ "mode": mode })))
}

/// The hostile plugin's `recursion`, `depth` calls deep.
pub fn recurse(plugin: &Plugin, depth: u64) -> Result<Outcome, String> {
    plugin.evaluate(&request(json!({ "mode": "recursion", "depth": depth })))
}

/// Every mode of the hostile plugin (`plugins/test-plugins/hostile/README.md`).
pub const HOSTILE_MODES: &[&str] = &[
    "ok",
    "state",
    "loop",
    "memory",
    "recursion",
    "huge-output",
    "many-findings",
    "panic",
    "trap",
    "env",
    "file",
    "network",
    "clock",
    "undeclared-output",
    "wrong-type-output",
    "not-json-output",
    "missing-output",
];
