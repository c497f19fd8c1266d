//! The evaluator and gate decisions over `tests/data/policies/mini.phasev` and small
//! expressions: three-valued logic, the verdict order, explanations, facts documents.

use std::path::Path;

use phasev_compiler::ir::Program;
use phasev_compiler::load::MemoryFs;
use phasev_compiler::{Options, compile_path, compile_with};
use phasev_runtime::decide::{Decision, Outcome, Verdict};
use phasev_runtime::eval::Evaluator;
use phasev_runtime::facts::{Document, FactRules, Facts, FactsError, apply_documents};

fn mini() -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policies/mini.phasev");
    let compilation = compile_path(&path, &Options::default());
    match compilation.program {
        Some(p) => p,
        None => unreachable!("mini.phasev compiles: {:?}", compilation.diagnostics),
    }
}

/// A policy with one gate `a -> b` whose single requirement is `expr`, over a few facts.
fn one_requirement(expr: &str) -> Program {
    let source = format!(
        "policy t\nladder {{ a b }}\nfact x.p: bool\nfact x.q: bool\nfact x.n: int\n\
         fact x.l: list<int>\nfact x.d: duration\n\
         gate a -> b {{\n  require \"r\": {expr}\n}}\n"
    );
    let fs = MemoryFs::new().with("t.phasev", source.as_str());
    let compilation = compile_with(Path::new("t.phasev"), &fs, &Options::default());
    match compilation.program {
        Some(p) => p,
        None => unreachable!("{expr} compiles: {:?}", compilation.diagnostics),
    }
}

fn facts(program: &Program, json: &str, feature: &str) -> Result<Facts, FactsError> {
    let doc = Document::parse(program, Path::new("facts.json"), json, false)?;
    let mut facts = Facts::missing(program);
    apply_documents(program, &[doc], feature, &FactRules::none(), &mut facts);
    Ok(facts)
}

/// The full decision; checks on the way that the explanation-free verdict agrees with it.
fn decide(program: &Program, json: &str, to: u32) -> Decision {
    let f = match facts(program, json, "f") {
        Ok(f) => f,
        Err(e) => unreachable!("facts load: {e}"),
    };
    let evaluator = Evaluator::new(program);
    let decision = evaluator.decide("f", &f, to);
    let gates = program.gates.iter().filter(|g| g.to <= to);
    assert_eq!(
        evaluator.verdict_of(gates, true, &f, to),
        decision.verdict,
        "{json}"
    );
    decision
}

fn outcome(expr: &str, json: &str) -> (Outcome, Vec<String>) {
    let program = one_requirement(expr);
    let d = decide(&program, json, 1);
    let r = &d.requirements[0];
    (
        r.outcome,
        [r.why.clone(), r.undecided_because.clone()].concat(),
    )
}

