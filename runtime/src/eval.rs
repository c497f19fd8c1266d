//! The evaluator: IR expressions over one feature's facts, with three-valued logic.
//!
//! An expression is either a value or *unknown*, with the causes (facts that were missing,
//! stale or errored; limits that were hit). `and`/`or` short-circuit over unknowns as in
//! three-valued logic (`false and unknown` is false, `true or unknown` is true); everything
//! else that touches an unknown is unknown. Nothing here panics on a malformed program (one
//! read from a damaged IR file): a node that makes no sense is unknown, with that as its cause.

use std::borrow::Cow;
use std::collections::BTreeSet;

use phasev_compiler::ast::{BinaryOp, QuantKind, UnaryOp};
use phasev_compiler::ir::{Node, NodeId, NodeKind, Program, Text, TextPart};
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

/// The causes of an unknown value. Boxed: a known outcome is the common one, and a
/// `Result<bool, Unknown>` then fits in two registers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unknown(pub Box<BTreeSet<Cause>>);

// Unknowns are built out of line: evaluation code then stays small on the common path.
impl Unknown {
    #[cold]
    #[inline(never)]
    fn new(cause: Cause) -> Unknown {
        Unknown(Box::new(BTreeSet::from([cause])))
    }

    #[cold]
    #[inline(never)]
    fn limit(reason: impl Into<String>) -> Unknown {
        Unknown::new(Cause::Limit(reason.into()))
    }

    fn merge(mut self, other: Unknown) -> Unknown {
        self.0.extend(*other.0);
        self
    }
}

/// A value, or why there is none. Facts, constants and their parts are borrowed (`'a` is
/// the life of the facts and the evaluator), so reading them copies nothing; computed values
/// are owned.
pub type Outcome<'a> = Result<Cow<'a, Value>, Unknown>;

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
pub struct Scope<'a> {
    pub facts: &'a Facts,
    pub target: u32,
    /// Every frame's locals, one after the other; the current frame starts at `base`.
    locals: SmallVec<[Cow<'a, Value>; 4]>,
    base: usize,
    depth: usize,
    /// Whether to record `reads` (explanations need them, verdicts do not).
    track: bool,
    /// Slots read, in the order first read.
    pub reads: Vec<u32>,
}

