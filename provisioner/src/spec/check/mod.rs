//! From the located YAML tree to a validated [`Stack`], collecting every
//! problem instead of stopping at the first.
//!
//! One file per section of stack.yaml: `targets.rs` (variables, build,
//! the stack name, targets and the default one), `buckets.rs`,
//! `functions.rs` (each function, its source, environment and access),
//! `triggers.rs` (triggers and the checks across them); this file holds the
//! checker and the primitives every section uses.

mod buckets;
mod catalog;
mod functions;
mod targets;
mod triggers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::interp::{self, Piece, REFS_ALLOWED};
use super::rules;
use super::yaml::{self, Kind, Node, clip};
use super::{
    Architecture, BucketSpec, CatalogSpec, ColumnSpec, ColumnType, DEFAULT_BUCKET_NAME_PATTERN,
    DEFAULT_BUILD_PROFILE, DEFAULT_LOCAL_DIR, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S, EnvValue, FunctionSpec, LOCAL_REGION, Location, PLACEHOLDER_ACCOUNT,
    SpecError, SpecErrors, Stack, TableSpec, Target, Trigger,
};

const TOP_KEYS: [&str; 8] = [
    "stack",
    "default_target",
    "targets",
    "variables",
    "build",
    "buckets",
    "functions",
    "catalog",
];
const FUNCTION_KEYS: [&str; 10] = [
    "source",
    "binary",
    "memory",
    "timeout",
    "architecture",
    "log_retention_days",
    "environment",
    "reads",
    "writes",
    "triggers",
];
const PROVIDERS: [&str; 2] = ["aws", "local"];
const TRIGGER_KINDS: [&str; 2] = ["s3", "eventbridge"];
const TOP_ALLOWED: &str = "a mapping with keys stack, default_target, targets, variables, \
     build, buckets, functions, catalog (and x-* keys for anchors)";
const BUILD_ALLOWED: &str = "`{ profile: NAME }`: the cargo profile the function packages are \
     built with";
const PROFILE_ALLOWED: &str = "a cargo profile name (letters, digits, `-`, `_`; not debug, \
     test, bench, doc or check), such as release or lambda";
const PATTERN_ALLOWED: &str = "text with the placeholders {stack}, {bucket}, {account}, {region}";
const REGION_ALLOWED: &str = "an AWS region such as us-east-1 or eu-west-3 \
     ([a-z]{2}(-[a-z]+)+-digit)";

/// `` `value` `` for messages: one line, clipped.
fn q(s: &str) -> String {
    if s.is_empty() {
        return "`\"\"`".to_owned();
    }
    format!("`{}`", clip(s))
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

fn plural(word: &str, n: usize) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn msg(what: &str, got: &str, allowed: &str) -> String {
    format!("{what} (got {got}; allowed: {allowed})")
}

fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    rules::did_you_mean(word, candidates)
        .map(|c| format!(", did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Appends a key to a key path, quoting keys that are not plain words.
fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_owned()
    } else {
        format!("\"{}\"", clip(key).replace('"', "\\\""))
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A mapping entry with a string key.
struct Entry<'n> {
    key: String,
    key_node: &'n Node,
    value: &'n Node,
}

struct Fields<'n> {
    entries: Vec<Entry<'n>>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&Entry<'n>> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A string value after `${var.*}` substitution.
struct Text {
    value: String,
    /// The text as written, when it held references.
    written: Option<String>,
}

impl Text {
    fn got(&self) -> String {
        match &self.written {
            Some(w) => format!("{} from {}", q(&self.value), q(w)),
            None => q(&self.value),
        }
    }
}

/// The naming pattern and, when the file sets it, where: line, column and
/// whether `--var` overrode it.
type Pattern = (String, Option<(usize, usize, bool)>);

/// A bucket and where a bad rendered name is reported (line, column, key);
/// `None` when its own `name:` is invalid (already reported).
type BucketEntry = (BucketSpec, Option<(usize, usize, String)>);

struct Var {
    value: String,
    line: usize,
    column: usize,
    from_cli: bool,
}

struct TriggerInfo<'n> {
    function: String,
    path: String,
    item: &'n Node,
    bucket: String,
    bucket_node: &'n Node,
    trigger: Trigger,
}

struct Checker<'a> {
    file: &'a str,
    dir: PathBuf,
    errors: Vec<SpecError>,
    vars: BTreeMap<String, Var>,
}

