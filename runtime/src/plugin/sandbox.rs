//! What a plugin's instance may touch, and the per-call store state.
//!
//! Every plugin is linked with WASI 0.2 (what compilers for `wasm32-wasip2` import), but each
//! call's context holds only what the manifest grants:
//! - files: no directory unless `grants.read` names it (then read-only, at the same relative
//!   path);
//! - environment: only the variables `grants.env` names;
//! - clocks: without `grants.clocks`, both clocks stand still at zero (1970-01-01), so a plugin
//!   learns nothing of the time and decides the same way on every run;
//! - network: no address may be bound or connected and no name looked up, unless
//!   `grants.network`;
//! - randomness: seeded the same way on every call, so a decision replays bit for bit;
//! - standard streams: stdin is empty; stdout and stderr are kept, bounded, to explain a
//!   failure (a panic message).
//!
//! A component importing anything else (another WASI version's new interfaces, `wasi:http`, a
//! made-up interface) does not link, and is refused when loaded.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use crate::config::Grants;

/// How much of a plugin's stdout and stderr is kept for an explanation.
const STDIO_KEPT: usize = 4096;

/// A store's data: the WASI context of one call and its limits.
pub(super) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) stderr: MemoryOutputPipe,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The linker every plugin shares: WASI 0.2, asynchronous, so a call waiting in WASI can be
/// abandoned at its deadline.
pub(super) fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Ok(linker)
}

/// A plugin's grants resolved against the project: what each call's context is built from.
#[derive(Clone, Debug)]
pub(super) struct Access {
    /// Host directory and the path the guest sees it at.
    read: Vec<(PathBuf, String)>,
    env: Vec<(String, String)>,
    clocks: bool,
    network: bool,
}

impl Access {
    /// Resolves `grants`; a granted directory that does not exist, or that leads out of the
    /// project, is an error naming it. Each directory is opened where it resolves, symlinks
    /// followed once here, so what the plugin reads is what was checked.
    pub(super) fn new(grants: &Grants, root: &Path) -> Result<Access, String> {
        let mut read = Vec::with_capacity(grants.read.len());
        for dir in &grants.read {
            if let Some(why) = grant_outside(root, dir) {
                return Err(why);
            }
            let host = root.join(dir);
            let resolved = host
                .canonicalize()
                .ok()
                .filter(|p| p.is_dir())
                .ok_or_else(|| {
                    format!(
                        "grants.read names `{}`, which is not a directory ({})",
                        dir.display(),
                        host.display()
                    )
                })?;
            read.push((resolved, dir.to_string_lossy().into_owned()));
        }
        let env = grants
            .env
            .iter()
            .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
            .collect();
        Ok(Access {
            read,
            env,
            clocks: grants.clocks,
            network: grants.network,
        })
    }

    /// The store data of one call.
    pub(super) fn state(&self, memory: usize, table_elements: usize) -> wasmtime::Result<State> {
        let stderr = MemoryOutputPipe::new(STDIO_KEPT);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdin(MemoryInputPipe::new(Vec::new()))
            .stdout(MemoryOutputPipe::new(STDIO_KEPT))
            .stderr(stderr.clone())
            .secure_random(wasmtime_wasi::Deterministic::new(SEED.to_vec()))
            .insecure_random(wasmtime_wasi::Deterministic::new(SEED.to_vec()))
            .insecure_random_seed(u128::from_le_bytes(SEED))
            .envs(&self.env);
        for (host, guest) in &self.read {
            wasi.preopened_dir(host, guest, FsPerms::ReadOnly)?;
        }
        if !self.clocks {
            wasi.wall_clock(Stopped).monotonic_clock(Stopped);
        }
        if self.network {
            wasi.inherit_network()
                .allow_tcp(true)
                .allow_udp(true)
                .allow_ip_name_lookup(true);
        }
        Ok(State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory)
                .table_elements(table_elements)
                .trap_on_grow_failure(true)
                .build(),
            stderr,
        })
    }
}

/// Why `dir`, an entry of `grants.read`, does not stay inside the project at `root`, if it
/// does not: an absolute path, a `..`, or a path that symlinks resolve to somewhere else. A
/// directory that does not exist yet is not refused here (loading the plugin says it is
/// missing).
pub(crate) fn grant_outside(root: &Path, dir: &Path) -> Option<String> {
    let shown = dir.display();
    if dir.has_root() || dir.components().any(|c| matches!(c, Component::Prefix(_))) {
        return Some(format!(
            "grants.read `{shown}` is an absolute path; a plugin may read only directories of \
             the project"
        ));
    }
    if dir.components().any(|c| c == Component::ParentDir) {
        return Some(format!(
            "grants.read `{shown}` goes up with `..`; a plugin may read only directories of the \
             project"
        ));
    }
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let root = root.canonicalize().ok()?;
    let resolved = root.join(dir).canonicalize().ok()?;
    (!resolved.starts_with(&root)).then(|| {
        format!(
            "grants.read `{shown}` leads out of the project through a symlink (to {}); a plugin \
             may read only directories of the project",
            resolved.display()
        )
    })
}

/// The clocks of a plugin without `grants.clocks`: always zero.
struct Stopped;

impl HostWallClock for Stopped {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for Stopped {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// The bytes every call's random generators repeat: randomness in a plugin must not make a
/// decision differ between runs.
const SEED: [u8; 16] = *b"phasev-sandbox-1";
