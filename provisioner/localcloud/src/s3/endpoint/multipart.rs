//! Multipart uploads (the aws CLI uses them from 8 MB; the functions above
//! 32 MiB): parts wait in the store's scratch folder until
//! CompleteMultipartUpload makes one version. Parts of one size are
//! written at their place in one file ([`Assembly`]), so completing with
//! them renames it; it copied 150 MB in 0.15 s before.

use super::*;
use crate::s3::IncomingObject;

/// Bytes from lowercase hex (a stored MD5).
fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// S3's smallest part but the last: 5 MiB.
const MIN_PART: u64 = 5 << 20;
const MAX_ASSEMBLY: u64 = 1 << 40;

/// Where a part's bytes are when the upload completes.
enum Source {
    /// A file of its own, and its length.
    File(std::path::PathBuf, u64),
    /// At (offset, length) in the assembly.
    Placed(u64, u64),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Self::File(_, len) | Self::Placed(_, len) => *len,
        }
    }
}

fn lock(assembly: &Mutex<Assembly>) -> std::sync::MutexGuard<'_, Assembly> {
    assembly.lock().unwrap_or_else(|p| p.into_inner())
}

/// Part `n`'s place in the assembly, if it goes there (see [`Assembly`]):
/// a handle to write through and the offset.
fn place_part(
    assembly: &Mutex<Assembly>,
    n: i32,
    content_length: Option<i64>,
) -> Result<Option<(std::fs::File, u64)>, StoreError> {
    let mut a = lock(assembly);
    let (Some(len), Ok(slot)) = (
        content_length.and_then(|l| u64::try_from(l).ok()),
        u64::try_from(n - 1),
    ) else {
        return Ok(None);
    };
    let stride = *a.stride.get_or_insert(len);
    if len > stride || a.placed.contains_key(&n) {
        return Ok(None);
    }
    // A sparse file of at most 1 TiB (ext4 stops at 16): a part beyond
    // goes to a file of its own.
    let Some(offset) = slot
        .checked_mul(stride)
        .filter(|o| o.saturating_add(len) <= MAX_ASSEMBLY)
    else {
        return Ok(None);
    };
    let Some(file) = &a.file else {
        return Ok(None);
    };
    let handle = file.positional()?;
    a.placed.insert(n, (offset, len, false));
    Ok(Some((handle, offset)))
}