pub(super) fn check(
    src: &str,
    file: &str,
    base_dir: &Path,
    cli_vars: &[(String, String)],
) -> Result<Stack, SpecErrors> {
    let dir = absolute_dir(base_dir);
    let mut c = Checker {
        file,
        dir,
        errors: Vec::new(),
        vars: BTreeMap::new(),
    };
    if src.len() > yaml::MAX_FILE_BYTES {
        c.push_at(
            1,
            1,
            "",
            format!(
                "file too large ({} bytes; allowed: at most {} bytes)",
                src.len(),
                yaml::MAX_FILE_BYTES
            ),
        );
        return Err(SpecErrors(c.errors));
    }
    let stack = match yaml::parse(src) {
        Ok(root) => c.stack(&root, cli_vars),
        Err(e) => {
            c.push_at(e.line, e.column, "", e.message);
            None
        }
    };
    match stack {
        Some(s) if c.errors.is_empty() => Ok(s),
        _ => {
            if c.errors.is_empty() {
                c.push_at(1, 1, "", "invalid stack file".to_owned());
            }
            c.errors.sort_by_key(|e| (e.line, e.column));
            c.errors.dedup();
            Err(SpecErrors(c.errors))
        }
    }
}

fn absolute_dir(p: &Path) -> PathBuf {
    p.canonicalize()
        .or_else(|_| std::path::absolute(p))
        .map(|p| normalize(&p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Removes `.` and resolves `..` without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl<'a> Checker<'a> {
    fn push_at(&mut self, line: usize, column: usize, key: &str, message: String) {
        self.errors.push(SpecError {
            file: self.file.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message,
        });
    }

    fn push(&mut self, at: &Node, key: &str, message: String) {
        self.push_at(at.line, at.column, key, message);
    }

    fn type_error(&mut self, node: &Node, path: &str, expected: &str, allowed: &str) {
        let what = format!("must be {expected}, not {}", node.describe());
        self.push(node, path, msg(&what, &q(&node.show()), allowed));
    }

    fn missing(&mut self, owner: &Node, path: &str, allowed: &str) {
        self.push(
            owner,
            path,
            format!("required key is missing (allowed: {allowed})"),
        );
    }

    /// The string-keyed entries of a mapping (null is an empty mapping).
    /// Reports non-string and duplicate keys.
    fn entries<'n>(&mut self, node: &'n Node, path: &str, allowed: &str) -> Option<Vec<Entry<'n>>> {
        let pairs = match &node.kind {
            Kind::Null => return Some(Vec::new()),
            Kind::Map(pairs) => pairs,
            _ => {
                self.type_error(node, path, "a mapping", allowed);
                return None;
            }
        };
        let mut out: Vec<Entry<'n>> = Vec::new();
        for (k, v) in pairs {
            let Kind::Str(key) = &k.kind else {
                let what = format!("keys must be strings, not {}", k.describe());
                self.push(k, path, msg(&what, &q(&k.show()), allowed));
                continue;
            };
            if let Some(first) = out.iter().find(|e| &e.key == key) {
                let what = format!(
                    "duplicate key, first defined at line {}, column {}",
                    first.key_node.line, first.key_node.column
                );
                self.push(k, &child(path, key), msg(&what, &q(key), "each key once"));
                continue;
            }
            out.push(Entry {
                key: key.clone(),
                key_node: k,
                value: v,
            });
        }
        Some(out)
    }

    fn unknown_keys(&mut self, entries: &[Entry<'_>], path: &str, allowed: &[&str], ext_ok: bool) {
        for e in entries {
            if allowed.contains(&e.key.as_str()) || (ext_ok && e.key.starts_with("x-")) {
                continue;
            }
            let what = if e.key == "retain" {
                // The one key users carry over from buckets: say why not.
                "`retain` applies to buckets only (it keeps a bucket and its data when stackctl \
                 would delete it; nothing else holds data)"
                    .to_owned()
            } else {
                format!("unknown key{}", suggest(&e.key, allowed.iter().copied()))
            };
            let allowed_text = if ext_ok {
                format!("{}, x-*", allowed.join(", "))
            } else {
                allowed.join(", ")
            };
            self.push(
                e.key_node,
                &child(path, &e.key),
                msg(&what, &q(&e.key), &allowed_text),
            );
        }
    }

    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        what: &str,
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, path, what)?;
        self.unknown_keys(&entries, path, allowed, false);
        Some(Fields { entries })
    }

    /// Splits a string into pieces and substitutes `${var.*}`.
    fn refs(&mut self, node: &Node, path: &str, s: &str) -> Option<(Vec<Piece>, bool)> {
        let pieces = match interp::parse_refs(s) {
            Ok(p) => p,
            Err(reason) => {
                self.push(node, path, msg(&reason, &q(s), REFS_ALLOWED));
                return None;
            }
        };
        let mut out: Vec<Piece> = Vec::new();
        let mut ok = true;
        let mut substituted = false;
        for p in pieces {
            let p = match p {
                Piece::Var(name) => match self.vars.get(&name) {
                    Some(v) => {
                        substituted = true;
                        Piece::Lit(v.value.clone())
                    }
                    None => {
                        let names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                        let what = format!(
                            "unknown variable `{}`{}",
                            clip(&name),
                            suggest(&name, names.iter().copied())
                        );
                        let allowed =
                            format!("variables declared under `variables:`: {}", list(&names));
                        self.push(node, path, msg(&what, &q(s), &allowed));
                        ok = false;
                        continue;
                    }
                },
                other => other,
            };
            match (out.last_mut(), p) {
                (Some(Piece::Lit(prev)), Piece::Lit(next)) => prev.push_str(&next),
                (_, p) => out.push(p),
            }
        }
        ok.then_some((out, substituted))
    }

    /// A string field; `${var.*}` substituted.
    fn text(&mut self, node: &Node, path: &str, allowed: &str) -> Option<Text> {
        let Kind::Str(s) = &node.kind else {
            self.type_error(node, path, "a string", allowed);
            return None;
        };
        let (pieces, substituted) = self.refs(node, path, s)?;
        let mut value = String::new();
        for p in &pieces {
            match p {
                Piece::Lit(l) => value.push_str(l),
                Piece::Bucket(_) | Piece::Function(_) => {
                    let what = "`${bucket.*}` and `${function.*}` references are only allowed in \
                                functions.*.environment values";
                    self.push(node, path, msg(what, &q(s), allowed));
                    return None;
                }
                Piece::Var(_) => {}
            }
        }
        Some(Text {
            value,
            written: substituted.then(|| s.clone()),
        })
    }

    /// A boolean field: a YAML boolean, or a string that is `true` or
    /// `false` after substitution.
    fn boolean(&mut self, node: &Node, path: &str, allowed: &str) -> Option<bool> {
        match &node.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Str(_) => {
                let t = self.text(node, path, allowed)?;
                match t.value.as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => {
                        self.push(node, path, msg("is not a boolean", &t.got(), allowed));
                        None
                    }
                }
            }
            _ => {
                self.type_error(node, path, "a boolean", allowed);
                None
            }
        }
    }

    /// An integer field: a YAML integer, or a string that is one after
    /// substitution. Returns the value and how to show it.
    fn int(&mut self, node: &Node, path: &str, allowed: &str) -> Option<(i64, String)> {
        match &node.kind {
            Kind::Int(i) => {
                let got = q(&node.show());
                match i64::try_from(*i) {
                    Ok(v) => Some((v, got)),
                    Err(_) => {
                        self.push(node, path, msg("is out of range", &got, allowed));
                        None
                    }
                }
            }
            Kind::Str(_) => {
                let t = self.text(node, path, allowed)?;
                match t.value.trim().parse::<i64>() {
                    Ok(v) => Some((v, t.got())),
                    Err(_) => {
                        self.push(node, path, msg("must be an integer", &t.got(), allowed));
                        None
                    }
                }
            }
            _ => {
                self.type_error(node, path, "an integer", allowed);
                None
            }
        }
    }

    /// A list of strings (null is empty).
    fn strings<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &str,
    ) -> Option<Vec<(Text, &'n Node, String)>> {
        let items = match &node.kind {
            Kind::Null => return Some(Vec::new()),
            Kind::Seq(items) => items,
            _ => {
                self.type_error(node, path, "a list", allowed);
                return None;
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = index(path, i);
            if let Some(t) = self.text(item, &p, allowed) {
                out.push((t, item, p));
            }
        }
        Some(out)
    }

    fn stack(&mut self, root: &Node, cli_vars: &[(String, String)]) -> Option<Stack> {
        match &root.kind {
            Kind::Map(_) => {}
            Kind::Null => {
                self.push_at(
                    1,
                    1,
                    "",
                    format!("the stack file is empty (allowed: {TOP_ALLOWED})"),
                );
                return None;
            }
            _ => {
                let what = format!("the top level must be a mapping, not {}", root.describe());
                self.push(root, "", msg(&what, &q(&root.show()), TOP_ALLOWED));
                return None;
            }
        }
        let entries = self.entries(root, "", TOP_ALLOWED)?;
        self.unknown_keys(&entries, "", &TOP_KEYS, true);
        let top = Fields { entries };

        self.variables(top.get("variables"), cli_vars);

        let name = match top.get("stack") {
            None => {
                self.missing(
                    root,
                    "stack",
                    "a stack name of a-z, 0-9 and `-`, 1 to 32 characters",
                );
                None
            }
            Some(e) => self.stack_name(e.value),
        };

        let build_profile = self.build_profile(top.get("build"));
        let (targets, target_names) = self.targets(root, top.get("targets"));
        let default_target = self.default_target(root, top.get("default_target"), &target_names);
        let pattern = self.bucket_pattern();
        let buckets = self.buckets(top.get("buckets"));
        let bucket_ids: BTreeSet<String> = buckets.keys().cloned().collect();

        let function_ids: BTreeSet<String> = match top.get("functions").map(|e| &e.value.kind) {
            Some(Kind::Map(pairs)) => pairs
                .iter()
                .filter_map(|(k, _)| match &k.kind {
                    Kind::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => BTreeSet::new(),
        };
        let mut triggers: Vec<TriggerInfo<'_>> = Vec::new();
        let mut access = BTreeMap::new();
        let mut functions = BTreeMap::new();
        if let Some(e) = top.get("functions") {
            let allowed = "a mapping of function id to its settings";
            if let Some(entries) = self.entries(e.value, "functions", allowed) {
                for f in entries {
                    if let Some(spec) = self.function(
                        &f,
                        name.as_deref(),
                        &bucket_ids,
                        &function_ids,
                        &mut triggers,
                        &mut access,
                    ) {
                        functions.insert(f.key.clone(), spec);
                    }
                }
            }
        }

        self.check_triggers(name.as_deref(), &access, &triggers);
        let catalog = self.catalog(top.get("catalog"), name.as_deref(), &bucket_ids);
        if let (Some(stack_name), Some(pattern)) = (name.as_deref(), pattern.as_ref()) {
            self.check_bucket_names(stack_name, pattern, &buckets, &targets);
        }

        Some(Stack {
            name: name?,
            dir: self.dir.clone(),
            default_target: default_target?,
            targets,
            build_profile: build_profile?,
            bucket_name_pattern: pattern?.0,
            buckets: buckets.into_iter().map(|(k, (b, _))| (k, b)).collect(),
            functions,
            catalog,
        })
    }
}

#[cfg(test)]
mod tests;
