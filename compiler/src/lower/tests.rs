#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use crate::ir::NodeKind;
use crate::load::MemoryFs;
use crate::types::Const;
use crate::{Options, compile_with};

pub(crate) fn compile(text: &str) -> crate::ir::Program {
    let fs = MemoryFs::new().with("p.phasev", text);
    let c = compile_with(Path::new("p.phasev"), &fs, &Options::default());
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .map(|d| d.message().to_owned())
        .collect();
    c.program
        .unwrap_or_else(|| panic!("does not compile: {errors:?}"))
}

const POLICY: &str = r#"policy p
ladder { a "A"  b "B"  c "C" }
rule ok = tests.unit.failed == 0 and tests.unit.total > 0
gate a -> b {
  require "unit": ok
  require "again": tests.unit.failed == 0
  warn "latency": metrics.latency_p95 < 250ms
}
gate b -> c { require "pods": all p in k8s.pods: p.ready and p.restarts < 3 }
"#;

#[test]
fn facts_are_interned_and_constants_pooled() {
    let ir = compile(POLICY);
    let paths: Vec<_> = ir.slots.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "tests.unit.failed",
            "tests.unit.total",
            "metrics.latency_p95",
            "k8s.pods"
        ]
    );
    let zeros = ir.consts.iter().filter(|c| **c == Const::Int(0)).count();
    assert_eq!(zeros, 1, "{:?}", ir.consts);
    assert!(ir.consts.contains(&Const::Duration(250.0)));
    assert_eq!(ir.spans.len(), ir.nodes.len());
    assert!(ir.nodes.iter().all(|n| (n.ty as usize) < ir.types.len()));
}

#[test]
fn rules_stay_functions_and_fields_resolve_to_indices() {
    let ir = compile(POLICY);
    assert_eq!(ir.rules.len(), 1);
    let first = &ir.gates[0].requirements[0];
    assert!(matches!(
        ir.node(first.expr).unwrap().kind,
        NodeKind::Rule { rule: 0, .. }
    ));
    // `p.restarts` is field 2 of the pod record.
    assert!(
        ir.nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::Field { index: 2, .. }))
    );
}

#[test]
fn lowering_is_deterministic() {
    assert_eq!(compile(POLICY).digest(), compile(POLICY).digest());
}
