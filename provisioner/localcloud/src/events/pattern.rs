//! EventBridge event patterns: parsed once into a typed matcher, then
//! matched against events, with the semantics AWS documents for the default
//! event bus:
//!
//! - a pattern is an object; its fields must all match (AND); a field is
//!   either a nested object (matched against the event's object there) or
//!   a non-empty array of matchers, any of which may match (OR);
//! - `{"$or": [{..}, {..}]}` in an object: any of the alternatives;
//! - matchers: exact values (strings, numbers compared as numbers, `true`,
//!   `false`, `null`), `prefix` / `suffix` (optionally
//!   `{"equals-ignore-case": ..}`), `equals-ignore-case`, `wildcard` (`*`
//!   any run of characters; `\*` and `\\` literal), `exists` (true: the
//!   field is present whatever its value; false: it is absent),
//!   `anything-but` (a value, a list of values, or `{"prefix"}`,
//!   `{"suffix"}`, `{"equals-ignore-case"}`, `{"wildcard"}`), `numeric`
//!   (`["=", 5]` or up to one lower and one upper bound) and `cidr`;
//! - an event field holding an array matches when any element matches; an
//!   array of objects, when any element matches the nested pattern;
//! - only `exists: false` matches a missing field (anything-but does not).
//!
//! An invalid pattern is an error naming the place (`detail.object.key[0]`)
//! and what is wrong, as PutRule's InvalidEventPatternException does.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::wildcard::{Glob, Tok};

/// An invalid event pattern: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at `{path}`: {message}")]
pub struct PatternError {
    /// The place in the pattern, like `detail.object.key[0].prefix`; `$` for
    /// the whole pattern.
    pub path: String,
    pub message: String,
}

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    root: Fields,
}

#[derive(Debug, Clone, PartialEq)]
struct Fields {
    fields: Vec<(String, Node)>,
    /// Each `$or`: the object matches when any alternative does.
    ors: Vec<Vec<Fields>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Nested(Fields),
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Lit),
    Prefix { value: String, ignore_case: bool },
    Suffix { value: String, ignore_case: bool },
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Exists(bool),
    AnythingBut(AnythingBut),
    Numeric(Vec<(Cmp, f64)>),
    Cidr(Cidr),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Lit>),
    Prefix(String),
    Suffix(String),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Lt,
    Le,
    Eq,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

/// A wildcard: literal characters and `*` (any run, possibly empty).
type Wildcard = Glob;

// ---- parsing ----------------------------------------------------------------

struct Path(Vec<String>);

impl Path {
    fn err(&self, message: impl Into<String>) -> PatternError {
        PatternError {
            path: self.to_string(),
            message: message.into(),
        }
    }

    fn field(&self, name: &str) -> Path {
        let mut p = self.0.clone();
        p.push(if p.is_empty() {
            name.to_owned()
        } else {
            format!(".{name}")
        });
        Path(p)
    }

    fn index(&self, i: usize) -> Path {
        let mut p = self.0.clone();
        p.push(format!("[{i}]"));
        Path(p)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("$")
        } else {
            f.write_str(&self.0.concat())
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl EventPattern {
    /// Parses pattern JSON text.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError {
            path: "$".into(),
            message: format!("not JSON: {e}"),
        })?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, PatternError> {
        let root = Path(Vec::new());
        match value {
            Value::Object(m) => Ok(Self {
                root: parse_fields(m, &root)?,
            }),
            other => Err(root.err(format!(
                "an event pattern is a JSON object, not {}",
                kind_of(other)
            ))),
        }
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        match event {
            Value::Object(m) => self.root.matches(m),
            _ => self.root.matches(&Map::new()),
        }
    }
}

impl std::str::FromStr for EventPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn parse_fields(m: &Map<String, Value>, path: &Path) -> Result<Fields, PatternError> {
    let mut fields = Vec::new();
    let mut ors = Vec::new();
    for (name, v) in m {
        let here = path.field(name);
        if name == "$or" {
            let Value::Array(alts) = v else {
                return Err(here.err(format!(
                    "`$or` takes an array of at least two patterns, not {}",
                    kind_of(v)
                )));
            };
            if alts.len() < 2 {
                return Err(here.err("`$or` takes an array of at least two patterns"));
            }
            let mut parsed = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                let at = here.index(i);
                match alt {
                    Value::Object(am) if !am.is_empty() => parsed.push(parse_fields(am, &at)?),
                    Value::Object(_) => return Err(at.err("an alternative of `$or` is empty")),
                    other => {
                        return Err(at.err(format!(
                            "an alternative of `$or` is an object, not {}",
                            kind_of(other)
                        )));
                    }
                }
            }
            ors.push(parsed);
            continue;
        }
        let node = match v {
            Value::Object(sub) => {
                if sub.is_empty() {
                    return Err(here.err("an empty object matches nothing; remove the field"));
                }
                Node::Nested(parse_fields(sub, &here)?)
            }
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(here.err(
                        "an empty array matches nothing; list at least one value or matcher",
                    ));
                }
                let mut matchers = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    matchers.push(parse_matcher(item, &here.index(i))?);
                }
                Node::Leaf(matchers)
            }
            other => {
                return Err(here.err(format!(
                    "a field's value is an array of values (e.g. [{other}]) or a nested object, \
                     not {}",
                    kind_of(other)
                )));
            }
        };
        fields.push((name.clone(), node));
    }
    Ok(Fields { fields, ors })
}

