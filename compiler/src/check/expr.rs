//! Expressions: name resolution (locals, rungs, rules, checks, facts, `target`) and typing.
//! Each function returns `None` after reporting an error, so one mistake is reported once.

use super::{Checker, RuleState, Scope};
use crate::ast::{self, BinaryOp, ExprKind as K, Ident, QuantKind, Span, StrPart, UnaryOp};
use crate::diag::{Code, Diagnostic, closest, did_you_mean};
use crate::typed::{self, Builtin, ExprKind as T, FactOrigin};
use crate::types::{Const, Type};

fn typed(kind: T, ty: Type, span: Span) -> typed::Expr {
    typed::Expr { kind, ty, span }
}

impl Checker<'_> {
    /// Checks an expression that must be a bool (a requirement, a condition).
    pub(super) fn bool_expr(
        &mut self,
        e: &ast::Expr,
        scope: &mut Scope,
        what: impl std::fmt::Display,
    ) -> Option<typed::Expr> {
        let t = self.expr(e, scope)?;
        self.expect(&t, &Type::Bool, what)?;
        Some(t)
    }

    pub(super) fn expr(&mut self, e: &ast::Expr, scope: &mut Scope) -> Option<typed::Expr> {
        let span = e.span;
        match &e.kind {
            K::Bool(b) => Some(typed(T::Const(Const::Bool(*b)), Type::Bool, span)),
            K::Int(n) => Some(typed(T::Const(Const::Int(*n)), Type::Int, span)),
            K::Float(f) => Some(typed(T::Const(Const::Float(*f)), Type::Float, span)),
            K::Duration { value, unit } => Some(typed(
                T::Const(Const::Duration(value * unit.millis())),
                Type::Duration,
                span,
            )),
            K::Percent(p) => Some(typed(
                T::Const(Const::Percent(p / 100.0)),
                Type::Percent,
                span,
            )),
            K::Date(d) => Some(typed(
                T::Const(Const::Date(d.days_since_epoch())),
                Type::Date,
                span,
            )),
            K::Str(s) => match s.as_plain() {
                Some(text) => Some(typed(
                    T::Const(Const::Str(text.into_owned())),
                    Type::String,
                    span,
                )),
                None => {
                    let text = self.text(s, scope)?;
                    Some(typed(T::Interp(text), Type::String, span))
                }
            },
            K::Path(path) => self.path(path, scope),
            K::Field(base, field) => {
                let base = self.expr(base, scope)?;
                self.field(base, field)
            }
            K::Unary(op, inner) => self.unary(*op, inner, span, scope),
            K::Binary(op, operands) => {
                let [l, r] = &**operands;
                self.binary(*op, l, r, span, scope)
            }
            K::Call(name, args) => self.call(name, args, span, scope),
            K::List(items) => self.list(items, span, scope),
            K::Quant {
                kind,
                var,
                over,
                body,
            } => self.quantifier(*kind, var, over, body, span, scope),
            K::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.bool_expr(cond, scope, "an `if` condition");
                let t = self.expr(then, scope);
                let o = self.expr(otherwise, scope);
                let (c, t, o) = (c?, t?, o?);
                let Some(ty) = unify(&t.ty, &o.ty) else {
                    return self.mismatch(
                        otherwise.span,
                        format!(
                            "`if` branches have different types: `{}` and `{}`",
                            t.ty, o.ty
                        ),
                        "both branches must have the same type",
                    );
                };
                Some(typed(
                    T::If {
                        cond: Box::new(c),
                        then: Box::new(t),
                        otherwise: Box::new(o),
                    },
                    ty,
                    span,
                ))
            }
        }
    }

    /// A string with holes: each hole is a path naming a scalar value.
    pub(super) fn text(&mut self, s: &ast::StrLit, scope: &mut Scope) -> Option<typed::Text> {
        let mut parts = Vec::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => parts.push(typed::TextPart::Text(t.clone())),
                StrPart::Hole(path) => match self.path(path, scope) {
                    Some(e) if e.ty.is_scalar() => parts.push(typed::TextPart::Hole(e)),
                    Some(e) => {
                        self.diags.push(
                            Diagnostic::new(Code::Interpolation, path.span, format!("`{path}` is {}, not a single value", e.ty.kind_name()))
                                .label("cannot be written into text")
                                .help("interpolate a scalar, e.g. a field of a record or `len(…)` in a rule"),
                        );
                        ok = false;
                    }
                    None => ok = false,
                },
            }
        }
        ok.then_some(typed::Text {
            parts,
            span: s.span,
        })
    }

    fn path(&mut self, path: &ast::Path, scope: &mut Scope) -> Option<typed::Expr> {
        let segs = &path.segments;
        let first = segs.first()?;
        let head: &str = &first.name;
        // 1. a local variable, then its fields
        if let Some((id, ty)) = scope.lookup(head) {
            let base = typed(T::Local(id), ty.clone(), first.span);
            return self.fields(base, &segs[1..]);
        }
        if segs.len() == 1 {
            return self.bare_name(first, scope);
        }
        // 2. a check's outputs
        if let Some(&check) = self.check_index.get(head) {
            let out_ident = &segs[1];
            let outputs = &self.checks[check].outputs;
            let Some((_, ty)) = outputs.iter().find(|(n, _)| **n == *out_ident.name) else {
                let near = closest(&out_ident.name, outputs.iter().map(|(n, _)| n.as_str()));
                let list: Vec<_> = outputs.iter().map(|(n, _)| format!("`{n}`")).collect();
                self.diags.push(
                    Diagnostic::new(
                        Code::UnknownFact,
                        out_ident.span,
                        format!("check `{head}` has no output `{}`", out_ident.name),
                    )
                    .label("not an output of this check")
                    .help(format!("its outputs are {}", list.join(", ")))
                    .suggest(near),
                );
                return None;
            };
            let ty = ty.clone();
            let full = format!("{head}.{}", out_ident.name);
            let id = self.intern_fact(&full, &ty, FactOrigin::Check(check));
            let base = typed(T::Fact(id), ty, first.span.to(out_ident.span));
            return self.fields(base, &segs[2..]);
        }
        // 3. a fact path: the longest schema prefix, then record fields. A fact read before,
        // whole, is found at once (most reads are), without allocating.
        self.joined.clear();
        for (i, seg) in segs.iter().enumerate() {
            if i > 0 {
                self.joined.push('.');
            }
            self.joined.push_str(&seg.name);
        }
        if let Some(&id) = self.fact_index.get(self.joined.as_str())
            && let Some(fact) = self.facts.get(id)
        {
            return Some(typed(T::Fact(id), fact.ty.clone(), path.span));
        }
        let names: Vec<&str> = segs.iter().map(|s| &*s.name).collect();
        if let Some((full, ty, n)) = self.schema.longest_prefix(&names) {
            let ty = ty.clone();
            let id = self.intern_schema_fact(&full, &ty);
            let base = typed(T::Fact(id), ty, first.span.to(segs[n - 1].span));
            return self.fields(base, &segs[n..]);
        }
        self.unknown_fact(path, &names);
        None
    }

    fn unknown_fact(&mut self, path: &ast::Path, names: &[&str]) {
        let text = names.join(".");
        if self.schema.is_namespace(&text) {
            let below: Vec<&str> = self
                .schema
                .iter()
                .map(|(p, _)| p)
                .filter(|p| p.starts_with(&format!("{text}.")))
                .take(4)
                .collect();
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownFact,
                    path.span,
                    format!("`{text}` is a namespace, not a fact"),
                )
                .label("holds several facts")
                .help(format!(
                    "read one of its facts, such as `{}`",
                    below.join("`, `")
                )),
            );
            return;
        }
        // A misspelt check name is suggested in words only: the span is the whole path.
        let help = did_you_mean(names[0], self.check_index.keys().map(String::as_str))
            .unwrap_or_else(|| format!("declare it with `fact {text}: <type>`, or see the built-in schema in the language guide"));
        let near = closest(&text, self.schema.iter().map(|(p, _)| p));
        self.diags.push(
            Diagnostic::new(
                Code::UnknownFact,
                path.span,
                format!("unknown fact `{text}`"),
            )
            .label("not in the fact schema")
            .help(help)
            .suggest(near),
        );
    }

    /// A single name: a rung, a rule without parameters, or `target`.
    fn bare_name(&mut self, ident: &Ident, scope: &Scope) -> Option<typed::Expr> {
        let name: &str = &ident.name;
        if let Some(rung) = self.rung(name) {
            return Some(typed(T::Const(Const::Rung(rung)), Type::Rung, ident.span));
        }
        if name == "target" {
            return Some(typed(T::Target, Type::Rung, ident.span));
        }
        if let Some(&rule) = self.rule_index.get(name) {
            return self.rule_call(rule, ident, &[], ident.span, &mut Scope::default(), true);
        }
        let candidates: Vec<String> = scope
            .vars
            .iter()
            .map(|(n, _)| n.clone())
            .chain(self.rungs.iter().map(|r| r.name.clone()))
            .chain(self.rule_index.keys().cloned())
            .chain(std::iter::once("target".to_owned()))
            .collect();
        let near = closest(name, candidates.iter().map(String::as_str));
        let help = self
            .schema
            .is_namespace(name)
            .then(|| {
                format!("`{name}` is a fact namespace: read one of its facts, e.g. `{name}.…`")
            })
            .or_else(|| {
                self.check_index.contains_key(name).then(|| {
                    format!("`{name}` is a check: read one of its outputs, e.g. `{name}.passed`")
                })
            });
        self.diags.push(
            Diagnostic::new(
                Code::UnknownName,
                ident.span,
                format!("unknown name `{name}`"),
            )
            .label("not a rule, rung, variable or `target`")
            .help(help.unwrap_or_else(|| "declare a rule with `rule name = …`".to_owned()))
            .suggest(near),
        );
        None
    }

    fn fields(&mut self, mut base: typed::Expr, fields: &[Ident]) -> Option<typed::Expr> {
        for f in fields {
            base = self.field(base, f)?;
        }
        Some(base)
    }

    fn field(&mut self, base: typed::Expr, field: &Ident) -> Option<typed::Expr> {
        let span = base.span.to(field.span);
        let (record, project) = match &base.ty {
            Type::Record(_) => (base.ty.clone(), false),
            Type::List(elem) if matches!(**elem, Type::Record(_)) => ((**elem).clone(), true),
            other => {
                let other = other.clone();
                return self.mismatch(
                    field.span,
                    format!("`{other}` values have no field `{}`", field.name),
                    "only records (and lists of records) have fields",
                );
            }
        };
        let Some(ty) = record.field(&field.name).cloned() else {
            let Type::Record(fields) = &record else {
                return None;
            };
            let near = closest(&field.name, fields.iter().map(|(n, _)| n.as_str()));
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownField,
                    field.span,
                    format!(
                        "no field `{}` in a record with fields {}",
                        field.name,
                        fields
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .label("unknown field")
                .suggest(near),
            );
            return None;
        };
        Some(if project {
            typed(
                T::Project(Box::new(base), field.name.to_string()),
                Type::List(Box::new(ty)),
                span,
            )
        } else {
            typed(T::Field(Box::new(base), field.name.to_string()), ty, span)
        })
    }

    fn unary(
        &mut self,
        op: UnaryOp,
        inner: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<typed::Expr> {
        let e = self.expr(inner, scope)?;
        let ty = match op {
            UnaryOp::Not => {
                self.expect(&e, &Type::Bool, "the operand of `not`")?;
                Type::Bool
            }
            UnaryOp::Neg => match e.ty {
                Type::Int | Type::Float | Type::Duration | Type::Percent => e.ty.clone(),
                ref other => {
                    let other = other.clone();
                    return self.mismatch(
                        inner.span,
                        format!("cannot negate `{other}`"),
                        "only numbers, durations and percentages have a sign",
                    );
                }
            },
        };
        Some(typed(T::Unary(op, Box::new(e)), ty, span))
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        l: &ast::Expr,
        r: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<typed::Expr> {
        let lt = self.expr(l, scope);
        let rt = self.expr(r, scope);
        let (lt, rt) = (lt?, rt?);
        let ty = match op {
            BinaryOp::And | BinaryOp::Or => {
                let a = self.expect(
                    &lt,
                    &Type::Bool,
                    format_args!("the left operand of `{}`", op.symbol()),
                );
                let b = self.expect(
                    &rt,
                    &Type::Bool,
                    format_args!("the right operand of `{}`", op.symbol()),
                );
                a.and(b)?;
                Type::Bool
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                if unify(&lt.ty, &rt.ty).is_none() {
                    return self.mismatch(
                        span,
                        format!("cannot compare `{}` with `{}`", lt.ty, rt.ty),
                        "both sides of `==` and `!=` must have the same type",
                    );
                }
                Type::Bool
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordered = unify(&lt.ty, &rt.ty).is_some_and(|t| t.is_ordered());
                if !ordered {
                    let help = if lt.ty == Type::Bool || rt.ty == Type::Bool {
                        "a comparison gives a bool; comparisons cannot be chained (`a < b < c`), join them with `and`"
                    } else {
                        "order compares numbers, durations, percentages, rungs or dates of the same kind"
                    };
                    return self.mismatch(
                        span,
                        format!("cannot order `{}` against `{}`", lt.ty, rt.ty),
                        help,
                    );
                }
                Type::Bool
            }
            BinaryOp::In => {
                let fits = match &rt.ty {
                    Type::List(elem) => unify(&lt.ty, elem).is_some(),
                    Type::String => lt.ty == Type::String,
                    _ => false,
                };
                if !fits {
                    return self.mismatch(
                        span,
                        format!("cannot look for a `{}` in a `{}`", lt.ty, rt.ty),
                        "`x in xs` needs a list of x's type, or two strings (substring)",
                    );
                }
                Type::Bool
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                let Some(ty) = arithmetic(op, &lt.ty, &rt.ty) else {
                    return self.mismatch(
                        span,
                        format!(
                            "cannot apply `{}` to `{}` and `{}`",
                            op.symbol(),
                            lt.ty,
                            rt.ty
                        ),
                        "see `phasevc explain phasev::check::type_mismatch` for the unit rules",
                    );
                };
                ty
            }
        };
        Some(typed(T::Binary(op, Box::new([lt, rt])), ty, span))
    }

    fn list(&mut self, items: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<typed::Expr> {
        let typed_items: Vec<Option<typed::Expr>> =
            items.iter().map(|i| self.expr(i, scope)).collect();
        let typed_items: Vec<typed::Expr> = typed_items.into_iter().collect::<Option<_>>()?;
        let Some(first) = typed_items.first() else {
            return self.mismatch(
                span,
                "an empty list has no element type".to_owned(),
                "write at least one element, or test `len(xs) == 0`",
            );
        };
        let mut elem = first.ty.clone();
        for item in &typed_items[1..] {
            match unify(&elem, &item.ty) {
                Some(t) => elem = t,
                None => {
                    return self.mismatch(
                        item.span,
                        format!("list elements differ: `{elem}` and `{}`", item.ty),
                        "all elements of a list have one type",
                    );
                }
            }
        }
        Some(typed(
            T::List(typed_items),
            Type::List(Box::new(elem)),
            span,
        ))
    }

    fn quantifier(
        &mut self,
        kind: QuantKind,
        var: &Ident,
        over: &ast::Expr,
        body: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<typed::Expr> {
        let over_t = self.expr(over, scope)?;
        let Type::List(elem) = &over_t.ty else {
            let ty = over_t.ty.clone();
            return self.mismatch(
                over.span,
                format!("`{}` ranges over a list, found `{ty}`", kind.keyword()),
                "quantify over a list fact such as `k8s.pods`",
            );
        };
        let id = u32::try_from(scope.vars.len()).unwrap_or(u32::MAX);
        scope.vars.push((var.name.to_string(), (**elem).clone()));
        let body_t = self.bool_expr(
            body,
            scope,
            format_args!("the body of `{}`", kind.keyword()),
        );
        scope.vars.pop();
        let ty = if kind == QuantKind::Count {
            Type::Int
        } else {
            Type::Bool
        };
        Some(typed(
            T::Quant {
                kind,
                var: id,
                over: Box::new(over_t),
                body: Box::new(body_t?),
            },
            ty,
            span,
        ))
    }

    fn call(
        &mut self,
        name: &Ident,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<typed::Expr> {
        if let Some(b) = Builtin::from_name(&name.name) {
            return self.builtin(b, name, args, span, scope);
        }
        if let Some(&rule) = self.rule_index.get(&*name.name) {
            return self.rule_call(rule, name, args, span, scope, false);
        }
        let candidates: Vec<&str> = Builtin::ALL
            .iter()
            .map(|b| b.name())
            .chain(self.rule_index.keys().map(String::as_str))
            .collect();
        let near = closest(&name.name, candidates.iter().copied());
        self.diags.push(
            Diagnostic::new(
                Code::UnknownName,
                name.span,
                format!("unknown function or rule `{}`", name.name),
            )
            .label("not defined")
            .help("the built-in functions are len, exists, known, matches, min, max and sum")
            .suggest(near),
        );
        None
    }

    fn builtin(
        &mut self,
        b: Builtin,
        name: &Ident,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<typed::Expr> {
        let typed_args: Vec<Option<typed::Expr>> =
            args.iter().map(|a| self.expr(a, scope)).collect();
        let typed_args: Vec<typed::Expr> = typed_args.into_iter().collect::<Option<_>>()?;
        let arity = |n: usize| args.len() == n;
        let ty = match b {
            Builtin::Len => {
                if !arity(1) {
                    return self.arity(name, span, "1 argument", args.len());
                }
                match &typed_args[0].ty {
                    Type::List(_) | Type::String => Type::Int,
                    other => {
                        let other = other.clone();
                        return self.mismatch(
                            args[0].span,
                            format!("`len` takes a list or a string, found `{other}`"),
                            "count the elements of a list fact, e.g. `len(k8s.pods)`",
                        );
                    }
                }
            }
            Builtin::Exists => {
                if !arity(1) {
                    return self.arity(name, span, "1 argument", args.len());
                }
                if !reads_only_facts(&typed_args[0]) {
                    return self.mismatch(
                        args[0].span,
                        "`exists` takes a fact path".to_owned(),
                        "write the fact's path, e.g. `exists(metrics.latency_p95)`",
                    );
                }
                Type::Bool
            }
            Builtin::Known => {
                if !arity(1) {
                    return self.arity(name, span, "1 argument", args.len());
                }
                Type::Bool
            }
            Builtin::Matches => {
                if !arity(2) {
                    return self.arity(name, span, "2 arguments", args.len());
                }
                self.expect(&typed_args[0], &Type::String, "the text of `matches`")?;
                let T::Const(Const::Str(pattern)) = &typed_args[1].kind else {
                    return self.mismatch(
                        args[1].span,
                        "the pattern of `matches` must be a string literal".to_owned(),
                        "patterns are compiled once, with the policy",
                    );
                };
                if let Err(err) = regex::Regex::new(pattern) {
                    let detail = err.to_string();
                    let last = detail
                        .lines()
                        .last()
                        .unwrap_or("invalid pattern")
                        .trim()
                        .trim_start_matches("error: ")
                        .to_owned();
                    self.diags.push(
                        Diagnostic::new(Code::BadRegex, args[1].span, format!("invalid regular expression: {last}"))
                            .label("does not compile")
                            .help("patterns use Rust `regex` syntax; escape a backslash in a string as `\\\\`"),
                    );
                    return None;
                }
                Type::Bool
            }
            Builtin::Min | Builtin::Max | Builtin::Sum => {
                let elem = match typed_args.as_slice() {
                    [one] => match &one.ty {
                        Type::List(elem) => (**elem).clone(),
                        other => {
                            let other = other.clone();
                            return self.mismatch(
                                args[0].span,
                                format!(
                                    "`{}` of one argument takes a list, found `{other}`",
                                    b.name()
                                ),
                                "pass a list, or several values",
                            );
                        }
                    },
                    [] => return self.arity(name, span, "a list or at least 2 values", 0),
                    _ if b == Builtin::Sum => return self.arity(name, span, "1 list", args.len()),
                    [first, rest @ ..] => {
                        let mut t = first.ty.clone();
                        for a in rest {
                            match unify(&t, &a.ty) {
                                Some(u) => t = u,
                                None => {
                                    return self.mismatch(
                                        a.span,
                                        format!("`{}` of `{t}` and `{}`", b.name(), a.ty),
                                        "all arguments need one type",
                                    );
                                }
                            }
                        }
                        t
                    }
                };
                let ok = match b {
                    Builtin::Sum => matches!(
                        elem,
                        Type::Int | Type::Float | Type::Duration | Type::Percent
                    ),
                    _ => elem.is_ordered(),
                };
                if !ok {
                    return self.mismatch(span, format!("`{}` does not apply to `{elem}` values", b.name()), "it takes numbers, durations or percentages (and, for min/max, rungs or dates)");
                }
                elem
            }
        };
        Some(typed(T::Call(b, typed_args), ty, span))
    }

    /// A reference to a rule (`bare` when written without parentheses).
    fn rule_call(
        &mut self,
        rule: usize,
        name: &Ident,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
        bare: bool,
    ) -> Option<typed::Expr> {
        let params = self.rules[rule].params.clone();
        if params.len() != args.len() {
            let want = format!(
                "{} argument{}",
                params.len(),
                if params.len() == 1 { "" } else { "s" }
            );
            if bare {
                self.diags.push(
                    Diagnostic::new(
                        Code::WrongArity,
                        span,
                        format!("rule `{}` takes {want}", name.name),
                    )
                    .label("used without arguments")
                    .help(format!("call it: `{}(…)`", name.name)),
                );
                return None;
            }
            return self.arity(name, span, &want, args.len());
        }
        self.rules[rule].called = true;
        let mut typed_args = Vec::new();
        let mut ok = true;
        for (i, (arg, (pname, pty))) in args.iter().zip(&params).enumerate() {
            match (self.expr(arg, scope), pty) {
                (Some(a), Some(pty)) if a.ty.fits(pty) => typed_args.push(a),
                // An untyped parameter takes the type of its first argument.
                (Some(a), None) => {
                    self.rules[rule].params[i].1 = Some(a.ty.clone());
                    typed_args.push(a);
                }
                (Some(a), Some(pty)) => {
                    ok = false;
                    let help = if self.rules[rule].decl.params[i].ty.is_none() {
                        format!(
                            "`{pty}` comes from the rule's first call checked; declare the type to choose it, e.g. `{pname}: {}`",
                            a.ty
                        )
                    } else {
                        "pass a value of the declared type (records need at least the declared fields)".to_owned()
                    };
                    self.diags.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            arg.span,
                            format!(
                                "argument `{pname}` of rule `{}` expects `{pty}`, found `{}`",
                                name.name, a.ty
                            ),
                        )
                        .label(format!("found `{}`", a.ty))
                        .help(help),
                    );
                }
                (None, _) => ok = false,
            }
        }
        let ret = self.rule_type(rule, span)?;
        ok.then(|| typed(T::Rule(rule, typed_args), ret, span))
    }

    /// The type of a rule, checking its body on first use; finds recursion.
    fn rule_type(&mut self, rule: usize, use_span: Span) -> Option<Type> {
        match self.rules[rule].state.clone() {
            RuleState::Done(ty) => ty,
            RuleState::InProgress => {
                let start = self.rule_stack.iter().position(|&r| r == rule).unwrap_or(0);
                let mut chain: Vec<String> = self.rule_stack[start..]
                    .iter()
                    .map(|&r| format!("`{}`", self.rules[r].decl.name.name))
                    .collect();
                chain.push(format!("`{}`", self.rules[rule].decl.name.name));
                self.diags.push(
                    Diagnostic::new(
                        Code::RuleCycle,
                        use_span,
                        format!(
                            "rule `{}` refers to itself",
                            self.rules[rule].decl.name.name
                        ),
                    )
                    .label("recursive reference")
                    .help(format!(
                        "the cycle is {}; rules cannot recurse, use a quantifier",
                        chain.join(" → ")
                    )),
                );
                None
            }
            RuleState::Unchecked if self.rule_stack.len() >= crate::parser::MAX_NESTING => {
                self.diags.push(
                    Diagnostic::new(
                        Code::RuleDepth,
                        use_span,
                        format!(
                            "rules refer to each other more than {} levels deep",
                            crate::parser::MAX_NESTING
                        ),
                    )
                    .label("one level too many")
                    .help("flatten the chain of rules"),
                );
                None
            }
            RuleState::Unchecked => {
                self.check_rule(rule);
                match &self.rules[rule].state {
                    RuleState::Done(ty) => ty.clone(),
                    _ => None,
                }
            }
        }
    }

    /// Checks a rule's body once its parameters' types are known; a rule with an untyped
    /// parameter waits for a call to give it one.
    pub(super) fn check_rule(&mut self, rule: usize) {
        if !matches!(self.rules[rule].state, RuleState::Unchecked) {
            return;
        }
        let Some(params) = self.rules[rule].typed_params() else {
            return;
        };
        self.rules[rule].state = RuleState::InProgress;
        self.rule_stack.push(rule);
        let decl = self.rules[rule].decl;
        let mut scope = Scope {
            vars: params.clone(),
        };
        let body = self.expr(&decl.body, &mut scope);
        self.rule_stack.pop();
        let ty = body.as_ref().map(|b| b.ty.clone());
        if let Some(body) = body {
            self.typed_rules[rule] = Some(typed::Rule {
                name: decl.name.name.to_string(),
                params,
                ret: body.ty.clone(),
                body,
                span: decl.name.span,
            });
        }
        self.rules[rule].state = RuleState::Done(ty);
    }

    /// `what` is formatted only when the type does not fit (this runs for every operand).
    fn expect(&mut self, e: &typed::Expr, want: &Type, what: impl std::fmt::Display) -> Option<()> {
        if e.ty.fits(want) {
            return Some(());
        }
        let help = match (&e.ty, want) {
            (Type::Int | Type::Float, Type::Bool) => {
                "compare it, e.g. `… == 0` or `… > 0`".to_owned()
            }
            (Type::List(_), Type::Bool) => {
                "use a quantifier (`all x in …: …`) or `len(…) > 0`".to_owned()
            }
            _ => format!("{what} must be a `{want}`"),
        };
        self.mismatch(
            e.span,
            format!("{what} must be a `{want}`, found `{}`", e.ty),
            &help,
        )
        .map(|_: typed::Expr| ())
    }

    fn arity(&mut self, name: &Ident, span: Span, want: &str, got: usize) -> Option<typed::Expr> {
        self.diags.push(
            Diagnostic::new(
                Code::WrongArity,
                span,
                format!("`{}` takes {want}, found {got}", name.name),
            )
            .label("wrong number of arguments")
            .help(format!("call `{}` with {want}", name.name)),
        );
        None
    }

    fn mismatch(&mut self, span: Span, message: String, help: &str) -> Option<typed::Expr> {
        self.diags.push(
            Diagnostic::new(Code::TypeMismatch, span, message)
                .label("type mismatch")
                .help(help),
        );
        None
    }
}

/// The common type of two operands that may meet (`==`, `if` branches, list elements):
/// equal types, or an int and a float (a float).
fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Int, Type::Float) | (Type::Float, Type::Int) => Some(Type::Float),
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

/// The unit rules of arithmetic. The left operand's unit wins; a percent on the right of `*`
/// is a fraction (`limit * 90%` is a number, `latency * 110%` a duration).
fn arithmetic(op: BinaryOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::{Date, Duration, Float, Int, Percent};
    Some(match (op, l, r) {
        (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, Int, Int) => Int,
        (BinaryOp::Div, Int | Float, Int | Float) => Float,
        (_, Int | Float, Int | Float) => Float,
        (BinaryOp::Add | BinaryOp::Sub, Duration, Duration) => Duration,
        (BinaryOp::Add | BinaryOp::Sub, Percent, Percent) => Percent,
        (BinaryOp::Add | BinaryOp::Sub, Date, Duration) => Date,
        (BinaryOp::Sub, Date, Date) => Duration,
        (BinaryOp::Mul, Duration, Int | Float | Percent) => Duration,
        (BinaryOp::Mul, Int | Float, Duration) => Duration,
        (BinaryOp::Mul, Percent, Int | Float | Percent) => Percent,
        (BinaryOp::Mul, Int | Float, Percent) => Float,
        (BinaryOp::Div, Duration, Int | Float) => Duration,
        (BinaryOp::Div, Duration, Duration) => Float,
        (BinaryOp::Div, Percent, Int | Float) => Percent,
        (BinaryOp::Div, Percent, Percent) => Float,
        _ => return None,
    })
}

/// Whether an expression is a fact, possibly followed by fields (what `exists` accepts).
fn reads_only_facts(e: &typed::Expr) -> bool {
    match &e.kind {
        T::Fact(_) => true,
        T::Field(base, _) | T::Project(base, _) => reads_only_facts(base),
        _ => false,
    }
}
