//! Team checks: sandboxed WebAssembly components implementing the `phasev:plugin` world
//! (`plugins/wit/plugin.wit`).
//!
//! ```text
//! phasev.toml [plugins.NAME] ─load→ Plugin (digest checked, compiled or cached, described)
//! Plugin::describe ─schema→ compiler (configuration, reads and outputs checked)
//! facts it reads + configuration ─evaluate (fresh instance)→ Outcome ─check_facts→ <check>.*
//! ```
//!
//! One [`Host`] runs every plugin, on a wasmtime engine (pooling allocator) per WebAssembly
//! stack size, normally one; each call gets a fresh store with the plugin's limits: wall time
//! (epoch interruption for WebAssembly, a timer for a call waiting in WASI: calls are async,
//! on fibers), fuel, memory, table elements, output size and stack, a budget of time for the
//! run, and a WASI context holding only what its grants allow. Whatever a call does (trap,
//! loop, sleep, exhaust a limit, return garbage), it ends as an error message naming the
//! plugin and the check for
//! the facts of its own check, which makes the requirements reading them inconclusive; a
//! check's failed findings become notes on its facts, for the explanations of failures.

mod cache;
mod compile;
mod limits;
mod sandbox;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use miette::Diagnostic;
use phasev_compiler::ast::Severity;
use phasev_compiler::check::PluginSchema;
use phasev_compiler::ir::{self, Program, hex};
use phasev_compiler::load::{TooLarge, read_bytes_within};
use phasev_compiler::types::Type;
use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use thiserror::Error;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
};

pub use cache::{Cache, CacheKey, CacheSettings, DEFAULT_CACHE_SIZE, Lookup, Rejection};
pub use compile::{
    Compiler, DEFAULT_COMPILE_MEMORY, DEFAULT_COMPILE_TIMEOUT, SUBCOMMAND as COMPILE_SUBCOMMAND,
    compile_child,
};
pub use limits::{DEFAULT_STACK, MAX_TABLE_ELEMENTS};
pub(crate) use limits::{Limits, STACK_HELP, stack_size};

use crate::config::{PluginManifest, Project, first_line, parse_size};
use crate::decide;
use crate::facts::{Absent, FactRules, Facts, Source, value_of};
use crate::gather::{Found, apply_found};
use crate::neutral;
use crate::record::to_json;
use crate::value::duration;
use compile::Refused;
pub(crate) use sandbox::grant_outside;
use sandbox::{Access, State};

/// Rust bindings of the WIT world, generated at build time.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../plugins/wit",
        world: "plugin",
        exports: { default: async },
    });
}

use bindings::phasev::plugin::types as wit;

/// The help of a file given on the command line that cannot be read.
pub const UNREADABLE_FILE_HELP: &str = "pass the path of a plugin's component (a `.wasm` file)";

/// How often the epoch advances: the granularity of wall-time limits.
const TICK: Duration = Duration::from_millis(2);

/// The stack a call's fiber has beyond its WebAssembly stack, for the host functions (WASI)
/// the plugin calls.
const HOST_STACK: usize = 1 << 20;

/// How many calls' time a plugin's budget for a run holds per feature, when `limits.budget`
/// does not say.
const BUDGET_CALLS_PER_FEATURE: u32 = 4;

/// Why a plugin could not be loaded. Every one stops the run before any evaluation.
#[derive(Debug, Error, Diagnostic)]
pub enum PluginError {
    /// The help says where the path came from: phasev.toml, or the command line.
    #[error("plugin `{name}`: cannot read {path}: {error}")]
    #[diagnostic(code(phasev::plugin::unreadable))]
    Unreadable {
        name: String,
        path: PathBuf,
        error: std::io::Error,
        #[help]
        help: String,
    },
    #[error("plugin `{name}`: {path} has sha256 {actual}, but phasev.toml pins {expected}")]
    #[diagnostic(
        code(phasev::plugin::digest),
        help(
            "a plugin runs only if it is exactly the file that was reviewed; if this build is \
             the one you mean to trust, set sha256 = \"{actual}\" in [plugins.{name}]"
        )
    )]
    Digest {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("plugin `{name}`: {path} is not a WebAssembly component: {reason}")]
    #[diagnostic(
        code(phasev::plugin::invalid),
        help(
            "build the plugin for wasm32-wasip2 (a component, not a core module); see plugins/README.md"
        )
    )]
    Invalid {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("plugin `{name}`: {path} does not implement the phasev:plugin world: {reason}")]
    #[diagnostic(
        code(phasev::plugin::world),
        help("a plugin exports `describe` and `evaluate` as plugins/wit/plugin.wit defines them")
    )]
    World {
        name: String,
        path: PathBuf,
        reason: String,
    },
    /// `describe` failed, or what it returned cannot be used; the help says which.
    #[error("plugin `{name}`: {reason}")]
    #[diagnostic(code(phasev::plugin::description))]
    Description {
        name: String,
        reason: String,
        #[help]
        help: String,
    },
    /// A limit or grant of `[plugins.NAME]` cannot be used; the help says how to write it.
    #[error("plugin `{name}`: [plugins.{name}] {reason}")]
    #[diagnostic(code(phasev::plugin::manifest))]
    Manifest {
        name: String,
        reason: String,
        #[help]
        help: String,
    },
    #[error("plugin `{name}`: {path} is {size} bytes, over the limit of {max} bytes")]
    #[diagnostic(
        code(phasev::plugin::too_large),
        help(
            "compiling costs time and memory in proportion to the code: shrink the plugin \
             (opt-level = \"s\", lto, strip), or raise [sandbox] max_plugin_size if you trust it"
        )
    )]
    TooLarge {
        name: String,
        path: PathBuf,
        size: u64,
        max: u64,
    },
    #[error("plugin `{name}`: {path} has {functions} functions, over the limit of {max}")]
    #[diagnostic(
        code(phasev::plugin::too_many_functions),
        help(
            "compiling takes memory in proportion to the functions: shrink the plugin, or raise \
             [sandbox] max_plugin_functions if you trust it"
        )
    )]
    TooManyFunctions {
        name: String,
        path: PathBuf,
        functions: u64,
        max: u64,
    },
    #[error("plugin `{name}`: compiling {path} took longer than {limit}")]
    #[diagnostic(
        code(phasev::plugin::compile_timeout),
        help(
            "compiling costs time in proportion to the code: shrink the plugin, or raise \
             [sandbox] compile_timeout if you trust it"
        )
    )]
    CompileTimeout {
        name: String,
        path: PathBuf,
        limit: String,
    },
    #[error("plugin `{name}`: compiling {path} needed more memory than its budget of {budget}")]
    #[diagnostic(
        code(phasev::plugin::compile_memory),
        help(
            "compiling takes memory in proportion to the code: shrink the plugin, or raise \
             [sandbox] compile_memory if you trust it"
        )
    )]
    CompileMemory {
        name: String,
        path: PathBuf,
        budget: String,
    },
    #[error("plugin `{name}`: {path} could not be compiled: {reason}")]
    #[diagnostic(
        code(phasev::plugin::compile),
        help(
            "phasev compiles plugins in a child process, itself run as `phasev-eval \
             compile-plugin`; the reason says what stopped it"
        )
    )]
    Compile {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("the plugin host cannot start: {reason}")]
    #[diagnostic(code(phasev::plugin::host))]
    Host { reason: String },
}

