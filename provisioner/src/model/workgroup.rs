//! An Athena workgroup: where the stack's queries run and their results
//! go (enforced, encrypted), and tags.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map, on_off, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workgroup {
    pub name: String,
    /// `s3://bucket/prefix`: each query's result files.
    pub output_location: Option<String>,
    /// `SSE_S3`, `SSE_KMS` or `CSE_KMS`; `None`: not encrypted.
    pub encryption: Option<String>,
    /// Whether the workgroup's settings override a client's.
    pub enforce_configuration: bool,
    pub tags: Tags,
}

/// The fields of a workgroup the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkgroupField {
    OutputLocation,
    Encryption,
    EnforceConfiguration,
    Tags,
}

impl Field for WorkgroupField {
    fn name(self) -> &'static str {
        match self {
            Self::OutputLocation => "output_location",
            Self::Encryption => "encryption",
            Self::EnforceConfiguration => "enforce_configuration",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::Tags => UpdateKind::Tags,
            _ => UpdateKind::Configuration,
        }
    }
}

impl ResourceKind for Workgroup {
    const KIND: Kind = Kind::Workgroup;
    const TAGGED: bool = true;
    type Field = WorkgroupField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(WorkgroupField, String)> {
        vec![
            (WorkgroupField::OutputLocation, opt(&self.output_location)),
            (WorkgroupField::Encryption, opt(&self.encryption)),
            (
                WorkgroupField::EnforceConfiguration,
                on_off(self.enforce_configuration),
            ),
            (WorkgroupField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Workgroup(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Workgroup(x) => Some(x),
            _ => None,
        }
    }
}
