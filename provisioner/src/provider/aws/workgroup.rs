//! Athena workgroups: the results location (enforced, encrypted) and tags.

use std::collections::BTreeSet;

use aws_sdk_athena::error::ProvideErrorMetadata;
use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, ResultConfiguration, ResultConfigurationUpdates,
    Tag, WorkGroupConfiguration, WorkGroupConfigurationUpdates,
};

use super::{AwsCloud, Service, api_error, tag_changes};
use crate::model::{Changes, OWNER_TAG, Tags, Workgroup, WorkgroupField};
use crate::provider::{Cloud, ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("workgroup {name}")
}

/// Athena answers a missing workgroup with InvalidRequestException and a
/// message saying so.
fn is_not_found<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("InvalidRequestException")
        && e.message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("not found"))
}

fn encryption(option: &str) -> Result<EncryptionConfiguration> {
    EncryptionConfiguration::builder()
        .encryption_option(EncryptionOption::from(option))
        .build()
        .map_err(|e| ProviderError::Other(format!("encryption {option}: {e}")))
}

fn sdk_tags(tags: &Tags) -> Result<Vec<Tag>> {
    Ok(tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect())
}

impl AwsCloud {
    async fn workgroup_tags(&self, name: &str) -> Result<Tags> {
        let arn = self.context().await?.workgroup_arn(name);
        let mut tags = Tags::new();
        let mut pages = self
            .athena
            .list_tags_for_resource()
            .resource_arn(&arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| api_error(Service::Athena, "ListTagsForResource", &res(name), e))?;
            for t in page.tags() {
                if let (Some(k), Some(v)) = (t.key(), t.value()) {
                    tags.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        Ok(tags)
    }
}

impl ResourceProvider<Workgroup> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Workgroup>> {
        let out = match self.athena.get_work_group().work_group(name).send().await {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(api_error(Service::Athena, "GetWorkGroup", &res(name), e)),
        };
        let Some(wg) = out.work_group() else {
            return Ok(None);
        };
        let config = wg.configuration();
        let results = config.and_then(|c| c.result_configuration());
        Ok(Some(Workgroup {
            name: wg.name().to_owned(),
            output_location: results.and_then(|r| r.output_location()).map(str::to_owned),
            encryption: results
                .and_then(|r| r.encryption_configuration())
                .map(|e| e.encryption_option().as_str().to_owned()),
            enforce_configuration: config
                .and_then(|c| c.enforce_work_group_configuration())
                .unwrap_or(false),
            tags: self.workgroup_tags(name).await?,
        }))
    }

    async fn create(&self, desired: &Workgroup) -> Result<()> {
        let name = desired.name.as_str();
        let mut results =
            ResultConfiguration::builder().set_output_location(desired.output_location.clone());
        if let Some(option) = &desired.encryption {
            results = results.encryption_configuration(encryption(option)?);
        }
        let config = WorkGroupConfiguration::builder()
            .result_configuration(results.build())
            .enforce_work_group_configuration(desired.enforce_configuration)
            .build();
        match self
            .athena
            .create_work_group()
            .name(name)
            .configuration(config)
            .set_tags(Some(sdk_tags(&desired.tags)?))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.code() == Some("InvalidRequestException")
                    && e.message().is_some_and(|m| m.contains("already")) =>
            {
                self.converge_existing(desired, "Athena workgroup").await
            }
            Err(e) => Err(api_error(Service::Athena, "CreateWorkGroup", &res(name), e)),
        }
    }

    async fn update(
        &self,
        live: &Workgroup,
        desired: &Workgroup,
        changes: &Changes<WorkgroupField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        let configuration = changes.contains(WorkgroupField::OutputLocation)
            || changes.contains(WorkgroupField::Encryption)
            || changes.contains(WorkgroupField::EnforceConfiguration);
        if configuration {
            let mut results = ResultConfigurationUpdates::builder();
            results = match &desired.output_location {
                Some(l) => results.output_location(l),
                None => results.remove_output_location(true),
            };
            results = match &desired.encryption {
                Some(option) => results.encryption_configuration(encryption(option)?),
                None => results.remove_encryption_configuration(true),
            };
            self.athena
                .update_work_group()
                .work_group(name)
                .configuration_updates(
                    WorkGroupConfigurationUpdates::builder()
                        .result_configuration_updates(results.build())
                        .enforce_work_group_configuration(desired.enforce_configuration)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| api_error(Service::Athena, "UpdateWorkGroup", &res(name), e))?;
        }
        if changes.contains(WorkgroupField::Tags) {
            let arn = self.context().await?.workgroup_arn(name);
            let (set, remove) = tag_changes(&live.tags, &desired.tags);
            if !set.is_empty() {
                self.athena
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(sdk_tags(&set)?))
                    .send()
                    .await
                    .map_err(|e| api_error(Service::Athena, "TagResource", &res(name), e))?;
            }
            if !remove.is_empty() {
                self.athena
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| api_error(Service::Athena, "UntagResource", &res(name), e))?;
            }
        }
        Ok(())
    }

    async fn delete(&self, live: &Workgroup) -> Result<()> {
        // Recursive: its saved queries and prepared statements go with it.
        // Query results are objects in the stack's bucket: they go with the
        // bucket, under --delete-data.
        match self
            .athena
            .delete_work_group()
            .work_group(&live.name)
            .recursive_delete_option(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api_error(
                Service::Athena,
                "DeleteWorkGroup",
                &res(&live.name),
                e,
            )),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Workgroup>> {
        let mut names = Vec::new();
        let mut pages = self.athena.list_work_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                api_error(Service::Athena, "ListWorkGroups", "Athena workgroups", e)
            })?;
            names.extend(
                page.work_groups()
                    .iter()
                    .filter_map(|w| w.name())
                    .filter(|n| !known.contains(*n))
                    .map(str::to_owned),
            );
        }
        let mut owned = Vec::new();
        for name in names {
            if self
                .workgroup_tags(&name)
                .await?
                .get(OWNER_TAG)
                .is_some_and(|s| s == stack)
                && let Some(wg) = ResourceProvider::<Workgroup>::read(self, &name).await?
            {
                owned.push(wg);
            }
        }
        Ok(owned)
    }
}
