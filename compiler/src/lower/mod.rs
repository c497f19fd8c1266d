//! typed::Program ─lower→ ir::Program: flattens expressions into one node arena, pools
//! constants and types, interns facts to slots and moves spans into a side table.

#[cfg(test)]
pub(crate) mod tests;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap as HashMap, FxHasher};
use smallvec::SmallVec;

use crate::ast::Span;
use crate::ir::{self, Node, NodeId, NodeKind, SlotOrigin, SourceSpan};
use crate::source::SourceMap;
use crate::typed::{self, ExprKind, FactOrigin};
use crate::types::{Const, Type};

/// Lowers a checked program. Pure and deterministic: the same input gives the same IR.
pub fn lower(program: &typed::Program, sources: &SourceMap) -> ir::Program {
    // One node per typed expression: counting them first spares growing two large vectors.
    let mut nodes = 0;
    program.walk_exprs(&mut |_| nodes += 1);
    let mut cx = Lowerer {
        program: ir::Program {
            format_version: ir::FORMAT_VERSION,
            name: program.name.clone(),
            rungs: program
                .rungs
                .iter()
                .map(|r| ir::Rung {
                    name: r.name.clone(),
                    label: r.label.clone(),
                })
                .collect(),
            // INVARIANT: fact ids and slot indices coincide.
            slots: program
                .facts
                .iter()
                .map(|f| ir::Slot {
                    path: f.path.clone(),
                    ty: f.ty.clone(),
                    origin: match f.origin {
                        FactOrigin::Builtin => SlotOrigin::Builtin,
                        FactOrigin::Declared => SlotOrigin::Declared,
                        FactOrigin::Check(c) => SlotOrigin::Check(index(c)),
                    },
                    range: match f.origin {
                        FactOrigin::Declared => program
                            .declared_facts
                            .iter()
                            .find(|d| d.path == f.path)
                            .and_then(|d| d.range.clone()),
                        FactOrigin::Builtin | FactOrigin::Check(_) => None,
                    },
                })
                .collect(),
            consts: Vec::new(),
            types: Vec::new(),
            nodes: Vec::with_capacity(nodes),
            spans: Vec::with_capacity(nodes),
            files: sources.files().map(|(_, f)| f.name.clone()).collect(),
            rules: Vec::new(),
            checks: Vec::new(),
            gates: Vec::new(),
            escalations: Vec::new(),
            checklist: Vec::new(),
            slot_paths: ir::SlotPaths::default(),
        },
        consts: HashMap::default(),
        types: HashMap::default(),
        scalar_types: [None; 8],
    };
    for rule in &program.rules {
        let body = cx.expr(&rule.body);
        cx.program.rules.push(ir::RuleFn {
            name: rule.name.clone(),
            params: index(rule.params.len()),
            body,
            span: source_span(rule.span),
        });
    }
    for check in &program.checks {
        cx.program.checks.push(ir::Check {
            name: check.name.clone(),
            plugin: check.plugin.clone(),
            config: check.config.clone(),
            outputs: check.outputs.clone(),
            reads: check.reads.iter().map(|&f| index(f)).collect(),
            span: source_span(check.span),
        });
    }
    for gate in &program.gates {
        let requirements = gate
            .requirements
            .iter()
            .map(|r| ir::Requirement {
                kind: r.kind,
                severity: r.severity,
                name: r.name.clone(),
                expr: cx.expr(&r.expr),
                span: source_span(r.span),
            })
            .collect();
        cx.program.gates.push(ir::Gate {
            from: gate.from,
            to: gate.to,
            requirements,
            span: source_span(gate.span),
        });
    }
    for esc in &program.escalations {
        let escalation = ir::Escalation {
            title: cx.text(&esc.title),
            when: cx.expr(&esc.when),
            severity: esc.severity,
            context: cx.text(&esc.context),
            impact: cx.text(&esc.impact),
            options: esc
                .options
                .iter()
                .map(|o| ir::EscalationOption {
                    title: cx.text(&o.title),
                    tradeoff: cx.text(&o.tradeoff),
                })
                .collect(),
            recommend: esc.recommend.option,
            reason: cx.text(&esc.recommend.reason),
            span: source_span(esc.span),
        };
        cx.program.escalations.push(escalation);
    }
    for item in &program.checklist {
        let expr = cx.expr(&item.expr);
        cx.program.checklist.push(ir::ChecklistItem {
            label: item.label.clone(),
            expr,
            span: source_span(item.span),
        });
    }
    cx.program
}

struct Lowerer {
    program: ir::Program,
    /// The pool indices of the constants with each [`const_hash`]: most hashes have one.
    consts: HashMap<u64, SmallVec<[u32; 1]>>,
    /// Lists and records → pool index.
    types: HashMap<Type, u32>,
    /// Scalar types → pool index, by [`scalar_index`]: every node has a type, most a scalar
    /// one, and this spares hashing it.
    scalar_types: [Option<u32>; 8],
}

