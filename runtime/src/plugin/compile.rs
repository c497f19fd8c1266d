//! Compiling a plugin in a child process, under a time and a memory budget.
//!
//! Cranelift's time and memory grow with a component's code (400,000 functions took 15.6 s
//! and 3 GB), and neither can be bounded, nor a compilation stopped, from inside the process
//! that runs it. So phasev compiles each plugin in a child process: its own executable, run as
//! `phasev-eval compile-plugin`, which limits its own data (`RLIMIT_DATA`) to the budget, reads
//! the pinned bytes on stdin and writes the compiled code on stdout. At the time limit the
//! child is killed; past the memory budget its allocations fail and it aborts. The parent
//! loads the code only from a child that succeeded, which is phasev itself.
//!
//! ```text
//! parent ─bytes→ stdin │ phasev-eval compile-plugin --stack N --memory M │ stdout ─code→ parent
//!                      │ exit 0: code; 1: not a component (stderr says why); 2: cannot compile
//! ```

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use wasmtime::Engine;

use crate::neutral;

/// The subcommand of `phasev-eval` that compiles one plugin.
pub const SUBCOMMAND: &str = "compile-plugin";

/// How plugins are compiled: by which executable, in how long and with how much memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiler {
    /// The `phasev-eval` executable: the child that compiles is phasev itself.
    pub program: PathBuf,
    /// The longest a compilation may take before its process is killed.
    pub timeout: Duration,
    /// The most data (heap) the compiling process may use, in bytes.
    pub memory: u64,
}

/// How long a plugin may take to compile when `[sandbox] compile_timeout` does not say: a
/// JavaScript plugin takes seconds in a release build, most of a minute in a debug one.
pub const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// The memory a plugin may take to compile when `[sandbox] compile_memory` does not say: a
/// JavaScript plugin (12MiB, 12,700 functions) takes about 400MiB.
pub const DEFAULT_COMPILE_MEMORY: u64 = 2 << 30;

/// The exit status of a child that was given something that is not a component.
const EXIT_INVALID: u8 = 1;

/// The exit status of a child that could not compile for a reason of its own.
const EXIT_FAILED: u8 = 2;

/// The most of a child's stderr the parent keeps.
const STDERR_KEPT: u64 = 64 << 10;

/// The message Rust's runtime prints when an allocation fails, before it aborts.
const ALLOCATION_FAILED: &str = "memory allocation of";

impl Compiler {
    /// Compiles with the default budgets, by `program`.
    pub fn new(program: PathBuf) -> Compiler {
        Compiler {
            program,
            timeout: DEFAULT_COMPILE_TIMEOUT,
            memory: DEFAULT_COMPILE_MEMORY,
        }
    }

