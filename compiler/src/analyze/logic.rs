//! Whether a bool expression can be true and can be false, by interval reasoning.
//!
//! The expression is put in disjunctive normal form over atoms; an atom compares a fact (or a
//! field of one, or `len` of one) with a constant, or is a bool fact. Each conjunction narrows
//! every variable to a [`Set`]; a conjunction with an empty set is impossible. The expression
//! can never be true when every conjunction is impossible, and never false when that holds for
//! its negation. Anything else (two facts compared, quantifiers, calls) is an opaque atom, a
//! free variable, so the answer stays sound: no warning unless it is certain.

use std::collections::BTreeMap;

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
        return Verdict::NeverTrue(cx.conflicts.first().cloned());
    }
    cx.conflicts.clear();
    if let Some(terms) = cx.dnf(e, true)
        && terms.is_empty()
    {
        return Verdict::AlwaysTrue(cx.conflicts.first().cloned());
    }
    Verdict::Unknown
}

/// A conjunction: each variable's allowed values.
type Conj = BTreeMap<String, Set>;

struct Cx<'a> {
    program: &'a Program,
    /// Variables whose sets became empty, in the order found.
    conflicts: Vec<String>,
    /// Counter for opaque atoms that have no stable name.
    fresh: usize,
    depth: usize,
}

impl Cx<'_> {
    /// The DNF of `e` (or of `not e`); `None` when it grows too large.
    fn dnf(&mut self, e: &Expr, negated: bool) -> Option<Vec<Conj>> {
        match &e.kind {
            ExprKind::Const(Const::Bool(b)) => Some(if *b != negated {
                vec![Conj::new()]
            } else {
                Vec::new()
            }),
            ExprKind::Unary(UnaryOp::Not, inner) => self.dnf(inner, !negated),
            ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), l, r) => {
                let a = self.dnf(l, negated)?;
                let b = self.dnf(r, negated)?;
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
            ExprKind::Binary(op, l, r) if op.is_comparison() && *op != BinaryOp::In => {
                match self.comparison(*op, l, r) {
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
    fn comparison(&self, op: BinaryOp, l: &Expr, r: &Expr) -> Option<(String, Set, Set)> {
        let p = self.program;
        let (var_expr, value, op) = match (variable(p, l), constant(r), constant(l), variable(p, r))
        {
            (Some(_), Some(c), _, _) => (l, c, op),
            (_, _, Some(c), Some(_)) => (r, c, flip(op)),
            _ => return None,
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
    fn atom(&mut self, var: String, set: Set) -> Vec<Conj> {
        if set.is_empty() {
            self.conflicts.push(var);
            return Vec::new();
        }
        vec![Conj::from([(var, set)])]
    }

    /// Any other bool expression: a named bool fact, or a fresh free variable.
    fn opaque(&mut self, e: &Expr, negated: bool) -> Vec<Conj> {
        let var = variable(self.program, e).unwrap_or_else(|| {
            self.fresh += 1;
            format!("#{}", self.fresh)
        });
        let value = if negated { 0.0 } else { 1.0 };
        self.atom(var, Set::point(value, true))
    }

    fn product(&mut self, a: Vec<Conj>, b: Vec<Conj>) -> Option<Vec<Conj>> {
        if a.len().saturating_mul(b.len()) > MAX_TERMS {
            return None;
        }
        let mut out = Vec::new();
        for x in &a {
            'pair: for y in &b {
                let mut merged = x.clone();
                for (var, set) in y {
                    let narrowed = match merged.get(var) {
                        Some(existing) => existing.intersect(set),
                        None => set.clone(),
                    };
                    if narrowed.is_empty() {
                        self.conflicts.push(var.clone());
                        continue 'pair;
                    }
                    merged.insert(var.clone(), narrowed);
                }
                out.push(merged);
            }
        }
        Some(out)
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

/// A stable name for an expression that stands for one value: a fact, a field of one, `len`
/// of one.
fn variable(program: &Program, e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Fact(_) | ExprKind::Field(..) => path(program, e),
        ExprKind::Call(Builtin::Len, args) => {
            Some(format!("len({})", path(program, args.first()?)?))
        }
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
        ExprKind::Binary(op, l, r) => {
            let (a, b) = (constant(l)?, constant(r)?);
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
