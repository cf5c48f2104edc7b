//! YAML → a located, untyped tree, through serde-saphyr.
//!
//! Every node keeps the line and column where it is defined
//! (`serde_saphyr::Spanned`), so the checker can locate each problem and
//! report them all, instead of stopping at the first serde error.
//! Duplicate keys are passed through and reported by the checker, with
//! both locations. Budgets bound nesting depth, node count and alias
//! expansion, so no input can exhaust the stack or memory.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned};

/// Deepest nesting of sequences and mappings accepted (stack.yaml needs 6).
pub const MAX_DEPTH: usize = 32;
/// Most nodes accepted in one file.
pub const MAX_NODES: usize = 50_000;
/// Most events aliases may replay (stops "billion laughs").
pub const MAX_ALIAS_EVENTS: usize = 10_000;
/// Largest stack file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub line: usize,
    pub column: usize,
    /// The scalar's source text, when it could be sliced out (plain scalars).
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// "a string", "a mapping", ... for type errors.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }

    /// A short, one-line rendering of the value for error messages.
    pub fn show(&self) -> String {
        let mut out = String::new();
        self.show_into(&mut out);
        clip(&out)
    }

    fn show_into(&self, out: &mut String) {
        if out.len() > 200 {
            return;
        }
        match &self.kind {
            Kind::Null => out.push_str(
                self.raw
                    .as_deref()
                    .filter(|r| !r.is_empty())
                    .unwrap_or("null"),
            ),
            Kind::Bool(b) => match &self.raw {
                Some(r) => out.push_str(r),
                None => out.push_str(if *b { "true" } else { "false" }),
            },
            Kind::Int(i) => match &self.raw {
                Some(r) => out.push_str(r),
                None => out.push_str(&i.to_string()),
            },
            Kind::Float(x) => match &self.raw {
                Some(r) => out.push_str(r),
                None => out.push_str(&x.to_string()),
            },
            Kind::Str(s) => out.push_str(s),
            Kind::Seq(items) => {
                out.push('[');
                for (i, n) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    n.show_into(out);
                    if out.len() > 200 {
                        break;
                    }
                }
                out.push(']');
            }
            Kind::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.show_into(out);
                    out.push_str(": ");
                    v.show_into(out);
                    if out.len() > 200 {
                        break;
                    }
                }
                out.push('}');
            }
        }
    }
}

