//! Where each name of a policy is declared and used, from the syntax trees of its files.
//!
//! The index follows the checker's resolution order (a local, then a rung, a rule, `target`;
//! dotted paths try a local, then a check, then the longest fact prefix) but types nothing and
//! reports nothing: it is built from every file that parses, so navigation keeps working while
//! another part of the policy has errors. The checker stays the one judge of what is valid.

use std::path::{Path, PathBuf};

use crate::ast::{self, ExprKind, Ident, ItemKind, Span, StrLit, StrPart};
use crate::load::resolve_import;
use crate::schema::Schema;
use crate::source::SourceMap;
use crate::std_library;
use crate::typed::Builtin;

/// What a name stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Symbol {
    Rule(String),
    Rung(String),
    Check(String),
    /// A fact path: built-in, or declared with `fact`.
    Fact(String),
    /// The file an `import` names.
    File(PathBuf),
    Builtin(Builtin),
}

/// One place a symbol is written.
#[derive(Clone, Debug)]
pub(crate) struct Occurrence {
    pub(crate) symbol: Symbol,
    pub(crate) span: Span,
    /// Whether this is the declaration (its name in it).
    pub(crate) declares: bool,
}

/// A declaration, for hover and completion.
#[derive(Clone, Debug)]
pub(crate) struct Declaration {
    pub(crate) symbol: Symbol,
    /// The declaration's name.
    pub(crate) name: Span,
    /// The whole declaration (a rule's signature and body, a fact's type).
    pub(crate) item: Span,
    /// A rung's title.
    pub(crate) title: Option<String>,
}

/// Every occurrence of every name in the files that parsed.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) occurrences: Vec<Occurrence>,
    pub(crate) declarations: Vec<Declaration>,
    /// Built-in facts plus the declared ones.
    pub(crate) schema: Schema,
    pub(crate) locals: Vec<Local>,
}

/// A quantifier variable.
#[derive(Clone, Debug)]
pub(crate) struct Local {
    pub(crate) name: String,
    /// The expression it is in scope over.
    pub(crate) scope: Span,
    /// The path it ranges over when that is a plain path (`k8s.pods`), and where that path is
    /// written, so its type can be found for field completion.
    pub(crate) over: Option<(Vec<String>, Span)>,
}

impl Local {
    pub(crate) fn in_scope(&self, file: ast::FileId, offset: u32) -> bool {
        self.scope.file == file && self.scope.start <= offset && offset <= self.scope.end
    }
}

impl Index {
    pub(crate) fn build(modules: &[ast::Module], sources: &SourceMap) -> Index {
        let mut index = Index {
            schema: Schema::builtin().clone(),
            ..Index::default()
        };
        // Declarations first: uses may come before them, and in any file.
        for module in modules {
            for item in &module.items {
                index.declare(item, sources);
            }
        }
        for module in modules {
            for item in &module.items {
                index.uses(item);
            }
        }
        index
    }

