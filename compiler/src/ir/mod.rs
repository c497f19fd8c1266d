//! The IR: the compiler's output contract, read by the runtime's evaluator.
//!
//! Resolved, typed and flat: fact paths interned to [`Slot`]s, constants pooled, expressions in
//! one arena of [`Node`]s addressed by [`NodeId`], types pooled, source spans in a side table
//! indexed by node. One entry per gate, requirement, escalation and checklist item. The IR
//! serialises to JSON (for people) and to a compact binary form (for pipelines), carries
//! [`FORMAT_VERSION`], and has a stable sha256 [`Program::digest`].

mod codec;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use codec::{IrError, hex};

use crate::ast::{BinaryOp, QuantKind, ReqKind, Severity, UnaryOp};
use crate::typed::Builtin;
use crate::types::{Const, Type};

/// The version of the IR's shape. Readers refuse other versions.
pub const FORMAT_VERSION: u32 = 2;

/// A compiled policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub format_version: u32,
    /// The policy's name (`policy phase_v`).
    pub name: String,
    /// The ladder, lowest rung first; a rung value is an index into this list.
    pub rungs: Vec<Rung>,
    /// Every fact the program reads, once each. [`NodeKind::Slot`] indexes this list.
    pub slots: Vec<Slot>,
    /// Pooled constants; [`NodeKind::Const`] indexes this list.
    pub consts: Vec<Const>,
    /// Pooled types; [`Node::ty`] indexes this list.
    pub types: Vec<Type>,
    /// Every expression node of the program.
    pub nodes: Vec<Node>,
    /// Source span of each node, by node index.
    pub spans: Vec<SourceSpan>,
    /// Source file names, indexed by [`SourceSpan::file`].
    pub files: Vec<String>,
    pub rules: Vec<RuleFn>,
    pub checks: Vec<Check>,
    pub gates: Vec<Gate>,
    pub escalations: Vec<Escalation>,
    pub checklist: Vec<ChecklistItem>,
    /// The slots by path, made on first use: not part of the IR.
    #[serde(skip)]
    pub slot_paths: SlotPaths,
}

/// The index of each slot by its path, made from [`Program::slots`] the first time a path is
/// looked up (the slots do not change once a program is lowered), so finding a fact's slot
/// costs a hash, not a scan of every slot.
#[derive(Clone, Default)]
pub struct SlotPaths(OnceLock<FxHashMap<String, u32>>);

/// A cache of the slots, which compare themselves.
impl PartialEq for SlotPaths {
    fn eq(&self, _: &SlotPaths) -> bool {
        true
    }
}

impl std::fmt::Debug for SlotPaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotPaths")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    pub name: String,
    pub label: String,
}

/// A fact the program reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// The full dotted path (`tests.unit.failed`, `cloud.quota`, `pci.passed`).
    pub path: String,
    pub ty: Type,
    pub origin: SlotOrigin,
    /// The values a declared fact accepts (`fact team.coverage: int in 0..100`); a value read
    /// outside it makes the fact errored.
    pub range: Option<SlotRange>,
}

/// A declared fact's range, in the units of its runtime value (milliseconds for a duration, a
/// fraction for a percentage); an open end is `None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotRange {
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The range as the policy wrote it (`0..100`), for messages.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotOrigin {
    /// A built-in namespace, filled by a collector or a facts file.
    Builtin,
    /// A `fact` declaration: filled by a facts file.
    Declared,
    /// An output of the check with this index in [`Program::checks`].
    Check(u32),
}

/// Index of a node in [`Program::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u32);

/// A byte range of a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSpan {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

/// One expression node and the index of its type in [`Program::types`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub kind: NodeKind,
    pub ty: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A pooled constant.
    Const(u32),
    /// The value of a fact slot; missing, stale or errored facts make readers inconclusive.
    Slot(u32),
    /// A local: rule parameters are `0..params`, each quantifier adds the next index.
    Local(u32),
    /// The rung being evaluated.
    Target,
    /// Field `index` of a record (the index into the record type's fields).
    Field {
        base: NodeId,
        index: u32,
    },
    /// Field `index` of every record of a list.
    Project {
        base: NodeId,
        index: u32,
    },
    Unary {
        op: UnaryOp,
        operand: NodeId,
    },
    /// `and`/`or` (three-valued, short-circuit), comparisons, `in` and arithmetic; the
    /// operand types are the types of `lhs` and `rhs`.
    Binary {
        op: BinaryOp,
        lhs: NodeId,
        rhs: NodeId,
    },
    Call {
        builtin: Builtin,
        args: Vec<NodeId>,
    },
    /// A call of [`Program::rules`]`[rule]`.
    Rule {
        rule: u32,
        args: Vec<NodeId>,
    },
    List(Vec<NodeId>),
    Quant {
        kind: QuantKind,
        var: u32,
        over: NodeId,
        body: NodeId,
    },
    If {
        cond: NodeId,
        then: NodeId,
        otherwise: NodeId,
    },
    /// A string with interpolated values.
    Interp(Text),
}

/// Text with holes, filled when a message or value is rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub parts: Vec<TextPart>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TextPart {
    Text(String),
    Hole(NodeId),
}

/// A rule, kept as a function: its body reads locals `0..params`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleFn {
    pub name: String,
    pub params: u32,
    pub body: NodeId,
    pub span: SourceSpan,
}

/// A plugin check and its configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub plugin: String,
    pub config: Vec<(String, Const)>,
    /// Outputs policies read as `<check>.<output>`; each read output is also a [`Slot`].
    pub outputs: Vec<(String, Type)>,
    /// The slots of the facts its plugin is given, in the order its description lists them.
    pub reads: Vec<u32>,
    pub span: SourceSpan,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Index of the source rung.
    pub from: u32,
    /// Index of the target rung.
    pub to: u32,
    pub requirements: Vec<Requirement>,
    pub span: SourceSpan,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub kind: ReqKind,
    pub severity: Severity,
    pub name: String,
    /// A `bool` expression.
    pub expr: NodeId,
    pub span: SourceSpan,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub title: Text,
    /// A `bool` expression: the escalation fires when it is true.
    pub when: NodeId,
    pub severity: Severity,
    pub context: Text,
    pub impact: Text,
    pub options: Vec<EscalationOption>,
    /// 1-based index into `options`.
    pub recommend: u32,
    pub reason: Text,
    pub span: SourceSpan,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationOption {
    pub title: Text,
    pub tradeoff: Text,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub label: String,
    /// A `bool` expression.
    pub expr: NodeId,
    pub span: SourceSpan,
}

impl Program {
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }

    /// The type of a node.
    pub fn type_of(&self, id: NodeId) -> Option<&Type> {
        self.types.get(self.node(id)?.ty as usize)
    }

    pub fn span_of(&self, id: NodeId) -> Option<SourceSpan> {
        self.spans.get(id.0 as usize).copied()
    }

    /// The slot holding a fact path, if the program reads it.
    pub fn slot_index(&self, path: &str) -> Option<u32> {
        let paths = self.slot_paths.0.get_or_init(|| {
            self.slots
                .iter()
                .zip(0u32..)
                .map(|(slot, i)| (slot.path.clone(), i))
                .collect()
        });
        paths.get(path).copied()
    }
}
