//! One statement of a function's resource-based policy: a service allowed
//! to invoke it. Lambda has no update call: a changed statement is removed
//! and added again.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceId, ResourceKind, UpdateKind, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub function: String,
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: Option<String>,
}

impl Permission {
    /// Permissions are named by function and statement id.
    pub fn id_name(function: &str, statement_id: &str) -> String {
        format!("{function}/{statement_id}")
    }
}

/// The fields of a permission the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PermissionField {
    Principal,
    SourceArn,
    SourceAccount,
}

impl Field for PermissionField {
    fn name(self) -> &'static str {
        match self {
            Self::Principal => "principal",
            Self::SourceArn => "source_arn",
            Self::SourceAccount => "source_account",
        }
    }

    fn update(self) -> UpdateKind {
        UpdateKind::Replace
    }
}

impl ResourceKind for Permission {
    const KIND: Kind = Kind::Permission;
    const TAGGED: bool = false;
    type Field = PermissionField;

    fn name(&self) -> String {
        Permission::id_name(&self.function, &self.statement_id)
    }

    fn fields(&self) -> Vec<(PermissionField, String)> {
        vec![
            (PermissionField::Principal, self.principal.clone()),
            (PermissionField::SourceArn, self.source_arn.clone()),
            (PermissionField::SourceAccount, opt(&self.source_account)),
        ]
    }

    fn parent(&self) -> Option<ResourceId> {
        Some(ResourceId::new(Kind::Function, &self.function))
    }

    fn into_resource(self) -> Resource {
        Resource::Permission(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Permission(x) => Some(x),
            _ => None,
        }
    }
}
