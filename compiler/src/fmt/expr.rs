//! Printing expressions, types and strings with the fewest parentheses that keep the tree.

use crate::ast::{
    Expr, ExprKind, NEG_PRECEDENCE, NOT_PRECEDENCE, StrLit, StrPart, TypeExpr, TypeExprKind,
    UnaryOp,
};

/// Binds tighter than any operator: names, literals, calls, lists, parenthesised forms.
const ATOM: u8 = 8;

/// How tightly an expression's outermost form binds. Quantifiers and `if` extend as far right
/// as they can, so they bind loosest of all.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => op.precedence(),
        ExprKind::Unary(UnaryOp::Not, _) => NOT_PRECEDENCE,
        ExprKind::Unary(UnaryOp::Neg, _) => NEG_PRECEDENCE,
        ExprKind::Quant { .. } | ExprKind::If { .. } => 0,
        _ => ATOM,
    }
}

/// Whether `e` ends in a quantifier or `if` whose body would swallow a following operator.
fn open_ended(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Quant { .. } | ExprKind::If { .. } => true,
        ExprKind::Binary(_, operands) => open_ended(&operands[1]),
        ExprKind::Unary(_, operand) => open_ended(operand),
        _ => false,
    }
}

/// Prints `e` in a position that needs at least `min` binding; `tail` says nothing follows
/// that an open-ended form could swallow.
pub(super) fn expr(e: &Expr, min: u8, tail: bool) -> String {
    let inner = bare(e, tail);
    // A quantifier or `if` is a primary that extends to the right: at the end of its
    // context it needs no parentheses, whatever binds around it.
    let extends_right = matches!(e.kind, ExprKind::Quant { .. } | ExprKind::If { .. });
    let needs_parens = if tail {
        precedence(e) < min && !extends_right
    } else {
        precedence(e) < min || open_ended(e)
    };
    if needs_parens {
        format!("({})", bare(e, true))
    } else {
        inner
    }
}

fn bare(e: &Expr, tail: bool) -> String {
    match &e.kind {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(f) => float(*f),
        ExprKind::Str(s) => string(s),
        ExprKind::Duration { value, unit } => format!("{}{}", number(*value), unit.suffix()),
        ExprKind::Percent(p) => format!("{}%", number(*p)),
        ExprKind::Date(d) => d.to_string(),
        ExprKind::Path(p) => p.to_string(),
        ExprKind::Field(base, field) => {
            let plain_base = matches!(
                base.kind,
                ExprKind::Call(..) | ExprKind::List(_) | ExprKind::Str(_) | ExprKind::Field(..)
            );
            let base = if plain_base {
                expr(base, ATOM, false)
            } else {
                format!("({})", expr(base, 0, true))
            };
            format!("{base}.{}", field.name)
        }
        ExprKind::Unary(UnaryOp::Not, operand) => {
            format!("not {}", expr(operand, NOT_PRECEDENCE, tail))
        }
        ExprKind::Unary(UnaryOp::Neg, operand) => {
            format!("-{}", expr(operand, NEG_PRECEDENCE, tail))
        }
        ExprKind::Binary(op, operands) => {
            let [lhs, rhs] = &**operands;
            let p = op.precedence();
            format!(
                "{} {} {}",
                expr(lhs, p, false),
                op.symbol(),
                expr(rhs, p + 1, tail)
            )
        }
        ExprKind::Call(name, args) => format!("{}({})", name.name, list(args)),
        ExprKind::List(items) => format!("[{}]", list(items)),
        ExprKind::Quant {
            kind,
            var,
            over,
            body,
        } => {
            let over = match over.kind {
                ExprKind::Path(_)
                | ExprKind::Call(..)
                | ExprKind::List(_)
                | ExprKind::Field(..) => expr(over, ATOM, false),
                _ => format!("({})", expr(over, 0, true)),
            };
            format!(
                "{} {} in {over}: {}",
                kind.keyword(),
                var.name,
                expr(body, 0, true)
            )
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => format!(
            "if {} then {} else {}",
            expr(cond, 0, true),
            expr(then, 0, true),
            expr(otherwise, 0, true)
        ),
    }
}

fn list(items: &[Expr]) -> String {
    items
        .iter()
        .map(|i| expr(i, 0, true))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A float that reads back as a float (`2.0`, never `2`).
fn float(f: f64) -> String {
    let text = f.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A duration or percentage amount: `250`, `1.5`.
fn number(f: f64) -> String {
    f.to_string()
}

/// A string literal with escapes and `{path}` holes.
pub(super) fn string(s: &StrLit) -> String {
    let mut out = String::from("\"");
    for part in &s.parts {
        match part {
            StrPart::Text(t) => {
                for c in t.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '{' => out.push_str("\\{"),
                        '}' => out.push_str("\\}"),
                        c => out.push(c),
                    }
                }
            }
            StrPart::Hole(path) => {
                out.push('{');
                out.push_str(&path.to_string());
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

pub(super) fn type_expr(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Scalar(s) => s.keyword().to_owned(),
        TypeExprKind::List(elem) => format!("list<{}>", type_expr(elem)),
        TypeExprKind::Record(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name.name, type_expr(&f.ty)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}
