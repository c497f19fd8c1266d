//! String literals: escapes and `{path}` interpolation holes, with exact spans for errors.

use pest::iterators::Pair;

use super::{Cx, Rule};
use crate::ast::{Ident, Path, Span, StrLit, StrPart};
use crate::diag::{Code, Diagnostic};

impl Cx {
    pub(super) fn lower_string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span(&pair);
        // The body starts after the opening quote.
        let body = pair
            .as_str()
            .get(1..pair.as_str().len().saturating_sub(1))
            .unwrap_or("");
        let base = span.start as usize + 1;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let Some((j, esc)) = chars.next() else { break };
                    match esc {
                        '"' | '\\' | '{' | '}' => text.push(esc),
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        _ => self.bad_string(
                            Span::new(self.file, base + i, base + j + esc.len_utf8()),
                            format!("unknown escape `\\{esc}`"),
                            "use \\\" \\\\ \\n \\t \\{ or \\}",
                        ),
                    }
                }
                '{' => {
                    let rest = &body[i + 1..];
                    let Some(close) = rest.find('}') else {
                        self.bad_string(
                            Span::new(self.file, base + i, base + body.len()),
                            "unclosed interpolation hole".to_owned(),
                            "close it with `}`, or write `\\{` for a literal brace",
                        );
                        break;
                    };
                    let inner_start = base + i + 1;
                    let path = self.lower_hole(&rest[..close], inner_start);
                    if !text.is_empty() {
                        parts.push(StrPart::Text(std::mem::take(&mut text)));
                    }
                    if let Some(path) = path {
                        parts.push(StrPart::Hole(path));
                    }
                    // Skip the hole's characters and the closing brace.
                    while chars.next_if(|(k, _)| *k <= i + 1 + close).is_some() {}
                }
                '}' => self.bad_string(
                    Span::new(self.file, base + i, base + i + 1),
                    "unmatched `}` in string".to_owned(),
                    "write `\\}` for a literal brace",
                ),
                _ => text.push(c),
            }
        }
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
                name: seg.to_owned(),
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
