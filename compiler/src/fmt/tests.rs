#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use super::format;
use crate::ast::FileId;
use crate::parser::parse;

fn fmt(text: &str) -> String {
    let module = parse(FileId(0), text).unwrap_or_else(|d| {
        panic!(
            "{:?}",
            d.iter().map(|d| d.message().to_owned()).collect::<Vec<_>>()
        )
    });
    format(&module, text)
}

/// Formats, checks the result is stable and means the same, and returns it.
fn canonical(text: &str) -> String {
    let once = fmt(text);
    assert_eq!(fmt(&once), once, "not idempotent");
    assert_eq!(
        parse(FileId(0), &once).unwrap(),
        parse(FileId(0), text).unwrap(),
        "meaning changed"
    );
    once
}

#[test]
fn lays_out_every_item() {
    let src = "policy   p\nimport \"lib.phasev\"\nladder{a \"A\" longer_name \"B\" c}\nfact x.y : list<{a:int,b:{c:bool}}>\n\
               rule r(p:{ready:bool})=p.ready\ncheck k=plugin \"k\"{level:\"strict\",n:3}\n\
               gate a->longer_name{require critical \"x\":x.y==[]  warn \"w\" : true}\n\
               escalate \"t {x}\" when true{severity warning context \"c\" impact \"i\" option \"a\":\"b\" option \"c\":\"d\" recommend 1:\"r\"}\n\
               checklist{\"item\":true}\n";
    assert_eq!(
        canonical(src),
        "policy p\nimport \"lib.phasev\"\nladder {\n  a           \"A\"\n  longer_name \"B\"\n  c\n}\n\
         fact x.y: list<{a: int, b: {c: bool}}>\nrule r(p: {ready: bool}) = p.ready\n\
         check k = plugin \"k\" { level: \"strict\", n: 3 }\n\
         gate a -> longer_name {\n  require critical \"x\": x.y == []\n  warn \"w\": true\n}\n\
         escalate \"t {x}\" when true {\n  severity warning\n  context \"c\"\n  impact \"i\"\n  option \"a\": \"b\"\n  option \"c\": \"d\"\n  recommend 1: \"r\"\n}\n\
         checklist {\n  \"item\": true\n}\n"
    );
}

#[test]
fn an_open_gate_keeps_its_keyword_and_comment() {
    assert_eq!(
        canonical(
            "ladder{a b c}\ngate a->b{require \"x\": true}\ngate   b->c    open // by hand\n"
        ),
        "ladder {\n  a\n  b\n  c\n}\ngate a -> b {\n  require \"x\": true\n}\ngate b -> c open  // by hand\n"
    );
}

#[test]
fn parentheses_only_where_needed() {
    let cases = [
        ("rule r = (a and b) or c", "rule r = a and b or c"),
        ("rule r = a and (b or c)", "rule r = a and (b or c)"),
        ("rule r = a - (b - c)", "rule r = a - (b - c)"),
        ("rule r = (a - b) - c", "rule r = a - b - c"),
        ("rule r = not (a and b)", "rule r = not (a and b)"),
        ("rule r = (not a) and b", "rule r = not a and b"),
        (
            "rule r = (all x in xs: x) and b",
            "rule r = (all x in xs: x) and b",
        ),
        (
            "rule r = b and (all x in xs: x)",
            "rule r = b and all x in xs: x",
        ),
        (
            "rule r = (count p in ps: p.ok) >= 2",
            "rule r = (count p in ps: p.ok) >= 2",
        ),
        ("rule r = (a.b).c", "rule r = a.b.c"),
        (
            "rule r = (if a then b else c).d",
            "rule r = (if a then b else c).d",
        ),
        ("rule r = f(x).y", "rule r = f(x).y"),
        ("rule r = -(-x)", "rule r = --x"),
        (
            "rule r = 2.0 * 1.5s + 10% * 3",
            "rule r = 2.0 * 1.5s + 10% * 3",
        ),
        (
            "rule r = if a then (if b then 1 else 2) else 3",
            "rule r = if a then if b then 1 else 2 else 3",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(canonical(src).trim_end(), want, "for {src}");
    }
}

#[test]
fn strings_keep_escapes_and_holes() {
    let src = r#"rule r = "a \"q\" \\ \n \t \{lit\} {feature.name}""#;
    assert_eq!(canonical(src).trim_end(), src);
}

#[test]
fn comments_are_kept_in_place() {
    let src = "// header\npolicy p // the name\n\n// the ladder\nladder {\n  // lowest\n  a \"A\" // first\n  b \"B\"\n  // after the last rung\n}\n\
               gate a -> b {\n  require \"x\": // why\n    tests.unit.failed == 0\n}\n// the end\n";
    let out = canonical(src);
    for comment in [
        "// header",
        "// the name",
        "// the ladder",
        "// lowest",
        "// first",
        "// after the last rung",
        "// why",
        "// the end",
    ] {
        assert!(out.contains(comment), "lost {comment} in\n{out}");
    }
    assert_eq!(
        out,
        "// header\npolicy p  // the name\n\n// the ladder\nladder {\n  // lowest\n  a \"A\"  // first\n  b \"B\"\n  // after the last rung\n}\n\
         gate a -> b {\n  // why\n  require \"x\": tests.unit.failed == 0\n}\n// the end\n"
    );
}

#[test]
fn long_requirements_break_after_the_colon() {
    let long = "tests.unit.failed == 0 and tests.unit.total > 0 and tests.integration.failed == 0 and tests.integration.total > 0";
    let out = canonical(&format!(
        "gate a -> b {{ require \"unit and integration\": {long} }}"
    ));
    assert_eq!(
        out,
        format!("gate a -> b {{\n  require \"unit and integration\":\n      {long}\n}}\n")
    );
}

#[test]
fn the_brief_sketch_is_stable() {
    let src = include_str!("../../../tests/corpus/valid/brief_sketch.phasev");
    let out = canonical(src);
    assert!(out.contains("// a WASM check, configured"));
}

#[test]
fn fact_ranges_round_trip() {
    let src = "policy p\nfact a.b : int in 0..100\nfact a.c: float in -1..\nfact a.d: duration  in ..5m\nfact a.e: percent in 0%..2.5%\n";
    assert_eq!(
        canonical(src),
        "policy p\nfact a.b: int in 0..100\nfact a.c: float in -1..\nfact a.d: duration in ..5m\nfact a.e: percent in 0%..2.5%\n"
    );
}