    /// The occurrence at a byte offset of a file (the innermost when spans nest).
    pub(crate) fn at(&self, file: ast::FileId, offset: u32) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .filter(|o| o.span.file == file && o.span.start <= offset && offset <= o.span.end)
            .min_by_key(|o| o.span.len())
    }

    pub(crate) fn declaration(&self, symbol: &Symbol) -> Option<&Declaration> {
        self.declarations.iter().find(|d| d.symbol == *symbol)
    }

    pub(crate) fn occurrences_of<'a>(
        &'a self,
        symbol: &'a Symbol,
    ) -> impl Iterator<Item = &'a Occurrence> {
        self.occurrences.iter().filter(move |o| o.symbol == *symbol)
    }

    fn declare(&mut self, item: &ast::Item, sources: &SourceMap) {
        let add = |index: &mut Index, symbol: Symbol, name: Span, title: Option<String>| {
            index.occurrences.push(Occurrence {
                symbol: symbol.clone(),
                span: name,
                declares: true,
            });
            index.declarations.push(Declaration {
                symbol,
                name,
                item: item.span,
                title,
            });
        };
        match &item.kind {
            ItemKind::Ladder(rungs) => {
                for rung in rungs {
                    let title = rung.label.as_ref().map(StrLit::display);
                    add(
                        self,
                        Symbol::Rung(rung.name.name.to_string()),
                        rung.name.span,
                        title,
                    );
                }
            }
            ItemKind::Fact(decl) => {
                let path = decl.path.to_string();
                self.schema
                    .insert(path.clone(), crate::types::Type::from_ast(&decl.ty));
                add(self, Symbol::Fact(path), decl.path.span, None);
            }
            ItemKind::Rule(decl) => add(
                self,
                Symbol::Rule(decl.name.name.to_string()),
                decl.name.span,
                None,
            ),
            ItemKind::Check(decl) => {
                add(
                    self,
                    Symbol::Check(decl.name.name.to_string()),
                    decl.name.span,
                    None,
                );
            }
            ItemKind::Import(lit) => {
                if let Some(rel) = lit.as_plain() {
                    let importer = Path::new(sources.name(lit.span.file));
                    // A module of the standard library has no file to go to: its name
                    // stays relative, which no editor location is made from.
                    let file = if std_library::is_std(&rel) {
                        PathBuf::from(rel.as_ref())
                    } else {
                        resolve_import(importer, &rel)
                    };
                    self.occurrences.push(Occurrence {
                        symbol: Symbol::File(file),
                        span: lit.span,
                        declares: false,
                    });
                }
            }
            ItemKind::Policy(_)
            | ItemKind::Gate(_)
            | ItemKind::Escalate(_)
            | ItemKind::Checklist(_) => {}
        }
    }

    fn uses(&mut self, item: &ast::Item) {
        let mut scope = Vec::new();
        match &item.kind {
            ItemKind::Rule(decl) => {
                scope.extend(decl.params.iter().map(|p| p.name.name.to_string()));
                self.expr(&decl.body, &mut scope);
            }
            ItemKind::Check(decl) => {
                for c in &decl.config {
                    self.expr(&c.value, &mut scope);
                }
            }
            ItemKind::Gate(gate) => {
                for end in [&gate.from, &gate.to] {
                    self.reference(Symbol::Rung(end.name.to_string()), end.span);
                }
                for r in gate.items() {
                    self.expr(&r.expr, &mut scope);
                }
            }
            ItemKind::Escalate(e) => {
                self.text(&e.title, &scope);
                self.expr(&e.when, &mut scope);
                for i in &e.items {
                    match &i.kind {
                        ast::EscalateItemKind::Context(t)
                        | ast::EscalateItemKind::Impact(t)
                        | ast::EscalateItemKind::Recommend { reason: t, .. } => {
                            self.text(t, &scope);
                        }
                        ast::EscalateItemKind::Option { title, tradeoff } => {
                            self.text(title, &scope);
                            self.text(tradeoff, &scope);
                        }
                        ast::EscalateItemKind::Severity(_) => {}
                    }
                }
            }
            ItemKind::Checklist(items) => {
                for c in items {
                    self.expr(&c.expr, &mut scope);
                }
            }
            ItemKind::Policy(_) | ItemKind::Import(_) | ItemKind::Ladder(_) | ItemKind::Fact(_) => {
            }
        }
    }

    fn reference(&mut self, symbol: Symbol, span: Span) {
        self.occurrences.push(Occurrence {
            symbol,
            span,
            declares: false,
        });
    }

    fn is_declared(&self, symbol: &Symbol) -> bool {
        self.declaration(symbol).is_some()
    }

    fn text(&mut self, text: &StrLit, scope: &[String]) {
        for part in &text.parts {
            if let StrPart::Hole(path) = part {
                self.path(&path.segments, scope);
            }
        }
    }

    fn expr(&mut self, expr: &ast::Expr, scope: &mut Vec<String>) {
        match &expr.kind {
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration { .. }
            | ExprKind::Percent(_)
            | ExprKind::Date(_) => {}
            ExprKind::Str(text) => self.text(text, scope),
            ExprKind::Path(path) => self.path(&path.segments, scope),
            ExprKind::Field(base, _) | ExprKind::Unary(_, base) => self.expr(base, scope),
            ExprKind::Binary(_, operands) => {
                for operand in operands.iter() {
                    self.expr(operand, scope);
                }
            }
            ExprKind::Call(name, args) => {
                if let Some(builtin) = Builtin::from_name(&name.name) {
                    self.reference(Symbol::Builtin(builtin), name.span);
                } else {
                    self.reference(Symbol::Rule(name.name.to_string()), name.span);
                }
                for a in args {
                    self.expr(a, scope);
                }
            }
            ExprKind::List(items) => {
                for i in items {
                    self.expr(i, scope);
                }
            }
            ExprKind::Quant {
                var, over, body, ..
            } => {
                self.expr(over, scope);
                let path = match &over.kind {
                    ExprKind::Path(p) => Some((
                        p.segments.iter().map(|s| s.name.to_string()).collect(),
                        p.span,
                    )),
                    _ => None,
                };
                self.locals.push(Local {
                    name: var.name.to_string(),
                    scope: body.span,
                    over: path,
                });
                scope.push(var.name.to_string());
                self.expr(body, scope);
                scope.pop();
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                for e in [cond, then, otherwise] {
                    self.expr(e, scope);
                }
            }
        }
    }

    /// A name or dotted path, resolved as the checker does.
    fn path(&mut self, segments: &[Ident], scope: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let head: &str = &first.name;
        if scope.iter().any(|v| v == head) {
            return;
        }
        if segments.len() == 1 {
            for symbol in [Symbol::Rung(head.to_owned()), Symbol::Rule(head.to_owned())] {
                if self.is_declared(&symbol) {
                    self.reference(symbol, first.span);
                    return;
                }
            }
            return;
        }
        let check = Symbol::Check(head.to_owned());
        if self.is_declared(&check) {
            self.reference(check, first.span);
            return;
        }
        let names: Vec<&str> = segments.iter().map(|s| &*s.name).collect();
        if let Some((path, _, n)) = self.schema.longest_prefix(&names) {
            let span = first.span.to(segments[n - 1].span);
            self.reference(Symbol::Fact(path), span);
        }
    }
}
