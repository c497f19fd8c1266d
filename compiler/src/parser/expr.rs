//! Expressions: operator precedence (a Pratt parser over the flat `expr` rule), postfix field
//! access, literals with their range checks, quantifiers, calls and conditionals.

use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::{Cx, MAX_NESTING, Rule, next, unreachable_rule};
use crate::ast::{BinaryOp, Date, DurationUnit, Expr, ExprKind, QuantKind, UnaryOp};
use crate::diag::{Code, Diagnostic};

// INVARIANT: the levels here match `BinaryOp::precedence` (and NOT/NEG_PRECEDENCE), which
// the formatter uses to decide where parentheses are needed.
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::op_or => BinaryOp::Or,
        Rule::op_and => BinaryOp::And,
        Rule::op_eq => BinaryOp::Eq,
        Rule::op_ne => BinaryOp::Ne,
        Rule::op_lt => BinaryOp::Lt,
        Rule::op_le => BinaryOp::Le,
        Rule::op_gt => BinaryOp::Gt,
        Rule::op_ge => BinaryOp::Ge,
        Rule::op_in => BinaryOp::In,
        Rule::op_add => BinaryOp::Add,
        Rule::op_sub => BinaryOp::Sub,
        Rule::op_mul => BinaryOp::Mul,
        Rule::op_div => BinaryOp::Div,
        _ => unreachable_rule(rule),
    }
}

