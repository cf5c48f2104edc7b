//! [`ObjectStore`] over `aws-sdk-s3`, configured from the standard AWS chain
//! (so `AWS_ENDPOINT_URL` redirects it, as the local target does).

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::handlers::{BodySender, BodyStream, ObjectStore, StoreError};

/// Bodies larger than this go up as a multipart upload, parts in parallel,
/// as the AWS CLI and the SDKs' transfer managers do above their thresholds
/// (8 MiB): one PUT of 150 MB is one serial stream, and S3's MD5 of it is
/// serial on the server too.
pub const MULTIPART_THRESHOLD: usize = 32 << 20;
/// Every part but the last is this big: 150 MB makes 9 parts, and a 1.5 GB
/// file (10M rows) 90, far under S3's 10,000 (its floor is 5 MiB).
pub const PART_SIZE: usize = 16 << 20;
const MAX_PARTS: usize = 10_000;
const PARTS_IN_FLIGHT: usize = 4;
const CSV: &str = "text/csv; charset=utf-8";

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    /// PUT bodies go without the SigV4 payload hash (see [`S3Store::from_env`]).
    unsigned_payload: bool,
    parts: PartSizes,
}

/// Where a body starts to go up in parts, and their sizes (tests lower
/// them against endpoints that take small parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSizes {
    pub threshold: usize,
    pub part_size: usize,
}

impl Default for PartSizes {
    fn default() -> Self {
        Self {
            threshold: MULTIPART_THRESHOLD,
            part_size: PART_SIZE,
        }
    }
}

/// `http://` (not TLS) to this machine: the local target's endpoint.
fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl S3Store {
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        // Path-style addressing works with every S3-compatible endpoint
        // (`http://127.0.0.1:port`), and AWS itself still serves it.
        let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(endpoint.is_some())
            .build();
        Self {
            client: Client::from_conf(s3),
            // Over loopback HTTP the SigV4 payload hash (a SHA-256 of the
            // whole body, on both sides) guards nothing a socket to this
            // machine could lose; the CRC32 the SDK still sends, which the
            // endpoint verifies, guards the bytes. AWS is always HTTPS and
            // keeps signed payloads.
            unsigned_payload: endpoint.as_deref().is_some_and(loopback_http),
            parts: PartSizes::default(),
        }
    }

    pub fn new(client: Client) -> Self {
        Self {
            client,
            unsigned_payload: false,
            parts: PartSizes::default(),
        }
    }

    /// PUT bodies without the SigV4 payload hash, as [`S3Store::from_env`]
    /// does over loopback HTTP (for benchmarks and tests on such an
    /// endpoint; AWS is HTTPS and keeps signed payloads).
    pub fn with_unsigned_payload(mut self, unsigned: bool) -> Self {
        self.unsigned_payload = unsigned;
        self
    }

    pub fn with_part_sizes(mut self, parts: PartSizes) -> Self {
        self.parts = PartSizes {
            threshold: parts.threshold,
            part_size: parts.part_size.max(1),
        };
        self
    }

    /// A GET's response, its body not yet read.
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, StoreError> {
        self.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(classify)
    }

    /// A multipart upload of the segments `first` then the rest of `body`;
    /// on any failure the upload is aborted, so no parts are left behind to
    /// be billed (a process killed midway still leaves them: on AWS a bucket
    /// lifecycle rule's AbortIncompleteMultipartUpload reaps those).
    async fn put_multipart(
        &self,
        bucket: &str,
        key: &str,
        first: Vec<bytes::Bytes>,
        body: Option<BodyStream>,
    ) -> Result<Option<String>, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(CSV)
            .send()
            .await
            .map_err(classify)?;
        let Some(upload_id) = created.upload_id else {
            return Err(StoreError::Other(
                "CreateMultipartUpload returned no upload id".into(),
            ));
        };
        let done = match self
            .upload_parts(bucket, key, &upload_id, first, body)
            .await
        {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(classify),
            Err(e) => Err(e),
        };
        match done {
            Ok(out) => Ok(out.version_id),
            Err(e) => {
                // Best effort: the error to report is the one above.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    /// Uploads the segments as parts, [`PARTS_IN_FLIGHT`] at a time (the
    /// body waits while they are busy); the parts in order, or the first
    /// error. Each part carries the SDK's default CRC32, which S3 checks;
    /// with no algorithm named at creation S3 keeps no whole-object
    /// checksum, and none goes in the completion.
    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        first: Vec<bytes::Bytes>,
        mut body: Option<BodyStream>,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(PARTS_IN_FLIGHT));
        let mut tasks = tokio::task::JoinSet::new();
        let mut cutter = PartCutter::new(self.parts);
        let mut first = first.into_iter();
        let mut number = 0;
        let mut parts = Vec::new();
        loop {
            let segment = match first.next() {
                Some(segment) => Some(segment),
                None => match body.as_mut() {
                    Some(body) => body.next().await.transpose()?,
                    None => None,
                },
            };
            let cut = match segment {
                Some(segment) => cutter.push(segment),
                None => cutter.finish(),
            };
            for part in cut {
                number += 1;
                if number > MAX_PARTS {
                    return Err(StoreError::Other(format!(
                        "the body needs more than S3's {MAX_PARTS} parts"
                    )));
                }
                let permit = permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                // A failed part stops the upload before the next is sent.
                while let Some(joined) = tasks.try_join_next() {
                    parts.push(
                        joined
                            .map_err(|e| StoreError::Other(format!("a part's upload: {e}")))??,
                    );
                }
                let request = self
                    .client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number as i32)
                    .body(ByteStream::from(part));
                let unsigned = self.unsigned_payload;
                let number = number as i32;
                tasks.spawn(async move {
                    let _permit = permit;
                    let out = if unsigned {
                        request.customize().disable_payload_signing().send().await
                    } else {
                        request.send().await
                    }
                    .map_err(classify)?;
                    Ok::<_, StoreError>(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(out.e_tag)
                            .build(),
                    )
                });
            }
            if cutter.finished {
                break;
            }
        }
        while let Some(joined) = tasks.join_next().await {
            parts.push(joined.map_err(|e| StoreError::Other(format!("a part's upload: {e}")))??);
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }
}

