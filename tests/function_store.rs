//! The functions' S3 client (`cartpipe::s3::S3Store`) against the servers it
//! meets, the local endpoint and moto, through the real SDK: a body handed
//! over while it is made goes up as a multipart upload, byte for byte and
//! in order; a small one as one PUT; a body its producer never finished is
//! not stored and leaves no upload behind. The SDK's mocks give the error a
//! server will not: a part refused midway.

use cartpipe::handlers::{BodyStream, ObjectStore, StoreError, body_channel};
use cartpipe::s3::{PartSizes, S3Store};

use crate::local_cloud::fixture::{Fixture, local_s3};
use crate::moto::moto_or_skip;

const MIB: usize = 1 << 20;

/// S3's real floor (5 MiB but the last), so moto and the local endpoint
/// refuse what AWS would.
fn sizes() -> PartSizes {
    PartSizes {
        threshold: 5 * MIB,
        part_size: 5 * MIB,
    }
}

/// `len` bytes that differ from segment to segment and along each one, so
/// a part out of place or cut wrongly changes the whole.
fn segment(len: usize, n: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i / 4093) as u8 ^ n.wrapping_mul(37))
        .collect()
}

/// Hands `segments` to `put_stream`, finishing the body only if `finish`;
/// the store's answer and how many segments the producer got rid of.
async fn stream(
    store: &S3Store,
    bucket: &str,
    key: &str,
    segments: Vec<Vec<u8>>,
    finish: bool,
) -> (Result<Option<String>, StoreError>, usize) {
    let (tx, rx): (_, BodyStream) = body_channel(2);
    let producer = async move {
        let mut sent = 0;
        for s in segments {
            if !tx.send(s).await {
                return sent;
            }
            sent += 1;
        }
        if finish {
            tx.finish().await;
        }
        sent
    };
    let (sent, stored) = tokio::join!(producer, store.put_stream(bucket, key, rx));
    (stored, sent)
}

/// Reads `key` through `get_to`: the store's answer, and the body the
/// receiver got (an error if it did not end finished).
async fn read_to(
    store: &S3Store,
    bucket: &str,
    key: &str,
) -> (Result<(), StoreError>, Result<Vec<u8>, StoreError>) {
    let (tx, mut rx): (_, BodyStream) = body_channel(2);
    let receiver = async move {
        let mut body = Vec::new();
        while let Some(chunk) = rx.next().await {
            body.extend_from_slice(&chunk?);
        }
        Ok(body)
    };
    tokio::join!(store.get_to(bucket, key, tx), receiver)
}

