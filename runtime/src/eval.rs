//! The evaluator: IR expressions over one feature's facts, with three-valued logic.
//!
//! An expression is either a value or *unknown*, with the causes (facts that were missing,
//! stale or errored; limits that were hit). `and`/`or` short-circuit over unknowns as in
//! three-valued logic (`false and unknown` is false, `true or unknown` is true); everything
//! else that touches an unknown is unknown. Nothing here panics on a malformed program (one
//! read from a damaged IR file): a node that makes no sense is unknown, with that as its cause.

use std::collections::BTreeSet;

use phasev_compiler::ast::{BinaryOp, QuantKind, UnaryOp};
use phasev_compiler::ir::{NodeId, NodeKind, Program, Text, TextPart};
use phasev_compiler::typed::Builtin;
use phasev_compiler::types::Type;
use regex::Regex;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::facts::Facts;
use crate::value::Value;

/// Rule calls nest at most this deep.
pub const MAX_CALL_DEPTH: usize = 64;
/// Lists longer than this are not evaluated (quantifiers, `sum`, `in`).
pub const MAX_LIST_LEN: usize = 1_000_000;

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// The fact in this slot is missing, stale or errored.
    Fact(u32),
    /// The evaluation itself could not go on (a limit, a division by zero, a damaged IR).
    Limit(String),
}

/// The causes of an unknown value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unknown(pub BTreeSet<Cause>);

impl Unknown {
    fn limit(reason: impl Into<String>) -> Unknown {
        Unknown(BTreeSet::from([Cause::Limit(reason.into())]))
    }

    fn merge(mut self, other: Unknown) -> Unknown {
        self.0.extend(other.0);
        self
    }
}

pub type Outcome = Result<Value, Unknown>;

/// A program ready to evaluate: constants converted and patterns compiled once.
#[derive(Debug)]
pub struct Evaluator<'p> {
    program: &'p Program,
    consts: Vec<Value>,
    patterns: FxHashMap<u32, Regex>,
}

/// The state of one evaluation: the facts, the rung being evaluated, locals, and the slots
/// read so far.
#[derive(Debug)]
pub struct Scope<'f> {
    pub facts: &'f Facts,
    pub target: u32,
    /// Every frame's locals, one after the other; the current frame starts at `base`.
    locals: Vec<Value>,
    base: usize,
    depth: usize,
    /// Whether to record `reads` (explanations need them, verdicts do not).
    track: bool,
    /// Slots read, in the order first read.
    pub reads: Vec<u32>,
}

