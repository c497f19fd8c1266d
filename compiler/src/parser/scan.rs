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

/// The declarations of `text`, in order. The first starts at 0.
///
/// Strings and comments are skipped as the grammar reads them. A `<` right after the word
/// `list` opens a level (a list type) that the next `>` closes; in an expression over a name
/// `list` this over-counts, which only costs parallelism or, past 256 of them, a refusal.
pub(super) fn declarations(text: &str) -> Result<Vec<Decl>, Refusal> {
    let bytes = text.as_bytes();
    let mut decls = Vec::new();
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
                    decls.push(current);
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
    decls.push(current);
    Ok(decls)
}

/// Groups consecutive declarations into at most `count` regions of similar size, as
/// `(start, end, levels)`.
pub(super) fn regions(decls: &[Decl], len: usize, count: usize) -> Vec<(usize, usize, usize)> {
    let target = len.div_ceil(count.max(1)).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut levels = 0;
    for (k, decl) in decls.iter().enumerate() {
        levels = levels.max(decl.levels);
        let end = decls.get(k + 1).map_or(len, |next| next.start);
        if end - start >= target || end == len {
            out.push((start, end, levels));
            start = end;
            levels = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_start_at_top_level_keywords_only() {
        let text = "policy p\nrule a = x.rule and \"gate\" // fact\ngate a -> b { require \"r\": if c then d else e }\n";
        let decls = declarations(text).ok();
        let starts: Vec<usize> = decls.iter().flatten().map(|d| d.start).collect();
        assert_eq!(starts, [0, 9, text.find("gate a").unwrap_or(0)]);
        assert_eq!(decls.and_then(|d| d.last().map(|d| d.levels)), Some(2));
    }

    #[test]
    fn nesting_is_refused_at_the_bracket_that_goes_too_deep() {
        let text = format!("rule a = {}x", "(".repeat(MAX_NESTING + 1));
        assert_eq!(declarations(&text), Err(Refusal::TooDeep(9 + MAX_NESTING)));
        let types = format!("fact a: {}int{}", "list<".repeat(300), ">".repeat(300));
        assert!(matches!(declarations(&types), Err(Refusal::TooDeep(_))));
        let fine = format!("fact a: {}int{}", "list<".repeat(200), ">".repeat(200));
        assert!(declarations(&fine).is_ok());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!(
            "rule a = \"{}\" // {}\nrule b = c",
            "(".repeat(400),
            "[".repeat(400)
        );
        let decls = declarations(&text).ok().unwrap_or_default();
        assert_eq!(decls.len(), 2);
        assert_eq!(decls[0].levels, 0);
    }

    #[test]
    fn regions_cover_the_text_in_order() {
        let decls: Vec<Decl> = [0, 10, 20, 30, 90]
            .into_iter()
            .map(|start| Decl {
                start,
                levels: start / 10,
            })
            .collect();
        assert_eq!(regions(&decls, 100, 2), [(0, 90, 3), (90, 100, 9)]);
        assert_eq!(regions(&decls, 100, 1), [(0, 100, 9)]);
    }
}
