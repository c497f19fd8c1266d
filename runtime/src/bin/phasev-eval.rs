//! `phasev-eval`: decide whether a feature may climb to the next rung.
//!
//! Exit codes: 0 pass or warn (1 for warn with `--fail-on-warn`), 1 fail, 2 usage or policy
//! error, 3 inconclusive, 4 escalation required.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use phasev_compiler::diag::render_plain;
use phasev_compiler::ir::Program;
use phasev_compiler::{Options, compile_path};
use phasev_runtime::decide::{Decision, Outcome, Verdict};
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Document, Fact, Facts, Source, apply_documents};
use phasev_runtime::value::Value;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Version of the JSON output's shape.
const SCHEMA_VERSION: u32 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "phasev-eval",
    version,
    about = "Decide promotions with a phasev policy"
)]
#[command(
    after_help = "Exit codes: 0 pass or warn, 1 fail (or warn with --fail-on-warn), \
                        2 usage or policy error, 3 inconclusive, 4 escalation required."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decide one feature's promotion to a rung (every gate up to it), from facts files.
    Gate {
        /// The policy: `.phasev` source, or IR from `phasevc compile` (JSON or binary).
        #[arg(long)]
        policy: PathBuf,
        /// Facts documents (JSON, or TOML by extension); later ones win.
        #[arg(long = "facts", required = true)]
        facts: Vec<PathBuf>,
        /// The feature, as named in the facts' `features` table (or any name when the facts
        /// are all shared).
        #[arg(long)]
        feature: String,
        /// The rung to promote to.
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Exit 1 on warn.
        #[arg(long)]
        fail_on_warn: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// For people: every requirement, what it read and why it failed.
    Text,
    /// Versioned JSON with a top-level `verdict`.
    Json,
}

/// Something that stops the run before a decision: exit 2.
struct Stop(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Stop(report)) => {
            let _ = std::io::stderr().write_all(report.as_bytes());
            ExitCode::from(2)
        }
    }
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// A miette report, as the compiler prints its diagnostics.
fn report(err: &dyn miette::Diagnostic) -> Stop {
    let theme = if color() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_links(false);
    if handler.render_report(&mut out, err).is_err() {
        out = format!("error: {err}\n");
    }
    Stop(out)
}

fn usage(message: String, help: String) -> Stop {
    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("{message}")]
    #[diagnostic(code(phasev::eval::usage), help("{help}"))]
    struct Usage {
        message: String,
        help: String,
    }
    report(&Usage { message, help })
}

fn run(cli: Cli) -> Result<u8, Stop> {
    match cli.command {
        Command::Gate {
            policy,
            facts,
            feature,
            to,
            format,
            output,
            fail_on_warn,
        } => {
            let program = load_policy(&policy)?;
            let target = rung_index(&program, &to)?;
            let docs = facts
                .iter()
                .map(|f| Document::read(f))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| report(&e))?;
            let named: Vec<&str> = docs.iter().flat_map(Document::feature_names).collect();
            if !named.is_empty() && !named.contains(&feature.as_str()) {
                return Err(usage(
                    format!("no feature `{feature}` in the facts' `features` tables"),
                    format!("the facts name {}", named.join(", ")),
                ));
            }
            let mut feature_facts = Facts::missing(&program);
            if let Some(slot) = program.slot_index("feature.name") {
                feature_facts.set(
                    slot,
                    Fact {
                        value: Ok(Value::Str(feature.as_str().into())),
                        source: Some(Source::new("--feature")),
                    },
                );
            }
            apply_documents(&program, &docs, &feature, &mut feature_facts)
                .map_err(|e| report(&e))?;
            let decision = Evaluator::new(&program).decide(&feature, &feature_facts, target);
            let text = match format {
                Format::Text => render_text(&decision),
                Format::Json => render_json(&program, &decision),
            };
            write_output(output.as_deref(), &text)?;
            Ok(decision.verdict.exit_code(fail_on_warn))
        }
    }
}

