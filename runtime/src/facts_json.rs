//! Reading a facts document straight into the slots of a program: serde walks the document
//! once, keys that are not on a fact path are skipped unread, and each fact's value is built
//! in its slot's type as it is read. No generic tree is built first (the `features` table of a
//! document with ten thousand features is read as fast as serde can scan it).
//!
//! The same seeds read JSON text and, through `serde_json::Value`, TOML.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use phasev_compiler::diag::closest;
use phasev_compiler::ir::{Program, SlotOrigin, SlotRange};
use phasev_compiler::types::Type;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::value::{Value, parse_date, parse_duration, parse_percent};

/// Slot values, in the order they were read; a value out of its range is the reason instead
/// (`kafka.groups[0].lag`: `-5` is negative), which makes the fact errored, never a value.
pub type Slots = Vec<(u32, Result<Value, String>)>;

/// What a document supplies: values every feature shares, and each feature's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotDocument {
    pub shared: Slots,
    pub features: BTreeMap<String, Slots>,
    /// Keys it skipped that look like misspellings: (the path written, the fact meant).
    pub near_misses: Vec<(String, String)>,
    /// Its top-level `observed_at`: when its facts were observed, which dates them for
    /// freshness limits.
    pub observed_at: Option<SystemTime>,
}

/// A value that does not fit its slot: where (the fact path and the place inside the value),
/// what was expected, what was found, and how to write it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub path: String,
    pub expected: String,
    pub found: String,
    pub hint: String,
}

/// Why a document could not be read.
#[derive(Debug)]
pub enum ReadError {
    Syntax(String),
    Shape(&'static str),
    Mismatch(Mismatch),
}

/// The fact paths of a program as a tree of keys.
#[derive(Debug, Default)]
struct Trie {
    children: BTreeMap<String, Trie>,
    slot: Option<u32>,
    /// The dotted path to this node (empty at the root), for messages.
    path: String,
}

impl Trie {
    fn of(program: &Program) -> Trie {
        let mut root = Trie::default();
        for (slot, info) in (0u32..).zip(&program.slots) {
            let mut node = &mut root;
            for segment in info.path.split('.') {
                let path = match node.path.as_str() {
                    "" => segment.to_owned(),
                    parent => format!("{parent}.{segment}"),
                };
                node = node
                    .children
                    .entry(segment.to_owned())
                    .or_insert_with(|| Trie {
                        path,
                        ..Trie::default()
                    });
            }
            node.slot = Some(slot);
        }
        root
    }
}

/// Shared state of one read: the program, the first mismatch met, the keys that look like
/// misspellings of facts the program reads, and the first value out of range in the fact
/// being read.
struct Cx<'p> {
    program: &'p Program,
    mismatch: RefCell<Option<Mismatch>>,
    near_misses: RefCell<Vec<(String, String)>>,
    out_of_range: RefCell<Option<OutOfRange>>,
}

/// A value of the right type outside its range: the fact is read on (the document stays
/// usable) and then becomes an errored fact with this reason.
struct OutOfRange {
    /// Where inside the fact's value (`[2].lag`), built as the read leaves each level.
    place: String,
    /// The number as it was written.
    written: String,
    reason: String,
}

