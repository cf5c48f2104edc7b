//! Buckets: the bucket record, a delete that refuses data, and the
//! explicit delete with data.

use std::collections::BTreeSet;

use super::*;

impl ResourceProvider<Bucket> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Bucket>> {
        self.record("GetBucket");
        self.get(name)
    }

    async fn create(&self, desired: &Bucket) -> Result<()> {
        self.record("CreateBucket");
        self.check_not_foreign::<Bucket>(&desired.name, &desired.tags, "bucket", |b| &b.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Bucket,
        desired: &Bucket,
        _changes: &Changes<BucketField>,
    ) -> Result<()> {
        self.record("UpdateBucket");
        self.put(desired)
    }

    /// An empty bucket only, as S3's DeleteBucket: one holding any
    /// version or delete marker is `BucketNotEmpty`, and stays.
    async fn delete(&self, live: &Bucket) -> Result<()> {
        self.record("DeleteBucket");
        let emptied = self.store.with_resources(|s| {
            if !s.bucket_exists(&live.name) {
                return Ok(true);
            }
            if !s.list_object_versions(&live.name, "")?.is_empty() {
                return Ok(false);
            }
            // Its notification goes with it (S3 keeps none for a deleted
            // bucket).
            s.empty_bucket(&live.name)?;
            s.remove::<s3::Notification>(&live.name)?;
            s.remove::<s3::Bucket>(&live.name)?;
            Ok(true)
        })?;
        if emptied {
            Ok(())
        } else {
            Err(bucket_not_empty(&live.name))
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Bucket>> {
        self.record("ListBuckets");
        self.list_owned_of::<Bucket>(stack, known, |b| &b.tags)
    }
}

impl BucketData for LocalCloud {
    async fn contents(&self, bucket: &str) -> Result<BucketContents> {
        self.record("ListObjectVersions");
        if !self.store.bucket_exists(bucket) {
            return Ok(BucketContents::default());
        }
        let mut c = BucketContents::default();
        for v in self.store.list_object_versions(bucket, "")? {
            if v.version.delete_marker {
                c.delete_markers += 1;
            } else {
                c.object_versions += 1;
                c.bytes += v.version.size;
            }
        }
        Ok(c)
    }

    async fn delete_with_data(&self, live: &Bucket) -> Result<()> {
        self.record("DeleteObjects");
        self.store.empty_bucket(&live.name)?;
        ResourceProvider::<Bucket>::delete(self, live).await
    }
}

impl Stored for Bucket {
    type Record = s3::Bucket;
    fn to_record(&self) -> s3::Bucket {
        s3::Bucket {
            name: self.name.clone(),
            versioning: self.versioning,
            public_access_block: self.public_access_block,
            encryption: self.encryption.clone(),
            policy: self.policy.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: s3::Bucket) -> Self {
        Bucket {
            name: r.name,
            versioning: r.versioning,
            public_access_block: r.public_access_block,
            encryption: r.encryption,
            policy: r.policy,
            tags: r.tags,
        }
    }
}
