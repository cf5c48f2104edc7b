//! Glue databases: description and tags. Deleting one deletes its tables,
//! as Glue does.

use std::collections::BTreeSet;

use aws_sdk_glue::types::DatabaseInput;

use super::{AwsCloud, Service, api_error, is_code, tag_changes, tag_map};
use crate::model::{Changes, Database, DatabaseField, OWNER_TAG, Tags};
use crate::provider::{Cloud, ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("database {name}")
}

fn input(d: &Database) -> Result<DatabaseInput> {
    DatabaseInput::builder()
        .name(&d.name)
        .set_description(d.description.clone())
        .build()
        .map_err(|e| ProviderError::Other(format!("database {}: {e}", d.name)))
}

impl AwsCloud {
    async fn database_tags(&self, name: &str) -> Result<Tags> {
        let arn = self.context().await?.database_arn(name);
        let out = self
            .glue
            .get_tags()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| api_error(Service::Glue, "GetTags", &res(name), e))?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    pub(crate) async fn set_glue_tags(
        &self,
        arn: &str,
        resource: &str,
        live: &Tags,
        desired: &Tags,
    ) -> Result<()> {
        let (set, remove) = tag_changes(live, desired);
        if !set.is_empty() {
            self.glue
                .tag_resource()
                .resource_arn(arn)
                .set_tags_to_add(Some(tag_map(&set)))
                .send()
                .await
                .map_err(|e| api_error(Service::Glue, "TagResource", resource, e))?;
        }
        if !remove.is_empty() {
            self.glue
                .untag_resource()
                .resource_arn(arn)
                .set_tags_to_remove(Some(remove))
                .send()
                .await
                .map_err(|e| api_error(Service::Glue, "UntagResource", resource, e))?;
        }
        Ok(())
    }
}

impl ResourceProvider<Database> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Database>> {
        let out = match self.glue.get_database().name(name).send().await {
            Ok(out) => out,
            Err(e) if is_code(&e, &["EntityNotFoundException"]) => return Ok(None),
            Err(e) => return Err(api_error(Service::Glue, "GetDatabase", &res(name), e)),
        };
        let Some(db) = out.database() else {
            return Ok(None);
        };
        Ok(Some(Database {
            name: db.name().to_owned(),
            description: db.description().map(str::to_owned),
            tags: self.database_tags(name).await?,
        }))
    }

    async fn create(&self, desired: &Database) -> Result<()> {
        let name = desired.name.as_str();
        match self
            .glue
            .create_database()
            .database_input(input(desired)?)
            .set_tags(Some(tag_map(&desired.tags)))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Ours from a run killed after creating it, or someone else's.
            Err(e) if is_code(&e, &["AlreadyExistsException"]) => {
                self.converge_existing(desired, "Glue database").await
            }
            Err(e) => Err(api_error(Service::Glue, "CreateDatabase", &res(name), e)),
        }
    }

    async fn update(
        &self,
        live: &Database,
        desired: &Database,
        changes: &Changes<DatabaseField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        if changes.contains(DatabaseField::Description) {
            self.glue
                .update_database()
                .name(name)
                .database_input(input(desired)?)
                .send()
                .await
                .map_err(|e| api_error(Service::Glue, "UpdateDatabase", &res(name), e))?;
        }
        if changes.contains(DatabaseField::Tags) {
            let arn = self.context().await?.database_arn(name);
            self.set_glue_tags(&arn, &res(name), &live.tags, &desired.tags)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, live: &Database) -> Result<()> {
        match self.glue.delete_database().name(&live.name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["EntityNotFoundException"]) => Ok(()),
            Err(e) => Err(api_error(
                Service::Glue,
                "DeleteDatabase",
                &res(&live.name),
                e,
            )),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Database>> {
        let mut owned = Vec::new();
        for db in self.glue_databases().await? {
            if known.contains(&db.name) {
                continue;
            }
            let tags = self.database_tags(&db.name).await?;
            if tags.get(OWNER_TAG).is_some_and(|s| s == stack) {
                owned.push(Database { tags, ..db });
            }
        }
        Ok(owned)
    }
}

impl AwsCloud {
    /// Every database of the account and region (GetDatabases' pages:
    /// names and descriptions, no tags).
    pub(crate) async fn glue_databases(&self) -> Result<Vec<Database>> {
        let mut found = Vec::new();
        let mut pages = self.glue.get_databases().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| api_error(Service::Glue, "GetDatabases", "Glue databases", e))?;
            found.extend(page.database_list().iter().map(|d| Database {
                name: d.name().to_owned(),
                description: d.description().map(str::to_owned),
                tags: Tags::new(),
            }));
        }
        Ok(found)
    }

    /// Whether `database` is tagged as `stack`'s.
    pub(crate) async fn database_is_owned(&self, database: &str, stack: &str) -> Result<bool> {
        Ok(self
            .database_tags(database)
            .await?
            .get(OWNER_TAG)
            .is_some_and(|s| s == stack))
    }
}
