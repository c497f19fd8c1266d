//! Expressions: operator precedence (climbing over the flat `expr` rule), postfix field
//! access and calls, literals with their range checks, quantifiers and conditionals.

use std::iter::Peekable;
use std::sync::Arc;

use pest::iterators::Pair;
use smallvec::SmallVec;

use super::{Cx, MAX_NESTING, Rule, next, shared_name, unreachable_rule};
use crate::ast::{
    BinaryOp, Date, DurationUnit, Expr, ExprKind, Ident, NEG_PRECEDENCE, NOT_PRECEDENCE, QuantKind,
    Span, UnaryOp,
};
use crate::diag::{Code, Diagnostic};

/// The children of one `expr`: prefix operators, operands, postfixes and infix operators.
type Pieces<'i> = Peekable<std::vec::IntoIter<Pair<'i, Rule>>>;

fn binary_op(text: &str) -> BinaryOp {
    match text {
        "or" => BinaryOp::Or,
        "and" => BinaryOp::And,
        "==" => BinaryOp::Eq,
        "!=" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        ">=" => BinaryOp::Ge,
        "in" => BinaryOp::In,
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        _ => BinaryOp::Div,
    }
}

impl<'i> Cx<'i> {
    /// Lowers an `expr` or `postfixed` pair to an expression.
    pub(super) fn lower_expr(&mut self, pair: Pair<'i, Rule>) -> Expr {
        let span = self.span(&pair);
        let pieces: Vec<_> = pair.into_inner().collect();
        // Operators are a flat run in the grammar but nest in the tree, and every later pass
        // recurses over the tree, so they count towards the depth like parentheses do.
        let operators = pieces
            .iter()
            .filter(|p| matches!(p.as_rule(), Rule::prefix_op | Rule::infix_op))
            .count();
        let weight = 1 + operators;
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
        let expr = self.climb(&mut pieces.into_iter().peekable(), 0);
        self.depth -= weight;
        expr
    }