/// What a plugin says about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub summary: String,
    pub reads: Vec<String>,
    pub outputs: Vec<OutputField>,
    pub config: Vec<ConfigKey>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputField {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub doc: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfigKey {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    pub doc: String,
}

impl Description {
    /// The description a plugin returned, its prose made one bounded line; names and types
    /// are kept as they are, for the checks that follow to refuse.
    fn from_wit(d: wit::Description) -> Description {
        Description {
            name: d.name,
            version: d.version,
            summary: kept(&d.summary),
            reads: d.reads,
            outputs: d
                .outputs
                .into_iter()
                .map(|o| OutputField {
                    name: o.name,
                    ty: o.type_,
                    doc: kept(&o.doc),
                })
                .collect(),
            config: d
                .config
                .into_iter()
                .map(|c| ConfigKey {
                    name: c.name,
                    ty: c.type_,
                    required: c.required,
                    doc: kept(&c.doc),
                })
                .collect(),
        }
    }

    /// Why the description cannot be used, if it cannot: a name that is not a plugin name,
    /// a version that is not semver, or more outputs, reads or configuration keys than a
    /// plugin may declare.
    fn refusal(&self) -> Option<String> {
        if !is_plugin_name(&self.name) {
            return Some(format!(
                "it describes itself with the name `{}`, which is not a plugin name (letters, \
                 digits, `-`, `_` and `.`, at most {MAX_NAME} characters)",
                neutral::line(&neutral::capped(&self.name, MAX_NAME))
            ));
        }
        if !is_semver(&self.version) {
            return Some(format!(
                "it describes its version as `{}`, which is not a semantic version (`1.2.3`)",
                neutral::line(&neutral::capped(&self.version, MAX_NAME))
            ));
        }
        let counts = [
            ("outputs", self.outputs.len()),
            ("reads", self.reads.len()),
            ("configuration keys", self.config.len()),
        ];
        let (what, n) = counts.into_iter().find(|(_, n)| *n > MAX_DECLARED)?;
        Some(format!(
            "it declares {n} {what}, more than the {MAX_DECLARED} a plugin may declare"
        ))
    }

    /// What the compiler checks a policy against; a type that does not parse is an error.
    pub fn schema(&self) -> Result<PluginSchema, String> {
        PluginSchema::from_parts(
            self.reads.clone(),
            self.outputs
                .iter()
                .map(|o| (o.name.as_str(), o.ty.as_str())),
            self.config
                .iter()
                .map(|c| (c.name.as_str(), c.ty.as_str(), c.required)),
        )
    }
}

/// A finding of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub status: decide::Outcome,
    #[serde(serialize_with = "decide::keyword")]
    pub severity: Severity,
    pub message: String,
    pub location: Option<String>,
}

/// What one evaluation returned: findings, and the outputs as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub outputs: Vec<(String, Json)>,
}

/// One evaluation's input.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub feature: String,
    pub target: String,
    pub config: Json,
    /// Each path the plugin reads: its value, or why there is none.
    pub facts: Vec<(String, Result<Json, String>)>,
}

/// The host settings every plugin shares.
#[derive(Clone, Debug)]
pub struct HostSettings {
    /// The largest linear memory any plugin may have: the size of the pool's slots.
    pub max_memory: u64,
    /// The WebAssembly stack of a plugin that sets no `limits.stack`, in bytes.
    pub stack: usize,
    /// Where compiled plugins are kept and the key that authenticates them; `None` compiles
    /// on every run.
    pub cache: Option<CacheSettings>,
    /// The largest plugin file compiled, in bytes: compiling costs time and memory in
    /// proportion to the code.
    pub max_plugin_size: u64,
    /// How plugins are compiled: in a child process, within a time and a memory budget.
    pub compiler: Compiler,
    /// The most functions a plugin may hold, in all its modules: compiling takes memory in
    /// proportion to them (400,000 took 3 GB).
    pub max_functions: u64,
}

/// The most functions a plugin may hold when `[sandbox] max_plugin_functions` does not say: a
/// JavaScript plugin, an interpreter and its runtime, has about 12,700; a Rust one, hundreds.
pub const DEFAULT_MAX_FUNCTIONS: u64 = 100_000;

/// The largest plugin file compiled when `[sandbox] max_plugin_size` does not say: a
/// JavaScript plugin, the largest kind, is about 12MiB.
pub const DEFAULT_MAX_PLUGIN_SIZE: u64 = 32 << 20;

impl HostSettings {
    /// The settings outside a project (`plugin inspect`): slots of `max_memory`, the default
    /// stack and budgets, and the cache a project without `[sandbox] cache` uses. `program`
    /// compiles plugins ([`Compiler::program`]).
    pub fn standalone(max_memory: u64, program: PathBuf) -> HostSettings {
        HostSettings {
            max_memory,
            stack: DEFAULT_STACK,
            max_plugin_size: DEFAULT_MAX_PLUGIN_SIZE,
            compiler: Compiler::new(program),
            max_functions: DEFAULT_MAX_FUNCTIONS,
            cache: default_cache_dir()
                .zip(CacheKey::from_environment())
                .map(|(dir, key)| CacheSettings {
                    dir,
                    key,
                    max_size: DEFAULT_CACHE_SIZE,
                }),
        }
    }

