//! Which functions one write triggers, and with which event: the bucket's
//! notification document (S3 → Lambda) and, when the bucket sends to
//! EventBridge, the rules whose pattern matches (EventBridge → Lambda).

use serde_json::Value;

use crate::clock;
use crate::events::{EventPattern, Rule, eventbridge_event};
use crate::lambda::function_name_from_arn;
use crate::s3::notify::{event_name, event_type_matches, s3_event};
use crate::s3::{Notification, ObjectCreated};
use crate::store::{Record as _, Store, StoreError};

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

/// Every function a write triggers, each with its event: the bucket's
/// Lambda configurations whose event types and prefix/suffix filters match
/// the key, and, when the bucket sends to EventBridge, every rule whose
/// pattern matches the "Object Created" event (its target function).
///
/// A stored rule whose pattern does not parse is an error naming its file
/// (`up` writes only valid ones; a hand edit may not be).
pub fn notification_targets(
    store: &Store,
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
        let event = eventbridge_event(ev, &clock::request_id());
        for rule in store.list::<Rule>()? {
            let Some(target) = &rule.target_arn else {
                continue;
            };
            let pattern = EventPattern::parse(&rule.pattern).map_err(|e| StoreError::Corrupt {
                path: store.resource_path(Rule::KIND, &rule.name),
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
