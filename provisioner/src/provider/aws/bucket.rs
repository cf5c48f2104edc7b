//! S3 buckets: the bucket, then its sub-resources one after another (S3
//! answers OperationAborted to parallel writes on one bucket).

use std::collections::BTreeSet;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};

use super::{AwsCloud, Service, api_error, is_code, unparsed_success_body};
use crate::model::{Bucket, BucketContents, BucketField, Changes, OWNER_TAG, Tags, canonical_json};
use crate::provider::{BucketData, ProviderError, ResourceProvider, Result, bucket_not_empty};

/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: i32 = 1000;

fn res(name: &str) -> String {
    format!("bucket {name}")
}

fn build_err(name: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Other(format!("bucket {name}: building a request: {e}"))
}

/// Tags as S3's tag set (PutBucketTagging and CreateBucket take the same).
fn tag_set(name: &str, tags: &Tags) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_err(name, e))
}

impl AwsCloud {
    async fn bucket_tags(&self, name: &str) -> Result<Option<Tags>> {
        match self.s3.get_bucket_tagging().bucket(name).send().await {
            Ok(out) => Ok(Some(
                out.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            )),
            Err(e) if is_code(&e, &["NoSuchBucket"]) => Ok(None),
            Err(e) if is_code(&e, &["NoSuchTagSet"]) => Ok(Some(Tags::new())),
            Err(e) => {
                let denied = is_code(&e, &["AccessDenied"]);
                let mut err = api_error(Service::S3, "GetBucketTagging", &res(name), e);
                if denied && let ProviderError::Api { message, .. } = &mut err {
                    message.push_str(
                        " (if the caller has that permission, the name belongs to another AWS account: \
                         set `bucket_name` or the bucket's `name:` in stack.yaml)",
                    );
                }
                Err(err)
            }
        }
    }

    /// An existing bucket is ours only if it carries our owner tag.
    fn check_ours(&self, desired: &Bucket, live_tags: &Tags) -> Result<()> {
        let want = desired.tags.get(OWNER_TAG);
        if want.is_none() || live_tags.get(OWNER_TAG) != want {
            return Err(ProviderError::Conflict {
                resource: res(&desired.name),
                message: format!(
                    "the bucket already exists in this account without the tag {OWNER_TAG}={}; \
                     it is not changed (delete it, rename ours, or take it over with --adopt)",
                    want.map_or("?", String::as_str)
                ),
            });
        }
        Ok(())
    }

    async fn bucket_versioning(&self, name: &str) -> Result<bool> {
        match self.s3.get_bucket_versioning().bucket(name).send().await {
            Ok(out) => Ok(out.status() == Some(&BucketVersioningStatus::Enabled)),
            // An endpoint answering with another root element (moto 5.2):
            // the status element is all there is to read.
            Err(e) if let Some(body) = unparsed_success_body(&e) => {
                Ok(body.contains("<Status>Enabled</Status>"))
            }
            Err(e) => Err(api_error(Service::S3, "GetBucketVersioning", &res(name), e)),
        }
    }

