//! `phasev.toml`: the project, its features, and where each collector reads.
//!
//! ```toml
//! [project]
//! name = "shop"
//! policy = "policies/phase-v.phasev"   # relative to this file, like every path here
//!
//! [tests]                               # JUnit globs per kind; {feature} is the feature's name
//! unit = ["reports/{feature}/unit/*.xml"]
//! e2e = ["reports/{feature}/e2e/*.xml"]
//!
//! [features.orders]
//! stage = "local_k8s"
//! owner = "team-orders"
//! depends_on = ["payments"]
//! budget = { latency_p95 = "250ms", error_rate = "0.1%" }
//! deadline = 2026-12-01
//! sdd_stage = "green"                   # optional: derived from specs/ and unit tests
//! ```
//!
//! Unknown keys are errors pointing at the key, with a did-you-mean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use miette::{Diagnostic, NamedSource, SourceSpan};
use phasev_compiler::diag::did_you_mean;
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::collect::docs::SDD_STAGES;
use crate::plugin::{Limits, STACK_HELP, grant_outside, stack_size};
use crate::value::{parse_duration, parse_percent};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub project: ProjectInfo,
    #[serde(default)]
    pub collect: Collect,
    #[serde(default)]
    pub docs: Docs,
    #[serde(default)]
    pub tests: Tests,
    #[serde(default)]
    pub helm: Helm,
    #[serde(default)]
    pub secrets: Secrets,
    #[serde(default)]
    pub cloud: Cloud,
    #[serde(default)]
    pub change: Change,
    #[serde(default)]
    pub baseline: Baseline,
    /// Freshness limits: a fact path or namespace (`tests`, `metrics.latency_p95`) and how old
    /// what it was read from may be (`"24h"`); older facts are stale.
    #[serde(default)]
    pub freshness: BTreeMap<String, String>,
    #[serde(default)]
    pub features: BTreeMap<String, Feature>,
    /// Team checks: WebAssembly components, each pinned by digest, by the name policies use
    /// (`check pci = plugin "pci-scan" { … }` runs `[plugins.pci-scan]`).
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginManifest>,
    #[serde(default)]
    pub sandbox: Sandbox,
}

/// `[plugins.<name>]`: where a plugin is, its digest, its limits and what it may touch.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// The component (`.wasm`), relative to this file.
    pub path: PathBuf,
    /// The component's sha256, hex; a file with any other digest is refused.
    pub sha256: String,
    #[serde(default)]
    pub limits: PluginLimits,
    #[serde(default)]
    pub grants: Grants,
}

/// What one call of a plugin may use; past any limit the call stops and the check's outputs
/// are inconclusive.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Wall time per call (`"1s"`).
    #[serde(default = "default_plugin_timeout")]
    pub timeout: String,
    /// WebAssembly instructions per call (roughly): a deterministic bound beside the wall time.
    #[serde(default = "default_fuel")]
    pub fuel: u64,
    /// Linear memory (`"64MiB"`).
    #[serde(default = "default_plugin_memory")]
    pub memory: String,
    /// Elements of each of the plugin's tables (at most 200000, what the host's pool gives a
    /// table).
    #[serde(default = "default_table_elements")]
    pub table_elements: u32,
    /// The size of what one call returns: messages, locations and outputs (`"1MiB"`).
    #[serde(default = "default_plugin_output")]
    pub output: String,
    /// The WebAssembly stack (`"256KiB"`); by default `[sandbox] stack`.
    #[serde(default)]
    pub stack: Option<String>,
    /// Wall time all its calls may take in one run (`"30s"`); by default four calls' time
    /// limit per feature. Past it, its remaining checks are inconclusive.
    #[serde(default)]
    pub budget: Option<String>,
}

impl Default for PluginLimits {
    fn default() -> PluginLimits {
        PluginLimits {
            timeout: default_plugin_timeout(),
            fuel: default_fuel(),
            memory: default_plugin_memory(),
            table_elements: default_table_elements(),
            output: default_plugin_output(),
            stack: None,
            budget: None,
        }
    }
}

fn default_plugin_timeout() -> String {
    "1s".to_owned()
}

