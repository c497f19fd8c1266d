//! ast::Module + source ─fmt→ canonical text. Comments are kept: the grammar drops them, so
//! they are found in the source and placed before the next statement (or after the one they
//! trail on its line). Blank lines between statements are kept, folded to one.

mod comments;
mod expr;
#[cfg(test)]
mod tests;

use comments::Comments;
use expr::{expr, string, type_expr};

use crate::ast::{
    ChecklistItem, EscalateItem, EscalateItemKind, GateBody, ItemKind, Module, ReqKind,
    Requirement, RungDecl, Span,
};

/// Lines longer than this are broken after the `:` of a requirement or the `=` of a rule.
const WIDTH: usize = 100;

/// The canonical layout of a parsed file; `source` is its text (for comments and blank lines).
/// A fact's range as the formatter writes it (`0..100`, `0.0..`, `..5m`): also how messages
/// name it.
pub fn fact_range(range: &crate::ast::FactRange) -> String {
    let bound =
        |b: &Option<crate::ast::Expr>| b.as_ref().map_or(String::new(), |e| expr(e, 0, true));
    format!("{}..{}", bound(&range.low), bound(&range.high))
}

pub fn format(module: &Module, source: &str) -> String {
    let mut f = Formatter {
        out: String::new(),
        comments: Comments::scan(source),
        source,
        last_end: None,
    };
    for item in &module.items {
        let is_block = matches!(
            item.kind,
            ItemKind::Ladder(_)
                | ItemKind::Gate(_)
                | ItemKind::Escalate(_)
                | ItemKind::Checklist(_)
        );
        // A block's inner comments belong to its statements, not before its header.
        let leading = if is_block {
            item.span.start
        } else {
            item.span.end
        };
        f.statement(item.span, leading, "", |f| f.item(&item.kind, item.span));
    }
    f.flush_comments(usize::MAX, "");
    let trimmed = f.out.trim_end();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
}

struct Formatter<'a> {
    out: String,
    comments: Comments,
    source: &'a str,
    /// Where the previous statement of the current block ended, for blank lines.
    last_end: Option<usize>,
}

