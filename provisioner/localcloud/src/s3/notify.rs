//! What S3 sends when an object is created: [`ObjectCreated`] from the
//! endpoint to whoever listens ([`ObjectEvents`]), and the S3 notification
//! event (`Records[]`) a bucket's Lambda configuration delivers, in the
//! exact JSON shape AWS sends.

use serde_json::{Value, json};

use crate::REGION;
use crate::clock::iso8601;

/// The canonical user id S3 shows as a bucket's owner.
pub const OWNER_CANONICAL_ID: &str = "LOCALSTACKCTLOWNER0000000000";

/// One object written through the endpoint: what S3 puts in its
/// notification events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    pub key: String,
    /// `None` when the bucket has no versioning (the `null` version).
    pub version_id: Option<String>,
    pub size: u64,
    /// MD5 hex, no quotes.
    pub etag: String,
    pub sequencer: String,
    /// `PutObject`, `CopyObject` or `CompleteMultipartUpload`.
    pub reason: String,
    pub time_ms: u64,
    pub request_id: String,
    /// S3's `x-amz-id-2`.
    pub host_id: String,
    pub source_ip: String,
    /// `userIdentity.principalId` of the S3 event: `AWS:<role session>` for a
    /// function, `AWS:<account>` for the owner.
    pub principal_id: String,
    /// The EventBridge event's `requester`: the account id.
    pub requester: String,
    /// The writing function's role, `None` for the account owner.
    pub role: Option<String>,
}

/// Told about every object created through the endpoint. Called on the
/// request's task before the response is sent: hand the work off (spawn),
/// do not block.
pub trait ObjectEvents: Send + Sync + 'static {
    fn object_created(&self, event: ObjectCreated);
}

/// Ignores events.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl ObjectEvents for NoEvents {
    fn object_created(&self, _event: ObjectCreated) {}
}

/// The event types S3 accepts in a notification configuration.
pub const EVENT_TYPES: [&str; 27] = [
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

/// S3's event name (without `s3:`) for a write: `ObjectCreated:Put`, ...
pub fn event_name(reason: &str) -> &'static str {
    match reason {
        "CopyObject" => "ObjectCreated:Copy",
        "CompleteMultipartUpload" => "ObjectCreated:CompleteMultipartUpload",
        "PostObject" => "ObjectCreated:Post",
        _ => "ObjectCreated:Put",
    }
}

/// What S3 leaves unescaped in event keys: letters, digits, `-_.~/`.
const EVENT_KEY_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The key as S3 writes it into notification events: URL-encoded, a space
/// as `+` (decode with `+` → space, then percent-decoding).
pub fn encode_event_key(key: &str) -> String {
    key.split(' ')
        .map(|part| percent_encoding::utf8_percent_encode(part, EVENT_KEY_ESCAPED).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// The inverse of [`encode_event_key`] (and of any form encoding).
pub fn decode_event_key(encoded: &str) -> String {
    percent_encoding::percent_decode_str(&encoded.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The S3 notification event for one write, as a bucket notification's
/// Lambda configuration `configuration_id` delivers it.
pub fn s3_event(ev: &ObjectCreated, configuration_id: &str) -> Value {
    let mut object = json!({
        "key": encode_event_key(&ev.key),
        "size": ev.size,
        "eTag": ev.etag,
        "sequencer": ev.sequencer,
    });
    if let Some(v) = &ev.version_id {
        object["versionId"] = json!(v);
    }
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": iso8601(ev.time_ms as i64),
            "eventName": event_name(&ev.reason),
            "userIdentity": {"principalId": ev.principal_id},
            "requestParameters": {"sourceIPAddress": ev.source_ip},
            "responseElements": {
                "x-amz-request-id": ev.request_id,
                "x-amz-id-2": ev.host_id,
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": configuration_id,
                "bucket": {
                    "name": ev.bucket,
                    "ownerIdentity": {"principalId": OWNER_CANONICAL_ID},
                    "arn": format!("arn:aws:s3:::{}", ev.bucket),
                },
                "object": object,
            },
        }]
    })
}

/// Whether a notification's event type (`s3:ObjectCreated:*`,
/// `s3:ObjectCreated:Put`, ...) covers `event_name` (`ObjectCreated:Put`).
pub fn event_type_matches(configured: &str, event_name: &str) -> bool {
    let configured = configured.strip_prefix("s3:").unwrap_or(configured);
    match configured.strip_suffix('*') {
        Some(prefix) => event_name.starts_with(prefix),
        None => configured == event_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_like_s3_events() {
        assert_eq!(
            encode_event_key("uploads/march été 2026.csv"),
            "uploads/march+%C3%A9t%C3%A9+2026.csv"
        );
        for k in ["a+b c%d", "x/y/z.csv", "é ü+%2B"] {
            assert_eq!(decode_event_key(&encode_event_key(k)), k);
        }
    }

    #[test]
    fn event_types() {
        assert!(event_type_matches(
            "s3:ObjectCreated:*",
            "ObjectCreated:Put"
        ));
        assert!(event_type_matches(
            "s3:ObjectCreated:Put",
            "ObjectCreated:Put"
        ));
        assert!(!event_type_matches(
            "s3:ObjectCreated:Copy",
            "ObjectCreated:Put"
        ));
        assert!(!event_type_matches(
            "s3:ObjectRemoved:*",
            "ObjectCreated:Put"
        ));
    }
}
