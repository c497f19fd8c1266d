#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use crate::diag::Code;
use crate::load::MemoryFs;
use crate::{Options, compile_with};

const PRELUDE: &str = "policy p\nladder { a \"A\"\n b \"B\"\n c \"C\" }\n";

/// The warnings (code, message) of a policy made of the prelude and `body`.
fn warnings(body: &str) -> Vec<(Code, String)> {
    let fs = MemoryFs::new().with("p.phasev", format!("{PRELUDE}{body}"));
    let c = compile_with(Path::new("p.phasev"), &fs, &Options::default());
    assert!(!c.diagnostics.has_errors(), "{:?}", c.diagnostics);
    c.diagnostics
        .sorted()
        .iter()
        .map(|d| (d.code(), d.message().to_owned()))
        .collect()
}

fn codes_of(body: &str) -> Vec<Code> {
    warnings(body).into_iter().map(|(c, _)| c).collect()
}

/// The warnings of one requirement in the gate into `b` (`c` is reached by an open gate).
fn requirement(expr: &str) -> Vec<Code> {
    codes_of(&format!(
        "gate a -> b {{ require \"r\": {expr} }}\ngate b -> c open"
    ))
}

#[test]
fn conflicting_comparisons_never_pass() {
    assert_eq!(
        requirement("metrics.latency_p95 > 5s and metrics.latency_p95 < 3000ms"),
        [Code::NeverPasses]
    );
    assert_eq!(
        requirement("tests.unit.failed > 5 and tests.unit.failed < 3"),
        [Code::NeverPasses]
    );
    assert_eq!(
        requirement("tests.unit.failed > 3 and tests.unit.failed < 4"),
        [Code::NeverPasses]
    );
    assert_eq!(requirement("len(k8s.pods) < 0"), [Code::NeverPasses]);
    assert_eq!(
        requirement("rollback.tested and not rollback.tested"),
        [Code::NeverPasses]
    );
    assert_eq!(requirement("false"), [Code::NeverPasses]);
}

#[test]
fn tautologies_never_fail() {
    assert_eq!(
        requirement("tests.unit.failed > 5 or tests.unit.failed <= 5"),
        [Code::AlwaysPasses]
    );
    assert_eq!(
        requirement("tests.unit.failed != 3 or tests.unit.failed != 4"),
        [Code::AlwaysPasses]
    );
    assert_eq!(
        requirement("metrics.error_rate < 1% or metrics.error_rate >= 0.5%"),
        [Code::AlwaysPasses]
    );
    assert_eq!(requirement("len(k8s.pods) >= 0"), [Code::AlwaysPasses]);
    assert_eq!(requirement("feature.stage <= c"), [Code::AlwaysPasses]);
}

#[test]
fn satisfiable_requirements_are_quiet() {
    assert!(requirement("tests.unit.failed >= 5 and tests.unit.failed <= 5").is_empty());
    assert!(requirement("metrics.error_rate < 0.1%").is_empty());
    assert!(requirement("cloud.quota.used < cloud.quota.limit * 90%").is_empty());
    assert!(requirement("tests.unit.failed > 3.5 and tests.unit.failed < 4.5").is_empty());
    assert!(
        requirement("all p in k8s.pods: p.ready and not p.ready").is_empty(),
        "quantifiers are opaque"
    );
}

#[test]
fn rules_are_expanded_in_place() {
    let found = codes_of(
        "rule low = tests.unit.failed < 3\ngate a -> b { require \"r\": low and tests.unit.failed > 5 }\n\
         gate b -> c open",
    );
    assert_eq!(found, [Code::NeverPasses]);
}

#[test]
fn unused_items_are_reported() {
    let found = warnings(
        "fact team.pci.passed: bool\nfact team.other: int\nrule spare = true\nrule helper = team.other > 1\n\
         rule only_in_spare = helper\ncheck pci = plugin \"pci\" {}\n\
         gate a -> b { require \"r\": team.pci.passed }\ngate b -> c open",
    );
    let codes: Vec<_> = found.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes,
        [
            Code::UnusedFact,
            Code::UnusedRule,
            Code::UnusedRule,
            Code::UnusedRule,
            Code::UnusedCheck
        ],
        "{found:?}"
    );
}

