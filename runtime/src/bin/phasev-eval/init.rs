//! `phasev-eval init`: a new project in the current directory, ready to run: a phasev.toml
//! with one feature and every collector commented, a policy that imports the standard policy
//! and adds a gate, a facts file for what no collector finds, policy tests that pass, and the
//! feature's specs. It never overwrites a file.

use std::path::{Path, PathBuf};

/// Each file `init` writes, relative to the project, and its template.
const FILES: [(&str, &str); 7] = [
    (
        "phasev.toml",
        include_str!("../../../templates/init/phasev.toml"),
    ),
    (
        "policy.phasev",
        include_str!("../../../templates/init/policy.phasev"),
    ),
    (
        "policy.tests.toml",
        include_str!("../../../templates/init/policy.tests.toml"),
    ),
    (
        "facts.toml",
        include_str!("../../../templates/init/facts.toml"),
    ),
    (
        "specs/@FEATURE@/spec.md",
        include_str!("../../../templates/init/spec.md"),
    ),
    (
        "specs/@FEATURE@/plan.md",
        include_str!("../../../templates/init/plan.md"),
    ),
    (
        "specs/@FEATURE@/tasks.md",
        include_str!("../../../templates/init/tasks.md"),
    ),
];

/// Writes the project for `feature` into `dir` and says what to run next; refuses, writing
/// nothing, when the feature name is not one or any of the files exists.
pub fn init(dir: &Path, feature: &str) -> Result<String, String> {
    if !is_feature_name(feature) {
        return Err(format!(
            "`{feature}` is not a feature name: lowercase letters, digits and `-`, starting \
             with a letter"
        ));
    }
    let project = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "project".to_owned());
    // The project's name goes into phasev.toml as a TOML string, escaped.
    let quoted = toml::Value::String(project.clone()).to_string();
    let fill = |text: &str| {
        text.replace("@FEATURE@", feature)
            .replace("@PROJECT@", &quoted)
            .replace("@POLICY@", &policy_name(&project))
    };
    let files: Vec<(PathBuf, String)> = FILES
        .iter()
        .map(|(path, text)| (dir.join(fill(path)), fill(text)))
        .collect();
    // A file there, or something that is not a directory where a directory must be made.
    let mut existing: Vec<String> = Vec::new();
    for (path, _) in &files {
        let taken = std::iter::once(path.as_path())
            .chain(
                path.ancestors()
                    .skip(1)
                    .take_while(|a| *a != dir)
                    .filter(|a| a.symlink_metadata().is_ok_and(|m| !m.is_dir())),
            )
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string());
        for p in taken {
            if !existing.contains(&p) {
                existing.push(p);
            }
        }
    }
    if !existing.is_empty() {
        return Err(format!(
            "not overwriting what is there: {} (init writes a new project; run it in an empty \
             directory)",
            existing.join(", ")
        ));
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(format!(
        "created {}\n\nnext:\n  \
         phasev-eval test policy.tests.toml                      # the policy's tests pass\n  \
         phasev-eval gate --feature {feature} --to local_k8s  # may it climb the first rung?\n  \
         phasev-eval report readiness                            # every feature and its next rung\n",
        FILES
            .iter()
            .map(|(path, _)| fill(path))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn is_feature_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A policy name from the project's: an identifier of lowercase letters, digits and `_`.
fn policy_name(project: &str) -> String {
    let name: String = project
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    match name.chars().next() {
        Some('a'..='z') => name,
        _ => format!("p_{name}"),
    }
}