impl<'f> Scope<'f> {
    pub fn new(facts: &'f Facts, target: u32) -> Scope<'f> {
        Scope {
            facts,
            target,
            locals: Vec::new(),
            base: 0,
            depth: 0,
            track: true,
            reads: Vec::new(),
        }
    }

    /// A scope that does not record what it reads: for verdicts without explanations.
    pub fn quiet(facts: &'f Facts, target: u32) -> Scope<'f> {
        Scope {
            track: false,
            ..Scope::new(facts, target)
        }
    }

    /// Starts a rule's body: its parameters are the first locals.
    pub(crate) fn locals_from(&mut self, values: Vec<Value>) {
        self.locals = values;
        self.base = 0;
    }

    /// Binds local `index` (a quantifier's variable) to `value`.
    pub(crate) fn set_local(&mut self, index: u32, value: Value) {
        let i = self.base + index as usize;
        if self.locals.len() <= i {
            self.locals.resize(i + 1, Value::Bool(false));
        }
        self.locals[i] = value;
    }

    fn read(&mut self, slot: u32) {
        if self.track && !self.reads.contains(&slot) {
            self.reads.push(slot);
        }
    }
}

impl<'p> Evaluator<'p> {
    pub fn new(program: &'p Program) -> Evaluator<'p> {
        let consts = program.consts.iter().map(Value::from_const).collect();
        let mut patterns = FxHashMap::default();
        for node in &program.nodes {
            if let NodeKind::Call {
                builtin: Builtin::Matches,
                args,
            } = &node.kind
                && let Some(NodeKind::Const(c)) =
                    args.get(1).and_then(|a| program.node(*a)).map(|n| &n.kind)
                && let Some(phasev_compiler::types::Const::Str(text)) =
                    program.consts.get(*c as usize)
                && let Ok(re) = Regex::new(text)
            {
                patterns.insert(*c, re);
            }
        }
        Evaluator {
            program,
            consts,
            patterns,
        }
    }

    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// A bool expression: `Ok(true)`, `Ok(false)` or unknown.
    pub fn truth(&self, id: NodeId, scope: &mut Scope<'_>) -> Result<bool, Unknown> {
        match self.eval(id, scope)? {
            Value::Bool(b) => Ok(b),
            _ => Err(Unknown::limit("a condition is not a bool (damaged IR)")),
        }
    }

    pub fn eval(&self, id: NodeId, scope: &mut Scope<'_>) -> Outcome {
        let Some(node) = self.program.node(id) else {
            return Err(Unknown::limit("a node is missing (damaged IR)"));
        };
        match &node.kind {
            NodeKind::Const(c) => self
                .consts
                .get(*c as usize)
                .cloned()
                .ok_or_else(|| Unknown::limit("a constant is missing (damaged IR)")),
            NodeKind::Slot(slot) => {
                scope.read(*slot);
                match &scope.facts.get(*slot).value {
                    Ok(v) => Ok(v.clone()),
                    Err(_) => Err(Unknown(BTreeSet::from([Cause::Fact(*slot)]))),
                }
            }
            NodeKind::Local(i) => scope
                .locals
                .get(scope.base + *i as usize)
                .cloned()
                .ok_or_else(|| Unknown::limit("a local is missing (damaged IR)")),
            NodeKind::Target => Ok(Value::Rung(scope.target)),
            NodeKind::Field { base, index } => match self.eval(*base, scope)? {
                Value::Record(fields) => field(&fields, *index),
                _ => Err(Unknown::limit("a field of a non-record (damaged IR)")),
            },
            NodeKind::Project { base, index } => self.project(*base, *index, scope),
            NodeKind::Unary { op, operand } => {
                let v = self.eval(*operand, scope)?;
                match (op, v) {
                    (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (UnaryOp::Neg, Value::Int(n)) => n
                        .checked_neg()
                        .map(Value::Int)
                        .ok_or_else(|| Unknown::limit("integer overflow")),
                    (UnaryOp::Neg, Value::Float(x)) => Ok(Value::Float(-x)),
                    (UnaryOp::Neg, Value::Duration(x)) => Ok(Value::Duration(-x)),
                    (UnaryOp::Neg, Value::Percent(x)) => Ok(Value::Percent(-x)),
                    _ => Err(Unknown::limit("an operator on the wrong type (damaged IR)")),
                }
            }
            NodeKind::Binary { op, lhs, rhs } => self.binary(*op, *lhs, *rhs, node.ty, scope),
            NodeKind::Call { builtin, args } => self.call(*builtin, args, scope),
            NodeKind::Rule { rule, args } => self.rule_call(*rule, args, scope),
            NodeKind::List(items) => items
                .iter()
                .map(|item| self.eval(*item, scope))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Value::List(v.into())),
            NodeKind::Quant {
                kind,
                var,
                over,
                body,
            } => self.quantifier(*kind, *var, *over, *body, scope),
            NodeKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.truth(*cond, scope)? {
                    self.eval(*then, scope)
                } else {
                    self.eval(*otherwise, scope)
                }
            }
            NodeKind::Interp(text) => self.render(text, scope).map(|s| Value::Str(s.into())),
        }
    }

    /// Fills the holes of a text; unknown if any hole is.
    pub fn render(&self, text: &Text, scope: &mut Scope<'_>) -> Result<String, Unknown> {
        let mut out = String::new();
        let mut unknown: Option<Unknown> = None;
        for part in &text.parts {
            match part {
                TextPart::Text(t) => out.push_str(t),
                TextPart::Hole(id) => match self.eval(*id, scope) {
                    Ok(Value::Str(s)) => out.push_str(&s),
                    Ok(v) => out.push_str(&v.display(self.program).to_string()),
                    Err(u) => {
                        out.push_str("{?}");
                        unknown = Some(unknown.unwrap_or_default().merge(u));
                    }
                },
            }
        }
        match unknown {
            Some(u) => Err(u),
            None => Ok(out),
        }
    }

    // The rarer node kinds live in their own functions, which keeps `eval`'s frame small: it
    // recurses for every node.
    #[inline(never)]
    fn project(&self, base: NodeId, index: u32, scope: &mut Scope<'_>) -> Outcome {
        match self.eval(base, scope)? {
            Value::List(items) => items
                .iter()
                .map(|item| match item {
                    Value::Record(fields) => field(fields, index),
                    _ => Err(Unknown::limit("a field of a non-record (damaged IR)")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Value::List(v.into())),
            _ => Err(Unknown::limit("a projection of a non-list (damaged IR)")),
        }
    }

    #[inline(never)]
    fn rule_call(&self, rule: u32, args: &[NodeId], scope: &mut Scope<'_>) -> Outcome {
        let Some(rule) = self.program.rules.get(rule as usize) else {
            return Err(Unknown::limit("a rule is missing (damaged IR)"));
        };
        if scope.depth >= MAX_CALL_DEPTH {
            return Err(Unknown::limit(format!(
                "rules call each other more than {MAX_CALL_DEPTH} deep"
            )));
        }
        // Arguments are evaluated in the caller's frame, then become the callee's first
        // locals, after everything the caller holds.
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval(*arg, scope)?);
        }
        let (caller, frame) = (scope.base, scope.locals.len());
        scope.locals.extend(values);
        scope.base = frame;
        scope.depth += 1;
        let out = self.eval(rule.body, scope);
        scope.depth -= 1;
        scope.locals.truncate(frame);
        scope.base = caller;
        out
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: NodeId,
        rhs: NodeId,
        ty: u32,
        scope: &mut Scope<'_>,
    ) -> Outcome {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            // The value that decides on its own: false for `and`, true for `or`.
            let decisive = op == BinaryOp::Or;
            let l = self.truth(lhs, scope);
            if l == Ok(decisive) {
                return Ok(Value::Bool(decisive));
            }
            let r = self.truth(rhs, scope);
            return match (l, r) {
                (_, Ok(b)) if b == decisive => Ok(Value::Bool(decisive)),
                (Ok(_), Ok(_)) => Ok(Value::Bool(!decisive)),
                (Err(a), Err(b)) => Err(a.merge(b)),
                (Err(u), Ok(_)) | (Ok(_), Err(u)) => Err(u),
            };
        }
        let l = self.eval(lhs, scope);
        let r = self.eval(rhs, scope);
        let (l, r) = match (l, r) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(a), Err(b)) => return Err(a.merge(b)),
            (Err(u), _) | (_, Err(u)) => return Err(u),
        };
        match op {
            BinaryOp::Eq => Ok(Value::Bool(equal(&l, &r))),
            BinaryOp::Ne => Ok(Value::Bool(!equal(&l, &r))),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ord =
                    order(&l, &r).ok_or_else(|| Unknown::limit("values that cannot be ordered"))?;
                Ok(Value::Bool(match op {
                    BinaryOp::Lt => ord.is_lt(),
                    BinaryOp::Le => ord.is_le(),
                    BinaryOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                }))
            }
            BinaryOp::In => match &r {
                Value::List(items) => Ok(Value::Bool(items.iter().any(|i| equal(i, &l)))),
                Value::Str(hay) => match &l {
                    Value::Str(needle) => Ok(Value::Bool(hay.contains(&**needle))),
                    _ => Err(Unknown::limit("`in` on the wrong types (damaged IR)")),
                },
                _ => Err(Unknown::limit("`in` on the wrong types (damaged IR)")),
            },
            _ => self.arithmetic(op, &l, &r, ty),
        }
    }

    fn arithmetic(&self, op: BinaryOp, l: &Value, r: &Value, ty: u32) -> Outcome {
        if let (Value::Int(a), Value::Int(b)) = (l, r)
            && op != BinaryOp::Div
        {
            let v = match op {
                BinaryOp::Add => a.checked_add(*b),
                BinaryOp::Sub => a.checked_sub(*b),
                _ => a.checked_mul(*b),
            };
            return v
                .map(Value::Int)
                .ok_or_else(|| Unknown::limit("integer overflow"));
        }
        let (Some(a), Some(b)) = (l.number(), r.number()) else {
            return Err(Unknown::limit("arithmetic on the wrong types (damaged IR)"));
        };
        // `date ± duration` counts in days; every other mix is in the IR's units already.
        let (a, b) = match (l, r) {
            (Value::Date(_), Value::Duration(_)) => (a, b / 86_400_000.0),
            _ => (a, b),
        };
        let v = match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            _ if b == 0.0 => return Err(Unknown::limit("division by zero")),
            _ => a / b,
        };
        if !v.is_finite() {
            return Err(Unknown::limit("a number out of range"));
        }
        Ok(match self.program.types.get(ty as usize) {
            Some(Type::Duration) => match (l, r) {
                (Value::Date(_), Value::Date(_)) => Value::Duration(v * 86_400_000.0),
                _ => Value::Duration(v),
            },
            Some(Type::Percent) => Value::Percent(v),
            Some(Type::Date) => Value::Date(v.floor() as i64),
            Some(Type::Int) => Value::Int(v as i64),
            _ => Value::Float(v),
        })
    }

    fn call(&self, builtin: Builtin, args: &[NodeId], scope: &mut Scope<'_>) -> Outcome {
        match builtin {
            Builtin::Exists => {
                let Some(&arg) = args.first() else {
                    return Err(Unknown::limit("`exists` without an argument (damaged IR)"));
                };
                let present = match self.program.node(arg).map(|n| &n.kind) {
                    Some(NodeKind::Slot(slot)) => {
                        scope.read(*slot);
                        scope.facts.get(*slot).value.is_ok()
                    }
                    _ => self.eval(arg, scope).is_ok(),
                };
                Ok(Value::Bool(present))
            }
            Builtin::Matches => {
                let text = match args.first().map(|a| self.eval(*a, scope)) {
                    Some(Ok(Value::Str(s))) => s,
                    Some(Err(u)) => return Err(u),
                    _ => return Err(Unknown::limit("`matches` on a non-string (damaged IR)")),
                };
                let pattern = args.get(1).and_then(|a| match self.program.node(*a)?.kind {
                    NodeKind::Const(c) => self.patterns.get(&c),
                    _ => None,
                });
                match pattern {
                    Some(re) => Ok(Value::Bool(re.is_match(&text))),
                    None => Err(Unknown::limit("`matches` without a valid pattern")),
                }
            }
            Builtin::Len => match args.first().map(|a| self.eval(*a, scope)) {
                Some(Ok(Value::List(items))) => Ok(Value::Int(items.len() as i64)),
                Some(Ok(Value::Str(s))) => Ok(Value::Int(s.chars().count() as i64)),
                Some(Err(u)) => Err(u),
                _ => Err(Unknown::limit("`len` of the wrong type (damaged IR)")),
            },
            Builtin::Min | Builtin::Max | Builtin::Sum => match args {
                [one] => {
                    // `max(xs.field)`: over the records' fields, without building the list.
                    let projected = match self.program.node(*one).map(|n| &n.kind) {
                        Some(NodeKind::Project { base, index }) => Some((*base, *index)),
                        _ => None,
                    };
                    let list = self.eval(projected.map_or(*one, |(base, _)| base), scope)?;
                    let Value::List(items) = list else {
                        return Err(Unknown::limit("a list was expected (damaged IR)"));
                    };
                    let mut refs: SmallVec<[&Value; 8]> = SmallVec::with_capacity(items.len());
                    for item in items.iter() {
                        refs.push(match (projected, item) {
                            (None, v) => v,
                            (Some((_, index)), Value::Record(fields)) => {
                                fields.get(index as usize).ok_or_else(|| {
                                    Unknown::limit("a record field is missing (damaged IR)")
                                })?
                            }
                            _ => {
                                return Err(Unknown::limit("a field of a non-record (damaged IR)"));
                            }
                        });
                    }
                    aggregate(builtin, &refs)
                }
                many => {
                    let values = many
                        .iter()
                        .map(|a| self.eval(*a, scope))
                        .collect::<Result<Vec<_>, _>>()?;
                    let refs: SmallVec<[&Value; 8]> = values.iter().collect();
                    aggregate(builtin, &refs)
                }
            },
        }
    }

    fn quantifier(
        &self,
        kind: QuantKind,
        var: u32,
        over: NodeId,
        body: NodeId,
        scope: &mut Scope<'_>,
    ) -> Outcome {
        let Value::List(items) = self.eval(over, scope)? else {
            return Err(Unknown::limit("a quantifier over a non-list (damaged IR)"));
        };
        if items.len() > MAX_LIST_LEN {
            return Err(Unknown::limit(format!(
                "a list of {} items (at most {MAX_LIST_LEN})",
                items.len()
            )));
        }
        let mut count = 0i64;
        let mut unknown: Option<Unknown> = None;
        for item in items.iter() {
            scope.set_local(var, item.clone());
            match self.truth(body, scope) {
                Ok(true) => {
                    count += 1;
                    if kind == QuantKind::Any {
                        return Ok(Value::Bool(true));
                    }
                    if kind == QuantKind::None {
                        return Ok(Value::Bool(false));
                    }
                }
                Ok(false) if kind == QuantKind::All => return Ok(Value::Bool(false)),
                Ok(false) => {}
                Err(u) => unknown = Some(unknown.unwrap_or_default().merge(u)),
            }
        }
        if let Some(u) = unknown {
            return Err(u);
        }
        Ok(match kind {
            QuantKind::All | QuantKind::None => Value::Bool(true),
            QuantKind::Any => Value::Bool(false),
            QuantKind::Count => Value::Int(count),
        })
    }
}

