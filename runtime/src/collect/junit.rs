//! JUnit XML reports → test counts: the parser behind the `tests.<kind>.*` facts.
//!
//! [`parse_junit`] reads one report and returns its [`JunitCounts`]; the collector that globs the
//! report files of a kind (`unit`, `integration`, `contract`, `e2e`) sums them with `+` or
//! [`Iterator::sum`]. The parser is pure: it reads only the bytes it is given.
//!
//! # What is counted
//!
//! Every `<testcase>` element is one case, wherever it sits: under a bare `<testsuite>` root, or
//! under `<testsuites>`/`<testsuite>` nested to any depth. The `tests`, `failures`, `errors` and
//! `skipped` attributes of the suites are never read: producers get them wrong (among the real
//! reports in `runtime/tests/data/junit/`, Surefire's FlakyTest says `tests="3" failures="2"` for one
//! passing case, and mocha's root says `tests="15515"` for one case).
//!
//! A case's outcome comes from its direct child elements, the strongest one winning:
//!
//! | child element | outcome | wins over |
//! |---|---|---|
//! | `<failure>` | failed | everything |
//! | `<error>` | errored | skipped, passed |
//! | `<skipped>` | skipped | passed |
//! | none of these | passed | |
//!
//! So a case with both `<failure>` and `<skipped>` is failed: a gate must never let a reported
//! failure hide behind a skip. `<flakyFailure>`, `<flakyError>`, `<rerunFailure>` and
//! `<rerunError>` (Surefire's reruns) change nothing: the case's own outcome is what counts, so a
//! test that failed and then passed on a rerun is passed.
//!
//! An `<error>` directly inside a `<testsuite>` (not inside a case) means the suite itself broke,
//! typically a test class that failed to load. It counts as **one extra errored case** per suite,
//! however many such `<error>` elements the suite holds. Jenkins' JUnit plugin does the same (an
//! `<init>` case), and it keeps a gate from passing a suite whose tests never ran. A `<failure>` or
//! `<skipped>` directly inside a suite, and an `<error>` directly inside `<testsuites>`, are
//! ignored, as Jenkins ignores them.
//!
//! # Well-formedness
//!
//! A report that is not complete, well-formed XML is an error, never a partial count: tags must
//! nest and close, end names must match their start tags, the input must not end inside a tag,
//! comment, CDATA section or element, there is one root element, attributes are well-formed and
//! unique, and entity references are the five predefined ones or character references. Comments
//! are not checked for `--`, and text is not decoded, so invalid UTF-8 in a message goes unnoticed.
//! Input may start with a UTF-8 byte order mark; UTF-16 input (with its byte order mark) is
//! converted to UTF-8 first. Namespace prefixes are ignored: `<j:testcase>` is a `<testcase>`.
//!
//! The parser is iterative (quick-xml's pull reader and a heap stack), so deep nesting cannot
//! overflow the call stack; [`JunitLimits`] bounds the input size and the nesting depth.

use std::borrow::Cow;
use std::iter::Sum;
use std::ops::{Add, AddAssign};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Case counts of one JUnit report, or the sum of several reports of one kind.
///
/// The facts of kind `k` map to the fields like this:
///
/// | fact | value |
/// |---|---|
/// | `tests.k.total` | `total` |
/// | `tests.k.passed` | `passed` |
/// | `tests.k.failed` | [`failed_or_errored`](Self::failed_or_errored): `failed + errored`, since an errored test did not pass |
/// | `tests.k.skipped` | `skipped` |
///
/// `passed = total - failed - errored - skipped` holds for every value [`parse_junit`] returns
/// and for sums of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JunitCounts {
    /// Every case: passed, failed, errored and skipped.
    pub total: u64,
    /// Cases with none of `<failure>`, `<error>` or `<skipped>`.
    pub passed: u64,
    /// Cases with a `<failure>`.
    pub failed: u64,
    /// Cases with an `<error>` and no `<failure>`, plus one per suite-level `<error>`.
    pub errored: u64,
    /// Cases with a `<skipped>` and neither `<failure>` nor `<error>`.
    pub skipped: u64,
}

impl JunitCounts {
    /// The value of the fact `tests.<kind>.failed`: cases that failed or errored.
    pub fn failed_or_errored(&self) -> u64 {
        self.failed.saturating_add(self.errored)
    }

