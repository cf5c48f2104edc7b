//! A Glue database: the stack's catalog, Athena's schema for its tables.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub description: Option<String>,
    pub tags: Tags,
}

/// The fields of a database the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatabaseField {
    Description,
    Tags,
}

impl Field for DatabaseField {
    fn name(self) -> &'static str {
        match self {
            Self::Description => "description",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::Description => UpdateKind::Configuration,
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for Database {
    const KIND: Kind = Kind::Database;
    const TAGGED: bool = true;
    type Field = DatabaseField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(DatabaseField, String)> {
        vec![
            (DatabaseField::Description, opt(&self.description)),
            (DatabaseField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Database(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Database(x) => Some(x),
            _ => None,
        }
    }
}
