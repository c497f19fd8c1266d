//! Text that came from outside phasev (a plugin's messages, names and errors; values of input
//! files) made harmless for the format it is written to. Such text must not drive a terminal
//! (escape sequences), a CI log (a line starting `::` is a GitHub Actions workflow command) or
//! the report format (a `|` ends a Markdown table cell, a `<` an XML element).
//!
//! Two layers: what a plugin returns is made one line and bounded once, when it is stored
//! ([`line`], [`capped`]); each output is neutralised for its format when it is rendered
//! ([`text`] for text and Markdown, [`markdown_cell`], [`xml`]). GitHub annotations escape
//! line breaks themselves and use [`line`] for the rest; JSON and SARIF escape everything
//! through serde.

use std::borrow::Cow;

/// What a control character becomes.
const REPLACEMENT: char = '\u{fffd}';

/// A C0 control, DEL or a C1 control: what terminals interpret.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// `text` on one line: line breaks and tabs become spaces, every other control character
/// U+FFFD.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => ' ',
                c if is_control(c) => REPLACEMENT,
                c => c,
            })
            .collect(),
    )
}

/// A whole text or Markdown output: every control character but the line break becomes
/// U+FFFD, and a line that would start with `::` (after blanks) starts with `: :` instead, so
/// no line is a workflow command.
pub fn text(output: &str) -> Cow<'_, str> {
    let commands = output.split('\n').any(|l| l.trim_start().starts_with("::"));
    if !commands && !output.chars().any(|c| c != '\n' && is_control(c)) {
        return Cow::Borrowed(output);
    }
    let mut out = String::with_capacity(output.len());
    for (i, l) in output.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let clean: String = l
            .chars()
            .map(|c| if is_control(c) { REPLACEMENT } else { c })
            .collect();
        let blanks = clean.len() - clean.trim_start().len();
        if clean[blanks..].starts_with("::") {
            out.push_str(&clean[..blanks]);
            out.push_str(": :");
            out.push_str(&clean[blanks + 2..]);
        } else {
            out.push_str(&clean);
        }
    }
    Cow::Owned(out)
}

/// A Markdown table cell: one line, with `\` and `|` escaped so the cell ends where the table
/// says.
pub fn markdown_cell(cell: &str) -> String {
    line(cell).replace('\\', "\\\\").replace('|', "\\|")
}

/// XML character data or an attribute value: the markup characters as entities, line breaks
/// and tabs as character references (so an attribute keeps them and no line of the file
/// starts with text from outside), other control characters (which XML 1.0 forbids or
/// discourages) U+FFFD.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_control(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    out
}

/// `text` of at most about `max` bytes (cut at a character boundary), ending
/// `… (N bytes cut)` when it was cut.
pub fn capped(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} bytes cut)",
        &text[..end],
        text.len() - end
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}x\n::error::forged\r\n  ::add-mask::s \
                           a|b\\|c <t>&\"' \u{9b}31m\u{7f}";

    #[test]
    fn one_line_has_no_control_character() {
        assert_eq!(
            line(HOSTILE),
            "\u{fffd}[2J\u{fffd}]0;owned\u{fffd}x ::error::forged    ::add-mask::s a|b\\|c \
             <t>&\"' \u{fffd}31m\u{fffd}"
        );
        assert!(matches!(line("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn no_text_line_starts_a_workflow_command() {
        assert_eq!(
            text(HOSTILE),
            "\u{fffd}[2J\u{fffd}]0;owned\u{fffd}x\n: :error::forged\u{fffd}\n  : :add-mask::s \
             a|b\\|c <t>&\"' \u{fffd}31m\u{fffd}"
        );
        assert!(matches!(text("a\n  b: c::d\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_markdown_cell_keeps_its_table_whole() {
        assert_eq!(markdown_cell("a|b\\|c\nd"), "a\\|b\\\\\\|c d");
    }

    #[test]
    fn xml_is_escaped_and_well_formed() {
        assert_eq!(
            xml("<f a=\"1\">&'\n\u{1b}"),
            "&lt;f a=&quot;1&quot;&gt;&amp;&apos;&#10;\u{fffd}"
        );
    }

    #[test]
    fn a_capped_string_says_how_much_was_cut() {
        assert_eq!(capped("short", 10), "short");
        assert_eq!(capped("ééé", 3), "é… (4 bytes cut)");
    }
}
