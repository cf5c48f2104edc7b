//! From the located YAML tree to a validated [`Stack`], collecting every
//! problem instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::interp::{self, Piece, REFS_ALLOWED};
use super::rules;
use super::yaml::{self, Kind, Node, clip};
use super::{
    Architecture, BucketSpec, DEFAULT_BUCKET_NAME_PATTERN, DEFAULT_BUILD_PROFILE,
    DEFAULT_LOCAL_DIR, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, EnvValue,
    FunctionSpec, LOCAL_REGION, PLACEHOLDER_ACCOUNT, SpecError, SpecErrors, Stack, Target, Trigger,
};

const TOP_KEYS: [&str; 7] = [
    "stack",
    "default_target",
    "targets",
    "variables",
    "build",
    "buckets",
    "functions",
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
     build, buckets, functions (and x-* keys for anchors)";
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
        })
    }

    fn variables(&mut self, entry: Option<&Entry<'_>>, cli_vars: &[(String, String)]) {
        let allowed = "a mapping of variable name to a string, integer or boolean";
        let mut at = (1, 1);
        if let Some(e) = entry {
            at = (e.key_node.line, e.key_node.column);
            if let Some(entries) = self.entries(e.value, "variables", allowed) {
                for v in entries {
                    let path = child("variables", &v.key);
                    if let Some(problem) = rules::name_problem(&v.key) {
                        self.push(
                            v.key_node,
                            &path,
                            msg(
                                &format!("variable name {problem}"),
                                &q(&v.key),
                                "letters, digits, `_` and `-`, starting with a letter",
                            ),
                        );
                        continue;
                    }
                    let value = match &v.value.kind {
                        Kind::Str(s) => s.clone(),
                        Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => v.value.show(),
                        _ => {
                            self.type_error(
                                v.value,
                                &path,
                                "a string, integer or boolean",
                                "a scalar value",
                            );
                            continue;
                        }
                    };
                    if value.contains("${") {
                        self.push(
                            v.value,
                            &path,
                            msg(
                                "variable values are literal text and cannot hold `${` references",
                                &q(&value),
                                "text without `${`",
                            ),
                        );
                        continue;
                    }
                    self.vars.insert(
                        v.key.clone(),
                        Var {
                            value,
                            line: v.value.line,
                            column: v.value.column,
                            from_cli: false,
                        },
                    );
                }
            }
        }
        for (k, value) in cli_vars {
            let path = child("variables", k);
            let names: Vec<String> = self.vars.keys().cloned().collect();
            match self.vars.get_mut(k) {
                Some(var) if !value.contains("${") => {
                    var.value = value.clone();
                    var.from_cli = true;
                }
                Some(_) => {
                    let m = msg(
                        &format!(
                            "`--var {}` holds a `${{` reference; variable values are literal text",
                            clip(k)
                        ),
                        &q(value),
                        "text without `${`",
                    );
                    self.push_at(at.0, at.1, &path, m);
                }
                None => {
                    let what = format!(
                        "`--var {}={}` sets a variable the stack file does not declare{}",
                        clip(k),
                        clip(value),
                        suggest(k, names.iter().map(String::as_str))
                    );
                    let allowed =
                        format!("variables declared under `variables:`: {}", list(&names));
                    self.push_at(at.0, at.1, &path, msg(&what, &q(k), &allowed));
                }
            }
        }
    }

    fn build_profile(&mut self, entry: Option<&Entry<'_>>) -> Option<String> {
        let Some(e) = entry else {
            return Some(DEFAULT_BUILD_PROFILE.to_owned());
        };
        let entries = self.entries(e.value, "build", BUILD_ALLOWED)?;
        self.unknown_keys(&entries, "build", &["profile"], false);
        let Some(p) = entries.iter().find(|e| e.key == "profile") else {
            return Some(DEFAULT_BUILD_PROFILE.to_owned());
        };
        let path = child("build", "profile");
        let v = self.text(p.value, &path, PROFILE_ALLOWED)?;
        match rules::cargo_profile_problem(&v.value) {
            None => Some(v.value),
            Some(problem) => {
                self.push(p.value, &path, msg(problem, &v.got(), PROFILE_ALLOWED));
                None
            }
        }
    }

    fn stack_name(&mut self, node: &Node) -> Option<String> {
        let allowed = "a-z, 0-9 and `-`, 1 to 32 characters, not starting or ending with `-`";
        let t = self.text(node, "stack", allowed)?;
        if let Some(problem) = rules::stack_name_problem(&t.value) {
            self.push(
                node,
                "stack",
                msg(&format!("stack name {problem}"), &t.got(), allowed),
            );
            return None;
        }
        Some(t.value)
    }

    fn targets(
        &mut self,
        root: &Node,
        entry: Option<&Entry<'_>>,
    ) -> (BTreeMap<String, Target>, Vec<String>) {
        let allowed = "a mapping of target name to `{ provider: aws, region: ... }` or \
                       `{ provider: local }`";
        let mut targets = BTreeMap::new();
        let mut names = Vec::new();
        let Some(e) = entry else {
            self.missing(root, "targets", allowed);
            return (targets, names);
        };
        let Some(entries) = self.entries(e.value, "targets", allowed) else {
            return (targets, names);
        };
        if entries.is_empty() {
            self.push(
                e.key_node,
                "targets",
                msg(
                    "must define at least one target",
                    &q(&e.value.show()),
                    allowed,
                ),
            );
        }
        for t in entries {
            names.push(t.key.clone());
            if let Some(target) = self.target(&t) {
                targets.insert(t.key.clone(), target);
            }
        }
        (targets, names)
    }

    fn target(&mut self, t: &Entry<'_>) -> Option<Target> {
        let path = child("targets", &t.key);
        let mut ok = true;
        if let Some(problem) = rules::name_problem(&t.key) {
            let what = format!("target name {problem}");
            self.push(
                t.key_node,
                &path,
                msg(
                    &what,
                    &q(&t.key),
                    "letters, digits, `_` and `-`, starting with a letter",
                ),
            );
            ok = false;
        }
        let entries = self.entries(
            t.value,
            &path,
            "`{ provider: aws, region: ... }` or `{ provider: local }`",
        )?;
        let provider_path = child(&path, "provider");
        let provider = match entries.iter().find(|e| e.key == "provider") {
            None => {
                self.missing(t.key_node, &provider_path, "aws, local");
                None
            }
            Some(p) => {
                let v = self.text(p.value, &provider_path, "aws, local")?;
                if PROVIDERS.contains(&v.value.as_str()) {
                    Some(v.value)
                } else {
                    let what = format!("unknown provider{}", suggest(&v.value, PROVIDERS));
                    self.push(p.value, &provider_path, msg(&what, &v.got(), "aws, local"));
                    None
                }
            }
        };
        let allowed: &[&str] = match provider.as_deref() {
            Some("aws") => &["provider", "region", "profile"],
            Some("local") => &["provider", "dir"],
            _ => &["provider", "region", "profile", "dir"],
        };
        self.unknown_keys(&entries, &path, allowed, false);
        let f = Fields { entries };
        let target = match provider.as_deref() {
            Some("aws") => {
                let region_path = child(&path, "region");
                let region = match f.get("region") {
                    None => {
                        self.missing(t.key_node, &region_path, REGION_ALLOWED);
                        None
                    }
                    Some(r) => {
                        let v = self.text(r.value, &region_path, REGION_ALLOWED)?;
                        if rules::is_region(&v.value) {
                            Some(v.value)
                        } else {
                            self.push(
                                r.value,
                                &region_path,
                                msg("not an AWS region name", &v.got(), REGION_ALLOWED),
                            );
                            None
                        }
                    }
                };
                let profile = match f.get("profile") {
                    None => None,
                    Some(p) => {
                        let pp = child(&path, "profile");
                        let v = self.text(p.value, &pp, "a profile name from ~/.aws/config")?;
                        if v.value.trim().is_empty() {
                            self.push(
                                p.value,
                                &pp,
                                msg(
                                    "must not be empty",
                                    &v.got(),
                                    "a profile name; omit the key for the default chain",
                                ),
                            );
                            return None;
                        }
                        Some(v.value)
                    }
                };
                Some(Target::Aws {
                    region: region?,
                    profile,
                })
            }
            Some("local") => {
                let dir = match f.get("dir") {
                    None => self.dir.join(DEFAULT_LOCAL_DIR),
                    Some(d) => {
                        let dp = child(&path, "dir");
                        let allowed = "a folder path, relative to the stack file's folder";
                        let v = self.text(d.value, &dp, allowed)?;
                        if v.value.trim().is_empty() {
                            self.push(d.value, &dp, msg("must not be empty", &v.got(), allowed));
                            return None;
                        }
                        normalize(&self.dir.join(&v.value))
                    }
                };
                Some(Target::Local { dir })
            }
            _ => None,
        };
        if ok { target } else { None }
    }

    fn default_target(
        &mut self,
        root: &Node,
        entry: Option<&Entry<'_>>,
        names: &[String],
    ) -> Option<String> {
        let allowed = list(names);
        match entry {
            Some(e) => {
                let v = self.text(e.value, "default_target", &allowed)?;
                if names.contains(&v.value) {
                    Some(v.value)
                } else {
                    let what = format!(
                        "no such target{}",
                        suggest(&v.value, names.iter().map(String::as_str))
                    );
                    let allowed = format!("a target defined under `targets:`: {allowed}");
                    self.push(e.value, "default_target", msg(&what, &v.got(), &allowed));
                    None
                }
            }
            None => match names {
                [only] => Some(only.clone()),
                [] => None,
                _ => {
                    self.push(
                        root,
                        "default_target",
                        format!(
                            "required key is missing: there are several targets (allowed: {allowed})"
                        ),
                    );
                    None
                }
            },
        }
    }

    /// The naming pattern and where it was written (line, column), if it
    /// came from the file.
    fn bucket_pattern(&mut self) -> Option<Pattern> {
        let Some(v) = self.vars.get("bucket_name") else {
            return Some((DEFAULT_BUCKET_NAME_PATTERN.to_owned(), None));
        };
        let (value, line, column, from_cli) = (v.value.clone(), v.line, v.column, v.from_cli);
        if let Err(reason) = interp::parse_pattern(&value) {
            let got = if from_cli {
                format!("{} from --var", q(&value))
            } else {
                q(&value)
            };
            self.push_at(
                line,
                column,
                "variables.bucket_name",
                msg(
                    &format!("invalid naming pattern: {reason}"),
                    &got,
                    PATTERN_ALLOWED,
                ),
            );
            return None;
        }
        Some((value, Some((line, column, from_cli))))
    }

    fn buckets(&mut self, entry: Option<&Entry<'_>>) -> BTreeMap<String, BucketEntry> {
        let mut out = BTreeMap::new();
        let Some(e) = entry else { return out };
        let allowed = "a mapping of bucket id to `{}` or `{ name: ..., retain: true }`";
        let Some(entries) = self.entries(e.value, "buckets", allowed) else {
            return out;
        };
        for b in entries {
            let path = child("buckets", &b.key);
            if let Some(problem) = rules::id_problem(&b.key) {
                self.push(
                    b.key_node,
                    &path,
                    msg(
                        &format!("bucket id {problem}"),
                        &q(&b.key),
                        "a-z, 0-9 and `-`, starting with a letter, at most 32 characters",
                    ),
                );
            }
            // Where a bad rendered name is reported: the override, else the
            // id; `None` when the override is itself invalid (reported).
            let mut at = Some((b.key_node.line, b.key_node.column, path.clone()));
            let mut name_override = None;
            let Some(fields) = self.fields(
                b.value,
                &path,
                &["name", "retain"],
                "`{}` or `{ name: ..., retain: true }`",
            ) else {
                continue;
            };
            let retain = match fields.get("retain") {
                None => false,
                Some(r) => self
                    .boolean(r.value, &child(&path, "retain"), "true or false")
                    .unwrap_or(false),
            };
            if let Some(n) = fields.get("name") {
                let np = child(&path, "name");
                let text = self.text(n.value, &np, PATTERN_ALLOWED);
                if text.is_none() {
                    at = None;
                }
                if let Some(t) = text {
                    match interp::parse_pattern(&t.value) {
                        Ok(_) => {
                            at = Some((n.value.line, n.value.column, np));
                            name_override = Some(t.value);
                        }
                        Err(reason) => {
                            at = None;
                            self.push(
                                n.value,
                                &np,
                                msg(
                                    &format!("invalid naming pattern: {reason}"),
                                    &t.got(),
                                    PATTERN_ALLOWED,
                                ),
                            );
                        }
                    }
                }
            }
            out.insert(
                b.key.clone(),
                (
                    BucketSpec {
                        id: b.key.clone(),
                        name_override,
                        retain,
                    },
                    at,
                ),
            );
        }
        out
    }

    fn function<'n>(
        &mut self,
        f: &Entry<'n>,
        stack_name: Option<&str>,
        bucket_ids: &BTreeSet<String>,
        function_ids: &BTreeSet<String>,
        triggers: &mut Vec<TriggerInfo<'n>>,
        access: &mut BTreeMap<String, (Vec<String>, Vec<String>)>,
    ) -> Option<FunctionSpec> {
        let path = child("functions", &f.key);
        if let Some(problem) = rules::id_problem(&f.key) {
            self.push(
                f.key_node,
                &path,
                msg(
                    &format!("function id {problem}"),
                    &q(&f.key),
                    "a-z, 0-9 and `-`, starting with a letter, at most 32 characters",
                ),
            );
        } else if let Some(stack) = stack_name {
            let full = format!("{stack}-{}", f.key);
            if full.len() > rules::MAX_NAME_LEN {
                self.push(
                    f.key_node,
                    &path,
                    msg(
                        "the function and role name `{stack}-{id}` is longer than 64 characters",
                        &q(&full),
                        "stack name and function id together at most 63 characters",
                    ),
                );
            }
        }
        let fields = self.fields(
            f.value,
            &path,
            &FUNCTION_KEYS,
            "a mapping of function settings",
        )?;
        let errors_before = self.errors.len();

        let source = match fields.get("source") {
            None => {
                self.missing(
                    f.key_node,
                    &child(&path, "source"),
                    "a cargo package folder, relative to the stack file's folder",
                );
                None
            }
            Some(e) => self.source(e.value, &child(&path, "source")),
        };

        let binary = match fields.get("binary") {
            None => Some(f.key.clone()),
            Some(e) => {
                let bp = child(&path, "binary");
                let allowed = "a cargo binary name: letters, digits, `_` and `-`";
                self.text(e.value, &bp, allowed).and_then(|t| {
                    match rules::binary_problem(&t.value) {
                        None => Some(t.value),
                        Some(problem) => {
                            self.push(
                                e.value,
                                &bp,
                                msg(&format!("binary name {problem}"), &t.got(), allowed),
                            );
                            None
                        }
                    }
                })
            }
        };

        let memory = self.ranged(
            &fields,
            &path,
            "memory",
            rules::MEMORY_MB,
            DEFAULT_MEMORY_MB,
            "MB",
        );
        let timeout = self.ranged(
            &fields,
            &path,
            "timeout",
            rules::TIMEOUT_S,
            DEFAULT_TIMEOUT_S,
            "seconds",
        );

        let architecture = match fields.get("architecture") {
            None => Some(Architecture::X86_64),
            Some(e) => {
                let ap = child(&path, "architecture");
                let t = self.text(e.value, &ap, "x86_64, arm64");
                t.and_then(|t| match Architecture::parse(&t.value) {
                    Some(a) => Some(a),
                    None => {
                        let what = format!(
                            "unknown architecture{}",
                            suggest(&t.value, ["x86_64", "arm64"])
                        );
                        self.push(e.value, &ap, msg(&what, &t.got(), "x86_64, arm64"));
                        None
                    }
                })
            }
        };

        let retention = match fields.get("log_retention_days") {
            None => Some(DEFAULT_LOG_RETENTION_DAYS),
            Some(e) => {
                let rp = child(&path, "log_retention_days");
                let allowed = list(rules::LOG_RETENTION_DAYS.iter().map(u32::to_string));
                self.int(e.value, &rp, &allowed).and_then(|(v, got)| {
                    match u32::try_from(v)
                        .ok()
                        .filter(|d| rules::LOG_RETENTION_DAYS.contains(d))
                    {
                        Some(d) => Some(d),
                        None => {
                            self.push(
                                e.value,
                                &rp,
                                msg(
                                    "is not a retention period CloudWatch Logs accepts",
                                    &got,
                                    &allowed,
                                ),
                            );
                            None
                        }
                    }
                })
            }
        };

        let environment = match fields.get("environment") {
            None => Some(BTreeMap::new()),
            Some(e) => self.environment(e, &path, bucket_ids, function_ids),
        };

        let bucket_allowed = format!("bucket ids defined under `buckets:`: {}", list(bucket_ids));
        let reads = self.bucket_list(&fields, &path, "reads", bucket_ids, &bucket_allowed);
        let writes = self.bucket_list(&fields, &path, "writes", bucket_ids, &bucket_allowed);
        if let (Some(r), Some(w)) = (&reads, &writes) {
            access.insert(f.key.clone(), (r.clone(), w.clone()));
        }

        let mut fn_triggers = Vec::new();
        if let Some(e) = fields.get("triggers") {
            let tp = child(&path, "triggers");
            let allowed = "a list of `- s3: {...}` or `- eventbridge: {...}` items";
            match &e.value.kind {
                Kind::Null => {}
                Kind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(info) = self.trigger(&f.key, item, &index(&tp, i), bucket_ids) {
                            fn_triggers.push(info.trigger.clone());
                            triggers.push(info);
                        }
                    }
                }
                _ => self.type_error(e.value, &tp, "a list", allowed),
            }
        }

        if self.errors.len() != errors_before {
            return None;
        }
        Some(FunctionSpec {
            id: f.key.clone(),
            source: source?,
            binary: binary?,
            memory_mb: memory?,
            timeout_s: timeout?,
            architecture: architecture?,
            log_retention_days: retention?,
            environment: environment?,
            reads: reads?,
            writes: writes?,
            triggers: fn_triggers,
        })
    }

    fn source(&mut self, node: &Node, path: &str) -> Option<PathBuf> {
        let allowed = "a cargo package folder, relative to the stack file's folder";
        let t = self.text(node, path, allowed)?;
        if t.value.trim().is_empty() {
            self.push(node, path, msg("must not be empty", &t.got(), allowed));
            return None;
        }
        let joined = self.dir.join(&t.value);
        if !joined.exists() {
            self.push(
                node,
                path,
                msg("source folder does not exist", &t.got(), allowed),
            );
            return None;
        }
        if !joined.is_dir() {
            self.push(node, path, msg("source is not a folder", &t.got(), allowed));
            return None;
        }
        if !joined.join("Cargo.toml").is_file() {
            self.push(
                node,
                path,
                msg(
                    "source folder is not a cargo package: it has no Cargo.toml",
                    &t.got(),
                    allowed,
                ),
            );
            return None;
        }
        Some(
            joined
                .canonicalize()
                .map(|p| normalize(&p))
                .unwrap_or_else(|_| normalize(&joined)),
        )
    }

    fn ranged(
        &mut self,
        fields: &Fields<'_>,
        path: &str,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        default: u32,
        unit: &str,
    ) -> Option<u32> {
        let Some(e) = fields.get(key) else {
            return Some(default);
        };
        let p = child(path, key);
        let allowed = format!("{}..={} {unit}", range.start(), range.end());
        let (v, got) = self.int(e.value, &p, &allowed)?;
        if !range.contains(&v) {
            self.push(e.value, &p, msg("is out of range", &got, &allowed));
            return None;
        }
        u32::try_from(v).ok()
    }

    fn environment(
        &mut self,
        e: &Entry<'_>,
        fpath: &str,
        bucket_ids: &BTreeSet<String>,
        function_ids: &BTreeSet<String>,
    ) -> Option<BTreeMap<String, EnvValue>> {
        let path = child(fpath, "environment");
        let allowed = "a mapping of variable name to string";
        let entries = self.entries(e.value, &path, allowed)?;
        let before = self.errors.len();
        let mut out = BTreeMap::new();
        let mut size = 0usize;
        for v in entries {
            let vp = child(&path, &v.key);
            if let Some(problem) = rules::env_name_problem(&v.key) {
                self.push(
                    v.key_node,
                    &vp,
                    msg(
                        &format!("environment variable name {problem}"),
                        &q(&v.key),
                        "[A-Za-z][A-Za-z0-9_]*, not AWS_* or another name Lambda reserves",
                    ),
                );
            }
            let Kind::Str(s) = &v.value.kind else {
                let hint = match v.value.kind {
                    Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => format!(
                        "a string; quote it: {}: \"{}\"",
                        clip(&v.key),
                        clip(&v.value.show())
                    ),
                    _ => "a string".to_owned(),
                };
                self.type_error(v.value, &vp, "a string", &hint);
                continue;
            };
            let Some((pieces, _)) = self.refs(v.value, &vp, s) else {
                continue;
            };
            let mut templated = false;
            for p in &pieces {
                match p {
                    Piece::Bucket(id) if !bucket_ids.contains(id) => {
                        let what = format!(
                            "unknown bucket `{}` in `${{bucket.{}}}`{}",
                            clip(id),
                            clip(id),
                            suggest(id, bucket_ids.iter().map(String::as_str))
                        );
                        let allowed =
                            format!("bucket ids defined under `buckets:`: {}", list(bucket_ids));
                        self.push(v.value, &vp, msg(&what, &q(s), &allowed));
                    }
                    Piece::Function(id) if !function_ids.contains(id) => {
                        let what = format!(
                            "unknown function `{}` in `${{function.{}}}`{}",
                            clip(id),
                            clip(id),
                            suggest(id, function_ids.iter().map(String::as_str))
                        );
                        let allowed = format!(
                            "function ids defined under `functions:`: {}",
                            list(function_ids)
                        );
                        self.push(v.value, &vp, msg(&what, &q(s), &allowed));
                    }
                    Piece::Bucket(_) | Piece::Function(_) => templated = true,
                    Piece::Lit(l) => size += l.len(),
                    Piece::Var(_) => {}
                }
                // A bucket name is at most 63 bytes; a function name at most 64.
                if matches!(p, Piece::Bucket(_) | Piece::Function(_)) {
                    size += 64;
                }
            }
            size += v.key.len();
            let value = if templated {
                EnvValue::Template(interp::unparse(&pieces))
            } else {
                EnvValue::Literal(
                    pieces
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Lit(l) => Some(l.as_str()),
                            _ => None,
                        })
                        .collect(),
                )
            };
            out.insert(v.key.clone(), value);
        }
        if size > rules::MAX_ENV_BYTES {
            self.push(
                e.key_node,
                &path,
                msg(
                    "the environment is larger than Lambda's 4 KB limit",
                    &format!("about {size} bytes"),
                    "at most 4096 bytes of names and values",
                ),
            );
        }
        (self.errors.len() == before).then_some(out)
    }

    fn bucket_list(
        &mut self,
        fields: &Fields<'_>,
        path: &str,
        key: &str,
        bucket_ids: &BTreeSet<String>,
        allowed: &str,
    ) -> Option<Vec<String>> {
        let Some(e) = fields.get(key) else {
            return Some(Vec::new());
        };
        let p = child(path, key);
        let items = self.strings(e.value, &p, allowed)?;
        let before = self.errors.len();
        let mut out: Vec<String> = Vec::new();
        for (t, node, ip) in items {
            if !bucket_ids.contains(&t.value) {
                let what = format!(
                    "unknown bucket{}",
                    suggest(&t.value, bucket_ids.iter().map(String::as_str))
                );
                self.push(node, &ip, msg(&what, &t.got(), allowed));
            } else if out.contains(&t.value) {
                self.push(
                    node,
                    &ip,
                    msg("bucket listed twice", &t.got(), "each bucket once"),
                );
            } else {
                out.push(t.value);
            }
        }
        (self.errors.len() == before).then_some(out)
    }

    fn filter(&mut self, fields: &Fields<'_>, path: &str, key: &str) -> Result<Option<String>, ()> {
        let Some(e) = fields.get(key) else {
            return Ok(None);
        };
        let p = child(path, key);
        let allowed = "1 to 1024 characters of an object key; omit it to match every key";
        let t = self.text(e.value, &p, allowed).ok_or(())?;
        if t.value.is_empty() {
            self.push(e.value, &p, msg("must not be empty", &t.got(), allowed));
            return Err(());
        }
        let n = t.value.chars().count();
        if n > rules::MAX_FILTER_LEN {
            self.push(
                e.value,
                &p,
                msg(
                    &format!("is longer than 1024 characters ({n})"),
                    &t.got(),
                    allowed,
                ),
            );
            return Err(());
        }
        Ok(Some(t.value))
    }

    fn trigger<'n>(
        &mut self,
        function: &str,
        item: &'n Node,
        path: &str,
        bucket_ids: &BTreeSet<String>,
    ) -> Option<TriggerInfo<'n>> {
        let allowed = "`s3: { bucket, events, prefix, suffix }` or \
                       `eventbridge: { bucket, prefix, suffix }`";
        let Kind::Map(pairs) = &item.kind else {
            self.type_error(
                item,
                path,
                "a mapping with one key, s3 or eventbridge",
                allowed,
            );
            return None;
        };
        let entries = self.entries(item, path, allowed)?;
        self.unknown_keys(&entries, path, &TRIGGER_KINDS, false);
        let kinds: Vec<&Entry<'n>> = entries
            .iter()
            .filter(|e| TRIGGER_KINDS.contains(&e.key.as_str()))
            .collect();
        if kinds.len() > 1 {
            self.push(
                item,
                path,
                msg(
                    "a trigger has exactly one key",
                    &q(&item.show()),
                    "one list item per trigger: `- s3: ...` or `- eventbridge: ...`",
                ),
            );
            return None;
        }
        if kinds.is_empty() {
            if pairs.is_empty() {
                self.push(item, path, msg("empty trigger", &q(&item.show()), allowed));
            }
            return None;
        }
        let kind = kinds[0];
        let kp = child(path, &kind.key);
        let is_s3 = kind.key == "s3";
        let keys: &[&str] = if is_s3 {
            &["bucket", "events", "prefix", "suffix"]
        } else {
            &["bucket", "prefix", "suffix"]
        };
        let fields = self.fields(kind.value, &kp, keys, allowed)?;
        let before = self.errors.len();
        let bp = child(&kp, "bucket");
        let bucket = match fields.get("bucket") {
            None => {
                self.missing(kind.key_node, &bp, "a bucket id defined under `buckets:`");
                None
            }
            Some(b) => {
                let allowed = format!("bucket ids defined under `buckets:`: {}", list(bucket_ids));
                match self.text(b.value, &bp, &allowed) {
                    Some(t) if bucket_ids.contains(&t.value) => Some((t.value, b.value)),
                    Some(t) => {
                        let what = format!(
                            "unknown bucket{}",
                            suggest(&t.value, bucket_ids.iter().map(String::as_str))
                        );
                        self.push(b.value, &bp, msg(&what, &t.got(), &allowed));
                        None
                    }
                    None => None,
                }
            }
        };
        let prefix = self.filter(&fields, &kp, "prefix");
        let suffix = self.filter(&fields, &kp, "suffix");
        let mut events = vec!["s3:ObjectCreated:*".to_owned()];
        if is_s3 && let Some(e) = fields.get("events") {
            let ep = child(&kp, "events");
            let allowed = list(rules::S3_EVENT_TYPES);
            if let Some(items) = self.strings(e.value, &ep, &allowed) {
                events.clear();
                if items.is_empty() {
                    self.push(
                        e.value,
                        &ep,
                        msg(
                            "must list at least one event type",
                            &q(&e.value.show()),
                            &allowed,
                        ),
                    );
                }
                for (t, node, ip) in items {
                    if !rules::is_s3_event_type(&t.value) {
                        let what = format!(
                            "unknown S3 event type{}",
                            suggest(&t.value, rules::S3_EVENT_TYPES)
                        );
                        self.push(node, &ip, msg(&what, &t.got(), &allowed));
                    } else if events.contains(&t.value) {
                        self.push(
                            node,
                            &ip,
                            msg("event type listed twice", &t.got(), "each event type once"),
                        );
                    } else {
                        events.push(t.value);
                    }
                }
            }
        }
        let (Some((bucket, bucket_node)), Ok(prefix), Ok(suffix)) = (bucket, prefix, suffix) else {
            return None;
        };
        if self.errors.len() != before {
            return None;
        }
        let trigger = if is_s3 {
            Trigger::S3 {
                bucket: bucket.clone(),
                events,
                prefix,
                suffix,
            }
        } else {
            Trigger::EventBridge {
                bucket: bucket.clone(),
                prefix,
                suffix,
            }
        };
        Some(TriggerInfo {
            function: function.to_owned(),
            path: kp,
            item,
            bucket,
            bucket_node,
            trigger,
        })
    }

    fn check_triggers(
        &mut self,
        stack_name: Option<&str>,
        access: &BTreeMap<String, (Vec<String>, Vec<String>)>,
        triggers: &[TriggerInfo<'_>],
    ) {
        for (i, t) in triggers.iter().enumerate() {
            let bp = child(&t.path, "bucket");
            let fpath = child("functions", &t.function);
            // Without valid reads and writes (already reported) there is
            // nothing to check them against.
            if let Some((reads, writes)) = access.get(&t.function) {
                self.check_access(t, &bp, &fpath, reads, writes);
            }
            self.check_trigger_conflicts(stack_name, i, t, triggers, &bp);
        }
    }

    fn check_access(
        &mut self,
        t: &TriggerInfo<'_>,
        bp: &str,
        fpath: &str,
        reads: &[String],
        writes: &[String],
    ) {
        if writes.contains(&t.bucket) {
            self.push(
                t.bucket_node,
                bp,
                msg(
                    &format!(
                        "recursive invocation: the function writes to the bucket that triggers it, \
                         so each object it writes would invoke it again; remove `{}` from {fpath}.writes \
                         or trigger on another bucket",
                        clip(&t.bucket)
                    ),
                    &q(&t.bucket),
                    &format!("a bucket not in {fpath}.writes"),
                ),
            );
        } else if !reads.contains(&t.bucket) {
            self.push(
                t.bucket_node,
                bp,
                msg(
                    &format!(
                        "the function could not read the object that triggers it; add `{}` to {fpath}.reads",
                        clip(&t.bucket)
                    ),
                    &q(&t.bucket),
                    &format!("a bucket listed in {fpath}.reads: {}", list(reads)),
                ),
            );
        }
    }

    fn check_trigger_conflicts(
        &mut self,
        stack_name: Option<&str>,
        i: usize,
        t: &TriggerInfo<'_>,
        triggers: &[TriggerInfo<'_>],
        bp: &str,
    ) {
        if let Trigger::EventBridge { .. } = t.trigger {
            if let Some(stack) = stack_name {
                let rule = format!("{stack}-{}-{}-created", t.function, t.bucket);
                if rule.len() > rules::MAX_NAME_LEN {
                    self.push(
                        t.bucket_node,
                        bp,
                        msg(
                            "the EventBridge rule name `{stack}-{function}-{bucket}-created` is longer than 64 characters",
                            &q(&rule),
                            "shorter stack, function or bucket ids",
                        ),
                    );
                }
            }
            if let Some(first) = triggers[..i].iter().find(|o| {
                o.function == t.function
                    && o.bucket == t.bucket
                    && matches!(o.trigger, Trigger::EventBridge { .. })
            }) {
                self.push(
                    t.item,
                    &t.path,
                    msg(
                        &format!(
                            "a second eventbridge trigger for the same function and bucket (first at line {}, column {})",
                            first.item.line, first.item.column
                        ),
                        &q(&t.bucket),
                        "one eventbridge trigger per function and bucket",
                    ),
                );
            }
        }
        if let Trigger::S3 {
            events,
            prefix,
            suffix,
            ..
        } = &t.trigger
        {
            for o in &triggers[..i] {
                let Trigger::S3 {
                    events: oe,
                    prefix: op,
                    suffix: os,
                    ..
                } = &o.trigger
                else {
                    continue;
                };
                if o.bucket != t.bucket {
                    continue;
                }
                let shared = events
                    .iter()
                    .any(|a| oe.iter().any(|b| rules::events_overlap(a, b)));
                if shared
                    && rules::filters_overlap(
                        prefix.as_deref(),
                        suffix.as_deref(),
                        op.as_deref(),
                        os.as_deref(),
                    )
                {
                    let got = format!(
                        "`{}` with prefix {} and suffix {}",
                        events.join(", "),
                        prefix.as_deref().map_or("(none)".to_owned(), q),
                        suffix.as_deref().map_or("(none)".to_owned(), q)
                    );
                    self.push(
                        t.item,
                        &t.path,
                        msg(
                            &format!(
                                "overlaps with {} (line {}, column {}) on bucket `{}`: S3 rejects two \
                                 notifications whose event types and prefix/suffix filters overlap",
                                o.path, o.item.line, o.item.column, clip(&t.bucket)
                            ),
                            &got,
                            "disjoint event types, or prefixes or suffixes neither of which extends the other",
                        ),
                    );
                    break;
                }
            }
        }
    }

    fn check_bucket_names(
        &mut self,
        stack: &str,
        pattern: &Pattern,
        buckets: &BTreeMap<String, BucketEntry>,
        targets: &BTreeMap<String, Target>,
    ) {
        // Region → the targets using it.
        let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (n, t) in targets {
            regions
                .entry(t.region().to_owned())
                .or_default()
                .push(format!("`{n}`"));
        }
        if regions.is_empty() {
            regions.insert(LOCAL_REGION.to_owned(), vec!["(none)".to_owned()]);
        }
        // Per region: rendered name → bucket id, to find collisions.
        let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
        for (id, (spec, at)) in buckets {
            let Some((line, column, path)) = at else {
                continue;
            };
            if rules::id_problem(id).is_some() {
                continue;
            }
            let (pat, at, key, origin) = match &spec.name_override {
                Some(o) => (o.as_str(), (*line, *column), path.clone(), path.clone()),
                None => match pattern.1 {
                    Some((l, c, cli)) => (
                        pattern.0.as_str(),
                        (l, c),
                        "variables.bucket_name".to_owned(),
                        if cli {
                            "variables.bucket_name, set by --var".to_owned()
                        } else {
                            "variables.bucket_name".to_owned()
                        },
                    ),
                    None => (
                        pattern.0.as_str(),
                        (*line, *column),
                        path.clone(),
                        "the default pattern".to_owned(),
                    ),
                },
            };
            // problem → (rendered name, targets)
            let mut problems: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
            for (region, target_names) in &regions {
                let name = interp::render_pattern(pat, stack, id, PLACEHOLDER_ACCOUNT, region);
                if let Some(problem) = rules::bucket_name_problem(&name) {
                    problems
                        .entry(problem)
                        .or_insert_with(|| (name.clone(), Vec::new()))
                        .1
                        .extend(target_names.iter().cloned());
                    continue;
                }
                if let Some(other) = seen.get(&(region.clone(), name.clone())) {
                    let what = format!(
                        "bucket `{id}` gets the same name as bucket `{other}` (pattern `{}` from \
                         {origin}; {} {})",
                        clip(pat),
                        plural("target", target_names.len()),
                        target_names.join(", ")
                    );
                    let m = msg(
                        &what,
                        &q(&name),
                        "a unique name per bucket: put {bucket} in the pattern",
                    );
                    self.push_at(at.0, at.1, &key, m);
                    break;
                }
                seen.insert((region.clone(), name), id.clone());
            }
            for (problem, (name, targets)) in problems {
                let source = if interp::parse_pattern(pat).is_ok_and(|p| {
                    p.iter()
                        .any(|piece| matches!(piece, interp::PatPiece::Hole(_)))
                }) {
                    format!(
                        "pattern `{}` from {origin}, account {PLACEHOLDER_ACCOUNT}; ",
                        clip(pat)
                    )
                } else {
                    String::new()
                };
                let what = format!(
                    "bucket `{id}` gets a name S3 rejects: it {problem} ({source}{} {})",
                    plural("target", targets.len()),
                    targets.join(", ")
                );
                self.push_at(
                    at.0,
                    at.1,
                    &key,
                    msg(&what, &q(&name), rules::BUCKET_NAME_ALLOWED),
                );
            }
        }
    }
}

// ---------------------------------------------------------------- render

#[derive(Serialize)]
struct DocOut<'a> {
    stack: &'a str,
    default_target: &'a str,
    targets: BTreeMap<&'a str, TargetOut>,
    variables: BTreeMap<&'a str, &'a str>,
    build: BuildOut<'a>,
    buckets: BTreeMap<&'a str, BucketOut>,
    functions: BTreeMap<&'a str, FunctionOut<'a>>,
}

