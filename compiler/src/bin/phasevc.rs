//! `phasevc`: check, format, compile and explain `.phasev` policies, and serve editors (`lsp`).
//!
//! Exit codes: 0 clean; 1 warnings with `--deny-warnings` (or files to reformat with
//! `fmt --check`); 2 errors in the policy or on the command line.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use phasev_compiler::diag::{self, Code, Diagnostic};
use phasev_compiler::{Compilation, Options, compile_path, fmt, parser, source::SourceMap};

// A compilation allocates and frees a node per token; mimalloc does that faster than the
// system allocator, across the parser's threads too (about 10% of a large compile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "phasevc", version, about = "The phasev policy compiler")]
#[command(after_help = "Exit codes: 0 clean, 1 warnings denied or files to reformat, 2 errors.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check policies and report every error and warning.
    Check {
        /// Root policy files (imports are followed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Rewrite policies in the canonical layout (comments are kept).
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 when a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Compile a policy to its IR.
    Compile {
        file: PathBuf,
        /// Where to write the IR.
        #[arg(short, long)]
        output: PathBuf,
        /// JSON for people, or the compact binary form for pipelines. Without it, the
        /// output's extension decides: `.json` is JSON, anything else binary.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Serve editors: a language server (LSP) over stdin and stdout.
    Lsp {
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Show the long explanation of a diagnostic code, or list all codes.
    Explain {
        /// A code such as `phasev::check::unknown_fact` (or just `unknown_fact`).
        code: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Treat warnings as failures (exit 1).
    #[arg(long)]
    deny_warnings: bool,
    #[command(flatten)]
    plugins: PluginArgs,
}

#[derive(clap::Args, Debug)]
struct PluginArgs {
    /// A plugin's description (`phasev-eval plugin inspect FILE --format json`), so checks of
    /// that plugin are checked against it: configuration, reads and outputs. Repeatable.
    #[arg(long = "plugin", value_name = "DESCRIPTION.json")]
    plugins: Vec<PathBuf>,
}

impl PluginArgs {
    /// The compiler options the `--plugin` descriptions give; an unreadable one is a message.
    fn options(&self) -> Result<Options, String> {
        let mut options = Options::default();
        for file in &self.plugins {
            let text = phasev_compiler::load::read_text(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let (name, schema) = phasev_compiler::check::PluginSchema::from_json(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            options.plugins.insert(name, schema);
        }
        Ok(options)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    Json,
    Bin,
}

impl Emit {
    /// The form to write to `output`: the one asked for, else the one its extension names. A
    /// binary IR in a `.json` file would fool every reader, so that mismatch is refused.
    fn resolve(asked: Option<Emit>, output: &Path) -> Result<Emit, String> {
        let json_name = output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        match (asked, json_name) {
            (Some(Emit::Bin), true) => Err(format!(
                "`{}` ends in `.json` but `--emit bin` writes the binary IR; \
                 name it `.phir`, or write JSON with `--emit json`",
                output.display()
            )),
            (Some(emit), _) => Ok(emit),
            (None, true) => Ok(Emit::Json),
            (None, false) => Ok(Emit::Bin),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { files, report } => check(&files, &report),
        Command::Fmt { files, check } => format_files(&files, check),
        Command::Compile {
            file,
            output,
            emit,
            report,
        } => compile(&file, &output, emit, &report),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Lsp { plugins } => lsp(&plugins),
    };
    ExitCode::from(code)
}

fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Prints the diagnostics of one compilation; returns its exit code.
fn report(compilation: &Compilation, args: &ReportArgs) -> u8 {
    let diags = compilation.rendered_diagnostics();
    match args.format {
        Format::Json => println!("{}", diag::render_json(&diags)),
        Format::Human => eprint!("{}", diag::render_plain(&diags, use_color())),
    }
    exit_for(compilation, args)
}

/// The options of `args`, or exit 2 after saying why they cannot be had.
fn options(args: &PluginArgs) -> Result<Options, u8> {
    args.options().map_err(|e| {
        eprintln!("error: {e}");
        2
    })
}

fn check(files: &[PathBuf], args: &ReportArgs) -> u8 {
    let options = match options(&args.plugins) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let mut worst = 0;
    let mut all = Vec::new();
    for file in files {
        let compilation = compile_path(file, &options);
        match args.format {
            // One JSON array for the whole run.
            Format::Json => {
                all.extend(compilation.rendered_diagnostics());
                worst = worst.max(exit_for(&compilation, args));
            }
            Format::Human => {
                worst = worst.max(report(&compilation, args));
                let line = match &compilation.typed {
                    Some(program) => summary(program, &compilation),
                    None => failed_summary(&compilation),
                };
                println!("{}: {line}", file.display());
            }
        }
    }
    if matches!(args.format, Format::Json) {
        println!("{}", diag::render_json(&all));
    }
    worst
}

/// One line saying what a policy that compiled contains.
fn summary(program: &phasev_compiler::typed::Program, compilation: &Compilation) -> String {
    let requirements: usize = program.gates.iter().map(|g| g.requirements.len()).sum();
    format!(
        "ok, policy `{}`: {}, {}, {}, {}, {}, {}",
        program.name,
        counted(program.rungs.len(), "rung"),
        counted(program.gates.len(), "gate"),
        counted(requirements, "requirement"),
        counted(program.escalations.len(), "escalation"),
        counted(program.checklist.len(), "checklist item"),
        counted(count(compilation, diag::Level::Warning), "warning"),
    )
}

/// One line for a policy that did not compile: how many errors and warnings were printed.
fn failed_summary(compilation: &Compilation) -> String {
    format!(
        "failed, {}, {}",
        counted(count(compilation, diag::Level::Error), "error"),
        counted(count(compilation, diag::Level::Warning), "warning"),
    )
}

fn count(compilation: &Compilation, level: diag::Level) -> usize {
    compilation
        .diagnostics
        .iter()
        .filter(|d| d.level() == level)
        .count()
}

fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn exit_for(compilation: &Compilation, args: &ReportArgs) -> u8 {
    if compilation.diagnostics.has_errors() {
        2
    } else if args.deny_warnings && compilation.diagnostics.has_warnings() {
        1
    } else {
        0
    }
}

fn compile(file: &Path, output: &Path, emit: Option<Emit>, args: &ReportArgs) -> u8 {
    let emit = match Emit::resolve(emit, output) {
        Ok(emit) => emit,
        Err(why) => {
            eprintln!("error: {why}");
            return 2;
        }
    };
    let options = match options(&args.plugins) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let compilation = compile_path(file, &options);
    let code = report(&compilation, args);
    let Some(program) = compilation.program.as_ref().filter(|_| code == 0) else {
        return code.max(1);
    };
    let bytes = match emit {
        Emit::Json => program.to_json().into_bytes(),
        Emit::Bin => program.to_bytes(),
    };
    if let Err(err) = std::fs::write(output, bytes) {
        eprintln!("error: cannot write `{}`: {err}", output.display());
        return 2;
    }
    println!(
        "{} → {} ({})",
        file.display(),
        output.display(),
        program.digest()
    );
    0
}

fn format_files(files: &[PathBuf], check_only: bool) -> u8 {
    let mut code = 0;
    for file in files {
        let text = match phasev_compiler::load::read_text(file) {
            Ok(t) => t,
            Err(err) => {
                eprintln!("error: cannot read `{}`: {err}", file.display());
                code = 2;
                continue;
            }
        };
        let mut sources = SourceMap::new();
        let id = sources.add(file.display().to_string(), text.as_str());
        let module = match parser::parse(id, &text) {
            Ok(m) => m,
            Err(diags) => {
                let diags: Vec<Diagnostic> = diags
                    .into_iter()
                    .map(|d| d.with_sources(&sources))
                    .collect();
                eprint!("{}", diag::render_plain(&diags, use_color()));
                code = 2;
                continue;
            }
        };
        let formatted = fmt::format(&module, &text);
        if formatted == text {
            continue;
        }
        if check_only {
            println!("would reformat {}", file.display());
            code = code.max(1);
        } else if let Err(err) = std::fs::write(file, formatted) {
            eprintln!("error: cannot write `{}`: {err}", file.display());
            code = 2;
        }
    }
    code
}

/// Runs the language server until the client exits; the exit code is LSP's (0 after a
/// `shutdown`, 1 otherwise, 2 when stdin or stdout fails).
fn lsp(plugins: &PluginArgs) -> u8 {
    let options = match options(plugins) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match phasev_compiler::lsp::serve(&mut stdin.lock(), &mut stdout.lock(), options) {
        Ok(phasev_compiler::lsp::Ended::Clean) => 0,
        Ok(phasev_compiler::lsp::Ended::WithoutShutdown) => 1,
        Err(err) => {
            eprintln!("error: phasevc lsp: {err}");
            2
        }
    }
}

fn explain(code: Option<&str>) -> u8 {
    let mut out = std::io::stdout().lock();
    let Some(code) = code else {
        for c in Code::ALL.iter().filter(|c| **c != Code::Note) {
            let _ = writeln!(out, "{:<40} {}", c.as_str(), c.summary());
        }
        return 0;
    };
    match Code::parse(code) {
        Some(c) => {
            let _ = writeln!(
                out,
                "{}: {}\n\n{}",
                c.as_str(),
                c.summary(),
                c.explanation()
            );
            0
        }
        None => {
            eprintln!("error: no diagnostic code `{code}`; run `phasevc explain` to list them");
            2
        }
    }
}
