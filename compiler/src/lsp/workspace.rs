//! The open documents and what the compiler says about them.
//!
//! Every change re-checks each open document as the root of a policy with
//! [`crate::check_with`], reading open documents from memory and every other file from disk;
//! a document that another open document imports is not checked on its own (it is checked
//! as part of the policy that imports it, so a library file is not told it lacks a ladder).
//! The diagnostics are then published per file: the roots and every file they import.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};

use super::index::Index;
use super::text::{LineIndex, path_to_uri};
use crate::ast::FileId;
use crate::diag::{self, Level};
use crate::load::{FileSystem, RealFs};
use crate::{Checked, Options, check_with};

/// One document the editor has open.
#[derive(Debug)]
struct Document {
    uri: Uri,
    text: String,
}

/// A policy checked from one root, with its index for navigation.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub(crate) checked: Checked,
    pub(crate) index: Index,
    /// Whether `index` was built from this text; when the root does not parse, the previous
    /// index is kept for completion (names only, its spans are out of date).
    pub(crate) fresh: bool,
}

impl Analysis {
    /// The file id of `path` in this analysis.
    pub(crate) fn file(&self, path: &Path) -> Option<FileId> {
        let name = path.to_str()?;
        self.checked
            .sources
            .files()
            .find(|(_, f)| f.name == name)
            .map(|(id, _)| id)
    }
}

/// The editor's open documents and their analyses.
#[derive(Debug, Default)]
pub struct Workspace {
    options: Options,
    docs: BTreeMap<PathBuf, Document>,
    /// The analysis of every open document that no other open document imports.
    roots: BTreeMap<PathBuf, Analysis>,
    /// Files diagnostics were last published for, so a file that became clean is cleared.
    published: BTreeSet<PathBuf>,
}

/// The diagnostics of one file, ready to publish.
pub type Published = Vec<(Uri, Vec<lsp_types::Diagnostic>)>;

/// Open documents from memory, everything else from disk.
struct Overlay<'a> {
    docs: &'a BTreeMap<PathBuf, Document>,
}

impl FileSystem for Overlay<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        match self.docs.get(path) {
            Some(doc) => Ok(doc.text.clone()),
            None => RealFs.read(path),
        }
    }
}

impl Workspace {
    /// No document open yet; policies will be checked with `options`.
    pub fn new(options: Options) -> Self {
        Workspace {
            options,
            ..Workspace::default()
        }
    }

    /// Opens or replaces a document and re-checks; returns the diagnostics to publish.
    pub fn open(&mut self, path: PathBuf, uri: Uri, text: String) -> Published {
        self.docs.insert(path, Document { uri, text });
        self.recheck()
    }

    /// Replaces an open document's text and re-checks.
    pub fn change(&mut self, path: &Path, text: String) -> Published {
        if let Some(doc) = self.docs.get_mut(path) {
            doc.text = text;
        }
        self.recheck()
    }

    pub fn close(&mut self, path: &Path) -> Published {
        self.docs.remove(path);
        self.recheck()
    }

    pub(crate) fn text(&self, path: &Path) -> Option<&str> {
        self.docs.get(path).map(|d| d.text.as_str())
    }

    /// The analysis a file belongs to: its own when it is a root, else one that imports it.
    pub(crate) fn analysis(&self, path: &Path) -> Option<(&Analysis, FileId)> {
        if let Some(a) = self.roots.get(path) {
            return a.file(path).map(|f| (a, f));
        }
        self.roots
            .values()
            .find_map(|a| a.file(path).map(|f| (a, f)))
    }

    /// The URI to name a file by: the editor's own for an open document.
    pub(crate) fn uri(&self, path: &Path) -> Option<Uri> {
        match self.docs.get(path) {
            Some(doc) => Some(doc.uri.clone()),
            None => path_to_uri(path),
        }
    }