fn default_fuel() -> u64 {
    1_000_000_000
}

fn default_plugin_memory() -> String {
    "64MiB".to_owned()
}

fn default_table_elements() -> u32 {
    20_000
}

fn default_plugin_output() -> String {
    "1MiB".to_owned()
}

/// What a plugin may touch beyond its inputs. Nothing by default: no files, environment,
/// clocks or network.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Directories it may read, relative to this file; it sees each at the same relative path.
    #[serde(default)]
    pub read: Vec<PathBuf>,
    /// Environment variables it may read (those set when phasev runs).
    #[serde(default)]
    pub env: Vec<String>,
    /// The wall and monotonic clocks.
    #[serde(default)]
    pub clocks: bool,
    /// Outgoing TCP/UDP and name lookup.
    #[serde(default)]
    pub network: bool,
}

/// `[sandbox]`: settings of the plugin host shared by every plugin.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// Where compiled plugins are kept between runs, relative to this file but outside the
    /// project (a cache inside it is refused); by default `$PHASEV_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/phasev/plugins`, else `~/.cache/phasev/plugins`.
    pub cache: Option<PathBuf>,
    /// The WebAssembly stack of a plugin that sets no `limits.stack` (`"512KiB"`).
    pub stack: Option<String>,
    /// The largest plugin file phasev compiles (`"32MiB"`, the default).
    pub max_plugin_size: Option<String>,
    /// The longest phasev waits for a plugin to compile (`"120s"`, the default).
    pub compile_timeout: Option<TimeLimit>,
    /// The most functions a plugin may hold (100000, the default): compiling takes memory
    /// in proportion to them.
    pub max_plugin_functions: Option<u64>,
    /// The most memory compiling one plugin may take (`"2GiB"`, the default).
    pub compile_memory: Option<String>,
    /// The most the compiled plugins may take on disk (`"1GiB"`, the default); past it, the
    /// least recently used are removed.
    pub cache_size: Option<String>,
}

/// The `[project]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectInfo {
    pub name: String,
    /// The policy, `.phasev` source or compiled IR.
    pub policy: PathBuf,
    /// Facts documents merged over what the collectors found.
    #[serde(default)]
    pub facts: Vec<PathBuf>,
    /// Fact paths or namespaces a facts document may not override once a collector found
    /// them (the override makes the fact errored); `[]` allows every override.
    #[serde(default = "default_protect")]
    pub protect: Vec<String>,
}

/// A facts file saying `secrets.findings = []` must not hide what the scanner found.
fn default_protect() -> Vec<String> {
    vec!["secrets".to_owned()]
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// How long one collector may run (`"30s"`, the default).
    #[serde(default = "default_timeout")]
    pub timeout: TimeLimit,
}

impl Default for Collect {
    fn default() -> Collect {
        Collect {
            timeout: default_timeout(),
        }
    }
}

fn default_timeout() -> TimeLimit {
    TimeLimit(Duration::from_secs(30))
}

/// A time limit as phasev.toml writes it (`"30s"`, `"2m"`), read once, when the file is: one
/// that is not a duration above zero is an error at its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeLimit(pub Duration);

impl<'de> Deserialize<'de> for TimeLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TimeLimit, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .map(|ms| TimeLimit(Duration::from_secs_f64(ms / 1000.0)))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a duration above zero (\"30s\", \"2m\")"
                ))
            })
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    /// Where `<feature>/spec.md`, `plan.md` and `tasks.md` live.
    #[serde(default = "default_specs")]
    pub specs: PathBuf,
}

impl Default for Docs {
    fn default() -> Docs {
        Docs {
            specs: default_specs(),
        }
    }
}

fn default_specs() -> PathBuf {
    PathBuf::from("specs")
}

/// JUnit XML globs per kind of test; `{feature}` stands for the feature's name.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    #[serde(default)]
    pub unit: Vec<String>,
    #[serde(default)]
    pub integration: Vec<String>,
    #[serde(default)]
    pub contract: Vec<String>,
    #[serde(default)]
    pub e2e: Vec<String>,
}

