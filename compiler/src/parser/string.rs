//! String literals: escapes and `{path}` interpolation holes, with exact spans for errors.

use pest::iterators::Pair;

use super::{Cx, Rule};
use crate::ast::{Ident, Path, Span, StrLit, StrPart};
use crate::diag::{Code, Diagnostic};

impl<'i> Cx<'i> {
    pub(super) fn lower_string(&mut self, pair: Pair<'i, Rule>) -> StrLit {
        let span = self.span(&pair);
        // The body starts after the opening quote.
        let body = pair
            .as_str()
            .get(1..pair.as_str().len().saturating_sub(1))
            .unwrap_or("");
        let base = span.start as usize + 1;
        // Most strings are one part, one run of plain characters: each is allocated at its
        // size, which costs less than growing into it.
        let mut parts = Vec::with_capacity(1);
        let mut text = String::new();
        // Runs of plain characters are copied whole.
        let mut rest = 0;
        while let Some(at) = body[rest..].find(['\\', '{', '}']).map(|at| rest + at) {
            text.push_str(&body[rest..at]);
            rest = at + 1;
            match body.as_bytes()[at] {
                b'\\' => {
                    let Some(esc) = body[rest..].chars().next() else {
                        break;
                    };
                    rest += esc.len_utf8();
                    match esc {
                        '"' | '\\' | '{' | '}' => text.push(esc),
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        _ => self.bad_string(
                            Span::new(self.file, base + at, base + rest),
                            format!("unknown escape `\\{esc}`"),
                            "use \\\" \\\\ \\n \\t \\{ or \\}",
                        ),
                    }
                }
                b'{' => {
                    let Some(close) = body[rest..].find('}') else {
                        self.bad_string(
                            Span::new(self.file, base + at, base + body.len()),
                            "unclosed interpolation hole".to_owned(),
                            "close it with `}`, or write `\\{` for a literal brace",
                        );
                        rest = body.len();
                        break;
                    };
                    let path = self.lower_hole(&body[rest..rest + close], base + rest);
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    if let Some(path) = path {
                        parts.push(StrPart::Hole(path));
                    }
                    // Skip the hole's characters and the closing brace.
                    rest += close + 1;
                }
                _ => self.bad_string(
                    Span::new(self.file, base + at, base + at + 1),
                    "unmatched `}` in string".to_owned(),
                    "write `\\}` for a literal brace",
                ),
            }
        }
        let tail = &body[rest..];
        let text = if text.is_empty() {
            tail.to_owned()
        } else {
            text + tail
        };
        if !text.is_empty() {
            parts.push(StrPart::Text(text));
        }
        StrLit { parts, span }
    }

    /// The path inside `{…}`; `start` is the byte offset of its first character.
    fn lower_hole(&mut self, hole: &str, start: usize) -> Option<Path> {
        let mut segments = Vec::new();
        let mut offset = start;
        let lead = hole.len() - hole.trim_start().len();
        let trimmed = hole.trim();
        offset += lead;
        let valid = !trimmed.is_empty()
            && trimmed.split('.').all(|seg| {
                let mut cs = seg.chars();
                cs.next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !valid {
            self.bad_string(
                Span::new(self.file, start.saturating_sub(1), start + hole.len() + 1),
                format!("`{{{hole}}}` is not a fact path"),
                "a hole holds a dotted path such as `{cloud.quota.name}`; write `\\{` for a literal brace",
            );
            return None;
        }
        for seg in trimmed.split('.') {
            segments.push(Ident {
                name: self.name(seg),
                span: Span::new(self.file, offset, offset + seg.len()),
            });
            offset += seg.len() + 1;
        }
        let span = Span::new(self.file, start + lead, start + lead + trimmed.len());
        Some(Path { segments, span })
    }

    fn bad_string(&mut self, span: Span, message: String, help: &str) {
        self.diags.push(
            Diagnostic::new(Code::BadString, span, message)
                .label("here")
                .help(help),
        );
    }
}