fn field(fields: &[Value], index: u32) -> Outcome {
    fields
        .get(index as usize)
        .cloned()
        .ok_or_else(|| Unknown::limit("a record field is missing (damaged IR)"))
}

/// Equality across the numeric kinds an int and a float unify to.
fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => *a as f64 == *b,
        _ => l == r,
    }
}

fn order(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => l.number()?.partial_cmp(&r.number()?),
    }
}

fn aggregate(builtin: Builtin, items: &[&Value]) -> Outcome {
    if items.len() > MAX_LIST_LEN {
        return Err(Unknown::limit("a list too long to aggregate"));
    }
    if builtin == Builtin::Sum {
        let Some(first) = items.first() else {
            return Ok(Value::Int(0));
        };
        if let Value::Int(_) = first {
            let mut total = 0i64;
            for item in items {
                let Value::Int(n) = *item else {
                    return Err(Unknown::limit("`sum` of mixed types (damaged IR)"));
                };
                total = total
                    .checked_add(*n)
                    .ok_or_else(|| Unknown::limit("integer overflow"))?;
            }
            return Ok(Value::Int(total));
        }
        let total: f64 = items.iter().filter_map(|v| v.number()).sum();
        return Ok(match *first {
            Value::Duration(_) => Value::Duration(total),
            Value::Percent(_) => Value::Percent(total),
            _ => Value::Float(total),
        });
    }
    let mut best: Option<&Value> = None;
    for &item in items {
        let better = match best {
            None => true,
            Some(b) => match order(item, b) {
                Some(o) => {
                    (builtin == Builtin::Min && o.is_lt()) || (builtin == Builtin::Max && o.is_gt())
                }
                None => return Err(Unknown::limit("values that cannot be ordered")),
            },
        };
        if better {
            best = Some(item);
        }
    }
    best.cloned().ok_or_else(|| {
        Unknown::limit(format!(
            "`{}` of an empty list",
            if builtin == Builtin::Min {
                "min"
            } else {
                "max"
            }
        ))
    })
}
