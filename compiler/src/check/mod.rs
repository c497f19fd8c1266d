//! [ast::Module] ─check→ [typed::Program]: resolves every name across all files, types every
//! expression against the fact schema, and reports every error it finds in one run.
//!
//! Declarations are collected first (ladder, facts, rules, checks), so order in the source does
//! not matter; rule bodies are then checked on demand, which also finds recursion between rules.

mod decls;
mod expr;
mod items;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use crate::ast::{self, Span};
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::typed::{self, FactId, FactOrigin, RuleId};
use crate::types::Type;

/// What the checker knows beyond the source: what plugins describe of themselves.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Plugin name → its description. A check of a plugin not described here has only the
    /// outputs every check has (`passed`, `findings`) and its configuration is not checked.
    pub plugins: BTreeMap<String, PluginSchema>,
    /// Whether `plugins` is every plugin a check may use, so a check of any other plugin (a
    /// misspelt name) is an error. phasev-eval knows that set (the plugins its project
    /// configures); `phasevc --plugin` is given only some descriptions, so it leaves this off.
    pub all_plugins: bool,
}

/// The part of a plugin's description the compiler checks a policy against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PluginSchema {
    /// Typed outputs, on top of the outputs every check has.
    pub outputs: Vec<(String, Type)>,
    /// Fact paths the plugin is given; each must be in the policy's schema.
    pub reads: Vec<String>,
    pub config: Vec<ConfigField>,
}

impl PluginSchema {
    /// A schema from a description's parts, types written in the policy language.
    pub fn from_parts<'t>(
        reads: Vec<String>,
        outputs: impl IntoIterator<Item = (&'t str, &'t str)>,
        config: impl IntoIterator<Item = (&'t str, &'t str, bool)>,
    ) -> Result<PluginSchema, String> {
        let ty = |what: &str, name: &str, text: &str| {
            Type::parse(text).map_err(|e| format!("{what} `{name}`: {e}"))
        };
        Ok(PluginSchema {
            outputs: outputs
                .into_iter()
                .map(|(name, text)| Ok((name.to_owned(), ty("output", name, text)?)))
                .collect::<Result<_, String>>()?,
            reads,
            config: config
                .into_iter()
                .map(|(name, text, required)| {
                    Ok(ConfigField {
                        name: name.to_owned(),
                        ty: ty("configuration key", name, text)?,
                        required,
                    })
                })
                .collect::<Result<_, String>>()?,
        })
    }

    /// A plugin's name and schema from its description as `phasev-eval plugin inspect
    /// --format json` prints it (the whole output, or its `description` object).
    pub fn from_json(text: &str) -> Result<(String, PluginSchema), String> {
        #[derive(serde::Deserialize)]
        struct Inspected {
            description: Described,
        }
        #[derive(serde::Deserialize)]
        struct Described {
            name: String,
            #[serde(default)]
            reads: Vec<String>,
            #[serde(default)]
            outputs: Vec<Field>,
            #[serde(default)]
            config: Vec<Field>,
        }
        #[derive(serde::Deserialize)]
        struct Field {
            name: String,
            #[serde(rename = "type")]
            ty: String,
            #[serde(default)]
            required: bool,
        }
        let d = serde_json::from_str::<Inspected>(text)
            .map(|i| i.description)
            .or_else(|_| serde_json::from_str::<Described>(text))
            .map_err(|e| format!("not a plugin description: {e}"))?;
        let schema = PluginSchema::from_parts(
            d.reads,
            d.outputs.iter().map(|o| (o.name.as_str(), o.ty.as_str())),
            d.config
                .iter()
                .map(|c| (c.name.as_str(), c.ty.as_str(), c.required)),
        )?;
        Ok((d.name, schema))
    }
}

/// One key of a plugin's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigField {
    pub name: String,
    pub ty: Type,
    pub required: bool,
}

/// Checks the modules of one policy (root first). Returns the typed program when there are
/// no errors; every problem found is pushed to `diags`.
pub fn check(
    modules: &[ast::Module],
    options: &Options,
    diags: &mut Diagnostics,
) -> Option<typed::Program> {
    let mut cx = Checker::new(options);
    cx.collect(modules);
    cx.check_plugin_reads();
    cx.check_rules();
    cx.check_items(modules);
    cx.check_uncalled_rules();
    let errors = cx.diags.has_errors();
    diags.extend(std::mem::take(&mut cx.diags));
    if errors || modules.is_empty() {
        return None;
    }
    Some(cx.finish())
}