    fn recheck(&mut self) -> Published {
        let mut previous = std::mem::take(&mut self.roots);
        let overlay = Overlay { docs: &self.docs };
        let mut analyses: Vec<(PathBuf, Analysis)> = Vec::with_capacity(self.docs.len());
        for path in self.docs.keys() {
            let checked = check_with(path, &overlay, &self.options);
            let root_parsed = checked.modules.first().is_some_and(|m| m.file == FileId(0));
            let analysis = match previous.remove(path) {
                Some(old) if !root_parsed => Analysis {
                    checked,
                    index: old.index,
                    fresh: false,
                },
                _ => Analysis {
                    index: Index::build(&checked.modules, &checked.sources),
                    checked,
                    fresh: true,
                },
            };
            analyses.push((path.clone(), analysis));
        }
        // A document another (kept) analysis imports is checked there, not on its own.
        let mut dropped = vec![false; analyses.len()];
        for i in 0..analyses.len() {
            dropped[i] = analyses.iter().enumerate().any(|(j, (_, other))| {
                j != i && !dropped[j] && other.file(&analyses[i].0).is_some_and(|f| f != FileId(0))
            });
        }
        self.roots = analyses
            .into_iter()
            .zip(dropped)
            .filter(|(_, dropped)| !dropped)
            .map(|(a, _)| a)
            .collect();
        self.publish()
    }

    /// Every file's diagnostics across the roots, and an empty list for each file that had
    /// some before and has none now.
    fn publish(&mut self) -> Published {
        let mut files: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for analysis in self.roots.values() {
            let sources = &analysis.checked.sources;
            let lines: Vec<LineIndex<'_>> = sources
                .files()
                .map(|(_, f)| LineIndex::new(&f.text))
                .collect();
            for (_, file) in sources.files() {
                files.entry(PathBuf::from(&file.name)).or_default();
            }
            for d in analysis.checked.diagnostics.iter() {
                let path = PathBuf::from(sources.name(d.span().file));
                let converted = self.convert(d, &lines, sources);
                let list = files.entry(path).or_default();
                if !list.contains(&converted) {
                    list.push(converted);
                }
            }
        }
        let mut out = Vec::with_capacity(files.len());
        for path in std::mem::take(&mut self.published) {
            if !files.contains_key(&path)
                && let Some(uri) = self.uri(&path)
            {
                out.push((uri, Vec::new()));
            }
        }
        for (path, mut diagnostics) in files {
            diagnostics.sort_by_key(|d| (d.range.start.line, d.range.start.character));
            if let Some(uri) = self.uri(&path) {
                out.push((uri, diagnostics));
            }
            self.published.insert(path);
        }
        out
    }

    /// One diagnostic as LSP has it: the exact range, the code, the message with its help, the
    /// other labels as related information; a did-you-mean's replacement travels in `data`
    /// for the code action.
    fn convert(
        &self,
        d: &diag::Diagnostic,
        lines: &[LineIndex<'_>],
        sources: &crate::source::SourceMap,
    ) -> lsp_types::Diagnostic {
        let range_of = |span: crate::ast::Span| {
            lines
                .get(span.file.0 as usize)
                .map(|l| l.range(span))
                .unwrap_or_default()
        };
        let location = |span: crate::ast::Span| {
            self.uri(Path::new(sources.name(span.file)))
                .map(|uri| Location::new(uri, range_of(span)))
        };
        let mut message = d.message().to_owned();
        if let Some(help) = d.help_text() {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .secondary()
            .iter()
            .map(|(span, text)| (*span, text.clone()))
            .chain(
                d.related()
                    .iter()
                    .map(|r| (r.span(), r.message().to_owned())),
            )
            .filter_map(|(span, text)| {
                location(span).map(|location| DiagnosticRelatedInformation {
                    location,
                    message: text,
                })
            })
            .collect();
        lsp_types::Diagnostic {
            range: range_of(d.span()),
            severity: Some(match d.level() {
                Level::Error => DiagnosticSeverity::ERROR,
                Level::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code().as_str().to_owned())),
            source: Some("phasevc".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            data: d
                .replacement()
                .map(|r| serde_json::json!({ "replacement": r })),
            ..lsp_types::Diagnostic::default()
        }
    }
}