impl<'a> Scope<'a> {
    pub fn new(facts: &'a Facts, target: u32) -> Scope<'a> {
        Scope {
            facts,
            target,
            locals: SmallVec::new(),
            base: 0,
            depth: 0,
            track: true,
            reads: Vec::new(),
        }
    }

    /// A scope that does not record what it reads: for verdicts without explanations.
    pub fn quiet(facts: &'a Facts, target: u32) -> Scope<'a> {
        Scope {
            track: false,
            ..Scope::new(facts, target)
        }
    }

    /// Starts a rule's body: its parameters are the first locals.
    pub(crate) fn locals_from(&mut self, values: impl IntoIterator<Item = Cow<'a, Value>>) {
        self.locals = values.into_iter().collect();
        self.base = 0;
    }

    /// Binds local `index` (a quantifier's variable) to `value`.
    pub(crate) fn set_local(&mut self, index: u32, value: Cow<'a, Value>) {
        let i = self.base + index as usize;
        if let Some(local) = self.locals.get_mut(i) {
            *local = value;
        } else {
            self.locals.resize(i, Cow::Owned(Value::Bool(false)));
            self.locals.push(value);
        }
    }

    #[inline(always)]
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

    /// A bool expression: `Ok(true)`, `Ok(false)` or unknown. Logic, comparisons, rules and
    /// quantifiers are decided here without building a value.
    pub fn truth<'a>(&'a self, id: NodeId, scope: &mut Scope<'a>) -> Result<bool, Unknown> {
        let Some(node) = self.program.node(id) else {
            return Err(Unknown::limit("a node is missing (damaged IR)"));
        };
        match &node.kind {
            NodeKind::Binary { op, lhs, rhs } if matches!(op, BinaryOp::And | BinaryOp::Or) => {
                self.logic(*op, *lhs, *rhs, scope)
            }
            NodeKind::Binary { op, lhs, rhs } if op.is_comparison() => {
                self.compare(*op, *lhs, *rhs, scope)
            }
            NodeKind::Rule { rule, args } => self.rule_call(*rule, args, scope, Self::truth),
            NodeKind::Quant {
                kind,
                var,
                over,
                body,
            } => condition(&self.quantifier(*kind, *var, *over, *body, scope)?),
            _ => condition(&*self.eval(id, scope)?),
        }
    }

    /// The value of an expression. Constants and facts, the most common operands, are read
    /// right where they are asked for; every other kind of node is evaluated by `node`.
    #[inline(always)]
    pub fn eval<'a>(&'a self, id: NodeId, scope: &mut Scope<'a>) -> Outcome<'a> {
        let Some(node) = self.program.node(id) else {
            return Err(Unknown::limit("a node is missing (damaged IR)"));
        };
        match &node.kind {
            NodeKind::Const(c) => self.constant(*c),
            NodeKind::Slot(slot) => fact(*slot, scope),
            _ => self.node(node, scope),
        }
    }

    #[inline(never)]
    fn node<'a>(&'a self, node: &Node, scope: &mut Scope<'a>) -> Outcome<'a> {
        match &node.kind {
            NodeKind::Const(c) => self.constant(*c),
            NodeKind::Slot(slot) => fact(*slot, scope),
            NodeKind::Local(i) => match scope.locals.get(scope.base + *i as usize) {
                Some(Cow::Borrowed(v)) => Ok(Cow::Borrowed(*v)),
                Some(Cow::Owned(v)) => Ok(Cow::Owned(v.clone())),
                None => Err(Unknown::limit("a local is missing (damaged IR)")),
            },
            NodeKind::Target => Ok(Cow::Owned(Value::Rung(scope.target))),
            NodeKind::Field { base, index } => {
                let record = self.eval(*base, scope)?;
                if !matches!(*record, Value::Record(_)) {
                    return Err(Unknown::limit("a field of a non-record (damaged IR)"));
                }
                element(&record, *index as usize)
                    .ok_or_else(|| Unknown::limit("a record field is missing (damaged IR)"))
            }
            NodeKind::Project { base, index } => self.project(*base, *index, scope),
            NodeKind::Unary { op, operand } => self.unary(*op, *operand, scope),
            NodeKind::Binary { op, lhs, rhs } => self.binary(*op, *lhs, *rhs, node.ty, scope),
            NodeKind::Call { builtin, args } => self.call(*builtin, args, scope),
            NodeKind::Rule { rule, args } => self.rule_call(*rule, args, scope, Self::eval),
            NodeKind::List(items) => self.list(items, scope),
            NodeKind::Quant {
                kind,
                var,
                over,
                body,
            } => self
                .quantifier(*kind, *var, *over, *body, scope)
                .map(Cow::Owned),
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
            NodeKind::Interp(text) => self
                .render(text, scope)
                .map(|s| Cow::Owned(Value::Str(s.into()))),
        }
    }

    #[inline(always)]
    fn constant(&self, index: u32) -> Outcome<'_> {
        self.consts
            .get(index as usize)
            .map(Cow::Borrowed)
            .ok_or_else(|| Unknown::limit("a constant is missing (damaged IR)"))
    }