#[derive(Serialize)]
struct TargetOut {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
}

#[derive(Serialize)]
struct BuildOut<'a> {
    profile: &'a str,
}

#[derive(Serialize)]
struct BucketOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    source: String,
    binary: String,
    memory: u32,
    timeout: u32,
    architecture: &'static str,
    log_retention_days: u32,
    environment: BTreeMap<&'a str, String>,
    reads: Vec<String>,
    writes: Vec<String>,
    triggers: Vec<TriggerOut>,
}

#[derive(Serialize)]
enum TriggerOut {
    #[serde(rename = "s3")]
    S3 {
        bucket: String,
        events: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        suffix: Option<String>,
    },
    #[serde(rename = "eventbridge")]
    EventBridge {
        bucket: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        suffix: Option<String>,
    },
}

fn esc(s: &str) -> String {
    interp::escape_literal(s)
}

fn rel(dir: &Path, p: &Path) -> String {
    match p.strip_prefix(dir) {
        Ok(r) if r.as_os_str().is_empty() => ".".to_owned(),
        Ok(r) => esc(&r.to_string_lossy()),
        Err(_) => esc(&p.to_string_lossy()),
    }
}

pub(super) fn render(stack: &Stack) -> Result<String, serde_saphyr::SerializeError> {
    let targets = stack
        .targets
        .iter()
        .map(|(k, t)| {
            let out = match t {
                Target::Aws { region, profile } => TargetOut {
                    provider: "aws",
                    region: Some(esc(region)),
                    profile: profile.as_deref().map(esc),
                    dir: None,
                },
                Target::Local { dir } => TargetOut {
                    provider: "local",
                    region: None,
                    profile: None,
                    dir: Some(rel(&stack.dir, dir)),
                },
            };
            (k.as_str(), out)
        })
        .collect();
    let buckets = stack
        .buckets
        .iter()
        .map(|(k, b)| {
            (
                k.as_str(),
                BucketOut {
                    name: b.name_override.as_deref().map(esc),
                },
            )
        })
        .collect();
    let functions = stack
        .functions
        .iter()
        .map(|(k, f)| {
            let environment = f
                .environment
                .iter()
                .map(|(n, v)| {
                    let text = match v {
                        EnvValue::Literal(s) => esc(s),
                        EnvValue::Template(t) => t.clone(),
                    };
                    (n.as_str(), text)
                })
                .collect();
            let triggers = f
                .triggers
                .iter()
                .map(|t| match t {
                    Trigger::S3 {
                        bucket,
                        events,
                        prefix,
                        suffix,
                    } => TriggerOut::S3 {
                        bucket: esc(bucket),
                        events: events.iter().map(|e| esc(e)).collect(),
                        prefix: prefix.as_deref().map(esc),
                        suffix: suffix.as_deref().map(esc),
                    },
                    Trigger::EventBridge {
                        bucket,
                        prefix,
                        suffix,
                    } => TriggerOut::EventBridge {
                        bucket: esc(bucket),
                        prefix: prefix.as_deref().map(esc),
                        suffix: suffix.as_deref().map(esc),
                    },
                })
                .collect();
            (
                k.as_str(),
                FunctionOut {
                    source: rel(&stack.dir, &f.source),
                    binary: esc(&f.binary),
                    memory: f.memory_mb,
                    timeout: f.timeout_s,
                    architecture: f.architecture.as_str(),
                    log_retention_days: f.log_retention_days,
                    environment,
                    reads: f.reads.iter().map(|r| esc(r)).collect(),
                    writes: f.writes.iter().map(|w| esc(w)).collect(),
                    triggers,
                },
            )
        })
        .collect();
    let mut variables = BTreeMap::new();
    variables.insert("bucket_name", stack.bucket_name_pattern.as_str());
    let doc = DocOut {
        stack: &stack.name,
        default_target: &stack.default_target,
        targets,
        variables,
        build: BuildOut {
            profile: &stack.build_profile,
        },
        buckets,
        functions,
    };
    serde_saphyr::to_string(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_quote_odd_keys() {
        assert_eq!(child("", "stack"), "stack");
        assert_eq!(child("functions", "gen-1"), "functions.gen-1");
        assert_eq!(child("targets", "prod env"), "targets.\"prod env\"");
        assert_eq!(child("a", "x.y"), "a.\"x.y\"");
        assert_eq!(index("functions.p.triggers", 2), "functions.p.triggers[2]");
    }

    #[test]
    fn paths_are_normalized_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(
            normalize(Path::new("/a/.stackctl")),
            PathBuf::from("/a/.stackctl")
        );
    }

    #[test]
    fn values_are_quoted_on_one_line() {
        assert_eq!(q(""), "`\"\"`");
        assert_eq!(q("a\nb"), "`a\\nb`");
        assert_eq!(q("x`y"), "`x\\`y`");
    }

    fn errors(src: &str, vars: &[(&str, &str)]) -> Vec<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match check(src, "t.yaml", Path::new("/nonexistent"), &vars) {
            Ok(_) => Vec::new(),
            Err(e) => {
                e.0.into_iter()
                    .map(|e| format!("{}: {}", e.key, e.message))
                    .collect()
            }
        }
    }

    #[test]
    fn variables_substitute_into_any_string() {
        let src = "stack: \"${var.name}\"\ntargets:\n  aws: { provider: aws, region: \"${var.r}\" }\n\
                   variables: { name: acme, r: eu-west-1 }\n";
        let stack = check(src, "t.yaml", Path::new("/"), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stack.name, "acme");
        assert_eq!(
            stack.targets.get("aws").map(Target::region),
            Some("eu-west-1")
        );
        let vars = [("r".to_owned(), "us-west-2".to_owned())];
        let stack = check(src, "t.yaml", Path::new("/"), &vars).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            stack.targets.get("aws").map(Target::region),
            Some("us-west-2")
        );
    }

    #[test]
    fn variable_values_are_literal() {
        let src = "stack: a\ntargets: { l: { provider: local } }\nvariables: { x: \"${var.y}\" }\n";
        let e = errors(src, &[]);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("literal"), "{e:?}");
        let src = "stack: a\ntargets: { l: { provider: local } }\nvariables: { x: 1 }\n";
        let e = errors(src, &[("x", "${var.z}")]);
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn bucket_references_only_in_environment() {
        let src =
            "stack: \"${bucket.raw}\"\ntargets: { l: { provider: local } }\nbuckets: { raw: {} }\n";
        let e = errors(src, &[]);
        assert!(
            e.iter()
                .any(|m| m.contains("only allowed in functions.*.environment")),
            "{e:?}"
        );
    }

    #[test]
    fn anchors_and_merge_keys_work() {
        let src = "stack: a\ntargets: { l: { provider: local } }\nbuckets: { raw: {} }\n\
                   x-defaults: &d { memory: 1024, timeout: 30, reads: [raw] }\n\
                   functions:\n  one: { <<: *d, source: /, timeout: 31 }\n";
        // `/` is not a cargo package: exactly that error, nothing about the
        // merged keys.
        let e = errors(src, &[]);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("functions.one.source"), "{e:?}");
    }
}
