//! EventBridge rules on the default bus, with one Lambda target.

use std::collections::BTreeSet;

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use super::{AwsCloud, Service, api_error, is_code, tag_changes};
use crate::model::{Changes, OWNER_TAG, Rule, RuleField, Tags, canonical_json};
use crate::provider::{Cloud, ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("rule {name}")
}

fn build_err(name: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Other(format!("rule {name}: building a request: {e}"))
}

fn event_tags(name: &str, tags: &Tags) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_err(name, e))
}

impl AwsCloud {
    async fn rule_target_ids(&self, name: &str) -> Result<Option<Vec<(String, String)>>> {
        let mut targets = Vec::new();
        let mut token = None;
        loop {
            let out = match self
                .events
                .list_targets_by_rule()
                .rule(name)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
                Err(e) => {
                    return Err(api_error(
                        Service::Events,
                        "ListTargetsByRule",
                        &res(name),
                        e,
                    ));
                }
            };
            targets.extend(
                out.targets()
                    .iter()
                    .map(|t| (t.id().to_owned(), t.arn().to_owned())),
            );
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(Some(targets));
            }
        }
    }

    async fn rule_tags(&self, name: &str, arn: &str) -> Result<Tags> {
        match self
            .events
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(Tags::new()),
            Err(e) => Err(api_error(
                Service::Events,
                "ListTagsForResource",
                &res(name),
                e,
            )),
        }
    }

    async fn put_rule(&self, desired: &Rule, with_tags: bool) -> Result<()> {
        let name = desired.name.as_str();
        let mut request = self
            .events
            .put_rule()
            .name(name)
            .event_pattern(&desired.pattern)
            .state(RuleState::Enabled)
            .description("Managed by stackctl");
        if with_tags && !desired.tags.is_empty() {
            request = request.set_tags(Some(event_tags(name, &desired.tags)?));
        }
        request
            .send()
            .await
            .map_err(|e| api_error(Service::Events, "PutRule", &res(name), e))?;
        Ok(())
    }

    async fn put_target(&self, desired: &Rule) -> Result<()> {
        let name = desired.name.as_str();
        let Some(arn) = &desired.target_arn else {
            return Ok(());
        };
        let target = Target::builder()
            .id(&desired.target_id)
            .arn(arn)
            .build()
            .map_err(|e| build_err(name, e))?;
        let out = self
            .events
            .put_targets()
            .rule(name)
            .targets(target)
            .send()
            .await
            .map_err(|e| api_error(Service::Events, "PutTargets", &res(name), e))?;
        if let Some(failed) = out.failed_entries().first() {
            return Err(ProviderError::api(
                res(name),
                "PutTargets",
                failed.error_code().unwrap_or("Failed").to_owned(),
                failed
                    .error_message()
                    .unwrap_or("the target was not added")
                    .to_owned(),
            ));
        }
        Ok(())
    }

    async fn remove_rule_targets(&self, name: &str, ids: Vec<String>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        match self
            .events
            .remove_targets()
            .rule(name)
            .set_ids(Some(ids))
            .force(false)
            .send()
            .await
        {
            Ok(out) => match out.failed_entries().first() {
                Some(failed) => Err(ProviderError::api(
                    res(name),
                    "RemoveTargets",
                    failed.error_code().unwrap_or("Failed").to_owned(),
                    failed
                        .error_message()
                        .unwrap_or("a target was not removed")
                        .to_owned(),
                )),
                None => Ok(()),
            },
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(api_error(Service::Events, "RemoveTargets", &res(name), e)),
        }
    }

    async fn set_rule_tags(&self, name: &str, live: &Tags, desired: &Tags) -> Result<()> {
        let arn = self.context().await?.rule_arn(name);
        let (set, remove) = tag_changes(live, desired);
        if !set.is_empty() {
            self.events
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(event_tags(name, &set)?))
                .send()
                .await
                .map_err(|e| api_error(Service::Events, "TagResource", &res(name), e))?;
        }
        if !remove.is_empty() {
            self.events
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| api_error(Service::Events, "UntagResource", &res(name), e))?;
        }
        Ok(())
    }
}

