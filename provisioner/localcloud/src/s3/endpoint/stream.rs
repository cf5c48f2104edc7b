//! Object bodies streamed between the socket and the store: no object is
//! ever held whole in memory, and the disk side (MD5 and file I/O) runs on
//! a blocking thread beside the socket side (receive, SigV4 payload check),
//! so the two overlap.
//!
//! A checksum sent in the header is verified; one sent as an `aws-chunked`
//! trailer (the SDKs' streaming uploads from a file) is not yet, so such an
//! object is stored without a checksum, and readers get none back.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use s3s::crypto::Checksum as _;

use super::*;
use crate::s3::{Checksum, IncomingObject};

/// Chunks in flight between the two sides: bounds memory to a few MB.
const IN_FLIGHT: usize = 16;
/// Size of the chunks a GET reads from disk.
const READ_CHUNK: usize = 1 << 20;

/// The flexible checksum a request carries (`x-amz-checksum-*`), if any,
/// from an input with S3's five `checksum_*` fields (PutObject, UploadPart).
macro_rules! sent_checksum {
    ($input:expr) => {
        first_checksum([
            ("CRC32", &$input.checksum_crc32),
            ("CRC32C", &$input.checksum_crc32c),
            ("CRC64NVME", &$input.checksum_crc64nvme),
            ("SHA1", &$input.checksum_sha1),
            ("SHA256", &$input.checksum_sha256),
        ])
    };
}
pub(super) use sent_checksum;

pub(super) fn first_checksum(fields: [(&str, &Option<String>); 5]) -> Option<Checksum> {
    fields.into_iter().find_map(|(algorithm, value)| {
        value.as_ref().map(|value| Checksum {
            algorithm: algorithm.to_owned(),
            value: value.clone(),
        })
    })
}

/// Computes one flexible checksum over a body as it passes.
enum Hasher {
    Crc32(s3s::crypto::Crc32),
    Crc32c(s3s::crypto::Crc32c),
    Crc64Nvme(s3s::crypto::Crc64Nvme),
    Sha1(s3s::crypto::Sha1),
    Sha256(s3s::crypto::Sha256),
}

impl Hasher {
    fn new(algorithm: &str) -> Option<Self> {
        Some(match algorithm {
            "CRC32" => Self::Crc32(s3s::crypto::Crc32::new()),
            "CRC32C" => Self::Crc32c(s3s::crypto::Crc32c::new()),
            "CRC64NVME" => Self::Crc64Nvme(s3s::crypto::Crc64Nvme::new()),
            "SHA1" => Self::Sha1(s3s::crypto::Sha1::new()),
            "SHA256" => Self::Sha256(s3s::crypto::Sha256::new()),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(data),
            Self::Crc32c(h) => h.update(data),
            Self::Crc64Nvme(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    fn base64(self) -> String {
        use base64::Engine as _;
        let digest: Vec<u8> = match self {
            Self::Crc32(h) => h.finalize().to_vec(),
            Self::Crc32c(h) => h.finalize().to_vec(),
            Self::Crc64Nvme(h) => h.finalize().to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(digest)
    }
}

/// Where a received body goes: a new scratch object, or its place in a
/// multipart upload's assembly file ([`AtOffset`]). Written on a blocking
/// thread, MD5-hashed on the way.
pub(super) trait Sink: Send + 'static {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    fn size(&self) -> u64;
}

impl Sink for IncomingObject {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        IncomingObject::write(self, bytes)
    }

    fn size(&self) -> u64 {
        IncomingObject::size(self)
    }
}

/// A part written straight into its place in the upload's assembly file,
/// at `offset` (parts write side by side, each through its own handle).
pub(super) struct AtOffset {
    file: std::fs::File,
    offset: u64,
    written: u64,
    md5: md5::Md5,
}

impl AtOffset {
    pub(super) fn new(file: std::fs::File, offset: u64) -> Self {
        use md5::Digest as _;
        Self {
            file,
            offset,
            written: 0,
            md5: md5::Md5::new(),
        }
    }

    pub(super) fn md5_hex(&self) -> String {
        use md5::Digest as _;
        crate::store::hex(&self.md5.clone().finalize())
    }
}

impl Sink for AtOffset {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        use md5::Digest as _;
        use std::os::unix::fs::FileExt as _;
        self.md5.update(bytes);
        self.file
            .write_all_at(bytes, self.offset + self.written)
            .map_err(|e| StoreError::Invalid(format!("writing a part in place: {e}")))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn size(&self) -> u64 {
        self.written
    }
}

/// Receives a request body into a new scratch object (see [`receive_into`]).
pub(super) async fn receive(
    store: &Arc<Store>,
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    checksum: Option<Checksum>,
) -> S3Result<IncomingObject> {
    let s = store.clone();
    let incoming = blocking(move || s.incoming_object()).await?;
    let (mut incoming, checksum) = receive_into(incoming, body, content_length, checksum).await?;
    incoming.checksum = checksum;
    Ok(incoming)
}

/// Receives a request body into `sink`, hashed on the way (MD5 for the
/// ETag; the flexible checksum the client sent, verified as S3 does, and
/// returned to be kept with the object). A body that ends early, fails its
/// payload check or its checksum, or differs from `content_length` is an
/// error (a scratch object is then dropped, leaving nothing behind).
pub(super) async fn receive_into<S: Sink>(
    sink: S,
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    checksum: Option<Checksum>,
) -> S3Result<(S, Option<Checksum>)> {
    let mut hasher = match &checksum {
        None => None,
        Some(c) => Some(Hasher::new(&c.algorithm).ok_or_else(|| {
            s3_error!(InvalidRequest, "unknown checksum algorithm {}", c.algorithm)
        })?),
    };
    let mut incoming = sink;
    if let Some(body) = body {
        let mut body: s3s::Body = body.into();
        let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = rx.blocking_recv() {
                incoming.write(&chunk)?;
            }
            Ok::<_, StoreError>(incoming)
        });
        let mut failed = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        // Here, beside the receive: the MD5 on the
                        // writer's thread is the slower hash.
                        if let Some(h) = &mut hasher {
                            h.update(&data);
                        }
                        if tx.send(data).await.is_err() {
                            // The writer stopped: its error is below.
                            break;
                        }
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        incoming = writer.await.map_err(internal)?.map_err(store_error)?;
        if let Some(e) = failed {
            // s3s checks a signed payload's SHA-256 as the bytes pass and
            // reports a mismatch as a body error at the end.
            let text = e.to_string();
            return Err(if text.contains("Sha256Mismatch") {
                S3Error::with_message(
                    S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                )
            } else {
                S3Error::with_message(S3ErrorCode::IncompleteBody, text)
            });
        }
    }
    if let Some(len) = content_length
        && len >= 0
        && len as u64 != incoming.size()
    {
        return Err(s3_error!(IncompleteBody));
    }
    if let (Some(sent), Some(h)) = (checksum, hasher) {
        if h.base64() != sent.value {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    sent.algorithm
                ),
            ));
        }
        return Ok((incoming, Some(sent)));
    }
    Ok((incoming, None))
}

