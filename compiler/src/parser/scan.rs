//! A pass over the raw text before pest runs: where the top-level declarations start, and how
//! deep pest will have to recurse inside each one.
//!
//! pest is built without its per-call stack probe (see `lib.rs`), so its recursion must be
//! bounded before it starts: brackets nested deeper than [`MAX_NESTING`] are refused here,
//! and every region is parsed on a thread whose stack fits the nesting this pass counted.
//! The declaration starts let a large file be parsed in several regions at once.

use super::MAX_NESTING;

/// A keyword that starts a top-level declaration (a `match`, which checks the length first:
/// this runs for every word of the file).
fn is_declaration(word: &[u8]) -> bool {
    matches!(
        word,
        b"policy"
            | b"import"
            | b"ladder"
            | b"fact"
            | b"rule"
            | b"check"
            | b"gate"
            | b"escalate"
            | b"checklist"
    )
}

/// A keyword whose construct nests an expression without brackets (`if a then b else if …`).
fn is_nesting_word(word: &[u8]) -> bool {
    matches!(word, b"if" | b"all" | b"any" | b"none" | b"count")
}

/// More bracket-free nesting words than this in one declaration is refused: it only makes
/// sense as an attack on the parser's stack.
pub(super) const MAX_NESTING_WORDS: usize = 1 << 16;

/// One top-level declaration (or the text before the first one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Decl {
    pub start: usize,
    /// An upper bound on how many levels pest nests inside it: its deepest bracket plus
    /// every nesting word in it.
    pub levels: usize,
}

/// Why the text is refused before parsing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Refusal {
    /// A bracket at this offset opens more than [`MAX_NESTING`] levels.
    TooDeep(usize),
    /// The nesting word at this offset is one too many for its declaration.
    TooManyNestingWords(usize),
}

/// Which bytes continue a word, as a table: this runs for every byte of the file.
const IDENT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    table
};

fn is_ident(b: u8) -> bool {
    IDENT[usize::from(b)]
}

/// The deepest nesting of any declaration of `text`.
pub(super) fn deepest(text: &str) -> Result<usize, Refusal> {
    let mut deepest = 0;
    declarations(text, |decl, _| deepest = deepest.max(decl.levels))?;
    Ok(deepest)
}

/// Calls `each` with every declaration of `text` in order, and where it ends, as soon as
/// that is known (when the next one starts): a caller can start on the first declarations
/// while the rest is scanned. The first starts at 0.
///
/// Strings and comments are skipped as the grammar reads them. A `<` right after the word
/// `list` opens a level (a list type) that the next `>` closes; in an expression over a name
/// `list` this over-counts, which only costs parallelism or, past 256 of them, a refusal.
pub(super) fn declarations(text: &str, mut each: impl FnMut(Decl, usize)) -> Result<(), Refusal> {
    let bytes = text.as_bytes();
    let mut current = Decl {
        start: 0,
        levels: 0,
    };
    let mut open: Vec<u8> = Vec::new();
    let mut deepest = 0;
    let mut words = 0;
    let mut last_word: &[u8] = b"";
    let mut last_significant = b'\n';
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' | b'<' if b != b'<' || last_word == b"list" => {
                open.push(b);
                if open.len() > MAX_NESTING {
                    return Err(Refusal::TooDeep(i));
                }
                deepest = deepest.max(open.len());
            }
            b')' | b']' | b'}' => {
                open.pop();
            }
            b'>' if open.last() == Some(&b'<') => {
                open.pop();
            }
            _ if is_ident(b) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let word = &bytes[start..i];
                if open.is_empty() && start > 0 && last_significant != b'.' && is_declaration(word)
                {
                    current.levels = deepest + words;
                    each(current, start);
                    current = Decl { start, levels: 0 };
                    deepest = 0;
                    words = 0;
                }
                if is_nesting_word(word) {
                    words += 1;
                    if words > MAX_NESTING_WORDS {
                        return Err(Refusal::TooManyNestingWords(start));
                    }
                }
                last_word = word;
                last_significant = b'a';
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            last_significant = b;
            last_word = b"";
        }
        i += 1;
    }
    current.levels = deepest + words;
    each(current, bytes.len());
    Ok(())
}

/// Groups consecutive declarations, as [`declarations`] finds them, into at most `count`
/// regions of similar size.
#[derive(Debug)]
pub(super) struct Regions {
    len: usize,
    target: usize,
    start: usize,
    levels: usize,
}

impl Regions {
    /// Regions of a text of `len` bytes.
    pub(super) fn new(len: usize, count: usize) -> Regions {
        Regions {
            len,
            target: len.div_ceil(count.max(1)).max(1),
            start: 0,
            levels: 0,
        }
    }

    /// Adds the next declaration, which ends at `end`; returns the region it completes, as
    /// `(start, end, levels)`.
    pub(super) fn add(&mut self, decl: Decl, end: usize) -> Option<(usize, usize, usize)> {
        self.levels = self.levels.max(decl.levels);
        if end - self.start < self.target && end != self.len {
            return None;
        }
        let region = (self.start, end, self.levels);
        self.start = end;
        self.levels = 0;
        Some(region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declaration and where it ends.
    fn all(text: &str) -> Result<Vec<(Decl, usize)>, Refusal> {
        let mut decls = Vec::new();
        declarations(text, |decl, end| decls.push((decl, end)))?;
        Ok(decls)
    }

    #[test]
    fn declarations_start_at_top_level_keywords_only() {
        let text = "policy p\nrule a = x.rule and \"gate\" // fact\ngate a -> b { require \"r\": if c then d else e }\n";
        let gate = text.find("gate a").unwrap_or(0);
        let decls = all(text).unwrap_or_default();
        let starts: Vec<(usize, usize)> = decls.iter().map(|(d, end)| (d.start, *end)).collect();
        assert_eq!(starts, [(0, 9), (9, gate), (gate, text.len())]);
        assert_eq!(decls.last().map(|(d, _)| d.levels), Some(2));
        assert_eq!(deepest(text), Ok(2));
    }

    #[test]
    fn nesting_is_refused_at_the_bracket_that_goes_too_deep() {
        let text = format!("rule a = {}x", "(".repeat(MAX_NESTING + 1));
        assert_eq!(deepest(&text), Err(Refusal::TooDeep(9 + MAX_NESTING)));
        let types = format!("fact a: {}int{}", "list<".repeat(300), ">".repeat(300));
        assert!(matches!(deepest(&types), Err(Refusal::TooDeep(_))));
        let fine = format!("fact a: {}int{}", "list<".repeat(200), ">".repeat(200));
        assert_eq!(deepest(&fine), Ok(200));
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!(
            "rule a = \"{}\" // {}\nrule b = c",
            "(".repeat(400),
            "[".repeat(400)
        );
        let decls = all(&text).unwrap_or_default();
        assert_eq!(decls.len(), 2);
        assert_eq!(decls[0].0.levels, 0);
    }

    #[test]
    fn regions_cover_the_text_in_order() {
        let starts = [0, 10, 20, 30, 90];
        let regions = |count| {
            let mut regions = Regions::new(100, count);
            let mut out = Vec::new();
            for (k, &start) in starts.iter().enumerate() {
                let decl = Decl {
                    start,
                    levels: start / 10,
                };
                let end = starts.get(k + 1).copied().unwrap_or(100);
                out.extend(regions.add(decl, end));
            }
            out
        };
        assert_eq!(regions(2), [(0, 90, 3), (90, 100, 9)]);
        assert_eq!(regions(1), [(0, 100, 9)]);
    }
}
