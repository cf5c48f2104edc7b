//! Bucket notifications: validated as S3 validates destinations.

use std::collections::BTreeSet;

use super::*;

impl LocalCloud {
    /// What S3 checks before accepting a notification document: a known
    /// event type, and a destination function whose policy lets
    /// `s3.amazonaws.com` invoke it for this bucket.
    fn check_notification(&self, n: &Notification, operation: &str) -> Result<()> {
        let resource = format!("notification of bucket {}", n.bucket);
        if !self.store.bucket_exists(&n.bucket) {
            return Err(api(
                resource,
                operation,
                "NoSuchBucket",
                "The specified bucket does not exist",
            ));
        }
        let bucket_arn = format!("arn:aws:s3:::{}", n.bucket);
        let permissions = self.store.list::<lambda::Permission>()?;
        for l in &n.lambda {
            if let Some(bad) = l
                .events
                .iter()
                .find(|e| !s3::notify::EVENT_TYPES.contains(&e.as_str()))
            {
                return Err(api(
                    resource,
                    operation,
                    "InvalidArgument",
                    format!("The event is not supported for notifications: {bad}"),
                ));
            }
            let function = lambda::function_name_from_arn(&l.function_arn);
            let permitted = self.store.exists(lambda::Function::KIND, &function)
                && permissions.iter().any(|p| {
                    p.function == function
                        && p.principal == "s3.amazonaws.com"
                        && (p.source_arn.is_empty() || p.source_arn == bucket_arn)
                });
            if !permitted {
                return Err(api(
                    resource,
                    operation,
                    "InvalidArgument",
                    format!(
                        "Unable to validate the following destination configurations: {} \
                         (the function does not exist or does not let s3.amazonaws.com invoke it \
                         for {bucket_arn})",
                        l.function_arn
                    ),
                ));
            }
        }
        Ok(())
    }

    fn put_notification(&self, n: &Notification, operation: &str) -> Result<()> {
        self.check_notification(n, operation)?;
        if n.lambda.is_empty() && !n.eventbridge {
            return self.remove::<Notification>(&n.bucket);
        }
        let mut n = n.clone();
        n.lambda.sort();
        self.put(&n)
    }
}

impl ResourceProvider<Notification> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Notification>> {
        self.record("GetBucketNotificationConfiguration");
        if !self.store.bucket_exists(name) {
            return Ok(None);
        }
        // A bucket without a stored document has an empty one, as on S3.
        let mut n = self.get::<Notification>(name)?.unwrap_or(Notification {
            bucket: name.to_owned(),
            lambda: Vec::new(),
            eventbridge: false,
        });
        n.lambda.sort();
        Ok(Some(n))
    }

    async fn create(&self, desired: &Notification) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.put_notification(desired, "PutBucketNotificationConfiguration")
    }

    async fn update(
        &self,
        _live: &Notification,
        desired: &Notification,
        _changes: &Changes<NotificationField>,
    ) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.put_notification(desired, "PutBucketNotificationConfiguration")
    }

    async fn delete(&self, live: &Notification) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.remove::<Notification>(&live.bucket)
    }

    async fn list_owned(
        &self,
        _stack: &str,
        _known: &BTreeSet<String>,
    ) -> Result<Vec<Notification>> {
        Ok(Vec::new())
    }
}

impl Stored for Notification {
    type Record = s3::Notification;
    fn to_record(&self) -> s3::Notification {
        s3::Notification {
            bucket: self.bucket.clone(),
            lambda: self
                .lambda
                .iter()
                .map(|l| s3::LambdaConfiguration {
                    id: l.id.clone(),
                    function_arn: l.function_arn.clone(),
                    events: l.events.clone(),
                    prefix: l.prefix.clone(),
                    suffix: l.suffix.clone(),
                })
                .collect(),
            eventbridge: self.eventbridge,
        }
    }
    fn from_record(r: s3::Notification) -> Self {
        Notification {
            bucket: r.bucket,
            lambda: r
                .lambda
                .into_iter()
                .map(|l| LambdaNotification {
                    id: l.id,
                    function_arn: l.function_arn,
                    events: l.events,
                    prefix: l.prefix,
                    suffix: l.suffix,
                })
                .collect(),
            eventbridge: r.eventbridge,
        }
    }
}