fn lit(v: &Value) -> Option<Lit> {
    Some(match v {
        Value::String(s) => Lit::Str(s.clone()),
        Value::Number(n) => Lit::Num(n.as_f64()?),
        Value::Bool(b) => Lit::Bool(*b),
        Value::Null => Lit::Null,
        _ => return None,
    })
}

fn single_key<'a>(
    m: &'a Map<String, Value>,
    path: &Path,
) -> Result<(&'a str, &'a Value), PatternError> {
    let mut it = m.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Ok((k.as_str(), v)),
        (None, _) => Err(path.err("an empty object is not a matcher")),
        _ => Err(path.err(format!(
            "a matcher object has exactly one key, not {} ({})",
            m.len(),
            m.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn string_arg<'a>(v: &'a Value, path: &Path, what: &str) -> Result<&'a str, PatternError> {
    v.as_str()
        .ok_or_else(|| path.err(format!("{what} takes a string, not {}", kind_of(v))))
}

/// `"x"` or `{"equals-ignore-case": "x"}` (prefix and suffix).
fn affix_arg(v: &Value, path: &Path, what: &str) -> Result<(String, bool), PatternError> {
    match v {
        Value::String(s) => Ok((s.clone(), false)),
        Value::Object(m) => {
            let (k, inner) = single_key(m, path)?;
            if k != "equals-ignore-case" {
                return Err(path.field(k).err(format!(
                    "{what} takes a string or {{\"equals-ignore-case\": string}}; unknown key `{k}`"
                )));
            }
            let s = string_arg(inner, &path.field(k), "equals-ignore-case")?;
            Ok((s.to_owned(), true))
        }
        other => Err(path.err(format!(
            "{what} takes a string or {{\"equals-ignore-case\": string}}, not {}",
            kind_of(other)
        ))),
    }
}

fn parse_matcher(v: &Value, path: &Path) -> Result<Matcher, PatternError> {
    if let Some(l) = lit(v) {
        return Ok(Matcher::Exact(l));
    }
    let m = match v {
        Value::Object(m) => m,
        other => {
            return Err(path.err(format!(
                "a matcher is a string, number, boolean, null or an object like \
                 {{\"prefix\": ..}}, not {}",
                kind_of(other)
            )));
        }
    };
    let (op, arg) = single_key(m, path)?;
    let at = path.field(op);
    Ok(match op {
        "prefix" => {
            let (value, ignore_case) = affix_arg(arg, &at, "prefix")?;
            Matcher::Prefix { value, ignore_case }
        }
        "suffix" => {
            let (value, ignore_case) = affix_arg(arg, &at, "suffix")?;
            Matcher::Suffix { value, ignore_case }
        }
        "equals-ignore-case" => {
            Matcher::EqualsIgnoreCase(string_arg(arg, &at, "equals-ignore-case")?.to_owned())
        }
        "wildcard" => Matcher::Wildcard(parse_wildcard(string_arg(arg, &at, "wildcard")?, &at)?),
        "exists" => match arg {
            Value::Bool(b) => Matcher::Exists(*b),
            other => {
                return Err(at.err(format!(
                    "exists takes true or false, not {}",
                    kind_of(other)
                )));
            }
        },
        "anything-but" => Matcher::AnythingBut(parse_anything_but(arg, &at)?),
        "numeric" => Matcher::Numeric(parse_numeric(arg, &at)?),
        "cidr" => Matcher::Cidr(parse_cidr(string_arg(arg, &at, "cidr")?, &at)?),
        other => {
            return Err(path.err(format!(
                "unknown matcher `{other}`; known: prefix, suffix, equals-ignore-case, wildcard, \
                 exists, anything-but, numeric, cidr"
            )));
        }
    })
}

fn parse_anything_but(arg: &Value, path: &Path) -> Result<AnythingBut, PatternError> {
    match arg {
        Value::String(_) | Value::Number(_) => Ok(AnythingBut::Values(vec![
            lit(arg).ok_or_else(|| path.err("a number out of range"))?,
        ])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(path.err("anything-but takes a non-empty list"));
            }
            let mut values = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(_) | Value::Number(_) => {
                        values.push(
                            lit(item).ok_or_else(|| path.index(i).err("a number out of range"))?,
                        );
                    }
                    other => {
                        return Err(path.index(i).err(format!(
                            "anything-but lists strings or numbers, not {}",
                            kind_of(other)
                        )));
                    }
                }
            }
            Ok(AnythingBut::Values(values))
        }
        Value::Object(m) => {
            let (op, inner) = single_key(m, path)?;
            let at = path.field(op);
            let strings = |what: &str| -> Result<Vec<String>, PatternError> {
                match inner {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| string_arg(x, &at.index(i), what).map(str::to_owned))
                        .collect(),
                    other => Err(at.err(format!(
                        "{what} takes a string or a non-empty list of strings, not {}",
                        kind_of(other)
                    ))),
                }
            };
            match op {
                "prefix" => Ok(AnythingBut::Prefix(
                    string_arg(inner, &at, "prefix")?.to_owned(),
                )),
                "suffix" => Ok(AnythingBut::Suffix(
                    string_arg(inner, &at, "suffix")?.to_owned(),
                )),
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(strings("equals-ignore-case")?)),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings("wildcard")?
                        .iter()
                        .map(|w| parse_wildcard(w, &at))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(path.err(format!(
                    "anything-but takes a value, a list, or one of prefix, suffix, \
                     equals-ignore-case, wildcard; unknown key `{other}`"
                ))),
            }
        }
        other => Err(path.err(format!(
            "anything-but takes a string, a number, a list or an object, not {}",
            kind_of(other)
        ))),
    }
}

