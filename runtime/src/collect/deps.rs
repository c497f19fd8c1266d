//! The feature dependency graph: cycles, the critical path (the longest chain of unfinished
//! features, each waiting on the one before it), and what blocks each feature (dependencies
//! below the rung it wants). Pure functions over a map from feature name to [`Node`]; every
//! answer is sorted, so the same graph always gives the same report.

use std::collections::{BTreeMap, BTreeSet};

/// A feature's rung (an index into the ladder, `None` when unknown) and what it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub stage: Option<u32>,
    pub depends_on: Vec<String>,
}

/// Every dependency cycle once, each starting at its alphabetically first feature and
/// closing on it (`[a, b, a]`), sorted.
///
/// Only strongly connected components with a cycle are searched, so an acyclic graph costs
/// linear time however many paths it has.
pub fn cycles(graph: &BTreeMap<String, Node>) -> Vec<Vec<String>> {
    let component = components(graph);
    let mut size: BTreeMap<usize, usize> = BTreeMap::new();
    for c in component.values() {
        *size.entry(*c).or_default() += 1;
    }
    let mut found = BTreeSet::new();
    for (start, c) in &component {
        let cyclic = size.get(c).is_some_and(|n| *n > 1)
            || graph
                .get(*start)
                .is_some_and(|n| n.depends_on.iter().any(|d| d == *start));
        if cyclic {
            let mut path = vec![(*start).clone()];
            walk(graph, &component, start, &mut path, &mut found);
        }
    }
    found.into_iter().collect()
}

/// Extends `path` (which starts at `start`) along edges inside `start`'s component to names
/// after `start`, recording each way back to `start`: each cycle from its smallest name only.
fn walk(
    graph: &BTreeMap<String, Node>,
    component: &BTreeMap<&String, usize>,
    start: &String,
    path: &mut Vec<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let Some(current) = path.last().and_then(|c| graph.get(c)) else {
        return;
    };
    for dep in &current.depends_on {
        if dep == start {
            let mut cycle = path.clone();
            cycle.push(start.clone());
            found.insert(cycle);
        } else if dep > start && component.get(dep) == component.get(start) && !path.contains(dep) {
            path.push(dep.clone());
            walk(graph, component, start, path, found);
            path.pop();
        }
    }
}

/// Each feature's strongly connected component (Kosaraju, iterative: no recursion on deep
/// graphs). Dependencies that are not features of the graph are ignored.
fn components(graph: &BTreeMap<String, Node>) -> BTreeMap<&String, usize> {
    let names: Vec<&String> = graph.keys().collect();
    let index: BTreeMap<&String, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let edges: Vec<Vec<usize>> = graph
        .values()
        .map(|n| {
            n.depends_on
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    let mut reverse = vec![Vec::new(); names.len()];
    for (from, tos) in edges.iter().enumerate() {
        for &to in tos {
            reverse[to].push(from);
        }
    }
    // First pass: nodes in order of finishing.
    let mut seen = vec![false; names.len()];
    let mut order = Vec::with_capacity(names.len());
    for root in 0..names.len() {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, 0)];
        while let Some((node, next)) = stack.pop() {
            if let Some(&to) = edges[node].get(next) {
                stack.push((node, next + 1));
                if !seen[to] {
                    seen[to] = true;
                    stack.push((to, 0));
                }
            } else {
                order.push(node);
            }
        }
    }
    // Second pass: on the reversed graph, in reverse finishing order.
    let mut component = vec![usize::MAX; names.len()];
    for (c, &root) in order.iter().rev().enumerate() {
        if component[root] != usize::MAX {
            continue;
        }
        component[root] = c;
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            for &from in &reverse[node] {
                if component[from] == usize::MAX {
                    component[from] = c;
                    stack.push(from);
                }
            }
        }
    }
    names.into_iter().zip(component).collect()
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

/// Why a dependency holds a feature back.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holdup {
    /// The dependency is at this rung, below the one wanted.
    Behind(u32),
    /// The dependency's rung is not known.
    StageUnknown,
    /// The dependency is not a feature of the graph.
    NotAFeature,
}

/// A dependency that blocks a feature.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Blocker {
    pub dependency: String,
    pub holdup: Holdup,
}

/// What blocks `feature` from reaching rung `wants`: each dependency not already at or past
/// it, sorted by name. Unknown stages and unknown features block (fail closed).
pub fn blockers(graph: &BTreeMap<String, Node>, feature: &str, wants: u32) -> Vec<Blocker> {
    let Some(node) = graph.get(feature) else {
        return Vec::new();
    };
    let mut out: Vec<Blocker> = node
        .depends_on
        .iter()
        .filter_map(|dep| {
            let holdup = match graph.get(dep).map(|d| d.stage) {
                None => Holdup::NotAFeature,
                Some(None) => Holdup::StageUnknown,
                Some(Some(s)) if s < wants => Holdup::Behind(s),
                Some(Some(_)) => return None,
            };
            Some(Blocker {
                dependency: dep.clone(),
                holdup,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// For every feature below `top`, what blocks it from the rung after its own (rung 0 when its
/// stage is unknown); features with no blocker are left out.
pub fn blocked_by(graph: &BTreeMap<String, Node>, top: u32) -> BTreeMap<String, Vec<Blocker>> {
    graph
        .iter()
        .filter_map(|(name, node)| {
            let wants = node.stage.map_or(0, |s| s.saturating_add(1));
            if wants > top {
                return None;
            }
            let found = blockers(graph, name, wants);
            (!found.is_empty()).then(|| (name.clone(), found))
        })
        .collect()
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