impl ResourceProvider<Rule> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Rule>> {
        let rule = match self.events.describe_rule().name(name).send().await {
            Ok(out) => out,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
            Err(e) => return Err(api_error(Service::Events, "DescribeRule", &res(name), e)),
        };
        let arn = match rule.arn() {
            Some(arn) => arn.to_owned(),
            None => self.context().await?.rule_arn(name),
        };
        let (targets, tags) = tokio::join!(self.rule_target_ids(name), self.rule_tags(name, &arn));
        let targets = targets?.unwrap_or_default();
        // Ours first: stackctl names its targets `stackctl-<function>`.
        let target = targets
            .iter()
            .find(|(id, _)| id.starts_with("stackctl-"))
            .or_else(|| targets.first());
        Ok(Some(Rule {
            name: name.to_owned(),
            pattern: canonical_json(rule.event_pattern().unwrap_or_default()),
            target_id: target.map(|(id, _)| id.clone()).unwrap_or_default(),
            target_arn: target.map(|(_, arn)| arn.clone()),
            tags: tags?,
        }))
    }

    async fn create(&self, desired: &Rule) -> Result<()> {
        // PutRule would silently replace a rule created meanwhile by
        // someone else: look first (one call when there is none).
        let name = desired.name.as_str();
        let existing = match self.events.describe_rule().name(name).send().await {
            Ok(out) => Some(out.arn().map(str::to_owned)),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => None,
            Err(e) => return Err(api_error(Service::Events, "DescribeRule", &res(name), e)),
        };
        if let Some(arn) = existing {
            let arn = match arn {
                Some(arn) => arn,
                None => self.context().await?.rule_arn(name),
            };
            let tags = self.rule_tags(name, &arn).await?;
            let want = desired.tags.get(OWNER_TAG);
            if want.is_none() || tags.get(OWNER_TAG) != want {
                return Err(ProviderError::Conflict {
                    resource: res(&desired.name),
                    message: format!(
                        "the rule already exists without the tag {OWNER_TAG}={}; it is not changed",
                        want.map_or("?", String::as_str)
                    ),
                });
            }
        }
        self.put_rule(desired, true).await?;
        self.put_target(desired).await
    }

    async fn update(
        &self,
        live: &Rule,
        desired: &Rule,
        changes: &Changes<RuleField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        if changes.contains(RuleField::Tags) {
            self.set_rule_tags(name, &live.tags, &desired.tags).await?;
        }
        if changes.contains(RuleField::Pattern) {
            self.put_rule(desired, false).await?;
        }
        if changes.contains(RuleField::Target) {
            self.put_target(desired).await?;
            let stale = live.target_arn.is_some()
                && !live.target_id.is_empty()
                && live.target_id != desired.target_id;
            let no_target = desired.target_arn.is_none() && !live.target_id.is_empty();
            if stale || no_target {
                self.remove_rule_targets(name, vec![live.target_id.clone()])
                    .await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, live: &Rule) -> Result<()> {
        let name = live.name.as_str();
        // EventBridge refuses to delete a rule that still has targets.
        let Some(targets) = self.rule_target_ids(name).await? else {
            return Ok(());
        };
        self.remove_rule_targets(name, targets.into_iter().map(|(id, _)| id).collect())
            .await?;
        match self.events.delete_rule().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(api_error(Service::Events, "DeleteRule", &res(name), e)),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Rule>> {
        let prefix = format!("{stack}-");
        let mut candidates = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .events
                .list_rules()
                .name_prefix(&prefix)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| api_error(Service::Events, "ListRules", "rules", e))?;
            candidates.extend(
                out.rules()
                    .iter()
                    .filter_map(|r| r.name())
                    .filter(|n| n.starts_with(&prefix) && !known.contains(*n))
                    .map(str::to_owned),
            );
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut owned = Vec::new();
        for name in candidates {
            if let Some(rule) = ResourceProvider::<Rule>::read(self, &name).await?
                && rule.tags.get(OWNER_TAG).is_some_and(|s| s == stack)
            {
                owned.push(rule);
            }
        }
        Ok(owned)
    }
}
