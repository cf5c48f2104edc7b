//! An IAM role: its trust policy, the one inline policy stackctl manages,
//! and tags.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// Canonical JSON.
    pub trust_policy: String,
    /// The one inline policy we manage, canonical JSON; `None` when absent.
    pub policy: Option<String>,
    pub tags: Tags,
}

/// The fields of a role the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleField {
    TrustPolicy,
    Policy,
    Tags,
}

impl Field for RoleField {
    fn name(self) -> &'static str {
        match self {
            Self::TrustPolicy => "trust_policy",
            Self::Policy => "policy",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::TrustPolicy | Self::Policy => UpdateKind::Configuration,
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for Role {
    const KIND: Kind = Kind::Role;
    const TAGGED: bool = true;
    type Field = RoleField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(RoleField, String)> {
        vec![
            (RoleField::TrustPolicy, self.trust_policy.clone()),
            (RoleField::Policy, opt(&self.policy)),
            (RoleField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Role(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Role(x) => Some(x),
            _ => None,
        }
    }
}
