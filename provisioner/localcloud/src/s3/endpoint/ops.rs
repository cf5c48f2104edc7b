//! The S3 operations, over the store.

use super::*;
use crate::s3::IncomingObject;
// Explicit: s3s::dto has a `Marker` too.
use super::listing::Marker;

// ---- the S3 operations ----------------------------------------------------------

/// A multipart upload in progress: its parts live in the store's scratch
/// folder until completed or aborted.
#[derive(Debug, Clone)]
pub(super) struct Upload {
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) content_type: Option<String>,
    pub(super) dir: std::path::PathBuf,
    pub(super) assembly: Arc<Mutex<Assembly>>,
}

/// The upload's parts written straight into one scratch file, part `n` in
/// slot `n`: at `(n - 1) × stride`, the stride being the length of the
/// first part to arrive (clients cut parts of one size, all but the last).
/// A part longer than the stride, sent again, or without a length is a
/// file of its own. Completing with parts 1..=k that lie end to end in
/// the file (each but the last a full stride) makes it the object, with no
/// copy; any other completion copies.
#[derive(Debug)]
pub(super) struct Assembly {
    /// `None` once a completion took it.
    pub(super) file: Option<IncomingObject>,
    pub(super) stride: Option<u64>,
    /// Part number → (offset, length, received whole).
    pub(super) placed: HashMap<i32, (u64, u64, bool)>,
}

pub(super) struct LocalS3 {
    pub(super) store: Arc<Store>,
    pub(super) events: Arc<dyn ObjectEvents>,
    pub(super) uploads: Arc<Mutex<HashMap<String, Upload>>>,
}

pub(super) fn internal(e: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(S3ErrorCode::InternalError, e.to_string())
}

pub(super) fn store_error(e: StoreError) -> S3Error {
    match e {
        StoreError::NoSuchBucket(b) => S3Error::with_message(
            S3ErrorCode::NoSuchBucket,
            format!("The specified bucket does not exist: {b}"),
        ),
        StoreError::NoSuchKey { .. } => {
            S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
        }
        StoreError::NoSuchVersion { .. } => S3Error::with_message(
            S3ErrorCode::NoSuchVersion,
            "The specified version does not exist.",
        ),
        StoreError::DeleteMarker { .. } => S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ),
        StoreError::Invalid(m) => S3Error::with_message(S3ErrorCode::InvalidArgument, m),
        other => internal(other),
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> S3Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(store_error)
}

pub(super) fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

pub(super) fn etag(v: &ObjectVersion) -> ETag {
    ETag::Strong(v.etag.clone())
}

pub(super) fn version_header(v: &ObjectVersion) -> Option<String> {
    (v.version_id != crate::s3::NULL_VERSION).then(|| v.version_id.clone())
}

pub(super) fn request_ids() -> (String, String) {
    let r = clock::random_u64();
    (
        format!("{r:016X}"),
        format!("{:016x}{:016x}", clock::random_u64(), clock::random_u64()),
    )
}

pub(super) fn url_encoded(wanted: bool, s: String) -> String {
    if wanted { encode_event_key(&s) } else { s }
}

impl LocalS3 {
    /// A missing key reads as AccessDenied to a caller who may not list the
    /// bucket (S3 hides whether the key exists).
    fn hide_missing(&self, caller: &Caller, bucket: &str, err: S3Error) -> S3Error {
        if *err.code() == S3ErrorCode::NoSuchKey
            && let Err(denied) = authorize(
                &self.store,
                caller,
                "ListObjectsV2",
                Some(bucket),
                None,
                false,
            )
        {
            return denied;
        }
        err
    }

    pub(super) fn created(
        &self,
        caller: &Caller,
        remote: Option<RemoteAddr>,
        bucket: &str,
        v: &ObjectVersion,
        reason: &str,
    ) {
        let (request_id, host_id) = request_ids();
        let (principal_id, role) = match caller {
            Caller::Owner => (format!("AWS:{LOCAL_ACCOUNT}"), None),
            Caller::Function { role, access_key } => {
                (format!("AWS:{access_key}:{role}"), Some(role.clone()))
            }
        };
        self.events.object_created(ObjectCreated {
            bucket: bucket.to_owned(),
            key: v.key.clone(),
            version_id: version_header(v),
            size: v.size,
            etag: v.etag.clone(),
            sequencer: v.sequencer.clone(),
            reason: reason.to_owned(),
            time_ms: v.last_modified_ms,
            request_id,
            host_id,
            source_ip: remote.map_or_else(|| "127.0.0.1".to_owned(), |r| r.0.ip().to_string()),
            principal_id,
            requester: LOCAL_ACCOUNT.to_owned(),
            role,
        });
    }