impl<'p> Cx<'p> {
    fn new(program: &'p Program) -> Cx<'p> {
        Cx {
            program,
            mismatch: RefCell::new(None),
            near_misses: RefCell::new(Vec::new()),
            out_of_range: RefCell::new(None),
        }
    }

    /// Whether a value out of range has been met in the fact being read.
    fn has_out_of_range(&self) -> bool {
        self.out_of_range.borrow().is_some()
    }

    /// Puts `segment` in front of the place of the value out of range.
    fn out_of_range_within(&self, segment: &str) {
        if let Some(o) = self.out_of_range.borrow_mut().as_mut() {
            o.place.insert_str(0, segment);
        }
    }

    /// The reason a fact at `path` is errored, if a value in it was out of range.
    fn take_out_of_range(&self, path: &str) -> Option<String> {
        let o = self.out_of_range.borrow_mut().take()?;
        Some(match (path, o.place.as_str()) {
            ("", "") => format!("`{}` {}", o.written, o.reason),
            (path, place) => format!("`{path}{place}` = `{}` {}", o.written, o.reason),
        })
    }

    fn fail<E: de::Error>(&self, path: &str, ty: &Type, found: String, hint: &str) -> E {
        *self.mismatch.borrow_mut() = Some(Mismatch {
            path: path.to_owned(),
            expected: crate::facts::expected(ty),
            found,
            hint: hint.to_owned(),
        });
        E::custom("a value of the wrong type")
    }

    /// Adds `segment` in front of the place of a mismatch met inside a value: the place
    /// starts after the `@` that ends the fact's path.
    fn within(&self, segment: &str) {
        if let Some(m) = self.mismatch.borrow_mut().as_mut()
            && let Some(at) = m.path.find('@')
        {
            m.path.insert_str(at + 1, segment);
        }
    }
}

/// Reads a document from any serde deserializer.
pub fn read<'de, D: Deserializer<'de>>(
    program: &Program,
    de: D,
) -> Result<SlotDocument, ReadError> {
    let trie = Trie::of(program);
    let cx = Cx::new(program);
    let mut doc = SlotDocument::default();
    let result = de.deserialize_any(RootVisitor {
        cx: &cx,
        trie: &trie,
        doc: &mut doc,
    });
    match (result, cx.mismatch.into_inner()) {
        (Ok(()), _) => {
            doc.near_misses = cx.near_misses.into_inner();
            Ok(doc)
        }
        (Err(_), Some(m)) => Err(ReadError::Mismatch(m)),
        (Err(e), None) => {
            let text = e.to_string();
            Err(if text.contains(&format!("expected {SHAPE_TOP}")) {
                ReadError::Shape(SHAPE_TOP)
            } else if text.contains(&format!("expected {SHAPE_FEATURES}")) {
                ReadError::Shape(SHAPE_FEATURES)
            } else {
                ReadError::Syntax(text)
            })
        }
    }
}

/// The top-level key that dates a document's facts.
pub(crate) const OBSERVED_AT: &str = "observed_at";

/// An RFC 3339 time (`2026-12-07T09:30:00Z`, `2026-12-07T10:30:00.5+01:00`; a space may stand
/// for the `T`, as TOML writes it).
fn parse_time(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let days = parse_date(date)?;
    let (clock, offset) = match time.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, 0),
        None => {
            let at = time.rfind(['+', '-'])?;
            let (clock, zone) = time.split_at(at);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            (clock, sign * (h * 3600 + m * 60))
        }
    };
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut parts = whole.split(':');
    let mut next = |max: i64| {
        parts
            .next()?
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
    };
    let (h, m, sec) = (next(23)?, next(59)?, next(60)?);
    if parts.next().is_some() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction: f64 = format!("0.{fraction}").parse().ok()?;
    let secs = (days * 86_400 + h * 3600 + m * 60 + sec - offset) as f64 + fraction;
    let since_epoch = Duration::try_from_secs_f64(secs.abs()).ok()?;
    if secs >= 0.0 {
        UNIX_EPOCH.checked_add(since_epoch)
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)
    }
}

/// What the top level and the `features` table must be; serde names them in its "invalid
/// type" errors, which is how those errors are told apart from syntax errors.
pub(crate) const SHAPE_TOP: &str = "a table of fact namespaces at the top level";
pub(crate) const SHAPE_FEATURES: &str = "a `features` table of feature tables";

struct RootVisitor<'a, 'p> {
    cx: &'a Cx<'p>,
    trie: &'a Trie,
    doc: &'a mut SlotDocument,
}

impl<'de> Visitor<'de> for RootVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHAPE_TOP)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            once(&mut seen, &key)?;
            if key == OBSERVED_AT {
                let text = map.next_value::<String>()?;
                let at = parse_time(&text).ok_or_else(|| {
                    de::Error::custom(format!(
                        "`{OBSERVED_AT}` = {text:?} is not an RFC 3339 time such as `2026-12-07T09:30:00Z`"
                    ))
                })?;
                self.doc.observed_at = Some(at);
            } else if key == "features" {
                map.next_value_seed(FeaturesSeed {
                    cx: self.cx,
                    trie: self.trie,
                    features: &mut self.doc.features,
                })?;
            } else {
                read_entry(&mut map, &key, self.cx, self.trie, &mut self.doc.shared)?;
            }
        }
        Ok(())
    }
}

