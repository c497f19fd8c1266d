//! `phasev-eval plugin new` and `plugin inspect`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use phasev_compiler::ir::hex;
use phasev_runtime::config::PluginManifest;
use phasev_runtime::neutral;
use phasev_runtime::plugin::{Host, HostSettings, PluginError, UNREADABLE_FILE_HELP};
use sha2::{Digest, Sha256};

use super::InspectFormat;

/// Loads `file` in the sandbox (no grants, default limits, the default cache of compiled
/// plugins) and prints what it describes.
pub fn inspect(
    file: &Path,
    format: InspectFormat,
    program: PathBuf,
) -> Result<String, PluginError> {
    let bytes = phasev_compiler::load::read_bytes(file).map_err(|e| PluginError::Unreadable {
        name: file.display().to_string(),
        path: file.to_owned(),
        error: e,
        help: UNREADABLE_FILE_HELP.to_owned(),
    })?;
    let digest = hex(&Sha256::digest(&bytes));
    let manifest = PluginManifest {
        path: file.to_owned(),
        sha256: digest.clone(),
        limits: Default::default(),
        grants: Default::default(),
    };
    // Compiled once into the same cache `gate` uses: a large plugin (JavaScript) takes long
    // to compile.
    let host = Host::new(&HostSettings::standalone(256 << 20, program))?;
    let (plugin, lookup) = host.load(None, &manifest, Path::new(""))?;
    let d = plugin.description();
    if let Some(warning) = lookup.warning(&d.name) {
        eprintln!("warning: {warning}");
    }
    Ok(match format {
        InspectFormat::Json => {
            let json = serde_json::json!({
                "file": file.display().to_string(),
                "sha256": digest,
                "description": d,
            });
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        InspectFormat::Toml => neutral::text(&format!(
            "[plugins.{}]\npath = \"{}\"\nsha256 = \"{digest}\"\n",
            d.name,
            file.display()
        ))
        .into_owned(),
        InspectFormat::Text => {
            let mut out = String::new();
            let _ = writeln!(out, "{} {} — {}", d.name, d.version, d.summary);
            let _ = writeln!(out, "file    {}", file.display());
            let _ = writeln!(out, "sha256  {digest}");
            let _ = writeln!(out, "reads   {}", list(d.reads.iter().map(String::as_str)));
            let _ = writeln!(out, "outputs (besides passed and findings)");
            for o in &d.outputs {
                let _ = writeln!(out, "  {}: {} — {}", o.name, o.ty, o.doc);
            }
            if d.outputs.is_empty() {
                let _ = writeln!(out, "  none");
            }
            let _ = writeln!(out, "configuration");
            for c in &d.config {
                let need = if c.required { "required" } else { "optional" };
                let _ = writeln!(out, "  {}: {} ({need}) — {}", c.name, c.ty, c.doc);
            }
            if d.config.is_empty() {
                let _ = writeln!(out, "  none");
            }
            neutral::text(&out).into_owned()
        }
    })
}

/// A path inside a TOML basic string.
fn toml_escaped(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// Where cargo keeps the registry's sources: `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> std::path::PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default()
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

/// Creates `dir/name/`: a plugin crate on the SDK whose check already works (it fails while a
/// unit test fails), to be edited. Returns what was created and how to build it.
pub fn scaffold(name: &str, dir: &Path, sdk: &Path) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(format!(
            "`{name}` is not a plugin name: use lowercase letters, digits and `-`, starting with a letter"
        ));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(format!("{} already exists", root.display()));
    }
    let sdk = sdk
        .canonicalize()
        .map_err(|e| format!("the SDK is not at {}: {e} (pass --sdk)", sdk.display()))?;
    let ident: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let files = [
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"phasev-plugin-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [lib]\ncrate-type = [\"cdylib\"]\n\n\
                 [dependencies]\nphasev-plugin-sdk = {{ path = {:?} }}\n\n\
                 [profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\nstrip = true\npanic = \"abort\"\n\n\
                 # Not part of any enclosing workspace.\n[workspace]\n",
                sdk.display().to_string()
            ),
        ),
        (
            ".cargo/config.toml",
            format!(
                "[build]\ntarget = \"wasm32-wasip2\"\n\
                 # Reproducible: rustc embeds source paths (in panic locations); mapped to fixed\n\
                 # ones, the same sources and Cargo.lock build to the same bytes anywhere.\n\
                 rustflags = [\"--remap-path-prefix={}=/plugin\", \
                 \"--remap-path-prefix={}=/phasev-plugin-sdk\", \
                 \"--remap-path-prefix={}=/cargo\"]\n",
                toml_escaped(&std::path::absolute(&root).unwrap_or_else(|_| root.clone())),
                toml_escaped(&sdk),
                toml_escaped(&cargo_home()),
            ),
        ),
        (
            "src/lib.rs",
            format!(
                r#"//! The `{name}` check for phasev.

use phasev_plugin_sdk::{{Description, Guest, Outcome, Request, Severity, export_plugin}};

struct {ident};

impl Guest for {ident} {{
    fn describe() -> Description {{
        Description::builder("{name}", "0.1.0", "Fails while a unit test fails")
            .reads("tests.unit.failed")
            .output("failed", "int", "How many unit tests failed")
            .build()
    }}

    fn evaluate(request: Request) -> Result<Outcome, String> {{
        let failed: u64 = request.fact("tests.unit.failed")?;
        let mut outcome = Outcome::default();
        if failed == 0 {{
            outcome.pass("every unit test passes");
        }} else {{
            outcome.fail(Severity::Critical, format!("{{failed}} unit tests fail"));
        }}
        outcome.output("failed", &failed)?;
        Ok(outcome)
    }}
}}

export_plugin!({ident});
"#
            ),
        ),
        (
            "README.md",
            format!(
                "# {name}\n\nA phasev check plugin. Build it (needs `rustup target add wasm32-wasip2`):\n\n\
                 ```sh\ncargo build --release\nphasev-eval plugin inspect target/wasm32-wasip2/release/phasev_plugin_{}.wasm --format toml\n```\n\n\
                 Paste the printed `[plugins.{name}]` table into your phasev.toml (with the path \
                 relative to it), then use it in a policy:\n\n\
                 ```\ncheck {} = plugin \"{name}\" {{}}\n```\n",
                name.replace('-', "_"),
                name.replace('-', "_")
            ),
        ),
    ];
    let mut created = String::new();
    for (file, text) in files {
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = writeln!(created, "created {}", path.display());
    }
    let _ = writeln!(
        created,
        "\nbuild it with: cd {} && cargo build --release (then commit Cargo.lock and build with \
         --locked)",
        root.display()
    );
    Ok(created)
}