impl Tests {
    /// `(kind, globs)` for each kind of test.
    pub fn kinds(&self) -> [(&'static str, &[String]); 4] {
        [
            ("unit", &self.unit),
            ("integration", &self.integration),
            ("contract", &self.contract),
            ("e2e", &self.e2e),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Helm {
    /// The Phase IV base chart that feature charts must reuse.
    pub base: Option<PathBuf>,
    /// A `helm lint` output file per feature (`{feature}` is its name).
    pub lint: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// Files and directories to scan per feature (`{feature}` is its name).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Globs, relative to the project, of files and directories under those paths accepted
    /// unscanned (`**/*.png`, `services/*/testdata/**`); a file not scanned for any other
    /// reason makes `secrets.findings` an error.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// The change under review: files changed against a base ref, classified by globs.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The ref the change is compared with (`origin/main`); without it there are no
    /// `change.*` facts.
    pub base: Option<String>,
    /// Which changed files belong to a feature (`services/{feature}/**`); all of them when empty.
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub security_sensitive: Vec<String>,
    #[serde(default)]
    pub contract_altering: Vec<String>,
}

/// Where the decision records of each feature are kept (`phasev-eval gate --record`); the
/// newest passing one supplies the `baseline.*` facts.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// A directory of records per feature (`records/{feature}`).
    pub records: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cloud {
    /// A cloud CLI's quota usage listing (JSON); `{feature}` is the feature's name.
    pub quota: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// The rung the feature is on now.
    pub stage: String,
    /// Its stage of spec-driven development (`spec` … `refactor`); derived from its
    /// documents and unit tests when not given.
    pub sdd_stage: Option<Spanned<String>>,
    pub owner: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub budget: Budget,
    pub deadline: Option<toml::value::Datetime>,
    /// The feature's Helm chart directory.
    pub chart: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub latency_p95: Option<Spanned<String>>,
    pub error_rate: Option<Spanned<String>>,
}

/// A `phasev.toml` that cannot be used.
#[derive(Debug, Error, Diagnostic)]
pub enum ConfigError {
    #[error("cannot read {}: {error}", file.display())]
    #[diagnostic(
        code(phasev::config::unreadable),
        help("run phasev-eval from the project root, or pass --config PATH")
    )]
    Unreadable {
        file: PathBuf,
        /// Why, as the system said it (kept whole for callers that ask which error).
        error: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<Invalid>),
}

/// A key or value of `phasev.toml` that is wrong, with the span to point at.
#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(phasev::config::invalid))]
pub struct Invalid {
    pub message: String,
    #[source_code]
    src: NamedSource<Arc<str>>,
    #[label("{label}")]
    span: Option<SourceSpan>,
    label: String,
    #[help]
    pub help: Option<String>,
}

/// A loaded configuration and the directory its paths are relative to.
#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub config: Config,
    pub root: PathBuf,
    pub file: PathBuf,
    /// The text of `phasev.toml`, for errors found once the policy is known.
    text: Arc<str>,
}

impl Project {
    /// Reads and checks `phasev.toml`.
    pub fn read(file: &Path) -> Result<Project, ConfigError> {
        let text = phasev_compiler::load::read_text(file).map_err(|e| ConfigError::Unreadable {
            file: file.to_owned(),
            error: e,
        })?;
        let config = parse(file, &text)?;
        let root = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(Project {
            config,
            root,
            file: file.to_owned(),
            text: Arc::from(text),
        })
    }

    /// Checks that every `[freshness]` key is a fact path or a namespace of `paths` (every
    /// fact the policy may read): a misspelt key would limit nothing, so it is an error at the
    /// key, with a did-you-mean.
    pub fn check_freshness(&self, paths: &[&str]) -> Result<(), ConfigError> {
        for key in self.config.freshness.keys() {
            let covered = |path: &str| {
                path.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            };
            if paths.iter().any(|p| covered(p)) {
                continue;
            }
            // Namespaces as well as whole paths, so `metrcs` finds `metrics`.
            let names: std::collections::BTreeSet<&str> = paths
                .iter()
                .copied()
                .flat_map(|p| p.match_indices('.').map(|(i, _)| &p[..i]).chain([p]))
                .collect();
            return Err(ConfigError::Invalid(Box::new(Invalid {
                message: format!(
                    "{}: [freshness] `{key}` is not a fact or namespace of the policy",
                    self.file.display()
                ),
                src: NamedSource::new(self.file.display().to_string(), Arc::clone(&self.text)),
                span: key_span(&self.text, &["freshness", key]),
                label: "unknown fact".to_owned(),
                help: did_you_mean(key, names.iter().copied()).or_else(|| {
                    Some(
                        "name a fact (`metrics.latency_p95`) or a namespace (`metrics`)".to_owned(),
                    )
                }),
            })));
        }
        Ok(())
    }

