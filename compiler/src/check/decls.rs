//! The declaration pass: policy name, ladder, `fact`s, rules and checks, with duplicate and
//! shadowing errors. Runs before any expression is checked.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{CheckSlot, Checker, ConfigField, RuleSlot, RuleState};
use crate::ast::{self, ItemKind, Span, StrLit};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::schema;
use crate::typed::{self, Builtin};
use crate::types::{Const, Type};

impl<'a> Checker<'a> {
    pub(super) fn collect(&mut self, modules: &'a [ast::Module]) {
        let mut ladder: Option<Span> = None;
        let mut policy: Option<Span> = None;
        for (index, module) in modules.iter().enumerate() {
            for item in &module.items {
                match &item.kind {
                    ItemKind::Policy(name) if index == 0 => {
                        if let Some(first) = policy {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::Policy,
                                    name.span,
                                    "the policy is named twice",
                                )
                                .label("second name")
                                .also(first, "first named here")
                                .help("keep one `policy` line in the root file"),
                            );
                        } else {
                            policy = Some(name.span);
                            self.name = Some(name.name.to_string());
                        }
                    }
                    ItemKind::Ladder(rungs) => match ladder {
                        Some(first) => self.diags.push(
                            Diagnostic::new(Code::Ladder, item.span, "a policy has one ladder")
                                .label("second ladder")
                                .also(first, "first ladder")
                                .help("merge the rungs into one `ladder` block"),
                        ),
                        None => {
                            ladder = Some(item.span);
                            self.collect_ladder(item.span, rungs);
                        }
                    },
                    _ => {}
                }
            }
        }
        // Rules after the ladder: a rule may not take a rung's name.
        for module in modules {
            for item in &module.items {
                match &item.kind {
                    ItemKind::Fact(decl) => self.collect_fact(decl),
                    ItemKind::Rule(decl) => self.collect_rule(decl),
                    _ => {}
                }
            }
        }
        // Checks come last: a check's name must not hide a fact namespace or a rule.
        for module in modules {
            for item in &module.items {
                if let ItemKind::Check(decl) = &item.kind {
                    self.collect_check(decl, item.span);
                }
            }
        }
        if let Some(root) = modules.first() {
            let start = Span::new(root.file, 0, 0);
            if policy.is_none() {
                self.diags.push(
                    Diagnostic::new(Code::Policy, start, "the policy has no name")
                        .label("expected `policy <name>` in this file")
                        .help("start the root file with a line such as `policy phase_v`"),
                );
            }
            if ladder.is_none() {
                self.diags.push(
                    Diagnostic::new(Code::Ladder, start, "the policy has no ladder")
                        .label("no `ladder` in this file or its imports")
                        .help("declare the rungs in order: `ladder { local_compose \"Local Docker Compose\" … }`"),
                );
            }
        }
    }

    fn collect_ladder(&mut self, span: Span, rungs: &[ast::RungDecl]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for rung in rungs {
            if let Some(&first) = seen.get(&*rung.name.name) {
                self.duplicate("rung", &rung.name.name, rung.name.span, first);
                continue;
            }
            seen.insert(&rung.name.name, rung.name.span);
            let label = match &rung.label {
                Some(l) => self
                    .plain(l, "a rung label")
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
                None => rung.name.name.to_string(),
            };
            self.rungs.push(typed::Rung {
                name: rung.name.name.to_string(),
                label,
                span: rung.name.span,
            });
        }
        if self.rungs.len() < 2 {
            self.diags.push(
                Diagnostic::new(Code::Ladder, span, "a ladder needs at least two rungs")
                    .label("too few rungs to promote between")
                    .help("list the environments in promotion order, lowest first"),
            );
        }
    }

    fn collect_fact(&mut self, decl: &ast::FactDecl) {
        let path = decl.path.to_string();
        let span = decl.path.span;
        self.check_type_expr(&decl.ty);
        if schema::Schema::builtin().contains(&path) {
            self.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    span,
                    format!("`{path}` is a built-in fact"),
                )
                .label("already in the built-in schema")
                .help("built-in facts need no declaration; remove this line"),
            );
            return;
        }
        // Besides the built-in facts (refused above), the schema holds the declared ones: a
        // lookup there spares searching every declaration for each.
        if self.schema.contains(&path) {
            let first = self
                .declared
                .iter()
                .find(|d| d.path == path)
                .map_or(span, |d| d.span);
            self.duplicate("fact", &path, span, first);
            return;
        }
        let conflict = self.schema.overlapping(&path);
        if let Some((other, _)) = conflict {
            let other = other.to_owned();
            self.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    span,
                    format!("fact `{path}` overlaps fact `{other}`"),
                )
                .label("one fact path may not lie inside another")
                .help("a fact is a leaf or a record; declare a record type to group values"),
            );
            return;
        }
        let ty = Type::from_ast(&decl.ty);
        let range = decl.range.as_ref().and_then(|r| self.fact_range(r, &ty));
        self.schema.insert(path.clone(), ty.clone());
        self.declared.push(typed::DeclaredFact {
            path,
            ty,
            span,
            range,
        });
    }

    /// The range of a declared fact of type `ty`, in the units of its runtime value; `None`
    /// after reporting a range that does not fit the type or is empty.
    fn fact_range(&mut self, range: &ast::FactRange, ty: &Type) -> Option<crate::ir::SlotRange> {
        let mut bad = |at: Span, message: String, label: &str| {
            self.diags.push(
                Diagnostic::new(Code::FactRange, at, message)
                    .label(label)
                    .help("write `in LOW..HIGH` with bounds of the fact's type, either end open: `int in 0..100`, `float in 0.0..`, `duration in ..5m`, `percent in 0%..5%`"),
            );
        };
        if !matches!(ty, Type::Int | Type::Float | Type::Duration | Type::Percent) {
            bad(
                range.span,
                format!("a `{ty}` fact cannot have a range"),
                "only int, float, duration and percent facts have ranges",
            );
            return None;
        }
        let mut value = |bound: &Option<ast::Expr>| -> Result<Option<f64>, ()> {
            let Some(bound) = bound else { return Ok(None) };
            let (negative, literal) = match &bound.kind {
                ast::ExprKind::Unary(ast::UnaryOp::Neg, inner) => (true, &inner.kind),
                kind => (false, kind),
            };
            let number = match (ty, literal) {
                (Type::Int, ast::ExprKind::Int(n)) => *n as f64,
                (Type::Float, ast::ExprKind::Float(f)) => *f,
                (Type::Float, ast::ExprKind::Int(n)) => *n as f64,
                (Type::Duration, ast::ExprKind::Duration { value, unit }) => value * unit.millis(),
                (Type::Percent, ast::ExprKind::Percent(p)) => p / 100.0,
                _ => {
                    bad(
                        bound.span,
                        format!("this bound is not of type `{ty}`"),
                        "the bounds of a range have the fact's type",
                    );
                    return Err(());
                }
            };
            Ok(Some(if negative { -number } else { number }))
        };
        let low = value(&range.low);
        let high = value(&range.high);
        let (Ok(low), Ok(high)) = (low, high) else {
            return None;
        };
        match (low, high) {
            (None, None) => {
                bad(
                    range.span,
                    "a range needs at least one bound".to_owned(),
                    "both ends are open",
                );
                None
            }
            (Some(l), Some(h)) if l > h => {
                bad(
                    range.span,
                    "this range is empty: its low bound is above its high bound".to_owned(),
                    "no value fits",
                );
                None
            }
            _ => Some(crate::ir::SlotRange {
                low,
                high,
                text: crate::fmt::fact_range(range),
            }),
        }
    }

    fn collect_rule(&mut self, decl: &'a ast::RuleDecl) {
        let name: &str = &decl.name.name;
        if let Some(&id) = self.rule_index.get(name) {
            let first = self.rules[id].decl.name.span;
            self.duplicate("rule", name, decl.name.span, first);
            return;
        }
        if Builtin::from_name(name).is_some() || name == "target" {
            self.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    decl.name.span,
                    format!("`{name}` is a built-in name"),
                )
                .label("cannot be redefined")
                .help("choose another name for the rule"),
            );
            return;
        }
        if let Some(rung) = self.rungs.iter().find(|r| r.name == *name) {
            let first = rung.span;
            self.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    decl.name.span,
                    format!("rule `{name}` has the name of a rung"),
                )
                .label("a bare name would be ambiguous")
                .also(first, "the rung")
                .help("rename the rule"),
            );
            return;
        }
        let mut params: Vec<(String, Option<Type>)> = Vec::new();
        for p in &decl.params {
            if let Some(ty) = &p.ty {
                self.check_type_expr(ty);
            }
            if params.iter().any(|(n, _)| **n == *p.name.name) {
                self.diags.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        p.name.span,
                        format!("parameter `{}` is declared twice", p.name.name),
                    )
                    .label("duplicate parameter")
                    .help("give each parameter its own name"),
                );
            }
            params.push((p.name.name.to_string(), p.ty.as_ref().map(Type::from_ast)));
        }
        self.rule_index.insert(name.to_owned(), self.rules.len());
        self.rules.push(RuleSlot {
            decl,
            params,
            called: false,
            state: RuleState::Unchecked,
        });
        self.typed_rules.push(None);
    }

    fn collect_check(&mut self, decl: &ast::CheckDecl, span: Span) {
        let name: &str = &decl.name.name;
        if let Some(&id) = self.check_index.get(name) {
            let first = self.checks[id].span;
            self.duplicate("check", name, decl.name.span, first);
            return;
        }
        if self.schema.is_namespace(name)
            || self.rule_index.contains_key(name)
            || self.rung(name).is_some()
        {
            self.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    decl.name.span,
                    format!("check `{name}` has the name of a fact namespace, rule or rung"),
                )
                .label("its outputs would be ambiguous")
                .help("rename the check"),
            );
            return;
        }
        let plugin = self
            .plain(&decl.plugin, "a plugin name")
            .map(Cow::into_owned)
            .unwrap_or_default();
        let mut config: Vec<(String, Const)> = Vec::new();
        for item in &decl.config {
            if config.iter().any(|(k, _)| **k == *item.key.name) {
                self.diags.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        item.key.span,
                        format!("configuration key `{}` is set twice", item.key.name),
                    )
                    .label("duplicate key")
                    .help("set each key once"),
                );
                continue;
            }
            if let Some(value) = self.constant(&item.value) {
                config.push((item.key.name.to_string(), value));
            }
        }
        let mut outputs = schema::check_outputs();
        if let Some(described) = self.options.plugins.get(&plugin) {
            // The first of each name wins; a set keeps this linear in the outputs described.
            let mut seen: rustc_hash::FxHashSet<String> =
                outputs.iter().map(|(n, _)| n.clone()).collect();
            for (out, ty) in &described.outputs {
                if seen.insert(out.clone()) {
                    outputs.push((out.clone(), ty.clone()));
                }
            }
            self.check_config(decl, &plugin, &described.config, &config);
        } else if self.options.all_plugins && !plugin.is_empty() {
            self.unknown_plugin(&decl.plugin, &plugin);
        }
        self.check_index.insert(name.to_owned(), self.checks.len());
        self.checks.push(CheckSlot {
            name: name.to_owned(),
            plugin,
            config,
            outputs,
            reads: Vec::new(),
            span,
        });
    }

    /// A check of a plugin that is not among every plugin there is (`Options::all_plugins`).
    fn unknown_plugin(&mut self, at: &StrLit, plugin: &str) {
        let known = self.options.plugins.keys().map(String::as_str);
        let help = did_you_mean(plugin, known.clone()).unwrap_or_else(|| {
            let known: Vec<String> = known.map(|k| format!("`{k}`")).collect();
            if known.is_empty() {
                format!("no plugin is configured: pin it in phasev.toml as [plugins.{plugin}]")
            } else {
                format!(
                    "the configured plugins are {}; or pin this one in phasev.toml as [plugins.{plugin}]",
                    known.join(", ")
                )
            }
        });
        self.diags.push(
            Diagnostic::new(
                Code::PluginConfig,
                at.span,
                format!("no plugin `{plugin}` is configured"),
            )
            .label("not a configured plugin")
            .help(help),
        );
    }

    /// Checks a check's configuration against the keys its plugin describes: no unknown key,
    /// every required key, each value of its key's type.
    fn check_config(
        &mut self,
        decl: &ast::CheckDecl,
        plugin: &str,
        fields: &[ConfigField],
        config: &[(String, Const)],
    ) {
        for item in &decl.config {
            let key: &str = &item.key.name;
            let Some(field) = fields.iter().find(|f| f.name == *key) else {
                let help = match did_you_mean(key, fields.iter().map(|f| f.name.as_str())) {
                    Some(near) => near,
                    None if fields.is_empty() => {
                        format!("plugin `{plugin}` takes no configuration")
                    }
                    None => format!(
                        "plugin `{plugin}` takes {}",
                        fields
                            .iter()
                            .map(|f| format!("`{}`", f.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.diags.push(
                    Diagnostic::new(
                        Code::PluginConfig,
                        item.key.span,
                        format!("plugin `{plugin}` has no configuration key `{key}`"),
                    )
                    .label("unknown key")
                    .help(help),
                );
                continue;
            };
            let Some((_, value)) = config.iter().find(|(k, _)| k == key) else {
                continue;
            };
            if !fits(value, &field.ty) {
                self.diags.push(
                    Diagnostic::new(
                        Code::PluginConfig,
                        item.value.span,
                        format!("`{key}` of plugin `{plugin}` must be {}", a(&field.ty)),
                    )
                    .label(match value.ty() {
                        Some(ty) => format!("this is {}", a(&ty)),
                        None => "not of that type".to_owned(),
                    })
                    .help(format!("write {} here", a(&field.ty))),
                );
            }
        }
        for field in fields.iter().filter(|f| f.required) {
            if !decl.config.iter().any(|i| *i.key.name == *field.name) {
                self.diags.push(
                    Diagnostic::new(
                        Code::PluginConfig,
                        decl.name.span,
                        format!(
                            "check `{}` does not set `{}`, which plugin `{plugin}` requires",
                            decl.name.name, field.name
                        ),
                    )
                    .label("configured here")
                    .help(format!(
                        "add `{}: …` ({}) to its configuration",
                        field.name,
                        a(&field.ty)
                    )),
                );
            }
        }
    }

    /// Resolves the facts each described plugin reads; a path the schema does not know is an
    /// error at the check (the plugin would be given nothing for it).
    pub(super) fn check_plugin_reads(&mut self) {
        for i in 0..self.checks.len() {
            let Some(described) = self.options.plugins.get(&self.checks[i].plugin) else {
                continue;
            };
            let mut reads = Vec::with_capacity(described.reads.len());
            for path in &described.reads {
                let Some(ty) = self.schema.get(path).cloned() else {
                    let check = &self.checks[i];
                    let known = self.schema.paths();
                    let help = match did_you_mean(path, known) {
                        Some(near) => {
                            format!("{near} A plugin's description must name facts exactly")
                        }
                        None => format!(
                            "declare it (`fact {path}: …`) or use a plugin version that reads known facts"
                        ),
                    };
                    self.diags.push(
                        Diagnostic::new(
                            Code::PluginRead,
                            check.span,
                            format!(
                                "plugin `{}` reads `{path}`, which is not a known fact",
                                check.plugin
                            ),
                        )
                        .label("this check's plugin")
                        .help(help),
                    );
                    continue;
                };
                reads.push(self.intern_schema_fact(path, &ty));
            }
            self.checks[i].reads = reads;
        }
    }

    /// A literal value for a plugin's configuration.
    fn constant(&mut self, e: &ast::Expr) -> Option<Const> {
        use ast::ExprKind as K;
        Some(match &e.kind {
            K::Bool(b) => Const::Bool(*b),
            K::Int(n) => Const::Int(*n),
            K::Float(f) => Const::Float(*f),
            K::Str(s) => Const::Str(self.plain(s, "a configuration value")?.into_owned()),
            K::Duration { value, unit } => Const::Duration(value * unit.millis()),
            K::Percent(p) => Const::Percent(p / 100.0),
            K::Date(d) => Const::Date(d.days_since_epoch()),
            K::Unary(ast::UnaryOp::Neg, inner) => match self.constant(inner)? {
                Const::Int(n) => Const::Int(n.checked_neg()?),
                Const::Float(f) => Const::Float(-f),
                Const::Duration(f) => Const::Duration(-f),
                Const::Percent(f) => Const::Percent(-f),
                _ => return self.not_constant(e),
            },
            K::List(items) => {
                let items: Option<Vec<Const>> = items.iter().map(|i| self.constant(i)).collect();
                Const::List(items?)
            }
            _ => return self.not_constant(e),
        })
    }

    fn not_constant(&mut self, e: &ast::Expr) -> Option<Const> {
        self.diags.push(
            Diagnostic::new(
                Code::NotConstant,
                e.span,
                "plugin configuration must be a literal",
            )
            .label("not a constant")
            .help("use a string, number, boolean, duration, percentage, date, or a list of them"),
        );
        None
    }

    /// Reports duplicate record fields in a type expression.
    fn check_type_expr(&mut self, t: &ast::TypeExpr) {
        match &t.kind {
            ast::TypeExprKind::Scalar(_) => {}
            ast::TypeExprKind::List(elem) => self.check_type_expr(elem),
            ast::TypeExprKind::Record(fields) => {
                for (i, f) in fields.iter().enumerate() {
                    if let Some(first) = fields[..i].iter().find(|g| g.name.name == f.name.name) {
                        let first = first.name.span;
                        self.duplicate("field", &f.name.name, f.name.span, first);
                    }
                    self.check_type_expr(&f.ty);
                }
            }
        }
    }

    /// The text of a string that must not interpolate.
    pub(super) fn plain<'s>(&mut self, s: &'s StrLit, what: &str) -> Option<Cow<'s, str>> {
        let text = s.as_plain();
        if text.is_none() {
            self.diags.push(
                Diagnostic::new(
                    Code::Interpolation,
                    s.span,
                    format!("{what} cannot interpolate facts"),
                )
                .label("holes are not allowed here")
                .help("write plain text, or escape braces as `\\{` and `\\}`"),
            );
        }
        text
    }

    pub(super) fn duplicate(&mut self, what: &str, name: &str, span: Span, first: Span) {
        self.diags.push(
            Diagnostic::new(
                Code::Duplicate,
                span,
                format!("{what} `{name}` is defined twice"),
            )
            .label("second definition")
            .also(first, "first defined here")
            .help(format!(
                "rename or remove one of the two; each {what} name must be unique"
            )),
        );
    }
}

/// Whether a configuration constant is a value of `ty` (an integer is also a float).
fn fits(value: &Const, ty: &Type) -> bool {
    match (value, ty) {
        (Const::List(items), Type::List(elem)) => items.iter().all(|i| fits(i, elem)),
        (Const::Int(_), Type::Float) => true,
        (value, ty) => value.ty().as_ref() == Some(ty),
    }
}

/// A type with its indefinite article: `an int`, `a string`, `a list<int>`.
fn a(ty: &Type) -> String {
    let text = ty.to_string();
    let article = if text.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {text}")
}
