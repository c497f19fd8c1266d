//! Rendering diagnostics for people (miette's graphical report) and machines (JSON).

use miette::{GraphicalReportHandler, GraphicalTheme, JSONReportHandler};

use super::Diagnostic;

/// Renders diagnostics as miette reports; `color` picks ANSI styling, otherwise plain Unicode.
pub fn render_plain<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for d in diags {
        if handler.render_report(&mut out, d).is_err() {
            out.push_str(&format!("{}: {}\n", d.code().as_str(), d.message()));
        }
        out.push('\n');
    }
    out
}

/// Renders diagnostics as a JSON array, one miette JSON report per diagnostic.
pub fn render_json<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> String {
    let handler = JSONReportHandler::new();
    let mut parts = Vec::new();
    for d in diags {
        let mut one = String::new();
        if handler.render_report(&mut one, d).is_ok() {
            parts.push(one);
        }
    }
    format!("[{}]", parts.join(","))
}
