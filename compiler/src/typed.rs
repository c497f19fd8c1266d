//! The checked program: every name resolved, every expression typed, all files merged.
//!
//! Produced by [`crate::check`] only when there are no errors; read by [`crate::analyze`] and
//! [`crate::lower`]. Indices (`FactId`, `RuleId`, …) point into the vectors of [`Program`].

use crate::ast::{BinaryOp, QuantKind, ReqKind, Severity, Span, UnaryOp};
use crate::types::{Const, Type};

pub type FactId = usize;
pub type RuleId = usize;
pub type CheckId = usize;
pub type RungId = u32;
/// A local variable: rule parameters are `0..params`, each quantifier adds the next index.
pub type LocalId = u32;

#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub rungs: Vec<Rung>,
    /// Every fact the program reads, each once, in first-use order.
    pub facts: Vec<Fact>,
    /// Every `fact` declaration, used or not (for the unused-fact analysis).
    pub declared_facts: Vec<DeclaredFact>,
    pub rules: Vec<Rule>,
    pub checks: Vec<Check>,
    pub gates: Vec<Gate>,
    pub escalations: Vec<Escalation>,
    pub checklist: Vec<ChecklistItem>,
}

#[derive(Clone, Debug)]
pub struct Rung {
    pub name: String,
    pub label: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    /// The full dotted path of the fact, as the schema names it (`tests.unit.failed`).
    pub path: String,
    pub ty: Type,
    pub origin: FactOrigin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactOrigin {
    /// A built-in namespace, filled by a collector.
    Builtin,
    /// A `fact` declaration of the policy.
    Declared,
    /// An output of a plugin check.
    Check(CheckId),
}

#[derive(Clone, Debug)]
pub struct DeclaredFact {
    pub path: String,
    pub ty: Type,
    pub span: Span,
    pub range: Option<crate::ir::SlotRange>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub ret: Type,
    pub body: Expr,
    /// The span of the rule's name in its declaration.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub plugin: String,
    pub config: Vec<(String, Const)>,
    /// The outputs policies may read as `<check>.<output>`.
    pub outputs: Vec<(String, Type)>,
    /// The facts its plugin is given.
    pub reads: Vec<FactId>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Gate {
    pub from: RungId,
    pub to: RungId,
    pub requirements: Vec<Requirement>,
    /// Declared `open`: it has no requirements on purpose (an empty gate is a warning).
    pub open: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Requirement {
    pub kind: ReqKind,
    pub severity: Severity,
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Escalation {
    pub title: Text,
    pub when: Expr,
    pub severity: Severity,
    pub context: Text,
    pub impact: Text,
    pub options: Vec<EscalationOption>,
    pub recommend: Recommendation,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct EscalationOption {
    pub title: Text,
    pub tradeoff: Text,
}

#[derive(Clone, Debug)]
pub struct Recommendation {
    /// 1-based index into the options.
    pub option: u32,
    pub reason: Text,
}

#[derive(Clone, Debug)]
pub struct ChecklistItem {
    pub label: String,
    pub expr: Expr,
    pub span: Span,
}

/// A message with interpolation holes filled at evaluation time.
#[derive(Clone, Debug)]
pub struct Text {
    pub parts: Vec<TextPart>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TextPart {
    Text(String),
    Hole(Expr),
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Const(Const),
    Fact(FactId),
    Local(LocalId),
    /// The rung being evaluated (the gate's target).
    Target,
    /// A field of a record.
    Field(Box<Expr>, String),
    /// A field of every record of a list: `kafka.groups.lag` is a `list<int>`.
    Project(Box<Expr>, String),
    Unary(UnaryOp, Box<Expr>),
    /// An operator and its operands, in one allocation (binary nodes are the most common).
    Binary(BinaryOp, Box<[Expr; 2]>),
    Call(Builtin, Vec<Expr>),
    /// A rule reference or call, with its arguments.
    Rule(RuleId, Vec<Expr>),
    List(Vec<Expr>),
    Quant {
        kind: QuantKind,
        var: LocalId,
        over: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// A string with holes, used as a value.
    Interp(Text),
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Builtin {
    /// `len(list)` or `len(string)`: int.
    Len,
    /// `exists(path)`: whether a fact is present; never inconclusive.
    Exists,
    /// `matches(string, "regex")`: bool; the pattern is a constant checked at compile time.
    Matches,
    /// `min(list)` or `min(a, b, …)`.
    Min,
    /// `max(list)` or `max(a, b, …)`.
    Max,
    /// `sum(list)`.
    Sum,
    /// `known(e)`: true when `e` has a value; inconclusive (with `e`'s causes) when it has
    /// none. A requirement that what an escalation reads is known. (Last: the IR stores
    /// builtins by their index.)
    Known,
}

impl Builtin {
    pub const ALL: &'static [Builtin] = &[
        Builtin::Len,
        Builtin::Exists,
        Builtin::Matches,
        Builtin::Min,
        Builtin::Max,
        Builtin::Sum,
        Builtin::Known,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Len => "len",
            Builtin::Exists => "exists",
            Builtin::Matches => "matches",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Sum => "sum",
            Builtin::Known => "known",
        }
    }

    /// How it is called and what it gives, for editors (hover and completion).
    pub fn signature(self) -> &'static str {
        match self {
            Builtin::Len => "len(xs: list<T> | string) -> int",
            Builtin::Exists => {
                "exists(path) -> bool  (whether the fact is present; never inconclusive)"
            }
            Builtin::Matches => "matches(text: string, pattern: \"regex\") -> bool",
            Builtin::Min => "min(xs: list<T>) -> T  or  min(a: T, b: T, …) -> T",
            Builtin::Max => "max(xs: list<T>) -> T  or  max(a: T, b: T, …) -> T",
            Builtin::Sum => "sum(xs: list<T>) -> T  (numbers, durations or percentages)",
            Builtin::Known => "known(e) -> bool  (true, or inconclusive with what `e` lacked)",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }
}

impl Expr {
    /// Visits this expression and every sub-expression, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Const(_) | ExprKind::Fact(_) | ExprKind::Local(_) | ExprKind::Target => {}
            ExprKind::Field(e, _) | ExprKind::Project(e, _) | ExprKind::Unary(_, e) => e.walk(f),
            ExprKind::Binary(_, operands) => {
                for operand in operands.iter() {
                    operand.walk(f);
                }
            }
            ExprKind::Call(_, args) | ExprKind::Rule(_, args) | ExprKind::List(args) => {
                for a in args {
                    a.walk(f);
                }
            }
            ExprKind::Quant { over, body, .. } => {
                over.walk(f);
                body.walk(f);
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                cond.walk(f);
                then.walk(f);
                otherwise.walk(f);
            }
            ExprKind::Interp(text) => text.walk(f),
        }
    }
}

impl Text {
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        for part in &self.parts {
            if let TextPart::Hole(e) = part {
                e.walk(f);
            }
        }
    }
}

impl Program {
    /// Every top-level expression of the program (rule bodies, requirements, escalation
    /// conditions and texts, checklist items), for passes that look at all of them.
    pub fn walk_exprs(&self, f: &mut dyn FnMut(&Expr)) {
        for r in &self.rules {
            r.body.walk(f);
        }
        for g in &self.gates {
            for r in &g.requirements {
                r.expr.walk(f);
            }
        }
        for e in &self.escalations {
            e.when.walk(f);
            for t in [&e.title, &e.context, &e.impact, &e.recommend.reason] {
                t.walk(f);
            }
            for o in &e.options {
                o.title.walk(f);
                o.tradeoff.walk(f);
            }
        }
        for c in &self.checklist {
            c.expr.walk(f);
        }
    }
}
