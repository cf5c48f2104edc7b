//! The AWS target's run lock: one object per stack,
//! `s3://stackctl-locks-<account>-<region>/<stack>.json`, written with S3
//! conditional writes as Terraform's S3 lockfile is: `If-None-Match: *` to
//! create, `If-Match: <ETag>` to take over, renew and delete.
//!
//! The lock bucket is not a data bucket: no stack owns it (it carries
//! `stackctl:purpose=locks`, never `stackctl:stack`), so no `down` deletes
//! it and no trigger sees its writes. It is created on first use with the
//! data buckets' security settings (public access blocked, default
//! encryption, TLS-only policy) but without versioning: a lock's history
//! is worth nothing, and every renewal would keep a version.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag};
use tokio::sync::OnceCell;

use super::{Service, api_error, is_code};
use crate::provider::LockStore;
use crate::provider::{ProviderError, Result};

/// The tag that marks the lock bucket.
pub const PURPOSE_TAG: (&str, &str) = ("stackctl:purpose", "locks");

/// The lock bucket of an account and region.
pub fn lock_bucket_name(account: &str, region: &str) -> String {
    format!("stackctl-locks-{account}-{region}")
}

#[derive(Debug)]
pub struct AwsLock {
    /// A client outside `--stats`: those count the stack's own calls.
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    region: String,
    bucket_ready: OnceCell<()>,
}

impl AwsLock {
    pub fn new(s3: aws_sdk_s3::Client, account: &str, region: &str, stack: &str) -> Self {
        Self {
            s3,
            bucket: lock_bucket_name(account, region),
            key: format!("{stack}.json"),
            region: region.to_owned(),
            bucket_ready: OnceCell::new(),
        }
    }

    fn res(&self) -> String {
        format!("lock s3://{}/{}", self.bucket, self.key)
    }

    /// Creates the lock bucket with its settings (idempotent: a bucket
    /// already ours is configured again, which changes nothing).
    async fn ensure_bucket(&self) -> Result<()> {
        self.bucket_ready
            .get_or_try_init(|| async {
                let tag = Tag::builder()
                    .key(PURPOSE_TAG.0)
                    .value(PURPOSE_TAG.1)
                    .build()
                    .map_err(|e| ProviderError::Other(format!("{}: {e}", self.res())))?;
                let mut config = CreateBucketConfiguration::builder().tags(tag);
                if self.region != "us-east-1" {
                    config = config
                        .location_constraint(BucketLocationConstraint::from(self.region.as_str()));
                }
                match self
                    .s3
                    .create_bucket()
                    .bucket(&self.bucket)
                    .create_bucket_configuration(config.build())
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_code(&e, &["BucketAlreadyOwnedByYou"]) => {}
                    Err(e) => {
                        return Err(api_error(Service::S3, "CreateBucket", &self.res(), e));
                    }
                }
                super::bucket::secure_lock_bucket(&self.s3, &self.bucket).await
            })
            .await
            .map(|_| ())
    }

    /// A lock bucket whose creator was killed before configuring it has no
    /// policy (its last setting): configured now. One read per run.
    async fn check_bucket(&self) -> Result<()> {
        if self.bucket_ready.initialized() {
            return Ok(());
        }
        match self
            .s3
            .get_bucket_policy()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => {
                let _ = self.bucket_ready.set(());
                Ok(())
            }
            Err(e) if is_code(&e, &["NoSuchBucketPolicy"]) => self.ensure_bucket().await,
            Err(e) => Err(api_error(Service::S3, "GetBucketPolicy", &self.res(), e)),
        }
    }

    fn precondition_failed<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
        e: &aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> bool {
        // 412 when the condition fails; 409 when a concurrent conditional
        // write to the same key won the race (retry as if it failed); a
        // missing key for If-Match is the record having moved too.
        is_code(
            e,
            &[
                "PreconditionFailed",
                "ConditionalRequestConflict",
                "NoSuchKey",
            ],
        ) || e
            .raw_response()
            .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412))
    }

    async fn put(&self, body: &[u8], etag: Option<&str>) -> Result<Option<String>> {
        let mut request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()));
        request = match etag {
            None => request.if_none_match("*"),
            Some(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
            Err(e) if Self::precondition_failed(&e) => Ok(None),
            Err(e) => Err(api_error(Service::S3, "PutObject", &self.res(), e)),
        }
    }
}

impl LockStore for AwsLock {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    async fn read(&self) -> Result<Option<(Vec<u8>, String)>> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_owned();
                let body = out.body.collect().await.map_err(|e| {
                    ProviderError::Other(format!("{}: reading the record: {e}", self.res()))
                })?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(e) if is_code(&e, &["NoSuchKey", "NoSuchBucket"]) => Ok(None),
            Err(e) => Err(api_error(Service::S3, "GetObject", &self.res(), e)),
        }
    }

    async fn create(&self, body: &[u8]) -> Result<Option<String>> {
        match self.put(body, None).await {
            Err(ProviderError::Api { code, .. }) if code == "NoSuchBucket" => {
                self.ensure_bucket().await?;
                self.put(body, None).await
            }
            other => {
                self.check_bucket().await?;
                other
            }
        }
    }

    async fn replace(&self, etag: &str, body: &[u8]) -> Result<Option<String>> {
        self.put(body, Some(etag)).await
    }

    async fn delete(&self, etag: &str) -> Result<bool> {
        match self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if Self::precondition_failed(&e) => Ok(false),
            Err(e) => Err(api_error(Service::S3, "DeleteObject", &self.res(), e)),
        }
    }
}