impl Lowerer {
    fn expr(&mut self, e: &typed::Expr) -> NodeId {
        let kind = match &e.kind {
            ExprKind::Const(c) => NodeKind::Const(self.constant(c)),
            ExprKind::Fact(id) => NodeKind::Slot(index(*id)),
            ExprKind::Local(id) => NodeKind::Local(*id),
            ExprKind::Target => NodeKind::Target,
            ExprKind::Field(base, name) => NodeKind::Field {
                index: field_index(&base.ty, name),
                base: self.expr(base),
            },
            ExprKind::Project(base, name) => {
                let elem = match &base.ty {
                    Type::List(elem) => elem.as_ref(),
                    other => other,
                };
                NodeKind::Project {
                    index: field_index(elem, name),
                    base: self.expr(base),
                }
            }
            ExprKind::Unary(op, operand) => NodeKind::Unary {
                op: *op,
                operand: self.expr(operand),
            },
            ExprKind::Binary(op, operands) => NodeKind::Binary {
                op: *op,
                lhs: self.expr(&operands[0]),
                rhs: self.expr(&operands[1]),
            },
            ExprKind::Call(builtin, args) => NodeKind::Call {
                builtin: *builtin,
                args: args.iter().map(|a| self.expr(a)).collect(),
            },
            ExprKind::Rule(rule, args) => NodeKind::Rule {
                rule: index(*rule),
                args: args.iter().map(|a| self.expr(a)).collect(),
            },
            ExprKind::List(items) => NodeKind::List(items.iter().map(|i| self.expr(i)).collect()),
            ExprKind::Quant {
                kind,
                var,
                over,
                body,
            } => NodeKind::Quant {
                kind: *kind,
                var: *var,
                over: self.expr(over),
                body: self.expr(body),
            },
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => NodeKind::If {
                cond: self.expr(cond),
                then: self.expr(then),
                otherwise: self.expr(otherwise),
            },
            ExprKind::Interp(text) => NodeKind::Interp(self.text(text)),
        };
        self.push(kind, &e.ty, e.span)
    }

    fn text(&mut self, text: &typed::Text) -> ir::Text {
        ir::Text {
            parts: text
                .parts
                .iter()
                .map(|p| match p {
                    typed::TextPart::Text(t) => ir::TextPart::Text(t.clone()),
                    typed::TextPart::Hole(e) => ir::TextPart::Hole(self.expr(e)),
                })
                .collect(),
        }
    }

    fn push(&mut self, kind: NodeKind, ty: &Type, span: Span) -> NodeId {
        let ty = self.ty(ty);
        let id = NodeId(index(self.program.nodes.len()));
        self.program.nodes.push(Node { kind, ty });
        self.program.spans.push(source_span(span));
        id
    }

    fn constant(&mut self, c: &Const) -> u32 {
        let ids = self.consts.entry(const_hash(c)).or_default();
        let pooled = &self.program.consts;
        if let Some(&id) = ids
            .iter()
            .find(|&&id| pooled.get(id as usize).is_some_and(|p| same_const(p, c)))
        {
            return id;
        }
        let id = index(pooled.len());
        ids.push(id);
        self.program.consts.push(c.clone());
        id
    }

    fn ty(&mut self, ty: &Type) -> u32 {
        let scalar = scalar_index(ty);
        let pooled = match scalar {
            Some(i) => self.scalar_types[i],
            None => self.types.get(ty).copied(),
        };
        if let Some(id) = pooled {
            return id;
        }
        let id = index(self.program.types.len());
        self.program.types.push(ty.clone());
        match scalar {
            Some(i) => self.scalar_types[i] = Some(id),
            None => {
                self.types.insert(ty.clone(), id);
            }
        }
        id
    }
}

/// The place of a scalar type in [`Lowerer::scalar_types`].
fn scalar_index(ty: &Type) -> Option<usize> {
    Some(match ty {
        Type::Bool => 0,
        Type::Int => 1,
        Type::Float => 2,
        Type::String => 3,
        Type::Duration => 4,
        Type::Percent => 5,
        Type::Rung => 6,
        Type::Date => 7,
        Type::List(_) | Type::Record(_) => return None,
    })
}

/// A hash of a constant's bits, for [`same_const`].
fn const_hash(c: &Const) -> u64 {
    fn feed(c: &Const, h: &mut FxHasher) {
        std::mem::discriminant(c).hash(h);
        match c {
            Const::Bool(b) => b.hash(h),
            Const::Int(n) | Const::Date(n) => n.hash(h),
            Const::Float(f) | Const::Duration(f) | Const::Percent(f) => f.to_bits().hash(h),
            Const::Str(s) => s.hash(h),
            Const::Rung(r) => r.hash(h),
            Const::List(items) => {
                items.len().hash(h);
                for item in items {
                    feed(item, h);
                }
            }
        }
    }
    let mut h = FxHasher::default();
    feed(c, &mut h);
    h.finish()
}

/// Whether two constants are one in the pool: the same variant with the same bits, so
/// `0.0` and `-0.0` stay apart (as they would serialised).
fn same_const(a: &Const, b: &Const) -> bool {
    match (a, b) {
        (Const::Float(x), Const::Float(y))
        | (Const::Duration(x), Const::Duration(y))
        | (Const::Percent(x), Const::Percent(y)) => x.to_bits() == y.to_bits(),
        (Const::List(xs), Const::List(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_const(x, y))
        }
        _ => a == b,
    }
}

fn field_index(record: &Type, name: &str) -> u32 {
    match record {
        // INVARIANT: the checker resolved the field, so it is present.
        Type::Record(fields) => index(fields.iter().position(|(n, _)| n == name).unwrap_or(0)),
        _ => 0,
    }
}

fn source_span(span: Span) -> SourceSpan {
    SourceSpan {
        file: span.file.0,
        start: span.start,
        end: span.end,
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