    fn record(&mut self, outcome: Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Errored => self.errored += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// Field-wise sum, saturating at `u64::MAX`.
impl Add for JunitCounts {
    type Output = JunitCounts;

    fn add(self, other: JunitCounts) -> JunitCounts {
        JunitCounts {
            total: self.total.saturating_add(other.total),
            passed: self.passed.saturating_add(other.passed),
            failed: self.failed.saturating_add(other.failed),
            errored: self.errored.saturating_add(other.errored),
            skipped: self.skipped.saturating_add(other.skipped),
        }
    }
}

impl AddAssign for JunitCounts {
    fn add_assign(&mut self, other: JunitCounts) {
        *self = *self + other;
    }
}

impl Sum for JunitCounts {
    fn sum<I: Iterator<Item = JunitCounts>>(iter: I) -> JunitCounts {
        iter.fold(JunitCounts::default(), Add::add)
    }
}

/// Bounds on what [`parse_junit_with`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JunitLimits {
    /// Largest accepted report, in bytes. The collector checks a file's size against it before
    /// reading the file.
    pub max_bytes: u64,
    /// Deepest accepted element nesting. Real reports nest a few levels; the bound keeps a
    /// hostile file from making the parser's stack as large as the file.
    pub max_depth: usize,
}

impl JunitLimits {
    /// 64 MiB per report.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// 65,536 nested elements.
    pub const DEFAULT_MAX_DEPTH: usize = 65_536;
}

impl Default for JunitLimits {
    fn default() -> Self {
        JunitLimits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// Why a report could not be counted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum JunitError {
    /// No bytes, only whitespace, or XML with no root element.
    #[error("junit report is empty: it has no root element")]
    #[diagnostic(
        code(phasev::collect::junit::empty),
        help("the test run may have stopped before writing its report; run the tests again")
    )]
    Empty,

    /// The report is larger than [`JunitLimits::max_bytes`].
    #[error("junit report is {size} bytes, over the limit of {limit} bytes")]
    #[diagnostic(
        code(phasev::collect::junit::too_large),
        help("split the test run into several reports, or raise the limit")
    )]
    TooLarge { size: u64, limit: u64 },

    /// Elements nest deeper than [`JunitLimits::max_depth`].
    #[error(
        "junit report nests elements deeper than {limit} levels, at line {line}, column {column}"
    )]
    #[diagnostic(
        code(phasev::collect::junit::too_deep),
        help("real reports nest a few levels; check what produced this file")
    )]
    TooDeep {
        line: usize,
        column: usize,
        limit: usize,
    },

    /// The input is not well-formed XML, for example because it was cut off.
    #[error("malformed junit xml at line {line}, column {column}: {reason}")]
    #[diagnostic(
        code(phasev::collect::junit::malformed),
        help(
            "a report that ends early comes from an interrupted test run or upload; run the tests again"
        )
    )]
    Malformed {
        line: usize,
        column: usize,
        reason: String,
    },

    /// The input starts with text instead of an element, so it is not XML.
    #[error(
        "not a junit xml report: it starts with the text `{text}` at line {line}, not with an element"
    )]
    #[diagnostic(
        code(phasev::collect::junit::not_xml),
        help(
            "point the collector at the XML report, not at the test log; tools such as go-junit-report convert a log to JUnit XML"
        )
    )]
    NotXml { line: usize, text: String },

    /// Well-formed so far, but the root element is not `<testsuites>` or `<testsuite>`.
    #[error(
        "not a junit xml report: the root element is `<{root}>`, not `<testsuites>` or `<testsuite>`"
    )]
    #[diagnostic(
        code(phasev::collect::junit::not_junit),
        help("narrow the collector's file pattern so that it matches only JUnit XML reports")
    )]
    NotJunit { root: String },
}

/// Counts the cases of one JUnit XML report, with the default [`JunitLimits`].
pub fn parse_junit(bytes: &[u8]) -> Result<JunitCounts, JunitError> {
    parse_junit_with(bytes, JunitLimits::default())
}

/// Counts the cases of one JUnit XML report within `limits`.
pub fn parse_junit_with(bytes: &[u8], limits: JunitLimits) -> Result<JunitCounts, JunitError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bytes {
        return Err(JunitError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    let text = to_utf8(bytes);
    Counter::new(&text, limits.max_depth).run()
}

/// Strips a UTF-8 byte order mark, or converts UTF-16 with a byte order mark to UTF-8.
///
/// The UTF-16 conversion is lossy: only markup matters for counting, and an unpaired surrogate in
/// a message must not reject the report.
fn to_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    let (body, big_endian) = match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => return Cow::Borrowed(rest),
        [0xFF, 0xFE, rest @ ..] => (rest, false),
        [0xFE, 0xFF, rest @ ..] => (rest, true),
        _ => return Cow::Borrowed(bytes),
    };
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Cow::Owned(text.into_bytes())
}

