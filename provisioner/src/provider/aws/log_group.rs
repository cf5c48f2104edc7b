//! CloudWatch log groups: retention and tags.

use std::collections::BTreeSet;

use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;

use super::{AwsCloud, Service, api_error, is_code, tag_changes, tag_map};
use crate::model::{Changes, LogGroup, LogGroupField, OWNER_TAG, Tags};
use crate::provider::{ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("log group {name}")
}

/// The group's ARN without the `:*` DescribeLogGroups appends to `arn`.
fn group_arn(g: &SdkLogGroup) -> Option<String> {
    g.log_group_arn().map(str::to_owned).or_else(|| {
        g.arn()
            .map(|a| a.strip_suffix(":*").unwrap_or(a).to_owned())
    })
}

impl AwsCloud {
    /// Log groups whose name starts with `prefix`, every page.
    async fn log_groups_with_prefix(&self, prefix: &str, exact: bool) -> Result<Vec<SdkLogGroup>> {
        let mut found = Vec::new();
        let mut pages = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => break,
                Err(e) => {
                    return Err(api_error(
                        Service::Logs,
                        "DescribeLogGroups",
                        &res(prefix),
                        e,
                    ));
                }
            };
            for g in page.log_groups() {
                if !exact || g.log_group_name() == Some(prefix) {
                    found.push(g.clone());
                }
            }
            // Looking for one name: stop at the page that has it.
            if exact && !found.is_empty() {
                break;
            }
        }
        Ok(found)
    }

    async fn log_group_tags(&self, name: &str, arn: &str) -> Result<Option<Tags>> {
        match self
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            )),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(api_error(
                Service::Logs,
                "ListTagsForResource",
                &res(name),
                e,
            )),
        }
    }

    async fn to_model(&self, g: &SdkLogGroup) -> Result<Option<LogGroup>> {
        let name = g.log_group_name().unwrap_or_default();
        let arn = match group_arn(g) {
            Some(arn) => arn,
            None => {
                let ctx = crate::provider::Cloud::context(self).await?;
                ctx.log_group_arn(name)
            }
        };
        let Some(tags) = self.log_group_tags(name, &arn).await? else {
            return Ok(None);
        };
        Ok(Some(LogGroup {
            name: name.to_owned(),
            retention_days: g.retention_in_days().and_then(|d| u32::try_from(d).ok()),
            tags,
        }))
    }

    async fn set_retention(&self, name: &str, days: Option<u32>) -> Result<()> {
        match days {
            Some(days) => {
                self.logs
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(|e| api_error(Service::Logs, "PutRetentionPolicy", &res(name), e))?;
            }
            None => {
                self.logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(|e| {
                        api_error(Service::Logs, "DeleteRetentionPolicy", &res(name), e)
                    })?;
            }
        }
        Ok(())
    }
}

impl ResourceProvider<LogGroup> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<LogGroup>> {
        match self.log_groups_with_prefix(name, true).await?.first() {
            Some(g) => self.to_model(g).await,
            None => Ok(None),
        }
    }

    async fn create(&self, desired: &LogGroup) -> Result<()> {
        let name = desired.name.as_str();
        let mut request = self.logs.create_log_group().log_group_name(name);
        if !desired.tags.is_empty() {
            request = request.set_tags(Some(tag_map(&desired.tags)));
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceAlreadyExistsException"]) => {
                // Created meanwhile (Lambda creates its group on first
                // invoke): converge it if it is ours.
                let live = ResourceProvider::<LogGroup>::read(self, name).await?;
                let want = desired.tags.get(OWNER_TAG);
                match live {
                    Some(live) if want.is_some() && live.tags.get(OWNER_TAG) == want => {
                        let (set, remove) = tag_changes(&live.tags, &desired.tags);
                        if !set.is_empty() || !remove.is_empty() {
                            self.set_log_group_tags(name, &live.tags, &desired.tags)
                                .await?;
                        }
                    }
                    _ => {
                        return Err(crate::provider::ProviderError::Conflict {
                            resource: res(name),
                            message: format!(
                                "the log group already exists without the tag {OWNER_TAG}={}; it is not changed",
                                want.map_or("?", String::as_str)
                            ),
                        });
                    }
                }
            }
            Err(e) => return Err(api_error(Service::Logs, "CreateLogGroup", &res(name), e)),
        }
        if desired.retention_days.is_some() {
            self.set_retention(name, desired.retention_days).await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        live: &LogGroup,
        desired: &LogGroup,
        changes: &Changes<LogGroupField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        if changes.contains(LogGroupField::Tags) {
            self.set_log_group_tags(name, &live.tags, &desired.tags)
                .await?;
        }
        if changes.contains(LogGroupField::RetentionDays) {
            self.set_retention(name, desired.retention_days).await?;
        }
        Ok(())
    }

    async fn delete(&self, live: &LogGroup) -> Result<()> {
        match self
            .logs
            .delete_log_group()
            .log_group_name(&live.name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(api_error(
                Service::Logs,
                "DeleteLogGroup",
                &res(&live.name),
                e,
            )),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<LogGroup>> {
        let prefix = format!("/aws/lambda/{stack}-");
        let mut owned = Vec::new();
        for g in self.log_groups_with_prefix(&prefix, false).await? {
            if g.log_group_name().is_none_or(|n| known.contains(n)) {
                continue;
            }
            if let Some(group) = self.to_model(&g).await?
                && group.tags.get(OWNER_TAG).is_some_and(|s| s == stack)
            {
                owned.push(group);
            }
        }
        Ok(owned)
    }
}

impl AwsCloud {
    async fn set_log_group_tags(&self, name: &str, live: &Tags, desired: &Tags) -> Result<()> {
        let arn = crate::provider::Cloud::context(self)
            .await?
            .log_group_arn(name);
        let (set, remove) = tag_changes(live, desired);
        if !set.is_empty() {
            self.logs
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tag_map(&set)))
                .send()
                .await
                .map_err(|e| api_error(Service::Logs, "TagResource", &res(name), e))?;
        }
        if !remove.is_empty() {
            self.logs
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| api_error(Service::Logs, "UntagResource", &res(name), e))?;
        }
        Ok(())
    }
}