    /// Makes a received body the new version of `key`.
    pub(super) async fn commit(
        &self,
        incoming: crate::s3::IncomingObject,
        bucket: String,
        key: String,
        content_type: Option<String>,
        etag: Option<String>,
    ) -> S3Result<ObjectVersion> {
        let store = self.store.clone();
        blocking(move || {
            store.commit_object(incoming, &bucket, &key, content_type.as_deref(), etag)
        })
        .await
    }
}

#[async_trait::async_trait]
impl S3 for LocalS3 {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        // Before the bytes: S3 refuses a missing bucket without reading them.
        if !self.store.bucket_exists(&input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(input.bucket)));
        }
        let sent = sent_checksum!(input);
        let incoming = receive(&self.store, input.body, input.content_length, sent).await?;
        let bucket = input.bucket;
        let v = self
            .commit(
                incoming,
                bucket.clone(),
                input.key,
                input.content_type,
                None,
            )
            .await?;
        self.created(&caller, remote, &bucket, &v, "PutObject");
        let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(v.checksum.as_ref());
        Ok(S3Response::new(PutObjectOutput {
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            e_tag: Some(etag(&v)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        let (store, bucket, key, version) = (
            self.store.clone(),
            input.bucket.clone(),
            input.key.clone(),
            input.version_id.clone(),
        );
        let (v, file) = blocking(move || store.open_object(&bucket, &key, version.as_deref()))
            .await
            .map_err(|e| self.hide_missing(&caller, &input.bucket, e))?;
        let len = v.size;
        let (start, end, content_range, status) = match &input.range {
            Some(range) => {
                let r = range.check(len).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                (
                    r.start,
                    r.end,
                    Some(format!(
                        "bytes {}-{}/{len}",
                        r.start,
                        r.end.saturating_sub(1)
                    )),
                    Some(StatusCode::PARTIAL_CONTENT),
                )
            }
            None => (0, len, None, None),
        };
        // S3 returns the whole object's checksum to a reader that asks, on
        // a whole-object read.
        let asked = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
            && input.range.is_none();
        let [crc32, crc32c, crc64nvme, sha1, sha256] =
            checksum_fields(v.checksum.as_ref().filter(|_| asked));
        let output = GetObjectOutput {
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            content_length: Some((end - start) as i64),
            body: Some(file_body(file, start, end - start)),
            accept_ranges: Some("bytes".to_owned()),
            content_range,
            content_type: v.content_type.clone(),
            e_tag: Some(etag(&v)),
            last_modified: Some(timestamp(v.last_modified_ms)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        };
        let mut resp = S3Response::new(output);
        resp.status = status;
        Ok(resp)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        let v = self
            .store
            .head_object(&input.bucket, &input.key, input.version_id.as_deref())
            .map_err(store_error)
            .map_err(|e| self.hide_missing(&caller, &input.bucket, e))?;
        let asked = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        let [crc32, crc32c, crc64nvme, sha1, sha256] =
            checksum_fields(v.checksum.as_ref().filter(|_| asked));
        Ok(S3Response::new(HeadObjectOutput {
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            accept_ranges: Some("bytes".to_owned()),
            content_length: Some(v.size as i64),
            content_type: v.content_type.clone(),
            e_tag: Some(etag(&v)),
            last_modified: Some(timestamp(v.last_modified_ms)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            version_id: src_version,
        } = &input.copy_source
        else {
            return Err(s3_error!(NotImplemented, "copying from an access point"));
        };
        authorize(
            &self.store,
            &caller,
            "GetObject",
            Some(src_bucket),
            Some(src_key),
            src_version.is_some(),
        )?;
        let (store, b, k, ver) = (
            self.store.clone(),
            src_bucket.to_string(),
            src_key.to_string(),
            src_version.as_deref().map(str::to_owned),
        );
        let (src, incoming) = blocking(move || {
            let (src, file) = store.open_object(&b, &k, ver.as_deref())?;
            let path = store.object_data_path(&b, &k, &src.version_id);
            let mut incoming = store.incoming_object()?;
            copy_into((file, path), &mut incoming)?;
            // The same bytes: the same checksum.
            incoming.checksum = src.checksum.clone();
            Ok((src, incoming))
        })
        .await
        .map_err(|e| self.hide_missing(&caller, src_bucket, e))?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let content_type = if replace {
            input.content_type.clone()
        } else {
            src.content_type.clone()
        };
        let bucket = input.bucket.clone();
        let v = self
            .commit(
                incoming,
                bucket.clone(),
                input.key.clone(),
                content_type,
                None,
            )
            .await?;
        self.created(&caller, remote, &bucket, &v, "CopyObject");
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&v)),
                last_modified: Some(timestamp(v.last_modified_ms)),
                ..Default::default()
            }),
            copy_source_version_id: version_header(&src),
            version_id: version_header(&v),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let outcome = match &input.version_id {
            Some(v) => self
                .store
                .delete_object_version(&input.bucket, &input.key, v),
            None => self.store.delete_object(&input.bucket, &input.key),
        }
        .map_err(store_error)?;
        Ok(S3Response::with_status(
            DeleteObjectOutput {
                delete_marker: outcome.delete_marker.then_some(true),
                version_id: outcome.version_id.filter(|v| v != crate::s3::NULL_VERSION),
                ..Default::default()
            },
            StatusCode::NO_CONTENT,
        ))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        if !self.store.bucket_exists(&input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(input.bucket)));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in input.delete.objects {
            let checked = authorize(
                &self.store,
                &caller,
                "DeleteObject",
                Some(&input.bucket),
                Some(&obj.key),
                obj.version_id.is_some(),
            );
            let result = checked.and_then(|()| {
                match &obj.version_id {
                    Some(v) => self.store.delete_object_version(&input.bucket, &obj.key, v),
                    None => self.store.delete_object(&input.bucket, &obj.key),
                }
                .map_err(store_error)
            });
            match result {
                Ok(outcome) => {
                    if !quiet {
                        let marker_id = outcome
                            .delete_marker
                            .then(|| outcome.version_id.clone())
                            .flatten();
                        deleted.push(DeletedObject {
                            key: Some(obj.key.clone()),
                            version_id: obj.version_id.clone(),
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: if obj.version_id.is_none() {
                                marker_id
                            } else {
                                None
                            },
                        });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(obj.key.clone()),
                    message: e.message().map(str::to_owned),
                    version_id: obj.version_id.clone(),
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = match &input.continuation_token {
            Some(t) => Some(Marker::decode(t).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
            None => input.start_after.clone().map(Marker::Key),
        };
        let url = wants_url_encoding(input.encoding_type.as_ref());
        let listed = self
            .list_page(
                &input.bucket,
                &prefix,
                input.delimiter.as_deref(),
                after,
                input.max_keys,
                url,
            )
            .await?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter.map(|d| url_encoded(url, d)),
            max_keys: Some(listed.max_keys as i32),
            key_count: Some((listed.contents.len() + listed.common.len()) as i32),
            is_truncated: Some(listed.next.is_some()),
            continuation_token: input.continuation_token,
            next_continuation_token: listed.next.map(|m| m.encode()),
            start_after: input.start_after.map(|s| url_encoded(url, s)),
            encoding_type: input.encoding_type,
            contents: Some(listed.contents),
            common_prefixes: (!listed.common.is_empty()).then_some(listed.common),
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let url = wants_url_encoding(input.encoding_type.as_ref());
        let listed = self
            .list_page(
                &input.bucket,
                &prefix,
                input.delimiter.as_deref(),
                input.marker.clone().map(Marker::Key),
                input.max_keys,
                url,
            )
            .await?;
        // ListObjects returns NextMarker only with a delimiter; clients
        // resume after the last key otherwise.
        let next_marker = listed
            .next
            .as_ref()
            .filter(|_| input.delimiter.is_some())
            .map(|m| url_encoded(url, m.value().to_owned()));
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter.map(|d| url_encoded(url, d)),
            marker: input.marker.map(|m| url_encoded(url, m)),
            max_keys: Some(listed.max_keys as i32),
            is_truncated: Some(listed.next.is_some()),
            next_marker,
            encoding_type: input.encoding_type,
            contents: Some(listed.contents),
            common_prefixes: (!listed.common.is_empty()).then_some(listed.common),
            ..Default::default()
        }))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let (store, bucket, p) = (self.store.clone(), input.bucket.clone(), prefix.clone());
        let listed = blocking(move || store.list_object_versions(&bucket, &p)).await?;
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let url = wants_url_encoding(input.encoding_type.as_ref());
        // Resume after (key marker, version id marker): S3 lists by key,
        // newest version first.
        let start = match (&input.key_marker, &input.version_id_marker) {
            (Some(k), Some(v)) if !v.is_empty() => listed
                .iter()
                .position(|l| &l.version.key == k && &l.version.version_id == v)
                .map_or_else(
                    || {
                        listed
                            .iter()
                            .position(|l| l.version.key > *k)
                            .unwrap_or(listed.len())
                    },
                    |i| i + 1,
                ),
            (Some(k), _) => listed
                .iter()
                .position(|l| l.version.key > *k)
                .unwrap_or(listed.len()),
            _ => 0,
        };
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut count = 0;
        let mut next: Option<(String, String)> = None;
        let mut last: Option<(String, String)> = None;
        for l in &listed[start..] {
            let v = &l.version;
            if let Some(d) = input.delimiter.as_deref().filter(|d| !d.is_empty())
                && let Some(pos) = v.key[prefix.len()..].find(d)
            {
                let cp = v.key[..prefix.len() + pos + d.len()].to_owned();
                if prefixes.last() == Some(&cp) {
                    continue;
                }
                if count == max_keys {
                    next = last.clone();
                    break;
                }
                prefixes.push(cp);
                count += 1;
                last = Some((v.key.clone(), v.version_id.clone()));
                continue;
            }
            if count == max_keys {
                next = last.clone();
                break;
            }
            count += 1;
            last = Some((v.key.clone(), v.version_id.clone()));
            let owner = Some(Owner {
                display_name: Some("local".to_owned()),
                id: Some(OWNER_CANONICAL_ID.to_owned()),
            });
            if v.delete_marker {
                markers.push(DeleteMarkerEntry {
                    is_latest: Some(l.is_latest),
                    key: Some(url_encoded(url, v.key.clone())),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner,
                    version_id: Some(v.version_id.clone()),
                });
            } else {
                versions.push(s3s::dto::ObjectVersion {
                    e_tag: Some(etag(v)),
                    is_latest: Some(l.is_latest),
                    key: Some(url_encoded(url, v.key.clone())),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner,
                    size: Some(v.size as i64),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    version_id: Some(v.version_id.clone()),
                    ..Default::default()
                });
            }
        }
        let common: Vec<CommonPrefix> = prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: Some(url_encoded(url, p)),
            })
            .collect();
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter,
            max_keys: Some(max_keys as i32),
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            is_truncated: Some(next.is_some()),
            next_key_marker: next.as_ref().map(|n| url_encoded(url, n.0.clone())),
            next_version_id_marker: next.map(|n| n.1),
            encoding_type: input.encoding_type,
            versions: Some(versions),
            delete_markers: (!markers.is_empty()).then_some(markers),
            common_prefixes: (!common.is_empty()).then_some(common),
            ..Default::default()
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if !self.store.bucket_exists(&req.input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(req.input.bucket)));
        }
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(LOCAL_REGION.to_owned()),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        if !self.store.bucket_exists(&req.input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(req.input.bucket)));
        }
        // us-east-1 answers an empty LocationConstraint.
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let buckets: Vec<s3s::dto::Bucket> = self
            .store
            .list::<Bucket>()
            .map_err(store_error)?
            .into_iter()
            .filter(|b| b.name.starts_with(&prefix))
            .map(|b| {
                let created = std::fs::metadata(self.store.resource_path(Bucket::KIND, &b.name))
                    .and_then(|m| m.modified())
                    .unwrap_or_else(|_| SystemTime::now());
                s3s::dto::Bucket {
                    bucket_region: Some(LOCAL_REGION.to_owned()),
                    creation_date: Some(Timestamp::from(created)),
                    name: Some(b.name),
                }
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some("local".to_owned()),
                id: Some(OWNER_CANONICAL_ID.to_owned()),
            }),
            prefix: req.input.prefix,
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        if self.store.bucket_exists(&bucket) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            format!(
                "buckets of the local cloud come from stack.yaml: declare {bucket} there and run \
                 `stackctl up`"
            ),
        ))
    }

    // ---- multipart uploads (multipart.rs) ----

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.multipart_create(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.multipart_upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.multipart_complete(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.multipart_abort(req).await
    }
}