    /// A path from the configuration, relative to the project root.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }
}

/// Parses the text of a `phasev.toml`; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| invalid(file, text, &e))?;
    let wrong = |span: Option<SourceSpan>, message: String, label: &str, help: Option<String>| {
        ConfigError::Invalid(Box::new(Invalid {
            message,
            src: NamedSource::new(file.display().to_string(), Arc::from(text)),
            span,
            label: label.to_owned(),
            help,
        }))
    };
    let at = |value: &Spanned<String>| Some(SourceSpan::from(value.span()));
    for (name, feature) in &config.features {
        for dep in &feature.depends_on {
            if !config.features.contains_key(dep) {
                let needle = format!("\"{dep}\"");
                let span = text
                    .find(&needle)
                    .map(|i| SourceSpan::new(i.into(), needle.len()));
                return Err(wrong(
                    span,
                    format!("feature `{name}` depends on `{dep}`, which is not a feature"),
                    "not in [features]",
                    did_you_mean(dep, config.features.keys().map(String::as_str))
                        .or_else(|| Some(format!("add `[features.{dep}]`"))),
                ));
            }
        }
        if let Some(stage) = &feature.sdd_stage
            && !SDD_STAGES.contains(&stage.get_ref().as_str())
        {
            return Err(wrong(
                at(stage),
                format!(
                    "feature `{name}` has sdd_stage `{}`, which is not a stage of spec-driven development",
                    stage.get_ref()
                ),
                "not an SDD stage",
                did_you_mean(stage.get_ref(), SDD_STAGES.iter().copied())
                    .or_else(|| Some(format!("the stages are {}", SDD_STAGES.join(", ")))),
            ));
        }
        if let Some(latency) = &feature.budget.latency_p95
            && parse_duration(latency.get_ref()).is_none()
        {
            return Err(wrong(
                at(latency),
                format!(
                    "feature `{name}` has a latency budget `{}` that is not a duration",
                    latency.get_ref()
                ),
                "not a duration",
                Some("write a number with a unit: \"250ms\", \"1.5s\"".to_owned()),
            ));
        }
        if let Some(rate) = &feature.budget.error_rate
            && parse_percent(rate.get_ref()).is_none()
        {
            return Err(wrong(
                at(rate),
                format!(
                    "feature `{name}` has an error-rate budget `{}` that is not a percentage",
                    rate.get_ref()
                ),
                "not a percentage",
                Some("write a number with `%`: \"0.1%\"".to_owned()),
            ));
        }
    }
    check_plugins(file, text, &config)?;
    Ok(config)
}

