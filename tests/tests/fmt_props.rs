//! Property tests of the formatter on generated policies: `fmt` never changes meaning
//! (`parse(fmt(p)) == parse(p)`, spans aside), is idempotent, and never loses a comment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use phasev_compiler::ast::FileId;
use phasev_compiler::fmt::format;
use phasev_compiler::parser::parse;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "a", "pods", "x_1", "quota", "tests", "dep", "order", "notes", "inner",
];
const FIELDS: &[&str] = &[
    "unit", "failed", "ready", "in", "all", "count", "name", "stage",
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn path() -> impl Strategy<Value = String> {
    (
        name(),
        prop::collection::vec(prop::sample::select(FIELDS), 0..3),
    )
        .prop_map(|(head, rest)| {
            std::iter::once(head.as_str())
                .chain(rest)
                .collect::<Vec<_>>()
                .join(".")
        })
}

/// Optional extra whitespace, so the input is not already canonical.
fn gap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&[" ", "  ", "\n  ", " \t "][..])
}

fn string_lit() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z ]{0,6}".prop_map(|s| s),
        Just("\\\"".to_owned()),
        Just("\\\\".to_owned()),
        Just("\\n".to_owned()),
        Just("\\{x\\}".to_owned()),
        Just("é ✓".to_owned()),
        path().prop_map(|p| format!("{{{p}}}")),
    ];
    prop::collection::vec(piece, 0..4).prop_map(|parts| format!("\"{}\"", parts.concat()))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..5000).prop_map(|n| n.to_string()),
        (0u32..100, 1u32..99).prop_map(|(a, b)| format!("{a}.{b}")),
        (
            1u32..900,
            prop::sample::select(&["ms", "s", "m", "h", "d"][..])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        (0u32..200, 0u32..10).prop_map(|(a, b)| format!("{a}.{b}%")),
        Just("2026-12-01".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        string_lit(),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![literal(), path(), Just("target".to_owned())];
    leaf.prop_recursive(5, 48, 4, |inner| {
        let op = prop::sample::select(
            &[
                "and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/",
            ][..],
        );
        prop_oneof![
            (inner.clone(), op, gap(), inner.clone())
                .prop_map(|(a, op, g, b)| format!("{a}{g}{op} {b}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.clone().prop_map(|e| format!("not {e}")),
            inner.clone().prop_map(|e| format!("-{e}")),
            (
                prop::sample::select(&["all", "any", "none", "count"][..]),
                name(),
                path(),
                inner.clone()
            )
                .prop_map(|(q, v, over, body)| format!("{q} {v} in {over}: {body}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, o)| format!("if {c} then {t} else {o}")),
            (
                prop::sample::select(&["len", "max", "matches", "my_rule"][..]),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            prop::collection::vec(inner.clone(), 1..3)
                .prop_map(|items| format!("[{}]", items.join(","))),
            (inner, prop::sample::select(FIELDS)).prop_map(|(e, f)| format!("({e}).{f}")),
        ]
    })
}

fn item() -> impl Strategy<Value = String> {
    let requirement = (
        prop::sample::select(&["require", "warn"][..]),
        prop::sample::select(&["", "critical ", "warning ", "info "][..]),
        string_lit(),
        expr(),
    )
        .prop_map(|(k, s, n, e)| format!("{k} {s}{n}: {e}"));
    let scalar = prop::sample::select(
        &[
            "bool", "int", "float", "string", "duration", "percent", "rung", "date",
        ][..],
    );
    prop_oneof![
        name().prop_map(|n| format!("policy {n}")),
        string_lit().prop_map(|s| format!("import {s}")),
        prop::collection::vec((name(), prop::option::of(string_lit())), 0..4).prop_map(|rungs| {
            let body: Vec<String> = rungs
                .into_iter()
                .map(|(n, l)| l.map_or(n.clone(), |l| format!("{n} {l}")))
                .collect();
            format!("ladder {{ {} }}", body.join("\n"))
        }),
        (path(), scalar.clone()).prop_map(|(p, t)| format!("fact {p}: list<{{a: {t}, b: {{c: {t}}}}}>")),
        (name(), prop::collection::vec((name(), prop::option::of(scalar)), 0..3), expr()).prop_map(|(n, params, body)| {
            // A parameter's type may be left out.
            let params: Vec<String> = params
                .into_iter()
                .map(|(p, t)| t.map_or(p.clone(), |t| format!("{p}: {t}")))
                .collect();
            if params.is_empty() {
                format!("rule {n} = {body}")
            } else {
                format!("rule {n}({}) = {body}", params.join(", "))
            }
        }),
        (name(), string_lit(), prop::collection::vec((name(), literal()), 0..3)).prop_map(|(n, p, cfg)| {
            let cfg: Vec<String> = cfg.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("check {n} = plugin {p} {{ {} }}", cfg.join(", "))
        }),
        (name(), name(), prop::collection::vec(requirement, 0..4))
            .prop_map(|(a, b, reqs)| format!("gate {a} -> {b} {{\n{}\n}}", reqs.join("\n"))),
        (string_lit(), expr(), string_lit(), string_lit(), string_lit()).prop_map(|(t, w, c, i, o)| {
            format!("escalate {t} when {w} {{ severity info context {c} impact {i} option {o}: {o} recommend 1: {t} }}")
        }),
        prop::collection::vec((string_lit(), expr()), 0..3).prop_map(|items| {
            let body: Vec<String> = items.into_iter().map(|(l, e)| format!("{l}: {e}")).collect();
            format!("checklist {{ {} }}", body.join("\n"))
        }),
    ]
}

fn policy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (item(), prop::sample::select(&["\n", "\n\n", "\n\n\n"][..])),
        0..6,
    )
    .prop_map(|items| {
        items
            .into_iter()
            .map(|(i, sep)| format!("{i}{sep}"))
            .collect()
    })
}

fn fmt(text: &str) -> String {
    let module = parse(FileId(0), text).unwrap();
    format(&module, text)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fmt_keeps_meaning_and_is_idempotent(text in policy()) {
        // The generator can produce what the grammar rejects (e.g. a keyword-like string
        // mix); only inputs that parse are formatted.
        let Ok(original) = parse(FileId(0), &text) else { return Ok(()) };
        let once = format(&original, &text);
        let reparsed = parse(FileId(0), &once);
        prop_assert!(reparsed.is_ok(), "formatted text does not parse:\n{once}");
        prop_assert_eq!(reparsed.unwrap(), original);
        prop_assert_eq!(fmt(&once), once);
    }

    #[test]
    fn fmt_keeps_every_comment(text in policy(), marks in prop::collection::vec(any::<u16>(), 1..6)) {
        let Ok(_) = parse(FileId(0), &text) else { return Ok(()) };
        // Put numbered comments at the ends of some lines.
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        let mut expected = Vec::new();
        for (n, mark) in marks.iter().enumerate() {
            let line = usize::from(*mark) % lines.len();
            let comment = format!("// note {n}");
            lines[line].push_str(&format!(" {comment}"));
            expected.push(comment);
        }
        let commented = lines.join("\n");
        let Ok(original) = parse(FileId(0), &commented) else { return Ok(()) };
        let once = format(&original, &commented);
        for comment in &expected {
            prop_assert!(once.contains(comment.as_str()), "lost {} in\n{}", comment, once);
        }
        prop_assert_eq!(parse(FileId(0), &once).unwrap(), original);
        prop_assert_eq!(fmt(&once), once);
    }
}