/// Reads the value of `key` in a table at `trie`: a fact, a namespace, or something to skip.
fn read_entry<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: &str,
    cx: &Cx<'_>,
    trie: &Trie,
    out: &mut Slots,
) -> Result<(), A::Error> {
    match trie.children.get(key) {
        Some(child) => match child.slot {
            Some(slot) => {
                let info = &cx.program.slots[slot as usize];
                let value = map.next_value_seed(TypedSeed {
                    cx,
                    ty: &info.ty,
                    path: &info.path,
                    counts: counts(info.origin),
                    range: info.range.as_ref(),
                })?;
                out.push((
                    slot,
                    cx.take_out_of_range(&info.path).map_or(Ok(value), Err),
                ));
            }
            None => map.next_value_seed(TableSeed {
                cx,
                trie: child,
                out,
            })?,
        },
        None => {
            // Skipped unread: a key beside the program's facts that is a few letters from one
            // of them is most likely a typo, which would leave that fact missing.
            if let Some(meant) = closest(key, trie.children.keys().map(String::as_str)) {
                let at = |k: &str| match trie.path.as_str() {
                    "" => k.to_owned(),
                    parent => format!("{parent}.{k}"),
                };
                let miss = (at(key), at(meant));
                let mut misses = cx.near_misses.borrow_mut();
                if !misses.contains(&miss) {
                    misses.push(miss);
                }
            }
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

/// A key met twice in one table is an error at the second: which of the two values a reader
/// takes differs between tools, so neither may decide. (TOML's parser refuses them itself.)
fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format!("duplicate key `{key}`"))
}

/// Notes `key` as seen in its table; the second time it is a [`duplicate`].
fn once<E: de::Error>(seen: &mut HashSet<String>, key: &str) -> Result<(), E> {
    if seen.contains(key) {
        return Err(duplicate(key));
    }
    seen.insert(key.to_owned());
    Ok(())
}

struct FeaturesSeed<'a, 'p> {
    cx: &'a Cx<'p>,
    trie: &'a Trie,
    features: &'a mut BTreeMap<String, Slots>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHAPE_FEATURES)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            if self.features.contains_key(&name) {
                return Err(duplicate(&name));
            }
            let slots = self.features.entry(name).or_default();
            map.next_value_seed(FeatureSeed {
                cx: self.cx,
                trie: self.trie,
                out: slots,
            })?;
        }
        Ok(())
    }
}

/// One feature's table: like the shared part, but a non-table is a shape error.
struct FeatureSeed<'a, 'p> {
    cx: &'a Cx<'p>,
    trie: &'a Trie,
    out: &'a mut Slots,
}

impl<'de> DeserializeSeed<'de> for FeatureSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FeatureSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHAPE_FEATURES)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            once(&mut seen, &key)?;
            read_entry(&mut map, &key, self.cx, self.trie, self.out)?;
        }
        Ok(())
    }
}

/// A namespace table: anything that is not a table is skipped (it supplies no fact).
struct TableSeed<'a, 'p> {
    cx: &'a Cx<'p>,
    trie: &'a Trie,
    out: &'a mut Slots,
}

impl<'de> DeserializeSeed<'de> for TableSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TableSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of facts")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            once(&mut seen, &key)?;
            read_entry(&mut map, &key, self.cx, self.trie, self.out)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Whether every number in a fact of this origin is a count, size, duration or rate, which
/// cannot be negative: true of every built-in fact (tests, lag, restarts, quota, latency,
/// error rate). A declared fact's numbers may be negative; its durations may not.
fn counts(origin: SlotOrigin) -> bool {
    origin == SlotOrigin::Builtin
}

/// A value built in its type as it is read. `path` names the fact; a mismatch inside a list
/// or record adds `[i]` / `.field` to it on the way out. Numbers are range-checked: never
/// infinite, never negative when `counts` (or when a duration), and inside `range`, the
/// range a declared scalar fact states.
struct TypedSeed<'a, 'p> {
    cx: &'a Cx<'p>,
    ty: &'a Type,
    path: &'a str,
    counts: bool,
    range: Option<&'a SlotRange>,
}

