//! Reports in the layouts of the Phase V process: the Phase Readiness table, the Feature
//! Completeness Checklist, the Deployment Report and escalation blocks; and one decision in
//! Markdown, JUnit XML, SARIF and GitHub Actions annotations.

use phasev_compiler::ast::{ReqKind, Severity};
use phasev_compiler::ir::Program;

use crate::decide::{ChecklistResult, Decision, EscalationResult, Outcome, RequirementResult};
use crate::neutral::{self, markdown_cell};
use crate::value::Value;

/// One feature's line of the readiness report.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStatus {
    pub name: String,
    /// Its stage of spec-driven development (`spec` … `refactor`), when known.
    pub sdd_stage: Option<String>,
    /// The rung the feature is on, when known.
    pub stage: Option<u32>,
    /// The decision for the next rung up (none at the top, or without a known stage).
    pub next: Option<Decision>,
    /// What else blocks it (dependency cycles, blocking dependencies).
    pub blockers: Vec<String>,
    /// `feature.deadline`, `YYYY-MM-DD`, when set.
    pub deadline: Option<String>,
}

impl FeatureStatus {
    /// Nothing stands between the feature and its next rung.
    fn ready(&self) -> bool {
        self.next.is_some() && blockers(self).is_empty()
    }
}

/// A cell of the table: ✅ the rung is reached; for the next rung up, ❌ when something
/// blocks the climb and ⏳ when nothing does (it waits to be promoted); ⏳ for every rung
/// above.
fn cell(status: &FeatureStatus, rung: u32) -> &'static str {
    match status.stage {
        Some(stage) if rung <= stage => "✅",
        Some(stage) if rung == stage + 1 && !status.ready() => "❌",
        _ => "⏳",
    }
}

/// The process's severity markers: 🔴 critical, 🟡 warning, 🟢 info.
pub fn severity_mark(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🔴",
        Severity::Warning => "🟡",
        Severity::Info => "🟢",
    }
}

/// What keeps a feature from its next rung: the other blockers (dependencies), failed and
/// undecided `require`s (each once, though several gates may repeat one), fired escalations.
pub fn blockers(status: &FeatureStatus) -> Vec<String> {
    let mut out = status.blockers.clone();
    if let Some(d) = &status.next {
        for r in d.requirements.iter().filter(|r| r.kind == ReqKind::Require) {
            let line = match r.outcome {
                Outcome::Fail => requirement_line(r, &r.why, ""),
                Outcome::Inconclusive => requirement_line(r, &r.undecided_because, "undecided: "),
                Outcome::Pass => continue,
            };
            if !out.contains(&line) {
                out.push(line);
            }
        }
        for e in d.escalations.iter().filter(|e| e.fired == Some(true)) {
            out.push(format!("🚨 {}", e.title));
        }
    }
    out
}

