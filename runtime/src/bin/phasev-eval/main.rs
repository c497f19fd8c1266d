//! `phasev-eval`: decide whether a feature may climb to the next rung.
//!
//! Exit codes: 0 pass or warn (1 for warn with `--fail-on-warn`), 1 fail, 2 usage or policy
//! error, 3 inconclusive, 4 escalation required.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use phasev_compiler::ast::ReqKind;
use phasev_compiler::diag::render_plain;
use phasev_compiler::ir::Program;
use phasev_compiler::{Options, compile_path};
use std::collections::BTreeMap;
use std::sync::Arc;

use phasev_runtime::collect::{deps, docs};
use phasev_runtime::config::Project;
use phasev_runtime::decide::{Decision, Outcome, Verdict, check_gates, check_promotion};
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Absent, Document, Fact, FactRules, Facts, Source, apply_documents};
use phasev_runtime::gather::{Found, apply_found, gather};
use phasev_runtime::neutral;
use phasev_runtime::plugin::{self, Plugins};
use phasev_runtime::policy_test::{self, Suite};
use phasev_runtime::report::{self, Decided, FeatureStatus};
use phasev_runtime::value::{Value, parse_duration};
use serde_json::Value as Json;

mod init;
mod plugin_cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Version of the JSON output's shape.
const SCHEMA_VERSION: u32 = 2;

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
    /// Decide a feature's promotion to a rung (every gate up to it), or with --all every
    /// feature's to its next rung.
    Gate {
        #[command(flatten)]
        inputs: Inputs,
        /// The feature: a `[features]` entry of phasev.toml, or a name in the facts.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        feature: Option<String>,
        /// The rung to promote to.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        to: Option<String>,
        /// Every feature to its next rung, in any format (one document: one JUnit test suite,
        /// one SARIF run, one JSON report); exits with the worst verdict.
        #[arg(long, conflicts_with = "record")]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Exit 1 on warn.
        #[arg(long)]
        fail_on_warn: bool,
        /// Also write a decision record (the policy, every fact read, the decision) for
        /// `phasev-eval replay`.
        #[arg(long)]
        record: Option<PathBuf>,
    },
    /// Why a feature may or may not climb: every requirement with each fact it read, its
    /// value and where it came from.
    Explain {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long)]
        feature: String,
        #[arg(long)]
        to: String,
    },
    /// Re-decide a decision record offline and check the verdict is the same, bit for bit.
    Replay {
        /// A record written by `gate --record`.
        record: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run a policy's tests: cases of facts with the verdicts they must produce.
    Test {
        /// A test file (`*.tests.toml`) naming its policy.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = TestFormat::Text)]
        format: TestFormat,
        /// Write the results here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Also fail when some requirement is never seen both passing and failing.
        #[arg(long)]
        require_coverage: bool,
    },
    /// Compiles the plugin on standard input to standard output: phasev runs itself this way
    /// to compile a plugin in a process of its own, within the compile budgets.
    #[command(name = plugin::COMPILE_SUBCOMMAND, hide = true)]
    CompilePlugin {
        /// The WebAssembly stack of the engine compiled for, in bytes.
        #[arg(long)]
        stack: usize,
        /// The most data the process may use, in bytes.
        #[arg(long)]
        memory: u64,
    },
    /// Start a project in the current directory: phasev.toml with one feature, a policy that
    /// imports the standard policy and adds a gate, a facts file, policy tests and the
    /// feature's specs. Never overwrites a file.
    Init {
        /// The first feature's name.
        #[arg(long, default_value = "service")]
        feature: String,
    },
    /// Write and look at team checks (WebAssembly plugins).
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
    /// Reports over every feature.
    Report {
        #[arg(value_enum)]
        kind: ReportKind,
        #[command(flatten)]
        inputs: Inputs,
        /// Write the report here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PluginAction {
    /// Create a Rust plugin crate that builds with the SDK, ready for `cargo build`.
    New {
        /// The plugin's name (also the crate's directory).
        name: String,
        /// Where to create it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The SDK crate (plugins/sdk of a phasev checkout); default: the one this phasev was
        /// built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Load a plugin in the sandbox and print its description and sha256 (what phasev.toml pins).
    Inspect {
        /// A component (`.wasm`).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
        format: InspectFormat,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum InspectFormat {
    Text,
    Json,
    /// The `[plugins.NAME]` table to paste into phasev.toml.
    Toml,
}

/// Where the policy and the facts come from.
#[derive(clap::Args, Debug)]
struct Inputs {
    /// The project's phasev.toml (default: ./phasev.toml when it exists). Its collectors read
    /// the checkout; facts files are merged over what they find.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The policy: `.phasev` source, or IR from `phasevc compile` (JSON or binary). Default:
    /// the one phasev.toml names.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Facts documents (JSON, or TOML by extension); later ones win.
    #[arg(long = "facts")]
    facts: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TestFormat {
    Text,
    /// JUnit XML: one test case per policy test.
    Junit,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ReportKind {
    /// The Phase Readiness table: every feature against every rung, blockers, readiness.
    Readiness,
    /// The Feature Completeness Checklist of every feature.
    Checklist,
    /// The Deployment Report of every feature, at the environment it is on.
    Deployment,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// For people: every requirement, what it read and why it failed.
    Text,
    /// Versioned JSON with a top-level `verdict`.
    Json,
    /// A Markdown table of requirements and the escalation blocks.
    Markdown,
    /// JUnit XML: a test case per requirement.
    Junit,
    /// SARIF 2.1.0: secret findings at their file and line, failed requirements.
    Sarif,
    /// GitHub Actions annotations.
    Github,
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

/// This executable, which compiles plugins when run as `phasev-eval compile-plugin`.
fn plugin_compiler() -> Result<PathBuf, plugin::PluginError> {
    std::env::current_exe().map_err(|e| plugin::PluginError::Host {
        reason: format!("cannot find the phasev-eval executable, which compiles plugins: {e}"),
    })
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
            inputs,
            feature: None,
            all: true,
            format,
            output,
            fail_on_warn,
            ..
        } => {
            let inputs = Loaded::load(&inputs)?;
            let program = &inputs.program;
            let evaluator = Evaluator::new(program);
            let names = inputs.feature_names();
            if names.is_empty() {
                // Nothing decided must not read as a pass.
                return Err(usage(
                    "--all found no feature to decide".to_owned(),
                    "list features under [features.NAME] in phasev.toml, or give the facts a `features` table"
                        .to_owned(),
                ));
            }
            let mut decided = Vec::new();
            let gathered = inputs.gathered_each(&names)?;
            let root = inputs.project.as_ref().map(|p| p.root.as_path());
            for (name, (facts, found)) in names.into_iter().zip(gathered) {
                let next = known_stage(program, &facts, &found, &name)? + 1;
                if next <= top_rung(program) {
                    check_gates(program, next).map_err(|e| report(&e))?;
                    decided.push(Decided {
                        decision: evaluator.decide(&name, &facts, next),
                        secrets: secret_locations(program, &facts, root),
                    });
                }
            }
            if decided.is_empty() {
                // Nothing to decide is said, never left to read as a silent pass.
                eprintln!(
                    "every feature stands on the top rung, `{}`: there is no promotion to decide",
                    program.rungs.last().map_or("", |r| r.name.as_str())
                );
            }
            write_output(output.as_deref(), &render(format, program, &decided)?)?;
            Ok(worst(&decided).exit_code(fail_on_warn))
        }
        Command::Gate {
            inputs,
            feature,
            to,
            format,
            output,
            fail_on_warn,
            record,
            ..
        } => {
            let (Some(feature), Some(to)) = (feature, to) else {
                return Err(usage(
                    "name a feature and a rung (--feature F --to RUNG), or pass --all".to_owned(),
                    "see phasev-eval gate --help".to_owned(),
                ));
            };
            let inputs = Loaded::load(&inputs)?;
            let target = rung_index(&inputs.program, &to)?;
            let named = inputs.feature_names();
            if !named.is_empty() && !named.contains(&feature) {
                return Err(usage(
                    format!("no feature `{feature}` in phasev.toml or the facts"),
                    format!("the features are {}", named.join(", ")),
                ));
            }
            let (facts, found) = inputs.gathered(&feature, Some(target))?;
            let stage = stage_of(&inputs.program, &facts, &found);
            check_promotion(&inputs.program, &feature, stage, target).map_err(|e| report(&e))?;
            let decision = Evaluator::new(&inputs.program).decide(&feature, &facts, target);
            if let Some(path) = record {
                let rec = phasev_runtime::record::record(&inputs.program, &facts, &decision)
                    .map_err(|e| report(&e))?;
                let text = serde_json::to_string_pretty(&rec).map_err(|source| {
                    report(&phasev_runtime::record::RecordError::Unserialisable {
                        what: "JSON text",
                        source,
                    })
                })?;
                write_output(Some(&path), &(text + "\n"))?;
            }
            let root = inputs.project.as_ref().map(|p| p.root.as_path());
            let verdict = decision.verdict;
            let decided = [Decided {
                secrets: secret_locations(&inputs.program, &facts, root),
                decision,
            }];
            write_output(
                output.as_deref(),
                &render(format, &inputs.program, &decided)?,
            )?;
            Ok(verdict.exit_code(fail_on_warn))
        }
        Command::Explain {
            inputs,
            feature,
            to,
        } => {
            let inputs = Loaded::load(&inputs)?;
            let target = rung_index(&inputs.program, &to)?;
            check_gates(&inputs.program, target).map_err(|e| report(&e))?;
            let facts = inputs.facts_for(&feature, Some(target))?;
            let decision = Evaluator::new(&inputs.program).decide(&feature, &facts, target);
            write_output(None, &neutral::text(&render_explanation(&decision)))?;
            Ok(decision.verdict.exit_code(false))
        }
        Command::Test {
            file,
            format,
            output,
            require_coverage,
        } => {
            let suite = Suite::read(&file).map_err(|e| report(&e))?;
            let dir = file.parent().unwrap_or(Path::new("."));
            let program = load_policy(&dir.join(&suite.policy), &Options::default())?;
            let results = policy_test::run(&program, &suite, &file).map_err(|e| report(&e))?;
            let coverage = policy_test::coverage(&program, &results);
            let partial: Vec<&String> = coverage
                .iter()
                .filter(|(_, seen)| !(seen[0] && seen[1]))
                .map(|(name, _)| name)
                .collect();
            let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
            let text = match format {
                TestFormat::Junit => policy_test::junit(&file.display().to_string(), &results),
                TestFormat::Text => render_tests(&results, &coverage, &partial),
            };
            write_output(output.as_deref(), &text)?;
            Ok(u8::from(
                failed > 0 || (require_coverage && !partial.is_empty()),
            ))
        }
        Command::Replay { record, format } => {
            let (rec, program) = phasev_runtime::record::read(&record).map_err(|e| report(&e))?;
            let Some((decision, same)) = phasev_runtime::record::replay(&program, &rec) else {
                return Err(usage(
                    format!(
                        "the record's target `{}` is not a rung of its policy",
                        rec.target
                    ),
                    "the record is damaged".to_owned(),
                ));
            };
            if !same {
                let now = decision.verdict.as_str();
                let recorded = rec.decision["verdict"].as_str().unwrap_or("unreadable");
                let differs = if now == recorded {
                    format!(
                        "the same verdict ({now}) with different requirement outcomes or explanations"
                    )
                } else {
                    format!("{now}, where the record says {recorded}")
                };
                return Err(usage(
                    format!(
                        "replaying {} → {} gives {differs}",
                        rec.feature, rec.target
                    ),
                    "this build evaluates the policy differently from the one that wrote the record"
                        .to_owned(),
                ));
            }
            let verdict = decision.verdict;
            let text = match format {
                Format::Text => neutral::text(&format!(
                    "replayed {} (policy {}, facts {}): identical\n{}",
                    record.display(),
                    rec.policy_digest,
                    rec.facts_digest,
                    render_text(&decision)
                ))
                .into_owned(),
                other => {
                    let decided = [Decided {
                        decision,
                        secrets: Vec::new(),
                    }];
                    render(other, &program, &decided)?
                }
            };
            write_output(None, &text)?;
            Ok(verdict.exit_code(false))
        }
        Command::CompilePlugin { stack, memory } => Ok(plugin::compile_child(stack, memory)),
        Command::Init { feature } => {
            let next = init::init(Path::new("."), &feature).map_err(|e| {
                usage(
                    e,
                    "run `phasev-eval init` in a new, empty directory (--feature NAME names \
                     the first feature)"
                        .to_owned(),
                )
            })?;
            write_output(None, &next)?;
            Ok(0)
        }
        Command::Plugin { action } => match action {
            PluginAction::New { name, dir, sdk } => {
                let sdk = sdk.unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
                });
                let created = plugin_cli::scaffold(&name, &dir, &sdk)
                    .map_err(|e| usage(e, "choose another name or directory".to_owned()))?;
                write_output(None, &created)?;
                Ok(0)
            }
            PluginAction::Inspect { file, format } => {
                let text =
                    plugin_cli::inspect(&file, format, plugin_compiler().map_err(|e| report(&e))?)
                        .map_err(|e| report(&e))?;
                write_output(None, &text)?;
                Ok(0)
            }
        },
        Command::Report {
            kind,
            inputs,
            output,
        } => {
            let inputs = Loaded::load(&inputs)?;
            let text = match kind {
                ReportKind::Readiness => readiness(&inputs)?,
                ReportKind::Checklist => checklists(&inputs)?,
                ReportKind::Deployment => deployments(&inputs)?,
            };
            write_output(output.as_deref(), &neutral::text(&text))?;
            Ok(0)
        }
    }
}

/// The `[freshness]` limits, in milliseconds.
fn freshness(project: &Project) -> Result<Vec<(String, f64)>, Stop> {
    project
        .config
        .freshness
        .iter()
        .map(|(path, limit)| {
            parse_duration(limit)
                .map(|ms| (path.clone(), ms))
                .ok_or_else(|| {
                    usage(
                        format!(
                            "{}: [freshness] `{path}` = `{limit}` is not a duration",
                            project.file.display()
                        ),
                        "write it with a unit, such as \"24h\"".to_owned(),
                    )
                })
        })
        .collect()
}

/// Every feature's stage in phasev.toml is a rung of the policy.
fn check_stages(project: &Project, program: &Program) -> Result<(), Stop> {
    let rungs = || program.rungs.iter().map(|r| r.name.as_str());
    for (name, feature) in &project.config.features {
        if !rungs().any(|r| r == feature.stage) {
            let ladder: Vec<&str> = rungs().collect();
            return Err(usage(
                format!(
                    "{}: feature `{name}` is on stage `{}`, which is not a rung of policy `{}`",
                    project.file.display(),
                    feature.stage,
                    program.name
                ),
                phasev_compiler::diag::did_you_mean(&feature.stage, rungs())
                    .unwrap_or_else(|| format!("the ladder is {}", ladder.join(" → "))),
            ));
        }
    }
    Ok(())
}

/// The Phase Readiness report: each feature's decision for its next rung, the dependency
/// cycles and the critical path.
fn readiness(inputs: &Loaded) -> Result<String, Stop> {
    let program = &inputs.program;
    let evaluator = Evaluator::new(program);
    let mut rows = Vec::new();
    let names = inputs.feature_names();
    let gathered = inputs.gathered_each(&names)?;
    for (name, (facts, found)) in names.into_iter().zip(gathered) {
        let stage = stage_of(program, &facts, &found);
        let next = match stage.map(|s| s + 1).filter(|n| *n <= top_rung(program)) {
            Some(n) => {
                check_gates(program, n).map_err(|e| report(&e))?;
                Some(evaluator.decide(&name, &facts, n))
            }
            None => None,
        };
        let fact = |path: &str| known(program, &facts, &found, path);
        rows.push(FeatureStatus {
            sdd_stage: fact("feature.sdd_stage")
                .and_then(|v| v.as_str().map(str::to_owned))
                .or_else(|| {
                    docs::sdd_stage(|path| {
                        let v = fact(path)?;
                        v.as_bool().map(i64::from).or_else(|| v.as_i64())
                    })
                    .map(str::to_owned)
                }),
            deadline: fact("feature.deadline").and_then(|v| v.as_str().map(str::to_owned)),
            name,
            stage,
            next,
            blockers: Vec::new(),
        });
    }
    let graph = inputs.dependency_graph(&rows);
    for cycle in deps::cycles(&graph) {
        let text = format!("dependency cycle: {}", cycle.join(" → "));
        for row in rows.iter_mut().filter(|r| cycle.contains(&r.name)) {
            row.blockers.push(text.clone());
        }
    }
    for (name, blockers) in deps::blocked_by(&graph, top_rung(program)) {
        let Some(row) = rows.iter_mut().find(|r| r.name == name) else {
            continue;
        };
        let named: Vec<String> = blockers
            .iter()
            .map(|b| match b.holdup {
                deps::Holdup::Behind(stage) => {
                    let rung = program
                        .rungs
                        .get(stage as usize)
                        .map_or("?", |r| r.name.as_str());
                    format!("{} (at {rung})", b.dependency)
                }
                deps::Holdup::StageUnknown => format!("{} (stage unknown)", b.dependency),
                deps::Holdup::NotAFeature => format!("{} (not a feature)", b.dependency),
            })
            .collect();
        row.blockers
            .push(format!("blocked by {}", named.join(", ")));
    }
    let critical = deps::critical_path(&graph, top_rung(program));
    let project_wide = evaluator.escalations(&inputs.shared_facts(), top_rung(program));
    Ok(report::readiness(
        program,
        &today(),
        &rows,
        &critical,
        &project_wide,
    ))
}

/// The deployment report of every feature, at the rung it stands on.
fn deployments(inputs: &Loaded) -> Result<String, Stop> {
    let program = &inputs.program;
    let evaluator = Evaluator::new(program);
    let mut text = String::new();
    let names = inputs.feature_names();
    let gathered = inputs.gathered_each(&names)?;
    for (name, (facts, found)) in names.into_iter().zip(gathered) {
        let stage = known_stage(program, &facts, &found, &name)?;
        let decision = evaluator.decide(&name, &facts, stage);
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&report::deployment(
            program,
            &facts,
            &decision,
            stage,
            &today(),
        ));
    }
    Ok(text)
}

/// The completeness checklist of every feature, judged at its next rung.
fn checklists(inputs: &Loaded) -> Result<String, Stop> {
    let program = &inputs.program;
    let evaluator = Evaluator::new(program);
    let mut text = String::new();
    let names = inputs.feature_names();
    let gathered = inputs.gathered_each(&names)?;
    for (name, (facts, found)) in names.into_iter().zip(gathered) {
        let target =
            stage_of(program, &facts, &found).map_or(0, |s| (s + 1).min(top_rung(program)));
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&report::checklist(
            &name,
            &evaluator.checklist(&facts, target),
        ));
    }
    Ok(text)
}

/// A fact the collectors found, else the one in its slot (from a facts document), as JSON;
/// `None` when it is not known.
fn known(program: &Program, facts: &Facts, found: &[Found], path: &str) -> Option<Json> {
    if let Some(f) = found.iter().find(|f| f.path == path) {
        return f.value.as_ref().ok().cloned();
    }
    let slot = program.slot_index(path)?;
    let value = facts.get(slot).value.as_ref().ok()?;
    let ty = &program.slots.get(slot as usize)?.ty;
    Some(phasev_runtime::record::to_json(program, value, ty))
}

/// The rung `feature.stage` says the feature is on: its slot when the policy reads it (the
/// facts documents may have set it), else what phasev.toml says.
fn stage_of(program: &Program, facts: &Facts, found: &[Found]) -> Option<u32> {
    let Some(slot) = program.slot_index("feature.stage") else {
        let f = found.iter().find(|f| f.path == "feature.stage")?;
        let name = f.value.as_ref().ok()?.as_str()?;
        let index = program.rungs.iter().position(|r| r.name == name)?;
        return u32::try_from(index).ok();
    };
    match &facts.get(slot).value {
        Ok(Value::Rung(r)) => Some(*r),
        _ => None,
    }
}

/// [`stage_of`], or why it cannot be used.
fn known_stage(program: &Program, facts: &Facts, found: &[Found], name: &str) -> Result<u32, Stop> {
    stage_of(program, facts, found).ok_or_else(|| {
        let slot = program.slot_index("feature.stage");
        // Facts files only fill what the policy reads.
        let help = match slot {
            Some(_) => "give it a `stage` in phasev.toml or `feature.stage` in the facts",
            None => {
                "give it a `stage` in phasev.toml (this policy does not read `feature.stage`, so \
                 facts files cannot set it)"
            }
        };
        // An errored or stale stage says why, whether the policy reads it or only the
        // collectors found it; a missing one needs no more words.
        let stage = match slot {
            Some(slot) => Some(facts.get(slot).value.as_ref().map(|_| ())),
            None => found
                .iter()
                .find(|f| f.path == "feature.stage")
                .map(|f| f.value.as_ref().map(|_| ())),
        };
        let why = match stage {
            Some(Err(why)) if *why != Absent::Missing => format!(": {why}"),
            _ => String::new(),
        };
        usage(
            format!("the stage of feature `{name}` is not known{why}"),
            help.to_owned(),
        )
    })
}

fn top_rung(program: &Program) -> u32 {
    u32::try_from(program.rungs.len().saturating_sub(1)).unwrap_or(0)
}

/// Today, `YYYY-MM-DD` (UTC).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    phasev_runtime::value::date(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// The policy, the project (if any) and the facts documents of one run.
struct Loaded {
    program: Program,
    project: Option<Arc<Project>>,
    /// `[freshness]` and `[project] protect` of phasev.toml (none without a project).
    rules: FactRules,
    docs: Vec<Document>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The project's plugins (none without a project).
    plugins: Option<Plugins>,
}

impl Drop for Loaded {
    /// A collector that timed out may still be blocked (on a command, a slow disk); its
    /// thread cannot be stopped, and dropping a runtime waits for every blocking task. So the
    /// runtime is left to the process's exit, which ends on time.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A feature's facts and everything the collectors found (`Loaded::gathered`).
type Gathered = (Facts, Vec<Found>);

/// The fewest and most features gathered at once (`Loaded::gathered_each`): the cores, within
/// these bounds.
const MIN_WORKERS: usize = 4;
const MAX_WORKERS: usize = 8;

impl Loaded {
    fn load(inputs: &Inputs) -> Result<Loaded, Stop> {
        let config = inputs.config.clone().or_else(|| {
            let default = PathBuf::from("phasev.toml");
            default.is_file().then_some(default)
        });
        let project = match &config {
            Some(file) => Some(Arc::new(Project::read(file).map_err(|e| report(&e))?)),
            None => None,
        };
        let policy = match (&inputs.policy, &project) {
            (Some(p), _) => p.clone(),
            (None, Some(project)) => project.path(&project.config.project.policy),
            (None, None) => {
                return Err(usage(
                    "no policy to evaluate".to_owned(),
                    "pass --policy FILE, or run where a phasev.toml names one (--config)"
                        .to_owned(),
                ));
            }
        };
        let plugins = match &project {
            Some(p) => Some(Plugins::load(p, plugin_compiler).map_err(|e| report(&e))?),
            None => None,
        };
        for warning in plugins.iter().flat_map(Plugins::warnings) {
            eprintln!("warning: {warning}");
        }
        // With a project, every plugin a check may use is one it configures.
        let options = Options {
            plugins: plugins.as_ref().map(Plugins::schemas).unwrap_or_default(),
            all_plugins: project.is_some(),
        };
        let program = load_policy(&policy, &options)?;
        if let Some(project) = &project {
            check_stages(project, &program)?;
            let builtin = phasev_compiler::schema::Schema::builtin().paths();
            let read = program.slots.iter().map(|s| s.path.as_str());
            let paths: Vec<&str> = builtin.chain(read).collect();
            project.check_freshness(&paths).map_err(|e| report(&e))?;
        }
        let mut files: Vec<PathBuf> = project
            .iter()
            .flat_map(|p| p.config.project.facts.iter().map(|f| p.path(f)))
            .collect();
        files.extend(inputs.facts.iter().cloned());
        let docs = files
            .iter()
            .map(|f| Document::read(&program, f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| report(&e))?;
        for doc in &docs {
            for (written, meant) in doc.near_misses() {
                eprintln!(
                    "warning: facts file {}: `{written}` is not a fact path this policy reads; did you mean `{meant}`?",
                    doc.file().display()
                );
            }
            let Some(project) = &project else { continue };
            let features = || project.config.features.keys().map(String::as_str);
            for name in doc.feature_names() {
                if !features().any(|f| f == name) {
                    let hint = phasev_compiler::diag::did_you_mean(name, features())
                        .unwrap_or_else(|| "its facts are not used".to_owned());
                    eprintln!(
                        "warning: facts file {}: `features.{name}` is not a feature of {}; {hint}",
                        doc.file().display(),
                        project.file.display()
                    );
                }
            }
        }
        let runtime = match &project {
            Some(_) => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_time()
                    .build()
                    .map_err(|e| {
                        usage(format!("cannot start the collectors: {e}"), String::new())
                    })?,
            ),
            None => None,
        };
        let rules = match &project {
            Some(p) => FactRules {
                freshness: freshness(p)?,
                protected: p.config.project.protect.clone(),
                now: std::time::SystemTime::now(),
            },
            None => FactRules::none(),
        };
        Ok(Loaded {
            program,
            project,
            rules,
            docs,
            runtime,
            plugins,
        })
    }

    /// The features phasev.toml lists, else those the facts' `features` tables name.
    fn feature_names(&self) -> Vec<String> {
        match &self.project {
            Some(p) => p.config.features.keys().cloned().collect(),
            None => {
                let mut names: Vec<String> = self
                    .docs
                    .iter()
                    .flat_map(Document::feature_names)
                    .map(str::to_owned)
                    .collect();
                names.sort();
                names.dedup();
                names
            }
        }
    }

    /// Each feature's stage and dependencies, from phasev.toml.
    fn dependency_graph(&self, rows: &[FeatureStatus]) -> BTreeMap<String, deps::Node> {
        let depends_on = |name: &str| {
            self.project
                .as_ref()
                .and_then(|p| p.config.features.get(name))
                .map(|f| f.depends_on.clone())
                .unwrap_or_default()
        };
        rows.iter()
            .map(|r| {
                let node = deps::Node {
                    stage: r.stage,
                    depends_on: depends_on(&r.name),
                };
                (r.name.clone(), node)
            })
            .collect()
    }

    /// The facts every feature shares: the facts documents' keys outside `features`.
    fn shared_facts(&self) -> Facts {
        let mut facts = Facts::missing(&self.program);
        apply_documents(&self.program, &self.docs, "", &self.rules, &mut facts);
        facts
    }

    /// One feature's facts: the collectors' (with a project), then the facts documents, then
    /// the plugin checks' (which read the others), run for the feature's way to `target`
    /// (default: the rung after its stage).
    fn facts_for(&self, feature: &str, target: Option<u32>) -> Result<Facts, Stop> {
        self.gathered(feature, target).map(|(facts, _)| facts)
    }

    /// [`Loaded::gathered`] of each feature (default target), in order. Features are gathered
    /// in parallel on a bounded pool of threads: their plugin calls and collectors are
    /// independent and mostly wait (on I/O, or a plugin on its time limit), and a slow plugin
    /// would otherwise cost its time once per feature in a row.
    fn gathered_each(&self, names: &[String]) -> Result<Vec<Gathered>, Stop> {
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(MIN_WORKERS, MAX_WORKERS)
            .min(names.len());
        if workers <= 1 {
            return names.iter().map(|n| self.gathered(n, None)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut results: Vec<(usize, Result<Gathered, Stop>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(name) = names.get(i) else {
                                return done;
                            };
                            done.push((i, self.gathered(name, None)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// [`Loaded::facts_for`], and everything the collectors found, including the facts the
    /// policy does not read (which the reports may show).
    fn gathered(&self, feature: &str, target: Option<u32>) -> Result<(Facts, Vec<Found>), Stop> {
        let program = &self.program;
        let mut facts = Facts::missing(program);
        let mut found = Vec::new();
        match (&self.project, &self.runtime) {
            (Some(project), Some(runtime)) => {
                let timeout = project.config.collect.timeout.0;
                // On a terminal, say what is being collected (the line is cleared after).
                let progress = std::io::stderr().is_terminal();
                if progress {
                    eprint!("\r\x1b[Kcollecting the facts of {feature}…");
                }
                found = runtime.block_on(gather(Arc::clone(project), feature, timeout));
                if progress {
                    eprint!("\r\x1b[K");
                }
                apply_found(program, &found, &self.rules, &mut facts);
            }
            _ => {
                if let Some(slot) = program.slot_index("feature.name") {
                    facts.set(
                        slot,
                        Fact {
                            value: Ok(Value::Str(feature.into())),
                            source: Some(Source::new("--feature")),
                        },
                    );
                }
            }
        }
        for o in apply_documents(program, &self.docs, feature, &self.rules, &mut facts) {
            let file = o.file.display();
            if o.forbidden {
                eprintln!(
                    "warning: facts file {file} may not override `{}`, which {} found ([project] protect); the fact is errored",
                    o.path, o.replaced.0
                );
            } else {
                eprintln!(
                    "warning: facts file {file} overrides `{}`, which {} found",
                    o.path, o.replaced.0
                );
            }
        }
        if let Some(plugins) = &self.plugins {
            let top = top_rung(program);
            let target = target
                .or_else(|| stage_of(program, &facts, &found).map(|s| (s + 1).min(top)))
                .unwrap_or(top);
            plugins.run_checks(program, feature, target, &mut facts);
        }
        Ok((facts, found))
    }
}

/// Compiles `.phasev` source, or reads IR (JSON when it starts with `{`, else binary).
fn load_policy(path: &Path, options: &Options) -> Result<Program, Stop> {
    if path.extension().is_some_and(|e| e == "phasev") {
        let compilation = compile_path(path, options);
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
    let bytes = phasev_compiler::load::read_bytes(path).map_err(|e| {
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
                phasev_compiler::diag::did_you_mean(name, names.iter().copied())
                    .unwrap_or_else(|| format!("the ladder is {}", names.join(" → "))),
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
            format!("cannot write to {to}: {e}"),
            "check the path and its permissions".to_owned(),
        )
    })
}

fn render_tests(
    results: &[policy_test::CaseResult],
    coverage: &BTreeMap<String, [bool; 3]>,
    partial: &[&String],
) -> String {
    let mut out = String::new();
    for r in results {
        let status = if r.failures.is_empty() {
            "ok"
        } else {
            "FAILED"
        };
        out.push_str(&format!("test {} ... {status}\n", r.name));
        for f in &r.failures {
            out.push_str(&format!("    {f}\n"));
        }
    }
    let inconclusive = coverage.values().filter(|s| s[2]).count();
    out.push_str(&format!(
        "\ncoverage: {} requirements, {} seen both passing and failing, {inconclusive} seen inconclusive\n",
        coverage.len(),
        coverage.len() - partial.len()
    ));
    for name in partial {
        out.push_str(&format!("  not seen both passing and failing: {name:?}\n"));
    }
    let failed = results.iter().filter(|r| !r.failures.is_empty()).count();
    out.push_str(&format!(
        "result: {} passed, {failed} failed\n",
        results.len() - failed
    ));
    out
}

/// The decisions in `format`: one after another in text and Markdown, one document in the
/// others.
fn render(format: Format, program: &Program, decided: &[Decided]) -> Result<String, Stop> {
    let each = |one: fn(&Decision) -> String| {
        let parts: Vec<String> = decided.iter().map(|d| one(&d.decision)).collect();
        neutral::text(&parts.join("\n")).into_owned()
    };
    Ok(match format {
        Format::Text => each(render_text),
        Format::Json => render_json(program, decided)?,
        Format::Markdown => each(report::decision_markdown),
        Format::Junit => report::junit(decided.iter().map(|d| &d.decision)),
        Format::Sarif => report::sarif(decided),
        Format::Github => report::github(decided),
    })
}

/// The secret scanner's findings among the facts, for SARIF.
/// The secret findings, each file given from the current directory (the repository root in a
/// pipeline), as code scanning and annotations expect: the scanner reports them from the
/// project `root`.
fn secret_locations(
    program: &Program,
    facts: &Facts,
    root: Option<&Path>,
) -> Vec<report::SecretLocation> {
    let Some(slot) = program.slot_index("secrets.findings") else {
        return Vec::new();
    };
    let Ok(Value::List(items)) = &facts.get(slot).value else {
        return Vec::new();
    };
    // The record's fields in schema order: file, line, rule.
    items
        .iter()
        .filter_map(|item| match item {
            Value::Record(f) => match (f.first(), f.get(1), f.get(2)) {
                (Some(Value::Str(file)), Some(Value::Int(line)), Some(Value::Str(rule))) => {
                    Some(report::SecretLocation {
                        file: match root {
                            Some(root) => from_here(&root.join(&**file)).display().to_string(),
                            None => file.to_string(),
                        },
                        line: u32::try_from(*line).unwrap_or(0),
                        rule: rule.to_string(),
                    })
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `path` relative to the current directory when it is inside it, else absolute.
fn from_here(path: &Path) -> PathBuf {
    let Ok(full) = std::fs::canonicalize(path) else {
        return path.to_owned();
    };
    std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .ok()
        .and_then(|here| full.strip_prefix(here).ok().map(Path::to_path_buf))
        .unwrap_or(full)
}

fn render_explanation(decision: &Decision) -> String {
    let mut out = format!(
        "{} → {}: {}\n",
        decision.feature,
        decision.target,
        decision.verdict.as_str().to_uppercase()
    );
    for req in &decision.requirements {
        out.push_str(&format!(
            "\n{} {:?} ({}, {}): {}\n",
            req.kind,
            req.name,
            req.gate,
            req.severity,
            req.outcome.as_str()
        ));
        render_reads(&req.reads, &mut out);
        for why in req.why.iter().chain(&req.undecided_because) {
            out.push_str(&format!("  because {why}\n"));
        }
    }
    for esc in &decision.escalations {
        out.push_str(&format!(
            "\nescalate {:?} ({}): {}\n",
            esc.title,
            esc.severity,
            match esc.fired {
                Some(true) => "fired: a human decides first",
                Some(false) => "did not fire",
                None => "undecided (it does not fire)",
            }
        ));
        render_reads(&esc.reads, &mut out);
        for why in &esc.undecided_because {
            out.push_str(&format!("  because {why}\n"));
        }
    }
    out
}

/// `read path = value   [source]`, one line per fact read.
fn render_reads(reads: &[phasev_runtime::decide::Read], out: &mut String) {
    for read in reads {
        let source = read.source.as_deref().unwrap_or("nothing supplied it");
        out.push_str(&format!(
            "  read {} = {}   [{source}]\n",
            read.path, read.value
        ));
    }
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
            Outcome::Fail if req.kind == ReqKind::Warn => "!",
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
        match esc.fired {
            Some(true) => {
                out.push('\n');
                out.push_str(&report::escalation_block(esc));
            }
            Some(false) => {}
            None => {
                out.push_str(&format!("\n  escalation {:?}: undecided\n", esc.title));
                for cause in &esc.undecided_because {
                    out.push_str(&format!("      undecided: {cause}\n"));
                }
            }
        }
    }
    out.push_str(&format!("\nverdict: {}\n", decision.verdict.as_str()));
    out
}

/// The JSON report: its shape is versioned by `schema_version`; `verdict` is the worst of the
/// features'.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    verdict: Verdict,
    policy: JsonPolicy<'a>,
    features: Vec<&'a Decision>,
}

#[derive(serde::Serialize)]
struct JsonPolicy<'a> {
    name: &'a str,
    /// sha256 of the compiled IR.
    digest: String,
}

fn render_json(program: &Program, decided: &[Decided]) -> Result<String, Stop> {
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        verdict: worst(decided),
        policy: JsonPolicy {
            name: &program.name,
            digest: program.digest(),
        },
        features: decided.iter().map(|d| &d.decision).collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| {
        usage(
            format!("cannot write the JSON report: {e}"),
            "this is a bug in phasev: please report it with the policy and facts".to_owned(),
        )
    })?;
    text.push('\n');
    Ok(text)
}

/// The worst verdict of the decisions; pass when there are none.
fn worst(decided: &[Decided]) -> Verdict {
    decided
        .iter()
        .map(|d| d.decision.verdict)
        .max()
        .unwrap_or(Verdict::Pass)
}