    /// The defaults, with the memory large enough for every plugin of `project` and the
    /// cache where `[sandbox]` (or the environment) puts it. A cache or key inside the
    /// project is refused: whoever can commit to it could plant compiled code or the key.
    /// `program` compiles plugins ([`Compiler::program`]).
    pub fn for_project(project: &Project, program: PathBuf) -> Result<HostSettings, PluginError> {
        let mut max_memory = 64 << 20;
        for (name, manifest) in &project.config.plugins {
            max_memory = max_memory.max(limits_of(name, manifest)?.memory as u64);
        }
        let sandbox = &project.config.sandbox;
        let stack = match &sandbox.stack {
            Some(text) => stack_size(text).map_err(|what| PluginError::Host {
                reason: format!("[sandbox] stack `{text}` is not {what}"),
            })?,
            None => DEFAULT_STACK,
        };
        let size = |key: &str, text: &Option<String>, default: u64| match text {
            Some(text) => parse_size(text)
                .filter(|n| *n > 0)
                .ok_or_else(|| PluginError::Host {
                    reason: format!(
                        "[sandbox] {key} `{text}` is not a size above zero (\"64MiB\", \"1GiB\")"
                    ),
                }),
            None => Ok(default),
        };
        let max_plugin_size = size(
            "max_plugin_size",
            &sandbox.max_plugin_size,
            DEFAULT_MAX_PLUGIN_SIZE,
        )?;
        let max_size = size("cache_size", &sandbox.cache_size, DEFAULT_CACHE_SIZE)?;
        let compile_memory = size(
            "compile_memory",
            &sandbox.compile_memory,
            DEFAULT_COMPILE_MEMORY,
        )?;
        let compile_timeout = sandbox
            .compile_timeout
            .map_or(DEFAULT_COMPILE_TIMEOUT, |limit| limit.0);
        let dir = match &sandbox.cache {
            Some(dir) => Some(project.path(dir)),
            None => default_cache_dir(),
        };
        let cache = match dir.zip(CacheKey::from_environment()) {
            Some((dir, key)) => {
                refuse_inside(&project.root, &dir, "the plugin cache")?;
                if let CacheKey::File(file) = &key {
                    refuse_inside(&project.root, file, "the plugin cache key")?;
                }
                Some(CacheSettings { dir, key, max_size })
            }
            None => None,
        };
        Ok(HostSettings {
            max_memory,
            stack,
            cache,
            max_plugin_size,
            compiler: Compiler {
                program,
                timeout: compile_timeout,
                memory: compile_memory,
            },
            max_functions: sandbox
                .max_plugin_functions
                .unwrap_or(DEFAULT_MAX_FUNCTIONS),
        })
    }
}

/// Refuses `path` (the cache, or its key) when it is inside the project `root`, where anyone
/// who can commit could put it.
fn refuse_inside(root: &Path, path: &Path, what: &str) -> Result<(), PluginError> {
    if canonical(path).starts_with(canonical(root)) {
        return Err(PluginError::Host {
            reason: format!(
                "{what} {} is inside the project ({}); whoever can commit to the project \
                 could plant compiled code there: keep it outside (set [sandbox] cache or \
                 PHASEV_CACHE_DIR to a directory of your own)",
                path.display(),
                root.display()
            ),
        });
    }
    Ok(())
}

/// `path` with its nearest existing ancestor canonical (symlinks resolved) and the rest, not
/// made yet, appended as written.
fn canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut rest = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(found) = existing.canonicalize() {
            return rest.iter().rev().fold(found, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// `$PHASEV_CACHE_DIR`, else `$XDG_CACHE_HOME/phasev/plugins`, else `~/.cache/phasev/plugins`.
fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PHASEV_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("phasev").join("plugins"))
}

/// An engine and its WASI linker, for one WebAssembly stack size.
#[derive(Clone)]
struct StackEngine {
    stack: usize,
    engine: Engine,
    linker: Arc<Linker<State>>,
}

/// The engines of a host, shared with the clock that ticks them.
type Engines = Arc<Mutex<Vec<StackEngine>>>;

/// Advances the epoch of every engine of a host every [`TICK`] until dropped.
#[derive(Debug)]
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engines: Engines) -> Result<Ticker, PluginError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("phasev-plugin-clock".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let engines = engines.lock().unwrap_or_else(PoisonError::into_inner);
                    for e in engines.iter() {
                        e.engine.increment_epoch();
                    }
                }
            })
            .map_err(|e| PluginError::Host {
                reason: format!("cannot start the deadline clock: {e}"),
            })?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The engines every plugin runs on. wasmtime fixes the WebAssembly stack per engine, so a
/// host has one engine per stack size its plugins ask for, made when a plugin first needs it:
/// normally one, for the default stack. One clock ticks them all.
pub struct Host {
    /// The size of the pool's memory slots, for every engine.
    max_memory: usize,
    /// The stack of a plugin that sets no `limits.stack`.
    stack: usize,
    engines: Engines,
    cache: Option<Cache>,
    max_plugin_size: u64,
    compiler: Compiler,
    max_functions: u64,
    /// Drives the calls' host functions (WASI's clocks, streams and sockets are async) and
    /// the timer that ends a call blocked in one of them.
    runtime: Arc<tokio::runtime::Runtime>,
    _ticker: Ticker,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("stack", &self.stack)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

fn host_error(e: wasmtime::Error) -> PluginError {
    PluginError::Host {
        reason: format!("{e:#}"),
    }
}

/// What compiled code depends on, for `stack` of WebAssembly stack: the compiler's child
/// process compiles with it, and the engines that run the code add their allocator to it.
fn engine_config(stack: usize) -> Config {
    let mut config = Config::new();
    // Calls run on fibers (async), so a call blocked in a host function can be abandoned at
    // its deadline; each fiber's stack holds the WebAssembly stack and the host's frames.
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .max_wasm_stack(stack)
        .async_stack_size(stack + HOST_STACK);
    config
}

/// An engine with a pooling allocator whose memory slots hold `max_memory`, and `stack` of
/// WebAssembly stack.
fn stack_engine(max_memory: usize, stack: usize) -> Result<StackEngine, PluginError> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(64)
        .total_core_instances(512)
        .total_memories(128)
        .total_tables(256)
        .max_memories_per_component(8)
        .max_memory_size(max_memory)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .total_stacks(64)
        .linear_memory_keep_resident(16 << 20)
        .table_keep_resident(1 << 16)
        .pagemap_scan(Enabled::Auto);
    let mut config = engine_config(stack);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).map_err(host_error)?;
    let linker = sandbox::linker(&engine).map_err(host_error)?;
    Ok(StackEngine {
        stack,
        engine,
        linker: Arc::new(linker),
    })
}