/// Checks each plugin's limits and the `[sandbox]` stack, pointing at the value that cannot
/// be used.
fn check_plugins(file: &Path, text: &str, config: &Config) -> Result<(), ConfigError> {
    let wrong = |path: &[&str], message: String, help: &str| {
        ConfigError::Invalid(Box::new(Invalid {
            message,
            src: NamedSource::new(file.display().to_string(), Arc::from(text)),
            span: value_span(text, path),
            label: "this limit".to_owned(),
            help: Some(help.to_owned()),
        }))
    };
    // Grants are relative to the directory of phasev.toml, the project's root.
    let root = file.parent().unwrap_or(Path::new(""));
    for (name, manifest) in &config.plugins {
        if let Err(bad) = Limits::of(&manifest.limits) {
            return Err(wrong(
                &["plugins", name, "limits", bad.key],
                format!("[plugins.{name}] {}", bad.reason),
                bad.help,
            ));
        }
        for (i, dir) in manifest.grants.read.iter().enumerate() {
            if let Some(why) = grant_outside(root, dir) {
                return Err(ConfigError::Invalid(Box::new(Invalid {
                    message: format!("[plugins.{name}] {why}"),
                    src: NamedSource::new(file.display().to_string(), Arc::from(text)),
                    span: item_span(text, &["plugins", name, "grants", "read"], i),
                    label: "outside the project".to_owned(),
                    help: Some(GRANT_HELP.to_owned()),
                })));
            }
        }
    }
    if let Some(stack) = &config.sandbox.stack
        && let Err(what) = stack_size(stack)
    {
        return Err(wrong(
            &["sandbox", "stack"],
            format!("[sandbox] stack = \"{stack}\" is not {what}"),
            STACK_HELP,
        ));
    }
    Ok(())
}

/// What a `grants.read` entry should be, for one refused.
const GRANT_HELP: &str = "name a directory inside the project, relative to phasev.toml \
                          (\"charts\"); a symlink in it must not lead out";

/// Where item `index` of the array at `path` is written.
fn item_span(text: &str, path: &[&str], index: usize) -> Option<SourceSpan> {
    with_entry(text, path, |_, value| match value.get_ref() {
        toml::de::DeValue::Array(items) => Some(items.get(index)?.span().into()),
        _ => None,
    })
}

/// Where the value at `path` (keys from the top, through tables, inline or not) is written.
fn value_span(text: &str, path: &[&str]) -> Option<SourceSpan> {
    entry_spans(text, path).map(|(_, value)| value)
}

/// Where the last key of `path` is written.
fn key_span(text: &str, path: &[&str]) -> Option<SourceSpan> {
    entry_spans(text, path).map(|(key, _)| key)
}

/// The spans of the key and the value at `path`.
fn entry_spans(text: &str, path: &[&str]) -> Option<(SourceSpan, SourceSpan)> {
    with_entry(text, path, |key, value| {
        Some((key.span().into(), value.span().into()))
    })
}

/// `found` applied to the key and the value at `path` (keys from the top, through tables).
fn with_entry<T>(
    text: &str,
    path: &[&str],
    found: impl FnOnce(
        &toml::Spanned<toml::de::DeString<'_>>,
        &toml::Spanned<toml::de::DeValue<'_>>,
    ) -> Option<T>,
) -> Option<T> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let (last, tables) = path.split_last()?;
    let mut table = document.get_ref();
    for key in tables {
        match table.get(*key)?.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => return None,
        }
    }
    let (key, value) = table.get_key_value(*last)?;
    found(key, value)
}

fn invalid(file: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim().to_owned();
    // serde names an unknown key and lists the known ones: turn that into a did-you-mean.
    let help = unknown_field(&message).and_then(|(unknown, expected)| {
        did_you_mean(unknown, expected.iter().copied())
            .or_else(|| Some(format!("the keys here are {}", expected.join(", "))))
    });
    let label = if message.starts_with("unknown field") {
        "unknown key"
    } else {
        "here"
    };
    ConfigError::Invalid(Box::new(Invalid {
        message: format!(
            "{} is not a valid phasev.toml: {}",
            file.display(),
            first_line(&message)
        ),
        src: NamedSource::new(file.display().to_string(), Arc::from(text)),
        span: err.span().map(|r| SourceSpan::new(r.start.into(), r.len())),
        label: label.to_owned(),
        help,
    }))
}

