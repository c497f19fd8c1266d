//! Embeds every valid policy of the repository (tests/corpus/valid, policies/) as the seeds
//! that `mutate_policy` mutates, so new corpus files are picked up without code changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "phasev") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["tests/corpus/valid", "policies"] {
        let dir = root.join(dir);
        println!("cargo::rerun-if-changed={}", dir.display());
        collect(&dir, &mut files);
    }
    files.sort();
    let mut code = String::from(
        "/// (display name, text) of every seed policy.\npub const SEEDS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("seeds.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::warning=cannot write {}: {e}", out.display());
    }
}
