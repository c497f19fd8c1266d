//! A feature's Helm chart: does it exist, does it reuse the Phase IV base chart (as a
//! dependency) or copy it, and what lint finds.
//!
//! - **Reuse**: `Chart.yaml` lists the base chart as a dependency, by name or by a `file://`
//!   repository that resolves to the base chart's directory. A chart whose templates are
//!   byte-for-byte (modulo whitespace) copies of the base chart's is a **copy**, which the Phase V
//!   process forbids ("never rewritten from scratch").
//! - **Lint**: the counts of `[ERROR]` and `[WARNING]` lines of a `helm lint` output file (or of
//!   running `helm lint` when no file is configured and helm is installed), plus
//!   built-in checks, each an error. Without a lint (the file does not exist, or no file is
//!   configured and helm is not installed) the lint facts are missing: the built-in checks
//!   alone never stand in for one. The built-in checks: `Chart.yaml` without `apiVersion`, `name` or `version`, an
//!   unparsable `values.yaml`, values that break the chart's `values.schema.json` (JSON
//!   Schema, as `helm install` checks them; each violation names its path), and an image
//!   tagged `latest` or not tagged at all (a promotion must be reproducible). An image whose
//!   `tag` is empty or absent takes the chart's `appVersion`, as `helm create`'s templates do.
//!   An empty lint output is refused: `helm lint --quiet` prints nothing for a clean chart,
//!   which cannot be told from a lint that never ran.
//!
//! YAML is read with `serde_yaml_ng`, the maintained fork of `serde_yaml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value as Yaml;

/// How the chart relates to the base chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// The base chart is a dependency.
    DependsOnBase,
    /// These templates are copies of the base chart's.
    CopyOfBase(Vec<String>),
    /// Neither.
    Independent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartReport {
    pub exists: bool,
    pub reuse: Reuse,
    /// Built-in checks; each counts as a lint error.
    pub errors: Vec<Finding>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HelmError {
    #[error("cannot read {}: {error}", file.display())]
    #[diagnostic(code(phasev::collect::helm::unreadable))]
    Unreadable {
        file: PathBuf,
        /// Why, as the system said it (kept whole for callers that ask which error).
        error: std::io::Error,
    },
    #[error("cannot read {}: cannot run helm: {error}", chart.display())]
    #[diagnostic(code(phasev::collect::helm::unreadable))]
    CannotRun {
        chart: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is not `helm lint` output: no `chart(s) linted` summary", file.display())]
    #[diagnostic(
        code(phasev::collect::helm::not_lint_output),
        help(
            "save the output of `helm lint CHART` to the file, without --quiet (an empty output cannot be told from a lint that never ran)"
        )
    )]
    NotLintOutput { file: PathBuf },
}

fn read(file: &Path) -> Result<Option<String>, HelmError> {
    match phasev_compiler::load::read_text(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HelmError::Unreadable {
            file: file.to_owned(),
            error: e,
        }),
    }
}

/// Inspects the chart in `dir` against the base chart in `base`.
pub fn inspect_chart(dir: &Path, base: Option<&Path>) -> Result<ChartReport, HelmError> {
    let Some(chart_text) = read(&dir.join("Chart.yaml"))? else {
        return Ok(ChartReport {
            exists: false,
            reuse: Reuse::Independent,
            errors: Vec::new(),
        });
    };
    let mut errors = Vec::new();
    let (chart, parsed) = match serde_yaml_ng::from_str(&chart_text) {
        Ok(y) => (y, true),
        Err(e) => {
            errors.push(finding("Chart.yaml", format!("not valid YAML: {e}")));
            (Yaml::Null, false)
        }
    };
    // A file that does not parse has no fields to miss.
    for field in ["apiVersion", "name", "version"]
        .into_iter()
        .filter(|_| parsed)
    {
        if chart
            .get(field)
            .and_then(Yaml::as_str)
            .is_none_or(str::is_empty)
        {
            errors.push(finding(
                "Chart.yaml",
                format!("required field `{field}` is missing"),
            ));
        }
    }
    let values = match read(&dir.join("values.yaml"))? {
        Some(text) => match serde_yaml_ng::from_str::<Yaml>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(finding("values.yaml", format!("not valid YAML: {e}")));
                None
            }
        },
        // No values file is no values.
        None => Some(Yaml::Null),
    };
    if let Some(values) = &values {
        let app_version = chart.get("appVersion").and_then(scalar);
        image_tags(values, "", app_version.as_deref(), &mut errors);
        if let Some(schema) = read(&dir.join("values.schema.json"))? {
            check_schema(&schema, values, &mut errors);
        }
    }
    let reuse = match base {
        Some(base) => reuse(dir, &chart, base)?,
        None => Reuse::Independent,
    };
    Ok(ChartReport {
        exists: true,
        reuse,
        errors,
    })
}

fn finding(file: &str, message: String) -> Finding {
    Finding {
        file: file.to_owned(),
        message,
    }
}

