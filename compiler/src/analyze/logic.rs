//! Whether a bool expression can be true and can be false, by interval reasoning.
//!
//! The expression is put in disjunctive normal form over atoms; an atom compares a fact (or a
//! field of one, or `len` of one) with a constant, or is a bool fact. Each conjunction narrows
//! every variable to a [`Set`]; a conjunction with an empty set is impossible. The expression
//! can never be true when every conjunction is impossible, and never false when that holds for
//! its negation. Anything else (two facts compared, quantifiers, calls) is an opaque atom, a
//! free variable, so the answer stays sound: no warning unless it is certain.

use smallvec::{SmallVec, smallvec};

use super::interval::{Bound, Set};
use crate::ast::{BinaryOp, UnaryOp};
use crate::typed::{Builtin, Expr, ExprKind, Program};
use crate::types::{Const, Type};

/// More conjunctions than this and the analysis gives up (no warning).
const MAX_TERMS: usize = 256;
/// Rules are expanded in place at most this deep.
const MAX_RULE_DEPTH: usize = 16;

/// What the analysis can tell about an expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// No values of the facts make it true; the variable whose conditions conflict, if any.
    NeverTrue(Option<String>),
    /// No values of the facts make it false.
    AlwaysTrue(Option<String>),
    Unknown,
}

pub(crate) fn verdict(program: &Program, e: &Expr) -> Verdict {
    let mut cx = Cx {
        program,
        conflicts: Vec::new(),
        fresh: 0,
        depth: 0,
    };
    if let Some(terms) = cx.dnf(e, false)
        && terms.is_empty()
    {
        return Verdict::NeverTrue(cx.first_conflict());
    }
    cx.conflicts.clear();
    if let Some(terms) = cx.dnf(e, true)
        && terms.is_empty()
    {
        return Verdict::AlwaysTrue(cx.first_conflict());
    }
    Verdict::Unknown
}

/// What an atom constrains. Facts are the common case and are kept as their id; the name is
/// only spelled out for a warning.
#[derive(Clone, Debug, PartialEq)]
enum Var {
    Fact(usize),
    /// A field of a fact, or `len` of one, by its written form.
    Named(String),
    /// An expression the analysis does not look into: equal only to itself.
    Opaque(usize),
}

impl Var {
    fn name(&self, program: &Program) -> Option<String> {
        match self {
            Var::Fact(id) => program.facts.get(*id).map(|f| f.path.clone()),
            Var::Named(name) => Some(name.clone()),
            Var::Opaque(_) => None,
        }
    }
}

/// A conjunction: each variable's allowed values (a handful, so a list beats a map, and a few
/// are kept inline: every atom would otherwise cost two allocations).
type Conj = SmallVec<[(Var, Set); 2]>;
/// A disjunction of conjunctions; most requirements are a single conjunction.
type Dnf = SmallVec<[Conj; 1]>;

struct Cx<'a> {
    program: &'a Program,
    /// Variables whose sets became empty, in the order found.
    conflicts: Vec<Var>,
    /// Counter for opaque atoms that have no stable name.
    fresh: usize,
    depth: usize,
}