impl Host {
    pub fn new(settings: &HostSettings) -> Result<Host, PluginError> {
        let max_memory = usize::try_from(settings.max_memory).unwrap_or(usize::MAX);
        let engines: Engines =
            Arc::new(Mutex::new(vec![stack_engine(max_memory, settings.stack)?]));
        let cache = match &settings.cache {
            Some(cache) => Some(Cache::open(cache).map_err(|reason| PluginError::Host { reason })?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("phasev-plugin-io")
            .enable_all()
            .build()
            .map_err(|e| PluginError::Host {
                reason: format!("cannot start the plugins' I/O runtime: {e}"),
            })?;
        let ticker = Ticker::start(Arc::clone(&engines))?;
        Ok(Host {
            max_memory,
            stack: settings.stack,
            engines,
            cache,
            max_plugin_size: settings.max_plugin_size,
            compiler: settings.compiler.clone(),
            max_functions: settings.max_functions,
            runtime: Arc::new(runtime),
            _ticker: ticker,
        })
    }

    /// The engine for `stack`, made (and ticked from now on) if no plugin needed it before.
    fn engine(&self, stack: usize) -> Result<StackEngine, PluginError> {
        let mut engines = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = engines.iter().find(|e| e.stack == stack) {
            return Ok(found.clone());
        }
        let made = stack_engine(self.max_memory, stack)?;
        engines.push(made.clone());
        Ok(made)
    }

    /// Loads a plugin: checks its digest, compiles it (or takes it from the cache), links it,
    /// resolves its grants, and asks it to describe itself.
    /// `name` is the name phasev.toml gives it, which its description must repeat; `None`
    /// accepts whatever name it gives (inspecting a file).
    pub fn load(
        &self,
        name: Option<&str>,
        manifest: &PluginManifest,
        root: &Path,
    ) -> Result<(Plugin, Lookup), PluginError> {
        let name_given = name;
        let path = root.join(&manifest.path);
        let file_name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let name = name.or(file_name.as_deref()).unwrap_or("plugin");
        let limits = limits_of(name, manifest)?;
        let stack = limits.stack.unwrap_or(self.stack);
        let stacked = self.engine(stack)?;
        let bytes =
            read_bytes_within(&path, self.max_plugin_size).map_err(|e| match TooLarge::of(&e) {
                Some(too_large) => PluginError::TooLarge {
                    name: name.to_owned(),
                    path: path.clone(),
                    size: too_large.size,
                    max: self.max_plugin_size,
                },
                None => PluginError::Unreadable {
                    name: name.to_owned(),
                    path: path.clone(),
                    error: e,
                    help: match name_given {
                        Some(given) => {
                            format!("build it, or fix `path` in [plugins.{given}] of phasev.toml")
                        }
                        None => UNREADABLE_FILE_HELP.to_owned(),
                    },
                },
            })?;
        let digest = hex(&Sha256::digest(&bytes));
        let expected = manifest
            .sha256
            .trim()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase();
        if digest != expected {
            return Err(PluginError::Digest {
                name: name.to_owned(),
                path,
                expected: manifest.sha256.clone(),
                actual: digest,
            });
        }
        if let Some(functions) = function_count(&bytes)
            && functions > self.max_functions
        {
            return Err(PluginError::TooManyFunctions {
                name: name.to_owned(),
                path,
                functions,
                max: self.max_functions,
            });
        }
        let bytes: Arc<[u8]> = bytes.into();
        let (cached, lookup) = match &self.cache {
            Some(cache) => cache.lookup(&stacked.engine, &digest),
            None => (None, Lookup::Miss),
        };
        let component = match cached {
            Some(component) => component,
            None => {
                let code = self
                    .compiler
                    .compile(stack, Arc::clone(&bytes))
                    .map_err(|refused| self.refused(name, &path, &bytes, refused))?;
                // SAFETY: `code` is what a child process running phasev itself compiled
                // from the pinned bytes, for an engine configured as this one.
                #[expect(
                    unsafe_code,
                    reason = "loading code phasev compiled in a child process"
                )]
                let loaded = unsafe { Component::deserialize(&stacked.engine, &code) };
                let component = loaded.map_err(|e| PluginError::Compile {
                    name: name.to_owned(),
                    path: path.clone(),
                    reason: format!(
                        "its compiled code does not load: {}",
                        first_line(&format!("{e:#}"))
                    ),
                })?;
                if let Some(cache) = &self.cache {
                    cache.keep(&stacked.engine, &digest, &code);
                }
                component
            }
        };
        let access =
            Access::new(&manifest.grants, root).map_err(|reason| PluginError::Manifest {
                name: name.to_owned(),
                reason,
                help: "grants.read names directories of the project, relative to phasev.toml"
                    .to_owned(),
            })?;
        let world = |e: wasmtime::Error| PluginError::World {
            name: name.to_owned(),
            path: path.clone(),
            reason: first_line(&format!("{e:#}")).to_owned(),
        };
        let pre = stacked.linker.instantiate_pre(&component).map_err(world)?;
        let pre = bindings::PluginPre::new(pre).map_err(world)?;
        let mut plugin = Plugin {
            name: name.to_owned(),
            digest,
            description: Description::default(),
            schema: PluginSchema::default(),
            source: Source::new(""),
            engine: stacked.engine,
            pre,
            access,
            runtime: Arc::clone(&self.runtime),
            spent: AtomicU64::new(0),
            budget: limits.budget,
            limits,
            stack,
        };
        let description = plugin
            .describe()
            .map_err(|reason| PluginError::Description {
                name: name.to_owned(),
                reason: format!("describe failed: {reason}"),
                help: "`describe` runs in the sandbox under the plugin's limits, like every \
                       call, and must not fail: fix the plugin, or raise the limit named"
                    .to_owned(),
            })?;
        if let Some(reason) = description.refusal() {
            return Err(PluginError::Description {
                name: name.to_owned(),
                reason: format!("describe failed: {reason}"),
                help: "a description names the plugin, gives a semantic version and declares \
                       what it reads, outputs and is configured with, each within bounds"
                    .to_owned(),
            });
        }
        if let Some(given) = name_given
            && description.name != given
        {
            return Err(PluginError::Description {
                name: name.to_owned(),
                reason: format!(
                    "{} describes itself as `{}`; phasev.toml must name it the same",
                    path.display(),
                    description.name
                ),
                help: format!(
                    "rename [plugins.{given}] to [plugins.{}], and the checks' plugin names with it",
                    description.name
                ),
            });
        }
        plugin.schema = description
            .schema()
            .map_err(|reason| PluginError::Description {
                name: name.to_owned(),
                reason,
                help: "a description's types are written in the policy language (`int`, \
                       `list<string>`, `{file: string, line: int}`)"
                    .to_owned(),
            })?;
        plugin.source = Source::new(format!(
            "plugin {}@{} (sha256:{})",
            description.name,
            description.version,
            &plugin.digest[..12]
        ));
        plugin.name.clone_from(&description.name);
        plugin.description = description;
        Ok((plugin, lookup))
    }
}