/// Failed and undecided `warn`s of the next rung: reported, though they do not block.
fn warnings(status: &FeatureStatus) -> Vec<String> {
    let Some(d) = &status.next else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for r in d
        .requirements
        .iter()
        .filter(|r| r.kind == ReqKind::Warn && r.outcome != Outcome::Pass)
    {
        let line = match r.outcome {
            Outcome::Inconclusive => {
                requirement_line(r, &r.undecided_because, "warning only, undecided: ")
            }
            _ => requirement_line(r, &r.why, "warning only: "),
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// `🔴 name (why)`: a requirement, its severity and the first reason it gives.
fn requirement_line(r: &RequirementResult, reasons: &[String], lead: &str) -> String {
    let mark = severity_mark(r.severity);
    match reasons.first() {
        Some(why) => format!("{mark} {} ({lead}{why})", r.name),
        None if lead.is_empty() => format!("{mark} {}", r.name),
        None => format!("{mark} {} ({})", r.name, lead.trim_end_matches(": ")),
    }
}

/// The column headers of the readiness table: the reference's for the Phase V ladder, a
/// rung's title (else its name) on any other.
fn column(program: &Program, rung: u32) -> String {
    let Some(r) = program.rungs.get(rung as usize) else {
        return String::new();
    };
    match r.name.as_str() {
        "local_k8s" => "Local".to_owned(),
        "cloud_staging" => "Cloud-Staging".to_owned(),
        "cloud_prod" => "Cloud-Prod".to_owned(),
        _ if r.label.is_empty() => r.name.clone(),
        _ => r.label.clone(),
    }
}

/// `## Phase V Readiness Report — date`, the table, readiness, critical path, next milestone,
/// and the escalations that fire project-wide.
pub fn readiness(
    program: &Program,
    date: &str,
    features: &[FeatureStatus],
    critical_path: &[String],
    project_escalations: &[EscalationResult],
) -> String {
    // Every rung but the first, where every feature starts.
    let rungs: Vec<u32> = (1..program.rungs.len())
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    let mut out = format!("## Phase V Readiness Report — {date}\n\n| Feature | Stage |");
    for &r in &rungs {
        out.push_str(&format!(" {} |", column(program, r)));
    }
    out.push_str(" Blockers |\n|---------|-------|");
    for &r in &rungs {
        out.push_str(&format!(
            "{}|",
            "-".repeat(column(program, r).chars().count() + 2)
        ));
    }
    out.push_str("----------|\n");
    let mut reached = 0usize;
    for f in features {
        let stage = f.sdd_stage.as_deref().unwrap_or("unknown");
        out.push_str(&format!(
            "| {} | {} |",
            markdown_cell(&f.name),
            markdown_cell(stage)
        ));
        for &r in &rungs {
            let c = cell(f, r);
            if c == "✅" {
                reached += 1;
            }
            out.push_str(&format!(" {c} |"));
        }
        let mut lines = blockers(f);
        lines.extend(warnings(f));
        let text = if lines.is_empty() {
            "—".to_owned()
        } else {
            markdown_cell(&lines.join("; "))
        };
        out.push_str(&format!(" {text} |\n"));
    }
    let cells = features.len() * rungs.len();
    let percent = (reached * 100).checked_div(cells).unwrap_or(0);
    out.push_str(&format!("\nOverall Phase Readiness: {percent}%\n"));
    out.push_str(&format!(
        "Critical Path: {}\n",
        if critical_path.is_empty() {
            "none (no unfinished dependency chain)".to_owned()
        } else {
            critical_path.join(" → ")
        }
    ));
    out.push_str(&format!(
        "Next Milestone: {}\n",
        next_milestone(program, features)
    ));
    // Escalations that fire on the facts every feature shares concern the whole project.
    for e in project_escalations.iter().filter(|e| e.fired == Some(true)) {
        out.push('\n');
        out.push_str(&escalation_block(e));
    }
    out
}

/// The next promotion: of the features ready to climb, the one whose deadline comes first
/// (features without one after, then by name); else, the same way, the first blocked one.
/// Either with its deadline: what and when. Features whose stage is not known are not on the
/// top rung: they are named instead.
fn next_milestone(program: &Program, features: &[FeatureStatus]) -> String {
    let climbing = |ready: bool| {
        features
            .iter()
            .filter(|f| f.ready() == ready)
            .filter_map(|f| {
                let next = program.rungs.get(f.stage? as usize + 1)?;
                Some((
                    f.deadline.is_none(),
                    f.deadline.clone(),
                    f,
                    next.name.as_str(),
                ))
            })
            .min_by(|a, b| (a.0, &a.1, &a.2.name).cmp(&(b.0, &b.1, &b.2.name)))
    };
    let when = |f: &FeatureStatus| match &f.deadline {
        Some(date) => format!("due {date}"),
        None => "no deadline set".to_owned(),
    };
    if let Some((_, _, f, next)) = climbing(true) {
        return format!("{} → {next}, ready to promote ({})", f.name, when(f));
    }
    match climbing(false) {
        Some((_, _, f, next)) => {
            let n = blockers(f).len();
            format!(
                "{} → {next}, blocked by {n} blocker{} ({})",
                f.name,
                if n == 1 { "" } else { "s" },
                when(f)
            )
        }
        None => {
            let unknown: Vec<&str> = features
                .iter()
                .filter(|f| f.stage.is_none())
                .map(|f| f.name.as_str())
                .collect();
            if unknown.is_empty() {
                "every feature is on the top rung".to_owned()
            } else {
                format!("not known: no stage for {}", unknown.join(", "))
            }
        }
    }
}

/// `## Feature Completeness Checklist — feature` and one checkbox per item; an item that
/// cannot be decided is unchecked, with what it lacked.
pub fn checklist(feature: &str, items: &[ChecklistResult]) -> String {
    let mut out = format!("## Feature Completeness Checklist — {feature}\n\n");
    for item in items {
        let mark = if item.checked == Some(true) { "x" } else { " " };
        out.push_str(&format!("- [{mark}] {}", item.label));
        if item.checked.is_none() {
            let why = item.undecided_because.join("; ");
            out.push_str(&format!(" — not known: {why}"));
        }
        out.push('\n');
    }
    let done = items.iter().filter(|i| i.checked == Some(true)).count();
    out.push_str(&format!("\n{done} of {} items complete\n", items.len()));
    out
}

/// The escalation block of the Phase V process.
pub fn escalation_block(e: &EscalationResult) -> String {
    let mut out = format!(
        "🚨 ESCALATION REQUIRED: {}\nContext: {}\nImpact: {}\nOptions:\n",
        e.title, e.context, e.impact
    );
    for (i, (option, tradeoff)) in e.options.iter().enumerate() {
        out.push_str(&format!("  {}. {option} — Tradeoff: {tradeoff}\n", i + 1));
    }
    let recommended = e
        .options
        .get((e.recommend as usize).saturating_sub(1))
        .map_or("(no such option)", |(o, _)| o.as_str());
    out.push_str(&format!("Recommendation: {recommended} — {}\n", e.reason));
    out
}

/// Why a requirement came out as it did, in one line.
fn reason(r: &RequirementResult) -> String {
    r.why
        .iter()
        .chain(&r.undecided_because)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ")
}

/// One decision in Markdown: the verdict, a table of requirements, the escalation blocks.
pub fn decision_markdown(d: &Decision) -> String {
    let mut out = format!(
        "## {} → {}: {}\n\n| Gate | Requirement | Severity | Outcome | Why |\n|------|-------------|----------|---------|-----|\n",
        neutral::line(&d.feature),
        neutral::line(&d.target),
        d.verdict.as_str().to_uppercase()
    );
    for r in &d.requirements {
        let mark = match (r.outcome, r.kind) {
            (Outcome::Pass, _) => "✅",
            (Outcome::Fail, ReqKind::Warn) => "⚠️",
            (Outcome::Fail, _) => "❌",
            (Outcome::Inconclusive, _) => "⏳",
        };
        out.push_str(&format!(
            "| {} | {} {} | {} {} | {mark} {} | {} |\n",
            markdown_cell(&r.gate),
            r.kind,
            markdown_cell(&r.name),
            severity_mark(r.severity),
            r.severity,
            r.outcome.as_str(),
            markdown_cell(&reason(r))
        ));
    }
    for e in d.escalations.iter().filter(|e| e.fired == Some(true)) {
        out.push_str(&format!("\n```\n{}```\n", escalation_block(e)));
    }
    out
}

/// JUnit XML: one test suite per decision, one test case per requirement; failed `require`s
/// fail, undecided ones are errors, failed `warn`s are skipped with the warning as message.
pub fn junit<'d>(decisions: impl IntoIterator<Item = &'d Decision>) -> String {
    let mut out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n".to_owned();
    for d in decisions {
        out.push_str(&junit_suite(d));
    }
    out.push_str("</testsuites>\n");
    out
}

fn junit_suite(d: &Decision) -> String {
    let failures = d
        .requirements
        .iter()
        .filter(|r| r.kind == ReqKind::Require && r.outcome == Outcome::Fail)
        .count();
    let errors = d
        .requirements
        .iter()
        .filter(|r| r.kind == ReqKind::Require && r.outcome == Outcome::Inconclusive)
        .count();
    let mut out = format!(
        "  <testsuite name=\"{} → {}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        neutral::xml(&d.feature),
        neutral::xml(&d.target),
        d.requirements.len()
    );
    for r in &d.requirements {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            neutral::xml(&r.gate),
            neutral::xml(&r.name)
        ));
        let why = neutral::xml(&reason(r));
        let body = match (r.outcome, r.kind) {
            (Outcome::Pass, _) => None,
            (Outcome::Fail | Outcome::Inconclusive, ReqKind::Warn) => {
                Some(format!("<skipped message=\"warning: {why}\"/>"))
            }
            (Outcome::Fail, _) => Some(format!("<failure message=\"{why}\"/>")),
            (Outcome::Inconclusive, _) => Some(format!("<error message=\"inconclusive: {why}\"/>")),
        };
        match body {
            None => out.push_str("/>\n"),
            Some(b) => out.push_str(&format!(">\n      {b}\n    </testcase>\n")),
        }
    }
    out.push_str("  </testsuite>\n");
    out
}

