//! The phasev policy compiler.
//!
//! ```text
//! source ─parse→ ast::Module ─load→ [ast::Module] ─check→ typed::Program ─lower→ ir::Program
//!                                                      └─analyze→ warnings
//! ```
//!
//! | stage   | input                  | output                   | module        |
//! |---------|------------------------|--------------------------|---------------|
//! | parse   | `.phasev` text         | [`ast::Module`]          | [`parser`]    |
//! | load    | root file              | every imported module    | [`load`]      |
//! | check   | modules + [`schema`]   | [`typed::Program`]       | [`check`]     |
//! | analyze | typed program          | warnings                 | [`analyze`]   |
//! | lower   | typed program          | [`ir::Program`]          | [`lower`]     |
//! | fmt     | [`ast::Module`] + text | canonical text           | [`fmt`]       |
//!
//! [`lsp`] serves editors (`phasevc lsp`) from [`check_with`], the same stages minus lowering.

// pest is built without its `std` feature (whose per-call stack probe costs a fifth of the
// parse); its generated code then names `alloc`. `parser::nesting` bounds the recursion instead.
extern crate alloc;
pub mod analyze;
pub mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod ir;
pub mod load;
pub mod lower;
pub mod lsp;
pub mod parser;
pub mod schema;
pub mod source;
pub mod std_library;
pub mod typed;
pub mod types;

use std::path::Path;

use diag::Diagnostics;
use source::SourceMap;

pub use check::Options;

/// Everything one compilation produced: the sources (for rendering diagnostics), every
/// diagnostic, and the program when there were no errors.
#[derive(Debug)]
pub struct Compilation {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
    pub typed: Option<typed::Program>,
    pub program: Option<ir::Program>,
}

impl Compilation {
    /// The diagnostics with their source text attached, sorted by position.
    pub fn rendered_diagnostics(&self) -> Vec<diag::Diagnostic> {
        self.diagnostics
            .clone()
            .sorted()
            .into_iter()
            .map(|d| d.with_sources(&self.sources))
            .collect()
    }
}

/// Compiles the policy rooted at `root`, reading it and its imports from the file system.
pub fn compile_path(root: &Path, options: &Options) -> Compilation {
    compile_with(root, &load::RealFs, options)
}

/// Compiles the policy rooted at `root`, reading files through `fs`.
pub fn compile_with(root: &Path, fs: &dyn load::FileSystem, options: &Options) -> Compilation {
    let (loaded, typed, mut diagnostics) = load_and_check(root, fs, options);
    let load::Loaded {
        sources, modules, ..
    } = loaded;
    let program = typed.as_ref().map(|t| {
        let (warnings, program) = analyze_and_lower(t, &sources, modules);
        diagnostics.extend(warnings);
        program
    });
    Compilation {
        sources,
        diagnostics,
        typed,
        program,
    }
}

/// What an editor needs after each change: every diagnostic `phasevc check` reports, and the
/// syntax trees for navigation. Nothing is lowered.
#[derive(Debug)]
pub struct Checked {
    pub sources: SourceMap,
    /// The files that parsed, root first.
    pub modules: Vec<ast::Module>,
    pub diagnostics: Diagnostics,
    pub typed: Option<typed::Program>,
}

/// Loads, checks and analyses the policy rooted at `root` (the errors and warnings of
/// [`compile_with`], without lowering), keeping the syntax trees.
pub fn check_with(root: &Path, fs: &dyn load::FileSystem, options: &Options) -> Checked {
    let (loaded, typed, mut diagnostics) = load_and_check(root, fs, options);
    if let Some(t) = &typed {
        diagnostics.extend(analyze::analyze(t));
    }
    Checked {
        sources: loaded.sources,
        modules: loaded.modules,
        diagnostics,
        typed,
    }
}

/// The stages every entry point shares: load `root` and its imports, then check them when
/// every file was read and parsed.
fn load_and_check(
    root: &Path,
    fs: &dyn load::FileSystem,
    options: &Options,
) -> (load::Loaded, Option<typed::Program>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let loaded = load::load(root, fs, &mut diagnostics);
    let typed = if loaded.complete {
        check::check(&loaded.modules, options, &mut diagnostics)
    } else {
        None
    };
    (loaded, typed, diagnostics)
}

/// Requirements from which a helper thread analyses beside lowering (both only read the typed
/// program); below it, a thread costs more than it saves.
const PARALLEL_REQUIREMENTS: usize = 1000;

/// Analyses and lowers `t`: a helper thread analyses while this one lowers, then joins in the
/// analysis until both sides have run out of it. The syntax trees are no longer needed; for a
/// large program they are freed on a thread of their own once the rest is done, so the caller
/// does not wait for it (freeing them costs about a fifth of the analysis and lowering).
fn analyze_and_lower(
    t: &typed::Program,
    sources: &SourceMap,
    modules: Vec<ast::Module>,
) -> (Diagnostics, ir::Program) {
    let requirements: usize = t.gates.iter().map(|g| g.requirements.len()).sum();
    if requirements < PARALLEL_REQUIREMENTS {
        drop(modules);
        return (analyze::analyze(t), lower::lower(t, sources));
    }
    let analysis = analyze::Shared::new(t);
    let done = std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("phasev-analyze".to_owned())
            .spawn_scoped(scope, || analysis.work());
        let program = lower::lower(t, sources);
        // Without a helper, this takes every task.
        let mut parts = analysis.work();
        if let Ok(handle) = helper {
            parts.extend(
                handle
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
            );
        }
        (analysis.finish(parts), program)
    });
    // If the thread cannot start, the trees are freed here, as the closure is.
    let _detached = std::thread::Builder::new()
        .name("phasev-free".to_owned())
        .spawn(move || drop(modules));
    done
}