impl Host {
    /// The error of a plugin the compiler refused.
    fn refused(&self, name: &str, path: &Path, wasm: &[u8], refused: Refused) -> PluginError {
        let (name, path) = (name.to_owned(), path.to_owned());
        match refused {
            Refused::Invalid(why) => PluginError::Invalid {
                name,
                path,
                reason: not_a_component(wasm, &why),
            },
            Refused::TimedOut => PluginError::CompileTimeout {
                name,
                path,
                limit: duration(self.compiler.timeout.as_secs_f64() * 1000.0),
            },
            Refused::Memory => PluginError::CompileMemory {
                name,
                path,
                budget: bytes(self.compiler.memory),
            },
            Refused::Failed(reason) => PluginError::Compile { name, path, reason },
        }
    }
}

/// How many functions the core modules of a component hold, all nesting levels counted;
/// `None` when it does not parse (compiling it then says why, in the words of what it is).
fn function_count(bytes: &[u8]) -> Option<u64> {
    let mut functions = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionStart { count, .. } = payload.ok()? {
            functions = functions.saturating_add(u64::from(count));
        }
    }
    Some(functions)
}

/// Why `bytes` did not compile as a component, in the words of what the file is: not
/// WebAssembly, a core module, or a component wasmtime refused (a truncated one, say).
fn not_a_component(bytes: &[u8], error: &str) -> String {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            "it is a core WebAssembly module; a plugin is a component".to_owned()
        }
        Some([0, b'a', b's', b'm', ..]) => first_line(error).to_owned(),
        _ => "it is not WebAssembly at all (it does not start with `\\0asm`)".to_owned(),
    }
}

/// The limits of a manifest, or why one cannot be used.
fn limits_of(name: &str, manifest: &PluginManifest) -> Result<Limits, PluginError> {
    Limits::of(&manifest.limits).map_err(|bad| PluginError::Manifest {
        name: name.to_owned(),
        reason: bad.reason,
        help: bad.help.to_owned(),
    })
}