/// A size such as `"64MiB"`, `"512KiB"`, `"1GiB"` or `"4096"` (bytes), in bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// The first line of a message.
pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// `unknown field `x`, expected one of `a`, `b`` as `("x", ["a", "b"])`.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).collect::<Vec<_>>();
    Some((unknown, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Option<(String, Option<String>)> {
        match parse(Path::new("phasev.toml"), text) {
            Err(ConfigError::Invalid(e)) => Some((e.message, e.help)),
            _ => None,
        }
    }

    /// `[collect] timeout` is read once, with the file: a value that is no duration above zero
    /// is an error pointing at it, before anything is collected.
    #[test]
    fn a_collect_timeout_that_is_no_duration_is_an_error_at_it() {
        for bad in ["soon", "0s", "-5s"] {
            let text = format!(
                "[project]\nname = \"shop\"\npolicy = \"p.phasev\"\n[collect]\ntimeout = \"{bad}\"\n"
            );
            let Err(ConfigError::Invalid(invalid)) = parse(Path::new("phasev.toml"), &text) else {
                unreachable!("{bad} was accepted")
            };
            assert_eq!(
                invalid.message,
                format!(
                    "phasev.toml is not a valid phasev.toml: `{bad}` is not a duration above zero (\"30s\", \"2m\")"
                )
            );
            let start = text.find(&format!("\"{bad}\"")).unwrap_or_default();
            assert_eq!(invalid.span.map(|s| s.offset()), Some(start), "{bad}");
        }
    }

    #[test]
    fn a_minimal_config_parses_with_defaults() {
        let config = parse(
            Path::new("phasev.toml"),
            "[project]\nname = \"shop\"\npolicy = \"p.phasev\"\n[features.orders]\nstage = \"dev\"\n",
        );
        let Ok(config) = config else {
            unreachable!("{config:?}")
        };
        assert_eq!(config.docs.specs, PathBuf::from("specs"));
        assert_eq!(config.collect.timeout, TimeLimit(Duration::from_secs(30)));
        assert_eq!(config.features["orders"].stage, "dev");
    }

    #[test]
    fn a_misspelt_freshness_key_is_an_error_at_the_key_with_a_did_you_mean() {
        let text = "[project]\nname = \"shop\"\npolicy = \"p.phasev\"\n\
                    [freshness]\ntests = \"24h\"\n\"metrics.latency_p95\" = \"1h\"\nmetrcs = \"1s\"\n";
        let Ok(config) = parse(Path::new("phasev.toml"), text) else {
            unreachable!("the configuration parses")
        };
        let project = Project {
            config,
            root: PathBuf::from("."),
            file: PathBuf::from("phasev.toml"),
            text: Arc::from(text),
        };
        let paths = [
            "metrics.latency_p95",
            "metrics.error_rate",
            "tests.unit.total",
        ];
        let Err(ConfigError::Invalid(e)) = project.check_freshness(&paths) else {
            unreachable!("`metrcs` is not a namespace")
        };
        assert_eq!(
            e.message,
            "phasev.toml: [freshness] `metrcs` is not a fact or namespace of the policy"
        );
        assert_eq!(e.help.as_deref(), Some("did you mean `metrics`?"));
        let at = text.find("metrcs").unwrap_or_default();
        assert_eq!(e.span, Some(SourceSpan::new(at.into(), "metrcs".len())));
        let known = ["metrics.latency_p95", "metrcs.x", "tests.unit.total"];
        assert!(project.check_freshness(&known).is_ok());
    }

    #[test]
    fn unknown_keys_are_errors_with_a_did_you_mean() {
        let (message, help) = error(
            "[project]\nname = \"shop\"\npolicy = \"p.phasev\"\n[features.orders]\nstagee = \"dev\"\n",
        )
        .unwrap_or_default();
        assert!(message.contains("unknown field `stagee`"), "{message}");
        assert_eq!(help.as_deref(), Some("did you mean `stage`?"));
        let (_, help) =
            error("[project]\nname = \"shop\"\npolicy = \"p\"\n[testz]\n").unwrap_or_default();
        assert_eq!(help.as_deref(), Some("did you mean `tests`?"));
    }

    #[test]
    fn budgets_and_sdd_stages_are_checked_where_they_are_written() {
        let feature = |extra: &str| {
            format!(
                "[project]\nname = \"s\"\npolicy = \"p\"\n[features.a]\nstage = \"x\"\n{extra}\n"
            )
        };
        let (message, help) =
            error(&feature("budget = { latency_p95 = \"fast\" }")).unwrap_or_default();
        assert_eq!(
            message,
            "feature `a` has a latency budget `fast` that is not a duration"
        );
        assert!(help.unwrap_or_default().contains("\"250ms\""));
        let (message, _) = error(&feature("budget = { error_rate = \"0.1\" }")).unwrap_or_default();
        assert_eq!(
            message,
            "feature `a` has an error-rate budget `0.1` that is not a percentage"
        );
        let (message, help) = error(&feature("sdd_stage = \"gren\"")).unwrap_or_default();
        assert_eq!(
            message,
            "feature `a` has sdd_stage `gren`, which is not a stage of spec-driven development"
        );
        assert_eq!(help.as_deref(), Some("did you mean `green`?"));
        let Err(ConfigError::Invalid(e)) =
            parse(Path::new("phasev.toml"), &feature("sdd_stage = \"gren\""))
        else {
            unreachable!()
        };
        let text = feature("sdd_stage = \"gren\"");
        let span = e.span.unwrap_or_else(|| SourceSpan::new(0.into(), 0));
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "\"gren\"");
        assert!(parse(Path::new("phasev.toml"), &feature("sdd_stage = \"refactor\"\nbudget = { latency_p95 = \"1.5s\", error_rate = \"0.1%\" }")).is_ok());
    }

    #[test]
    fn plugin_limits_that_cannot_work_are_errors_at_their_value() {
        let project = |plugin: &str| {
            format!(
                "[project]\nname = \"s\"\npolicy = \"p\"\n[plugins.tls]\npath = \"t.wasm\"\n\
                 sha256 = \"ab\"\n{plugin}\n"
            )
        };
        let refused = |text: &str| match parse(Path::new("phasev.toml"), text) {
            Err(ConfigError::Invalid(e)) => {
                let span = e.span.unwrap_or_else(|| SourceSpan::new(0.into(), 0));
                let at = text[span.offset()..span.offset() + span.len()].to_owned();
                (e.message, at, e.help.unwrap_or_default())
            }
            other => unreachable!("{other:?}"),
        };
        let (message, at, help) = refused(&project("limits = { fuel = 0 }"));
        assert_eq!(
            message,
            "[plugins.tls] limits.fuel = 0 is not a positive number of units (every call would \
             run out at once)"
        );
        assert_eq!(at, "0");
        assert!(help.contains("1000000000"), "{help}");
        let (message, at, _) = refused(&project("[plugins.tls.limits]\ntable_elements = 250000"));
        assert_eq!(
            message,
            "[plugins.tls] limits.table_elements = 250000 is not at most 200000, the most \
             elements the plugin host gives a table"
        );
        assert_eq!(at, "250000");
        let (message, at, _) = refused(&project("limits.timeout = \"0s\""));
        assert_eq!(
            message,
            "[plugins.tls] limits.timeout = \"0s\" is not a duration of at least 1ms"
        );
        assert_eq!(at, "\"0s\"");
        let (message, at, help) = refused(&project("limits = { stack = \"8MiB\" }"));
        assert_eq!(
            message,
            "[plugins.tls] limits.stack = \"8MiB\" is not a size between 16KiB and 1MiB"
        );
        assert_eq!(at, "\"8MiB\"");
        assert!(help.contains("stacks of the host's"), "{help}");
        let (message, at, _) = refused(&project("[sandbox]\nstack = \"1KiB\""));
        assert_eq!(
            message,
            "[sandbox] stack = \"1KiB\" is not a size between 16KiB and 1MiB"
        );
        assert_eq!(at, "\"1KiB\"");
        assert!(
            parse(
                Path::new("phasev.toml"),
                &project("limits = { fuel = 1, table_elements = 200000, stack = \"1MiB\" }")
            )
            .is_ok()
        );
    }

    #[test]
    fn dependencies_must_be_features() {
        let (message, help) = error(
            "[project]\nname = \"s\"\npolicy = \"p\"\n[features.a]\nstage = \"x\"\ndepends_on = [\"paymnts\"]\n[features.payments]\nstage = \"x\"\n",
        )
        .unwrap_or_default();
        assert_eq!(
            message,
            "feature `a` depends on `paymnts`, which is not a feature"
        );
        assert_eq!(help.as_deref(), Some("did you mean `payments`?"));
    }
}
