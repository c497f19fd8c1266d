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
        kind: ast::ExprKind::Binary(ast::BinaryOp::Or, lhs, _),
        ..
    }) = e
    else {
        unreachable!("or must be the root: {e:?}")
    };
    assert!(matches!(
        lhs.kind,
        ast::ExprKind::Binary(ast::BinaryOp::And, _, _)
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