    /// Fills the holes of a text; unknown if any hole is.
    pub fn render<'a>(&'a self, text: &Text, scope: &mut Scope<'a>) -> Result<String, Unknown> {
        match self.fill(text, scope, |_| "{?}".to_owned()) {
            (out, None) => Ok(out),
            (_, Some(u)) => Err(u),
        }
    }

    /// Fills the holes of a text, writing each hole that is unknown as `unknown_hole` says;
    /// the causes of those come with the text.
    pub fn fill<'a>(
        &'a self,
        text: &Text,
        scope: &mut Scope<'a>,
        mut unknown_hole: impl FnMut(NodeId) -> String,
    ) -> (String, Option<Unknown>) {
        let mut out = String::new();
        let mut unknown: Option<Unknown> = None;
        for part in &text.parts {
            match part {
                TextPart::Text(t) => out.push_str(t),
                TextPart::Hole(id) => match self.eval(*id, scope) {
                    Ok(v) => match &*v {
                        Value::Str(s) => out.push_str(s),
                        v => out.push_str(&v.display(self.program).to_string()),
                    },
                    Err(u) => {
                        out.push_str(&unknown_hole(*id));
                        unknown = Some(unknown.unwrap_or_default().merge(u));
                    }
                },
            }
        }
        (out, unknown)
    }

    // The rarer node kinds live in their own functions, which keeps `node`'s frame small: it
    // recurses for every node.
    #[inline(never)]
    fn project<'a>(&'a self, base: NodeId, index: u32, scope: &mut Scope<'a>) -> Outcome<'a> {
        match &*self.eval(base, scope)? {
            Value::List(items) => items
                .iter()
                .map(|item| match item {
                    Value::Record(fields) => fields
                        .get(index as usize)
                        .cloned()
                        .ok_or_else(|| Unknown::limit("a record field is missing (damaged IR)")),
                    _ => Err(Unknown::limit("a field of a non-record (damaged IR)")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Cow::Owned(Value::List(v.into()))),
            _ => Err(Unknown::limit("a projection of a non-list (damaged IR)")),
        }
    }

    /// Calls a rule: its body evaluated by `body` (to a value or to a bool) in a new frame.
    #[inline(never)]
    fn rule_call<'a, T>(
        &'a self,
        rule: u32,
        args: &[NodeId],
        scope: &mut Scope<'a>,
        body: impl FnOnce(&'a Self, NodeId, &mut Scope<'a>) -> Result<T, Unknown>,
    ) -> Result<T, Unknown> {
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
        if !values.is_empty() {
            // Most rules take no parameters; extending by nothing is not free.
            scope.locals.extend(values);
        }
        scope.base = frame;
        scope.depth += 1;
        let out = body(self, rule.body, scope);
        scope.depth -= 1;
        scope.locals.truncate(frame);
        scope.base = caller;
        out
    }

    #[inline(never)]
    fn unary<'a>(&'a self, op: UnaryOp, operand: NodeId, scope: &mut Scope<'a>) -> Outcome<'a> {
        let v = self.eval(operand, scope)?;
        match (op, &*v) {
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
        .map(Cow::Owned)
    }

    #[inline(never)]
    fn list<'a>(&'a self, items: &[NodeId], scope: &mut Scope<'a>) -> Outcome<'a> {
        items
            .iter()
            .map(|item| self.eval(*item, scope).map(Cow::into_owned))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Cow::Owned(Value::List(v.into())))
    }

    #[inline(never)]
    fn binary<'a>(
        &'a self,
        op: BinaryOp,
        lhs: NodeId,
        rhs: NodeId,
        ty: u32,
        scope: &mut Scope<'a>,
    ) -> Outcome<'a> {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            return self.logic(op, lhs, rhs, scope).map(boolean);
        }
        if op.is_comparison() {
            return self.compare(op, lhs, rhs, scope).map(boolean);
        }
        both(self.eval(lhs, scope), self.eval(rhs, scope), |l, r| {
            self.arithmetic(op, l, r, ty)
        })
        .map(Cow::Owned)
    }

    /// Three-valued `and`/`or`: the operand that decides on its own wins over an unknown.
    fn logic<'a>(
        &'a self,
        op: BinaryOp,
        lhs: NodeId,
        rhs: NodeId,
        scope: &mut Scope<'a>,
    ) -> Result<bool, Unknown> {
        // The value that decides on its own: false for `and`, true for `or`.
        let decisive = op == BinaryOp::Or;
        let l = self.truth(lhs, scope);
        if l == Ok(decisive) {
            return Ok(decisive);
        }
        let r = self.truth(rhs, scope);
        match (l, r) {
            (_, Ok(b)) if b == decisive => Ok(decisive),
            (Ok(_), Ok(_)) => Ok(!decisive),
            (Err(a), Err(b)) => Err(a.merge(b)),
            (Err(u), Ok(_)) | (Ok(_), Err(u)) => Err(u),
        }
    }

    /// `==`, `!=`, the orderings and `in`.
    fn compare<'a>(
        &'a self,
        op: BinaryOp,
        lhs: NodeId,
        rhs: NodeId,
        scope: &mut Scope<'a>,
    ) -> Result<bool, Unknown> {
        both(
            self.eval(lhs, scope),
            self.eval(rhs, scope),
            |l, r| match op {
                BinaryOp::Eq => Ok(equal(l, r)),
                BinaryOp::Ne => Ok(!equal(l, r)),
                BinaryOp::In => match r {
                    Value::List(items) => Ok(items.iter().any(|i| equal(i, l))),
                    Value::Str(hay) => match l {
                        Value::Str(needle) => Ok(hay.contains(&**needle)),
                        _ => Err(Unknown::limit("`in` on the wrong types (damaged IR)")),
                    },
                    _ => Err(Unknown::limit("`in` on the wrong types (damaged IR)")),
                },
                _ => {
                    let ord = order(l, r)
                        .ok_or_else(|| Unknown::limit("values that cannot be ordered"))?;
                    Ok(match op {
                        BinaryOp::Lt => ord.is_lt(),
                        BinaryOp::Le => ord.is_le(),
                        BinaryOp::Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    })
                }
            },
        )
    }

    fn arithmetic(&self, op: BinaryOp, l: &Value, r: &Value, ty: u32) -> Result<Value, Unknown> {
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

    #[inline(never)]
    fn call<'a>(&'a self, builtin: Builtin, args: &[NodeId], scope: &mut Scope<'a>) -> Outcome<'a> {
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
                Ok(boolean(present))
            }
            Builtin::Known => match args.first() {
                Some(&arg) => self.eval(arg, scope).map(|_| boolean(true)),
                None => Err(Unknown::limit("`known` without an argument (damaged IR)")),
            },
            Builtin::Matches => {
                let text = match args.first().map(|a| self.eval(*a, scope)) {
                    Some(Ok(v)) => v,
                    Some(Err(u)) => return Err(u),
                    None => return Err(Unknown::limit("`matches` on a non-string (damaged IR)")),
                };
                let Value::Str(text) = &*text else {
                    return Err(Unknown::limit("`matches` on a non-string (damaged IR)"));
                };
                let pattern = args.get(1).and_then(|a| match self.program.node(*a)?.kind {
                    NodeKind::Const(c) => self.patterns.get(&c),
                    _ => None,
                });
                match pattern {
                    Some(re) => Ok(boolean(re.is_match(text))),
                    None => Err(Unknown::limit("`matches` without a valid pattern")),
                }
            }
            Builtin::Len => {
                let Some(arg) = args.first() else {
                    return Err(Unknown::limit("`len` of the wrong type (damaged IR)"));
                };
                match &*self.eval(*arg, scope)? {
                    Value::List(items) => Ok(Cow::Owned(Value::Int(items.len() as i64))),
                    Value::Str(s) => Ok(Cow::Owned(Value::Int(s.chars().count() as i64))),
                    _ => Err(Unknown::limit("`len` of the wrong type (damaged IR)")),
                }
            }
            Builtin::Min | Builtin::Max | Builtin::Sum => match args {
                [one] => {
                    // `max(xs.field)`: over the records' fields, without building the list.
                    let projected = match self.program.node(*one).map(|n| &n.kind) {
                        Some(NodeKind::Project { base, index }) => Some((*base, *index)),
                        _ => None,
                    };
                    let list = self.eval(projected.map_or(*one, |(base, _)| base), scope)?;
                    let Value::List(items) = &*list else {
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
                    aggregate(builtin, &refs).map(Cow::Owned)
                }
                many => {
                    let values =
                        many.iter()
                            .map(|a| self.eval(*a, scope))
                            .collect::<Result<SmallVec<[_; 4]>, _>>()?;
                    let refs: SmallVec<[&Value; 8]> = values.iter().map(|v| &**v).collect();
                    aggregate(builtin, &refs).map(Cow::Owned)
                }
            },
        }
    }

    #[inline(never)]
    fn quantifier<'a>(
        &'a self,
        kind: QuantKind,
        var: u32,
        over: NodeId,
        body: NodeId,
        scope: &mut Scope<'a>,
    ) -> Result<Value, Unknown> {
        let list = self.eval(over, scope)?;
        let Value::List(items) = &*list else {
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
        for item in parts(&list) {
            scope.set_local(var, item);
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

/// The fact in `slot`, borrowed; unknown when it is missing, stale or errored.
#[inline(always)]
fn fact<'a>(slot: u32, scope: &mut Scope<'a>) -> Outcome<'a> {
    scope.read(slot);
    let facts: &'a Facts = scope.facts;
    match &facts.get(slot).value {
        Ok(v) => Ok(Cow::Borrowed(v)),
        Err(_) => Err(Unknown::new(Cause::Fact(slot))),
    }
}

/// Item `index` of a list or field `index` of a record: borrowed when the whole is, so that
/// reading a fact's parts copies nothing.
pub(crate) fn element<'a>(whole: &Cow<'a, Value>, index: usize) -> Option<Cow<'a, Value>> {
    match whole {
        Cow::Borrowed(whole) => match whole {
            Value::List(items) | Value::Record(items) => items.get(index).map(Cow::Borrowed),
            _ => None,
        },
        Cow::Owned(Value::List(items) | Value::Record(items)) => {
            items.get(index).cloned().map(Cow::Owned)
        }
        Cow::Owned(_) => None,
    }
}

