//! Decisions: one feature's gates up to a target rung, requirement by requirement, with the
//! escalations, the verdict and why.
//!
//! A gate verdict is decided in this order: **fail** if any `require` failed (a known failure
//! blocks whatever else is unknown); else **inconclusive** if any `require` could not be
//! decided; else **escalate** if any escalation fired; else **warn** if any `warn` failed or
//! could not be decided; else **pass**. An escalation whose condition cannot be decided does
//! not fire; it is reported with the facts it lacked. Gates are monotonic: promoting to a rung
//! evaluates every gate that leads up to it.

use phasev_compiler::ast::{BinaryOp, QuantKind, ReqKind, Severity, UnaryOp};
use phasev_compiler::ir::{Gate, NodeId, NodeKind, Program};
use phasev_compiler::types::Type;
use serde::Serialize;

use crate::eval::{Cause, Evaluator, Scope, Unknown, parts};
use crate::facts::{Absent, Facts};
use crate::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Warn,
    Escalate,
    Inconclusive,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Escalate => "escalate",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Fail => "fail",
        }
    }

    /// The process exit code: 0 pass/warn (1 for warn with `fail_on_warn`), 1 fail,
    /// 3 inconclusive, 4 escalation required. (2 is a usage or policy error.)
    pub fn exit_code(self, fail_on_warn: bool) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Warn => u8::from(fail_on_warn),
            Verdict::Fail => 1,
            Verdict::Inconclusive => 3,
            Verdict::Escalate => 4,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

/// As its text: one table, [`Outcome::as_str`].
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// As its text: one table, [`Verdict::as_str`].
impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// A fact a requirement read, as it was.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Read {
    pub path: String,
    /// The value as a policy writes it, or why there is none (`missing`, `stale (…)`).
    pub value: String,
    pub state: FactState,
    /// The value as a facts file writes it (typed JSON), when present.
    pub json: Option<serde_json::Value>,
    pub source: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequirementResult {
    /// `from -> to` of the gate.
    pub gate: String,
    pub name: String,
    #[serde(serialize_with = "keyword")]
    pub kind: ReqKind,
    #[serde(serialize_with = "keyword")]
    pub severity: Severity,
    pub outcome: Outcome,
    pub reads: Vec<Read>,
    /// For an inconclusive requirement: the facts it lacked and the limits it hit.
    pub undecided_because: Vec<String>,
    /// For a failure: the comparisons that failed and what would have passed.
    pub why: Vec<String>,
    /// For a failure: what to change so that it passes.
    pub remedy: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EscalationResult {
    pub title: String,
    #[serde(serialize_with = "keyword")]
    pub severity: Severity,
    /// `None` when the condition could not be decided.
    pub fired: Option<bool>,
    pub undecided_because: Vec<String>,
    pub context: String,
    pub impact: String,
    pub options: Vec<(String, String)>,
    /// 1-based.
    pub recommend: u32,
    pub reason: String,
    /// The facts its condition read.
    pub reads: Vec<Read>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub feature: String,
    pub target: String,
    pub verdict: Verdict,
    pub requirements: Vec<RequirementResult>,
    pub escalations: Vec<EscalationResult>,
}

/// One item of the feature completeness checklist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChecklistResult {
    pub label: String,
    /// `None` when it could not be decided.
    pub checked: Option<bool>,
    pub undecided_because: Vec<String>,
}

/// Serialises a policy keyword (a requirement's kind, a severity) as the policy writes it.
pub(crate) fn keyword<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// What a requirement found at a fact it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FactState {
    Present,
    Missing,
    Stale,
    Error,
}