#[test]
fn gates_from_unreachable_rungs_are_reported() {
    assert_eq!(
        codes_of("gate b -> c { require \"r\": rollback.tested }"),
        [Code::UngatedRung, Code::UnreachableGate]
    );
    assert!(codes_of("gate a -> b { require \"r\": rollback.tested }\ngate b -> c { require \"s\": rollback.tested }").is_empty());
    // Skipping `b` leaves it reached by no gate.
    assert_eq!(
        codes_of("gate a -> c { require \"r\": rollback.tested }"),
        [Code::UngatedRung]
    );
}

#[test]
fn rungs_no_gate_leads_into_and_empty_gates_warn_but_open_gates_do_not() {
    let found = warnings("gate a -> b { require \"r\": rollback.tested }");
    assert_eq!(
        found,
        [(Code::UngatedRung, "no gate leads into rung `c`".to_owned())]
    );
    let found = warnings("gate a -> b {}\ngate b -> c open");
    assert_eq!(
        found,
        [(
            Code::EmptyGate,
            "gate `a -> b` has no requirements".to_owned()
        )]
    );
    assert!(
        warnings("gate a -> b { require \"r\": rollback.tested }\ngate b -> c open").is_empty()
    );
}

#[test]
fn the_brief_sketch_warns_about_what_it_does_not_use() {
    let fs = MemoryFs::new().with(
        "s.phasev",
        include_str!("../../../tests/corpus/valid/brief_sketch.phasev"),
    );
    let c = compile_with(Path::new("s.phasev"), &fs, &Options::default());
    let found: Vec<_> = c
        .diagnostics
        .sorted()
        .iter()
        .map(|d| d.message().to_owned())
        .collect();
    assert_eq!(
        found,
        [
            "no gate leads into rung `local_k8s`",
            "no gate leads into rung `cloud_prod`",
            "fact `team.pci.passed` is declared but never read",
            "rule `sdd_ready` is never used",
            "gate from `local_k8s` can never be used",
        ]
    );
}

#[test]
fn threads_sharing_the_analysis_warn_as_one_does() {
    // Enough requirements for several tasks, warnings scattered over them, and unused items.
    let mut body = String::from("rule spare = true\n");
    for gate in ["a -> b", "b -> c"] {
        body.push_str(&format!("gate {gate} {{\n"));
        for i in 0..700 {
            let expr = match i % 97 {
                0 => "tests.unit.failed > 5 and tests.unit.failed < 3",
                1 => "tests.unit.failed > 5 or tests.unit.failed <= 5",
                _ => "tests.unit.failed < 3",
            };
            body.push_str(&format!("  require \"r{i}\": {expr}\n"));
        }
        body.push_str("}\n");
    }
    let fs = MemoryFs::new().with("p.phasev", format!("{PRELUDE}{body}"));
    let c = compile_with(Path::new("p.phasev"), &fs, &Options::default());
    let program = c.typed.expect("the policy checks");
    let alone = crate::analyze::analyze(&program);
    let shared = crate::analyze::Shared::new(&program);
    let parts = std::thread::scope(|scope| {
        let other = scope.spawn(|| shared.work());
        let mut parts = shared.work();
        parts.extend(other.join().unwrap());
        parts
    });
    let together = shared.finish(parts);
    let messages = |d: crate::diag::Diagnostics| -> Vec<String> {
        d.iter().map(|d| d.message().to_owned()).collect()
    };
    let alone = messages(alone);
    assert_eq!(alone.len(), 2 * 16 + 1, "{alone:?}");
    assert_eq!(messages(together), alone);
    assert_eq!(messages(c.diagnostics), alone, "compile_with shares it too");
}
