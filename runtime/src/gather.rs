//! Gathering one feature's facts from a checkout: every collector runs concurrently on tokio's
//! blocking pool, each under the configured timeout.
//!
//! A collector reports fact paths with JSON values (or why a fact is absent); the values are
//! converted to the types of the slots the program reads in one place
//! ([`facts::value_of`](crate::facts::value_of)), so a collector never needs to know the IR.
//! A collector that times out leaves every path it fills errored: what reads them is
//! inconclusive. (Its thread cannot be stopped; it finishes in the background.)

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use phasev_compiler::ir::Program;
use serde_json::{Value as Json, json};

use crate::collect::{change, cloud, docs, helm, junit, secrets};
use crate::config::Project;
use crate::facts::{Absent, Fact, FactRules, Facts, Source, slot_value};

/// One fact a collector found, or why it could not.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub path: String,
    pub value: Result<Json, Absent>,
    pub source: Source,
    /// When it was observed, for freshness limits: now, for what a collector looked at as it
    /// ran; a file's modification time, for what a file reports that was written earlier
    /// (test reports, lint output, records); `None` when that time cannot be read, which no
    /// freshness limit accepts.
    pub at: Option<SystemTime>,
}

impl Found {
    /// The same finding, dated by the file it came from.
    fn dated(mut self, file: &Path) -> Found {
        self.at = modified(file);
        self
    }

    fn value(path: &str, value: Json, source: &str) -> Found {
        Found {
            path: path.to_owned(),
            value: Ok(value),
            source: Source::new(source),
            at: Some(SystemTime::now()),
        }
    }

    fn absent(path: &str, why: Absent, source: &str) -> Found {
        Found {
            path: path.to_owned(),
            value: Err(why),
            source: Source::new(source),
            at: Some(SystemTime::now()),
        }
    }
}

/// When `file` was last written, if that can be read.
fn modified(file: &Path) -> Option<SystemTime> {
    std::fs::metadata(file).and_then(|m| m.modified()).ok()
}

/// The collectors, each a function from the project and a feature to facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collector {
    /// `feature.*` from `phasev.toml`.
    Feature,
    /// `tests.<kind>.*` from JUnit XML.
    Tests,
    /// `docs.*` from `specs/<feature>/`.
    Docs,
    /// `helm.*` from the feature's chart and `helm lint` output.
    Helm,
    /// `secrets.findings` from the secret scanner.
    Secrets,
    /// `cloud.quota` from a usage listing.
    Cloud,
    /// `change.*` from `git diff` against a base ref.
    Change,
    /// `baseline.*` from the newest passing decision record.
    Baseline,
}

impl Collector {
    pub const ALL: [Collector; 8] = [
        Collector::Feature,
        Collector::Tests,
        Collector::Docs,
        Collector::Helm,
        Collector::Secrets,
        Collector::Cloud,
        Collector::Change,
        Collector::Baseline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Collector::Feature => "phasev.toml",
            Collector::Tests => "tests",
            Collector::Docs => "docs",
            Collector::Helm => "helm",
            Collector::Secrets => "secrets",
            Collector::Cloud => "cloud",
            Collector::Change => "change",
            Collector::Baseline => "baseline",
        }
    }

    /// Every path it fills: what a timeout leaves errored.
    pub fn paths(self) -> Vec<String> {
        match self {
            Collector::Feature => [
                "name",
                "owner",
                "stage",
                "depends_on",
                "budget.latency_p95",
                "budget.error_rate",
                "deadline",
            ]
            .iter()
            .map(|p| format!("feature.{p}"))
            .collect(),
            Collector::Tests => ["unit", "integration", "contract", "e2e"]
                .iter()
                .flat_map(|kind| {
                    ["total", "passed", "failed", "skipped"]
                        .iter()
                        .map(move |count| format!("tests.{kind}.{count}"))
                })
                .collect(),
            Collector::Docs => DOCS_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            Collector::Helm => HELM_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            Collector::Secrets => vec!["secrets.findings".to_owned()],
            Collector::Cloud => vec!["cloud.quota".to_owned()],
            Collector::Change => CHANGE_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            Collector::Baseline => baseline_paths().collect(),
        }
    }

    fn run(self, project: &Project, feature: &str) -> Vec<Found> {
        match self {
            Collector::Feature => from_config(project, feature),
            Collector::Tests => from_junit(project, feature),
            Collector::Docs => from_docs(project, feature),
            Collector::Helm => from_helm(project, feature),
            Collector::Secrets => from_secrets(project, feature),
            Collector::Cloud => from_cloud(project, feature),
            Collector::Change => from_change(project, feature),
            Collector::Baseline => from_baseline(project, feature),
        }
    }
}