fn parse_numeric(arg: &Value, path: &Path) -> Result<Vec<(Cmp, f64)>, PatternError> {
    let Value::Array(items) = arg else {
        return Err(path.err(format!(
            "numeric takes an array like [\">\", 0, \"<=\", 5], not {}",
            kind_of(arg)
        )));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(path
            .err("numeric takes one or two (operator, number) pairs, like [\">\", 0, \"<=\", 5]"));
    }
    let mut out = Vec::new();
    for (i, pair) in items.chunks(2).enumerate() {
        let op = match pair[0].as_str() {
            Some("<") => Cmp::Lt,
            Some("<=") => Cmp::Le,
            Some("=") => Cmp::Eq,
            Some(">") => Cmp::Gt,
            Some(">=") => Cmp::Ge,
            _ => {
                return Err(path.index(2 * i).err(format!(
                    "a numeric operator is one of <, <=, =, >, >=, not {}",
                    pair[0]
                )));
            }
        };
        let n = pair[1].as_f64().ok_or_else(|| {
            path.index(2 * i + 1).err(format!(
                "numeric compares with a number, not {}",
                kind_of(&pair[1])
            ))
        })?;
        out.push((op, n));
    }
    let lower = out
        .iter()
        .filter(|(c, _)| matches!(c, Cmp::Gt | Cmp::Ge))
        .count();
    let upper = out
        .iter()
        .filter(|(c, _)| matches!(c, Cmp::Lt | Cmp::Le))
        .count();
    let eq = out.iter().filter(|(c, _)| *c == Cmp::Eq).count();
    if (eq > 0 && out.len() > 1) || lower > 1 || upper > 1 {
        return Err(path.err(
            "numeric takes `=` alone, or at most one lower bound (>, >=) and one upper bound (<, <=)",
        ));
    }
    if out.len() == 2 {
        let lo = out
            .iter()
            .find(|(c, _)| matches!(c, Cmp::Gt | Cmp::Ge))
            .map(|p| p.1);
        let hi = out
            .iter()
            .find(|(c, _)| matches!(c, Cmp::Lt | Cmp::Le))
            .map(|p| p.1);
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo >= hi
        {
            return Err(path.err(format!(
                "numeric range is empty: lower bound {lo} ≥ upper bound {hi}"
            )));
        }
    }
    Ok(out)
}

fn parse_wildcard(s: &str, path: &Path) -> Result<Wildcard, PatternError> {
    let mut toks = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => toks.push(Tok::Char(e)),
                Some(other) => {
                    return Err(path.err(format!(
                        "wildcard {s:?}: `\\{other}` is not an escape (only `\\*` and `\\\\` are)"
                    )));
                }
                None => {
                    return Err(path.err(format!("wildcard {s:?}: ends with a lone `\\`")));
                }
            },
            '*' => {
                if toks.last() == Some(&Tok::Star) {
                    return Err(
                        path.err(format!("wildcard {s:?}: consecutive `*` are not allowed"))
                    );
                }
                toks.push(Tok::Star);
            }
            c => toks.push(Tok::Char(c)),
        }
    }
    Ok(Glob(toks))
}