/// A case's outcome, weakest first: a stronger child element overrides a weaker one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Passed,
    Skipped,
    Errored,
    Failed,
}

/// What an open element means for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Suites,
    Suite,
    Case,
    Other,
}

/// One open element.
#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: Kind,
    /// Byte offset of the element's `<`, for error messages.
    start: u64,
    /// For a case, its outcome so far; for a suite, `Errored` once a suite-level `<error>` was
    /// seen. `Passed` otherwise.
    outcome: Outcome,
}

/// Where the reader is relative to the root element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Root {
    NotSeen,
    Open,
    Closed,
}

/// The pull loop: quick-xml events in, counts out.
struct Counter<'a> {
    text: &'a [u8],
    reader: Reader<&'a [u8]>,
    max_depth: usize,
    // INVARIANT: `stack` is empty exactly when `root` is not `Open`.
    stack: Vec<Frame>,
    root: Root,
    counts: JunitCounts,
}

impl<'a> Counter<'a> {
    fn new(text: &'a [u8], max_depth: usize) -> Self {
        Counter {
            text,
            reader: Reader::from_reader(text),
            max_depth,
            stack: Vec::new(),
            root: Root::NotSeen,
            counts: JunitCounts::default(),
        }
    }

    fn run(mut self) -> Result<JunitCounts, JunitError> {
        loop {
            let at = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(err) => {
                    return Err(self.malformed(self.reader.error_position(), err.to_string()));
                }
            };
            match event {
                Event::Start(start) => {
                    let frame = self.open(&start, at)?;
                    self.stack.push(frame);
                }
                Event::Empty(start) => {
                    let frame = self.open(&start, at)?;
                    self.close(frame);
                }
                Event::End(_) => match self.stack.pop() {
                    Some(frame) => self.close(frame),
                    // quick-xml reports an unmatched end tag itself; this is a second line of defence.
                    None => return Err(self.malformed(at, "end tag with no open element".into())),
                },
                Event::Text(text) => self.text_outside_root(&text, at)?,
                Event::CData(cdata) => self.text_outside_root(&cdata, at)?,
                Event::GeneralRef(reference) => {
                    if self.root != Root::Open {
                        self.text_outside_root(
                            &[b"&".as_slice(), reference.as_ref(), b";".as_slice()].concat(),
                            at,
                        )?;
                    }
                    check_reference(&reference).map_err(|reason| self.malformed(at, reason))?;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(frame) = self.stack.last() {
            let (line, column) = line_col(self.text, frame.start);
            let reason = format!(
                "the input ends inside `<{}>` opened at line {line}, column {column}: the report is cut off",
                tag_name(self.text, frame.start)
            );
            return Err(self.malformed(self.reader.buffer_position(), reason));
        }
        match self.root {
            Root::Closed => Ok(self.counts),
            Root::NotSeen | Root::Open => Err(JunitError::Empty),
        }
    }

    /// Classifies a start (or empty) tag and records what it means for its parent.
    fn open(&mut self, start: &BytesStart<'_>, at: u64) -> Result<Frame, JunitError> {
        if self.stack.len() >= self.max_depth {
            let (line, column) = line_col(self.text, at);
            return Err(JunitError::TooDeep {
                line,
                column,
                limit: self.max_depth,
            });
        }
        let local = start.local_name();
        let name = local.as_ref();
        let kind = match self.stack.last_mut() {
            None => {
                if self.root == Root::Closed {
                    return Err(self.malformed(
                        at,
                        format!(
                            "a second root element `<{}>`",
                            String::from_utf8_lossy(start.name().as_ref())
                        ),
                    ));
                }
                match name {
                    b"testsuites" => Kind::Suites,
                    b"testsuite" => Kind::Suite,
                    _ => {
                        return Err(JunitError::NotJunit {
                            root: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                        });
                    }
                }
            }
            Some(parent) => match name {
                b"testsuites" => Kind::Suites,
                b"testsuite" => Kind::Suite,
                b"testcase" => Kind::Case,
                _ => {
                    let marks = match (parent.kind, name) {
                        (Kind::Case, b"failure") => Some(Outcome::Failed),
                        (Kind::Case | Kind::Suite, b"error") => Some(Outcome::Errored),
                        (Kind::Case, b"skipped") => Some(Outcome::Skipped),
                        _ => None,
                    };
                    if let Some(outcome) = marks {
                        parent.outcome = parent.outcome.max(outcome);
                    }
                    Kind::Other
                }
            },
        };
        check_attributes(start).map_err(|reason| self.malformed(at, reason))?;
        self.root = Root::Open;
        Ok(Frame {
            kind,
            start: at,
            outcome: Outcome::Passed,
        })
    }

    /// Counts a closed case or an errored suite.
    fn close(&mut self, frame: Frame) {
        match frame.kind {
            Kind::Case => self.counts.record(frame.outcome),
            Kind::Suite if frame.outcome == Outcome::Errored => {
                self.counts.record(Outcome::Errored)
            }
            Kind::Suite | Kind::Suites | Kind::Other => {}
        }
        if self.stack.is_empty() {
            self.root = Root::Closed;
        }
    }

    /// Text inside the root is ignored; outside it, only whitespace may appear.
    fn text_outside_root(&self, text: &[u8], at: u64) -> Result<(), JunitError> {
        if self.root == Root::Open || text.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let skipped = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let at = at.saturating_add(u64::try_from(skipped).unwrap_or(0));
        match self.root {
            Root::NotSeen => Err(JunitError::NotXml {
                line: line_col(self.text, at).0,
                text: snippet(text),
            }),
            Root::Open | Root::Closed => Err(self.malformed(
                at,
                format!("text `{}` after the root element", snippet(text)),
            )),
        }
    }

    fn malformed(&self, at: u64, reason: String) -> JunitError {
        let (line, column) = line_col(self.text, at);
        JunitError::Malformed {
            line,
            column,
            reason,
        }
    }
}

/// Checks that a tag's attributes are well-formed and unique and that their entity references
/// are defined.
fn check_attributes(start: &BytesStart<'_>) -> Result<(), String> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| {
            format!(
                "bad attribute in `<{}>`: {err}",
                String::from_utf8_lossy(start.name().as_ref())
            )
        })?;
        let mut rest: &[u8] = &attribute.value;
        while let Some(amp) = rest.iter().position(|&b| b == b'&') {
            let after = rest.get(amp + 1..).unwrap_or_default();
            let Some(semi) = after.iter().position(|&b| b == b';') else {
                return Err(format!(
                    "a `&` in attribute `{}` starts no entity reference; write it as `&amp;`",
                    String::from_utf8_lossy(attribute.key.as_ref())
                ));
            };
            check_reference(after.get(..semi).unwrap_or_default())?;
            rest = after.get(semi + 1..).unwrap_or_default();
        }
    }
    Ok(())
}