const DOCS_PATHS: [&str; 7] = [
    "docs.spec.exists",
    "docs.spec.approved",
    "docs.plan.exists",
    "docs.plan.adrs",
    "docs.tasks.exists",
    "docs.tasks.total",
    "docs.tasks.done",
];

const CHANGE_PATHS: [&str; 3] = [
    "change.paths",
    "change.security_sensitive",
    "change.contract_altering",
];

const HELM_PATHS: [&str; 4] = [
    "helm.chart.exists",
    "helm.chart.reuses_base",
    "helm.lint.errors",
    "helm.lint.warnings",
];

/// Runs every collector for `feature` at once and returns what they found.
pub async fn gather(project: Arc<Project>, feature: &str, timeout: Duration) -> Vec<Found> {
    let tasks: Vec<_> = Collector::ALL
        .iter()
        .map(|&collector| {
            let project = Arc::clone(&project);
            let feature = feature.to_owned();
            let task = tokio::task::spawn_blocking(move || collector.run(&project, &feature));
            (collector, tokio::time::timeout(timeout, task))
        })
        .collect();
    let mut found = Vec::new();
    for (collector, task) in tasks {
        let why = match task.await {
            Ok(Ok(facts)) => {
                found.extend(facts);
                continue;
            }
            Ok(Err(join)) => format!("the {} collector failed: {join}", collector.name()),
            Err(_) => format!(
                "the {} collector timed out after {}",
                collector.name(),
                crate::value::duration(timeout.as_secs_f64() * 1000.0)
            ),
        };
        found.extend(
            collector
                .paths()
                .iter()
                .map(|p| Found::absent(p, Absent::Error(why.clone()), collector.name())),
        );
    }
    if !found.iter().any(|f| f.path == SDD_STAGE) {
        let stage = docs::sdd_stage(|path| {
            let json = found.iter().find(|f| f.path == path)?.value.as_ref().ok()?;
            json.as_bool().map(i64::from).or_else(|| json.as_i64())
        });
        let source = "the SDD documents and unit tests";
        found.push(match stage {
            Some(stage) => Found::value(SDD_STAGE, json!(stage), source),
            None => Found::absent(SDD_STAGE, Absent::Missing, source),
        });
    }
    found
}

/// The feature's stage of spec-driven development: set in phasev.toml or derived.
const SDD_STAGE: &str = "feature.sdd_stage";

/// Sets every slot of `facts` that `found` fills; a value of the wrong type or out of range
/// becomes an errored fact naming the collector, and one older than its freshness limit a
/// stale one.
pub fn apply_found(program: &Program, found: &[Found], rules: &FactRules, facts: &mut Facts) {
    for f in found {
        let Some(slot) = program.slot_index(&f.path) else {
            continue;
        };
        let Some(info) = program.slots.get(slot as usize) else {
            continue;
        };
        let value = match &f.value {
            Ok(json) => slot_value(program, json, info)
                .map_err(|e| Absent::Error(format!("{}: {e}", f.source.0))),
            Err(why) => Err(why.clone()),
        };
        let value = match (value, rules.stale(&f.path, f.at)) {
            (Ok(_), Some(why)) => Err(why),
            (value, _) => value,
        };
        facts.set(
            slot,
            Fact {
                value,
                source: Some(f.source.clone()),
            },
        );
    }
}

fn from_config(project: &Project, feature: &str) -> Vec<Found> {
    let source = format!("{} [features.{feature}]", project.file.display());
    let mut out = vec![Found::value("feature.name", json!(feature), &source)];
    let Some(f) = project.config.features.get(feature) else {
        return out;
    };
    out.push(Found::value("feature.stage", json!(f.stage), &source));
    if let Some(stage) = &f.sdd_stage {
        out.push(Found::value(SDD_STAGE, json!(stage.get_ref()), &source));
    }
    if let Some(owner) = &f.owner {
        out.push(Found::value("feature.owner", json!(owner), &source));
    }
    let deps: Vec<Json> = f
        .depends_on
        .iter()
        .filter_map(|name| {
            let dep = project.config.features.get(name)?;
            Some(json!({"name": name, "stage": dep.stage}))
        })
        .collect();
    out.push(Found::value(
        "feature.depends_on",
        Json::Array(deps),
        &source,
    ));
    if let Some(latency) = &f.budget.latency_p95 {
        out.push(Found::value(
            "feature.budget.latency_p95",
            json!(latency.get_ref()),
            &source,
        ));
    }
    if let Some(rate) = &f.budget.error_rate {
        out.push(Found::value(
            "feature.budget.error_rate",
            json!(rate.get_ref()),
            &source,
        ));
    }
    if let Some(deadline) = &f.deadline {
        out.push(Found::value(
            "feature.deadline",
            json!(deadline.to_string()),
            &source,
        ));
    }
    out
}

