//! Variables, the build profile, the stack name, targets and the default target.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn variables(&mut self, entry: Option<&Entry<'_>>, cli_vars: &[(String, String)]) {
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

    pub(super) fn build_profile(&mut self, entry: Option<&Entry<'_>>) -> Option<String> {
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

    pub(super) fn stack_name(&mut self, node: &Node) -> Option<String> {
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

    pub(super) fn targets(
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

    pub(super) fn target(&mut self, t: &Entry<'_>) -> Option<Target> {
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

    pub(super) fn default_target(
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
}