fn reuse(dir: &Path, chart: &Yaml, base: &Path) -> Result<Reuse, HelmError> {
    let base_chart: Option<Yaml> =
        read(&base.join("Chart.yaml"))?.and_then(|t| serde_yaml_ng::from_str(&t).ok());
    let base_name = base_chart
        .as_ref()
        .and_then(|c| c.get("name"))
        .and_then(Yaml::as_str);
    let base_dir = std::fs::canonicalize(base).ok();
    let depends = chart
        .get("dependencies")
        .and_then(Yaml::as_sequence)
        .into_iter()
        .flatten()
        .any(|dep| {
            let by_name = dep.get("name").and_then(Yaml::as_str).is_some()
                && dep.get("name").and_then(Yaml::as_str) == base_name;
            let by_path = dep
                .get("repository")
                .and_then(Yaml::as_str)
                .and_then(|r| r.strip_prefix("file://"))
                .and_then(|p| std::fs::canonicalize(dir.join(p)).ok())
                .is_some_and(|p| Some(p) == base_dir);
            by_name || by_path
        });
    if depends {
        return Ok(Reuse::DependsOnBase);
    }
    let base_templates = templates(&base.join("templates"))?;
    let copied: Vec<String> = templates(&dir.join("templates"))?
        .into_iter()
        .filter(|(_, body)| !body.is_empty() && base_templates.iter().any(|(_, b)| b == body))
        .map(|(name, _)| name)
        .collect();
    Ok(if copied.is_empty() {
        Reuse::Independent
    } else {
        Reuse::CopyOfBase(copied)
    })
}

/// Template names and their contents with whitespace removed, sorted by name.
fn templates(dir: &Path) -> Result<Vec<(String, String)>, HelmError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let names: BTreeSet<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    for path in names {
        if let Some(text) = read(&path)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, text.split_whitespace().collect()));
        }
    }
    Ok(out)
}

/// Violations of the chart's values schema (`values.schema.json`, JSON Schema), one finding
/// each, at the path of the offending value.
fn check_schema(schema: &str, values: &Yaml, errors: &mut Vec<Finding>) {
    let schema: serde_json::Value = match serde_json::from_str(schema) {
        Ok(s) => s,
        Err(e) => {
            errors.push(finding(
                "values.schema.json",
                format!("not valid JSON: {e}"),
            ));
            return;
        }
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => {
            errors.push(finding(
                "values.schema.json",
                format!("not a valid JSON Schema: {e}"),
            ));
            return;
        }
    };
    // Helm reads an empty values file as no values: an empty object.
    let values = match values {
        Yaml::Null => serde_json::Value::Object(serde_json::Map::new()),
        v => match serde_json::to_value(v) {
            Ok(json) => json,
            Err(e) => {
                errors.push(finding(
                    "values.yaml",
                    format!("cannot be read as JSON: {e}"),
                ));
                return;
            }
        },
    };
    for violation in validator.iter_errors(&values) {
        let path = violation.instance_path().to_string();
        let at = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        errors.push(finding(
            "values.yaml",
            format!("`{at}` breaks values.schema.json: {violation}"),
        ));
    }
}

/// A scalar as text (`appVersion: 1.16` is a number to YAML).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Images tagged `latest` or not tagged, anywhere in the values; `app_version` is the tag an
/// image without one gets.
fn image_tags(values: &Yaml, at: &str, app_version: Option<&str>, errors: &mut Vec<Finding>) {
    match values {
        Yaml::Mapping(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or_default();
                let here = if at.is_empty() {
                    key.to_owned()
                } else {
                    format!("{at}.{key}")
                };
                if key == "image" {
                    check_image(value, &here, app_version, errors);
                }
                image_tags(value, &here, app_version, errors);
            }
        }
        Yaml::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                image_tags(item, &format!("{at}[{i}]"), app_version, errors);
            }
        }
        _ => {}
    }
}

fn check_image(image: &Yaml, at: &str, app_version: Option<&str>, errors: &mut Vec<Finding>) {
    let tag = match image {
        // `image: repo/name:tag` (a `:` after the last `/`)
        Yaml::String(s) => {
            let last = s.rsplit('/').next().unwrap_or(s);
            if s.contains('@') {
                return;
            }
            last.split_once(':').map(|(_, t)| t.to_owned())
        }
        Yaml::Mapping(_) => {
            if image.get("digest").is_some() {
                return;
            }
            let tag = image.get("tag").map(|t| match t {
                Yaml::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            });
            match tag.as_deref() {
                None | Some("") => match app_version {
                    Some("latest") => {
                        errors.push(finding(
                            "values.yaml",
                            format!("`{at}` has no tag, and the chart's appVersion is `latest`"),
                        ));
                        return;
                    }
                    Some(version) => Some(version.to_owned()),
                    None => {
                        errors.push(finding(
                            "values.yaml",
                            format!("`{at}` has no tag, and the chart has no appVersion"),
                        ));
                        return;
                    }
                },
                Some(_) => tag,
            }
        }
        _ => return,
    };
    match tag.as_deref() {
        Some("latest") => errors.push(finding(
            "values.yaml",
            format!("`{at}` uses the `latest` tag"),
        )),
        None | Some("") => errors.push(finding("values.yaml", format!("`{at}` has no tag"))),
        Some(_) => {}
    }
}