impl Evaluator<'_> {
    /// The checklist items for a feature whose facts are `facts`, with `target` as the rung
    /// being considered.
    pub fn checklist(&self, facts: &Facts, target: u32) -> Vec<ChecklistResult> {
        let program = self.program();
        program
            .checklist
            .iter()
            .map(|item| {
                let result = self.truth(item.expr, &mut Scope::new(facts, target));
                ChecklistResult {
                    label: item.label.clone(),
                    checked: result.as_ref().ok().copied(),
                    undecided_because: result
                        .err()
                        .map(|u| causes(program, facts, &u))
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Decides whether `feature` (whose facts are `facts`) may be promoted to rung `target`.
    pub fn decide(&self, feature: &str, facts: &Facts, target: u32) -> Decision {
        let program = self.program();
        let mut requirements = Vec::new();
        // Up the ladder, whatever order the gates were declared (or extended by imports) in.
        let mut gates: Vec<&Gate> = program.gates.iter().filter(|g| g.to <= target).collect();
        gates.sort_by_key(|g| (g.from, g.to));
        for gate in gates {
            let gate_name = format!("{} -> {}", rung(program, gate.from), rung(program, gate.to));
            for req in &gate.requirements {
                let mut scope = Scope::new(facts, gate.to);
                let result = self.truth(req.expr, &mut scope);
                let outcome = match result {
                    Ok(true) => Outcome::Pass,
                    Ok(false) => Outcome::Fail,
                    Err(_) => Outcome::Inconclusive,
                };
                let mut why = Vec::new();
                let mut explainer = Explainer {
                    eval: self,
                    names: Vec::new(),
                    remedy: Vec::new(),
                };
                if outcome == Outcome::Fail {
                    let mut scope = Scope::new(facts, gate.to);
                    explainer.explain(req.expr, true, &mut scope, &mut why);
                    // Then what the sources of the facts it read said (a plugin's findings).
                    for note in scope.reads.iter().flat_map(|&slot| facts.notes(slot)) {
                        if !why.contains(note) {
                            why.push(note.clone());
                        }
                    }
                }
                requirements.push(RequirementResult {
                    gate: gate_name.clone(),
                    name: req.name.clone(),
                    kind: req.kind,
                    severity: req.severity,
                    outcome,
                    reads: reads(program, facts, &scope.reads),
                    undecided_because: result
                        .err()
                        .map(|u| causes(program, facts, &u))
                        .unwrap_or_default(),
                    why,
                    remedy: explainer.remedy,
                });
            }
        }
        let escalations = self.escalations(facts, target);
        let verdict = verdict(&requirements, &escalations);
        Decision {
            feature: feature.to_owned(),
            target: rung(program, target),
            verdict,
            requirements,
            escalations,
        }
    }
}

impl Evaluator<'_> {
    /// Every escalation of the policy over `facts`, with `target` as the rung considered: per
    /// feature with a feature's facts, or project-wide with the facts all features share.
    pub fn escalations(&self, facts: &Facts, target: u32) -> Vec<EscalationResult> {
        let program = self.program();
        program
            .escalations
            .iter()
            .map(|esc| {
                let mut scope = Scope::new(facts, target);
                let fired = self.truth(esc.when, &mut scope);
                // A hole that cannot be filled stays as the policy wrote it: `{feature.name}`
                // in a project-wide block.
                let explainer = Explainer {
                    eval: self,
                    names: Vec::new(),
                    remedy: Vec::new(),
                };
                let text = |t| {
                    self.fill(t, &mut Scope::new(facts, target), |hole| {
                        format!("{{{}}}", explainer.text(hole))
                    })
                    .0
                };
                EscalationResult {
                    title: text(&esc.title),
                    severity: esc.severity,
                    fired: fired.as_ref().ok().copied(),
                    undecided_because: fired
                        .err()
                        .map(|u| causes(program, facts, &u))
                        .unwrap_or_default(),
                    context: text(&esc.context),
                    impact: text(&esc.impact),
                    options: esc
                        .options
                        .iter()
                        .map(|o| (text(&o.title), text(&o.tradeoff)))
                        .collect(),
                    recommend: esc.recommend,
                    reason: text(&esc.reason),
                    reads: reads(program, facts, &scope.reads),
                }
            })
            .collect()
    }
}

/// Explains failures: which comparisons and bools fell short, in the words of the policy.
/// Locals have no names in the IR, so they read as what they stand for
/// (`feature.depends_on[1]`).
struct Explainer<'a, 'p> {
    eval: &'a Evaluator<'p>,
    /// How each local reads, by index.
    names: Vec<String>,
    /// What to change, one line per comparison or bool explained.
    remedy: Vec<String>,
}

impl<'a> Explainer<'a, '_> {
    /// Why `id` did not come out as `want`: the comparisons and bools responsible.
    fn explain(&mut self, id: NodeId, want: bool, scope: &mut Scope<'a>, out: &mut Vec<String>) {
        let program = self.eval.program();
        let Some(node) = program.node(id) else { return };
        match &node.kind {
            NodeKind::Binary {
                op: op @ (BinaryOp::And | BinaryOp::Or),
                lhs,
                rhs,
            } => {
                // Under `and` the operands that fell short of `want` explain it; under `or`
                // (wanting true) every operand did.
                for operand in [*lhs, *rhs] {
                    if self.eval.truth(operand, scope) == Ok(!want) || (*op == BinaryOp::Or) == want
                    {
                        self.explain(operand, want, scope, out);
                    }
                }
            }
            NodeKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => self.explain(*operand, !want, scope, out),
            NodeKind::Binary { op, lhs, rhs } if op.is_comparison() => {
                let (Ok(l), Ok(r)) = (self.eval.eval(*lhs, scope), self.eval.eval(*rhs, scope))
                else {
                    return;
                };
                let lhs_text = self.text(*lhs);
                let rhs_text = self.text(*rhs);
                let l = l.display(program).to_string();
                let r = r.display(program).to_string();
                let rhs_part = if rhs_text == r {
                    r
                } else {
                    format!("{rhs_text} ({r})")
                };
                let need = if want { "needs" } else { "must not be" };
                let symbol = op.symbol();
                self.remedy.push(if want {
                    format!("bring {lhs_text} to {symbol} {rhs_part}")
                } else {
                    format!("change {lhs_text} so that it is not {symbol} {rhs_part}")
                });
                out.push(if lhs_text == l {
                    format!("{l} {need} {} {rhs_part}", op.symbol())
                } else {
                    format!("{lhs_text} is {l}, {need} {} {rhs_part}", op.symbol())
                });
            }
            NodeKind::Quant {
                kind,
                var,
                over,
                body,
            } => self.quantifier(*kind, *var, *over, *body, want, scope, out),
            NodeKind::Rule { rule, args } => {
                let Some(rule) = program.rules.get(*rule as usize) else {
                    return;
                };
                let values: Result<Vec<_>, _> =
                    args.iter().map(|a| self.eval.eval(*a, scope)).collect();
                let Ok(values) = values else { return };
                let mut inner = Scope::new(scope.facts, scope.target);
                inner.locals_from(values);
                let arg_names = args.iter().map(|a| self.text(*a)).collect();
                let outer_names = std::mem::replace(&mut self.names, arg_names);
                let before = out.len();
                self.explain(rule.body, want, &mut inner, out);
                self.names = outer_names;
                if out.len() == before {
                    out.push(format!("rule `{}` is {}", rule.name, !want));
                }
            }
            _ => {
                if let Ok(v) = self.eval.eval(id, scope) {
                    let text = self.text(id);
                    let value = v.display(program).to_string();
                    self.remedy.push(format!("make {text} {want}"));
                    out.push(if text == value {
                        format!("{text} is not {want}")
                    } else {
                        format!("{text} is {value}")
                    });
                }
            }
        }
    }

    /// A quantifier that did not come out as `want`: the elements responsible.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one quantifier node"
    )]
    fn quantifier(
        &mut self,
        kind: QuantKind,
        var: u32,
        over: NodeId,
        body: NodeId,
        want: bool,
        scope: &mut Scope<'a>,
        out: &mut Vec<String>,
    ) {
        let Ok(list) = self.eval.eval(over, scope) else {
            return;
        };
        let Value::List(items) = &*list else {
            return;
        };
        let over_text = self.text(over);
        // The body outcome that made the quantifier miss `want`.
        let culprit = match (kind, want) {
            (QuantKind::All, true) | (QuantKind::Any, false) => false,
            (QuantKind::None, true) | (QuantKind::Any, true) | (QuantKind::All, false) => true,
            (QuantKind::None, false) => false,
            (QuantKind::Count, _) => {
                out.push(format!("{over_text} has {} items", items.len()));
                return;
            }
        };
        if kind == QuantKind::Any && want {
            out.push(if items.is_empty() {
                format!("{over_text} is empty")
            } else {
                format!("no item of {over_text} qualifies")
            });
            return;
        }
        let slot = var as usize;
        if self.names.len() <= slot {
            self.names.resize(slot + 1, String::new());
        }
        for (i, item) in parts(&list).enumerate() {
            scope.set_local(var, item);
            if self.eval.truth(body, scope) == Ok(culprit) {
                self.names[slot] = format!("{over_text}[{i}]");
                self.explain(body, !culprit, scope, out);
            }
        }
    }

    /// How an expression reads, for explanations: fact paths, fields, calls, constants.
    fn text(&self, id: NodeId) -> String {
        let program = self.eval.program();
        let Some(node) = program.node(id) else {
            return "…".to_owned();
        };
        match &node.kind {
            NodeKind::Slot(s) => program
                .slots
                .get(*s as usize)
                .map_or_else(|| "…".to_owned(), |s| s.path.clone()),
            NodeKind::Const(c) => program
                .consts
                .get(*c as usize)
                .map(|c| Value::from_const(c).display(program).to_string())
                .unwrap_or_default(),
            NodeKind::Field { base, index } | NodeKind::Project { base, index } => {
                let name = program
                    .type_of(*base)
                    .and_then(|t| match t {
                        Type::Record(fields) => fields.get(*index as usize),
                        Type::List(elem) => match &**elem {
                            Type::Record(fields) => fields.get(*index as usize),
                            _ => None,
                        },
                        _ => None,
                    })
                    .map_or("…", |(n, _)| n.as_str());
                format!("{}.{name}", self.text(*base))
            }
            NodeKind::Call { builtin, args } => {
                let args: Vec<String> = args.iter().map(|a| self.text(*a)).collect();
                format!("{}({})", builtin.name(), args.join(", "))
            }
            NodeKind::Rule { rule, args } => {
                let name = program
                    .rules
                    .get(*rule as usize)
                    .map_or("…", |r| r.name.as_str());
                if args.is_empty() {
                    name.to_owned()
                } else {
                    let args: Vec<String> = args.iter().map(|a| self.text(*a)).collect();
                    format!("{name}({})", args.join(", "))
                }
            }
            NodeKind::Binary { op, lhs, rhs } => {
                format!("{} {} {}", self.text(*lhs), op.symbol(), self.text(*rhs))
            }
            NodeKind::Target => "target".to_owned(),
            NodeKind::Local(i) => self
                .names
                .get(*i as usize)
                .filter(|n| !n.is_empty())
                .cloned()
                .unwrap_or_else(|| "it".to_owned()),
            _ => "…".to_owned(),
        }
    }
}

