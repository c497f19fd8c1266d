use super::*;

fn parse_ok(text: &str) -> ast::Module {
    match parse(FileId(0), text) {
        Ok(m) => m,
        Err(d) => {
            let msgs: Vec<_> = d.iter().map(|d| d.message().to_owned()).collect();
            unreachable!("parse failed: {msgs:?}")
        }
    }
}

#[test]
fn parses_the_brief_sketch() {
    let m = parse_ok(include_str!(
        "../../../tests/corpus/valid/brief_sketch.phasev"
    ));
    assert_eq!(m.items.len(), 7);
}

#[test]
fn precedence_of_and_or_not() {
    let e = parse_expr(FileId(0), "not a and b or c").ok();
    let Some(ast::Expr {
        kind: ast::ExprKind::Binary(ast::BinaryOp::Or, operands),
        ..
    }) = e
    else {
        unreachable!("or must be the root: {e:?}")
    };
    assert!(matches!(
        operands[0].kind,
        ast::ExprKind::Binary(ast::BinaryOp::And, _)
    ));
}

#[test]
fn keywords_need_a_word_boundary() {
    assert!(parse_expr(FileId(0), "order and notes").is_ok());
    assert!(parse_expr(FileId(0), "android").is_ok());
}

#[test]
fn literals_are_range_checked() {
    assert!(parse_expr(FileId(0), "2026-02-30").is_err());
    assert!(parse_expr(FileId(0), "99999999999999999999").is_err());
    assert!(parse_expr(FileId(0), "2024-02-29").is_ok());
}

#[test]
fn strings_split_into_text_and_holes() {
    let Ok(ast::Expr {
        kind: ast::ExprKind::Str(s),
        ..
    }) = parse_expr(FileId(0), r#""{cloud.quota.name} at \{x\} {target}""#)
    else {
        unreachable!()
    };
    assert_eq!(s.parts.len(), 3);
    assert_eq!(s.display(), "{cloud.quota.name} at {x} {target}");
}

#[test]
fn reserved_words_cannot_name_things() {
    let err = parse(FileId(0), "rule and = true").err();
    let msg = err.and_then(|d| d.iter().next().map(|d| d.message().to_owned()));
    assert_eq!(
        msg.as_deref(),
        Some("`and` is a reserved word and cannot be used as a name")
    );
    assert!(parse_expr(FileId(0), "deps.count > 0 and x.in").is_ok());
    assert!(parse_expr(FileId(0), "a and and b").is_err());
}

#[test]
fn only_functions_can_be_called() {
    assert!(parse_expr(FileId(0), "len(x.y)").is_ok());
    let err = parse_expr(FileId(0), "x.y(1)").err();
    let msg = err.and_then(|d| d.iter().next().map(|d| d.message().to_owned()));
    assert_eq!(msg.as_deref(), Some("only a function can be called"));
}

fn first_message(text: &str) -> Option<String> {
    let err = parse(FileId(0), text).err()?;
    err.iter().next().map(|d| d.message().to_owned())
}

/// Each of these once overflowed the stack (pest recursion, or the passes after it); all must
/// come back as diagnostics, here on a test thread's small stack.
#[test]
fn deep_nesting_is_refused_not_fatal() {
    let gate =
        |body: String| format!("ladder {{ a b }}\ngate a -> b {{\n  require \"r\": {body}\n}}\n");
    let cases = [
        gate(format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000))),
        gate(format!("{}x{}", "f(".repeat(50_000), ")".repeat(50_000))),
        gate(format!("{}x", "if a then b else ".repeat(20_000))),
        gate(format!("{}x", "all v in xs: ".repeat(20_000))),
        gate(format!("{}x", "if a then b else ".repeat(70_000))),
        gate(format!("{}x", "not ".repeat(100_000))),
        format!(
            "fact a.b: {}int{}\n",
            "list<".repeat(20_000),
            ">".repeat(20_000)
        ),
    ];
    for text in &cases {
        let msg = first_message(text).unwrap_or_default();
        assert!(msg.contains("too complex"), "{msg}");
    }
}

#[test]
fn large_files_parse_in_regions_exactly_as_in_one_piece() {
    let mut text = String::from("policy big\nladder { a b c }\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "rule r{i} = x{i}.y > {i} and \"s{{x{i}.z}}\" == \"t\" // {i}\n"
        ));
        if i % 500 == 0 {
            text.push_str("gate a -> b {\n  require \"q\": all v in w: v.ok\n}\n");
        }
    }
    assert!(text.len() > 2 * REGION_BYTES);
    let in_regions = parse(FileId(0), &text).map(|m| format!("{m:?}"));
    let whole =
        parse_region(FileId(0), &text, 0, text.len()).map(|(items, _)| format!("{items:?}"));
    let (Ok(in_regions), Ok(whole)) = (in_regions, whole) else {
        unreachable!("the generated policy parses")
    };
    assert!(in_regions.contains(&whole[1..whole.len() - 1]));

    // A syntax error late in the file is reported where it is, by the one-piece parse.
    let at = text.rfind("rule r2999").unwrap_or_default();
    text.insert_str(at, ") ");
    let err = parse(FileId(0), &text).err();
    let span = err.and_then(|d| d.iter().next().map(Diagnostic::span));
    assert_eq!(span.map(|s| s.start as usize), Some(at));

    // Nesting refused at the end, after the first regions have started parsing.
    text.replace_range(at..at + 2, "");
    text.push_str(&format!("rule deep = {}x", "(".repeat(300)));
    let msg = first_message(&text).unwrap_or_default();
    assert!(msg.contains("too complex"), "{msg}");
}