/// A rule as declared, and how far its checking has got.
struct RuleSlot<'a> {
    decl: &'a ast::RuleDecl,
    /// Each parameter's type: declared, or taken from the first call (`None` until then).
    params: Vec<(String, Option<Type>)>,
    /// Whether some call of the rule was checked (so an untyped parameter that is still
    /// unknown had a call whose argument was in error, already reported).
    called: bool,
    state: RuleState,
}

impl RuleSlot<'_> {
    /// The parameters with their types, once every type is known.
    fn typed_params(&self) -> Option<Vec<(String, Type)>> {
        self.params
            .iter()
            .map(|(name, ty)| Some((name.clone(), ty.clone()?)))
            .collect()
    }
}

#[derive(Clone)]
enum RuleState {
    Unchecked,
    InProgress,
    /// Checked; `None` when its body had errors (already reported).
    Done(Option<Type>),
}

/// A check as declared, with its outputs.
struct CheckSlot {
    name: String,
    plugin: String,
    config: Vec<(String, crate::types::Const)>,
    outputs: Vec<(String, Type)>,
    /// The facts the plugin is given, once resolved.
    reads: Vec<FactId>,
    span: Span,
}

struct Checker<'a> {
    options: &'a Options,
    diags: Diagnostics,
    name: Option<String>,
    rungs: Vec<typed::Rung>,
    /// Built-in facts plus `fact` declarations.
    schema: Schema,
    declared: Vec<typed::DeclaredFact>,
    rules: Vec<RuleSlot<'a>>,
    rule_index: HashMap<String, RuleId>,
    typed_rules: Vec<Option<typed::Rule>>,
    checks: Vec<CheckSlot>,
    check_index: HashMap<String, usize>,
    facts: Vec<typed::Fact>,
    fact_index: HashMap<String, FactId>,
    /// The dotted form of the path being resolved, kept to spare an allocation per read.
    joined: String,
    gates: Vec<typed::Gate>,
    escalations: Vec<typed::Escalation>,
    checklist: Vec<typed::ChecklistItem>,
    /// The rules being checked, innermost last, to name a recursion cycle.
    rule_stack: Vec<RuleId>,
}

/// Local variables in scope: quantifier variables and rule parameters. A variable's
/// [`typed::LocalId`] is its position.
#[derive(Default)]
struct Scope {
    vars: Vec<(String, Type)>,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<(typed::LocalId, &Type)> {
        self.vars
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (n, _))| n == name)
            .map(|(i, (_, t))| (u32::try_from(i).unwrap_or(u32::MAX), t))
    }
}

impl<'a> Checker<'a> {
    fn new(options: &'a Options) -> Self {
        Checker {
            options,
            diags: Diagnostics::default(),
            name: None,
            rungs: Vec::new(),
            schema: Schema::builtin().clone(),
            declared: Vec::new(),
            rules: Vec::new(),
            rule_index: HashMap::default(),
            typed_rules: Vec::new(),
            checks: Vec::new(),
            check_index: HashMap::default(),
            facts: Vec::new(),
            fact_index: HashMap::default(),
            joined: String::new(),
            gates: Vec::new(),
            escalations: Vec::new(),
            checklist: Vec::new(),
            rule_stack: Vec::new(),
        }
    }

    fn rung(&self, name: &str) -> Option<typed::RungId> {
        self.rungs
            .iter()
            .position(|r| r.name == name)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The fact id of a schema path, interning it on first use.
    fn intern_fact(&mut self, path: &str, ty: &Type, origin: FactOrigin) -> FactId {
        if let Some(&id) = self.fact_index.get(path) {
            return id;
        }
        let id = self.facts.len();
        self.facts.push(typed::Fact {
            path: path.to_owned(),
            ty: ty.clone(),
            origin,
        });
        self.fact_index.insert(path.to_owned(), id);
        id
    }

    /// Interns a fact of the schema: built-in, or declared with `fact`.
    fn intern_schema_fact(&mut self, path: &str, ty: &Type) -> FactId {
        let origin = if Schema::builtin().contains(path) {
            FactOrigin::Builtin
        } else {
            FactOrigin::Declared
        };
        self.intern_fact(path, ty, origin)
    }

    fn finish(self) -> typed::Program {
        typed::Program {
            name: self.name.unwrap_or_default(),
            rungs: self.rungs,
            facts: self.facts,
            declared_facts: self.declared,
            rules: self.typed_rules.into_iter().flatten().collect(),
            checks: self
                .checks
                .into_iter()
                .map(|c| typed::Check {
                    name: c.name,
                    plugin: c.plugin,
                    config: c.config,
                    outputs: c.outputs,
                    reads: c.reads,
                    span: c.span,
                })
                .collect(),
            gates: self.gates,
            escalations: self.escalations,
            checklist: self.checklist,
        }
    }
}
