//! Types and constant values, shared by the typed program and the IR.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ast::{ScalarType, TypeExpr, TypeExprKind};

/// The type of a fact, an expression or a rule parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Bool,
    Int,
    Float,
    String,
    Duration,
    Percent,
    Rung,
    Date,
    List(Box<Type>),
    /// Fields in declaration order; names are unique.
    Record(Vec<(String, Type)>),
}

impl Type {
    pub fn from_scalar(s: ScalarType) -> Type {
        match s {
            ScalarType::Bool => Type::Bool,
            ScalarType::Int => Type::Int,
            ScalarType::Float => Type::Float,
            ScalarType::String => Type::String,
            ScalarType::Duration => Type::Duration,
            ScalarType::Percent => Type::Percent,
            ScalarType::Rung => Type::Rung,
            ScalarType::Date => Type::Date,
        }
    }

    /// The type a type expression denotes. Duplicate record fields are reported by the
    /// checker; here the first one wins.
    pub fn from_ast(t: &TypeExpr) -> Type {
        match &t.kind {
            TypeExprKind::Scalar(s) => Type::from_scalar(*s),
            TypeExprKind::List(elem) => Type::List(Box::new(Type::from_ast(elem))),
            TypeExprKind::Record(fields) => {
                let mut out: Vec<(String, Type)> = Vec::new();
                for f in fields {
                    if !out.iter().any(|(n, _)| **n == *f.name.name) {
                        out.push((f.name.name.to_string(), Type::from_ast(&f.ty)));
                    }
                }
                Type::Record(out)
            }
        }
    }

    /// Reads a type written in the policy language (`int`, `list<{file: string}>`), as plugin
    /// descriptions give them.
    pub fn parse(text: &str) -> Result<Type, String> {
        let bad = || {
            format!(
                "`{text}` is not a type (bool, int, float, string, duration, percent, rung, date, list<T> or {{name: T, …}})"
            )
        };
        let module = crate::parser::parse(crate::ast::FileId(u32::MAX), &format!("fact t: {text}"))
            .map_err(|_| bad())?;
        match module.items.as_slice() {
            [item] => match &item.kind {
                crate::ast::ItemKind::Fact(decl) => Ok(Type::from_ast(&decl.ty)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Whether `<`, `min` and `max` apply: numbers, durations, percentages, rungs, dates.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Type::Int | Type::Float | Type::Duration | Type::Percent | Type::Rung | Type::Date
        )
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Type::List(_) | Type::Record(_))
    }

    /// "a list", "a record" or the type itself, for messages where the full type is noise.
    pub fn kind_name(&self) -> String {
        match self {
            Type::List(_) => "a list".to_owned(),
            Type::Record(_) => "a record".to_owned(),
            scalar => format!("`{scalar}`"),
        }
    }

    pub fn field(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Record(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, t)| t),
            _ => None,
        }
    }

    /// Whether a value of type `self` may be used where `expected` is wanted: equal types,
    /// an int where a float is wanted, and records with at least the expected fields.
    pub fn fits(&self, expected: &Type) -> bool {
        match (self, expected) {
            (Type::Int, Type::Float) => true,
            (Type::List(a), Type::List(b)) => a.fits(b),
            (Type::Record(have), Type::Record(want)) => want
                .iter()
                .all(|(name, wt)| have.iter().any(|(n, ht)| n == name && ht.fits(wt))),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Float => f.write_str("float"),
            Type::String => f.write_str("string"),
            Type::Duration => f.write_str("duration"),
            Type::Percent => f.write_str("percent"),
            Type::Rung => f.write_str("rung"),
            Type::Date => f.write_str("date"),
            Type::List(elem) => write!(f, "list<{elem}>"),
            Type::Record(fields) => {
                f.write_str("{")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {ty}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A constant value known at compile time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Const {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Milliseconds.
    Duration(f64),
    /// A fraction: `0.1%` is `0.001`.
    Percent(f64),
    /// Index of the rung on the ladder.
    Rung(u32),
    /// Days since 1970-01-01.
    Date(i64),
    List(Vec<Const>),
}

impl Const {
    /// The constant's type; the element type of an empty list is not known, so it is `None`.
    pub fn ty(&self) -> Option<Type> {
        Some(match self {
            Const::Bool(_) => Type::Bool,
            Const::Int(_) => Type::Int,
            Const::Float(_) => Type::Float,
            Const::Str(_) => Type::String,
            Const::Duration(_) => Type::Duration,
            Const::Percent(_) => Type::Percent,
            Const::Rung(_) => Type::Rung,
            Const::Date(_) => Type::Date,
            Const::List(items) => Type::List(Box::new(items.first()?.ty()?)),
        })
    }
}