#[test]
fn and_or_short_circuit_over_unknowns() {
    assert_eq!(
        outcome("x.p and x.q", r#"{"x": {"p": false}}"#).0,
        Outcome::Fail
    );
    assert_eq!(
        outcome("x.q and x.p", r#"{"x": {"p": false}}"#).0,
        Outcome::Fail
    );
    assert_eq!(
        outcome("x.p or x.q", r#"{"x": {"p": true}}"#).0,
        Outcome::Pass
    );
    assert_eq!(
        outcome("x.q or x.p", r#"{"x": {"p": true}}"#).0,
        Outcome::Pass
    );
    let (o, why) = outcome("x.p and x.q", r#"{"x": {"p": true}}"#);
    assert_eq!(o, Outcome::Inconclusive);
    assert_eq!(why, ["x.q is missing"]);
    assert_eq!(outcome("not x.q", "{}").0, Outcome::Inconclusive);
}

#[test]
fn missing_facts_never_pass() {
    for expr in [
        "x.n == 0",
        "x.n != 0",
        "not (x.n > 3)",
        "len(x.l) == 0",
        "x.p == x.p",
    ] {
        assert_eq!(outcome(expr, "{}").0, Outcome::Inconclusive, "{expr}");
    }
    // `exists` is the one reader that is never inconclusive.
    assert_eq!(outcome("not exists(x.n)", "{}").0, Outcome::Pass);
}

#[test]
fn quantifiers_and_aggregates() {
    let l = |items: &str| format!(r#"{{"x": {{"l": {items}}}}}"#);
    assert_eq!(outcome("all v in x.l: v > 0", &l("[]")).0, Outcome::Pass);
    assert_eq!(
        outcome("any v in x.l: v > 2", &l("[1, 3]")).0,
        Outcome::Pass
    );
    assert_eq!(
        outcome("none v in x.l: v > 2", &l("[1, 3]")).0,
        Outcome::Fail
    );
    assert_eq!(
        outcome("(count v in x.l: v > 0) == 2", &l("[1, 3, -1]")).0,
        Outcome::Pass
    );
    assert_eq!(
        outcome("sum(x.l) == 3 and max(x.l) == 3", &l("[1, 3, -1]")).0,
        Outcome::Pass
    );
    let (o, why) = outcome("min(x.l) > 0", &l("[]"));
    assert_eq!(o, Outcome::Inconclusive);
    assert_eq!(why, ["`min` of an empty list"]);
    assert_eq!(outcome("3 in x.l", &l("[1, 3]")).0, Outcome::Pass);
}

#[test]
fn arithmetic_and_limits() {
    assert_eq!(
        outcome("x.d * 50% == 1s", r#"{"x": {"d": "2s"}}"#).0,
        Outcome::Pass
    );
    assert_eq!(
        outcome("x.d == 1500ms", r#"{"x": {"d": 1500}}"#).0,
        Outcome::Pass
    );
    assert_eq!(
        outcome("x.d == 1.5s", r#"{"x": {"d": 1500}}"#).0,
        Outcome::Pass
    );
    let (o, why) = outcome("x.n / 0 > 1", r#"{"x": {"n": 3}}"#);
    assert_eq!(
        (o, why),
        (Outcome::Inconclusive, vec!["division by zero".to_owned()])
    );
    let (o, why) = outcome("x.n * x.n > 0", r#"{"x": {"n": 9223372036854775807}}"#);
    assert_eq!(
        (o, why),
        (Outcome::Inconclusive, vec!["integer overflow".to_owned()])
    );
}

#[test]
fn failures_say_what_would_have_passed() {
    let program = mini();
    let d = decide(
        &program,
        r#"{"svc": {"ok": true, "errors": 0, "latency": "312ms", "budget": "250ms",
             "quota": "10%", "pods": [{"name": "a", "ready": true}, {"name": "b", "ready": false}]}}"#,
        2,
    );
    let latency = d
        .requirements
        .iter()
        .find(|r| r.name == "latency within budget");
    assert_eq!(
        latency.map(|r| r.why.clone()),
        Some(vec![
            "svc.latency is 312ms, needs <= svc.budget (250ms)".to_owned()
        ])
    );
    let pods = d.requirements.iter().find(|r| r.name == "pods ready");
    assert_eq!(pods.map(|r| r.outcome), Some(Outcome::Fail));
    assert_eq!(d.verdict, Verdict::Fail);
    let reads: Vec<(&str, &str)> = latency
        .map(|r| {
            r.reads
                .iter()
                .map(|x| (x.path.as_str(), x.value.as_str()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(reads, [("svc.latency", "312ms"), ("svc.budget", "250ms")]);
}

#[test]
fn verdicts_follow_the_order_fail_inconclusive_escalate_warn_pass() {
    let program = mini();
    let base = r#""ok": true, "errors": 0, "latency": "200ms", "budget": "250ms",
                  "pods": [{"name": "a", "ready": true}]"#;
    let with = |extra: &str| format!(r#"{{"svc": {{{base}{extra}}}}}"#);
    assert_eq!(
        decide(&program, &with(r#", "quota": "10%""#), 2).verdict,
        Verdict::Pass
    );
    assert_eq!(
        decide(&program, &with(r#", "quota": "95%""#), 2).verdict,
        Verdict::Escalate
    );
    // An escalation that cannot be decided does not fire; it says what it lacked.
    let undecided = decide(&program, &with(""), 2);
    assert_eq!(undecided.verdict, Verdict::Pass);
    assert_eq!(undecided.escalations[0].fired, None);
    assert_eq!(
        undecided.escalations[0].undecided_because,
        ["svc.quota is missing"]
    );
    let warn = with(r#", "quota": "10%", "errors": 7"#).replace(r#""errors": 0, "#, "");
    assert_eq!(decide(&program, &warn, 2).verdict, Verdict::Warn);
    let fail_and_unknown = r#"{"svc": {"ok": false, "quota": "95%"}}"#;
    assert_eq!(decide(&program, fail_and_unknown, 2).verdict, Verdict::Fail);
    let unknown_and_escalate = r#"{"svc": {"ok": true, "errors": 0, "quota": "95%"}}"#;
    assert_eq!(
        decide(&program, unknown_and_escalate, 2).verdict,
        Verdict::Inconclusive
    );
}

#[test]
fn gates_are_monotonic() {
    let program = mini();
    let d = decide(&program, r#"{"svc": {"ok": false}}"#, 2);
    let gates: Vec<&str> = d.requirements.iter().map(|r| r.gate.as_str()).collect();
    assert_eq!(
        gates,
        [
            "dev -> staging",
            "dev -> staging",
            "staging -> prod",
            "staging -> prod"
        ]
    );
    assert_eq!(
        decide(&program, r#"{"svc": {"ok": false}}"#, 1)
            .requirements
            .len(),
        2
    );
}

#[test]
fn escalations_are_rendered_from_facts() {
    let program = mini();
    let d = decide(&program, r#"{"svc": {"quota": "95%"}}"#, 1);
    let esc = &d.escalations[0];
    assert_eq!(esc.fired, Some(true));
    assert_eq!(esc.context, "quota at 95%");
    assert_eq!(esc.options.len(), 2);
}

#[test]
fn features_override_shared_facts() {
    let program = mini();
    let json = r#"{"svc": {"ok": false},
                   "features": {"f": {"svc": {"ok": true}}, "g": {}}}"#;
    let ok = |feature| {
        let f = facts(&program, json, feature).ok()?;
        let slot = program.slot_index("svc.ok")?;
        f.get(slot).value.clone().ok()
    };
    use phasev_runtime::value::Value;
    assert_eq!(ok("f"), Some(Value::Bool(true)));
    assert_eq!(ok("g"), Some(Value::Bool(false)));
}

#[test]
fn facts_of_the_wrong_type_name_the_file_the_path_and_the_type() {
    let program = mini();
    let err = |json: &str| facts(&program, json, "f").err().map(|e| e.to_string());
    assert_eq!(
        err(r#"{"svc": {"latency": "fast"}}"#).as_deref(),
        Some("facts file facts.json: `svc.latency` must be a duration, found a string `\"fast\"`")
    );
    assert_eq!(
        err(r#"{"svc": {"pods": [{"name": "a", "ready": true}, {"name": "b", "ready": "yes"}]}}"#)
            .as_deref(),
        Some(
            "facts file facts.json: `svc.pods[1].ready` must be a bool (`true` or `false`), \
             found a string `\"yes\"`"
        )
    );
    assert_eq!(
        err(r#"{"svc": {"errors": 1.5}}"#).as_deref(),
        Some("facts file facts.json: `svc.errors` must be an integer, found a number `1.5`")
    );
    assert!(err("[1, 2]").is_some_and(|e| e.contains("top level must be a table")));
    assert!(err(r#"{"features": 3}"#).is_some_and(|e| e.contains("`features` must be a table")));
}

#[test]
fn toml_documents_read_like_json() {
    let program = mini();
    let toml = "[svc]\nok = true\nlatency = \"312ms\"\nquota = 0.95\n";
    let doc = Document::parse(&program, Path::new("facts.toml"), toml, true);
    let mut facts = Facts::missing(&program);
    let applied = doc.map(|d| apply_documents(&program, &[d], "f", &FactRules::none(), &mut facts));
    assert!(applied.is_ok());
    let d = Evaluator::new(&program).decide("f", &facts, 1);
    assert_eq!(d.escalations[0].fired, Some(true));
    assert_eq!(d.requirements[0].outcome, Outcome::Pass);
}

#[test]
fn decisions_are_deterministic() {
    let program = mini();
    let json = r#"{"svc": {"ok": true, "latency": "1s", "budget": "2s", "quota": "50%"}}"#;
    assert_eq!(decide(&program, json, 2), decide(&program, json, 2));
}

#[test]
fn deployment_reports_say_what_failed_and_how_to_fix_it() {
    let program = mini();
    let json = r#"{"svc": {"ok": false, "errors": 9, "quota": "10%"}}"#;
    let Ok(f) = facts(&program, json, "f") else {
        unreachable!("the facts load")
    };
    let decision = Evaluator::new(&program).decide("f", &f, 1);
    let text = phasev_runtime::report::deployment(&program, &f, &decision, 1, "2026-11-25");
    for line in [
        "## Deployment Report — f — 2026-11-25",
        "Environment: Staging",
        "Result: FAILURE",
        "- service ok — Root Cause: svc.ok is false — Remediation: make svc.ok true",
        "- few errors — Root Cause: svc.errors is 9, needs < 5 — Remediation: bring svc.errors to < 5",
        "### Rollback Status: pending",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}
