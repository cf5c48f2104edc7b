//! Multipart uploads (the aws CLI uses them from 8 MB): parts wait in the
//! store's scratch folder until CompleteMultipartUpload makes one version.

use super::*;

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
        let incoming = receive(&self.store, input.body, input.content_length, sent).await?;
        let [crc32, crc32c, crc64nvme, sha1, sha256] = checksum_fields(incoming.checksum.as_ref());
        let tag = incoming.md5_hex().unwrap_or_default();
        let n = input.part_number;
        let dir = upload.dir.clone();
        let etag = tag.clone();
        // The part's MD5 beside it: completing checks the ETags it is
        // given without reading the parts again.
        blocking(move || {
            write_atomically(&dir.join(format!("{n:05}.md5")), etag.as_bytes())?;
            incoming.persist(&dir.join(format!("{n:05}.part")))
        })
        .await?;
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
        // S3 refuses a part under 5 MiB anywhere but last (moto too); a
        // client that splits finer must fail here as it would on AWS.
        for n in &numbers[..numbers.len() - 1] {
            let size = tokio::fs::metadata(upload.dir.join(format!("{n:05}.part")))
                .await
                .map_err(internal)?
                .len();
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
        let (store, dir) = (self.store.clone(), upload.dir.clone());
        let incoming = blocking(move || {
            let mut incoming = store.incoming_object()?;
            for n in &numbers {
                incoming.append_file(&dir.join(format!("{n:05}.part")))?;
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
