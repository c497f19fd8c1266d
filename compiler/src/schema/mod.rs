//! The fact schema: which paths exist and their types.
//!
//! The built-in namespaces are data, written in the policy language itself
//! (`schema/builtin.phasev`) and shared with the runtime through [`Schema::builtin`]. A program's
//! schema adds its `fact` declarations and the outputs of its plugin checks.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::ast::{FileId, ItemKind};
use crate::types::Type;

/// The text of the built-in schema.
pub const BUILTIN_SOURCE: &str = include_str!("builtin.phasev");

/// The prefix under which the last passing decision's facts are visible.
pub const BASELINE: &str = "baseline";

/// Outputs every plugin check has, whatever the plugin describes.
pub fn check_outputs() -> Vec<(String, Type)> {
    vec![
        ("passed".to_owned(), Type::Bool),
        (
            "findings".to_owned(),
            Type::List(Box::new(Type::Record(vec![
                ("status".to_owned(), Type::String),
                ("message".to_owned(), Type::String),
                ("severity".to_owned(), Type::String),
                ("location".to_owned(), Type::String),
            ]))),
        ),
    ]
}

/// A set of fact paths with their types.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    facts: BTreeMap<String, Type>,
}

static BUILTIN: LazyLock<Schema> = LazyLock::new(|| {
    let mut schema = Schema::default();
    // INVARIANT: builtin.phasev parses (a unit test holds this); on a broken build the
    // schema is empty and every fact is reported unknown rather than panicking.
    if let Ok(module) = crate::parser::parse(FileId(u32::MAX), BUILTIN_SOURCE) {
        for item in module.items {
            if let ItemKind::Fact(decl) = item.kind {
                let path = decl.path.to_string();
                let ty = Type::from_ast(&decl.ty);
                if !path.starts_with("feature.") {
                    schema
                        .facts
                        .insert(format!("{BASELINE}.{path}"), ty.clone());
                }
                schema.facts.insert(path, ty);
            }
        }
    }
    schema
});

impl Schema {
    /// The built-in namespaces, including `baseline.…`.
    pub fn builtin() -> &'static Schema {
        &BUILTIN
    }

    pub fn get(&self, path: &str) -> Option<&Type> {
        self.facts.get(path)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.facts.contains_key(path)
    }

    /// Every fact path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.facts.keys().map(String::as_str)
    }

    pub fn insert(&mut self, path: String, ty: Type) {
        self.facts.insert(path, ty);
    }

    /// A fact inside `path` (`path.…`), or one that `path` lies inside.
    pub fn overlapping(&self, path: &str) -> Option<(&str, &Type)> {
        let dotted = format!("{path}.");
        if let Some((p, t)) = self.facts.range(dotted.clone()..).next()
            && p.starts_with(&dotted)
        {
            return Some((p.as_str(), t));
        }
        path.match_indices('.').find_map(|(i, _)| {
            self.facts
                .get_key_value(&path[..i])
                .map(|(p, t)| (p.as_str(), t))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Type)> {
        self.facts.iter().map(|(p, t)| (p.as_str(), t))
    }

    /// Whether some fact lives below `prefix` (so `prefix` is a namespace).
    pub fn is_namespace(&self, prefix: &str) -> bool {
        let dotted = format!("{prefix}.");
        self.facts
            .range(dotted.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&dotted))
    }

    /// The longest prefix of `segments` that is a fact: its path, type and length.
    pub fn longest_prefix(&self, segments: &[&str]) -> Option<(String, &Type, usize)> {
        let mut path = segments.join(".");
        for n in (1..=segments.len()).rev() {
            if let Some(ty) = self.facts.get(&path) {
                return Some((path, ty, n));
            }
            path.truncate(path.len().saturating_sub(segments[n - 1].len() + 1));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schema_parses_and_has_the_brief_paths() {
        assert!(crate::parser::parse(FileId(0), BUILTIN_SOURCE).is_ok());
        let s = Schema::builtin();
        for path in [
            "feature.depends_on",
            "tests.e2e.failed",
            "k8s.pods",
            "cloud.quota",
            "baseline.metrics.latency_p95",
            "change.contract_altering",
        ] {
            assert!(s.contains(path), "{path}");
        }
        assert!(!s.contains("baseline.feature.name"));
        assert!(s.is_namespace("tests.unit"));
        assert!(!s.is_namespace("tests.unit.failed"));
    }
}