/// A decision and the secret findings of its feature, as the outputs that point at files
/// (SARIF, GitHub annotations) report them.
#[derive(Clone, Debug)]
pub struct Decided {
    pub decision: Decision,
    pub secrets: Vec<SecretLocation>,
}

/// GitHub Actions workflow commands, for each decision: an error at its file and line per
/// secret finding, an error per failed `require`, a warning per failed or undecided `warn` and
/// per undecided `require`, a notice per fired escalation, then the verdict.
pub fn github(decided: &[Decided]) -> String {
    decided
        .iter()
        .map(|d| decision_github(&d.decision, &d.secrets))
        .collect()
}

fn decision_github(d: &Decision, secrets: &[SecretLocation]) -> String {
    let mut out = String::new();
    for s in secrets {
        out.push_str(&format!(
            "::error file={},line={},title={}::a hard-coded secret ({}); its value is not shown\n",
            github_property(&s.file),
            s.line,
            github_property(&format!("{}: hard-coded secret", d.feature)),
            github_message(&s.rule)
        ));
    }
    for r in &d.requirements {
        let level = match (r.outcome, r.kind) {
            (Outcome::Pass, _) => continue,
            (Outcome::Fail, ReqKind::Require) => "error",
            _ => "warning",
        };
        out.push_str(&format!(
            "::{level} title={}::{} {}: {}\n",
            github_property(&format!("{} → {}: {}", d.feature, d.target, r.name)),
            r.kind,
            r.outcome.as_str(),
            github_message(&reason(r))
        ));
    }
    for e in d.escalations.iter().filter(|e| e.fired == Some(true)) {
        out.push_str(&format!(
            "::notice title={}::{}\n",
            github_property(&format!("Escalation required: {}", e.title)),
            github_message(&escalation_block(e))
        ));
    }
    out.push_str(&format!(
        "{} → {}: {}\n",
        d.feature,
        d.target,
        d.verdict.as_str()
    ));
    out
}

