//! Triggers: each one, and the checks across them (access, conflicts).

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn filter(
        &mut self,
        fields: &Fields<'_>,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, ()> {
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

    pub(super) fn trigger<'n>(
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

    pub(super) fn check_triggers(
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

    pub(super) fn check_access(
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

    pub(super) fn check_trigger_conflicts(
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
}