impl<'de> DeserializeSeed<'de> for TypedSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl TypedSeed<'_, '_> {
    fn hint(&self) -> String {
        match self.ty {
            Type::Bool => "write `true` or `false`".to_owned(),
            Type::Int => "write a whole number, such as `3`".to_owned(),
            Type::Float => "write a number, such as `0.5`".to_owned(),
            Type::String => "write a quoted string".to_owned(),
            Type::Duration => {
                "write a string with a unit (`\"312ms\"`, `\"1.5s\"`, `\"2h\"`) or a number of milliseconds"
                    .to_owned()
            }
            Type::Percent => {
                "write a string with `%` (`\"0.04%\"`) or a fraction (`0.0004`)".to_owned()
            }
            Type::Rung => {
                let names: Vec<&str> = self.cx.program.rungs.iter().map(|r| r.name.as_str()).collect();
                format!("the rungs are {}", names.join(", "))
            }
            Type::Date => "write a calendar date as `\"YYYY-MM-DD\"`".to_owned(),
            Type::List(_) => "write a list: `[…]`".to_owned(),
            Type::Record(_) => "write a table with the fields of the type".to_owned(),
        }
    }

    /// `value` itself, after noting it out of range if it is: the fact is then errored.
    fn ranged(&self, value: Value, number: f64, written: &dyn fmt::Display) -> Value {
        let outside = |r: &SlotRange| {
            r.low.is_some_and(|low| number < low) || r.high.is_some_and(|high| number > high)
        };
        let reason = if !number.is_finite() {
            Some("is not a finite number".to_owned())
        } else if number < 0.0 && (self.counts || matches!(self.ty, Type::Duration)) {
            Some(
                match self.ty {
                    Type::Duration => "is a negative duration",
                    Type::Percent => "is a negative percentage",
                    _ => "is negative, and this fact counts or measures something",
                }
                .to_owned(),
            )
        } else {
            self.range
                .filter(|r| outside(r))
                .map(|r| format!("is outside the declared range `{}`", r.text))
        };
        if let Some(reason) = reason
            && !self.cx.has_out_of_range()
        {
            *self.cx.out_of_range.borrow_mut() = Some(OutOfRange {
                place: String::new(),
                written: written.to_string(),
                reason,
            });
        }
        value
    }

    fn wrong<E: de::Error>(&self, found: String) -> E {
        // The place inside the value is marked with `@`, replaced as the error unwinds.
        let path = format!("{}@", self.path);
        self.cx.fail(&path, self.ty, found, &self.hint())
    }
}

/// How a found value reads in a message: `a string "fast"`, `a number 1.5`.
fn shown(kind: &str, text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    let short = if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    };
    format!("{kind} `{short}`")
}