/// What `helm lint` found for a chart, or why nothing linted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lint {
    /// `[ERROR]` and `[WARNING]` lines, and where they were read (the saved output, or
    /// `helm lint` run here).
    Counts {
        errors: usize,
        warnings: usize,
        from: PathBuf,
    },
    /// Nothing linted the chart: the reason, and what to do about it. The built-in checks
    /// never stand in for a lint, so the lint facts are missing.
    NotLinted(String),
}

/// The lint of the chart in `chart`: the saved output `saved` (a configured file), else
/// `helm lint` when helm is installed.
pub fn lint(saved: Option<&Path>, chart: &Path) -> Result<Lint, HelmError> {
    let counts = |(errors, warnings), from: &Path| Lint::Counts {
        errors,
        warnings,
        from: from.to_owned(),
    };
    match saved {
        Some(file) => Ok(match lint_counts(file)? {
            Some(c) => counts(c, file),
            None => Lint::NotLinted(format!(
                "{} does not exist: save the output of `helm lint {}` there",
                file.display(),
                chart.display()
            )),
        }),
        None => Ok(match run_lint(chart)? {
            Some(c) => counts(c, Path::new("helm lint")),
            None => Lint::NotLinted(
                "helm is not installed, and phasev.toml names no saved lint output ([helm] lint)"
                    .to_owned(),
            ),
        }),
    }
}

/// `(errors, warnings)` in a `helm lint` output file.
pub fn lint_counts(file: &Path) -> Result<Option<(usize, usize)>, HelmError> {
    let Some(text) = read(file)? else {
        return Ok(None);
    };
    count_lint(&text)
        .map(Some)
        .ok_or_else(|| HelmError::NotLintOutput {
            file: file.to_owned(),
        })
}

/// `(errors, warnings)` in `helm lint` output; `None` when it is not lint output (an empty
/// text among it: see the module docs).
fn count_lint(text: &str) -> Option<(usize, usize)> {
    if !text.contains("chart(s) linted") {
        return None;
    }
    let count = |tag: &str| {
        text.lines()
            .filter(|l| l.trim_start().starts_with(tag))
            .count()
    };
    Some((count("[ERROR]"), count("[WARNING]")))
}

/// Runs `helm lint DIR` when helm is installed: `Ok(None)` when it is not.
fn run_lint(dir: &Path) -> Result<Option<(usize, usize)>, HelmError> {
    let output = match std::process::Command::new("helm")
        .arg("lint")
        .arg(dir)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(HelmError::CannotRun {
                chart: dir.to_owned(),
                error: e,
            });
        }
    };
    // helm lint exits 1 when it finds errors; its report is on stdout either way.
    let text = String::from_utf8_lossy(&output.stdout);
    count_lint(&text)
        .map(Some)
        .ok_or_else(|| HelmError::NotLintOutput {
            file: PathBuf::from(format!("the output of `helm lint {}`", dir.display())),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags_with(yaml: &str, app_version: Option<&str>) -> Vec<String> {
        let v: Yaml = serde_yaml_ng::from_str(yaml).unwrap_or(Yaml::Null);
        let mut errors = Vec::new();
        image_tags(&v, "", app_version, &mut errors);
        errors.into_iter().map(|f| f.message).collect()
    }

    fn tags(yaml: &str) -> Vec<String> {
        tags_with(yaml, None)
    }

    #[test]
    fn an_empty_tag_takes_the_charts_app_version() {
        let empty = "image:\n  repository: nginx\n  tag: \"\"\n";
        assert!(tags_with(empty, Some("1.16.0")).is_empty());
        assert_eq!(
            tags_with("image:\n  repository: nginx\n", Some("latest")),
            ["`image` has no tag, and the chart's appVersion is `latest`"]
        );
        assert_eq!(
            tags(empty),
            ["`image` has no tag, and the chart has no appVersion"]
        );
        assert_eq!(
            tags_with("image: nginx\n", Some("1.16.0")),
            ["`image` has no tag"],
            "a bare image string is used as written"
        );
    }

    #[test]
    fn latest_and_missing_tags_are_errors() {
        assert_eq!(
            tags("image:\n  repository: r\n  tag: latest\n"),
            ["`image` uses the `latest` tag"]
        );
        assert_eq!(
            tags("app:\n  image: registry:5000/app\n"),
            ["`app.image` has no tag"]
        );
        assert!(tags("image: registry:5000/app:1.2\n").is_empty());
        assert!(tags("image:\n  repository: r\n  digest: sha256:abc\n").is_empty());
        assert!(tags("image:\n  repository: r\n  tag: 1.0\n").is_empty());
    }
}
