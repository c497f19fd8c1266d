//! Token-level mutation of valid policies. The input is not a policy but a program of edits:
//! its first byte picks a seed (every `.phasev` under tests/corpus/valid and policies/,
//! embedded at build time), and each following pair of bytes applies one edit to the seed's
//! tokens: replace a token with one of the language's keywords, operators, literals, fact
//! paths or rung names, delete, duplicate or swap tokens, drop or repeat a line, splice in a
//! line of another seed, or wrap a token in deep nesting. The result is mostly well-formed
//! enough to get past the parser, so the checker, analyzer and lowering see far more than
//! they do from raw bytes. Another seed is available for `import "lib.phasev"`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

mod seeds {
    include!(concat!(env!("OUT_DIR"), "/seeds.rs"));
}

/// Tokens the mutator inserts: keywords, operators, literals of every type, edge values,
/// built-in and seed-like paths, rung names.
const DICT: &[&str] = &[
    "policy",
    "import",
    "ladder",
    "fact",
    "rule",
    "check",
    "plugin",
    "gate",
    "require",
    "warn",
    "critical",
    "warning",
    "info",
    "escalate",
    "when",
    "severity",
    "context",
    "impact",
    "option",
    "recommend",
    "checklist",
    "and",
    "or",
    "not",
    "in",
    "all",
    "any",
    "none",
    "count",
    "if",
    "then",
    "else",
    "true",
    "false",
    "target",
    "len",
    "exists",
    "matches",
    "min",
    "max",
    "sum",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "->",
    ":",
    ",",
    ".",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "=",
    "0",
    "1",
    "-1",
    "99999999999999999999",
    "18446744073709551616",
    "9223372036854775807",
    "0.0",
    "1.5",
    "1e10",
    "250ms",
    "5m",
    "0s",
    "99999999999999999999d",
    "0.1%",
    "110%",
    "0%",
    "2026-12-01",
    "9999-99-99",
    "0000-00-00",
    "\"\"",
    "\"x\"",
    "\"{feature.name}\"",
    "\"{\"",
    "\"}\"",
    "\"{}\"",
    "\"\\q\"",
    "\"{a.b.c.d}\"",
    "\"\\u{0}\"",
    "\"[\"",
    "\"(\"",
    "bool",
    "int",
    "float",
    "string",
    "duration",
    "percent",
    "rung",
    "date",
    "list<int>",
    "list<{a: int}>",
    "{a: int, b: bool}",
    "feature.depends_on",
    "feature.stage",
    "feature.deadline",
    "k8s.pods",
    "secrets.findings",
    "kafka.groups",
    "cloud.quota",
    "metrics.latency_p95",
    "metrics.error_rate",
    "baseline.metrics.latency_p95",
    "baseline.feature.name",
    "change.paths",
    "tests.unit.failed",
    "docs.spec.exists",
    "pci",
    "pci.passed",
    "pci.findings",
    "local_compose",
    "local_k8s",
    "cloud_staging",
    "cloud_prod",
    "dep",
    "pod",
    "x",
    "_",
    "\"lib.phasev\"",
    "\"root.phasev\"",
    "\"../fuzz/lib.phasev\"",
    "\n",
    " ",
    "//",
    "é",
    "\u{1F534}",
];

/// Splits text into tokens that keep every byte: words, numbers, strings, runs of
/// whitespace, and single other characters.
fn tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b == b'_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'%'))
            {
                i += 1;
            }
        } else if b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
        } else if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        } else {
            i += 1;
            while i < bytes.len() && !text.is_char_boundary(i) {
                i += 1;
            }
        }
        // Never split inside a UTF-8 sequence (an escaped quote may step past one).
        while i < bytes.len() && !text.is_char_boundary(i) {
            i += 1;
        }
        out.push(&text[start..i]);
    }
    out
}

/// Reads edit operands from the input.
struct Ops<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = self.data.get(self.pos).copied();
        self.pos += 1;
        b
    }

    fn index(&mut self, len: usize) -> usize {
        let hi = self.byte().unwrap_or(0) as usize;
        let lo = self.byte().unwrap_or(0) as usize;
        if len == 0 { 0 } else { (hi << 8 | lo) % len }
    }
}