impl Cx<'_> {
    fn first_conflict(&self) -> Option<String> {
        self.conflicts.first().and_then(|v| v.name(self.program))
    }

    /// The DNF of `e` (or of `not e`); `None` when it grows too large.
    fn dnf(&mut self, e: &Expr, negated: bool) -> Option<Dnf> {
        match &e.kind {
            ExprKind::Const(Const::Bool(b)) => Some(if *b != negated {
                smallvec![Conj::new()]
            } else {
                Dnf::new()
            }),
            ExprKind::Unary(UnaryOp::Not, inner) => self.dnf(inner, !negated),
            ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), operands) => {
                let a = self.dnf(&operands[0], negated)?;
                let b = self.dnf(&operands[1], negated)?;
                // `and` distributes; under negation it becomes `or` (De Morgan).
                if (*op == BinaryOp::And) != negated {
                    self.product(a, b)
                } else {
                    let mut all = a;
                    all.extend(b);
                    (all.len() <= MAX_TERMS).then_some(all)
                }
            }
            ExprKind::Rule(rule, args) if args.is_empty() && self.depth < MAX_RULE_DEPTH => {
                let body = &self.program.rules.get(*rule)?.body;
                self.depth += 1;
                let out = self.dnf(body, negated);
                self.depth -= 1;
                out
            }
            ExprKind::Binary(op, operands) if op.is_comparison() && *op != BinaryOp::In => {
                match self.comparison(*op, &operands[0], &operands[1]) {
                    Some((var, set, domain)) => {
                        let set = if negated { set.complement() } else { set };
                        Some(self.atom(var, set.intersect(&domain)))
                    }
                    None => Some(self.opaque(e, negated)),
                }
            }
            _ => Some(self.opaque(e, negated)),
        }
    }

    /// `x op c` or `c op x` as a variable, its allowed set and its domain.
    fn comparison(&self, op: BinaryOp, l: &Expr, r: &Expr) -> Option<(Var, Set, Set)> {
        let p = self.program;
        let (var_expr, value, op) = match (constant(r), constant(l)) {
            (Some(c), _) => (l, c, op),
            (None, Some(c)) => (r, c, flip(op)),
            (None, None) => return None,
        };
        let var = variable(p, var_expr)?;
        let (domain, integral) = domain_of(p, var_expr)?;
        let set = match op {
            BinaryOp::Eq => Set::point(value, integral),
            BinaryOp::Ne => Set::point(value, integral).complement(),
            BinaryOp::Lt => Set::at_most(value, false, integral),
            BinaryOp::Le => Set::at_most(value, true, integral),
            BinaryOp::Gt => Set::at_least(value, false, integral),
            BinaryOp::Ge => Set::at_least(value, true, integral),
            _ => return None,
        };
        Some((var, set, domain))
    }

    /// An atom with a known variable: one conjunction restricting it (or none if impossible).
    fn atom(&mut self, var: Var, set: Set) -> Dnf {
        if set.is_empty() {
            self.conflicts.push(var);
            return Dnf::new();
        }
        smallvec![smallvec![(var, set)]]
    }

    /// Any other bool expression: a named bool fact, or a fresh free variable.
    fn opaque(&mut self, e: &Expr, negated: bool) -> Dnf {
        let var = variable(self.program, e).unwrap_or_else(|| {
            self.fresh += 1;
            Var::Opaque(self.fresh)
        });
        let value = if negated { 0.0 } else { 1.0 };
        self.atom(var, Set::point(value, true))
    }

    fn product(&mut self, a: Dnf, b: Dnf) -> Option<Dnf> {
        if a.len().saturating_mul(b.len()) > MAX_TERMS {
            return None;
        }
        let mut out = Dnf::new();
        for x in a {
            // The last conjunction `x` meets takes it itself: most meet only one.
            let Some((last, rest)) = b.split_last() else {
                break;
            };
            for y in rest {
                out.extend(self.conjoin(x.clone(), y));
            }
            out.extend(self.conjoin(x, last));
        }
        Some(out)
    }

    /// `x and y`, or `None` when a variable is left no value.
    fn conjoin(&mut self, mut x: Conj, y: &Conj) -> Option<Conj> {
        for (var, set) in y {
            match x.iter_mut().find(|(v, _)| v == var) {
                Some((_, existing)) => {
                    *existing = existing.intersect(set);
                    if existing.is_empty() {
                        self.conflicts.push(var.clone());
                        return None;
                    }
                }
                None => x.push((var.clone(), set.clone())),
            }
        }
        Some(x)
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

/// The variable of an expression that stands for one value: a fact, a field of one, `len`
/// of one.
fn variable(program: &Program, e: &Expr) -> Option<Var> {
    match &e.kind {
        ExprKind::Fact(id) => Some(Var::Fact(*id)),
        ExprKind::Field(..) => path(program, e).map(Var::Named),
        ExprKind::Call(Builtin::Len, args) => Some(Var::Named(format!(
            "len({})",
            path(program, args.first()?)?
        ))),
        _ => None,
    }
}

fn path(program: &Program, e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Fact(id) => Some(program.facts.get(*id)?.path.clone()),
        ExprKind::Field(base, name) => Some(format!("{}.{name}", path(program, base)?)),
        _ => None,
    }
}

/// The values a variable can take, and whether they are integers.
fn domain_of(program: &Program, e: &Expr) -> Option<(Set, bool)> {
    let is_len = matches!(e.kind, ExprKind::Call(Builtin::Len, _));
    Some(match &e.ty {
        Type::Int if is_len => (Set::at_least(0.0, true, true), true),
        Type::Int | Type::Date => (Set::full(true), true),
        Type::Float | Type::Duration | Type::Percent => (Set::full(false), false),
        Type::Rung => {
            let top = program.rungs.len().saturating_sub(1) as f64;
            let lo = Bound {
                value: 0.0,
                inclusive: true,
            };
            let hi = Bound {
                value: top,
                inclusive: true,
            };
            (Set::from_interval(lo, hi, true), true)
        }
        _ => return None,
    })
}

/// The numeric value of a constant expression, in the units the evaluator uses
/// (milliseconds, fractions, rung indices, days).
fn constant(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Const(c) => match c {
            Const::Int(n) => Some(*n as f64),
            Const::Float(f) | Const::Duration(f) | Const::Percent(f) => Some(*f),
            Const::Rung(r) => Some(f64::from(*r)),
            Const::Date(d) => Some(*d as f64),
            _ => None,
        },
        ExprKind::Unary(UnaryOp::Neg, inner) => constant(inner).map(|v| -v),
        ExprKind::Binary(op, operands) => {
            let (a, b) = (constant(&operands[0])?, constant(&operands[1])?);
            let v = match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div if b != 0.0 => a / b,
                _ => return None,
            };
            v.is_finite().then_some(v)
        }
        _ => None,
    }
}