/// A loaded plugin, ready to be called.
pub struct Plugin {
    name: String,
    digest: String,
    description: Description,
    /// The description as the compiler reads it.
    schema: PluginSchema,
    /// Where its facts come from, for explanations and decision records.
    source: Source,
    engine: Engine,
    pre: bindings::PluginPre<State>,
    access: Access,
    runtime: Arc<tokio::runtime::Runtime>,
    /// Wall time its calls took this run, in nanoseconds.
    spent: AtomicU64,
    /// The wall time its calls may take this run; `None`: no bound beyond each call's.
    budget: Option<Duration>,
    limits: Limits,
    /// Its WebAssembly stack: `limits.stack`, else the host's.
    stack: usize,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// The sha256 of the bytes it was compiled from: the pinned one.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn description(&self) -> &Description {
        &self.description
    }

    /// A store for one call, with this plugin's limits.
    fn store(&self) -> Result<Store<State>, String> {
        let state = self
            .access
            .state(self.limits.memory, self.limits.table_elements)
            .map_err(|e| format!("cannot prepare its sandbox: {e:#}"))?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| format!("cannot set its fuel: {e:#}"))?;
        let ticks = self.limits.timeout.as_nanos().div_ceil(TICK.as_nanos());
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1));
        store.epoch_deadline_trap();
        Ok(store)
    }

    /// Runs `call` in a fresh instance, ended at the time limit whatever it does: the epoch
    /// traps WebAssembly code that runs past it, and the timer abandons a call waiting in a
    /// host function (a sleep, a poll, a socket), dropping its instance.
    fn call<R>(
        &self,
        call: impl AsyncFnOnce(&mut Store<State>, bindings::Plugin) -> wasmtime::Result<R>,
    ) -> Result<R, String> {
        let mut store = self.store()?;
        let limit = self.limits.timeout;
        let call = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            call(&mut store, instance).await
        };
        // The timer is made inside the runtime, whose clock it needs.
        let ran = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, call).await });
        match ran {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(self.failure(&e, &store)),
            Err(_) => Err(format!(
                "was stopped at its time limit of {} (limits.timeout) while waiting in a host \
                 call (sleeping, polling or waiting on I/O){}",
                duration(limit.as_secs_f64() * 1000.0),
                said(&store)
            )),
        }
    }

    fn describe(&self) -> Result<Description, String> {
        let description = self.call(async |store, instance| instance.call_describe(store).await)?;
        let description = Description::from_wit(description);
        self.check_size(description_size(&description))?;
        Ok(description)
    }

    /// Why the plugin may not be called again this run, when its budget is spent.
    fn over_budget(&self) -> Option<String> {
        let budget = self.budget?;
        let spent = Duration::from_nanos(self.spent.load(Ordering::Relaxed));
        (spent >= budget).then(|| {
            format!(
                "was not run: the plugin has used its time budget of {} for this run \
                 (limits.budget), {} in its calls so far",
                duration(budget.as_secs_f64() * 1000.0),
                duration(spent.as_secs_f64() * 1000.0)
            )
        })
    }

    /// One evaluation in a fresh instance. The error is a sentence for an explanation: what
    /// the plugin did and which limit or grant stopped it.
    pub fn evaluate(&self, request: &Request) -> Result<Outcome, String> {
        if let Some(why) = self.over_budget() {
            return Err(why);
        }
        let facts: Vec<wit::Fact> = request
            .facts
            .iter()
            .map(|(path, value)| wit::Fact {
                path: path.clone(),
                value: match value {
                    Ok(json) => wit::FactValue::Present(json.to_string()),
                    Err(why) => wit::FactValue::Absent(why.clone()),
                },
            })
            .collect();
        let wit_request = wit::Request {
            feature: request.feature.clone(),
            target: request.target.clone(),
            config: request.config.to_string(),
            facts,
        };
        let started = Instant::now();
        let returned =
            self.call(async |store, instance| instance.call_evaluate(store, &wit_request).await);
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.spent.fetch_add(took, Ordering::Relaxed);
        let outcome = match returned? {
            Ok(outcome) => outcome,
            Err(message) => {
                self.check_size(message.len())?;
                return Err(format!("reported an error: {}", kept(&message)));
            }
        };
        self.check_size(outcome_size(&outcome))?;
        let mut outputs = Vec::with_capacity(outcome.outputs.len());
        for output in outcome.outputs {
            if !self
                .description
                .outputs
                .iter()
                .any(|o| o.name == output.name)
            {
                return Err(format!(
                    "returned output `{}`, which its description does not declare",
                    output.name
                ));
            }
            let value: Json = serde_json::from_str(&output.value)
                .map_err(|e| format!("returned output `{}` that is not JSON: {e}", output.name))?;
            outputs.push((output.name, value));
        }
        let findings = outcome
            .findings
            .into_iter()
            .map(|f| Finding {
                status: match f.status {
                    wit::Status::Pass => decide::Outcome::Pass,
                    wit::Status::Fail => decide::Outcome::Fail,
                    wit::Status::Inconclusive => decide::Outcome::Inconclusive,
                },
                severity: match f.severity {
                    wit::Severity::Critical => Severity::Critical,
                    wit::Severity::Warning => Severity::Warning,
                    wit::Severity::Info => Severity::Info,
                },
                message: kept(&f.message),
                location: f.location.as_deref().map(kept),
            })
            .collect();
        Ok(Outcome { findings, outputs })
    }

    fn check_size(&self, size: usize) -> Result<(), String> {
        if size > self.limits.output {
            return Err(format!(
                "returned {} of output, over its limit of {} (limits.output)",
                bytes(size as u64),
                bytes(self.limits.output as u64)
            ));
        }
        Ok(())
    }

    /// Says why a call failed, naming the limit or grant involved.
    fn failure(&self, error: &wasmtime::Error, store: &Store<State>) -> String {
        let said = said(store);
        if let Some(trap) = error.downcast_ref::<Trap>() {
            return match trap {
                Trap::Interrupt => format!(
                    "ran past its time limit of {} (limits.timeout)",
                    duration(self.limits.timeout.as_secs_f64() * 1000.0)
                ),
                Trap::OutOfFuel => format!(
                    "ran out of fuel after {} units (limits.fuel)",
                    self.limits.fuel
                ),
                Trap::StackOverflow => format!(
                    "overflowed its WebAssembly stack of {} (limits.stack): recursion too deep",
                    bytes(self.stack as u64)
                ),
                // Compilers for linear memory keep their own stack there: running off its end
                // is the usual way deep recursion ends.
                Trap::MemoryOutOfBounds => format!(
                    "trapped: out-of-bounds memory access (often its own stack overflowing: \
                     recursion too deep){said}"
                ),
                Trap::UnreachableCodeReached => format!("trapped: it panicked or aborted{said}"),
                other => format!("trapped: {other}{said}"),
            };
        }
        let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
        let mentions = |needle: &str| chain.iter().any(|c| c.contains(needle));
        if mentions("forcing a memory growth failure")
            || mentions("forcing trap when growing memory")
        {
            return format!(
                "exceeded its memory limit of {} (limits.memory)",
                bytes(self.limits.memory as u64)
            );
        }
        if mentions("forcing trap when growing table") {
            return format!(
                "exceeded its table limit of {} elements (limits.table_elements)",
                self.limits.table_elements
            );
        }
        let root = error.root_cause().to_string();
        format!("failed: {}{said}", first_line(&root))
    }
}

/// What a failed call wrote to stderr, as the end of its explanation (` (it wrote: …)`), or
/// nothing.
fn said(store: &Store<State>) -> String {
    match wrote(&String::from_utf8_lossy(&store.data().stderr.contents())) {
        Some(text) => format!(" (it wrote: {text})"),
        None => String::new(),
    }
}

/// The most bytes of one string a plugin returned that phasev keeps: each is cut once, when
/// stored, so a check's long message repeated in every requirement that reads it stays small.
const TEXT_KEPT: usize = 1024;

/// The most characters of a plugin's name or version.
const MAX_NAME: usize = 64;

/// The most outputs, reads or configuration keys a plugin may declare.
const MAX_DECLARED: usize = 256;

/// A string a plugin returned, as phasev keeps it: on one line, without control characters,
/// at most [`TEXT_KEPT`] bytes.
fn kept(text: &str) -> String {
    neutral::line(&neutral::capped(text, TEXT_KEPT)).into_owned()
}