fn rung(program: &Program, index: u32) -> String {
    program
        .rungs
        .get(index as usize)
        .map_or_else(|| format!("rung {index}"), |r| r.name.clone())
}

fn reads(program: &Program, facts: &Facts, slots: &[u32]) -> Vec<Read> {
    slots
        .iter()
        .filter_map(|&slot| {
            let info = program.slots.get(slot as usize)?;
            let fact = facts.get(slot);
            let json = fact
                .value
                .as_ref()
                .ok()
                .map(|v| crate::record::to_json(program, v, &info.ty));
            Some(Read {
                path: info.path.clone(),
                value: match (&fact.value, &json) {
                    // Records by field name, as a facts file writes them.
                    (Ok(Value::List(_) | Value::Record(_)), Some(json)) => json.to_string(),
                    (Ok(v), _) => v.display(program).to_string(),
                    (Err(absent), _) => absent.to_string(),
                },
                state: match &fact.value {
                    Ok(_) => FactState::Present,
                    Err(Absent::Missing) => FactState::Missing,
                    Err(Absent::Stale { .. }) => FactState::Stale,
                    Err(Absent::Error(_)) => FactState::Error,
                },
                json,
                source: fact.source.as_ref().map(|s| s.0.to_string()),
            })
        })
        .collect()
}