/// A workflow command's message: `%` and line breaks escaped, other control characters
/// replaced.
fn github_message(text: &str) -> String {
    let escaped = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    neutral::line(&escaped).into_owned()
}

/// A workflow command's property value (`title=…`): also `:` and `,`, which end it.
fn github_property(text: &str) -> String {
    github_message(text).replace(':', "%3A").replace(',', "%2C")
}

/// A secret finding for SARIF: file, line, rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretLocation {
    pub file: String,
    pub line: u32,
    pub rule: String,
}

/// SARIF 2.1.0, one run for every decision: each secret finding at its file and line, and each
/// failed or undecided requirement (without a location: it is a property of the feature, not
/// of a file).
pub fn sarif(decided: &[Decided]) -> String {
    let mut rules: Vec<serde_json::Value> = Vec::new();
    let mut rule_ids: Vec<String> = Vec::new();
    let mut rule = |id: String, text: String| {
        if !rule_ids.contains(&id) {
            rule_ids.push(id.clone());
            rules.push(serde_json::json!({"id": id, "shortDescription": {"text": text}}));
        }
    };
    let mut results = Vec::new();
    for Decided {
        decision: d,
        secrets,
    } in decided
    {
        for s in secrets {
            let id = format!("secrets/{}", s.rule);
            rule(id.clone(), format!("hard-coded secret ({})", s.rule));
            results.push(serde_json::json!({
            "ruleId": id,
            "level": "error",
            "message": {"text": format!("a hard-coded secret ({}); its value is not shown", s.rule)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": sarif_uri(&s.file)},
                "region": {"startLine": s.line}
            }}]
        }));
        }
        for r in d.requirements.iter().filter(|r| r.outcome != Outcome::Pass) {
            let id = format!("requirement/{}", r.name);
            rule(id.clone(), r.name.clone());
            let level = match (r.outcome, r.kind) {
                (Outcome::Fail, ReqKind::Require) => "error",
                _ => "warning",
            };
            results.push(serde_json::json!({
            "ruleId": id,
            "level": level,
            "message": {"text": format!("{} → {}: {} {} ({}): {}", d.feature, d.target, r.kind, r.outcome.as_str(), r.gate, reason(r))}
        }));
        }
    }
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "phasev", "informationUri": "https://github.com/phasev/phasev", "rules": rules}},
            "results": results
        }]
    });
    // A JSON value always prints; `#` prints it indented.
    format!("{doc:#}\n")
}

