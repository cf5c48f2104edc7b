//! A CloudWatch Logs group: retention and tags.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    pub retention_days: Option<u32>,
    pub tags: Tags,
}

/// The fields of a log group the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogGroupField {
    RetentionDays,
    Tags,
}

impl Field for LogGroupField {
    fn name(self) -> &'static str {
        match self {
            Self::RetentionDays => "retention_days",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::RetentionDays => UpdateKind::Configuration,
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for LogGroup {
    const KIND: Kind = Kind::LogGroup;
    const TAGGED: bool = true;
    type Field = LogGroupField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(LogGroupField, String)> {
        vec![
            (LogGroupField::RetentionDays, opt(&self.retention_days)),
            (LogGroupField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::LogGroup(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::LogGroup(x) => Some(x),
            _ => None,
        }
    }
}