/// A stored checksum as the five optional output fields of S3's API
/// (crc32, crc32c, crc64nvme, sha1, sha256).
pub(super) type ChecksumFields = [Option<String>; 5];

pub(super) fn checksum_fields(checksum: Option<&Checksum>) -> ChecksumFields {
    let mut fields: ChecksumFields = Default::default();
    if let Some(c) = checksum {
        let slot = match c.algorithm.as_str() {
            "CRC32" => 0,
            "CRC32C" => 1,
            "CRC64NVME" => 2,
            "SHA1" => 3,
            _ => 4,
        };
        fields[slot] = Some(c.value.clone());
    }
    fields
}

/// A body reading `len` bytes of `file` from `start`, a chunk at a time.
pub(super) fn file_body(mut file: std::fs::File, start: u64, len: u64) -> StreamingBlob {
    let (tx, rx) = mpsc::channel::<Result<Bytes, s3s::StdError>>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        if start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start))
        {
            let _ = tx.blocking_send(Err(e.into()));
            return;
        }
        let mut left = len;
        while left > 0 {
            let want = left.min(READ_CHUNK as u64) as usize;
            let mut buf = vec![0; want];
            let chunk = match file.read_exact(&mut buf) {
                Ok(()) => Ok(Bytes::from(buf)),
                Err(e) => Err(e.into()),
            };
            let failed = chunk.is_err();
            // A closed receiver: the client went away.
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
            left -= want as u64;
        }
    });
    StreamingBlob::new(Chunks { rx, left: len })
}

/// The receiving end of [`file_body`]; its exact length lets hyper send a
/// Content-Length.
struct Chunks {
    rx: mpsc::Receiver<Result<Bytes, s3s::StdError>>,
    left: u64,
}

impl s3s::stream::ByteStream for Chunks {
    fn remaining_length(&self) -> s3s::stream::RemainingLength {
        s3s::stream::RemainingLength::new_exact(usize::try_from(self.left).unwrap_or(usize::MAX))
    }
}

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, s3s::StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.left = self.left.saturating_sub(chunk.len() as u64);
        }
        polled
    }
}

/// Copies a stored version's bytes into a new scratch object, hashed on
/// the way (CopyObject; a chunk at a time).
pub(super) fn copy_into(
    (mut file, path): (std::fs::File, std::path::PathBuf),
    incoming: &mut IncomingObject,
) -> Result<(), StoreError> {
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        if n == 0 {
            return Ok(());
        }
        incoming.write(&buf[..n])?;
    }
}
