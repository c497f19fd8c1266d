//! Gates, escalations and the checklist: rungs in ladder order, unique names, bool conditions,
//! complete escalation blocks.

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;

use super::{Checker, RuleState, Scope};
use crate::ast::{self, EscalateItemKind, ItemKind, ReqKind, Severity, Span};
use crate::diag::{Code, Diagnostic, closest};
use crate::typed;

impl Checker<'_> {
    /// Checks every rule body, used or not, so unused rules still get their errors.
    pub(super) fn check_rules(&mut self) {
        for rule in 0..self.rules.len() {
            self.check_rule(rule);
        }
    }

    /// A rule with an untyped parameter is checked at its first call; one that nothing calls
    /// leaves the type unknown, so each such parameter is reported with the fix.
    pub(super) fn check_uncalled_rules(&mut self) {
        for slot in &self.rules {
            if slot.called || !matches!(slot.state, RuleState::Unchecked) {
                continue;
            }
            let rule = &slot.decl.name.name;
            for p in slot.decl.params.iter().filter(|p| p.ty.is_none()) {
                let name = &p.name.name;
                let ty = slot.decl.body.hinted_type(name).unwrap_or("<type>");
                self.diags.push(
                    Diagnostic::new(
                        Code::UntypedParam,
                        p.name.span,
                        format!("the type of parameter `{name}` of rule `{rule}` cannot be inferred"),
                    )
                    .label("no call of the rule gives it a type")
                    .help(format!(
                        "an untyped parameter takes the type of its argument in the rule's first call, and nothing calls `{rule}`: write it `{name}: {ty}`"
                    )),
                );
            }
        }
    }

    pub(super) fn check_items(&mut self, modules: &[ast::Module]) {
        let mut gates: HashMap<(u32, u32), Span> = HashMap::default();
        let mut labels: HashMap<Cow<'_, str>, Span> = HashMap::default();
        for module in modules {
            for item in &module.items {
                match &item.kind {
                    ItemKind::Gate(gate) => self.check_gate(gate, item.span, &mut gates),
                    ItemKind::Escalate(esc) => self.check_escalation(esc, item.span),
                    ItemKind::Checklist(entries) => {
                        for entry in entries {
                            self.check_checklist_item(entry, &mut labels);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn gate_rung(&mut self, ident: &ast::Ident) -> Option<typed::RungId> {
        if let Some(r) = self.rung(&ident.name) {
            return Some(r);
        }
        if !self.rungs.is_empty() {
            let names: Vec<_> = self.rungs.iter().map(|r| format!("`{}`", r.name)).collect();
            let near = closest(&ident.name, self.rungs.iter().map(|r| r.name.as_str()));
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownRung,
                    ident.span,
                    format!("`{}` is not a rung of the ladder", ident.name),
                )
                .label("unknown rung")
                .help(format!("the rungs are {}", names.join(", ")))
                .suggest(near),
            );
        }
        None
    }

    fn check_gate(
        &mut self,
        gate: &ast::GateDecl,
        span: Span,
        seen: &mut HashMap<(u32, u32), Span>,
    ) {
        let from = self.gate_rung(&gate.from);
        let to = self.gate_rung(&gate.to);
        let mut requirements = Vec::with_capacity(gate.items().len());
        // Names as written (borrowed from the syntax tree: most need no copy).
        let mut names: HashMap<Cow<'_, str>, Span> = HashMap::default();
        for req in gate.items() {
            let name = self.plain(&req.name, "a requirement name");
            if let Some(name) = &name {
                if let Some(&first) = names.get(name) {
                    self.duplicate("requirement", name, req.name.span, first);
                } else {
                    names.insert(name.clone(), req.name.span);
                }
            }
            let expr = self.bool_expr(&req.expr, &mut Scope::default(), "a requirement");
            if let (Some(name), Some(expr)) = (name, expr) {
                let severity = req.severity.unwrap_or(match req.kind {
                    ReqKind::Require => Severity::Warning,
                    ReqKind::Warn => Severity::Info,
                });
                requirements.push(typed::Requirement {
                    kind: req.kind,
                    severity,
                    name: name.into_owned(),
                    expr,
                    span: req.span,
                });
            }
        }
        let (Some(from), Some(to)) = (from, to) else {
            return;
        };
        if to <= from {
            self.diags.push(
                Diagnostic::new(
                    Code::BackwardGate,
                    gate.from.span.to(gate.to.span),
                    format!(
                        "gate `{} -> {}` does not go up the ladder",
                        gate.from.name, gate.to.name
                    ),
                )
                .label(if to == from {
                    "same rung on both sides"
                } else {
                    "target comes before source"
                })
                .help(format!(
                    "a gate promotes upward; did you mean `gate {} -> {}`?",
                    gate.to.name, gate.from.name
                )),
            );
            return;
        }
        if let Some(&first) = seen.get(&(from, to)) {
            let here = gate.from.span.to(gate.to.span);
            if first.file == here.file {
                let name = format!("{} -> {}", gate.from.name, gate.to.name);
                self.duplicate("gate", &name, here, first);
                return;
            }
            // A policy extends a gate of a file it imports (or is imported by): the
            // requirements of both are the gate's.
            let Some(index) = self.gates.iter().position(|g| g.from == from && g.to == to) else {
                return;
            };
            for req in requirements {
                let taken = self.gates[index]
                    .requirements
                    .iter()
                    .find(|r| r.name == req.name)
                    .map(|r| r.span);
                match taken {
                    Some(first) => self.duplicate("requirement", &req.name, req.span, first),
                    None => self.gates[index].requirements.push(req),
                }
            }
            return;
        }
        seen.insert((from, to), gate.from.span.to(gate.to.span));
        self.gates.push(typed::Gate {
            from,
            to,
            requirements,
            open: matches!(gate.body, ast::GateBody::Open),
            span,
        });
    }

    fn check_escalation(&mut self, esc: &ast::EscalateDecl, span: Span) {
        let mut scope = Scope::default();
        let title = self.text(&esc.title, &mut scope);
        let when = self.bool_expr(&esc.when, &mut scope, "an escalation condition");
        let mut severity: Option<(Severity, Span)> = None;
        let mut context: Option<(typed::Text, Span)> = None;
        let mut impact: Option<(typed::Text, Span)> = None;
        let mut options = Vec::new();
        let mut recommend: Option<(u32, typed::Text, Span)> = None;
        let mut ok = title.is_some() && when.is_some();
        for item in &esc.items {
            let once = |this: &mut Self, first: Option<Span>, what: &str| {
                if let Some(first) = first {
                    this.diags.push(
                        Diagnostic::new(
                            Code::Escalation,
                            item.span,
                            format!("`{what}` is given twice"),
                        )
                        .label("second one")
                        .also(first, "first one")
                        .help(format!("an escalation has one `{what}`")),
                    );
                    false
                } else {
                    true
                }
            };
            match &item.kind {
                EscalateItemKind::Severity(s) => {
                    if once(self, severity.map(|s| s.1), "severity") {
                        severity = Some((*s, item.span));
                    } else {
                        ok = false;
                    }
                }
                EscalateItemKind::Context(t) => {
                    if once(self, context.as_ref().map(|c| c.1), "context") {
                        match self.text(t, &mut scope) {
                            Some(text) => context = Some((text, item.span)),
                            None => ok = false,
                        }
                    } else {
                        ok = false;
                    }
                }
                EscalateItemKind::Impact(t) => {
                    if once(self, impact.as_ref().map(|c| c.1), "impact") {
                        match self.text(t, &mut scope) {
                            Some(text) => impact = Some((text, item.span)),
                            None => ok = false,
                        }
                    } else {
                        ok = false;
                    }
                }
                EscalateItemKind::Option { title, tradeoff } => {
                    let title = self.text(title, &mut scope);
                    let tradeoff = self.text(tradeoff, &mut scope);
                    match (title, tradeoff) {
                        (Some(title), Some(tradeoff)) => {
                            options.push((typed::EscalationOption { title, tradeoff }, item.span))
                        }
                        _ => ok = false,
                    }
                }
                EscalateItemKind::Recommend { option, reason } => {
                    if once(self, recommend.as_ref().map(|r| r.2), "recommend") {
                        match self.text(reason, &mut scope) {
                            Some(text) => recommend = Some((*option, text, item.span)),
                            None => ok = false,
                        }
                    } else {
                        ok = false;
                    }
                }
            }
        }
        let title_span = esc.title.span;
        let written = |what: &str| {
            esc.items.iter().any(|i| match &i.kind {
                EscalateItemKind::Context(_) => what == "context",
                EscalateItemKind::Impact(_) => what == "impact",
                EscalateItemKind::Recommend { .. } => what == "recommend",
                _ => false,
            })
        };
        for what in ["context", "impact", "recommend"] {
            if !written(what) {
                ok = false;
                self.diags.push(
                    Diagnostic::new(Code::Escalation, title_span, format!("escalation has no `{what}`"))
                        .label(format!("missing `{what}`"))
                        .help("an escalation block has a context, an impact, 2–3 options and a recommendation"),
                );
            }
        }
        let option_count = esc
            .items
            .iter()
            .filter(|i| matches!(i.kind, EscalateItemKind::Option { .. }))
            .count();
        if !(2..=3).contains(&option_count) {
            ok = false;
            let at = esc
                .items
                .iter()
                .filter(|i| matches!(i.kind, EscalateItemKind::Option { .. }))
                .nth(3)
                .map_or(title_span, |o| o.span);
            self.diags.push(
                Diagnostic::new(
                    Code::Escalation,
                    at,
                    format!(
                        "escalation has {option_count} option{}, not 2–3",
                        if option_count == 1 { "" } else { "s" }
                    ),
                )
                .label("a human chooses between 2 or 3 options")
                .help("give each option its trade-off: `option \"…\": \"trade-off\"`"),
            );
        }
        if let Some((n, _, at)) = &recommend
            && (*n == 0 || *n as usize > option_count)
            && option_count > 0
        {
            ok = false;
            self.diags.push(
                Diagnostic::new(
                    Code::Escalation,
                    *at,
                    format!("`recommend {n}` names no option"),
                )
                .label(format!("the options are numbered 1 to {option_count}"))
                .help("options are numbered from 1 in the order they are written"),
            );
        }
        if !ok {
            return;
        }
        let (
            Some(title),
            Some(when),
            Some((context, _)),
            Some((impact, _)),
            Some((option, reason, _)),
        ) = (title, when, context, impact, recommend)
        else {
            return;
        };
        self.escalations.push(typed::Escalation {
            title,
            when,
            severity: severity.map_or(Severity::Critical, |s| s.0),
            context,
            impact,
            options: options.into_iter().map(|o| o.0).collect(),
            recommend: typed::Recommendation { option, reason },
            span,
        });
    }

    fn check_checklist_item<'m>(
        &mut self,
        entry: &'m ast::ChecklistItem,
        labels: &mut HashMap<Cow<'m, str>, Span>,
    ) {
        let label = self.plain(&entry.label, "a checklist label");
        if let Some(label) = &label {
            if let Some(&first) = labels.get(label) {
                self.duplicate("checklist item", label, entry.label.span, first);
            } else {
                labels.insert(label.clone(), entry.label.span);
            }
        }
        let expr = self.bool_expr(&entry.expr, &mut Scope::default(), "a checklist item");
        if let (Some(label), Some(expr)) = (label, expr) {
            self.checklist.push(typed::ChecklistItem {
                label: label.into_owned(),
                expr,
                span: entry.span,
            });
        }
    }
}
