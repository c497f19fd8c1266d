//! The answers to editor requests: hover, definition, references, completion, formatting and
//! code actions, each read from a [`Workspace`]'s latest analysis.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CompletionItem, CompletionItemKind, Hover,
    HoverContents, Location, MarkupContent, MarkupKind, NumberOrString, Position, Range, TextEdit,
    Uri, WorkspaceEdit,
};

use super::index::{Index, Symbol};
use super::text::LineIndex;
use super::workspace::{Analysis, Workspace};
use crate::ast::{FileId, ItemKind, Span};
use crate::diag::Code;
use crate::schema::{self, BASELINE, BUILTIN_SOURCE};
use crate::source::SourceMap;
use crate::typed::Builtin;
use crate::types::Type;

/// The analysis of `path`, the file's id in it and the byte offset of `position`.
fn locate<'w>(
    ws: &'w Workspace,
    path: &Path,
    position: Position,
) -> Option<(&'w Analysis, FileId, u32)> {
    let (analysis, file) = ws.analysis(path)?;
    let text = analysis.checked.sources.text(file);
    let offset = LineIndex::new(text).offset(position);
    Some((analysis, file, u32::try_from(offset).ok()?))
}

/// The location of a span, named by the URI the editor knows the file by.
fn location(ws: &Workspace, sources: &SourceMap, span: Span) -> Option<Location> {
    let uri = ws.uri(Path::new(sources.name(span.file)))?;
    let range = LineIndex::new(sources.text(span.file)).range(span);
    Some(Location::new(uri, range))
}

/// What the name under the cursor is, and the explanation of every diagnostic there.
pub(crate) fn hover(ws: &Workspace, path: &Path, position: Position) -> Option<Hover> {
    let (analysis, file, offset) = locate(ws, path, position)?;
    let sources = &analysis.checked.sources;
    let mut parts = Vec::new();
    let mut range = None;
    if analysis.fresh
        && let Some(occurrence) = analysis.index.at(file, offset)
    {
        parts.push(describe(analysis, &occurrence.symbol));
        range = Some(LineIndex::new(sources.text(file)).range(occurrence.span));
    }
    for d in analysis.checked.diagnostics.iter() {
        let span = d.span();
        if span.file == file && span.start <= offset && offset <= span.end {
            let code = d.code();
            parts.push(format!(
                "**{}**: {}\n\n{}",
                code.as_str(),
                code.summary(),
                code.explanation()
            ));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range,
    })
}

/// Markdown for a symbol: a fact's type and doc, a rule's declaration, a rung's title.
fn describe(analysis: &Analysis, symbol: &Symbol) -> String {
    let index = &analysis.index;
    let sources = &analysis.checked.sources;
    let declared = index.declaration(symbol);
    let source = declared.map(|d| sources.snippet(d.item));
    let code = |text: &str| format!("```phasev\n{text}\n```");
    match symbol {
        Symbol::Rule(name) => {
            let Some(source) = source else {
                return format!("rule `{name}` is not declared");
            };
            let ret = analysis
                .checked
                .typed
                .as_ref()
                .and_then(|t| t.rules.iter().find(|r| r.name == *name))
                .map(|r| format!("\n\nreturns `{}`", r.ret));
            format!("{}{}", code(source), ret.unwrap_or_default())
        }
        Symbol::Rung(name) => {
            let rungs: Vec<_> = index
                .declarations
                .iter()
                .filter(|d| matches!(d.symbol, Symbol::Rung(_)))
                .collect();
            let place = rungs.iter().position(|d| d.symbol == *symbol).unwrap_or(0) + 1;
            let title = declared
                .and_then(|d| d.title.as_deref())
                .map(|t| format!(" \"{t}\""))
                .unwrap_or_default();
            format!(
                "rung `{name}`{title}: {place} of {} on the ladder",
                rungs.len()
            )
        }
        Symbol::Check(name) => {
            let Some(source) = source else {
                return format!("check `{name}` is not declared");
            };
            let outputs = analysis
                .checked
                .typed
                .as_ref()
                .and_then(|t| t.checks.iter().find(|c| c.name == *name))
                .map_or_else(schema::check_outputs, |c| c.outputs.clone());
            let outputs: Vec<String> = outputs
                .iter()
                .map(|(n, t)| format!("`{name}.{n}: {t}`"))
                .collect();
            format!("{}\n\noutputs: {}", code(source), outputs.join(", "))
        }
        Symbol::Fact(path) => {
            let Some(ty) = index.schema.get(path) else {
                return format!("`{path}` is not a fact of the schema");
            };
            let mut out = format!("fact `{path}: {ty}`");
            match declared {
                Some(d) => {
                    let text = sources.text(d.item.file);
                    if let Some(doc) = line_comment_after(text, d.item.end as usize) {
                        out.push_str(&format!("\n\n{doc}"));
                    }
                    out.push_str(&format!(
                        "\n\ndeclared in `{}` (a facts file or a plugin fills it)",
                        sources.name(d.item.file)
                    ));
                }
                None => out.push_str(&builtin_doc(path)),
            }
            out
        }
        Symbol::File(path) => format!("imports `{}`", path.display()),
        Symbol::Builtin(b) => format!("```\n{}\n```", b.signature()),
    }
}