impl Cx {
    /// Lowers an `expr` pair (or any operand rule) to an expression.
    pub(super) fn lower_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        // Operators are a flat run in the grammar but nest in the tree, and every later pass
        // recurses over the tree, so they count towards the depth like parentheses do.
        let weight = 1 + operator_count(&pair);
        if self.depth + weight > MAX_NESTING {
            if !self.diags.has_errors() {
                self.diags.push(super::too_deep(span));
            }
            return Expr {
                kind: ExprKind::Bool(false),
                span,
            };
        }
        self.depth += weight;
        let expr = self.lower_expr_inner(pair);
        self.depth -= weight;
        expr
    }

    fn lower_expr_inner(&mut self, pair: Pair<'_, Rule>) -> Expr {
        match pair.as_rule() {
            Rule::expr => {}
            Rule::postfixed => return self.lower_postfixed(pair),
            _ => return self.lower_operand(pair),
        }
        // The Pratt closures each need `self`; a RefCell lets them share it (they never run
        // at the same time).
        let cx = std::cell::RefCell::new(self);
        PRATT
            .map_primary(|p| cx.borrow_mut().lower_operand(p))
            .map_prefix(|op, rhs| {
                let span = cx.borrow().span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    kind: ExprKind::Unary(op, Box::new(rhs)),
                    span,
                }
            })
            .map_infix(|lhs, op, rhs| Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary(binary_op(op.as_rule()), Box::new(lhs), Box::new(rhs)),
            })
            .parse(pair.into_inner())
    }

    fn lower_operand(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::expr | Rule::postfixed => return self.lower_expr(pair),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::int => match pair.as_str().parse::<i64>() {
                Ok(n) => ExprKind::Int(n),
                Err(_) => {
                    self.bad_literal(span, "integer literal does not fit in 64 bits", "too large");
                    ExprKind::Int(0)
                }
            },
            Rule::float => ExprKind::Float(self.finite(span, pair.as_str())),
            Rule::percent => {
                let text = pair.as_str().trim_end_matches('%');
                ExprKind::Percent(self.finite(span, text))
            }
            Rule::duration => self.lower_duration(span, pair.as_str()),
            Rule::date => ExprKind::Date(self.lower_date(span, pair.as_str())),
            Rule::string => ExprKind::Str(self.lower_string(pair)),
            Rule::name => {
                let ident = self.lower_ident(next(&mut pair.into_inner()));
                ExprKind::Path(crate::ast::Path {
                    span: ident.span,
                    segments: vec![ident],
                })
            }
            Rule::list_lit => {
                ExprKind::List(pair.into_inner().map(|p| self.lower_expr(p)).collect())
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.lower_ident(next(&mut inner));
                let args = inner.map(|p| self.lower_expr(p)).collect();
                ExprKind::Call(name, args)
            }
            Rule::quantifier => {
                let mut inner = pair.into_inner();
                let kind = match next(&mut inner).as_str() {
                    "all" => QuantKind::All,
                    "any" => QuantKind::Any,
                    "none" => QuantKind::None,
                    _ => QuantKind::Count,
                };
                let var = self.lower_ident(next(&mut inner));
                let _in = next(&mut inner);
                let over = self.lower_expr(next(&mut inner));
                let body = self.lower_expr(next(&mut inner));
                ExprKind::Quant {
                    kind,
                    var,
                    over: Box::new(over),
                    body: Box::new(body),
                }
            }
            Rule::conditional => {
                let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let cond = self.lower_expr(next(&mut parts));
                let then = self.lower_expr(next(&mut parts));
                let otherwise = self.lower_expr(next(&mut parts));
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                }
            }
            _ => unreachable_rule(rule),
        };
        Expr { kind, span }
    }

    /// `primary ~ field*`: a name followed by fields is one path (`tests.unit.failed`);
    /// fields after anything else are field accesses. Reached through [`Cx::lower_expr`], so
    /// it counts towards the depth.
    fn lower_postfixed(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let mut inner = pair.into_inner();
        let mut expr = self.lower_operand(next(&mut inner));
        for field in inner {
            let ident = self.lower_ident(next(&mut field.into_inner()));
            let span = expr.span.to(ident.span);
            expr = match expr.kind {
                ExprKind::Path(mut path) => {
                    path.segments.push(ident);
                    path.span = span;
                    Expr {
                        kind: ExprKind::Path(path),
                        span,
                    }
                }
                kind => Expr {
                    kind: ExprKind::Field(
                        Box::new(Expr {
                            kind,
                            span: expr.span,
                        }),
                        ident,
                    ),
                    span,
                },
            };
        }
        expr
    }

    fn lower_duration(&mut self, span: crate::ast::Span, text: &str) -> ExprKind {
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let unit = match suffix {
            "ms" => DurationUnit::Millis,
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            _ => DurationUnit::Days,
        };
        let value = self.finite(span, number);
        if value * unit.millis() > 1e15 {
            self.bad_literal(span, "duration is too long", "more than 30,000 years");
        }
        ExprKind::Duration { value, unit }
    }

    fn lower_date(&mut self, span: crate::ast::Span, text: &str) -> Date {
        let mut parts = text.split('-');
        let year = parts.next().and_then(|p| p.parse::<u16>().ok());
        let month = parts.next().and_then(|p| p.parse::<u8>().ok());
        let day = parts.next().and_then(|p| p.parse::<u8>().ok());
        match (year, month, day) {
            (Some(y), Some(m), Some(d)) => Date::new(y, m, d).unwrap_or_else(|| {
                self.bad_literal(
                    span,
                    format!("`{text}` is not a calendar date"),
                    "no such day",
                );
                Date {
                    year: y,
                    month: 1,
                    day: 1,
                }
            }),
            _ => {
                self.bad_literal(
                    span,
                    format!("`{text}` is not a date"),
                    "expected YYYY-MM-DD",
                );
                Date {
                    year: 1970,
                    month: 1,
                    day: 1,
                }
            }
        }
    }

    fn finite(&mut self, span: crate::ast::Span, text: &str) -> f64 {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.bad_literal(
                    span,
                    format!("`{text}` is not a finite number"),
                    "out of range",
                );
                0.0
            }
        }
    }

    fn bad_literal(&mut self, span: crate::ast::Span, message: impl Into<String>, label: &str) {
        self.diags.push(
            Diagnostic::new(Code::BadLiteral, span, message)
                .label(label)
                .help("see `phasevc explain phasev::parse::bad_literal`"),
        );
    }
}

/// How many operators (prefix and infix) sit directly inside an `expr`.
fn operator_count(pair: &Pair<'_, Rule>) -> usize {
    if pair.as_rule() != Rule::expr {
        return 0;
    }
    pair.clone()
        .into_inner()
        .filter(|p| !matches!(p.as_rule(), Rule::postfixed))
        .count()
}
