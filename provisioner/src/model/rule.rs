//! An EventBridge rule on the default bus with its one target, and tags.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// Event pattern, canonical JSON.
    pub pattern: String,
    pub target_id: String,
    /// The target function's ARN; `None` when the rule has no such target.
    pub target_arn: Option<String>,
    pub tags: Tags,
}

/// The fields of a rule the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleField {
    Pattern,
    Target,
    Tags,
}

impl Field for RuleField {
    fn name(self) -> &'static str {
        match self {
            Self::Pattern => "pattern",
            Self::Target => "target",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::Pattern | Self::Target => UpdateKind::Configuration,
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for Rule {
    const KIND: Kind = Kind::Rule;
    const TAGGED: bool = true;
    type Field = RuleField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(RuleField, String)> {
        vec![
            (RuleField::Pattern, self.pattern.clone()),
            (RuleField::Target, opt(&self.target_arn)),
            (RuleField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Rule(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Rule(x) => Some(x),
            _ => None,
        }
    }
}
