//! Buckets: the name pattern, each bucket's keys, and names across the stack.

use super::*;

impl<'a> Checker<'a> {
    /// The naming pattern and where it was written (line, column), if it
    /// came from the file.
    pub(super) fn bucket_pattern(&mut self) -> Option<Pattern> {
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

    pub(super) fn buckets(&mut self, entry: Option<&Entry<'_>>) -> BTreeMap<String, BucketEntry> {
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

    pub(super) fn check_bucket_names(
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
