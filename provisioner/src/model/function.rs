//! A Lambda function: its code (CodeSha256), configuration and tags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceKind, Tags, UpdateKind, map};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub role_arn: String,
    pub runtime: String,
    pub handler: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub environment: BTreeMap<String, String>,
    /// Base64 SHA-256 of the deployment zip: Lambda's CodeSha256.
    pub code_sha256: String,
    pub tags: Tags,
    /// The package to upload; not compared (code_sha256 stands for it).
    #[serde(skip)]
    pub package: Option<std::path::PathBuf>,
}

/// The fields of a function the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FunctionField {
    CodeSha256,
    Role,
    Runtime,
    Handler,
    Architecture,
    MemoryMb,
    TimeoutS,
    Environment,
    Tags,
}

impl Field for FunctionField {
    fn name(self) -> &'static str {
        match self {
            Self::CodeSha256 => "code_sha256",
            Self::Role => "role",
            Self::Runtime => "runtime",
            Self::Handler => "handler",
            Self::Architecture => "architecture",
            Self::MemoryMb => "memory_mb",
            Self::TimeoutS => "timeout_s",
            Self::Environment => "environment",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::CodeSha256 | Self::Architecture => UpdateKind::Code,
            Self::Role
            | Self::Runtime
            | Self::Handler
            | Self::MemoryMb
            | Self::TimeoutS
            | Self::Environment => UpdateKind::Configuration,
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for Function {
    const KIND: Kind = Kind::Function;
    const TAGGED: bool = true;
    type Field = FunctionField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(FunctionField, String)> {
        use FunctionField as F;
        vec![
            (F::CodeSha256, self.code_sha256.clone()),
            (F::Role, self.role_arn.clone()),
            (F::Runtime, self.runtime.clone()),
            (F::Handler, self.handler.clone()),
            (F::Architecture, self.architecture.clone()),
            (F::MemoryMb, self.memory_mb.to_string()),
            (F::TimeoutS, self.timeout_s.to_string()),
            (F::Environment, map(&self.environment)),
            (F::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Function(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Function(x) => Some(x),
            _ => None,
        }
    }
}
