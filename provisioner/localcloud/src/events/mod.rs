//! EventBridge: rules (records), the "Object Created" event S3 sends to
//! the default bus, and event patterns ([`pattern`]).

pub mod pattern;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Tags;
use crate::clock::iso8601_seconds;
use crate::s3::ObjectCreated;
use crate::store::Record;
use crate::{ACCOUNT, REGION};

pub use pattern::{EventPattern, PatternError};

/// A rule on the default event bus with its one target, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// The event pattern, JSON text.
    pub pattern: String,
    pub target_id: String,
    /// The target function's ARN; `None` when the rule has no target.
    pub target_arn: Option<String>,
    pub tags: Tags,
}

impl Record for Rule {
    const KIND: &'static str = "rule";
    fn record_name(&self) -> String {
        self.name.clone()
    }
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
        "account": ACCOUNT,
        "time": iso8601_seconds(ev.time_ms as i64),
        "region": REGION,
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
