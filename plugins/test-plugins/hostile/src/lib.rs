//! Misbehaves in `evaluate` as its `mode` says, so the host's tests can prove each limit and
//! each denial; `describe` behaves unless a granted `describe/mode` file says otherwise. See
//! README.md for the modes.

use std::hint::black_box;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use phasev_plugin_sdk::{Description, Guest, Outcome, Output, Request, Severity, export_plugin};
use serde::Deserialize;

/// Calls this instance has served; phasev's fresh instance per call keeps it at 1.
static CALLS: AtomicU64 = AtomicU64::new(0);

const MODES: &str = "ok, state, loop, memory, recursion, huge-output, many-findings, panic, \
                     trap, env, file, network, clock, undeclared-output, wrong-type-output, \
                     not-json-output, missing-output, sleep, read, hostile-text, hostile-error, \
                     long-error";

/// Text meant to drive a terminal, a CI log and the report formats: escape sequences (clear
/// the screen, retitle the terminal, a C1 CSI), workflow commands at the start of a line, a
/// Markdown table's separator, XML that closes its element, and DEL.
const HOSTILE_TEXT: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}cleared\n::error::forged annotation\n\
                            ::add-mask::secret | a|b <failure>&</testcase>]]> \u{9b}31mred\u{7f}";

#[derive(Deserialize)]
struct Config {
    mode: String,
    /// How deep `recursion` goes; without it, until the stack runs out.
    depth: Option<u64>,
    /// How long `sleep` sleeps (default an hour).
    seconds: Option<u64>,
    /// The file `read` reads.
    path: Option<String>,
    /// How many bytes the `long-error` error has.
    size: Option<u64>,
}

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Description {
        // Granted `describe`, a file there chooses how `describe` misbehaves.
        let mode = std::fs::read_to_string("describe/mode").unwrap_or_default();
        let (name, version, summary) = match mode.trim() {
            "sleep" => {
                std::thread::sleep(Duration::from_secs(3600));
                ("hostile", env!("CARGO_PKG_VERSION"), "slept".to_owned())
            }
            "hostile-summary" => (
                "hostile",
                env!("CARGO_PKG_VERSION"),
                HOSTILE_TEXT.to_owned(),
            ),
            "bad-name" => (
                "hostile\u{1b}]0;owned\u{7}",
                env!("CARGO_PKG_VERSION"),
                String::new(),
            ),
            "bad-version" => ("hostile", "1.0\u{1b}[2J", String::new()),
            _ => (
                "hostile",
                env!("CARGO_PKG_VERSION"),
                "Misbehaves on request to test the host's sandbox".to_owned(),
            ),
        };
        Description::builder(name, version, summary)
            .output(
                "calls",
                "int",
                "Calls this instance has served, this one included",
            )
            .output(
                "observed",
                "list<string>",
                "What a probing mode managed to see (variable names, files, connections, time)",
            )
            .config("mode", "string", true, format!("One of: {MODES}"))
            .config(
                "depth",
                "int",
                false,
                "How deep `recursion` goes (default: until the stack runs out)",
            )
            .config(
                "seconds",
                "int",
                false,
                "How long `sleep` sleeps (default 3600)",
            )
            .config("path", "string", false, "The file `read` reads")
            .config(
                "size",
                "int",
                false,
                "How many bytes the `long-error` error has",
            )
            .build()
    }

    fn evaluate(request: Request) -> Result<Outcome, String> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        let config: Config = request.config()?;
        let mut outcome = Outcome::default();
        let observed = match config.mode.as_str() {
            // Malformed outcomes: each breaks the description's contract in one way.
            "undeclared-output" => {
                outcome.pass("returns an output it does not declare");
                outcome.output("extra", &1)?;
                Vec::new()
            }
            "wrong-type-output" => {
                outcome.pass("returns `calls` as a string");
                outcome.output("calls", "abc")?;
                return Ok(outcome);
            }
            "not-json-output" => {
                outcome.pass("returns `calls` as text that is not JSON");
                outcome.outputs.push(Output {
                    name: "calls".to_owned(),
                    value: "one".to_owned(),
                });
                return Ok(outcome);
            }
            "missing-output" => {
                outcome.pass("returns no output");
                return Ok(outcome);
            }
            "ok" => {
                outcome.pass("behaved");
                Vec::new()
            }
            "state" => {
                if calls == 1 {
                    outcome.pass("first call of this instance");
                } else {
                    outcome.fail(
                        Severity::Critical,
                        format!("state survived: call {calls} of this instance"),
                    );
                }
                Vec::new()
            }
            "loop" => spin(),
            "memory" => hoard(),
            "recursion" => {
                let stop = config.depth.unwrap_or(u64::MAX);
                let folded = descend(0, black_box(stop));
                outcome.pass(format!("recursed {stop} calls deep"));
                vec![folded.to_string()]
            }
            "huge-output" => {
                outcome.pass("x".repeat(1 << 20));
                Vec::new()
            }
            "many-findings" => {
                for i in 0..100_000 {
                    outcome.pass(format!("finding {i}"));
                }
                Vec::new()
            }
            "panic" => panic_on_purpose(),
            "trap" => std::process::abort(),
            "env" => {
                let names: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
                if names.is_empty() {
                    outcome.pass("no environment variable visible");
                } else {
                    let list = names.join(", ");
                    outcome.fail(Severity::Critical, format!("environment visible: {list}"));
                }
                names
            }
            "file" => ["/etc/passwd", "secret.txt"]
                .into_iter()
                .filter_map(|path| match std::fs::read(path) {
                    Ok(bytes) => {
                        outcome.fail(Severity::Critical, format!("read {path}"));
                        Some(format!("{path} ({} bytes)", bytes.len()))
                    }
                    Err(error) => {
                        outcome.pass(format!("reading {path} failed: {error}"));
                        None
                    }
                })
                .collect(),
            "network" => match TcpStream::connect("127.0.0.1:1") {
                Ok(_) => {
                    outcome.fail(Severity::Critical, "connected to 127.0.0.1:1");
                    vec!["127.0.0.1:1".to_owned()]
                }
                Err(error) => {
                    outcome.pass(format!("connecting to 127.0.0.1:1 failed: {error}"));
                    Vec::new()
                }
            },
            "clock" => {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                outcome.pass(format!("the wall clock reads {since_epoch} ms since 1970"));
                vec![since_epoch.to_string()]
            }
            "sleep" => {
                let seconds = config.seconds.unwrap_or(3600);
                std::thread::sleep(Duration::from_secs(seconds));
                outcome.pass(format!("slept {seconds} s"));
                Vec::new()
            }
            "read" => {
                let path = config.path.unwrap_or_default();
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        outcome.fail(Severity::Critical, format!("read {path}"));
                        vec![format!("{path} ({} bytes)", bytes.len())]
                    }
                    Err(error) => {
                        outcome.pass(format!("reading {path} failed: {error}"));
                        Vec::new()
                    }
                }
            }
            "hostile-text" => {
                outcome
                    .fail(Severity::Critical, HOSTILE_TEXT)
                    .at(HOSTILE_TEXT);
                outcome.inconclusive(Severity::Warning, HOSTILE_TEXT);
                vec![HOSTILE_TEXT.to_owned()]
            }
            "hostile-error" => return Err(HOSTILE_TEXT.to_owned()),
            "long-error" => {
                let size = usize::try_from(config.size.unwrap_or(1 << 16)).unwrap_or(usize::MAX);
                return Err("e".repeat(size));
            }
            other => return Err(format!("unknown mode `{other}`; the modes are {MODES}")),
        };
        outcome.output("calls", &calls)?;
        outcome.output("observed", &observed)?;
        Ok(outcome)
    }
}

/// Counts forever; `black_box` keeps the optimiser from proving the loop does nothing.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Allocates 1 MiB chunks and writes to every page of each, until the host stops it.
fn hoard() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for byte in chunk.iter_mut().step_by(4096) {
            *byte = 1;
        }
        chunks.push(black_box(chunk));
    }
}

/// Recurses until the engine's stack runs out. A frame holds only WebAssembly locals (no
/// address is taken, so nothing lives on the shadow stack the guest keeps in its linear
/// memory), the exit test compares with a value the optimiser cannot see, and each result
/// feeds a step that is not associative, so the call can become neither a loop nor a
/// constant.
fn descend(depth: u64, stop: u64) -> u64 {
    if depth == stop {
        return depth;
    }
    descend(depth.wrapping_add(1), stop).rotate_left(7) ^ depth
}

#[allow(
    clippy::panic,
    reason = "the `panic` mode exists to test a guest panic"
)]
fn panic_on_purpose() -> ! {
    panic!("the hostile plugin panics on purpose")
}

export_plugin!(Hostile);