/// The bytes of a download are handed on in blocks of this size.
const READ_BLOCK: usize = 1 << 20;

/// Blocks for a download's bytes, each back in the pool once its reader
/// drops it. The response's chunks are copied into them and dropped at
/// once: a chunk held until the reader got to it kept hyper from reusing
/// its read buffer, and every new one was fresh memory (23,000 page faults
/// in the processor for a million rows, more than this copy costs).
#[derive(Clone, Default)]
struct Blocks(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl Blocks {
    fn take(&self) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut pool| pool.pop());
        reused.unwrap_or_else(|| Vec::with_capacity(READ_BLOCK))
    }

    fn lend(&self, bytes: Vec<u8>) -> bytes::Bytes {
        bytes::Bytes::from_owner(Lent {
            bytes,
            pool: self.clone(),
        })
    }
}

struct Lent {
    bytes: Vec<u8>,
    pool: Blocks,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        if let Ok(mut pool) = self.pool.0.lock() {
            pool.push(bytes);
        }
    }
}

/// Cuts a body's segments into parts of exactly `part_size` bytes but the
/// last, as the SDKs' transfer managers and the aws CLI cut them (S3 asks
/// only that all but the last be 5 MiB or more; one size lets an endpoint
/// place each part by its number, as the local one does). Only what
/// crosses a part's end is gathered (copied); a segment's whole parts past
/// that are slices of it, uncopied.
struct PartCutter {
    part_size: usize,
    held: bytes::BytesMut,
    finished: bool,
}

impl PartCutter {
    fn new(sizes: PartSizes) -> Self {
        Self {
            part_size: sizes.part_size,
            held: bytes::BytesMut::new(),
            finished: false,
        }
    }

    fn push(&mut self, segment: bytes::Bytes) -> Vec<bytes::Bytes> {
        let mut parts = Vec::new();
        let mut rest = segment;
        if !self.held.is_empty() {
            let fill = (self.part_size - self.held.len()).min(rest.len());
            self.held.extend_from_slice(&rest.split_to(fill));
            if self.held.len() < self.part_size {
                return parts;
            }
            parts.push(std::mem::take(&mut self.held).freeze());
        }
        while rest.len() >= self.part_size {
            parts.push(rest.split_to(self.part_size));
        }
        if !rest.is_empty() {
            // A part's room at once: growing by doubling copied what was
            // held (pages never written cost nothing).
            self.held.reserve(self.part_size);
            self.held.extend_from_slice(&rest);
        }
        parts
    }

    fn finish(&mut self) -> Vec<bytes::Bytes> {
        self.finished = true;
        if self.held.is_empty() {
            Vec::new()
        } else {
            vec![std::mem::take(&mut self.held).freeze()]
        }
    }
}

fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().map(str::to_owned);
    let message = e.message().map(str::to_owned);
    match code.as_deref() {
        Some("NoSuchKey" | "NotFound") => StoreError::NotFound,
        Some("NoSuchBucket") => StoreError::NoSuchBucket,
        Some("AccessDenied" | "Forbidden") => {
            StoreError::AccessDenied(message.unwrap_or_else(|| "AccessDenied".into()))
        }
        Some(code) => StoreError::Other(format!("{code}: {}", message.unwrap_or_default())),
        None => StoreError::Other(format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e))),
    }
}

impl ObjectStore for S3Store {
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let out = self.get_object(bucket, key).await?;
        // Straight into one buffer of the object's size, a segment at a
        // time: `AggregatedBytes::to_vec` flattens byte by byte, which was
        // 18 % of all CPU in a 1M-row local run (perf), and collecting first
        // holds the object twice.
        let mut body = out.body;
        let mut buf = Vec::with_capacity(
            out.content_length
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
        );
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StoreError::Other(format!("reading the body: {e}")))?
        {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    async fn get_to(&self, bucket: &str, key: &str, sink: BodySender) -> Result<(), StoreError> {
        let mut body = self.get_object(bucket, key).await?.body;
        let blocks = Blocks::default();
        let mut block = blocks.take();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StoreError::Other(format!("reading the body: {e}")))?
        {
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let n = (READ_BLOCK - block.len()).min(rest.len());
                block.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                if block.len() == READ_BLOCK {
                    let full = std::mem::replace(&mut block, blocks.take());
                    if !sink.send(blocks.lend(full)).await {
                        // The reader stopped (the file broke the contract):
                        // no need for the rest.
                        return Ok(());
                    }
                }
            }
        }
        if !block.is_empty() && !sink.send(blocks.lend(block)).await {
            return Ok(());
        }
        sink.finish().await;
        Ok(())
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Option<String>, StoreError> {
        if body.len() > self.parts.threshold {
            return self
                .put_multipart(bucket, key, vec![body.into()], None)
                .await;
        }
        let put = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(CSV)
            .body(ByteStream::from(body));
        let out = if self.unsigned_payload {
            put.customize().disable_payload_signing().send().await
        } else {
            put.send().await
        }
        .map_err(classify)?;
        Ok(out.version_id)
    }

    async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut body: BodyStream,
    ) -> Result<Option<String>, StoreError> {
        // A body that ends within the threshold goes up as one PUT.
        let mut first = Vec::new();
        let mut held = 0;
        while held <= self.parts.threshold {
            match body.next().await {
                Some(segment) => {
                    let segment = segment?;
                    held += segment.len();
                    first.push(segment);
                }
                None => {
                    // One segment is passed on as it is, not copied.
                    let body = match first.len() {
                        1 => first.pop().map(Vec::from).unwrap_or_default(),
                        _ => first.concat(),
                    };
                    return self.put(bucket, key, body).await;
                }
            }
        }
        self.put_multipart(bucket, key, first, Some(body)).await
    }
}

#[cfg(test)]
mod tests {
    use super::{PartCutter, PartSizes, loopback_http};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the segments, the parts are the body in order, each
        /// exactly `part_size` bytes but the last, which is not empty.
        #[test]
        fn parts_are_the_body_cut_at_one_size(
            lens in prop::collection::vec(0usize..40, 0..20),
            part_size in 1usize..16,
        ) {
            let mut cutter = PartCutter::new(PartSizes { threshold: 0, part_size });
            let (mut body, mut parts) = (Vec::new(), Vec::new());
            for (i, len) in lens.iter().enumerate() {
                let segment: Vec<u8> = (0..*len).map(|j| (i * 41 + j) as u8).collect();
                body.extend_from_slice(&segment);
                parts.extend(cutter.push(segment.into()));
            }
            parts.extend(cutter.finish());
            prop_assert_eq!(parts.concat(), body);
            if let Some((last, full)) = parts.split_last() {
                prop_assert!(full.iter().all(|p| p.len() == part_size));
                prop_assert!(!last.is_empty() && last.len() <= part_size);
            }
        }
    }

    #[test]
    fn only_plain_http_to_this_machine_goes_unsigned() {
        for url in [
            "http://127.0.0.1:4566",
            "http://localhost:9000/",
            "http://[::1]:80",
        ] {
            assert!(loopback_http(url), "{url}");
        }
        for url in [
            "https://127.0.0.1:4566",
            "http://127.0.0.1.example.com",
            "http://s3.amazonaws.com",
            "http://10.0.0.1:4566",
            "127.0.0.1:4566",
        ] {
            assert!(!loopback_http(url), "{url}");
        }
    }
}