impl<'de> Visitor<'de> for TypedSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::facts::expected(self.ty))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        match self.ty {
            Type::Bool => Ok(Value::Bool(v)),
            _ => Err(self.wrong(shown("a bool", &v.to_string()))),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        match self.ty {
            Type::Int => Ok(self.ranged(Value::Int(v), v as f64, &v)),
            _ => self.visit_f64(v as f64),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        match (self.ty, i64::try_from(v)) {
            (Type::Int, Ok(n)) => Ok(self.ranged(Value::Int(n), n as f64, &n)),
            (Type::Int, Err(_)) => Err(self.wrong(shown("a number", &v.to_string()))),
            _ => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        let value = match self.ty {
            Type::Float => Value::Float(v),
            Type::Duration => Value::Duration(v),
            Type::Percent => Value::Percent(v),
            _ => return Err(self.wrong(shown("a number", &v.to_string()))),
        };
        Ok(self.ranged(value, v, &v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        let parsed = match self.ty {
            Type::String => Some(Value::Str(Arc::from(v))),
            Type::Duration => parse_duration(v).map(|d| self.ranged(Value::Duration(d), d, &v)),
            Type::Percent => parse_percent(v).map(|p| self.ranged(Value::Percent(p), p, &v)),
            Type::Date => parse_date(v).map(Value::Date),
            Type::Rung => self
                .cx
                .program
                .rungs
                .iter()
                .position(|r| r.name == v)
                .and_then(|i| u32::try_from(i).ok())
                .map(Value::Rung),
            _ => None,
        };
        parsed.ok_or_else(|| self.wrong(shown("a string", &format!("{v:?}"))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Err(self.wrong("null".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let Type::List(elem) = self.ty else {
            return Err(self.wrong("a list".to_owned()));
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            let i = items.len();
            let clean = !self.cx.has_out_of_range();
            let item = seq.next_element_seed(TypedSeed {
                cx: self.cx,
                ty: elem,
                path: self.path,
                counts: self.counts,
                range: None,
            });
            if clean && self.cx.has_out_of_range() {
                self.cx.out_of_range_within(&format!("[{i}]"));
            }
            match item {
                Ok(Some(v)) => items.push(v),
                Ok(None) => break,
                Err(e) => {
                    self.cx.within(&format!("[{i}]"));
                    return Err(e);
                }
            }
        }
        Ok(Value::List(items.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Type::Record(fields) = self.ty else {
            return Err(self.wrong("a table".to_owned()));
        };
        let mut values: Vec<Option<Value>> = vec![None; fields.len()];
        while let Some(key) = map.next_key::<String>()? {
            match fields.iter().position(|(name, _)| *name == key) {
                Some(i) if values[i].is_some() => return Err(duplicate(&key)),
                Some(i) => {
                    let clean = !self.cx.has_out_of_range();
                    let read = map.next_value_seed(TypedSeed {
                        cx: self.cx,
                        ty: &fields[i].1,
                        path: self.path,
                        counts: self.counts,
                        range: None,
                    });
                    if clean && self.cx.has_out_of_range() {
                        self.cx.out_of_range_within(&format!(".{key}"));
                    }
                    match read {
                        Ok(v) => values[i] = Some(v),
                        Err(e) => {
                            self.cx.within(&format!(".{key}"));
                            return Err(e);
                        }
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut out = Vec::with_capacity(fields.len());
        for ((name, _), value) in fields.iter().zip(values) {
            match value {
                Some(v) => out.push(v),
                None => {
                    let path = format!("{}@", self.path);
                    *self.cx.mismatch.borrow_mut() = Some(Mismatch {
                        path,
                        expected: format!("a table with a `{name}` field (`{}`)", self.ty),
                        found: "a table without it".to_owned(),
                        hint: format!("add `{name}`"),
                    });
                    return Err(de::Error::custom("a missing field"));
                }
            }
        }
        Ok(Value::Record(out.into()))
    }
}

/// Converts one JSON value (from a collector or a record) to a value of type `ty`, numbers
/// range-checked as a fact of `origin`'s (and inside `range`, a declared fact's); the error
/// says what was expected, where inside the value, and what was found, or which number is out
/// of range.
pub fn value_of(
    program: &Program,
    json: &serde_json::Value,
    ty: &Type,
    origin: SlotOrigin,
    range: Option<&SlotRange>,
) -> Result<Value, String> {
    let cx = Cx::new(program);
    let seed = TypedSeed {
        cx: &cx,
        ty,
        path: "",
        counts: counts(origin),
        range,
    };
    match seed.deserialize(json) {
        Ok(v) => cx.take_out_of_range("").map_or(Ok(v), Err),
        Err(e) => Err(match cx.mismatch.into_inner() {
            Some(m) => {
                let place = m.path.trim_start_matches('@');
                let at = if place.is_empty() {
                    String::new()
                } else {
                    format!(" at `{place}`")
                };
                format!("expected {}{at}, found {}", m.expected, m.found)
            }
            None => e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_times_read_as_rfc_3339() {
        let secs = |text: &str| {
            parse_time(text).map(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_secs_f64(),
                Err(e) => -e.duration().as_secs_f64(),
            })
        };
        assert_eq!(secs("1970-01-02T00:00:00Z"), Some(86_400.0));
        assert_eq!(secs("1970-01-02 01:00:00+01:00"), Some(86_400.0));
        assert_eq!(secs("1970-01-01T23:30:00.5-00:30"), Some(86_400.5));
        assert_eq!(secs("1969-12-31T23:59:59Z"), Some(-1.0));
        for bad in [
            "2026-12-07",
            "2026-12-07T25:00:00Z",
            "2026-12-07T10:00Z",
            "yesterday",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }
}
