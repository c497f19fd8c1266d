//! The dependency graph's cycles, critical path and blockers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use phasev_runtime::collect::deps::{
    Blocker, Holdup, Node, blocked_by, blockers, critical_path, cycles,
};

// Rungs of the standard ladder.
const COMPOSE: u32 = 0;
const K8S: u32 = 1;
const STAGING: u32 = 2;
const PROD: u32 = 3;

fn graph(nodes: &[(&str, Option<u32>, &[&str])]) -> BTreeMap<String, Node> {
    nodes
        .iter()
        .map(|(name, stage, deps)| {
            let node = Node {
                stage: *stage,
                depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            };
            ((*name).to_owned(), node)
        })
        .collect()
}

fn blocker(dependency: &str, holdup: Holdup) -> Blocker {
    Blocker {
        dependency: dependency.to_owned(),
        holdup,
    }
}

/// The reference's example: orders waits on payments, whose topics are not ready.
fn shop() -> BTreeMap<String, Node> {
    graph(&[
        ("orders", Some(K8S), &["payments", "inventory"]),
        ("payments", Some(K8S), &["ledger"]),
        ("inventory", Some(STAGING), &[]),
        ("ledger", Some(COMPOSE), &[]),
        ("notifications", Some(K8S), &["orders", "templates"]),
        ("search", None, &[]),
        ("released", Some(PROD), &["inventory"]),
    ])
}

#[test]
fn blockers_are_the_dependencies_below_the_wanted_rung() {
    let g = shop();
    assert_eq!(
        blockers(&g, "orders", STAGING),
        [blocker("payments", Holdup::Behind(K8S))]
    );
    assert_eq!(blockers(&g, "orders", K8S), []);
    assert_eq!(
        blockers(&g, "notifications", STAGING),
        [
            blocker("orders", Holdup::Behind(K8S)),
            blocker("templates", Holdup::NotAFeature),
        ]
    );
    assert_eq!(blockers(&g, "no-such-feature", STAGING), []);
}

#[test]
fn every_feature_wants_its_next_rung() {
    let g = graph(&[
        ("a", Some(K8S), &["b", "c", "d"]),
        ("b", Some(STAGING), &[]),
        ("c", None, &[]),
        ("d", Some(K8S), &[]),
        ("e", None, &["c"]),
        ("top", Some(PROD), &["d"]),
    ]);
    let blocked = blocked_by(&g, PROD);
    let expected: BTreeMap<String, Vec<Blocker>> = [
        (
            "a".to_owned(),
            vec![
                blocker("c", Holdup::StageUnknown),
                blocker("d", Holdup::Behind(K8S)),
            ],
        ),
        // With no stage of its own, `e` wants the first rung, which `c` has not reached.
        ("e".to_owned(), vec![blocker("c", Holdup::StageUnknown)]),
    ]
    .into_iter()
    .collect();
    assert_eq!(blocked, expected);
}

#[test]
fn the_critical_path_runs_from_the_deepest_dependency() {
    assert_eq!(
        critical_path(&shop(), PROD),
        ["ledger", "payments", "orders", "notifications"]
    );
    let done = graph(&[("a", Some(PROD), &["b"]), ("b", Some(PROD), &[])]);
    assert!(critical_path(&done, PROD).is_empty());
}

#[test]
fn each_cycle_is_named_once_in_order() {
    let g = graph(&[
        ("orders", Some(K8S), &["payments"]),
        ("payments", Some(K8S), &["refunds", "ledger"]),
        ("refunds", Some(K8S), &["orders"]),
        ("ledger", Some(K8S), &["payments"]),
        ("search", Some(K8S), &["search"]),
        ("ui", Some(K8S), &["orders"]),
    ]);
    assert_eq!(
        cycles(&g),
        [
            vec!["ledger", "payments", "ledger"],
            vec!["orders", "payments", "refunds", "orders"],
            vec!["search", "search"],
        ]
    );
    // Features on a cycle have no order to finish in: only `ui` is left, alone.
    assert!(critical_path(&g, PROD).is_empty());
    assert!(cycles(&shop()).is_empty());
}

#[test]
fn the_answers_do_not_depend_on_the_order_of_dependencies() {
    let a = graph(&[
        ("x", Some(0), &["y", "z"]),
        ("y", Some(0), &["x"]),
        ("z", Some(0), &["x"]),
    ]);
    let b = graph(&[
        ("x", Some(0), &["z", "y"]),
        ("y", Some(0), &["x"]),
        ("z", Some(0), &["x"]),
    ]);
    assert_eq!(cycles(&a), cycles(&b));
    assert_eq!(cycles(&a), [vec!["x", "y", "x"], vec!["x", "z", "x"]]);
    assert_eq!(blockers(&a, "x", 1), blockers(&b, "x", 1));
}

#[test]
fn a_wide_acyclic_graph_is_fast() {
    // 40 layers of 3 features, each depending on every feature of the layer below: 3^40
    // paths, no cycle. Walking every path would never finish.
    let mut g = BTreeMap::new();
    for layer in 0..40 {
        for i in 0..3 {
            let depends_on = if layer == 0 {
                Vec::new()
            } else {
                (0..3).map(|j| format!("f{:02}-{j}", layer - 1)).collect()
            };
            g.insert(
                format!("f{layer:02}-{i}"),
                Node {
                    stage: Some(0),
                    depends_on,
                },
            );
        }
    }
    let start = Instant::now();
    assert!(cycles(&g).is_empty());
    assert_eq!(critical_path(&g, PROD).len(), 40);
    assert!(start.elapsed() < Duration::from_secs(5));
}
