//! typed::Program ─analyze→ warnings: requirements that can never pass or never fail, unused
//! rules, facts and checks, gates whose source rung nobody can reach, rungs no gate leads
//! into, and empty gates.

mod interval;
mod logic;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use logic::Verdict;

use crate::ast::{ReqKind, Span};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::typed::{Expr, ExprKind, FactOrigin, Program, Requirement};

/// Every warning the analysis finds; it never reports errors.
pub fn analyze(program: &Program) -> Diagnostics {
    let analysis = Shared::new(program);
    let parts = analysis.work();
    analysis.finish(parts)
}

/// Requirements analysed as one task: few enough tasks that taking one costs nothing, enough
/// that threads finishing other work at different times still share the analysis evenly.
const CHUNK: usize = 256;

/// The analysis as tasks that any number of threads share: each thread calls [`Shared::work`],
/// which takes the next task until none is left, and [`Shared::finish`] puts the warnings of
/// every task in the order [`analyze`] gives them.
#[derive(Debug)]
pub struct Shared<'p> {
    program: &'p Program,
    requirements: Vec<&'p Requirement>,
    next: AtomicUsize,
}

/// The warnings of one task, by its number.
#[derive(Debug)]
pub struct Part(usize, Diagnostics);

impl<'p> Shared<'p> {
    pub fn new(program: &'p Program) -> Self {
        Shared {
            program,
            requirements: program.gates.iter().flat_map(|g| &g.requirements).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Task 0 is the usage and reachability of the whole program (the largest, so it is
    /// taken first; its warnings come last); then chunks of requirements; the last task is
    /// the escalations and the checklist.
    fn tasks(&self) -> usize {
        self.requirements.len().div_ceil(CHUNK) + 2
    }

    /// Runs tasks until every task is taken.
    pub fn work(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        loop {
            let task = self.next.fetch_add(1, Ordering::Relaxed);
            if task >= self.tasks() {
                return parts;
            }
            let mut diags = Diagnostics::default();
            if task == 0 {
                usage(self.program, &mut diags);
                reachability(self.program, &mut diags);
                gated(self.program, &mut diags);
            } else if task == self.tasks() - 1 {
                satisfiability(self.program, &mut diags);
            } else {
                let chunk = self.requirements.chunks(CHUNK).nth(task - 1);
                for req in chunk.into_iter().flatten() {
                    requirement(self.program, req, &mut diags);
                }
            }
            parts.push(Part(task, diags));
        }
    }

    /// The warnings of every task (each thread's [`Shared::work`]) in their order.
    pub fn finish(&self, mut parts: Vec<Part>) -> Diagnostics {
        parts.sort_by_key(|Part(task, _)| if *task == 0 { usize::MAX } else { *task });
        let mut diags = Diagnostics::default();
        for Part(_, part) in parts {
            diags.extend(part);
        }
        diags
    }
}

fn requirement(program: &Program, req: &Requirement, diags: &mut Diagnostics) {
    let what = match req.kind {
        ReqKind::Require => "requirement",
        ReqKind::Warn => "warning",
    };
    let subject = || format!("{what} `{}`", req.name);
    let outcomes = ("can never be satisfied", "can never fail");
    report(program, &req.expr, subject, outcomes, diags);
}

/// Whether the escalations can fire and the checklist items can be checked (requirements are
/// tasks of their own).
fn satisfiability(program: &Program, diags: &mut Diagnostics) {
    for esc in &program.escalations {
        let subject = || {
            let title: String = esc
                .title
                .parts
                .iter()
                .map(|p| match p {
                    crate::typed::TextPart::Text(t) => t.as_str(),
                    crate::typed::TextPart::Hole(_) => "{…}",
                })
                .collect();
            format!("escalation `{title}`")
        };
        let outcomes = ("can never fire", "always fires");
        report(program, &esc.when, subject, outcomes, diags);
    }
    for item in &program.checklist {
        let subject = || format!("checklist item `{}`", item.label);
        let outcomes = ("can never be checked", "is always checked");
        report(program, &item.expr, subject, outcomes, diags);
    }
}

/// Warns when `e` is never or always true; `subject` names what `e` decides, and is only
/// spelled out for a warning.
fn report(
    program: &Program,
    e: &Expr,
    subject: impl FnOnce() -> String,
    (never, always): (&str, &str),
    diags: &mut Diagnostics,
) {
    let (code, message, label, help) = match logic::verdict(program, e) {
        Verdict::NeverTrue(var) => (
            Code::NeverPasses,
            format!("{} {never}", subject()),
            "this is never true",
            match var {
                Some(v) => format!("the conditions on `{v}` leave no possible value"),
                None => "it is false whatever the facts are".to_owned(),
            },
        ),
        Verdict::AlwaysTrue(var) => (
            Code::AlwaysPasses,
            format!("{} {always}", subject()),
            "this is always true",
            match var {
                Some(v) => format!(
                    "every value of `{v}` satisfies it; did you mean `and` instead of `or`?"
                ),
                None => "it is true whatever the facts are, so it checks nothing".to_owned(),
            },
        ),
        Verdict::Unknown => return,
    };
    diags.push(
        Diagnostic::new(code, e.span, message)
            .label(label)
            .help(help),
    );
}

/// What the used part of the program reads: rules reached from gates, escalations and the
/// checklist, and the facts those read; by id, as every fact read is marked.
struct Used {
    rules: Vec<bool>,
    facts: Vec<bool>,
}

impl Used {
    fn new(program: &Program) -> Self {
        Used {
            rules: vec![false; program.rules.len()],
            facts: vec![false; program.facts.len()],
        }
    }

    fn visit(&mut self, program: &Program, e: &Expr) {
        let mut pending = Vec::new();
        e.walk(&mut |node| match &node.kind {
            ExprKind::Fact(id) => {
                if let Some(read) = self.facts.get_mut(*id) {
                    *read = true;
                }
            }
            ExprKind::Rule(id, _) => {
                if let Some(used) = self.rules.get_mut(*id)
                    && !*used
                {
                    *used = true;
                    pending.push(*id);
                }
            }
            _ => {}
        });
        for id in pending {
            if let Some(rule) = program.rules.get(id) {
                self.visit(program, &rule.body);
            }
        }
    }
}

fn usage(program: &Program, diags: &mut Diagnostics) {
    let mut used = Used::new(program);
    for gate in &program.gates {
        for req in &gate.requirements {
            used.visit(program, &req.expr);
        }
    }
    for esc in &program.escalations {
        used.visit(program, &esc.when);
        for text in [&esc.title, &esc.context, &esc.impact, &esc.recommend.reason]
            .into_iter()
            .chain(esc.options.iter().flat_map(|o| [&o.title, &o.tradeoff]))
        {
            for part in &text.parts {
                if let crate::typed::TextPart::Hole(e) = part {
                    used.visit(program, e);
                }
            }
        }
    }
    for item in &program.checklist {
        used.visit(program, &item.expr);
    }
    for (rule, _) in program
        .rules
        .iter()
        .zip(&used.rules)
        .filter(|(_, used)| !**used)
    {
        diags.push(
            Diagnostic::new(
                Code::UnusedRule,
                rule.span,
                format!("rule `{}` is never used", rule.name),
            )
            .label("not referenced by any gate, escalation or checklist item")
            .help("remove it, or use it in a requirement"),
        );
    }
    let read_facts = || {
        program
            .facts
            .iter()
            .zip(&used.facts)
            .filter(|(_, read)| **read)
            .map(|(fact, _)| fact)
    };
    let read: BTreeSet<&str> = read_facts().map(|f| f.path.as_str()).collect();
    for fact in &program.declared_facts {
        if !read.contains(fact.path.as_str()) {
            diags.push(
                Diagnostic::new(
                    Code::UnusedFact,
                    fact.span,
                    format!("fact `{}` is declared but never read", fact.path),
                )
                .label("never read")
                .help("remove the declaration, or read the fact in a requirement"),
            );
        }
    }
    for (id, check) in program.checks.iter().enumerate() {
        let read_any = read_facts().any(|fact| fact.origin == FactOrigin::Check(id));
        if !read_any {
            diags.push(
                Diagnostic::new(
                    Code::UnusedCheck,
                    check.span,
                    format!("check `{}` is never read", check.name),
                )
                .label("its plugin would run for nothing")
                .help(format!(
                    "read its outcome, e.g. `require \"…\": {}.passed`, or remove it",
                    check.name
                )),
            );
        }
    }
}

fn reachability(program: &Program, diags: &mut Diagnostics) {
    let mut reachable = BTreeSet::from([0u32]);
    loop {
        let before = reachable.len();
        for gate in &program.gates {
            if reachable.contains(&gate.from) {
                reachable.insert(gate.to);
            }
        }
        if reachable.len() == before {
            break;
        }
    }
    for gate in &program.gates {
        if reachable.contains(&gate.from) {
            continue;
        }
        let name = |i: u32| {
            program
                .rungs
                .get(i as usize)
                .map_or("?", |r| r.name.as_str())
        };
        let from = name(gate.from);
        let below = gate.from.checked_sub(1).map_or("?", name);
        diags.push(
            Diagnostic::new(
                Code::UnreachableGate,
                gate_head(gate.span),
                format!("gate from `{from}` can never be used"),
            )
            .label(format!("no chain of gates reaches `{from}`"))
            .help(format!(
                "add `gate {below} -> {from} {{ … }}`, or start this gate lower"
            )),
        );
    }
}

/// Every rung but the first has a gate leading into it, and no gate is empty by accident.
fn gated(program: &Program, diags: &mut Diagnostics) {
    let name = |i: u32| {
        program
            .rungs
            .get(i as usize)
            .map_or("?", |r| r.name.as_str())
    };
    for gate in program
        .gates
        .iter()
        .filter(|g| g.requirements.is_empty() && !g.open)
    {
        let (from, to) = (name(gate.from), name(gate.to));
        diags.push(
            Diagnostic::new(
                Code::EmptyGate,
                gate_head(gate.span),
                format!("gate `{from} -> {to}` has no requirements"),
            )
            .label("checks nothing")
            .help(format!(
                "add a `require`, or write `gate {from} -> {to} open` if promotion to `{to}` needs no check"
            )),
        );
    }
    for (index, rung) in program.rungs.iter().enumerate().skip(1) {
        let Ok(index) = u32::try_from(index) else {
            break;
        };
        if program.gates.iter().any(|g| g.to == index) {
            continue;
        }
        let below = name(index - 1);
        diags.push(
            Diagnostic::new(
                Code::UngatedRung,
                rung.span,
                format!("no gate leads into rung `{}`", rung.name),
            )
            .label("a promotion to it would check nothing")
            .help(format!(
                "add `gate {below} -> {} {{ … }}`, or `gate {below} -> {} open` if it needs no check",
                rung.name, rung.name
            )),
        );
    }
}

/// The `gate a -> b` part of a gate's span, so the label does not cover the whole block.
fn gate_head(span: Span) -> Span {
    Span {
        end: span.start + 4,
        ..span
    }
}