impl Formatter<'_> {
    /// Writes one statement at `indent`: its leading comments, a blank line if the source had
    /// one, the statement itself (via `body`) and a comment trailing it on the same line.
    /// Comments that start before `leading` are written first.
    fn statement(&mut self, span: Span, leading: u32, indent: &str, body: impl FnOnce(&mut Self)) {
        let start = span.start as usize;
        let end = span.end as usize;
        self.flush_comments(leading as usize, indent);
        if let Some(prev) = self.last_end
            && self.blank_between(prev, start)
        {
            self.out.push('\n');
        }
        self.out.push_str(indent);
        body(self);
        if let Some(comment) = self.comments.trailing(self.source, end) {
            self.out.push_str("  ");
            self.out.push_str(&comment);
        }
        self.out.push('\n');
        self.last_end = Some(end);
    }

    /// Writes every comment that starts before `before`, each on its own line, keeping one
    /// blank line wherever the source had some.
    fn flush_comments(&mut self, before: usize, indent: &str) {
        while let Some(comment) = self.comments.take_before(before) {
            if let Some(prev) = self.last_end
                && self.blank_between(prev, comment.start)
            {
                self.out.push('\n');
            }
            self.out.push_str(indent);
            self.out.push_str(&comment.text);
            self.out.push('\n');
            self.last_end = Some(comment.end);
        }
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.source
            .get(from..to)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    /// A block `{ … }` of statements, or `{}` when it has none and no comments.
    fn block<T>(
        &mut self,
        items: &[T],
        span_of: impl Fn(&T) -> Span,
        end: usize,
        mut each: impl FnMut(&mut Self, &T),
    ) {
        if items.is_empty() && self.comments.next_start().is_none_or(|c| c >= end) {
            self.out.push_str("{}");
            return;
        }
        self.out.push_str("{\n");
        let outer = self.last_end.take();
        for item in items {
            let span = span_of(item);
            self.statement(span, span.end, "  ", |f| each(f, item));
        }
        self.flush_comments(end, "  ");
        self.last_end = outer;
        self.out.push('}');
    }

    fn item(&mut self, kind: &ItemKind, span: Span) {
        let end = span.end as usize;
        match kind {
            ItemKind::Policy(name) => self.out.push_str(&format!("policy {}", name.name)),
            ItemKind::Import(path) => self.out.push_str(&format!("import {}", string(path))),
            ItemKind::Ladder(rungs) => {
                self.out.push_str("ladder ");
                let width = rungs.iter().map(|r| r.name.name.len()).max().unwrap_or(0);
                self.block(rungs, |r| r.span, end, |f, r| f.rung(r, width));
            }
            ItemKind::Fact(decl) => {
                self.out
                    .push_str(&format!("fact {}: {}", decl.path, type_expr(&decl.ty)));
                if let Some(range) = &decl.range {
                    self.out.push_str(&format!(" in {}", fact_range(range)));
                }
            }
            ItemKind::Rule(rule) => {
                let params = if rule.params.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = rule
                        .params
                        .iter()
                        .map(|p| match &p.ty {
                            Some(ty) => format!("{}: {}", p.name.name, type_expr(ty)),
                            None => p.name.name.to_string(),
                        })
                        .collect();
                    format!("({})", list.join(", "))
                };
                let head = format!("rule {}{params} =", rule.name.name);
                let body = expr(&rule.body, 0, true);
                self.head_and_body(&head, &body, "");
            }
            ItemKind::Check(check) => {
                self.out.push_str(&format!(
                    "check {} = plugin {}",
                    check.name.name,
                    string(&check.plugin)
                ));
                if !check.config.is_empty() {
                    let items: Vec<String> = check
                        .config
                        .iter()
                        .map(|c| format!("{}: {}", c.key.name, expr(&c.value, 0, true)))
                        .collect();
                    self.out.push_str(&format!(" {{ {} }}", items.join(", ")));
                }
            }
            ItemKind::Gate(gate) => {
                self.out
                    .push_str(&format!("gate {} -> {} ", gate.from.name, gate.to.name));
                match &gate.body {
                    GateBody::Requirements(items) => {
                        self.block(items, |r| r.span, end, Self::requirement);
                    }
                    GateBody::Open => self.out.push_str("open"),
                }
            }
            ItemKind::Escalate(esc) => {
                self.out.push_str(&format!(
                    "escalate {} when {} ",
                    string(&esc.title),
                    expr(&esc.when, 0, true)
                ));
                self.block(&esc.items, |i| i.span, end, Self::escalate_item);
            }
            ItemKind::Checklist(items) => {
                self.out.push_str("checklist ");
                self.block(items, |i| i.span, end, Self::checklist_item);
            }
        }
    }

    fn rung(&mut self, rung: &RungDecl, width: usize) {
        match &rung.label {
            Some(label) => {
                self.out
                    .push_str(&format!("{:<width$} {}", rung.name.name, string(label)))
            }
            None => self.out.push_str(&rung.name.name),
        }
    }

    fn requirement(&mut self, req: &Requirement) {
        let kind = match req.kind {
            ReqKind::Require => "require",
            ReqKind::Warn => "warn",
        };
        let severity = req
            .severity
            .map_or(String::new(), |s| format!("{} ", s.keyword()));
        let head = format!("{kind} {severity}{}:", string(&req.name));
        self.head_and_body(&head, &expr(&req.expr, 0, true), "  ");
    }

    fn escalate_item(&mut self, item: &EscalateItem) {
        let text = match &item.kind {
            EscalateItemKind::Severity(s) => format!("severity {}", s.keyword()),
            EscalateItemKind::Context(t) => format!("context {}", string(t)),
            EscalateItemKind::Impact(t) => format!("impact {}", string(t)),
            EscalateItemKind::Option { title, tradeoff } => {
                format!("option {}: {}", string(title), string(tradeoff))
            }
            EscalateItemKind::Recommend { option, reason } => {
                format!("recommend {option}: {}", string(reason))
            }
        };
        self.out.push_str(&text);
    }

    fn checklist_item(&mut self, item: &ChecklistItem) {
        let head = format!("{}:", string(&item.label));
        self.head_and_body(&head, &expr(&item.expr, 0, true), "  ");
    }

    /// `head body` on one line when it fits, otherwise the body on the next line, indented.
    fn head_and_body(&mut self, head: &str, body: &str, indent: &str) {
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        let used = self.out.len() - line_start;
        if used + head.len() + 1 + body.len() <= WIDTH {
            self.out.push_str(&format!("{head} {body}"));
        } else {
            self.out.push_str(&format!("{head}\n{indent}    {body}"));
        }
    }
}