/// The files a configured glob matches for `feature`, sorted. A match that is not a regular
/// file (a FIFO, socket, device or directory) is an error naming it, never skipped: skipping
/// it would count fewer reports than the user wrote, and opening a FIFO would block. Its
/// metadata is read without opening it.
fn matching(root: &Path, pattern: &str, feature: &str) -> Result<Vec<PathBuf>, String> {
    let pattern = root.join(pattern.replace("{feature}", feature));
    let text = pattern.to_string_lossy();
    let paths = glob::glob(&text).map_err(|e| format!("bad glob `{text}`: {e}"))?;
    let mut files = Vec::new();
    for path in paths {
        let path = path.map_err(|e| format!("{}: {}", e.path().display(), e.error()))?;
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!(
                "{}: matched by `{text}` but not a regular file (a directory, FIFO, socket or device); it was not read",
                path.display()
            ));
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

fn from_junit(project: &Project, feature: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for (kind, patterns) in project.config.tests.kinds() {
        let paths = |count: &str| format!("tests.{kind}.{count}");
        let all = ["total", "passed", "failed", "skipped"];
        let mut files = Vec::new();
        let mut problem = None;
        for pattern in patterns {
            match matching(&project.root, pattern, feature) {
                Ok(found) => files.extend(found),
                Err(e) => problem = Some(e),
            }
        }
        let looked: Vec<String> = patterns
            .iter()
            .map(|p| p.replace("{feature}", feature))
            .collect();
        let source = if files.is_empty() {
            format!("no JUnit {kind} report matches {}", looked.join(", "))
        } else {
            format!("JUnit {kind}: {}", looked.join(", "))
        };
        let mut sum = junit::JunitCounts::default();
        for file in &files {
            let counted = phasev_compiler::load::read_bytes(file)
                .map_err(|e| e.to_string())
                .and_then(|bytes| junit::parse_junit(&bytes).map_err(|e| e.to_string()));
            match counted {
                Ok(c) => {
                    sum.total += c.total;
                    sum.passed += c.passed;
                    sum.failed += c.failed;
                    sum.errored += c.errored;
                    sum.skipped += c.skipped;
                }
                Err(e) => problem = Some(format!("{}: {e}", file.display())),
            }
        }
        let why = match problem {
            Some(p) => Some(Absent::Error(p)),
            // No report is a missing fact, not a pass.
            None if files.is_empty() => Some(Absent::Missing),
            None => None,
        };
        match why {
            Some(why) => out.extend(
                all.iter()
                    .map(|c| Found::absent(&paths(c), why.clone(), &source)),
            ),
            None => {
                let source = format!(
                    "JUnit {kind}: {}",
                    files
                        .iter()
                        .map(|f| f
                            .strip_prefix(&project.root)
                            .unwrap_or(f)
                            .display()
                            .to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                // The oldest report dates them all; one whose time cannot be read leaves
                // them undated.
                let oldest = files
                    .iter()
                    .map(|f| modified(f))
                    .collect::<Option<Vec<_>>>()
                    .and_then(|times| times.into_iter().min());
                let counts = [
                    ("total", sum.total),
                    ("passed", sum.passed),
                    ("failed", sum.failed + sum.errored),
                    ("skipped", sum.skipped),
                ];
                for (count, n) in counts {
                    let mut found = Found::value(&paths(count), json!(n), &source);
                    found.at = oldest;
                    out.push(found);
                }
            }
        }
    }
    out
}

/// Every path in `paths` absent for the same reason.
fn all_absent(paths: &[&str], why: &Absent, source: &str) -> Vec<Found> {
    paths
        .iter()
        .map(|p| Found::absent(p, why.clone(), source))
        .collect()
}

fn from_docs(project: &Project, feature: &str) -> Vec<Found> {
    let specs = project.path(&project.config.docs.specs);
    let source = format!("{}/{feature}/", specs.display());
    match docs::inspect_feature(&specs, feature) {
        Ok(r) => vec![
            Found::value("docs.spec.exists", json!(r.spec_exists), &source),
            Found::value("docs.spec.approved", json!(r.spec_approved), &source),
            Found::value("docs.plan.exists", json!(r.plan_exists), &source),
            Found::value("docs.plan.adrs", json!(r.adrs), &source),
            Found::value("docs.tasks.exists", json!(r.tasks_exists), &source),
            Found::value("docs.tasks.total", json!(r.tasks_total), &source),
            Found::value("docs.tasks.done", json!(r.tasks_done), &source),
        ],
        Err(e) => all_absent(&DOCS_PATHS, &Absent::Error(e.to_string()), &source),
    }
}

fn from_helm(project: &Project, feature: &str) -> Vec<Found> {
    let Some(chart) = project
        .config
        .features
        .get(feature)
        .and_then(|f| f.chart.as_ref())
    else {
        return all_absent(&HELM_PATHS, &Absent::Missing, "phasev.toml (no chart)");
    };
    let dir = project.path(chart);
    let source = format!("chart {}", chart.display());
    let base = project.config.helm.base.as_ref().map(|b| project.path(b));
    let report = match helm::inspect_chart(&dir, base.as_deref()) {
        Ok(r) => r,
        Err(e) => return all_absent(&HELM_PATHS, &Absent::Error(e.to_string()), &source),
    };
    let mut out = vec![
        Found::value("helm.chart.exists", json!(report.exists), &source),
        Found::value(
            "helm.chart.reuses_base",
            json!(report.reuse == helm::Reuse::DependsOnBase),
            &source,
        ),
    ];
    if !report.exists {
        return out;
    }
    let saved = (project.config.helm.lint.as_ref())
        .map(|pattern| project.path(Path::new(&pattern.replace("{feature}", feature))));
    match helm::lint(saved.as_deref(), &dir) {
        Ok(helm::Lint::Counts {
            errors,
            warnings,
            from,
        }) => {
            let source = format!("{source}: built-in checks and {}", from.display());
            out.push(
                Found::value(
                    "helm.lint.errors",
                    json!(errors + report.errors.len()),
                    &source,
                )
                .dated(&from),
            );
            out.push(Found::value("helm.lint.warnings", json!(warnings), &source).dated(&from));
        }
        Ok(helm::Lint::NotLinted(why)) => {
            let source = format!("{source}: not linted ({why})");
            out.extend(all_absent(&HELM_PATHS[2..], &Absent::Missing, &source));
        }
        Err(e) => out.extend(all_absent(
            &HELM_PATHS[2..],
            &Absent::Error(e.to_string()),
            &source,
        )),
    }
    out
}

fn from_secrets(project: &Project, feature: &str) -> Vec<Found> {
    let patterns = &project.config.secrets.paths;
    if patterns.is_empty() {
        return vec![Found::absent(
            "secrets.findings",
            Absent::Missing,
            "phasev.toml (no [secrets] paths)",
        )];
    }
    let paths: Vec<PathBuf> = patterns
        .iter()
        .map(|p| project.path(Path::new(&p.replace("{feature}", feature))))
        .collect();
    let exclude = &project.config.secrets.exclude;
    let findings = match secrets::scan_paths(&paths, &project.root, exclude) {
        Ok(found) => found,
        Err(e) => {
            return vec![Found::absent(
                "secrets.findings",
                Absent::Error(e.to_string()),
                "secret scanner",
            )];
        }
    };
    let list: Vec<Json> = findings
        .iter()
        .map(|f| json!({"file": f.file, "line": f.line, "rule": f.rule}))
        .collect();
    let mut source = format!("secret scanner: {}", patterns.join(", "));
    if !exclude.is_empty() {
        source.push_str(&format!(" (excluding {})", exclude.join(", ")));
    }
    vec![Found::value("secrets.findings", Json::Array(list), &source)]
}

fn from_cloud(project: &Project, feature: &str) -> Vec<Found> {
    let Some(pattern) = &project.config.cloud.quota else {
        return vec![Found::absent(
            "cloud.quota",
            Absent::Missing,
            "phasev.toml (no [cloud] quota)",
        )];
    };
    let file = project.path(Path::new(&pattern.replace("{feature}", feature)));
    let source = format!("quota listing {}", file.display());
    let text = match phasev_compiler::load::read_text(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return vec![Found::absent("cloud.quota", Absent::Missing, &source)];
        }
        Err(e) => {
            return vec![Found::absent(
                "cloud.quota",
                Absent::Error(e.to_string()),
                &source,
            )];
        }
    };
    match cloud::parse_quota(&text) {
        Ok(quotas) => match cloud::tightest(&quotas) {
            Some(q) => vec![
                Found::value(
                    "cloud.quota",
                    json!({"name": q.name, "used": q.used, "limit": q.limit}),
                    &source,
                )
                .dated(&file),
            ],
            None => vec![Found::absent("cloud.quota", Absent::Missing, &source)],
        },
        Err(e) => vec![Found::absent(
            "cloud.quota",
            Absent::Error(e.to_string()),
            &source,
        )],
    }
}

fn from_change(project: &Project, feature: &str) -> Vec<Found> {
    let config = &project.config.change;
    let Some(base) = &config.base else {
        return all_absent(
            &CHANGE_PATHS,
            &Absent::Missing,
            "phasev.toml (no [change] base)",
        );
    };
    let source = format!("git diff {base}...HEAD");
    let scoped: Vec<String> = config
        .paths
        .iter()
        .map(|p| p.replace("{feature}", feature))
        .collect();
    let globs = (
        change::Globs::new(&scoped),
        change::Globs::new(&config.security_sensitive),
        change::Globs::new(&config.contract_altering),
    );
    let (Ok(scope), Ok(security), Ok(contract)) = globs else {
        let why = [globs.0.err(), globs.1.err(), globs.2.err()]
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        return all_absent(&CHANGE_PATHS, &Absent::Error(why), &source);
    };
    let changed = match change::changed_paths(&project.root, base) {
        Ok(paths) => paths,
        Err(e) => return all_absent(&CHANGE_PATHS, &Absent::Error(e.to_string()), &source),
    };
    let mine: Vec<String> = changed
        .into_iter()
        .filter(|p| scope.is_empty() || scope.matches(p))
        .collect();
    let report = change::classify(&mine, &security, &contract);
    vec![
        Found::value("change.paths", json!(report.paths), &source),
        Found::value(
            "change.security_sensitive",
            json!(report.security_sensitive),
            &source,
        ),
        Found::value(
            "change.contract_altering",
            json!(report.contract_altering),
            &source,
        ),
    ]
}

/// The `baseline.*` facts: every fact of the newest decision record of `feature` whose verdict
/// was pass or warn (by modification time), under `baseline.` (`feature.*` has no baseline).
/// A record newer than that one which cannot be read or fails its digest checks makes every
/// `baseline.*` fact errored: it may be the real baseline, edited.
fn from_baseline(project: &Project, feature: &str) -> Vec<Found> {
    let Some(pattern) = &project.config.baseline.records else {
        return Vec::new();
    };
    let dir = project.path(Path::new(&pattern.replace("{feature}", feature)));
    let source = format!("decision records {}", dir.display());
    let errored = |why: String| -> Vec<Found> {
        baseline_paths()
            .map(|p| Found::absent(&p, Absent::Error(why.clone()), &source))
            .collect()
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        // No record written yet: there is no baseline.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => return errored(format!("cannot list {}: {e}", dir.display())),
    };
    let mut records = Vec::new();
    for entry in entries {
        let listed = entry
            .map(|e| e.path())
            .and_then(|p| Ok((std::fs::metadata(&p)?.modified()?, p)));
        match listed {
            Ok((at, p)) if p.extension().is_some_and(|x| x == "json") => records.push((at, p)),
            Ok(_) => {}
            Err(e) => return errored(format!("cannot list {}: {e}", dir.display())),
        }
    }
    records.sort();
    for (_, file) in records.iter().rev() {
        let record = match crate::record::read(file) {
            Ok((record, _)) => record,
            Err(e) => return errored(format!("{}: {e}", file.display())),
        };
        let verdict = record.decision.get("verdict").and_then(Json::as_str);
        if record.feature != feature || !matches!(verdict, Some("pass" | "warn")) {
            continue;
        }
        let source = format!("decision record {}", file.display());
        return record
            .facts
            .iter()
            .filter(|f| !f.path.starts_with("feature.") && !f.path.starts_with("baseline."))
            .filter_map(|f| {
                let value = f.value.clone()?;
                Some(Found::value(&format!("baseline.{}", f.path), value, &source).dated(file))
            })
            .collect();
    }
    Vec::new()
}

/// Every `baseline.*` path of the built-in schema.
fn baseline_paths() -> impl Iterator<Item = String> {
    phasev_compiler::schema::Schema::builtin()
        .paths()
        .filter(|p| p.starts_with("baseline."))
        .map(str::to_owned)
}
