//! A Glue table: an external table over the CSV objects under one bucket
//! prefix, as Athena reads it.
//!
//! Glue tables take no tags on AWS, so the owner mark is a table parameter
//! (`stackctl:stack`); the model keeps it as the table's `tags`, so that
//! ownership works as for every tagged kind.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceId, ResourceKind, Tags, UpdateKind, map};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub database: String,
    pub name: String,
    /// `s3://bucket/prefix`.
    pub location: String,
    /// In the files' column order.
    pub columns: Vec<Column>,
    pub format: TableFormat,
    /// The owner mark, kept in the table's parameters.
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// Glue's spelling: `string`, `bigint`, `decimal(12,2)`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// How the files are read: the table type, its input and output formats,
/// the SerDe and its parameters, and the table parameters stackctl sets
/// (others, such as those Athena adds, are not compared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFormat {
    pub table_type: String,
    pub input_format: String,
    pub output_format: String,
    pub serde: String,
    pub serde_parameters: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// Hive's text formats and the Open CSV SerDe: quoted fields, as the data
/// contract writes them.
pub const CSV_INPUT_FORMAT: &str = "org.apache.hadoop.mapred.TextInputFormat";
pub const CSV_OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
pub const CSV_SERDE: &str = "org.apache.hadoop.hive.serde2.OpenCSVSerde";
/// The table parameters stackctl sets and compares (besides the owner mark).
pub const TABLE_PARAMETERS: [&str; 3] = ["EXTERNAL", "classification", "skip.header.line.count"];

impl TableFormat {
    /// A CSV file with one header row, RFC 4180 quoting.
    pub fn csv() -> Self {
        Self {
            table_type: "EXTERNAL_TABLE".into(),
            input_format: CSV_INPUT_FORMAT.into(),
            output_format: CSV_OUTPUT_FORMAT.into(),
            serde: CSV_SERDE.into(),
            serde_parameters: [("quoteChar", "\""), ("separatorChar", ",")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            parameters: [
                ("EXTERNAL", "TRUE"),
                ("classification", "csv"),
                ("skip.header.line.count", "1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    }
}

impl Table {
    /// `database.table`: a table's name among tables of every database.
    pub fn full_name(database: &str, table: &str) -> String {
        format!("{database}.{table}")
    }

    /// The table parameters as stored: the format's, and the owner mark.
    pub fn parameters(&self) -> BTreeMap<String, String> {
        let mut p = self.format.parameters.clone();
        p.extend(self.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        p
    }

    /// Stored table parameters as the model sees them: the owner mark, and
    /// the [`TABLE_PARAMETERS`] stackctl sets (others, such as those Athena
    /// adds, are not compared).
    pub fn split_parameters(
        parameters: impl IntoIterator<Item = (String, String)>,
    ) -> (Tags, BTreeMap<String, String>) {
        let mut tags = Tags::new();
        let mut kept = BTreeMap::new();
        for (k, v) in parameters {
            if k == super::OWNER_TAG {
                tags.insert(k, v);
            } else if TABLE_PARAMETERS.contains(&k.as_str()) {
                kept.insert(k, v);
            }
        }
        (tags, kept)
    }
}

/// The fields of a table the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableField {
    Location,
    Columns,
    Format,
    Tags,
}

impl Field for TableField {
    fn name(self) -> &'static str {
        match self {
            Self::Location => "location",
            Self::Columns => "columns",
            Self::Format => "format",
            Self::Tags => "owner",
        }
    }

    fn update(self) -> UpdateKind {
        // Glue's UpdateTable replaces the whole table input, owner mark
        // (a parameter) included.
        UpdateKind::Configuration
    }
}

impl ResourceKind for Table {
    const KIND: Kind = Kind::Table;
    const TAGGED: bool = true;
    type Field = TableField;

    fn name(&self) -> String {
        Table::full_name(&self.database, &self.name)
    }

    fn fields(&self) -> Vec<(TableField, String)> {
        let columns = self
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            (TableField::Location, self.location.clone()),
            (TableField::Columns, columns),
            (
                TableField::Format,
                serde_json::to_string(&self.format).unwrap_or_default(),
            ),
            (TableField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn parent(&self) -> Option<ResourceId> {
        Some(ResourceId::new(Kind::Database, self.database.clone()))
    }

    fn into_resource(self) -> Resource {
        Resource::Table(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Table(x) => Some(x),
            _ => None,
        }
    }
}