    async fn bucket_public_access_block(&self, name: &str) -> Result<bool> {
        match self.s3.get_public_access_block().bucket(name).send().await {
            Ok(out) => Ok(out.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            })),
            Err(e) if is_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => Ok(false),
            Err(e) => Err(api_error(
                Service::S3,
                "GetPublicAccessBlock",
                &res(name),
                e,
            )),
        }
    }

    async fn bucket_encryption(&self, name: &str) -> Result<Option<String>> {
        match self.s3.get_bucket_encryption().bucket(name).send().await {
            Ok(out) => Ok(out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_owned())),
            Err(e) if is_code(&e, &["ServerSideEncryptionConfigurationNotFoundError"]) => Ok(None),
            Err(e) => Err(api_error(Service::S3, "GetBucketEncryption", &res(name), e)),
        }
    }

    async fn bucket_policy(&self, name: &str) -> Result<Option<String>> {
        match self.s3.get_bucket_policy().bucket(name).send().await {
            Ok(out) => Ok(out.policy().map(canonical_json)),
            Err(e) if is_code(&e, &["NoSuchBucketPolicy"]) => Ok(None),
            Err(e) => Err(api_error(Service::S3, "GetBucketPolicy", &res(name), e)),
        }
    }

    async fn read_bucket_settings(&self, name: &str, tags: Tags) -> Result<Bucket> {
        let (versioning, public_access_block, encryption, policy) = tokio::join!(
            self.bucket_versioning(name),
            self.bucket_public_access_block(name),
            self.bucket_encryption(name),
            self.bucket_policy(name),
        );
        Ok(Bucket {
            name: name.to_owned(),
            versioning: versioning?,
            public_access_block: public_access_block?,
            encryption: encryption?,
            policy: policy?,
            tags,
        })
    }

    /// Deletes every object version and delete marker, a page at a time.
    /// Returns false when the bucket is gone.
    ///
    /// A bucket policy denying deletes (or one an S3 emulator evaluates
    /// without its TLS condition, as moto does) would keep the bucket
    /// forever: on AccessDenied the policy goes first, once; the bucket is
    /// being deleted anyway.
    async fn empty_bucket(&self, name: &str) -> Result<bool> {
        let mut policy_removed = false;
        loop {
            match self.delete_object_page(name).await {
                Ok(Some(true)) => continue,
                Ok(Some(false)) => return Ok(true),
                Ok(None) => return Ok(false),
                Err(ProviderError::Api { code, .. })
                    if code == "AccessDenied" && !policy_removed =>
                {
                    policy_removed = true;
                    BucketWriter(&self.s3).put_bucket_policy(name, None).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes one page of versions and delete markers: `Some(true)` when
    /// it deleted some, `Some(false)` when the bucket is empty, `None` when
    /// the bucket is gone.
    async fn delete_object_page(&self, name: &str) -> Result<Option<bool>> {
        let page = match self
            .s3
            .list_object_versions()
            .bucket(name)
            .max_keys(DELETE_BATCH)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if is_code(&e, &["NoSuchBucket"]) => return Ok(None),
            Err(e) => return Err(api_error(Service::S3, "ListObjectVersions", &res(name), e)),
        };
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let objects = versions
            .chain(markers)
            // DeleteObjects takes 1000 keys at most: a server that ignores
            // MaxKeys is emptied a page at a time all the same.
            .take(DELETE_BATCH as usize)
            .filter_map(|(key, version)| {
                Some(
                    ObjectIdentifier::builder()
                        .key(key?)
                        .set_version_id(version.map(str::to_owned))
                        .build(),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build_err(name, e))?;
        if objects.is_empty() {
            return Ok(Some(false));
        }
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| build_err(name, e))?;
        let out = match self
            .s3
            .delete_objects()
            .bucket(name)
            .delete(delete)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_code(&e, &["NoSuchBucket"]) => return Ok(None),
            Err(e) => return Err(api_error(Service::S3, "DeleteObjects", &res(name), e)),
        };
        match out.errors().first() {
            None => Ok(Some(true)),
            Some(err) => Err(ProviderError::api(
                res(name),
                "DeleteObjects",
                err.code().unwrap_or("Unknown").to_owned(),
                format!(
                    "{} (object {}; {} of {} objects not deleted)",
                    err.message().unwrap_or("could not delete an object"),
                    err.key().unwrap_or("?"),
                    out.errors().len(),
                    out.deleted().len() + out.errors().len(),
                ),
            )),
        }
    }
}

/// The bucket settings writes, over any S3 client (the stack's, counted,
/// or the lock's).
pub(super) struct BucketWriter<'a>(pub(super) &'a aws_sdk_s3::Client);

impl BucketWriter<'_> {
    pub(super) async fn put_bucket_tags(&self, name: &str, tags: &Tags) -> Result<()> {
        if tags.is_empty() {
            self.0
                .delete_bucket_tagging()
                .bucket(name)
                .send()
                .await
                .map_err(|e| api_error(Service::S3, "DeleteBucketTagging", &res(name), e))?;
            return Ok(());
        }
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set(name, tags)?))
            .build()
            .map_err(|e| build_err(name, e))?;
        self.0
            .put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| api_error(Service::S3, "PutBucketTagging", &res(name), e))?;
        Ok(())
    }

    pub(super) async fn put_bucket_versioning(&self, name: &str, enabled: bool) -> Result<()> {
        let status = if enabled {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        self.0
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(|e| api_error(Service::S3, "PutBucketVersioning", &res(name), e))?;
        Ok(())
    }

    pub(super) async fn put_bucket_public_access_block(&self, name: &str, on: bool) -> Result<()> {
        if !on {
            self.0
                .delete_public_access_block()
                .bucket(name)
                .send()
                .await
                .map_err(|e| api_error(Service::S3, "DeletePublicAccessBlock", &res(name), e))?;
            return Ok(());
        }
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        self.0
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(config)
            .send()
            .await
            .map_err(|e| api_error(Service::S3, "PutPublicAccessBlock", &res(name), e))?;
        Ok(())
    }

    pub(super) async fn put_bucket_encryption(
        &self,
        name: &str,
        algorithm: Option<&str>,
    ) -> Result<()> {
        let Some(algorithm) = algorithm else {
            self.0
                .delete_bucket_encryption()
                .bucket(name)
                .send()
                .await
                .map_err(|e| api_error(Service::S3, "DeleteBucketEncryption", &res(name), e))?;
            return Ok(());
        };
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(algorithm))
            .build()
            .map_err(|e| build_err(name, e))?;
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .build(),
            )
            .build()
            .map_err(|e| build_err(name, e))?;
        self.0
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .map_err(|e| api_error(Service::S3, "PutBucketEncryption", &res(name), e))?;
        Ok(())
    }

    pub(super) async fn put_bucket_policy(&self, name: &str, policy: Option<&str>) -> Result<()> {
        match policy {
            Some(policy) => {
                self.0
                    .put_bucket_policy()
                    .bucket(name)
                    .policy(policy)
                    .send()
                    .await
                    .map_err(|e| api_error(Service::S3, "PutBucketPolicy", &res(name), e))?;
            }
            None => {
                self.0
                    .delete_bucket_policy()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|e| api_error(Service::S3, "DeleteBucketPolicy", &res(name), e))?;
            }
        }
        Ok(())
    }
}