/// The items of a list (or the fields of a record) in order, as [`element`] reads them.
pub(crate) fn parts<'a, 'l>(
    whole: &'l Cow<'a, Value>,
) -> impl Iterator<Item = Cow<'a, Value>> + 'l {
    (0..).map_while(|i| element(whole, i))
}

/// A condition's value as a bool.
fn condition(value: &Value) -> Result<bool, Unknown> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => Err(Unknown::limit("a condition is not a bool (damaged IR)")),
    }
}

fn boolean<'a>(b: bool) -> Cow<'a, Value> {
    Cow::Owned(Value::Bool(b))
}

/// `f` of both operands' values, or the causes of whichever are unknown.
#[inline]
fn both<T>(
    l: Outcome<'_>,
    r: Outcome<'_>,
    f: impl FnOnce(&Value, &Value) -> Result<T, Unknown>,
) -> Result<T, Unknown> {
    match (l, r) {
        (Ok(l), Ok(r)) => f(&l, &r),
        (Err(a), Err(b)) => Err(a.merge(b)),
        (Err(u), _) | (_, Err(u)) => Err(u),
    }
}

/// Equality across the numeric kinds an int and a float unify to.
fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => *a as f64 == *b,
        _ => l == r,
    }
}

#[inline(always)]
fn order(l: &Value, r: &Value) -> Option<std::cmp::Ordering> {
    match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => l.number()?.partial_cmp(&r.number()?),
    }
}

fn aggregate(builtin: Builtin, items: &[&Value]) -> Result<Value, Unknown> {
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
