//! Diagnostics: every error and warning the compiler reports, with a stable code, a label on
//! the exact span, a help line, and a long explanation for `phasevc explain`.
//!
//! One [`Diagnostic`] type carries a [`Code`]; the code decides the severity and the long text,
//! so the list of codes below is the single place that documents them.

mod codes;
mod render;

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

pub use codes::Code;
pub use render::{render_json, render_plain};

use crate::ast::Span;
use crate::source::SourceMap;

/// How bad a diagnostic is. Errors stop compilation; warnings do not (unless denied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

/// One reported problem.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    code: Code,
    message: String,
    span: Span,
    label: String,
    secondary: Vec<(Span, String)>,
    help: Option<String>,
    /// What the primary span should read instead (a did-you-mean), for editors to apply.
    replacement: Option<String>,
    related: Vec<Diagnostic>,
    source: Option<NamedSource<Arc<str>>>,
}

/// Source lines longer than this are not drawn under a diagnostic.
const MAX_SHOWN_LINE: usize = 10_000;

impl Diagnostic {
    /// A diagnostic with its primary label. Its level comes from the code.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            replacement: None,
            related: Vec::new(),
            source: None,
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = text.into();
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub fn maybe_help(mut self, text: Option<String>) -> Self {
        if text.is_some() {
            self.help = text;
        }
        self
    }

    /// A did-you-mean: when the primary span is a misspelling of `near`, the help says so
    /// (replacing any other help) and editors can apply the replacement.
    pub fn suggest(mut self, near: Option<&str>) -> Self {
        if let Some(near) = near {
            self.help = Some(format!("did you mean `{near}`?"));
            self.replacement = Some(near.to_owned());
        }
        self
    }

    /// A second label; when it lies in another file it becomes a related note.
    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        if span.file == self.span.file {
            self.secondary.push((span, text.into()));
        } else {
            let mut note = Diagnostic::new(Code::Note, span, text);
            note.label = "here".to_owned();
            self.related.push(note);
        }
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn level(&self) -> Level {
        self.code.level()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn span(&self) -> Span {
        self.span
    }

    pub fn help_text(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The text of the primary label.
    pub fn label_text(&self) -> &str {
        &self.label
    }

    /// What the primary span should read instead, when the diagnostic is a did-you-mean.
    pub fn replacement(&self) -> Option<&str> {
        self.replacement.as_deref()
    }

    /// The other labels in the primary span's file.
    pub fn secondary(&self) -> &[(Span, String)] {
        &self.secondary
    }

    /// Notes pointing into other files.
    pub fn related(&self) -> &[Diagnostic] {
        &self.related
    }

    /// Attaches the source text so the diagnostic renders on its own.
    pub fn with_sources(mut self, sources: &SourceMap) -> Self {
        let text = sources.text(self.span.file);
        let line_start = text
            .get(..self.span.start as usize)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line_len = text
            .get(line_start..)
            .map_or(0, |line| line.find('\n').unwrap_or(line.len()));
        if line_len > MAX_SHOWN_LINE {
            // miette cannot draw a label that far to the right (it panics past 65,535
            // columns), and nobody could read it: name the place instead.
            let (line, col) = sources.line_col(self.span);
            let name = sources.name(self.span.file);
            self.message = format!("{} (at {name}:{line}:{col})", self.message);
            self.secondary.clear();
        } else {
            self.source = Some(sources.named_source(self.span.file));
        }
        self.related = self
            .related
            .into_iter()
            .map(|r| r.with_sources(sources))
            .collect();
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (self.code != Code::Note).then(|| Box::new(self.code.as_str()) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.code {
            Code::Note => miette::Severity::Advice,
            _ => match self.level() {
                Level::Error => miette::Severity::Error,
                Level::Warning => miette::Severity::Warning,
            },
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            source_span(self.span),
        );
        let rest = self
            .secondary
            .iter()
            .map(|(span, text)| LabeledSpan::new_with_span(Some(text.clone()), source_span(*span)));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

/// The diagnostics of one run, in the order they were found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.list.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.list.extend(other.list);
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.level() == Level::Error)
    }

    pub fn has_warnings(&self) -> bool {
        self.list.iter().any(|d| d.level() == Level::Warning)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.list.iter()
    }

    /// Sorted by file and position, so output is stable whatever order the passes ran in.
    pub fn sorted(mut self) -> Self {
        self.list
            .sort_by_key(|d| (d.span.file, d.span.start, d.span.end, d.code.as_str()));
        self
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

/// "did you mean" for a misspelt name: the closest candidate within a small edit distance.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate `name` is most likely a misspelling of: the nearest within a third of its
/// length in edits (at least one).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        let dist = strsim::damerau_levenshtein(name, cand);
        let limit = (name.chars().count().max(cand.chars().count()) / 3).max(1);
        if dist <= limit && best.is_none_or(|(d, c)| (dist, cand) < (d, c)) {
            best = Some((dist, cand));
        }
    }
    best.map(|(_, c)| c)
}
