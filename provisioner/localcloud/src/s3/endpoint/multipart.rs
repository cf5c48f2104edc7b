//! Multipart uploads (the aws CLI uses them from 8 MB): parts wait in the
//! store's scratch folder until CompleteMultipartUpload makes one version.

use super::*;

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
        let data = read_body(input.body).await?;
        let tag = crate::s3::md5_hex(&data);
        let path = upload.dir.join(format!("{:05}.part", input.part_number));
        tokio::fs::write(&path, &data).await.map_err(internal)?;
        Ok(S3Response::new(UploadPartOutput {
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
        let mut data = Vec::new();
        let mut last = 0;
        for part in &parts {
            let n = part.part_number.unwrap_or_default();
            if n <= last {
                return Err(s3_error!(InvalidPartOrder));
            }
            last = n;
            let bytes = tokio::fs::read(upload.dir.join(format!("{n:05}.part")))
                .await
                .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?;
            if let Some(want) = part
                .e_tag
                .as_ref()
                .map(|e| e.value().trim_matches('"').to_owned())
                && want != crate::s3::md5_hex(&bytes)
            {
                return Err(s3_error!(InvalidPart, "part {n}: the ETag does not match"));
            }
            data.extend_from_slice(&bytes);
        }
        let v = self
            .put_bytes(
                upload.bucket.clone(),
                upload.key.clone(),
                Bytes::from(data),
                upload.content_type.clone(),
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
