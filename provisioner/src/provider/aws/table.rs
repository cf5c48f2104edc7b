//! Glue tables. Glue tables take no tags on AWS (moto accepts them, AWS
//! does not), so ownership is the table parameter `stackctl:stack`, and
//! only the parameters stackctl sets are compared: Athena and crawlers add
//! their own.

use std::collections::BTreeSet;

use aws_sdk_glue::types::{
    Column as SdkColumn, SerDeInfo, StorageDescriptor, Table as SdkTable, TableInput,
};

use super::{AwsCloud, Service, api_error, is_code, tag_map};
use crate::model::{Changes, Column, OWNER_TAG, ResourceKind, Table, TableField, TableFormat};
use crate::provider::{ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("table {name}")
}

/// `database.table` → its parts.
fn split(name: &str) -> Result<(&str, &str)> {
    name.split_once('.')
        .ok_or_else(|| ProviderError::Other(format!("{name} is not a `database.table` name")))
}

fn input(t: &Table) -> Result<TableInput> {
    let fail = |e: aws_sdk_glue::error::BuildError| {
        ProviderError::Other(format!("table {}: {e}", t.id().name))
    };
    let columns = t
        .columns
        .iter()
        .map(|c| SdkColumn::builder().name(&c.name).r#type(&c.ty).build())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(fail)?;
    TableInput::builder()
        .name(&t.name)
        .table_type(&t.format.table_type)
        .set_parameters(Some(tag_map(&t.parameters())))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns))
                .location(&t.location)
                .input_format(&t.format.input_format)
                .output_format(&t.format.output_format)
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(&t.format.serde)
                        .set_parameters(Some(tag_map(&t.format.serde_parameters)))
                        .build(),
                )
                .build(),
        )
        .build()
        .map_err(fail)
}

fn to_model(database: &str, t: &SdkTable) -> Table {
    let sd = t.storage_descriptor();
    let serde = sd.and_then(|s| s.serde_info());
    let (tags, parameters) = Table::split_parameters(
        t.parameters()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
    Table {
        database: database.to_owned(),
        name: t.name().to_owned(),
        location: text(sd.and_then(|s| s.location())),
        columns: sd
            .map(|s| s.columns())
            .unwrap_or_default()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                ty: text(c.r#type()),
            })
            .collect(),
        format: TableFormat {
            table_type: text(t.table_type()),
            input_format: text(sd.and_then(|s| s.input_format())),
            output_format: text(sd.and_then(|s| s.output_format())),
            serde: text(serde.and_then(|s| s.serialization_library())),
            serde_parameters: serde
                .and_then(|s| s.parameters())
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            parameters,
        },
        tags,
    }
}

impl ResourceProvider<Table> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Table>> {
        let (database, table) = split(name)?;
        match self
            .glue
            .get_table()
            .database_name(database)
            .name(table)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().map(|t| to_model(database, t))),
            // Glue says EntityNotFoundException for a missing database too.
            Err(e) if is_code(&e, &["EntityNotFoundException"]) => Ok(None),
            Err(e) => Err(api_error(Service::Glue, "GetTable", &res(name), e)),
        }
    }

    async fn create(&self, desired: &Table) -> Result<()> {
        let name = desired.id().name;
        match self
            .glue
            .create_table()
            .database_name(&desired.database)
            .table_input(input(desired)?)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["AlreadyExistsException"]) => {
                self.converge_existing(desired, "Glue table").await
            }
            Err(e) => Err(api_error(Service::Glue, "CreateTable", &res(&name), e)),
        }
    }

    async fn update(
        &self,
        _live: &Table,
        desired: &Table,
        changes: &Changes<TableField>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // UpdateTable replaces the table's whole definition.
        self.glue
            .update_table()
            .database_name(&desired.database)
            .table_input(input(desired)?)
            .send()
            .await
            .map_err(|e| api_error(Service::Glue, "UpdateTable", &res(&desired.id().name), e))?;
        Ok(())
    }

    async fn delete(&self, live: &Table) -> Result<()> {
        match self
            .glue
            .delete_table()
            .database_name(&live.database)
            .name(&live.name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["EntityNotFoundException"]) => Ok(()),
            Err(e) => Err(api_error(
                Service::Glue,
                "DeleteTable",
                &res(&live.id().name),
                e,
            )),
        }
    }

    /// The tables marked as the stack's, in the databases of `known`'s
    /// tables (the stack's own, checked by the planner) and in the other
    /// databases tagged as its.
    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Table>> {
        let known_databases: BTreeSet<&str> = known
            .iter()
            .filter_map(|n| n.split_once('.').map(|(db, _)| db))
            .collect();
        let mut owned = Vec::new();
        for db in self.glue_databases().await? {
            if !known_databases.contains(db.name.as_str())
                && !self.database_is_owned(&db.name, stack).await?
            {
                continue;
            }
            let mut pages = self
                .glue
                .get_tables()
                .database_name(&db.name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(page) => page,
                    Err(e) if is_code(&e, &["EntityNotFoundException"]) => break,
                    Err(e) => {
                        return Err(api_error(Service::Glue, "GetTables", &res(&db.name), e));
                    }
                };
                for t in page.table_list() {
                    let table = to_model(&db.name, t);
                    if !known.contains(&table.id().name)
                        && table.tags.get(OWNER_TAG).is_some_and(|s| s == stack)
                    {
                        owned.push(table);
                    }
                }
            }
        }
        Ok(owned)
    }
}