/// A file for SARIF: a relative path as it is (code scanning resolves it from the repository
/// root), an absolute one as a `file://` URI.
fn sarif_uri(file: &str) -> String {
    if file.starts_with('/') {
        format!("file://{file}")
    } else {
        file.to_owned()
    }
}

/// A fact's value, by path, if the program reads it and it is present.
fn fact<'f>(program: &Program, facts: &'f crate::facts::Facts, path: &str) -> Option<&'f Value> {
    let slot = program.slot_index(path)?;
    facts.get(slot).value.as_ref().ok()
}

/// The fields of a record value, in the order of its type.
fn fields(v: &Value) -> &[Value] {
    match v {
        Value::Record(f) => f,
        _ => &[],
    }
}

/// `## Deployment Report — feature — date`: the environment the feature is deployed to (its
/// stage), judged by the gate that leads into it, with the Helm chart, Dapr components, Kafka
/// topics and rollback status its facts give.
pub fn deployment(
    program: &Program,
    facts: &crate::facts::Facts,
    decision: &Decision,
    stage: u32,
    date: &str,
) -> String {
    let env = program.rungs.get(stage as usize).map_or_else(
        || format!("rung {stage}"),
        |r| {
            if r.label.is_empty() {
                r.name.clone()
            } else {
                r.label.clone()
            }
        },
    );
    let into = program.gates.iter().find(|g| g.to == stage).and_then(|g| {
        Some(format!(
            "{} -> {}",
            program.rungs.get(g.from as usize)?.name,
            program.rungs.get(g.to as usize)?.name
        ))
    });
    let reqs: Vec<&RequirementResult> = decision
        .requirements
        .iter()
        .filter(|r| Some(&r.gate) == into.as_ref())
        .collect();
    let failed = |o| {
        reqs.iter()
            .any(|r| r.kind == ReqKind::Require && r.outcome == o)
    };
    let result = match (&into, failed(Outcome::Fail), failed(Outcome::Inconclusive)) {
        (None, _, _) => "SUCCESS (the first rung has no gate)",
        (_, true, _) => "FAILURE",
        (_, _, true) => "PARTIAL",
        _ => "SUCCESS",
    };
    let mut out = format!(
        "## Deployment Report — {} — {date}\n\nEnvironment: {env}\nResult: {result}\n",
        decision.feature
    );
    let helm = match (
        fact(program, facts, "helm.chart.exists"),
        fact(program, facts, "helm.chart.reuses_base"),
    ) {
        (Some(Value::Bool(false)), _) => "no chart".to_owned(),
        (Some(Value::Bool(true)), Some(Value::Bool(true))) => {
            "chart on the Phase IV base chart (release and revision are not collected)".to_owned()
        }
        (Some(Value::Bool(true)), Some(Value::Bool(false))) => {
            "chart NOT reusing the Phase IV base chart (release and revision are not collected)"
                .to_owned()
        }
        _ => "not known".to_owned(),
    };
    out.push_str(&format!("Helm Release: {helm}\n"));
    let sidecars = match fact(program, facts, "k8s.pods") {
        Some(Value::List(pods)) => {
            let ready = pods
                .iter()
                .filter(|p| {
                    matches!(
                        fields(p).get(3).map(fields),
                        Some([Value::Bool(true), Value::Bool(true)])
                    )
                })
                .count();
            format!(
                " — sidecars injected and ready on {ready} of {} pods",
                pods.len()
            )
        }
        _ => String::new(),
    };
    let dapr = match fact(program, facts, "dapr.components") {
        Some(Value::List(items)) if !items.is_empty() => items
            .iter()
            .filter_map(|c| match fields(c) {
                [Value::Str(name), Value::Str(kind)] => Some(format!("{name} ({kind})")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::List(_)) => "none".to_owned(),
        _ => "not known".to_owned(),
    };
    out.push_str(&format!("Dapr Components: {dapr}{sidecars}\n"));
    let topics = match fact(program, facts, "kafka.topics") {
        Some(Value::List(items)) if !items.is_empty() => items
            .iter()
            .filter_map(|t| match fields(t) {
                [Value::Str(name), Value::Int(p), Value::Int(r)] => {
                    Some(format!("{name} ({p} partitions, replication {r})"))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::List(_)) => "none".to_owned(),
        _ => "not known".to_owned(),
    };
    out.push_str(&format!("Kafka Topics: {topics}\n\n### What Worked:\n"));
    if reqs.iter().all(|r| r.outcome != Outcome::Pass) {
        out.push_str("- nothing\n");
    }
    for r in reqs.iter().filter(|r| r.outcome == Outcome::Pass) {
        out.push_str(&format!("- {}\n", r.name));
    }
    out.push_str("\n### What Failed:\n");
    if reqs.iter().all(|r| r.outcome == Outcome::Pass) {
        out.push_str("- nothing\n");
    }
    for r in reqs.iter().filter(|r| r.outcome != Outcome::Pass) {
        let cause = reason(r);
        let remedy = if r.outcome == Outcome::Inconclusive {
            "supply the facts it lacks, then run the gate again".to_owned()
        } else {
            r.remedy.join("; ")
        };
        out.push_str(&format!(
            "- {} — Root Cause: {cause} — Remediation: {remedy}\n",
            r.name
        ));
    }
    let rollback = match (result, fact(program, facts, "rollback.tested")) {
        (r, _) if r.starts_with("SUCCESS") => "not needed",
        (_, Some(Value::Bool(true))) => "pending (the rollback procedure has been tested)",
        (_, Some(Value::Bool(false))) => "pending (the rollback procedure has NOT been tested)",
        _ => "pending",
    };
    out.push_str(&format!("\n### Rollback Status: {rollback}\n"));
    out
}