/// A plugin name: what phasev.toml can name it by and a terminal shows as it is.
fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A semantic version (semver.org): `MAJOR.MINOR.PATCH`, numbers without leading zeros,
/// then optionally `-pre.release` and `+build` identifiers.
fn is_semver(version: &str) -> bool {
    if version.len() > MAX_NAME {
        return false;
    }
    let identifiers = |text: &str| {
        text.split('.')
            .all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// How much of what a failed plugin wrote an explanation shows, in characters.
const WROTE_SHOWN: usize = 400;

/// What a failed call wrote to stderr, on one line: a Rust panic's location and message,
/// without the standard library's hint about backtraces (a plugin cannot have one), at most
/// [`WROTE_SHOWN`] characters. `None` when it wrote nothing.
fn wrote(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    (!lines.is_empty()).then(|| neutral::line(&bounded(&lines.join(" "), WROTE_SHOWN)).into_owned())
}

/// `text` cut to at most `max` characters, marked with `…` where it was cut.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn description_size(d: &Description) -> usize {
    d.name.len()
        + d.version.len()
        + d.summary.len()
        + d.reads.iter().map(String::len).sum::<usize>()
        + d.outputs
            .iter()
            .map(|o| o.name.len() + o.ty.len() + o.doc.len())
            .sum::<usize>()
        + d.config
            .iter()
            .map(|c| c.name.len() + c.ty.len() + c.doc.len())
            .sum::<usize>()
}

fn outcome_size(o: &wit::Outcome) -> usize {
    o.findings
        .iter()
        .map(|f| 16 + f.message.len() + f.location.as_ref().map_or(0, String::len))
        .sum::<usize>()
        + o.outputs
            .iter()
            .map(|out| out.name.len() + out.value.len())
            .sum::<usize>()
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Every plugin of a project, loaded.
#[derive(Debug)]
pub struct Plugins {
    plugins: BTreeMap<String, Plugin>,
    /// What loading found that the user must hear of (a cache entry that failed
    /// authentication).
    warnings: Vec<String>,
    /// Runs the plugins' engine clock; `None` when the project has no plugins.
    _host: Option<Host>,
}

impl Plugins {
    /// Loads every `[plugins.*]` of the project, compiling them by the executable `program`
    /// finds ([`Compiler::program`]; asked only when there is a plugin); the first that cannot
    /// be loaded is the error.
    pub fn load(
        project: &Project,
        program: impl FnOnce() -> Result<PathBuf, PluginError>,
    ) -> Result<Plugins, PluginError> {
        let mut plugins = BTreeMap::new();
        let mut warnings = Vec::new();
        if project.config.plugins.is_empty() {
            return Ok(Plugins {
                plugins,
                warnings,
                _host: None,
            });
        }
        let host = Host::new(&HostSettings::for_project(project, program()?)?)?;
        let features = u32::try_from(project.config.features.len().max(1)).unwrap_or(u32::MAX);
        for (name, manifest) in &project.config.plugins {
            let (mut plugin, lookup) = host.load(Some(name), manifest, &project.root)?;
            warnings.extend(lookup.warning(name));
            let default = plugin
                .limits
                .timeout
                .saturating_mul(BUDGET_CALLS_PER_FEATURE.saturating_mul(features));
            plugin.budget = Some(plugin.budget.unwrap_or(default));
            plugins.insert(name.clone(), plugin);
        }
        Ok(Plugins {
            plugins,
            warnings,
            _host: Some(host),
        })
    }

    /// What the user must hear of from loading, one line each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The descriptions the compiler checks a policy against.
    pub fn schemas(&self) -> BTreeMap<String, PluginSchema> {
        self.plugins
            .iter()
            .map(|(name, p)| (name.clone(), p.schema.clone()))
            .collect()
    }

    /// Runs every check of `program` whose plugin is loaded, for `feature` on its way to rung
    /// `target`, and sets the check's facts. A check whose plugin is not configured keeps what
    /// facts documents gave it; when nothing did, its outputs are errored, saying so.
    pub fn run_checks(&self, program: &Program, feature: &str, target: u32, facts: &mut Facts) {
        let target_name = program
            .rungs
            .get(target as usize)
            .map_or_else(String::new, |r| r.name.clone());
        let mut found = Vec::new();
        // The failed findings of each check, noted on its outputs for explanations.
        let mut notes = Vec::new();
        for check in &program.checks {
            let Some(plugin) = self.plugins.get(&check.plugin) else {
                let why = format!(
                    "plugin `{}` is not configured ([plugins.{}] in phasev.toml)",
                    check.plugin, check.plugin
                );
                for (path, _) in outputs_read(program, check) {
                    if let Some(slot) = program.slot_index(&path)
                        && facts.get(slot).value == Err(Absent::Missing)
                    {
                        found.push(absent(&path, &why, Source::new("phasev.toml")));
                    }
                }
                continue;
            };
            let request = Request {
                feature: feature.to_owned(),
                target: target_name.clone(),
                config: config_json(program, check),
                facts: check
                    .reads
                    .iter()
                    .filter_map(|&slot| {
                        let info = program.slots.get(slot as usize)?;
                        let value = match &facts.get(slot).value {
                            Ok(v) => Ok(to_json(program, v, &info.ty)),
                            Err(why) => Err(why.to_string()),
                        };
                        Some((info.path.clone(), value))
                    })
                    .collect(),
            };
            // Every reason a check's facts are errored starts by naming the plugin and check.
            let who = format!("plugin `{}` (check `{}`)", plugin.name, check.name);
            let result = plugin
                .evaluate(&request)
                .map_err(|why| format!("{who} {why}"));
            if let Ok(outcome) = &result {
                let failed = failed_findings(&who, outcome);
                if !failed.is_empty() {
                    notes.extend(
                        outputs_read(program, check)
                            .filter_map(|(path, _)| program.slot_index(&path))
                            .map(|slot| (slot, failed.clone())),
                    );
                }
            }
            found.extend(check_facts(program, check, &who, result, &plugin.source));
        }
        apply_found(program, &found, &FactRules::none(), facts);
        for (slot, lines) in notes {
            facts.note(slot, lines);
        }
    }
}

/// How many failed findings of one check an explanation shows.
const FINDINGS_SHOWN: usize = 10;

/// How much of one finding an explanation shows, in characters.
const FINDING_SHOWN: usize = 300;

/// The failed findings of an outcome as lines of an explanation, each naming the plugin and
/// check (`who`), its location and message; at most [`FINDINGS_SHOWN`], then how many more.
fn failed_findings(who: &str, outcome: &Outcome) -> Vec<String> {
    let failed: Vec<&Finding> = outcome
        .findings
        .iter()
        .filter(|f| f.status == decide::Outcome::Fail)
        .collect();
    let mut lines: Vec<String> = failed
        .iter()
        .take(FINDINGS_SHOWN)
        .map(|f| {
            let finding = match &f.location {
                Some(at) => format!("{at}: {}", f.message),
                None => f.message.clone(),
            };
            format!("{who}: {}", bounded(&finding, FINDING_SHOWN))
        })
        .collect();
    if failed.len() > FINDINGS_SHOWN {
        lines.push(format!(
            "{who}: and {} more failed findings",
            failed.len() - FINDINGS_SHOWN
        ));
    }
    lines
}

fn absent(path: &str, why: &str, source: Source) -> Found {
    Found {
        path: path.to_owned(),
        value: Err(Absent::Error(why.to_owned())),
        source,
        at: Some(SystemTime::now()),
    }
}

/// The check's outputs the program reads, with their types.
fn outputs_read<'a>(
    program: &'a Program,
    check: &'a ir::Check,
) -> impl Iterator<Item = (String, &'a Type)> + 'a {
    check
        .outputs
        .iter()
        .map(|(out, ty)| (format!("{}.{out}", check.name), ty))
        .filter(|(path, _)| program.slot_index(path).is_some())
}

/// The check's configuration as the JSON object a plugin is given.
fn config_json(program: &Program, check: &ir::Check) -> Json {
    Json::Object(
        check
            .config
            .iter()
            .map(|(key, c)| {
                let value = crate::value::Value::from_const(c);
                let ty = c.ty().unwrap_or(Type::List(Box::new(Type::String)));
                (key.clone(), to_json(program, &value, &ty))
            })
            .collect(),
    )
}

/// The facts of a check from one evaluation: `passed` (false on a failed finding, errored on
/// an inconclusive one), `findings`, and each described output, errored when the plugin did
/// not return it or returned it in another type than described; on an error, all errored.
/// `who` names the plugin and the check, and starts every reason.
fn check_facts(
    program: &Program,
    check: &ir::Check,
    who: &str,
    result: Result<Outcome, String>,
    source: &Source,
) -> Vec<Found> {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(why) => {
            return outputs_read(program, check)
                .map(|(path, _)| absent(&path, &why, source.clone()))
                .collect();
        }
    };
    let found = |path: String, value: Result<Json, String>| match value {
        Ok(json) => Found {
            path,
            value: Ok(json),
            source: source.clone(),
            at: Some(SystemTime::now()),
        },
        Err(why) => absent(&path, &why, source.clone()),
    };
    let inconclusive: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| f.status == decide::Outcome::Inconclusive)
        .map(|f| f.message.as_str())
        .collect();
    let passed = if outcome
        .findings
        .iter()
        .any(|f| f.status == decide::Outcome::Fail)
    {
        Ok(json!(false))
    } else if inconclusive.is_empty() {
        Ok(json!(true))
    } else {
        Err(format!(
            "{who} is inconclusive: {}",
            inconclusive.join("; ")
        ))
    };
    let mut out = Vec::new();
    for (path, ty) in outputs_read(program, check) {
        let output = &path[check.name.len() + 1..];
        let value = match output {
            "passed" => passed.clone(),
            "findings" => Ok(Json::Array(
                outcome
                    .findings
                    .iter()
                    .map(|f| {
                        json!({
                            "status": f.status,
                            "severity": f.severity.keyword(),
                            "message": f.message,
                            "location": f.location.clone().unwrap_or_default(),
                        })
                    })
                    .collect(),
            )),
            name => match outcome.outputs.iter().find(|(n, _)| n == name) {
                Some((_, value)) => value_of(program, value, ty)
                    .map(|_| value.clone())
                    .map_err(|e| format!("{who} returned output `{name}` of the wrong type: {e}")),
                None => Err(format!("{who} did not return output `{name}`")),
            },
        };
        out.push(found(path, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_plugin_wrote_is_one_bounded_line_without_the_backtrace_hint() {
        let panic = "thread '<unnamed>' (1) panicked at src/lib.rs:3:5:\nno config\n\
                     note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            wrote(panic).as_deref(),
            Some("thread '<unnamed>' (1) panicked at src/lib.rs:3:5: no config")
        );
        assert_eq!(wrote(" \n\n"), None);
        let long = wrote(&"é".repeat(1000)).unwrap_or_default();
        assert_eq!(long.chars().count(), WROTE_SHOWN + 1);
        assert!(long.ends_with("é…"), "{long}");
    }

    #[test]
    fn an_explanation_shows_a_bounded_number_of_failed_findings() {
        let finding = |status, i: usize| Finding {
            status,
            severity: Severity::Critical,
            message: format!("finding {i}"),
            location: (i == 0).then(|| "values.yaml:3".to_owned()),
        };
        let outcome = Outcome {
            findings: (0..13)
                .map(|i| {
                    let status = if i == 1 {
                        decide::Outcome::Pass
                    } else {
                        decide::Outcome::Fail
                    };
                    finding(status, i)
                })
                .collect(),
            outputs: Vec::new(),
        };
        let lines = failed_findings("plugin `p` (check `c`)", &outcome);
        assert_eq!(lines.len(), FINDINGS_SHOWN + 1);
        assert_eq!(lines[0], "plugin `p` (check `c`): values.yaml:3: finding 0");
        assert_eq!(lines[1], "plugin `p` (check `c`): finding 2");
        assert_eq!(
            lines[FINDINGS_SHOWN],
            "plugin `p` (check `c`): and 2 more failed findings"
        );
    }
}