/// Checks the name between `&` and `;`: a predefined entity or a character reference to a
/// character XML allows.
fn check_reference(name: &[u8]) -> Result<(), String> {
    let code = match name {
        b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => return Ok(()),
        [b'#', b'x', hex @ ..] if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) => {
            std::str::from_utf8(hex)
                .ok()
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(dec)
                .ok()
                .and_then(|dec| dec.parse::<u32>().ok())
        }
        _ => {
            return Err(format!(
                "undefined entity `&{};`; XML defines only `&lt;`, `&gt;`, `&amp;`, `&apos;` and `&quot;`",
                String::from_utf8_lossy(name)
            ));
        }
    };
    match code.and_then(char::from_u32) {
        Some(c) if c != '\0' => Ok(()),
        _ => Err(format!(
            "character reference `&{};` names no character",
            String::from_utf8_lossy(name)
        )),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &[u8], at: u64) -> (usize, usize) {
    let end = usize::try_from(at).map_or(text.len(), |at| at.min(text.len()));
    let before = text.get(..end).unwrap_or(text);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (line, column)
}

/// The name of the tag that starts at byte offset `at` (its `<`).
fn tag_name(text: &[u8], at: u64) -> Cow<'_, str> {
    let from = usize::try_from(at).map_or(text.len(), |at| at.saturating_add(1));
    let rest = text.get(from..).unwrap_or_default();
    let len = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
        .unwrap_or(rest.len());
    String::from_utf8_lossy(rest.get(..len).unwrap_or_default())
}

/// The start of the first line of `text`, trimmed and cut to 40 characters, for messages.
fn snippet(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let line = text
        .trim_start()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end();
    let mut snippet: String = line.chars().filter(|c| !c.is_control()).take(40).collect();
    if line.chars().count() > 40 {
        snippet.push('…');
    }
    snippet
}
