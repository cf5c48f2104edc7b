//! What the local cloud sends when an object is created, in the exact JSON
//! shapes AWS sends: the S3 notification event (`Records[]`) a bucket's
//! Lambda configuration delivers, and the EventBridge "Object Created"
//! event rules match. [`notification_targets`] tells which functions get
//! which event for one write, from the stored notification and rules.

use serde_json::{Value, json};

use super::pattern::EventPattern;
use super::s3::ObjectCreated;
use super::store::{LocalStore, StoreError};
use super::{LOCAL_ACCOUNT, LOCAL_REGION};
use crate::model::{Kind, Notification, Rule};

/// The canonical user id S3 shows as a bucket's owner.
pub const OWNER_CANONICAL_ID: &str = "LOCALSTACKCTLOWNER0000000000";

/// How a function came to get an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryVia {
    /// The bucket's notification configuration with this id.
    S3Notification { configuration_id: String },
    /// The EventBridge rule of this name.
    Rule { name: String },
}

/// One function to invoke with one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub function: String,
    pub function_arn: String,
    pub via: DeliveryVia,
    pub event: Value,
}

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

/// ISO-8601 UTC from milliseconds since the epoch: `2026-11-25T10:00:00.000Z`
/// with `millis`, `2026-11-25T10:00:00Z` without.
pub fn iso8601(ms: u64, millis: bool) -> String {
    let (y, mo, d, h, m, s, milli) = super::clock::civil(i64::try_from(ms).unwrap_or(i64::MAX));
    if millis {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
    }
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
            "awsRegion": LOCAL_REGION,
            "eventTime": iso8601(ev.time_ms, true),
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

/// The EventBridge "Object Created" event S3 sends for one write to a
/// bucket with EventBridge notifications on. `id` is the event's id.
pub fn eventbridge_event(ev: &ObjectCreated, id: &str) -> Value {
    let mut object = json!({
        "key": ev.key,
        "size": ev.size,
        "etag": ev.etag,
        "sequencer": ev.sequencer,
    });
    if let Some(v) = &ev.version_id {
        object["version-id"] = json!(v);
    }
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": LOCAL_ACCOUNT,
        "time": iso8601(ev.time_ms, false),
        "region": LOCAL_REGION,
        "resources": [format!("arn:aws:s3:::{}", ev.bucket)],
        "detail": {
            "version": "0",
            "bucket": {"name": ev.bucket},
            "object": object,
            "request-id": ev.request_id,
            "requester": ev.requester,
            "source-ip-address": ev.source_ip,
            "reason": ev.reason,
        }
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

/// The function name in a function ARN
/// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`), or the
/// text itself when it is a bare name.
pub fn function_name_from_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[5] == "function" {
        parts[6].to_owned()
    } else {
        arn.to_owned()
    }
}

/// Every function a write triggers, each with its event: the bucket's
/// Lambda configurations whose event types and prefix/suffix filters match
/// the key, and, when the bucket sends to EventBridge, every rule whose
/// pattern matches the "Object Created" event (its target function).
///
/// A stored rule whose pattern does not parse is an error naming its file
/// (`up` writes only valid ones; a hand edit may not be).
pub fn notification_targets(
    store: &LocalStore,
    ev: &ObjectCreated,
) -> Result<Vec<Delivery>, StoreError> {
    let Some(notification) = store.get::<Notification>(&ev.bucket)? else {
        return Ok(Vec::new());
    };
    let name = event_name(&ev.reason);
    let mut out = Vec::new();
    for n in &notification.lambda {
        let key_ok = n.prefix.as_deref().is_none_or(|p| ev.key.starts_with(p))
            && n.suffix.as_deref().is_none_or(|s| ev.key.ends_with(s));
        if key_ok && n.events.iter().any(|e| event_type_matches(e, name)) {
            out.push(Delivery {
                function: function_name_from_arn(&n.function_arn),
                function_arn: n.function_arn.clone(),
                via: DeliveryVia::S3Notification {
                    configuration_id: n.id.clone(),
                },
                event: s3_event(ev, &n.id),
            });
        }
    }
    if notification.eventbridge {
        let event = eventbridge_event(ev, &super::clock::request_id());
        for rule in store.list::<Rule>()? {
            let Some(target) = &rule.target_arn else {
                continue;
            };
            let pattern = EventPattern::parse(&rule.pattern).map_err(|e| StoreError::Corrupt {
                path: store.resource_path(Kind::Rule, &rule.name),
                message: e.to_string(),
            })?;
            if pattern.matches(&event) {
                out.push(Delivery {
                    function: function_name_from_arn(target),
                    function_arn: target.clone(),
                    via: DeliveryVia::Rule {
                        name: rule.name.clone(),
                    },
                    event: event.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_renders_utc() {
        assert_eq!(iso8601(0, true), "1970-01-01T00:00:00.000Z");
        // 2026-11-25T10:00:00.123Z
        assert_eq!(iso8601(1_795_600_800_123, true), "2026-11-25T10:00:00.123Z");
        assert_eq!(iso8601(1_795_600_800_123, false), "2026-11-25T10:00:00Z");
        assert_eq!(iso8601(951_782_400_000, false), "2000-02-29T00:00:00Z");
    }

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
