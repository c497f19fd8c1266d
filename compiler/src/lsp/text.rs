//! Positions and names as editors speak them: byte offsets ↔ LSP line/UTF-16 positions, and
//! `file://` URIs ↔ paths.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{Position, Range, Uri};

use crate::ast::Span;

/// Where each line of a text starts, to turn the compiler's byte offsets into LSP positions
/// (a line and a count of UTF-16 code units, the encoding every client supports) and back.
#[derive(Debug)]
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset of the start of every line.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The position of a byte offset (clamped to the text, and back to a character boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(character).unwrap_or(u32::MAX),
        )
    }

    pub(crate) fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.start as usize),
            self.position(span.end as usize),
        )
    }

    /// The byte offset of a position; past the end of a line is its end, past the last line
    /// the end of the text (clients may send either while the text changes under them).
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line = &self.text[start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    /// The range of the whole text.
    pub(crate) fn whole(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

/// The path of a `file://` URI; `None` for any other scheme.
pub(crate) fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path` names a path on another host; only the local form is ours.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let mut bytes = Vec::with_capacity(path.len());
    let mut raw = path.bytes();
    while let Some(b) = raw.next() {
        if b == b'%' {
            let hex = [raw.next()?, raw.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute path, with every byte outside the unreserved set and `/`
/// percent-encoded.
pub(crate) fn path_to_uri(path: &Path) -> Option<Uri> {
    // A relative name (a module of the standard library) is no file on disk: no location.
    if !path.is_absolute() {
        return None;
    }
    let mut text = String::from("file://");
    for b in path.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            text.push(char::from(b));
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_and_round_trip() {
        // `é` is 2 bytes and 1 UTF-16 unit; `😀` is 4 bytes and 2 units.
        let text = "ab\n// é😀\nx = 1\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(index.position(x), Position::new(2, 0));
        let after_emoji = text.find("\nx").unwrap_or(0);
        assert_eq!(index.position(after_emoji), Position::new(1, 6));
        assert_eq!(index.offset(Position::new(1, 6)), after_emoji);
        assert_eq!(
            index.offset(Position::new(1, 3)),
            text.find('é').unwrap_or(0)
        );
        assert_eq!(
            index.offset(Position::new(1, 99)),
            after_emoji,
            "clamped to the line"
        );
        assert_eq!(
            index.offset(Position::new(9, 0)),
            text.len(),
            "past the last line"
        );
        assert_eq!(index.whole().end, Position::new(3, 0));
    }

    #[test]
    fn file_uris_round_trip_with_escapes() {
        let path = Path::new("/tmp/my policies/é.phasev");
        let uri = path_to_uri(path);
        assert_eq!(
            uri.as_ref().map(|u| u.as_str()),
            Some("file:///tmp/my%20policies/%C3%A9.phasev")
        );
        assert_eq!(uri.as_ref().and_then(uri_to_path), Some(path.to_path_buf()));
        let other = Uri::from_str("untitled:Untitled-1").ok();
        assert_eq!(other.as_ref().and_then(uri_to_path), None);
    }
}