fn mutate(seed: &str, others: &[&str], data: &[u8]) -> String {
    let mut toks: Vec<String> = tokens(seed).into_iter().map(str::to_owned).collect();
    let mut ops = Ops { data, pos: 0 };
    let mut edits = 0;
    while let Some(op) = ops.byte() {
        edits += 1;
        if edits > 64 || toks.is_empty() {
            break;
        }
        let at = ops.index(toks.len());
        match op % 12 {
            0..=3 => {
                let word = DICT[ops.index(DICT.len())];
                toks[at] = word.to_owned();
            }
            4 => {
                let word = DICT[ops.index(DICT.len())];
                toks.insert(at, format!(" {word} "));
            }
            5 => {
                toks.remove(at);
            }
            6 => {
                let len = 1 + ops.index(8);
                let end = (at + len).min(toks.len());
                let copy: Vec<String> = toks[at..end].to_vec();
                toks.splice(at..at, copy);
            }
            7 => {
                let other = ops.index(toks.len());
                toks.swap(at, other);
            }
            8 => {
                // Drop or repeat the line holding `at`.
                let start = toks[..at]
                    .iter()
                    .rposition(|t| t.contains('\n'))
                    .map_or(0, |p| p + 1);
                let end = toks[at..]
                    .iter()
                    .position(|t| t.contains('\n'))
                    .map_or(toks.len(), |p| at + p + 1);
                if ops.byte().unwrap_or(0).is_multiple_of(2) {
                    toks.drain(start..end);
                } else {
                    let line: Vec<String> = toks[start..end].to_vec();
                    toks.splice(end..end, line);
                }
            }
            9 => {
                // Splice a line of another seed.
                if let Some(other) = others.get(ops.index(others.len().max(1))) {
                    let lines: Vec<&str> = other.lines().collect();
                    if !lines.is_empty() {
                        let line = lines[ops.index(lines.len())];
                        toks.insert(at, format!("\n{line}\n"));
                    }
                }
            }
            10 => {
                // Deep nesting around one token.
                let depth = ops.index(2000);
                let (open, close) = match ops.byte().unwrap_or(0) % 4 {
                    0 => ("(", ")"),
                    1 => ("[", "]"),
                    2 => ("not ", ""),
                    _ => ("-", ""),
                };
                let t = std::mem::take(&mut toks[at]);
                toks[at] = format!("{}{t}{}", open.repeat(depth), close.repeat(depth));
            }
            _ => {
                // Change one character of a token (identifiers: near-miss names).
                let t = &toks[at];
                if let Some(c) = t.char_indices().nth(ops.index(t.chars().count().max(1))) {
                    let replacement = ['a', 'z', '_', '0', '.', '"', '{', '}', '\\', ' '];
                    let r = replacement[ops.index(replacement.len())];
                    let mut s = t.clone();
                    s.replace_range(c.0..c.0 + c.1.len_utf8(), &r.to_string());
                    toks[at] = s;
                }
            }
        }
    }
    toks.concat()
}

/// Whether `PHASEV_FUZZ_DUMP` asks for the mutated policy on stderr (read once).
fn dump() -> bool {
    static DUMP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DUMP.get_or_init(|| std::env::var_os("PHASEV_FUZZ_DUMP").is_some())
}

fuzz_target!(|data: &[u8]| {
    let seeds = seeds::SEEDS;
    if seeds.is_empty() || data.is_empty() {
        return;
    }
    let (_, seed) = seeds[data[0] as usize % seeds.len()];
    let texts: Vec<&str> = seeds.iter().map(|(_, t)| *t).collect();
    let root = mutate(seed, &texts, &data[1..]);
    if dump() {
        eprintln!("----8<----\n{root}\n----8<----");
    }
    let lib = texts[(data[0] as usize / 7 + 1) % texts.len()];
    common::front_end(&root, &[("lib.phasev", lib)]);
    common::expr(&root);
});
