//! The source files of one compilation: names, text, and span conversion for miette.

use std::sync::Arc;

use miette::NamedSource;

use crate::ast::{FileId, Span};

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics: the path as the user gave it, or as an import resolved it.
    pub name: String,
    pub text: Arc<str>,
}

/// Every file read during one compilation, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", |f| &f.text)
    }

    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.file)
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    pub(crate) fn named_source(&self, id: FileId) -> NamedSource<Arc<str>> {
        let (name, text) = match self.get(id) {
            Some(f) => (f.name.clone(), f.text.clone()),
            None => ("<unknown>".to_owned(), Arc::from("")),
        };
        NamedSource::new(name, text)
    }

    /// 1-based line and column of a span's start, for one-line summaries.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let text = self.text(span.file);
        let start = (span.start as usize).min(text.len());
        let before = text.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}