impl LocalS3 {
    pub(super) async fn multipart_create(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        if !self.store.bucket_exists(&input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(input.bucket)));
        }
        let upload_id = format!(
            "{:016x}{:016x}",
            clock::random_u64(),
            self.store.next_tick()
        );
        let dir = self.store.scratch_dir().join(format!("upload-{upload_id}"));
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let store = self.store.clone();
        let file = blocking(move || store.incoming_object()).await?;
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                upload_id.clone(),
                Upload {
                    bucket: input.bucket.clone(),
                    key: input.key.clone(),
                    content_type: input.content_type,
                    dir,
                    assembly: Arc::new(Mutex::new(Assembly {
                        file: Some(file),
                        stride: None,
                        placed: HashMap::new(),
                    })),
                },
            );
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    pub(super) async fn multipart_upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000"
            ));
        }
        let sent = sent_checksum!(input);
        let n = input.part_number;
        let dir = upload.dir.clone();
        let place = place_part(&upload.assembly, n, input.content_length).map_err(store_error)?;
        let (tag, checksum) = match place {
            Some((file, offset)) => {
                let (part, checksum) = receive_into(
                    AtOffset::new(file, offset),
                    input.body,
                    input.content_length,
                    sent,
                )
                .await?;
                let tag = part.md5_hex();
                let etag = tag.clone();
                blocking(move || {
                    write_atomically(&dir.join(format!("{n:05}.md5")), etag.as_bytes())
                })
                .await?;
                if let Some(p) = lock(&upload.assembly).placed.get_mut(&n) {
                    p.2 = true;
                }
                (tag, checksum)
            }
            None => {
                let incoming = receive(&self.store, input.body, input.content_length, sent).await?;
                let checksum = incoming.checksum.clone();
                let tag = incoming.md5_hex().unwrap_or_default();
                let etag = tag.clone();
                // The part's MD5 beside it: completing checks the ETags it
                // is given without reading the parts again.
                blocking(move || {
                    write_atomically(&dir.join(format!("{n:05}.md5")), etag.as_bytes())?;
                    incoming.persist(&dir.join(format!("{n:05}.part")))
                })
                .await?;
                (tag, checksum)
            }
        };
        let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(checksum.as_ref());
        Ok(S3Response::new(UploadPartOutput {
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            e_tag: Some(ETag::Strong(tag)),
            ..Default::default()
        }))
    }

    pub(super) async fn multipart_complete(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        let parts = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if parts.is_empty() {
            return Err(s3_error!(MalformedXML, "The upload names no parts"));
        }
        let mut numbers = Vec::new();
        let mut digests = Vec::new();
        for part in &parts {
            let n = part.part_number.unwrap_or_default();
            if numbers.last().is_some_and(|last| n <= *last) {
                return Err(s3_error!(InvalidPartOrder));
            }
            let tag = tokio::fs::read_to_string(upload.dir.join(format!("{n:05}.md5")))
                .await
                .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?;
            if let Some(want) = part.e_tag.as_ref().map(|e| e.value().trim_matches('"'))
                && want != tag
            {
                return Err(s3_error!(InvalidPart, "part {n}: the ETag does not match"));
            }
            digests.push(unhex(&tag).ok_or_else(|| internal(format!("part {n}: bad MD5 {tag}")))?);
            numbers.push(n);
        }
        // Where each part's bytes are: a file of its own (which wins: a
        // part sent again), else its place in the assembly.
        let sources = {
            let assembly = lock(&upload.assembly);
            numbers
                .iter()
                .map(|n| {
                    let path = upload.dir.join(format!("{n:05}.part"));
                    match std::fs::metadata(&path) {
                        Ok(meta) => Ok(Source::File(path, meta.len())),
                        Err(_) => match assembly.placed.get(n) {
                            Some(&(offset, len, true)) => Ok(Source::Placed(offset, len)),
                            _ => Err(s3_error!(InvalidPart, "part {n} was not uploaded")),
                        },
                    }
                })
                .collect::<S3Result<Vec<Source>>>()?
        };
        // S3 refuses a part under 5 MiB anywhere but last (moto too); a
        // client that splits finer must fail here as it would on AWS.
        for (n, source) in numbers.iter().zip(&sources).take(numbers.len() - 1) {
            let size = source.len();
            if size < MIN_PART {
                return Err(S3Error::with_message(
                    S3ErrorCode::EntityTooSmall,
                    format!(
                        "Your proposed upload is smaller than the minimum allowed size: part {n} is {size} bytes; every part but the last must be at least 5 MiB"
                    ),
                ));
            }
        }
        // S3's ETag of a multipart object: the MD5 of the parts' MD5s, a
        // dash, the number of parts.
        let whole_etag = format!(
            "{}-{}",
            crate::s3::md5_hex(&digests.concat()),
            numbers.len()
        );
        // Parts 1..=k lying end to end in the assembly: it is the object.
        let mut end = 0;
        let in_place = numbers.iter().zip(1..).all(|(n, want)| *n == want)
            && sources.iter().all(|s| match s {
                Source::Placed(offset, len) if *offset == end => {
                    end += len;
                    true
                }
                _ => false,
            });
        // Taken only to become the object: a completion that fails while
        // copying leaves the upload as it was, to be completed again.
        let (whole, placed) = {
            let mut a = lock(&upload.assembly);
            if in_place {
                (a.file.take(), None)
            } else {
                let handle = a.file.as_ref().map(IncomingObject::positional);
                (None, handle.transpose().map_err(store_error)?)
            }
        };
        if in_place && whole.is_none() {
            return Err(s3_error!(NoSuchUpload, "the upload is being completed"));
        }
        let store = self.store.clone();
        let incoming = blocking(move || {
            if let Some(whole) = whole {
                return whole.assembled(sources.iter().map(Source::len).sum());
            }
            let mut incoming = store.incoming_object()?;
            for source in &sources {
                match (source, &placed) {
                    (Source::File(path, _), _) => incoming.append_file(path)?,
                    (Source::Placed(offset, len), Some(placed)) => incoming.append_range(
                        placed,
                        std::path::Path::new("the upload's assembly"),
                        *offset,
                        *len,
                    )?,
                    (Source::Placed(..), None) => {
                        return Err(StoreError::Invalid("the upload is being completed".into()));
                    }
                }
            }
            Ok(incoming)
        })
        .await?;
        let v = self
            .commit(
                incoming,
                upload.bucket.clone(),
                upload.key.clone(),
                upload.content_type.clone(),
                Some(whole_etag),
            )
            .await?;
        self.forget_upload(&input.upload_id, &upload);
        self.created(
            &caller,
            remote,
            &upload.bucket,
            &v,
            "CompleteMultipartUpload",
        );
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(upload.bucket),
            key: Some(upload.key),
            e_tag: Some(etag(&v)),
            version_id: version_header(&v),
            ..Default::default()
        }))
    }

    pub(super) async fn multipart_abort(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        self.forget_upload(&input.upload_id, &upload);
        Ok(S3Response::with_status(
            AbortMultipartUploadOutput::default(),
            StatusCode::NO_CONTENT,
        ))
    }

    fn upload(&self, id: &str, bucket: &str, key: &str) -> S3Result<Upload> {
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .filter(|u| u.bucket == bucket && u.key == key)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchUpload))
    }

    fn forget_upload(&self, id: &str, upload: &Upload) {
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        let _ = std::fs::remove_dir_all(&upload.dir);
    }
}