    /// Precedence climbing: an operand, then every infix operator binding at least as
    /// tightly as `min`, each with a right side that binds tighter (so all are left-associative).
    fn climb(&mut self, pieces: &mut Pieces<'i>, min: u8) -> Expr {
        let mut lhs = self.unary(pieces);
        while let Some(op) = pieces
            .peek()
            .filter(|p| p.as_rule() == Rule::infix_op)
            .map(|p| binary_op(p.as_str()))
            .filter(|op| op.precedence() >= min)
        {
            pieces.next();
            let rhs = self.climb(pieces, op.precedence() + 1);
            lhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary(op, Box::new([lhs, rhs])),
            };
        }
        lhs
    }

    /// A prefix operator applied to what follows it, or an operand with its postfixes.
    fn unary(&mut self, pieces: &mut Pieces<'i>) -> Expr {
        let pair = next(pieces);
        if pair.as_rule() != Rule::prefix_op {
            let operand = self.lower_operand(pair);
            return self.lower_postfixes(operand, pieces);
        }
        let (op, precedence) = if pair.as_str() == "-" {
            (UnaryOp::Neg, NEG_PRECEDENCE)
        } else {
            (UnaryOp::Not, NOT_PRECEDENCE)
        };
        let rhs = self.climb(pieces, precedence);
        Expr {
            span: self.span(&pair).to(rhs.span),
            kind: ExprKind::Unary(op, Box::new(rhs)),
        }
    }

    fn lower_operand(&mut self, pair: Pair<'i, Rule>) -> Expr {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::expr => return self.lower_expr(pair),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::number => self.lower_number(span, pair.as_str()),
            Rule::string => ExprKind::Str(self.lower_string(pair)),
            Rule::name => ExprKind::Path(self.lower_name(&pair)),
            Rule::list_lit => {
                ExprKind::List(pair.into_inner().map(|p| self.lower_expr(p)).collect())
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

    /// A `name` token (`tests.unit.failed`) split into the segments of one path.
    fn lower_name(&mut self, pair: &Pair<'i, Rule>) -> crate::ast::Path {
        let span = self.span(pair);
        let text = pair.as_str();
        let Cx {
            names, paths, file, ..
        } = self;
        let shared = paths.entry(text).or_insert_with(|| {
            text.split('.')
                .map(|segment| shared_name(names, segment))
                .collect::<SmallVec<_>>()
        });
        let mut start = span.start as usize;
        let mut segments = Vec::with_capacity(shared.len());
        for name in shared.iter() {
            segments.push(Ident {
                name: Arc::clone(name),
                span: Span::new(*file, start, start + name.len()),
            });
            start += name.len() + 1;
        }
        if let Some(first) = segments.first() {
            self.refuse_reserved(first);
        }
        crate::ast::Path { segments, span }
    }

    /// Field accesses and calls written after an operand. Fields after a name extend its
    /// path; arguments after a one-segment name make a call.
    fn lower_postfixes(&mut self, mut expr: Expr, pieces: &mut Pieces<'i>) -> Expr {
        while let Some(pair) = pieces.next_if(|p| matches!(p.as_rule(), Rule::field | Rule::args)) {
            let end = self.span(&pair);
            let span = expr.span.to(end);
            expr.kind = if pair.as_rule() == Rule::args {
                let args = pair.into_inner().map(|p| self.lower_expr(p)).collect();
                match expr.kind {
                    ExprKind::Path(mut path) if path.segments.len() == 1 => {
                        ExprKind::Call(path.segments.remove(0), args)
                    }
                    _ => {
                        self.diags.push(
                            Diagnostic::new(Code::Syntax, end, "only a function can be called")
                                .label("arguments after something that is not a function")
                                .help(
                                    "call a built-in function or a rule with parameters by its \
                                     name, as in `within(x, 7d)`",
                                ),
                        );
                        expr.kind
                    }
                }
            } else {
                let ident = self.lower_word(next(&mut pair.into_inner()));
                match expr.kind {
                    ExprKind::Path(mut path) => {
                        path.segments.push(ident);
                        path.span = span;
                        ExprKind::Path(path)
                    }
                    kind => ExprKind::Field(
                        Box::new(Expr {
                            kind,
                            span: expr.span,
                        }),
                        ident,
                    ),
                }
            };
            expr.span = span;
        }
        expr
    }

    /// Classifies a `number` token: `2026-03-01`, `250ms`, `99.5%`, `0.25` or `42`.
    pub(super) fn lower_number(&mut self, span: Span, text: &str) -> ExprKind {
        let last = text.as_bytes().last().copied().unwrap_or(b'0');
        if last == b'%' {
            ExprKind::Percent(self.finite(span, &text[..text.len() - 1]))
        } else if last.is_ascii_alphabetic() {
            self.lower_duration(span, text)
        } else if text.len() == 10 && text.as_bytes()[4] == b'-' {
            ExprKind::Date(self.lower_date(span, text))
        } else if text.contains('.') {
            ExprKind::Float(self.finite(span, text))
        } else {
            match text.parse::<i64>() {
                Ok(n) => ExprKind::Int(n),
                Err(_) => {
                    self.bad_literal(span, "integer literal does not fit in 64 bits", "too large");
                    ExprKind::Int(0)
                }
            }
        }
    }

    fn lower_duration(&mut self, span: Span, text: &str) -> ExprKind {
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

    fn lower_date(&mut self, span: Span, text: &str) -> Date {
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

    fn finite(&mut self, span: Span, text: &str) -> f64 {
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

    fn bad_literal(&mut self, span: Span, message: impl Into<String>, label: &str) {
        self.diags.push(
            Diagnostic::new(Code::BadLiteral, span, message)
                .label(label)
                .help("see `phasevc explain phasev::parse::bad_literal`"),
        );
    }
}