fn causes(program: &Program, facts: &Facts, unknown: &Unknown) -> Vec<String> {
    unknown
        .0
        .iter()
        .map(|cause| match cause {
            Cause::Fact(slot) => {
                let path = program
                    .slots
                    .get(*slot as usize)
                    .map_or("?", |s| s.path.as_str());
                let fact = facts.get(*slot);
                match (&fact.value, &fact.source) {
                    // Where it was looked for says what to supply.
                    (Err(Absent::Missing), Some(source)) => {
                        format!("{path} is missing: {}", source.0)
                    }
                    (Err(absent), _) => format!("{path} is {absent}"),
                    (Ok(_), _) => format!("{path} could not be read"),
                }
            }
            Cause::Limit(reason) => reason.clone(),
        })
        .collect()
}

/// The gate verdict, in the order of the module docs.
pub fn verdict(requirements: &[RequirementResult], escalations: &[EscalationResult]) -> Verdict {
    let required = |outcome| {
        requirements
            .iter()
            .any(|r| r.kind == ReqKind::Require && r.outcome == outcome)
    };
    Tally {
        failed: required(Outcome::Fail),
        undecided: required(Outcome::Inconclusive),
        escalated: escalations.iter().any(|e| e.fired == Some(true)),
        warned: requirements
            .iter()
            .any(|r| r.kind == ReqKind::Warn && r.outcome != Outcome::Pass),
    }
    .verdict()
}

