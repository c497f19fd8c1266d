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
//! ```
//!
//! Unknown keys are errors pointing at the key, with a did-you-mean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use phasev_compiler::diag::did_you_mean;
use serde::Deserialize;
use thiserror::Error;

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
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// How long one collector may run, as a duration (`"30s"`).
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

impl Default for Collect {
    fn default() -> Collect {
        Collect {
            timeout: default_timeout(),
        }
    }
}

fn default_timeout() -> String {
    "30s".to_owned()
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
    pub latency_p95: Option<String>,
    pub error_rate: Option<String>,
}

/// A `phasev.toml` that cannot be used.
#[derive(Debug, Error, Diagnostic)]
pub enum ConfigError {
    #[error("cannot read {}: {reason}", file.display())]
    #[diagnostic(
        code(phasev::config::unreadable),
        help("run phasev-eval from the project root, or pass --config PATH")
    )]
    Unreadable { file: PathBuf, reason: String },
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
}

impl Project {
    /// Reads and checks `phasev.toml`.
    pub fn read(file: &Path) -> Result<Project, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Unreadable {
            file: file.to_owned(),
            reason: e.to_string(),
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
        })
    }

    /// A path from the configuration, relative to the project root.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }
}

/// Parses the text of a `phasev.toml`; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| invalid(file, text, &e))?;
    for (name, feature) in &config.features {
        for dep in &feature.depends_on {
            if !config.features.contains_key(dep) {
                let needle = format!("\"{dep}\"");
                let at = text
                    .find(&needle)
                    .map(|i| SourceSpan::new(i.into(), needle.len()));
                return Err(ConfigError::Invalid(Box::new(Invalid {
                    message: format!("feature `{name}` depends on `{dep}`, which is not a feature"),
                    src: NamedSource::new(file.display().to_string(), Arc::from(text)),
                    span: at,
                    label: "not in [features]".to_owned(),
                    help: did_you_mean(dep, config.features.keys().map(String::as_str))
                        .or_else(|| Some(format!("add `[features.{dep}]`"))),
                })));
            }
        }
    }
    Ok(config)
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

fn first_line(text: &str) -> &str {
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
        assert_eq!(config.collect.timeout, "30s");
        assert_eq!(config.features["orders"].stage, "dev");
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