/// The lock bucket's settings: the data buckets' security (tags, public
/// access blocked, default encryption, TLS-only policy), no versioning.
pub(super) async fn secure_lock_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Result<()> {
    let w = BucketWriter(s3);
    let tags: Tags = [(
        super::lock::PURPOSE_TAG.0.to_owned(),
        super::lock::PURPOSE_TAG.1.to_owned(),
    )]
    .into();
    w.put_bucket_tags(name, &tags).await?;
    w.put_bucket_public_access_block(name, true).await?;
    w.put_bucket_encryption(name, Some("AES256")).await?;
    let policy = Bucket::tls_only_policy(name);
    w.put_bucket_policy(name, Some(&policy)).await
}

impl ResourceProvider<Bucket> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Bucket>> {
        // The tagging read doubles as the existence check; the rest are
        // reads of one bucket, safe to run together.
        let Some(tags) = self.bucket_tags(name).await? else {
            return Ok(None);
        };
        self.read_bucket_settings(name, tags).await.map(Some)
    }

    async fn create(&self, desired: &Bucket) -> Result<()> {
        let name = desired.name.as_str();
        let region = self.region_name()?;
        // In us-east-1, CreateBucket on a bucket the account already owns
        // answers 200 OK (S3's legacy behaviour; other regions answer
        // BucketAlreadyOwnedByYou), so a bucket of another stack in the same
        // account would be taken over silently: look first. A bucket of
        // another account reads as AccessDenied; CreateBucket then names
        // the problem (BucketAlreadyExists).
        if region == "us-east-1" {
            match self.bucket_tags(name).await {
                Ok(Some(tags)) => self.check_ours(desired, &tags)?,
                Ok(None) => {}
                Err(e) if e.code() == Some("AccessDenied") => {}
                Err(e) => return Err(e),
            }
        }
        // Tagged at creation (S3 takes `CreateBucketConfiguration.Tags` for
        // general purpose buckets, one atomic call), so a run killed right
        // after CreateBucket leaves a bucket the next run knows as its own.
        // The tags are put again below for endpoints that ignore them here
        // (moto 5.2 does).
        let mut config =
            CreateBucketConfiguration::builder().set_tags(Some(tag_set(name, &desired.tags)?));
        if region != "us-east-1" {
            config = config.location_constraint(BucketLocationConstraint::from(region));
        }
        let request = self
            .s3
            .create_bucket()
            .bucket(name)
            .create_bucket_configuration(config.build());
        match request.send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["BucketAlreadyOwnedByYou"]) => {
                let tags = self.bucket_tags(name).await?.unwrap_or_default();
                self.check_ours(desired, &tags)?;
            }
            Err(e) if is_code(&e, &["BucketAlreadyExists"]) => {
                return Err(ProviderError::Conflict {
                    resource: res(name),
                    message: "the bucket name is taken by another AWS account (S3 bucket names are global): \
                              set `bucket_name` or the bucket's `name:` in stack.yaml to a unique name"
                        .into(),
                });
            }
            Err(e) => return Err(api_error(Service::S3, "CreateBucket", &res(name), e)),
        }
        // Tags first: a bucket left half-configured by a failure is still
        // recognised as ours by the next run, which finishes the job.
        BucketWriter(&self.s3)
            .put_bucket_tags(name, &desired.tags)
            .await?;
        BucketWriter(&self.s3)
            .put_bucket_versioning(name, desired.versioning)
            .await?;
        BucketWriter(&self.s3)
            .put_bucket_public_access_block(name, desired.public_access_block)
            .await?;
        BucketWriter(&self.s3)
            .put_bucket_encryption(name, desired.encryption.as_deref())
            .await?;
        BucketWriter(&self.s3)
            .put_bucket_policy(name, desired.policy.as_deref())
            .await?;
        Ok(())
    }

    async fn update(
        &self,
        _live: &Bucket,
        desired: &Bucket,
        changes: &Changes<BucketField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        if changes.contains(BucketField::Tags) {
            BucketWriter(&self.s3)
                .put_bucket_tags(name, &desired.tags)
                .await?;
        }
        if changes.contains(BucketField::Versioning) {
            BucketWriter(&self.s3)
                .put_bucket_versioning(name, desired.versioning)
                .await?;
        }
        if changes.contains(BucketField::PublicAccessBlock) {
            BucketWriter(&self.s3)
                .put_bucket_public_access_block(name, desired.public_access_block)
                .await?;
        }
        if changes.contains(BucketField::Encryption) {
            BucketWriter(&self.s3)
                .put_bucket_encryption(name, desired.encryption.as_deref())
                .await?;
        }
        if changes.contains(BucketField::Policy) {
            BucketWriter(&self.s3)
                .put_bucket_policy(name, desired.policy.as_deref())
                .await?;
        }
        Ok(())
    }

    /// Deletes an empty bucket only: S3 answers BucketNotEmpty for one
    /// holding any version or delete marker, and the data stays.
    async fn delete(&self, live: &Bucket) -> Result<()> {
        let name = live.name.as_str();
        match self.s3.delete_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchBucket"]) => Ok(()),
            Err(e) if is_code(&e, &["BucketNotEmpty"]) => Err(bucket_not_empty(name)),
            Err(e) => Err(api_error(Service::S3, "DeleteBucket", &res(name), e)),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Bucket>> {
        let prefix = format!("{stack}-");
        let mut buckets = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .s3
                .list_buckets()
                .prefix(&prefix)
                .set_bucket_region(self.region.clone())
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| api_error(Service::S3, "ListBuckets", "buckets", e))?;
            buckets.extend(out.buckets().iter().cloned());
            token = out.continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let mut owned = Vec::new();
        for b in &buckets {
            let Some(name) = b.name() else { continue };
            if !name.starts_with(&prefix) || known.contains(name) {
                continue;
            }
            if let (Some(region), Some(bucket_region)) = (&self.region, b.bucket_region())
                && region != bucket_region
            {
                continue;
            }
            match self.bucket_tags(name).await {
                Ok(Some(tags)) if tags.get(OWNER_TAG).is_some_and(|s| s == stack) => {
                    owned.push(self.read_bucket_settings(name, tags).await?);
                }
                Ok(_) => {}
                // Another region's bucket (an endpoint that ignores the
                // region filter): not this target's.
                Err(ProviderError::Api { code, .. })
                    if matches!(
                        code.as_str(),
                        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "HTTP 301"
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(owned)
    }
}

impl BucketData for AwsCloud {
    async fn contents(&self, name: &str) -> Result<BucketContents> {
        let mut c = BucketContents::default();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = match self
                .s3
                .list_object_versions()
                .bucket(name)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) if is_code(&e, &["NoSuchBucket"]) => return Ok(c),
                Err(e) => {
                    return Err(api_error(Service::S3, "ListObjectVersions", &res(name), e));
                }
            };
            c.object_versions += page.versions().len() as u64;
            c.delete_markers += page.delete_markers().len() as u64;
            c.bytes += page
                .versions()
                .iter()
                .filter_map(|v| v.size())
                .map(|s| u64::try_from(s).unwrap_or(0))
                .sum::<u64>();
            if page.is_truncated() != Some(true) {
                return Ok(c);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                return Ok(c);
            }
        }
    }

    async fn delete_with_data(&self, live: &Bucket) -> Result<()> {
        let name = live.name.as_str();
        // An object written meanwhile makes DeleteBucket answer
        // BucketNotEmpty: empty again, a few times.
        for _ in 0..3 {
            if !self.empty_bucket(name).await? {
                return Ok(());
            }
            match ResourceProvider::<Bucket>::delete(self, live).await {
                Err(ProviderError::Conflict { .. }) => continue,
                other => return other,
            }
        }
        Err(ProviderError::Other(format!(
            "bucket {name}: still not empty after emptying it three times (something keeps writing to it)"
        )))
    }
}
