//! A bucket's whole notification document: S3 replaces it in one call.

use serde::{Deserialize, Serialize};

use super::{Field, Kind, Resource, ResourceId, ResourceKind, UpdateKind, on_off};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LambdaNotification {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub bucket: String,
    pub lambda: Vec<LambdaNotification>,
    pub eventbridge: bool,
}

/// The fields of a notification the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotificationField {
    Lambda,
    Eventbridge,
}

impl Field for NotificationField {
    fn name(self) -> &'static str {
        match self {
            Self::Lambda => "lambda",
            Self::Eventbridge => "eventbridge",
        }
    }

    fn update(self) -> UpdateKind {
        UpdateKind::Configuration
    }
}

impl ResourceKind for Notification {
    const KIND: Kind = Kind::Notification;
    const TAGGED: bool = false;
    type Field = NotificationField;

    fn name(&self) -> String {
        self.bucket.clone()
    }

    fn fields(&self) -> Vec<(NotificationField, String)> {
        let mut lambda = self.lambda.clone();
        lambda.sort();
        vec![
            (
                NotificationField::Lambda,
                serde_json::to_string(&lambda).unwrap_or_default(),
            ),
            (NotificationField::Eventbridge, on_off(self.eventbridge)),
        ]
    }

    fn parent(&self) -> Option<ResourceId> {
        Some(ResourceId::new(Kind::Bucket, &self.bucket))
    }

    fn into_resource(self) -> Resource {
        Resource::Notification(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Notification(x) => Some(x),
            _ => None,
        }
    }
}