async fn etag(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (String, Option<String>) {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
    (
        head.e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned(),
        head.version_id().map(str::to_owned),
    )
}

/// The scenario both servers must pass; `bucket` is versioned.
async fn streamed_bodies_are_stored_whole_or_not_at_all(s3: aws_sdk_s3::Client, bucket: &str) {
    let store = S3Store::new(s3.clone()).with_part_sizes(sizes());

    // Segments small and large, as the generator's and as no generator
    // makes them: 27 MiB and a byte, so five parts of 5 MiB and a last one
    // of 2 MiB and a byte.
    let segments: Vec<Vec<u8>> = [MIB, 6 * MIB, 2 * MIB, 3 * MIB, 11 * MIB, 4 * MIB, 1]
        .iter()
        .enumerate()
        .map(|(n, len)| segment(*len, n as u8))
        .collect();
    let whole = segments.concat();
    let (stored, _) = stream(&store, bucket, "streamed.csv", segments, true).await;
    let version = stored.expect("a streamed body is stored");
    assert!(version.is_some(), "a versioned bucket names the version");
    let got = store.get(bucket, "streamed.csv").await.expect("get");
    assert!(got == whole, "the object is the segments, in order");
    let (tag, head_version) = etag(&s3, bucket, "streamed.csv").await;
    assert!(tag.ends_with("-6"), "six parts: {tag}");
    // Read back as the functions read it: handed on as it arrives, whole
    // and in order, and finished.
    let (fetched, received) = read_to(&store, bucket, "streamed.csv").await;
    fetched.expect("get_to");
    assert!(
        received.expect("a finished body") == whole,
        "get_to hands on the object, in order"
    );
    let (fetched, received) = read_to(&store, bucket, "no-such.csv").await;
    assert_eq!(fetched, Err(StoreError::NotFound));
    assert!(received.is_err(), "a failed read does not end finished");
    assert_eq!(head_version, version);

    // One large body from `put`: 5, 5 and 2 MiB.
    let large = segment(12 * MIB, 9);
    store
        .put(bucket, "large.csv", large.clone())
        .await
        .expect("put");
    assert!(store.get(bucket, "large.csv").await.expect("get") == large);
    let (tag, _) = etag(&s3, bucket, "large.csv").await;
    assert!(tag.ends_with("-3"), "three parts: {tag}");

    // Within the threshold: one PUT, whose ETag is the body's MD5.
    let (stored, _) = stream(
        &store,
        bucket,
        "small.csv",
        vec![b"a,b\n".to_vec(), b"1,2\n".to_vec()],
        true,
    )
    .await;
    stored.expect("a small body is stored");
    assert_eq!(
        store.get(bucket, "small.csv").await.expect("get"),
        b"a,b\n1,2\n"
    );
    let (tag, _) = etag(&s3, bucket, "small.csv").await;
    assert_eq!(tag, local_s3::md5_hex(b"a,b\n1,2\n"));

    // A producer that stops before the end (a panic, an error): whether
    // the body was still in memory or already going up in parts, nothing
    // is stored.
    for (key, lens) in [
        ("cut-short.csv", vec![MIB]),
        ("cut-long.csv", vec![6 * MIB; 3]),
    ] {
        let segments = lens.iter().map(|l| segment(*l, 1)).collect();
        let (stored, _) = stream(&store, bucket, key, segments, false).await;
        assert!(stored.is_err(), "{key}: an unfinished body is an error");
        assert_eq!(
            store.get(bucket, key).await,
            Err(StoreError::NotFound),
            "{key}: an unfinished body is not stored"
        );
    }
}

#[tokio::test]
async fn the_local_endpoint_stores_streamed_bodies_whole_or_not_at_all() {
    let fx = Fixture::new();
    fx.up().await;
    let events = std::sync::Arc::new(localcloud::s3::NoEvents);
    let endpoint = local_s3::start(fx.cloud.store().clone(), events, 0)
        .await
        .expect("start the endpoint");
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint.url())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIADUMMYDUMMY",
            "dummy-secret",
            None,
            None,
            "test",
        ))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    streamed_bodies_are_stored_whole_or_not_at_all(s3, &fx.bucket("raw")).await;
    // The aborted upload's parts are gone from the store's scratch space.
    let left: Vec<_> = walk(fx.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("upload-"))
        .collect();
    assert!(left.is_empty(), "uploads left behind: {left:?}");
    endpoint.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[tokio::test]
async fn moto_stores_streamed_bodies_whole_or_not_at_all() {
    let moto = moto_or_skip!();
    let config = moto.sdk_config("us-east-1");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = "function-store";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    streamed_bodies_are_stored_whole_or_not_at_all(s3.clone(), bucket).await;
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("list uploads");
    assert!(
        uploads.uploads().is_empty(),
        "uploads left behind: {:?}",
        uploads.uploads()
    );
}

#[tokio::test]
async fn a_refused_part_aborts_the_upload_and_stops_the_producer() {
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
    let create = mock!(aws_sdk_s3::Client::create_multipart_upload).then_output(|| {
        aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput::builder()
            .upload_id("u-1")
            .build()
    });
    let part = mock!(aws_sdk_s3::Client::upload_part).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                "<Error><Code>AccessDenied</Code><Message>s3:PutObject</Message></Error>",
            ),
        )
    });
    let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload).then_output(|| {
        aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput::builder()
            .build()
    });
    let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("u-1"))
        .then_output(|| {
            aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput::builder()
                .build()
        });
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor([&create, &part, &complete, &abort].iter().fold(
            MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
            |i, r| i.with_rule(r),
        ))
        .build();
    let store = S3Store::new(aws_sdk_s3::Client::from_conf(config)).with_part_sizes(PartSizes {
        threshold: 64,
        part_size: 64,
    });
    let segments = (0..1000u32).map(|n| segment(100, n as u8)).collect();
    let (stored, sent) = stream(&store, "b", "k", segments, true).await;
    assert!(
        matches!(stored, Err(StoreError::AccessDenied(_))),
        "{stored:?}"
    );
    assert_eq!(abort.num_calls(), 1, "the upload is aborted");
    assert_eq!(complete.num_calls(), 0, "and never completed");
    assert!(
        sent < 1000,
        "the producer was stopped ({sent} segments sent)"
    );
}
