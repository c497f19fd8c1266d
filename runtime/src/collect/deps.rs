//! The feature dependency graph: cycles, and the critical path (the longest chain of
//! unfinished features, each waiting on the one before it).

use std::collections::{BTreeMap, BTreeSet};

/// A feature's rung and what it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub stage: Option<u32>,
    pub depends_on: Vec<String>,
}

/// Every dependency cycle once, each starting at its alphabetically first feature and
/// closing on it (`[a, b, a]`), sorted.
pub fn cycles(graph: &BTreeMap<String, Node>) -> Vec<Vec<String>> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn walk(
    graph: &BTreeMap<String, Node>,
    start: &str,
    path: &mut Vec<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let Some(current) = path.last().and_then(|c| graph.get(c)) else {
        return;
    };
    for dep in &current.depends_on {
        if dep == start {
            // Only record the rotation that starts at the smallest name: each cycle once.
            if path.iter().all(|p| p.as_str() >= start) {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                found.insert(cycle);
            }
        } else if !path.contains(dep) && graph.contains_key(dep) {
            path.push(dep.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}

/// The longest chain of features below `top` where each depends on the next, listed from
/// the first to finish (the deepest dependency) to the last; features on a cycle are left out
/// (a cycle has no order to finish in). Ties go to the alphabetically first chain.
pub fn critical_path(graph: &BTreeMap<String, Node>, top: u32) -> Vec<String> {
    let on_cycle: BTreeSet<String> = cycles(graph).into_iter().flatten().collect();
    let unfinished = |name: &String| {
        !on_cycle.contains(name)
            && graph
                .get(name)
                .is_some_and(|n| n.stage.is_none_or(|s| s < top))
    };
    let mut memo: BTreeMap<&String, Vec<String>> = BTreeMap::new();
    let mut best: Vec<String> = Vec::new();
    for name in graph.keys().filter(|n| unfinished(n)) {
        let chain = longest(graph, name, &unfinished, &mut memo);
        if chain.len() > best.len() {
            best = chain;
        }
    }
    if best.len() < 2 { Vec::new() } else { best }
}

/// The longest unfinished chain ending at `name`, dependencies first.
fn longest<'g>(
    graph: &'g BTreeMap<String, Node>,
    name: &'g String,
    unfinished: &dyn Fn(&String) -> bool,
    memo: &mut BTreeMap<&'g String, Vec<String>>,
) -> Vec<String> {
    if let Some(chain) = memo.get(name) {
        return chain.clone();
    }
    let mut best: Vec<String> = Vec::new();
    if let Some(node) = graph.get(name) {
        for dep in node.depends_on.iter().filter(|d| unfinished(d)) {
            if let Some((key, _)) = graph.get_key_value(dep) {
                let chain = longest(graph, key, unfinished, memo);
                if chain.len() > best.len() {
                    best = chain;
                }
            }
        }
    }
    best.push(name.clone());
    memo.insert(name, best.clone());
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, u32, &[&str])]) -> BTreeMap<String, Node> {
        edges
            .iter()
            .map(|(name, stage, deps)| {
                let node = Node {
                    stage: Some(*stage),
                    depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
                };
                ((*name).to_owned(), node)
            })
            .collect()
    }

    #[test]
    fn cycles_are_found_once() {
        let g = graph(&[
            ("a", 0, &["b"]),
            ("b", 0, &["c"]),
            ("c", 0, &["a"]),
            ("d", 0, &["d"]),
            ("e", 0, &["a"]),
        ]);
        assert_eq!(cycles(&g), [vec!["a", "b", "c", "a"], vec!["d", "d"]]);
        assert!(cycles(&graph(&[("a", 0, &["b"]), ("b", 0, &[])])).is_empty());
    }

    #[test]
    fn the_critical_path_is_the_longest_unfinished_chain() {
        let g = graph(&[
            ("orders", 1, &["payments"]),
            ("payments", 2, &["ledger"]),
            ("ledger", 1, &[]),
            ("search", 1, &[]),
            ("done", 3, &[]),
            ("x", 0, &["y"]),
            ("y", 0, &["x"]),
        ]);
        assert_eq!(critical_path(&g, 3), ["ledger", "payments", "orders"]);
        assert!(critical_path(&graph(&[("a", 0, &[])]), 3).is_empty());
    }
}