/// Compiles `.phasev` source, or reads IR (JSON when it starts with `{`, else binary).
fn load_policy(path: &Path) -> Result<Program, Stop> {
    if path.extension().is_some_and(|e| e == "phasev") {
        let compilation = compile_path(path, &Options::default());
        let errors: Vec<_> = compilation
            .rendered_diagnostics()
            .into_iter()
            .filter(|d| d.level() == phasev_compiler::diag::Level::Error)
            .collect();
        return match compilation.program {
            Some(program) if errors.is_empty() => Ok(program),
            _ => Err(Stop(render_plain(&errors, color()))),
        };
    }
    let bytes = std::fs::read(path).map_err(|e| {
        usage(
            format!("cannot read the policy {}: {e}", path.display()),
            "pass a `.phasev` file, or IR written by `phasevc compile`".to_owned(),
        )
    })?;
    let program = if bytes.first() == Some(&b'{') {
        Program::from_json(&String::from_utf8_lossy(&bytes))
    } else {
        Program::from_bytes(&bytes)
    };
    program.map_err(|e| report(&e))
}

fn rung_index(program: &Program, name: &str) -> Result<u32, Stop> {
    program
        .rungs
        .iter()
        .position(|r| r.name == name)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| {
            let names: Vec<&str> = program.rungs.iter().map(|r| r.name.as_str()).collect();
            usage(
                format!("`{name}` is not a rung of policy `{}`", program.name),
                format!("the ladder is {}", names.join(" → ")),
            )
        })
}

fn write_output(path: Option<&Path>, text: &str) -> Result<(), Stop> {
    let written = match path {
        Some(path) => std::fs::write(path, text).map_err(|e| (path.display().to_string(), e)),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| ("standard output".to_owned(), e)),
    };
    written.map_err(|(to, e)| {
        usage(
            format!("cannot write the report to {to}: {e}"),
            "check the path and its permissions".to_owned(),
        )
    })
}

fn render_text(decision: &Decision) -> String {
    let mut out = format!(
        "{} → {}: {}\n",
        decision.feature,
        decision.target,
        decision.verdict.as_str().to_uppercase()
    );
    let mut gate = "";
    for req in &decision.requirements {
        if req.gate != gate {
            gate = &req.gate;
            out.push_str(&format!("\n  gate {gate}\n"));
        }
        let mark = match req.outcome {
            Outcome::Pass => "✓",
            Outcome::Fail if req.kind == "warn" => "!",
            Outcome::Fail => "✗",
            Outcome::Inconclusive => "?",
        };
        out.push_str(&format!(
            "  {mark} {} {:?} ({})\n",
            req.kind, req.name, req.severity
        ));
        for why in &req.why {
            out.push_str(&format!("      {why}\n"));
        }
        for cause in &req.undecided_because {
            out.push_str(&format!("      undecided: {cause}\n"));
        }
    }
    for esc in &decision.escalations {
        let state = match esc.fired {
            Some(true) => "FIRED",
            Some(false) => continue,
            None => "undecided",
        };
        out.push_str(&format!("\n  escalation {:?}: {state}\n", esc.title));
        for cause in &esc.undecided_because {
            out.push_str(&format!("      undecided: {cause}\n"));
        }
    }
    let verdict = decision.verdict;
    if verdict != Verdict::Pass {
        out.push_str(&format!("\nverdict: {}\n", verdict.as_str()));
    }
    out
}

/// The JSON report: its shape is versioned by `schema_version`.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    verdict: Verdict,
    policy: JsonPolicy<'a>,
    features: [&'a Decision; 1],
}

#[derive(serde::Serialize)]
struct JsonPolicy<'a> {
    name: &'a str,
    /// sha256 of the compiled IR.
    digest: String,
}

fn render_json(program: &Program, decision: &Decision) -> String {
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        verdict: decision.verdict,
        policy: JsonPolicy {
            name: &program.name,
            digest: program.digest(),
        },
        features: [decision],
    };
    let mut text = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    text.push('\n');
    text
}
