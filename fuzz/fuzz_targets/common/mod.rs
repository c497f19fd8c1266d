//! What both fuzz targets do with a policy: run the whole front end from memory and every
//! consumer of its output that a user can reach (diagnostic rendering, IR encoders, fmt).

use std::path::Path;

use phasev_compiler::ast::FileId;
use phasev_compiler::load::MemoryFs;
use phasev_compiler::{Options, compile_with, diag, fmt, parser};

/// The root file's name; imports resolve relative to `fuzz/`.
pub const ROOT: &str = "fuzz/root.phasev";

/// Compiles `root` with `extra` files beside it (`fuzz/<name>`), renders every diagnostic,
/// and when a program comes out, encodes it; when the root parses, formats it.
pub fn front_end(root: &str, extra: &[(&str, &str)]) {
    let mut fs = MemoryFs::new().with(ROOT, root);
    for (name, text) in extra {
        fs = fs.with(Path::new("fuzz").join(name), *text);
    }
    let compilation = compile_with(Path::new(ROOT), &fs, &Options::default());
    let diags = compilation.rendered_diagnostics();
    std::hint::black_box(diag::render_plain(&diags, false));
    std::hint::black_box(diag::render_json(&diags));
    if let Some(program) = &compilation.program {
        std::hint::black_box(program.to_json());
        std::hint::black_box(program.to_bytes());
        std::hint::black_box(program.digest());
    }
    if let Ok(module) = parser::parse(FileId(0), root) {
        std::hint::black_box(fmt::format(&module, root));
    }
}

/// The expression parser on its own.
pub fn expr(text: &str) {
    if let Err(diags) = parser::parse_expr(FileId(0), text) {
        std::hint::black_box(diags.len());
    }
}