/// The `// …` comment ending the line that `offset` lies on, if any.
fn line_comment_after(text: &str, offset: usize) -> Option<&str> {
    let rest = text.get(offset..)?;
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    line.trim_start().strip_prefix("//").map(str::trim)
}

/// A built-in fact's doc from `schema/builtin.phasev`: its line comment and the comment
/// heading its section, which names where collectors read it.
fn builtin_doc(path: &str) -> String {
    let (path, baseline) = match path
        .strip_prefix(BASELINE)
        .and_then(|p| p.strip_prefix('.'))
    {
        Some(inner) => (inner, true),
        None => (path, false),
    };
    let declaration = format!("fact {path}:");
    let lines: Vec<&str> = BUILTIN_SOURCE.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with(&declaration)) else {
        return String::new();
    };
    let mut out = String::new();
    if let Some(doc) = line_comment_after(lines[at], declaration.len()) {
        out.push_str(&format!("\n\n{doc}"));
    }
    if let Some(section) = lines[..at].iter().rev().find_map(|l| l.strip_prefix("//")) {
        out.push_str(&format!("\n\nbuilt in; filled from: {}", section.trim()));
    }
    if baseline {
        out.push_str("\n\n`baseline.`: its value in the last passing decision record");
    }
    out
}

/// Where the symbol under the cursor is declared (an import: the file it names).
pub(crate) fn definition(ws: &Workspace, path: &Path, position: Position) -> Option<Location> {
    let (analysis, file, offset) = locate(ws, path, position)?;
    if !analysis.fresh {
        return None;
    }
    let symbol = &analysis.index.at(file, offset)?.symbol;
    if let Symbol::File(target) = symbol {
        return Some(Location::new(ws.uri(target)?, Range::default()));
    }
    let declared = analysis.index.declaration(symbol)?;
    location(ws, &analysis.checked.sources, declared.name)
}

/// Every place the symbol under the cursor is written, in every file of the policy.
pub(crate) fn references(
    ws: &Workspace,
    path: &Path,
    position: Position,
    include_declaration: bool,
) -> Option<Vec<Location>> {
    let (analysis, file, offset) = locate(ws, path, position)?;
    if !analysis.fresh {
        return None;
    }
    let symbol = &analysis.index.at(file, offset)?.symbol;
    let sources = &analysis.checked.sources;
    Some(
        analysis
            .index
            .occurrences_of(symbol)
            .filter(|o| include_declaration || !o.declares)
            .filter_map(|o| location(ws, sources, o.span))
            .collect(),
    )
}

/// What may be written at the cursor: the next segment of a fact path (or a check's
/// outputs, a record's fields), or a name: namespaces, rules, rungs, checks, built-in
/// functions, `target` and the quantifier variables in scope.
pub(crate) fn completion(
    ws: &Workspace,
    path: &Path,
    position: Position,
) -> Option<Vec<CompletionItem>> {
    let text = ws.text(path)?;
    let (analysis, file) = ws.analysis(path)?;
    let offset = LineIndex::new(text).offset(position);
    let before = &text[..offset];
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &before[word_start..];
    let index = &analysis.index;
    let mut items: BTreeMap<String, (CompletionItemKind, Option<String>)> = BTreeMap::new();
    let (partial, candidates) = match word.rsplit_once('.') {
        Some((prefix, partial)) => {
            let at = u32::try_from(offset).unwrap_or(u32::MAX);
            let scope = analysis.fresh.then_some((file, at));
            (partial, segments_after(analysis, scope, prefix))
        }
        None => {
            let mut names = names(index);
            if analysis.fresh {
                let offset = u32::try_from(offset).unwrap_or(u32::MAX);
                for local in index.locals.iter().filter(|l| l.in_scope(file, offset)) {
                    names.push((local.name.clone(), CompletionItemKind::VARIABLE, None));
                }
            }
            (word, names)
        }
    };
    for (label, kind, detail) in candidates {
        if label.starts_with(partial) {
            items.entry(label).or_insert((kind, detail));
        }
    }
    Some(
        items
            .into_iter()
            .map(|(label, (kind, detail))| CompletionItem {
                label,
                kind: Some(kind),
                detail,
                ..CompletionItem::default()
            })
            .collect(),
    )
}

