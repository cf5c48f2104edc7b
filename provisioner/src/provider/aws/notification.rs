//! A bucket's notification document: Lambda configurations and the
//! EventBridge switch, written together in one call.

use std::collections::BTreeSet;

use aws_sdk_s3::types::{
    Event, EventBridgeConfiguration, FilterRule, FilterRuleName, LambdaFunctionConfiguration,
    NotificationConfiguration, NotificationConfigurationFilter, S3KeyFilter,
};

use super::{AwsCloud, Service, api_error, is_code, unparsed_success_body};
use crate::model::{Changes, LambdaNotification, Notification, NotificationField};
use crate::provider::{ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("notification of bucket {name}")
}

/// S3 checks that it may invoke each destination; right after the
/// permission is added it may not see it yet.
fn is_unvalidated_destination(e: &ProviderError) -> bool {
    e.kind() == crate::provider::ErrorKind::NotReady
}

fn lambda_configuration(
    bucket: &str,
    n: &LambdaNotification,
) -> Result<LambdaFunctionConfiguration> {
    let mut rules = Vec::new();
    if let Some(prefix) = &n.prefix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Prefix)
                .value(prefix)
                .build(),
        );
    }
    if let Some(suffix) = &n.suffix {
        rules.push(
            FilterRule::builder()
                .name(FilterRuleName::Suffix)
                .value(suffix)
                .build(),
        );
    }
    let mut c = LambdaFunctionConfiguration::builder()
        .id(&n.id)
        .lambda_function_arn(&n.function_arn)
        .set_events(Some(
            n.events.iter().map(|e| Event::from(e.as_str())).collect(),
        ));
    if !rules.is_empty() {
        c = c.filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                .build(),
        );
    }
    c.build().map_err(|e| {
        ProviderError::Other(format!(
            "notification of bucket {bucket}: building a request: {e}"
        ))
    })
}

fn to_model(c: &LambdaFunctionConfiguration) -> LambdaNotification {
    let rules = c
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default();
    let rule = |which: &str| {
        rules
            .iter()
            .find(|r| {
                r.name()
                    .is_some_and(|n| n.as_str().eq_ignore_ascii_case(which))
            })
            .and_then(|r| r.value())
            .map(str::to_owned)
    };
    LambdaNotification {
        id: c.id().unwrap_or_default().to_owned(),
        function_arn: c.lambda_function_arn().to_owned(),
        events: c.events().iter().map(|e| e.as_str().to_owned()).collect(),
        prefix: rule("prefix"),
        suffix: rule("suffix"),
    }
}

impl AwsCloud {
    async fn put_notification(&self, n: &Notification) -> Result<()> {
        let lambda = n
            .lambda
            .iter()
            .map(|l| lambda_configuration(&n.bucket, l))
            .collect::<Result<Vec<_>>>()?;
        let config = NotificationConfiguration::builder()
            .set_lambda_function_configurations((!lambda.is_empty()).then_some(lambda))
            .set_event_bridge_configuration(
                n.eventbridge
                    .then(|| EventBridgeConfiguration::builder().build()),
            )
            .build();
        let call = || async {
            self.s3
                .put_bucket_notification_configuration()
                .bucket(&n.bucket)
                .notification_configuration(config.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    api_error(
                        Service::S3,
                        "PutBucketNotificationConfiguration",
                        &res(&n.bucket),
                        e,
                    )
                })
        };
        self.options
            .notification_retry
            .run(call, is_unvalidated_destination)
            .await
    }
}

impl ResourceProvider<Notification> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Notification>> {
        match self
            .s3
            .get_bucket_notification_configuration()
            .bucket(name)
            .send()
            .await
        {
            Ok(out) => {
                let mut lambda: Vec<LambdaNotification> = out
                    .lambda_function_configurations()
                    .iter()
                    .map(to_model)
                    .collect();
                lambda.sort();
                Ok(Some(Notification {
                    bucket: name.to_owned(),
                    lambda,
                    eventbridge: out.event_bridge_configuration().is_some(),
                }))
            }
            Err(e) if is_code(&e, &["NoSuchBucket"]) => Ok(None),
            // An empty document under another root element (moto 5.2
            // answers `<GetBucketNotificationResponse/>`): no configuration.
            Err(e) if unparsed_success_body(&e).is_some_and(|b| !b.contains("Configuration>")) => {
                Ok(Some(Notification {
                    bucket: name.to_owned(),
                    lambda: Vec::new(),
                    eventbridge: false,
                }))
            }
            Err(e) => Err(api_error(
                Service::S3,
                "GetBucketNotificationConfiguration",
                &res(name),
                e,
            )),
        }
    }

    async fn create(&self, desired: &Notification) -> Result<()> {
        self.put_notification(desired).await
    }

    async fn update(
        &self,
        _live: &Notification,
        desired: &Notification,
        _changes: &Changes<NotificationField>,
    ) -> Result<()> {
        self.put_notification(desired).await
    }

    async fn delete(&self, live: &Notification) -> Result<()> {
        let empty = Notification {
            bucket: live.bucket.clone(),
            lambda: Vec::new(),
            eventbridge: false,
        };
        match self.put_notification(&empty).await {
            Err(ProviderError::Api { code, .. }) if code == "NoSuchBucket" => Ok(()),
            other => other,
        }
    }

    async fn list_owned(
        &self,
        _stack: &str,
        _known: &BTreeSet<String>,
    ) -> Result<Vec<Notification>> {
        Ok(Vec::new())
    }
}
