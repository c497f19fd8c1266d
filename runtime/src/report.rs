//! Reports in the layouts of the Phase V process: the Phase Readiness table, the Feature
//! Completeness Checklist and escalation blocks (the deployment report is still to come).

use phasev_compiler::ir::Program;

use crate::decide::{ChecklistResult, Decision, EscalationResult, Outcome, Verdict};

/// One feature's line of the readiness report.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStatus {
    pub name: String,
    /// The rung the feature is on, when known.
    pub stage: Option<u32>,
    /// The decision for the next rung up (none at the top, or without a known stage).
    pub next: Option<Decision>,
    /// What else blocks it (dependency cycles, blocking dependencies).
    pub blockers: Vec<String>,
}

/// A cell of the table: reached, ready, blocked or pending.
fn cell(status: &FeatureStatus, rung: u32) -> &'static str {
    match status.stage {
        Some(stage) if rung <= stage => "✅",
        Some(stage) if rung == stage + 1 => match status.next.as_ref().map(|d| d.verdict) {
            Some(Verdict::Pass | Verdict::Warn) if status.blockers.is_empty() => "✅",
            Some(Verdict::Fail) => "❌",
            _ => "⏳",
        },
        _ => "⏳",
    }
}

/// Why a feature cannot climb: failed and undecided `require`s, fired escalations, the other
/// blockers, and (marked ⚠) failed `warn`s, which do not block.
pub fn blockers(status: &FeatureStatus) -> Vec<String> {
    let mut out = status.blockers.clone();
    if let Some(d) = &status.next {
        for r in d.requirements.iter().filter(|r| r.kind == "require") {
            match r.outcome {
                Outcome::Fail => out.push(match r.why.first() {
                    Some(why) => format!("{} ({why})", r.name),
                    None => r.name.clone(),
                }),
                Outcome::Inconclusive => out.push(match r.undecided_because.first() {
                    Some(why) => format!("{}: {why}", r.name),
                    None => format!("{}: undecided", r.name),
                }),
                Outcome::Pass => {}
            }
        }
        for e in d.escalations.iter().filter(|e| e.fired == Some(true)) {
            out.push(format!("🚨 {}", e.title));
        }
        for r in d
            .requirements
            .iter()
            .filter(|r| r.kind == "warn" && r.outcome == Outcome::Fail)
        {
            out.push(match r.why.first() {
                Some(why) => format!("⚠ {} ({why})", r.name),
                None => format!("⚠ {}", r.name),
            });
        }
    }
    out
}

/// `## Phase V Readiness Report — date`, the table, readiness, critical path, next milestone.
pub fn readiness(
    program: &Program,
    date: &str,
    features: &[FeatureStatus],
    critical_path: &[String],
) -> String {
    let rungs: Vec<u32> = (1..program.rungs.len())
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    let label = |r: u32| {
        program.rungs.get(r as usize).map_or_else(String::new, |r| {
            if r.label.is_empty() {
                r.name.clone()
            } else {
                r.label.clone()
            }
        })
    };
    let mut out = format!("## Phase V Readiness Report — {date}\n\n| Feature | Stage |");
    for &r in &rungs {
        out.push_str(&format!(" {} |", label(r)));
    }
    out.push_str(" Blockers |\n|---------|-------|");
    for _ in &rungs {
        out.push_str("------|");
    }
    out.push_str("----------|\n");
    let mut reached = 0usize;
    for f in features {
        let stage = f
            .stage
            .and_then(|s| program.rungs.get(s as usize))
            .map_or("unknown", |r| r.name.as_str());
        out.push_str(&format!("| {} | {stage} |", f.name));
        for &r in &rungs {
            let c = cell(f, r);
            if c == "✅" {
                reached += 1;
            }
            out.push_str(&format!(" {c} |"));
        }
        let blockers = blockers(f);
        let text = if blockers.is_empty() {
            "—".to_owned()
        } else {
            blockers.join("; ").replace('|', "\\|")
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
    out
}

/// The first feature (in order) that is ready to climb, else the first one blocked.
fn next_milestone(program: &Program, features: &[FeatureStatus]) -> String {
    let rung = |s: u32| program.rungs.get(s as usize + 1).map(|r| r.name.clone());
    let ready = features.iter().find_map(|f| {
        let stage = f.stage?;
        let next = rung(stage)?;
        (cell(f, stage + 1) == "✅" && f.next.is_some())
            .then(|| format!("{} → {next} (ready to promote)", f.name))
    });
    let blocked = || {
        features.iter().find_map(|f| {
            let stage = f.stage?;
            Some(format!(
                "{} → {} (blocked: {} blocker{})",
                f.name,
                rung(stage)?,
                blockers(f).len(),
                if blockers(f).len() == 1 { "" } else { "s" }
            ))
        })
    };
    ready
        .or_else(blocked)
        .unwrap_or_else(|| "every feature is on the top rung".to_owned())
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