type Candidate = (String, CompletionItemKind, Option<String>);

/// The names that may start an expression.
fn names(index: &Index) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = index
        .schema
        .paths()
        .filter_map(|p| p.split('.').next())
        .map(|ns| (ns.to_owned(), CompletionItemKind::MODULE, None))
        .collect();
    for d in &index.declarations {
        let (name, kind, detail) = match &d.symbol {
            Symbol::Rule(n) => (n, CompletionItemKind::FUNCTION, Some("rule".to_owned())),
            Symbol::Rung(n) => (
                n,
                CompletionItemKind::ENUM_MEMBER,
                Some(d.title.clone().unwrap_or_else(|| "rung".to_owned())),
            ),
            Symbol::Check(n) => (n, CompletionItemKind::MODULE, Some("check".to_owned())),
            Symbol::Fact(_) | Symbol::File(_) | Symbol::Builtin(_) => continue,
        };
        out.push((name.clone(), kind, detail));
    }
    out.extend(Builtin::ALL.iter().map(|b| {
        (
            b.name().to_owned(),
            CompletionItemKind::FUNCTION,
            Some(b.signature().to_owned()),
        )
    }));
    out.push((
        "target".to_owned(),
        CompletionItemKind::KEYWORD,
        Some("the rung being promoted to".to_owned()),
    ));
    out
}

/// Quantifiers nested deeper than this are not followed to type a variable.
const MAX_LOCAL_DEPTH: usize = 16;

/// The type of a dotted path at a place: a quantifier variable in scope there (its element
/// type), or a fact, then record fields (projected over lists of records).
fn path_type(
    index: &Index,
    scope: Option<(FileId, u32)>,
    segments: &[&str],
    depth: usize,
) -> Option<Type> {
    let (head, _) = segments.split_first()?;
    let local = scope.and_then(|(file, offset)| {
        index
            .locals
            .iter()
            .filter(|l| l.name == *head && l.in_scope(file, offset))
            .min_by_key(|l| l.scope.len())
    });
    let (mut ty, rest) = match local {
        Some(local) if depth < MAX_LOCAL_DEPTH => {
            let (over, at) = local.over.as_ref()?;
            let over: Vec<&str> = over.iter().map(String::as_str).collect();
            let Type::List(elem) = path_type(index, Some((at.file, at.start)), &over, depth + 1)?
            else {
                return None;
            };
            (*elem, &segments[1..])
        }
        Some(_) => return None,
        None => {
            let (_, ty, n) = index.schema.longest_prefix(segments)?;
            (ty.clone(), &segments[n..])
        }
    };
    for field in rest {
        ty = match ty {
            Type::List(elem) => Type::List(Box::new(elem.field(field)?.clone())),
            other => other.field(field)?.clone(),
        };
    }
    Some(ty)
}

/// The segments that may follow `prefix.`: a check's outputs, the fields of a record (a
/// fact, a field of one, or a quantifier variable), or the next segment of fact paths.
fn segments_after(
    analysis: &Analysis,
    scope: Option<(FileId, u32)>,
    prefix: &str,
) -> Vec<Candidate> {
    let index = &analysis.index;
    let field = |(name, ty): &(String, Type)| {
        (
            name.clone(),
            CompletionItemKind::FIELD,
            Some(ty.to_string()),
        )
    };
    if index
        .declaration(&Symbol::Check(prefix.to_owned()))
        .is_some()
    {
        let outputs = analysis
            .checked
            .typed
            .as_ref()
            .and_then(|t| t.checks.iter().find(|c| c.name == prefix))
            .map_or_else(schema::check_outputs, |c| c.outputs.clone());
        return outputs.iter().map(field).collect();
    }
    let segments: Vec<&str> = prefix.split('.').collect();
    match path_type(index, scope, &segments, 0) {
        Some(Type::Record(fields)) => return fields.iter().map(field).collect(),
        Some(Type::List(elem)) => {
            if let Type::Record(fields) = &*elem {
                return fields.iter().map(field).collect();
            }
        }
        _ => {}
    }
    let dotted = format!("{prefix}.");
    let mut seen: HashMap<&str, Candidate> = HashMap::new();
    for (path, ty) in index.schema.iter() {
        let Some(rest) = path.strip_prefix(&dotted) else {
            continue;
        };
        let candidate = match rest.split_once('.') {
            Some((segment, _)) => (segment, CompletionItemKind::MODULE, None),
            None => (rest, CompletionItemKind::FIELD, Some(ty.to_string())),
        };
        seen.entry(candidate.0)
            .or_insert((candidate.0.to_owned(), candidate.1, candidate.2));
    }
    seen.into_values().collect()
}

