//! Glue's Data Catalog: databases and the tables in them, as stored. A
//! table names the CSV objects it reads by `s3://bucket/prefix`; the query
//! engine ([`crate::athena`]) reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Tags;
use crate::store::{Record, Result, Store};

/// A database, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub description: Option<String>,
    pub tags: Tags,
}

impl Record for Database {
    const KIND: &'static str = "database";
    fn record_name(&self) -> String {
        self.name.clone()
    }
}

/// A table, as stored: Glue's `TableInput`, flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub database: String,
    pub name: String,
    /// `s3://bucket/prefix`.
    pub location: String,
    pub columns: Vec<Column>,
    pub table_type: String,
    pub input_format: String,
    pub output_format: String,
    pub serde: String,
    pub serde_parameters: BTreeMap<String, String>,
    /// The table's parameters (Glue tables have no tags: an owner mark
    /// lives here).
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// Glue's spelling: `string`, `bigint`, `decimal(12,2)`.
    #[serde(rename = "type")]
    pub ty: String,
}

impl Table {
    /// `database.table`: its record name.
    pub fn full_name(database: &str, table: &str) -> String {
        format!("{database}.{table}")
    }

    /// The bucket and key prefix of its location; `None` when it is not
    /// an `s3://` URL.
    pub fn bucket_and_prefix(&self) -> Option<(&str, &str)> {
        let rest = self.location.strip_prefix("s3://")?;
        Some(rest.split_once('/').unwrap_or((rest, "")))
    }

    /// Whether the files have a header row to skip.
    pub fn skips_header(&self) -> bool {
        self.parameters
            .get("skip.header.line.count")
            .is_some_and(|n| n.trim() == "1")
    }
}

impl Record for Table {
    const KIND: &'static str = "table";
    fn record_name(&self) -> String {
        Table::full_name(&self.database, &self.name)
    }
}

impl Store {
    /// The tables of `database`, by name.
    pub fn tables_of(&self, database: &str) -> Result<Vec<Table>> {
        Ok(self
            .list::<Table>()?
            .into_iter()
            .filter(|t| t.database == database)
            .collect())
    }

    /// Deletes a database and, as Glue does, every table in it.
    pub fn remove_database(&self, database: &str) -> Result<()> {
        for t in self.tables_of(database)? {
            self.remove::<Table>(&t.record_name())?;
        }
        self.remove::<Database>(database)?;
        Ok(())
    }
}
