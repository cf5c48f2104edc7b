//! An S3 bucket: versioning, public-access block, default encryption,
//! policy and tags (each its own S3 call).

use serde::{Deserialize, Serialize};

use super::{Field, Kind, RETAIN_TAG, Resource, ResourceKind, Tags, UpdateKind, map, on_off, opt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub versioning: bool,
    /// All four public-access-block flags on.
    pub public_access_block: bool,
    /// Default encryption algorithm (`AES256`), `None` when unset.
    pub encryption: Option<String>,
    /// Bucket policy, canonical JSON; `None` when the bucket has none.
    pub policy: Option<String>,
    pub tags: Tags,
}

impl Bucket {
    /// The policy every bucket stackctl makes carries, canonical JSON:
    /// deny every request that does not use TLS.
    pub fn tls_only_policy(bucket: &str) -> String {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        });
        super::canonical_json(&policy.to_string())
    }

    /// Marked `retain: true` (by its tag): never deleted.
    pub fn is_retained(&self) -> bool {
        self.tags.get(RETAIN_TAG).is_some_and(|v| v == "true")
    }
}

/// The fields of a bucket the planner compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BucketField {
    Versioning,
    PublicAccessBlock,
    Encryption,
    Policy,
    Tags,
}

impl Field for BucketField {
    fn name(self) -> &'static str {
        match self {
            Self::Versioning => "versioning",
            Self::PublicAccessBlock => "public_access_block",
            Self::Encryption => "encryption",
            Self::Policy => "policy",
            Self::Tags => "tags",
        }
    }

    fn update(self) -> UpdateKind {
        match self {
            Self::Versioning | Self::PublicAccessBlock | Self::Encryption | Self::Policy => {
                UpdateKind::Configuration
            }
            Self::Tags => UpdateKind::Tags,
        }
    }
}

impl ResourceKind for Bucket {
    const KIND: Kind = Kind::Bucket;
    const TAGGED: bool = true;
    type Field = BucketField;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn fields(&self) -> Vec<(BucketField, String)> {
        vec![
            (BucketField::Versioning, on_off(self.versioning)),
            (
                BucketField::PublicAccessBlock,
                on_off(self.public_access_block),
            ),
            (BucketField::Encryption, opt(&self.encryption)),
            (BucketField::Policy, opt(&self.policy)),
            (BucketField::Tags, map(&self.tags)),
        ]
    }

    fn tags(&self) -> Option<&Tags> {
        Some(&self.tags)
    }

    fn into_resource(self) -> Resource {
        Resource::Bucket(self)
    }

    fn from_resource(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Bucket(x) => Some(x),
            _ => None,
        }
    }
}