/// The whole document in the formatter's layout; no edit when it already is; an error when
/// it does not parse (the formatter needs a syntax tree).
pub(crate) fn formatting(ws: &Workspace, path: &Path) -> Result<Vec<TextEdit>, String> {
    let text = ws
        .text(path)
        .ok_or_else(|| format!("`{}` is not open", path.display()))?;
    let module = crate::parser::parse(FileId(0), text)
        .map_err(|_| "the document has syntax errors; fix them to format it".to_owned())?;
    let formatted = crate::fmt::format(&module, text);
    if formatted == text {
        return Ok(Vec::new());
    }
    Ok(vec![TextEdit::new(LineIndex::new(text).whole(), formatted)])
}

/// Quick fixes for the diagnostics the editor sends back: every did-you-mean, and for an
/// unknown fact with no near name, its declaration (`fact PATH: TYPE`, the type guessed from
/// how the path is used, else `bool`).
pub(crate) fn code_actions(
    ws: &Workspace,
    path: &Path,
    uri: &Uri,
    diagnostics: &[lsp_types::Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let fix = |d: &lsp_types::Diagnostic, title: String, edit: TextEdit, preferred: bool| {
        CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(preferred),
            ..CodeAction::default()
        })
    };
    let unknown_fact = NumberOrString::String(Code::UnknownFact.as_str().to_owned());
    let mut actions = Vec::new();
    for d in diagnostics {
        let replacement = d
            .data
            .as_ref()
            .and_then(|data| data.get("replacement")?.as_str());
        if let Some(replacement) = replacement {
            let edit = TextEdit::new(d.range, replacement.to_owned());
            actions.push(fix(d, format!("Replace with `{replacement}`"), edit, true));
        } else if d.code.as_ref() == Some(&unknown_fact)
            && let Some((declaration, edit)) = fact_declaration(ws, path, d.range)
        {
            actions.push(fix(d, format!("Declare `{declaration}`"), edit, false));
        }
    }
    actions
}

/// The declaration of the unknown fact written at `range`, inserted after the file's last
/// `fact` (else its ladder, else its `policy` line, else at the top).
fn fact_declaration(ws: &Workspace, path: &Path, range: Range) -> Option<(String, TextEdit)> {
    let text = ws.text(path)?;
    let (analysis, file) = ws.analysis(path)?;
    if !analysis.fresh {
        return None;
    }
    let lines = LineIndex::new(text);
    let start = lines.offset(range.start);
    let fact = text.get(start..lines.offset(range.end))?;
    let is_path = fact.contains('.')
        && fact
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_'));
    let index = &analysis.index;
    let head = fact.split('.').next().unwrap_or_default();
    if !is_path
        || index.schema.is_namespace(fact)
        || index.declaration(&Symbol::Check(head.to_owned())).is_some()
    {
        return None;
    }
    let module = analysis.checked.modules.iter().find(|m| m.file == file)?;
    let offset = u32::try_from(start).ok()?;
    let ty = module
        .items
        .iter()
        .flat_map(item_exprs)
        .find(|e| e.span.start <= offset && offset <= e.span.end)
        .and_then(|e| e.hinted_type(fact))
        .unwrap_or("bool");
    let last = |pick: fn(&ItemKind) -> bool| module.items.iter().rfind(|i| pick(&i.kind));
    let anchor = last(|k| matches!(k, ItemKind::Fact(_)))
        .or_else(|| last(|k| matches!(k, ItemKind::Ladder(_))))
        .or_else(|| last(|k| matches!(k, ItemKind::Policy(_))));
    let at = anchor.map_or(Position::new(0, 0), |item| {
        Position::new(lines.position(item.span.end as usize).line + 1, 0)
    });
    let declaration = format!("fact {fact}: {ty}");
    let edit = TextEdit::new(Range::new(at, at), format!("{declaration}\n"));
    Some((declaration, edit))
}

/// The top-level expressions of an item.
fn item_exprs(item: &crate::ast::Item) -> Vec<&crate::ast::Expr> {
    match &item.kind {
        ItemKind::Rule(rule) => vec![&rule.body],
        ItemKind::Gate(gate) => gate.items().iter().map(|r| &r.expr).collect(),
        ItemKind::Escalate(e) => vec![&e.when],
        ItemKind::Checklist(items) => items.iter().map(|c| &c.expr).collect(),
        ItemKind::Policy(_)
        | ItemKind::Import(_)
        | ItemKind::Ladder(_)
        | ItemKind::Fact(_)
        | ItemKind::Check(_) => Vec::new(),
    }
}
