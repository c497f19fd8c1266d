//! The syntax tree of one `.phasev` file, exactly as written, with spans.
//!
//! Nodes are a struct plus a kind enum and a small `Copy` [`Span`]. Equality ignores spans, so
//! two trees that differ only in layout compare equal (the formatter's round-trip property).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Index of a file in the [`crate::source::SourceMap`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct FileId(pub u32);

/// A byte range in one source file. Equality always holds: layout is not meaning.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Span {}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both (they must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Whether two spans cover the same bytes of the same file (equality ignores spans).
    pub fn same_place(self, other: Span) -> bool {
        self.file == other.file && self.start == other.start && self.end == other.end
    }
}

/// A name as written. Names repeat (every fact path spells out its namespace), so the parser
/// shares one allocation per distinct name in a file: cloning one costs no allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: Arc<str>,
    pub span: Span,
}

/// A dotted name such as `tests.unit.failed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&seg.name)?;
        }
        Ok(())
    }
}

/// One parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub file: FileId,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Policy(Ident),
    Import(StrLit),
    Ladder(Vec<RungDecl>),
    Fact(FactDecl),
    Rule(RuleDecl),
    Check(CheckDecl),
    Gate(GateDecl),
    Escalate(EscalateDecl),
    Checklist(Vec<ChecklistItem>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RungDecl {
    pub name: Ident,
    pub label: Option<StrLit>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FactDecl {
    pub path: Path,
    pub ty: TypeExpr,
    pub range: Option<FactRange>,
}

/// `in LOW..HIGH` after a fact's type: the values it accepts, either end open. Each bound is a
/// number literal, negated when written with `-`.
#[derive(Clone, Debug, PartialEq)]
pub struct FactRange {
    pub low: Option<Expr>,
    pub high: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    Scalar(ScalarType),
    List(Box<TypeExpr>),
    Record(Vec<FieldType>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldType {
    pub name: Ident,
    pub ty: TypeExpr,
}

/// The scalar types of the language, as written in `fact` and rule parameter declarations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScalarType {
    Bool,
    Int,
    Float,
    String,
    Duration,
    Percent,
    Rung,
    Date,
}

impl ScalarType {
    pub fn keyword(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::Int => "int",
            ScalarType::Float => "float",
            ScalarType::String => "string",
            ScalarType::Duration => "duration",
            ScalarType::Percent => "percent",
            ScalarType::Rung => "rung",
            ScalarType::Date => "date",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    /// `None` when the type is left to the checker, which takes it from the rule's calls.
    pub ty: Option<TypeExpr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckDecl {
    pub name: Ident,
    pub plugin: StrLit,
    pub config: Vec<ConfigItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfigItem {
    pub key: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GateDecl {
    pub from: Ident,
    pub to: Ident,
    pub body: GateBody,
}

/// What a gate asks: its requirements, or nothing on purpose.
#[derive(Clone, Debug, PartialEq)]
pub enum GateBody {
    /// `{ require …; warn … }`; an empty block is a warning, as it checks nothing by accident.
    Requirements(Vec<Requirement>),
    /// `open`: promotion to the gate's target needs no check, and the policy says so.
    Open,
}

impl GateDecl {
    /// Its requirements (none for an open gate).
    pub fn items(&self) -> &[Requirement] {
        match &self.body {
            GateBody::Requirements(items) => items,
            GateBody::Open => &[],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReqKind {
    Require,
    Warn,
}

impl ReqKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ReqKind::Require => "require",
            ReqKind::Warn => "warn",
        }
    }
}

/// The keyword, as a policy writes it and every output shows it.
impl std::fmt::Display for ReqKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The keyword, as a policy writes it and every output shows it.
impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn keyword(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    pub kind: ReqKind,
    pub severity: Option<Severity>,
    pub name: StrLit,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EscalateDecl {
    pub title: StrLit,
    pub when: Expr,
    pub items: Vec<EscalateItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EscalateItem {
    pub kind: EscalateItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EscalateItemKind {
    Severity(Severity),
    Context(StrLit),
    Impact(StrLit),
    Option { title: StrLit, tradeoff: StrLit },
    Recommend { option: u32, reason: StrLit },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChecklistItem {
    pub label: StrLit,
    pub expr: Expr,
    pub span: Span,
}

/// A string literal: text with `{path}` holes.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub parts: Vec<StrPart>,
    pub span: Span,
}

impl StrLit {
    /// The text when the literal has no holes; borrowed when it is one run, as most are.
    pub fn as_plain(&self) -> Option<Cow<'_, str>> {
        match self.parts.as_slice() {
            [] => Some(Cow::Borrowed("")),
            [StrPart::Text(t)] => Some(Cow::Borrowed(t)),
            parts => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        StrPart::Text(t) => out.push_str(t),
                        StrPart::Hole(_) => return None,
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// The text with holes written back as `{path}`, for messages and labels.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Hole(p) => {
                    out.push('{');
                    out.push_str(&p.to_string());
                    out.push('}');
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Hole(Path),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// A likely type for the name or dotted path `name` from how this expression uses it, for
    /// fixes that must write a type (an untyped rule parameter, a fact to declare): compared
    /// with or added to a literal, the literal's type; an operand of `and`, `or`, `not` or an
    /// `if`'s condition, `bool`. A guess from the syntax, never a judgement of the checker.
    pub fn hinted_type(&self, name: &str) -> Option<&'static str> {
        let is_name = |e: &Expr| match &e.kind {
            ExprKind::Path(p) => {
                p.segments.len() == name.split('.').count()
                    && p.segments
                        .iter()
                        .zip(name.split('.'))
                        .all(|(s, n)| *s.name == *n)
            }
            _ => false,
        };
        let literal = |e: &Expr| match &e.kind {
            ExprKind::Int(_) => Some("int"),
            ExprKind::Float(_) => Some("float"),
            ExprKind::Str(_) => Some("string"),
            ExprKind::Bool(_) => Some("bool"),
            ExprKind::Duration { .. } => Some("duration"),
            ExprKind::Percent(_) => Some("percent"),
            ExprKind::Date(_) => Some("date"),
            _ => None,
        };
        match &self.kind {
            ExprKind::Binary(op, operands) => {
                let [a, b] = &**operands;
                if matches!(op, BinaryOp::And | BinaryOp::Or) && (is_name(a) || is_name(b)) {
                    return Some("bool");
                }
                if is_name(a)
                    && let Some(t) = literal(b)
                {
                    return Some(t);
                }
                if is_name(b)
                    && let Some(t) = literal(a)
                {
                    return Some(t);
                }
                a.hinted_type(name).or_else(|| b.hinted_type(name))
            }
            ExprKind::Unary(UnaryOp::Not, e) if is_name(e) => Some("bool"),
            ExprKind::Unary(_, e) | ExprKind::Field(e, _) => e.hinted_type(name),
            ExprKind::Call(_, args) | ExprKind::List(args) => {
                args.iter().find_map(|a| a.hinted_type(name))
            }
            ExprKind::Quant { over, body, .. } => {
                over.hinted_type(name).or_else(|| body.hinted_type(name))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if is_name(cond) {
                    return Some("bool");
                }
                [cond, then, otherwise]
                    .into_iter()
                    .find_map(|e| e.hinted_type(name))
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(StrLit),
    /// A duration as written: `1.5s` is `{ value: 1.5, unit: Seconds }`.
    Duration {
        value: f64,
        unit: DurationUnit,
    },
    /// A percentage as written: `0.1%` is `Percent(0.1)`.
    Percent(f64),
    Date(Date),
    /// A bare name or dotted path; resolution decides whether it is a fact, a rung, a rule,
    /// a check output, a local variable or `target`.
    Path(Path),
    /// Field access on something that is not a plain path, e.g. `(if c then a else b).x`.
    Field(Box<Expr>, Ident),
    Unary(UnaryOp, Box<Expr>),
    /// An operator and its operands, in one allocation (binary nodes are the most common).
    Binary(BinaryOp, Box<[Expr; 2]>),
    Call(Ident, Vec<Expr>),
    List(Vec<Expr>),
    Quant {
        kind: QuantKind,
        var: Ident,
        over: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DurationUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Millis => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    pub fn millis(self) -> f64 {
        match self {
            DurationUnit::Millis => 1.0,
            DurationUnit::Seconds => 1_000.0,
            DurationUnit::Minutes => 60_000.0,
            DurationUnit::Hours => 3_600_000.0,
            DurationUnit::Days => 86_400_000.0,
        }
    }
}

/// A calendar date, validated by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Builds a date when it exists in the proleptic Gregorian calendar.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days_in_month)
            .contains(&day)
            .then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Binding strength: higher binds tighter. `not` sits between `and` and comparisons.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

/// Precedence of prefix `not` (see [`BinaryOp::precedence`]); unary minus binds tightest (7).
pub const NOT_PRECEDENCE: u8 = 3;
pub const NEG_PRECEDENCE: u8 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuantKind {
    All,
    Any,
    None,
    Count,
}

impl QuantKind {
    pub fn keyword(self) -> &'static str {
        match self {
            QuantKind::All => "all",
            QuantKind::Any => "any",
            QuantKind::None => "none",
            QuantKind::Count => "count",
        }
    }
}