    /// The compiled code of `bytes` for an engine with `stack` of WebAssembly stack, made by
    /// a child process within the budgets.
    pub(super) fn compile(&self, stack: usize, bytes: Arc<[u8]>) -> Result<Vec<u8>, Refused> {
        let mut child = Command::new(&self.program)
            .arg(SUBCOMMAND)
            .args(["--stack", &stack.to_string()])
            .args(["--memory", &self.memory.to_string()])
            // phasev-eval's allocator (mimalloc) would otherwise commit a 1GiB arena up
            // front, which the kernel counts as data; committed as used, data is what the
            // process really uses.
            .env("MIMALLOC_ARENA_EAGER_COMMIT", "0")
            // A failed allocation aborts at once, without a backtrace to allocate for.
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Refused::Failed(format!(
                    "cannot start the compiler process {}: {e}",
                    self.program.display()
                ))
            })?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Refused::Failed(
                "the compiler process has no standard streams".to_owned(),
            ));
        };
        let (done, finished) = mpsc::channel();
        let most = self.memory;
        // The streams are served by threads of their own, so the time limit holds however
        // the child behaves (stderr apart, so that much of it cannot block stdout); killing
        // the child closes them and ends the threads.
        let served = std::thread::Builder::new()
            .name("phasev-plugin-compile-stderr".to_owned())
            .spawn(move || {
                let mut said = Vec::new();
                let read = stderr.take(STDERR_KEPT).read_to_end(&mut said);
                match read {
                    Ok(_) => String::from_utf8_lossy(&said).into_owned(),
                    Err(e) => format!("(its stderr could not be read: {e})"),
                }
            })
            .and_then(|said| {
                std::thread::Builder::new()
                    .name("phasev-plugin-compile".to_owned())
                    .spawn(move || {
                        let handed = stdin.write_all(&bytes);
                        drop(stdin);
                        let mut code = Vec::new();
                        let read = stdout.take(most).read_to_end(&mut code);
                        let _ = done.send(Streams {
                            handed,
                            code: read.map(|_| code),
                            said: said
                                .join()
                                .unwrap_or_else(|_| "(its stderr reader failed)".to_owned()),
                        });
                    })
            });
        if let Err(e) = served {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Refused::Failed(format!(
                "cannot start the thread serving the compiler process: {e}"
            )));
        }
        let Ok(streams) = finished.recv_timeout(self.timeout) else {
            // Killed, not abandoned: its memory and threads go with it.
            let _ = child.kill();
            let _ = child.wait();
            return Err(Refused::TimedOut);
        };
        let status = child
            .wait()
            .map_err(|e| Refused::Failed(format!("cannot wait for the compiler process: {e}")))?;
        self.judge(status, streams)
    }

    /// What a finished child's status and streams say.
    fn judge(&self, status: ExitStatus, streams: Streams) -> Result<Vec<u8>, Refused> {
        let said = neutral::line(streams.said.trim());
        let said = said.as_ref();
        if said.contains(ALLOCATION_FAILED) {
            return Err(Refused::Memory);
        }
        match status.code() {
            Some(0) => {
                let code = streams
                    .code
                    .map_err(|e| Refused::Failed(format!("cannot read the compiled code: {e}")))?;
                if code.len() as u64 >= self.memory {
                    return Err(Refused::Failed(format!(
                        "the compiled code is larger than the compile memory budget of {} bytes",
                        self.memory
                    )));
                }
                Ok(code)
            }
            Some(code) if code == i32::from(EXIT_INVALID) => Err(Refused::Invalid(said.to_owned())),
            _ => Err(Refused::Failed(match streams.handed {
                Err(e) => format!("the compiler process ({status}) did not take the plugin: {e}"),
                Ok(()) if said.is_empty() => format!("the compiler process ended: {status}"),
                Ok(()) => format!("the compiler process ended ({status}): {said}"),
            })),
        }
    }
}

/// What the thread serving a child collected.
struct Streams {
    /// Whether the plugin's bytes reached the child.
    handed: std::io::Result<()>,
    /// What it wrote on stdout: the compiled code when it succeeded.
    code: std::io::Result<Vec<u8>>,
    /// What it wrote on stderr.
    said: String,
}

/// Why a plugin was not compiled.
#[derive(Debug)]
pub(super) enum Refused {
    /// It is not a component wasmtime compiles; wasmtime's words.
    Invalid(String),
    /// Compiling took longer than the time limit; the process was killed.
    TimedOut,
    /// Compiling needed more memory than the budget.
    Memory,
    /// The child could not be run, or failed for a reason of its own.
    Failed(String),
}

/// The child's side: compiles the component on stdin for an engine with `stack` of
/// WebAssembly stack, with at most `memory` bytes of data, and writes the code on stdout.
/// Returns the process's exit status; what went wrong is on stderr.
pub fn compile_child(stack: usize, memory: u64) -> u8 {
    match compiled(stack, memory) {
        Ok(()) => 0,
        Err((status, message)) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            status
        }
    }
}

fn compiled(stack: usize, memory: u64) -> Result<(), (u8, String)> {
    let failed = |what: &str, e: &dyn std::fmt::Display| (EXIT_FAILED, format!("{what}: {e}"));
    limit_data(memory).map_err(|e| failed("cannot limit its memory", &e))?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(memory)
        .read_to_end(&mut bytes)
        .map_err(|e| failed("cannot read the plugin", &e))?;
    let engine = Engine::new(&super::engine_config(stack))
        .map_err(|e| failed("cannot make the engine", &format!("{e:#}")))?;
    let code = engine
        .precompile_component(&bytes)
        .map_err(|e| (EXIT_INVALID, format!("{e:#}")))?;
    std::io::stdout()
        .lock()
        .write_all(&code)
        .map_err(|e| failed("cannot write the compiled code", &e))
}

/// Limits the data (heap and other private writable memory) of this process to `memory`
/// bytes: past it, allocations fail.
#[cfg(unix)]
fn limit_data(memory: u64) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let limit = Rlimit {
        current: Some(memory),
        maximum: Some(memory),
    };
    setrlimit(Resource::Data, limit).map_err(std::io::Error::from)
}

/// Without `setrlimit` the time limit is the only bound.
#[cfg(not(unix))]
fn limit_data(_memory: u64) -> std::io::Result<()> {
    Ok(())
}