fn parse_cidr(s: &str, path: &Path) -> Result<Cidr, PatternError> {
    let bad = || {
        path.err(format!(
            "cidr {s:?}: expected an address/length like 10.0.0.0/24"
        ))
    };
    let (addr, bits) = s.split_once('/').ok_or_else(bad)?;
    let net: IpAddr = addr.parse().map_err(|_| bad())?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(bad());
    }
    Ok(Cidr { net, bits })
}

// ---- matching ---------------------------------------------------------------

impl Fields {
    fn matches(&self, event: &Map<String, Value>) -> bool {
        self.fields
            .iter()
            .all(|(name, node)| node.matches(event.get(name)))
            && self
                .ors
                .iter()
                .all(|alts| alts.iter().any(|alt| alt.matches(event)))
    }
}

impl Node {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            Node::Nested(sub) => match value {
                Some(Value::Object(m)) => sub.matches(m),
                Some(Value::Array(items)) => items.iter().any(|item| match item {
                    Value::Object(m) => sub.matches(m),
                    _ => false,
                }),
                // Absent (or not an object): only `exists: false` below
                // can still match.
                _ => sub.matches(&Map::new()),
            },
            Node::Leaf(matchers) => matchers.iter().any(|m| m.matches_field(value)),
        }
    }
}

impl Matcher {
    /// Against a field of the event (`None`: absent).
    fn matches_field(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Matcher::Exists(want), None) => !want,
            (_, None) => false,
            (Matcher::Exists(want), Some(Value::Object(_))) => !want,
            (Matcher::Exists(want), Some(_)) => *want,
            (_, Some(Value::Array(items))) => items.iter().any(|item| self.matches_value(item)),
            (_, Some(v)) => self.matches_value(v),
        }
    }

    /// Against one scalar value (an element of an array, or the field).
    fn matches_value(&self, v: &Value) -> bool {
        match self {
            Matcher::Exact(l) => lit_eq(l, v),
            Matcher::Prefix { value, ignore_case } => v.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().starts_with(&value.to_lowercase())
                } else {
                    s.starts_with(value.as_str())
                }
            }),
            Matcher::Suffix { value, ignore_case } => v.as_str().is_some_and(|s| {
                if *ignore_case {
                    s.to_lowercase().ends_with(&value.to_lowercase())
                } else {
                    s.ends_with(value.as_str())
                }
            }),
            Matcher::EqualsIgnoreCase(want) => v
                .as_str()
                .is_some_and(|s| s.to_lowercase() == want.to_lowercase()),
            Matcher::Wildcard(w) => v.as_str().is_some_and(|s| w.matches(s)),
            Matcher::Exists(want) => *want,
            Matcher::AnythingBut(but) => match but {
                AnythingBut::Values(ls) => {
                    !matches!(v, Value::Object(_) | Value::Array(_))
                        && !ls.iter().any(|l| lit_eq(l, v))
                }
                AnythingBut::Prefix(p) => v.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
                AnythingBut::Suffix(p) => v.as_str().is_some_and(|s| !s.ends_with(p.as_str())),
                AnythingBut::IgnoreCase(ls) => v.as_str().is_some_and(|s| {
                    let s = s.to_lowercase();
                    !ls.iter().any(|l| l.to_lowercase() == s)
                }),
                AnythingBut::Wildcard(ws) => {
                    v.as_str().is_some_and(|s| !ws.iter().any(|w| w.matches(s)))
                }
            },
            Matcher::Numeric(conds) => v.as_f64().is_some_and(|n| {
                v.is_number()
                    && conds.iter().all(|(c, x)| match c {
                        Cmp::Lt => n < *x,
                        Cmp::Le => n <= *x,
                        Cmp::Eq => n == *x,
                        Cmp::Gt => n > *x,
                        Cmp::Ge => n >= *x,
                    })
            }),
            Matcher::Cidr(c) => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| c.contains(ip)),
        }
    }
}

fn lit_eq(l: &Lit, v: &Value) -> bool {
    match (l, v) {
        (Lit::Str(a), Value::String(b)) => a == b,
        (Lit::Num(a), Value::Number(b)) => b.as_f64() == Some(*a),
        (Lit::Bool(a), Value::Bool(b)) => a == b,
        (Lit::Null, Value::Null) => true,
        _ => false,
    }
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.bits))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.bits))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
