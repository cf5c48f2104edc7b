//! [`ObjectStore`] over `aws-sdk-s3`, configured from the standard AWS chain
//! (so `AWS_ENDPOINT_URL` redirects it, as the local target does).

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use crate::handlers::{ObjectStore, StoreError};

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    /// PUT bodies go without the SigV4 payload hash (see [`S3Store::from_env`]).
    unsigned_payload: bool,
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
        }
    }

    pub fn new(client: Client) -> Self {
        Self {
            client,
            unsigned_payload: false,
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
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(classify)?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Other(format!("reading the body: {e}")))?;
        // One copy of the segments into the Vec (into_bytes().to_vec() made
        // two: 300 MB of page faults for a 150 MB object).
        Ok(body.to_vec())
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Option<String>, StoreError> {
        let put = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8")
            .body(ByteStream::from(body));
        let out = if self.unsigned_payload {
            put.customize().disable_payload_signing().send().await
        } else {
            put.send().await
        }
        .map_err(classify)?;
        Ok(out.version_id)
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_http;

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
