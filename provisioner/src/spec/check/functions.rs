//! Functions: each one's keys, source, memory and timeout, environment and bucket access.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn function<'n>(
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

    pub(super) fn source(&mut self, node: &Node, path: &str) -> Option<PathBuf> {
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

    pub(super) fn ranged(
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

    pub(super) fn environment(
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

    pub(super) fn bucket_list(
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
}