/// What decides a verdict.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// A `require` failed.
    failed: bool,
    /// A `require` could not be decided.
    undecided: bool,
    /// An escalation fired.
    escalated: bool,
    /// A `warn` failed or could not be decided.
    warned: bool,
}

impl Tally {
    fn verdict(self) -> Verdict {
        if self.failed {
            Verdict::Fail
        } else if self.undecided {
            Verdict::Inconclusive
        } else if self.escalated {
            Verdict::Escalate
        } else if self.warned {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }

    fn requirement(&mut self, kind: ReqKind, result: Result<bool, Unknown>) {
        match (kind, result) {
            (_, Ok(true)) => {}
            (ReqKind::Require, Ok(false)) => self.failed = true,
            (ReqKind::Require, Err(_)) => self.undecided = true,
            (ReqKind::Warn, _) => self.warned = true,
        }
    }
}

impl Evaluator<'_> {
    /// The verdict of the gates in `gates` (and, with `escalations`, the policy's
    /// escalations) for one feature, without explanations: what a pipeline deciding many
    /// features at once needs. Agrees with [`Evaluator::decide`].
    pub fn verdict_of<'g>(
        &self,
        gates: impl IntoIterator<Item = &'g Gate>,
        escalations: bool,
        facts: &Facts,
        target: u32,
    ) -> Verdict {
        let mut tally = Tally::default();
        for gate in gates {
            // One scope for the gate: its locals' storage is reused requirement after
            // requirement (every evaluation leaves it as it found it).
            let mut scope = Scope::quiet(facts, gate.to);
            for req in &gate.requirements {
                let result = self.truth(req.expr, &mut scope);
                tally.requirement(req.kind, result);
            }
        }
        if escalations {
            tally.escalated = self
                .program()
                .escalations
                .iter()
                .any(|e| self.truth(e.when, &mut Scope::quiet(facts, target)) == Ok(true));
        }
        tally.verdict()
    }
}

/// Why a promotion is refused before any gate is evaluated: deciding it would read as a
/// pass with nothing checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Refused {
    /// The feature already stands on the target rung or above it.
    #[error("feature `{feature}` already stands on `{stage}`, at or above `{target}`")]
    #[diagnostic(
        code(phasev::eval::already_promoted),
        help(
            "ask for a rung above `{stage}`, or re-check the gates up to `{target}` with \
             `phasev-eval explain --feature {feature} --to {target}`"
        )
    )]
    AlreadyPromoted {
        feature: String,
        stage: String,
        target: String,
    },
    /// The target is the first rung, where every feature starts.
    #[error("`{rung}` is the first rung of the ladder: no gate leads to it")]
    #[diagnostic(
        code(phasev::eval::first_rung),
        help("features start on `{rung}`; ask for a rung above it")
    )]
    FirstRung { rung: String },
    /// No gate leads into a rung on the way to the target.
    #[error("no gate leads into `{rung}`, so a promotion to it would pass unchecked")]
    #[diagnostic(
        code(phasev::eval::missing_gate),
        help(
            "add `gate {below} -> {rung} {{ … }}` to the policy, or `gate {below} -> {rung} open` \
             if promotion to `{rung}` needs no check"
        )
    )]
    MissingGate { rung: String, below: String },
}

/// Refuses a promotion to `target` that no gate decides: the lowest rung on the way (the
/// first rung excepted) that no gate leads into. Gates are monotonic, so a hole anywhere
/// below the target is a hole in its promotion too.
pub fn check_gates(program: &Program, target: u32) -> Result<(), Refused> {
    let ungated = (1..=target).find(|&r| !program.gates.iter().any(|g| g.to == r));
    match ungated {
        Some(r) => Err(Refused::MissingGate {
            rung: rung(program, r),
            below: rung(program, r - 1),
        }),
        None => Ok(()),
    }
}

/// [`check_gates`], for `feature` standing on `stage` (when known) and asking for `target`:
/// a rung it already stands on, and the first rung, are refused too.
pub fn check_promotion(
    program: &Program,
    feature: &str,
    stage: Option<u32>,
    target: u32,
) -> Result<(), Refused> {
    match stage {
        Some(stage) if stage >= target => Err(Refused::AlreadyPromoted {
            feature: feature.to_owned(),
            stage: rung(program, stage),
            target: rung(program, target),
        }),
        None if target == 0 => Err(Refused::FirstRung {
            rung: rung(program, target),
        }),
        _ => check_gates(program, target),
    }
}
