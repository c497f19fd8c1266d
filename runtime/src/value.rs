//! Runtime values: what facts hold and expressions produce.
//!
//! The units are the IR's: durations in milliseconds, percentages as fractions, rungs as
//! ladder indices, dates as days since 1970-01-01. Strings, lists and records are shared
//! (`Arc`), so copying a value out of a fact never copies its contents.

use std::fmt;
use std::sync::Arc;

use phasev_compiler::ir::Program;
use phasev_compiler::types::Const;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// Milliseconds.
    Duration(f64),
    /// A fraction: `0.1%` is `0.001`.
    Percent(f64),
    /// Index of the rung on the ladder.
    Rung(u32),
    /// Days since 1970-01-01.
    Date(i64),
    List(Arc<[Value]>),
    /// Field values in the order of the record type's fields.
    Record(Arc<[Value]>),
}

impl Value {
    pub fn from_const(c: &Const) -> Value {
        match c {
            Const::Bool(b) => Value::Bool(*b),
            Const::Int(n) => Value::Int(*n),
            Const::Float(f) => Value::Float(*f),
            Const::Str(s) => Value::Str(Arc::from(s.as_str())),
            Const::Duration(ms) => Value::Duration(*ms),
            Const::Percent(p) => Value::Percent(*p),
            Const::Rung(r) => Value::Rung(*r),
            Const::Date(d) => Value::Date(*d),
            Const::List(items) => Value::List(items.iter().map(Value::from_const).collect()),
        }
    }

    /// The number a comparison or arithmetic works on, in the IR's units.
    pub fn number(&self) -> Option<f64> {
        Some(match self {
            Value::Int(n) => *n as f64,
            Value::Float(f) | Value::Duration(f) | Value::Percent(f) => *f,
            Value::Rung(r) => f64::from(*r),
            Value::Date(d) => *d as f64,
            _ => return None,
        })
    }

    /// Formats the value as a policy would write it; rungs by name.
    pub fn display<'a>(&'a self, program: &'a Program) -> Display<'a> {
        Display {
            value: self,
            program,
        }
    }
}

/// A value formatted as policy source writes it (`312ms`, `4%`, `cloud_prod`, `2026-12-01`).
#[derive(Debug)]
pub struct Display<'a> {
    value: &'a Value,
    program: &'a Program,
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{}", number(*x)),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Duration(ms) => f.write_str(&duration(*ms)),
            Value::Percent(p) => write!(f, "{}%", number(p * 100.0)),
            Value::Rung(r) => match self.program.rungs.get(*r as usize) {
                Some(rung) => f.write_str(&rung.name),
                None => write!(f, "rung {r}"),
            },
            Value::Date(d) => f.write_str(&date(*d)),
            Value::List(items) | Value::Record(items) => {
                let (open, close) = match self.value {
                    Value::List(_) => ("[", "]"),
                    _ => ("{", "}"),
                };
                f.write_str(open)?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.display(self.program))?;
                }
                f.write_str(close)
            }
        }
    }
}

/// A float without trailing zeros: `2.5`, `3`, `0.04`.
fn number(x: f64) -> String {
    let rounded = (x * 1e6).round() / 1e6;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// Milliseconds in the largest unit that keeps the number short: `250ms`, `1.5s`, `2h`, `3d`.
pub fn duration(ms: f64) -> String {
    const UNITS: [(&str, f64); 4] = [
        ("d", 86_400_000.0),
        ("h", 3_600_000.0),
        ("m", 60_000.0),
        ("s", 1_000.0),
    ];
    for (unit, size) in UNITS {
        if ms.abs() >= size && ((ms / size) * 10.0).fract() == 0.0 {
            return format!("{}{unit}", number(ms / size));
        }
    }
    format!("{}ms", number(ms))
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian).
pub fn date(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DD` as days since 1970-01-01, if it is a calendar date.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > days_in_month[(month - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// A duration written with a unit (`312ms`, `1.5s`, `2h`), in milliseconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    value.is_finite().then_some(value * scale)
}

/// A percentage written with `%` (`0.04%`), as a fraction.
pub fn parse_percent(text: &str) -> Option<f64> {
    let value: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    value.is_finite().then_some(value / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for text in [
            "1970-01-01",
            "2024-02-29",
            "2026-12-01",
            "1969-12-31",
            "2400-03-01",
        ] {
            let days = parse_date(text);
            assert_eq!(days.map(date).as_deref(), Some(text));
        }
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn durations_and_percentages_parse_and_print_in_policy_units() {
        assert_eq!(parse_duration("312ms"), Some(312.0));
        assert_eq!(parse_duration("1.5s"), Some(1500.0));
        assert_eq!(parse_duration("2 h"), Some(7_200_000.0));
        assert_eq!(parse_duration("3x"), None);
        assert_eq!(parse_percent("0.04%"), Some(0.0004));
        assert_eq!(duration(312.0), "312ms");
        assert_eq!(duration(1500.0), "1.5s");
        assert_eq!(duration(7_200_000.0), "2h");
    }
}