/// Makes a value printable on one line: control characters escaped, long
/// values shortened in the middle.
pub(crate) fn clip(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| {
            if c == '`' {
                vec!['\\', '`']
            } else if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    let n = escaped.chars().count();
    if n <= 80 {
        return escaped;
    }
    let head: String = escaped.chars().take(40).collect();
    let tail: String = escaped.chars().skip(n - 20).collect();
    format!("{head}…{tail} ({} characters)", s.chars().count())
}

/// What serde-saphyr hands us: a node with its location.
struct Raw(Kind2);

enum Kind2 {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw(Kind2::Null))
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw(Kind2::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw(Kind2::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw(Kind2::Int(i128::from(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw(Kind2::Int(i128::from(v))))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw(Kind2::Int(v)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(match i128::try_from(v) {
            Ok(i) => Raw(Kind2::Int(i)),
            Err(_) => Raw(Kind2::Str(v.to_string())),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw(Kind2::Float(v)))
    }
    fn visit_char<E>(self, v: char) -> Result<Raw, E> {
        Ok(Raw(Kind2::Str(v.to_string())))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw(Kind2::Str(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw(Kind2::Str(v)))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw(Kind2::Str(String::from_utf8_lossy(v).into_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(x) = a.next_element()? {
            items.push(x);
        }
        Ok(Raw(Kind2::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(kv) = a.next_entry()? {
            entries.push(kv);
        }
        Ok(Raw(Kind2::Map(entries)))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _a: A) -> Result<Raw, A::Error> {
        Err(de::Error::custom("tagged values are not supported"))
    }
}

fn convert(src: &str, s: Spanned<Raw>) -> Node {
    let loc = s.defined;
    let line = usize::try_from(loc.line()).unwrap_or(usize::MAX);
    let column = usize::try_from(loc.column()).unwrap_or(usize::MAX);
    let span = loc.span();
    let raw_text = || -> Option<String> {
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        let text = src.get(start..start.checked_add(len)?)?;
        (!text.is_empty() && !text.starts_with(['"', '\'', '|', '>', '*', '&', '!']))
            .then(|| text.to_owned())
    };
    let (kind, raw) = match s.value.0 {
        Kind2::Null => (Kind::Null, raw_text()),
        Kind2::Bool(b) => (Kind::Bool(b), raw_text()),
        Kind2::Int(i) => (Kind::Int(i), raw_text()),
        Kind2::Float(x) => (Kind::Float(x), raw_text()),
        Kind2::Str(v) => (Kind::Str(v), None),
        Kind2::Seq(items) => (
            Kind::Seq(items.into_iter().map(|n| convert(src, n)).collect()),
            None,
        ),
        Kind2::Map(entries) => (
            Kind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (convert(src, k), convert(src, v)))
                    .collect(),
            ),
            None,
        ),
    };
    Node {
        kind,
        line: line.max(1),
        column: column.max(1),
        raw,
    }
}

/// A YAML-level problem: where, what, the offending source line and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses one YAML document into a located tree.
pub(crate) fn parse(src: &str) -> Result<Node, YamlError> {
    let options = serde_saphyr::options! {
        // Reported by the checker with both locations, all at once.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        // `yes`/`no`/`on`/`off` stay strings (YAML 1.2).
        strict_booleans: true,
        // `0755` stays a string instead of becoming a float.
        leading_zero_numbers_as_strings: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        emit_comments: false,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_documents: 1,
            max_aliases: 1_000,
            max_anchors: 1_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EVENTS,
            max_replay_stack_depth: 8,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(src, options) {
        Ok(n) => Ok(convert(src, n)),
        Err(e) => Err(yaml_error(src, &e)),
    }
}

fn yaml_error(src: &str, e: &serde_saphyr::Error) -> YamlError {
    let (line, column) = e
        .location()
        .map(|l| {
            (
                usize::try_from(l.line()).unwrap_or(1).max(1),
                usize::try_from(l.column()).unwrap_or(1).max(1),
            )
        })
        .unwrap_or((1, 1));
    let inner = match e {
        serde_saphyr::Error::AliasError { error, .. } => error.as_ref(),
        other => other,
    };
    let detail = serde_saphyr::DefaultMessageFormatter.format_message(inner);
    let detail = clip(&detail);
    let line_text = src.lines().nth(line.saturating_sub(1)).map(clip);
    let got = line_text
        .filter(|t| !t.trim().is_empty())
        .map(|t| format!("got `{t}`; "))
        .unwrap_or_default();
    let message = match inner {
        serde_saphyr::Error::Budget { breach, .. } => {
            use serde_saphyr::budget::BudgetBreach as B;
            match breach {
                B::Depth { .. } => format!(
                    "invalid YAML: nested more than {MAX_DEPTH} levels deep ({got}allowed: at most {MAX_DEPTH} levels of nesting)"
                ),
                B::Documents { .. } => format!(
                    "invalid YAML: more than one document ({got}allowed: a single document, no `---` separator)"
                ),
                _ => format!(
                    "invalid YAML: too large ({detail}) ({got}allowed: at most {MAX_NODES} nodes, 1000 anchors and aliases)"
                ),
            }
        }
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => format!(
            "invalid YAML: aliases expand to too much data, an alias bomb? ({got}allowed: aliases expanding to at most {MAX_ALIAS_EVENTS} nodes in total)"
        ),
        serde_saphyr::Error::MultipleDocuments { .. } => format!(
            "invalid YAML: more than one document ({got}allowed: a single document, no `---` separator)"
        ),
        _ if detail.contains("recursion limit") => format!(
            "invalid YAML: nested more than {MAX_DEPTH} levels deep ({got}allowed: at most {MAX_DEPTH} levels of nesting)"
        ),
        _ if detail.contains("tab") => {
            format!("invalid YAML: {detail} ({got}allowed: spaces for indentation, no tabs)")
        }
        _ => {
            let got = got.trim_end_matches("; ");
            if got.is_empty() {
                format!("invalid YAML: {detail}")
            } else {
                format!("invalid YAML: {detail} ({got})")
            }
        }
    };
    YamlError {
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(src: &str) -> Kind {
        match parse(src) {
            Ok(n) => n.kind,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn scalars_keep_yaml_1_2_types() {
        let Kind::Map(entries) =
            kind("a: yes\nb: true\nc: 0755\nd: 12\ne: 1.5\nf: ~\ng: .nan\nh: '3'\n")
        else {
            panic!("not a map")
        };
        let kinds: Vec<&Kind> = entries.iter().map(|(_, v)| &v.kind).collect();
        assert_eq!(kinds[0], &Kind::Str("yes".into()));
        assert_eq!(kinds[1], &Kind::Bool(true));
        assert_eq!(kinds[2], &Kind::Str("0755".into()));
        assert_eq!(kinds[3], &Kind::Int(12));
        assert_eq!(kinds[4], &Kind::Float(1.5));
        assert_eq!(kinds[5], &Kind::Null);
        assert_eq!(kinds[6], &Kind::Str(".nan".into()));
        assert_eq!(kinds[7], &Kind::Str("3".into()));
    }

    #[test]
    fn nodes_are_located() {
        let n = parse("a:\n  b: [1, x]\n").unwrap_or_else(|e| panic!("{e:?}"));
        let Kind::Map(top) = n.kind else { panic!() };
        let (k, v) = &top[0];
        assert_eq!((k.line, k.column), (1, 1));
        let Kind::Map(inner) = &v.kind else { panic!() };
        let (k, v) = &inner[0];
        assert_eq!((k.line, k.column), (2, 3));
        let Kind::Seq(items) = &v.kind else { panic!() };
        assert_eq!((items[1].line, items[1].column), (2, 10));
    }

    #[test]
    fn duplicates_pass_through() {
        let Kind::Map(top) = kind("a: 1\na: 2\n") else {
            panic!()
        };
        assert_eq!(top.len(), 2);
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        let deep_block: String = (0..100)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        assert!(parse(&deep_block).is_err());
        let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (p, c) in ('a'..='h').zip('b'..='i') {
            bomb.push_str(&format!(
                "{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            ));
        }
        let e = parse(&bomb).err().map(|e| e.message).unwrap_or_default();
        assert!(e.contains("alias bomb"), "{e}");
        assert!(parse("a: *nope\n").is_err());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert!(parse("a:\n\tb: 1\n").is_err());
        assert_eq!(kind(""), Kind::Null);
    }
}
