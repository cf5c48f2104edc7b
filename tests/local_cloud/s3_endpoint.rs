//! The S3 endpoint with the real SDK and the aws CLI: versions, listings, events, streaming, multipart, roles.

use super::fixture::*;

#[derive(Default)]
struct Collect(Mutex<Vec<ObjectCreated>>);

impl ObjectEvents for Collect {
    fn object_created(&self, event: ObjectCreated) {
        self.0.lock().expect("lock").push(event);
    }
}

impl Collect {
    fn take(&self) -> Vec<ObjectCreated> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

fn client(endpoint: &str, access_key: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key,
            secret,
            Some("token".into()),
            None,
            "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn started(fx: &Fixture) -> (local_s3::S3Endpoint, Arc<Collect>) {
    let events = Arc::new(Collect::default());
    let endpoint = local_s3::start(fx.cloud.store().clone(), events.clone(), 0)
        .await
        .expect("start the endpoint");
    (endpoint, events)
}

async fn body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

#[tokio::test]
async fn s3_endpoint_versions_lists_and_emits_events() {
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    // Dummy credentials nobody registered: the account owner.
    let s3 = client(&endpoint.url(), "AKIADUMMYDUMMY", "dummy-secret");
    let raw = fx.bucket("raw");

    let one = s3
        .put_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .content_type("text/csv")
        .body(ByteStream::from_static(b"a,b\n1,2\n"))
        .send()
        .await
        .expect("put 1");
    let two = s3
        .put_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .body(ByteStream::from_static(b"a,b\n3,4\n5,6\n"))
        .send()
        .await
        .expect("put 2");
    let (v1, v2) = (one.version_id().expect("v1"), two.version_id().expect("v2"));
    assert_ne!(v1, v2, "every put is a new version");
    assert_eq!(
        two.e_tag(),
        Some(format!("\"{}\"", md5_hex(b"a,b\n3,4\n5,6\n")).as_str())
    );

    let got = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(got.version_id(), Some(v2));
    assert_eq!(body(got).await, b"a,b\n3,4\n5,6\n");
    let old = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .version_id(v1)
        .send()
        .await
        .expect("get v1");
    assert_eq!(old.content_type(), Some("text/csv"));
    assert_eq!(body(old).await, b"a,b\n1,2\n");
    let ranged = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .range("bytes=4-6")
        .send()
        .await
        .expect("ranged get");
    assert_eq!(body(ranged).await, b"3,4");
    let head = s3
        .head_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(12));

    // Events: one per put, in order, with what S3 puts in them.
    let seen = events.take();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].version_id.as_deref(), Some(v1));
    assert_eq!(seen[1].version_id.as_deref(), Some(v2));
    assert_eq!(seen[1].size, 12);
    assert_eq!(seen[1].reason, "PutObject");
    assert_eq!(seen[1].key, "in/cart data.csv");
    assert!(seen[0].sequencer < seen[1].sequencer);
    assert_eq!(seen[1].role, None, "written by the owner");

    // Listing: keys, prefixes, pages.
    for k in ["in/b.csv", "in/sub/c.csv", "out/d.csv", "z.csv"] {
        s3.put_object()
            .bucket(&raw)
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("put");
    }
    let all = s3
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        vec![
            "in/b.csv",
            "in/cart data.csv",
            "in/sub/c.csv",
            "out/d.csv",
            "z.csv"
        ]
    );
    let top = s3
        .list_objects_v2()
        .bucket(&raw)
        .delimiter("/")
        .send()
        .await
        .expect("list");
    let prefixes: Vec<&str> = top
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["in/", "out/"]);
    assert_eq!(
        top.contents()
            .iter()
            .filter_map(|o| o.key())
            .collect::<Vec<_>>(),
        vec!["z.csv"]
    );
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(&raw)
            .prefix("in/")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .expect("page");
        pages.push(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect::<Vec<_>>(),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        pages,
        vec![
            vec!["in/b.csv".to_owned(), "in/cart data.csv".to_owned()],
            vec!["in/sub/c.csv".to_owned()]
        ]
    );

    // Delete: a marker; the key reads as missing; its versions stay listed.
    let del = s3
        .delete_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("delete");
    assert_eq!(del.delete_marker(), Some(true));
    let err = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(err.code(), Some("NoSuchKey"));
    let versions = s3
        .list_object_versions()
        .bucket(&raw)
        .prefix("in/cart")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 2);
    assert_eq!(versions.delete_markers().len(), 1);
    assert_eq!(versions.delete_markers()[0].is_latest(), Some(true));
    assert_eq!(
        versions.versions()[0].version_id(),
        Some(v2),
        "newest first"
    );
    // Deleting the marker brings the object back.
    let marker = versions.delete_markers()[0]
        .version_id()
        .expect("marker id")
        .to_owned();
    s3.delete_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .version_id(&marker)
        .send()
        .await
        .expect("delete marker");
    let back = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("back");
    assert_eq!(back.version_id(), Some(v2));

    // Buckets: only those `up` made; others are NoSuchBucket.
    let buckets = s3.list_buckets().send().await.expect("buckets");
    let names: BTreeSet<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(
        names,
        [raw.as_str(), fx.bucket("consumption").as_str()].into()
    );
    s3.head_bucket()
        .bucket(&raw)
        .send()
        .await
        .expect("head bucket");
    let err = s3
        .put_object()
        .bucket("no-such-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("unknown bucket");
    assert_eq!(err.code(), Some("NoSuchBucket"));
    let location = s3
        .get_bucket_location()
        .bucket(&raw)
        .send()
        .await
        .expect("location");
    assert_eq!(
        location.location_constraint().map_or("", |c| c.as_str()),
        "",
        "us-east-1"
    );
    endpoint.shutdown().await;
}

#[tokio::test]
async fn s3_endpoint_streaming_bodies_copies_and_multipart() {
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let s3 = client(&endpoint.url(), "AKIADUMMYDUMMY", "dummy-secret");
    let raw = fx.bucket("raw");

    // A file body: the SDK streams it (aws-chunked with a trailing checksum).
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let content: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{i},x\n").into_bytes())
        .collect();
    std::fs::write(file.path(), &content).expect("write");
    s3.put_object()
        .bucket(&raw)
        .key("big.csv")
        .body(ByteStream::from_path(file.path()).await.expect("from_path"))
        .send()
        .await
        .expect("streamed put");
    let got = s3
        .get_object()
        .bucket(&raw)
        .key("big.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(
        body(got).await,
        content,
        "the body arrives decoded, byte for byte"
    );

    // CopyObject: a new object, an event with reason CopyObject.
    s3.copy_object()
        .bucket(fx.bucket("consumption"))
        .key("copy.csv")
        .copy_source(format!("{raw}/big.csv"))
        .send()
        .await
        .expect("copy");
    let copied = s3
        .get_object()
        .bucket(fx.bucket("consumption"))
        .key("copy.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(body(copied).await.len(), content.len());

    // Multipart, as the aws CLI does from 8 MB.
    let part = vec![b'p'; 5 * 1024 * 1024];
    let up = s3
        .create_multipart_upload()
        .bucket(&raw)
        .key("multi.csv")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id").to_owned();
    let mut parts = Vec::new();
    for (n, data) in [(1, part.clone()), (2, b"tail".to_vec())] {
        let out = s3
            .upload_part()
            .bucket(&raw)
            .key("multi.csv")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .expect("part");
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    let completed = s3
        .complete_multipart_upload()
        .bucket(&raw)
        .key("multi.csv")
        .upload_id(&id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    // S3's multipart ETag: the MD5 of the parts' MD5s, then the part count.
    let digests: Vec<u8> = [part.as_slice(), b"tail"]
        .iter()
        .flat_map(|p| {
            let hex = md5_hex(p);
            (0..32)
                .step_by(2)
                .map(move |i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        })
        .collect();
    assert_eq!(
        completed.e_tag(),
        Some(format!("\"{}-2\"", md5_hex(&digests)).as_str())
    );
    let head = s3
        .head_object()
        .bucket(&raw)
        .key("multi.csv")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(part.len() as i64 + 4));

    let reasons: Vec<String> = events.take().into_iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        vec!["PutObject", "CopyObject", "CompleteMultipartUpload"]
    );
    endpoint.shutdown().await;
}

#[tokio::test]
async fn big_objects_stream_with_their_etag_and_a_verified_checksum_and_a_bad_one_stores_nothing() {
    use aws_sdk_s3::types::ChecksumMode;
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, _events) = started(&fx).await;
    let raw = fx.bucket("raw");
    // Functions' credentials: the SigV4 payload hash is verified too. The
    // generator may only write raw; the processor reads it.
    let creds = endpoint.new_function_credentials(&fx.spec.role_name("generator"));
    let s3 = client(
        &endpoint.url(),
        &creds.access_key_id,
        &creds.secret_access_key,
    );
    let reader_creds = endpoint.new_function_credentials(&fx.spec.role_name("processor"));
    let reader = client(
        &endpoint.url(),
        &reader_creds.access_key_id,
        &reader_creds.secret_access_key,
    );
    let content: Vec<u8> = (0..3_000_000u32)
        .flat_map(|i| format!("{i},row\n").into_bytes())
        .collect();
    assert!(
        content.len() > 20 << 20,
        "bigger than any buffer on the way"
    );

    // The SDK sends a CRC32 by default; S3 checks it and keeps it.
    let put = s3
        .put_object()
        .bucket(&raw)
        .key("big.csv")
        .body(ByteStream::from(content.clone()))
        .send()
        .await
        .expect("put");
    assert_eq!(
        put.e_tag(),
        Some(format!("\"{}\"", md5_hex(&content)).as_str())
    );
    let crc = put
        .checksum_crc32()
        .expect("the CRC32 the SDK sent")
        .to_owned();

    let whole = reader
        .get_object()
        .bucket(&raw)
        .key("big.csv")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    assert_eq!(whole.checksum_crc32(), Some(crc.as_str()));
    assert_eq!(whole.content_length(), Some(content.len() as i64));
    // The SDK validates the returned CRC32 while reading the body.
    assert!(
        body(whole).await == content,
        "the body comes back byte for byte"
    );
    let head = reader
        .head_object()
        .bucket(&raw)
        .key("big.csv")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_crc32(), Some(crc.as_str()));
    let range = reader
        .get_object()
        .bucket(&raw)
        .key("big.csv")
        .range("bytes=10000000-10000009")
        .send()
        .await
        .expect("range");
    assert_eq!(
        range.content_range(),
        Some(format!("bytes 10000000-10000009/{}", content.len()).as_str())
    );
    assert_eq!(body(range).await, &content[10_000_000..10_000_010]);
    // An empty object maps nothing: it reads back empty.
    s3.put_object()
        .bucket(&raw)
        .key("empty.csv")
        .body(ByteStream::from_static(b""))
        .send()
        .await
        .expect("empty put");
    let empty = reader
        .get_object()
        .bucket(&raw)
        .key("empty.csv")
        .send()
        .await
        .expect("empty get");
    assert_eq!(empty.content_length(), Some(0));
    assert!(body(empty).await.is_empty());

    // A checksum that does not match: BadDigest, and nothing is stored,
    // not even a scratch file.
    let bad = s3
        .put_object()
        .bucket(&raw)
        .key("bad.csv")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from(content[..1000].to_vec()))
        .send()
        .await
        .expect_err("a wrong CRC32 is refused");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&bad),
        Some("BadDigest"),
        "{bad:?}"
    );
    let missing = reader
        .head_object()
        .bucket(&raw)
        .key("bad.csv")
        .send()
        .await;
    assert_eq!(
        missing
            .err()
            .and_then(|e| e.into_service_error().code().map(str::to_owned)),
        Some("NotFound".to_owned()),
        "nothing stored under bad.csv"
    );
    let scratch = fx.cloud.store().scratch_dir();
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
    endpoint.unregister_credentials(&creds.access_key_id);
    endpoint.unregister_credentials(&reader_creds.access_key_id);
    endpoint.shutdown().await;
}

#[tokio::test]
async fn s3_endpoint_enforces_each_function_role() {
    let mut fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let (raw, consumption) = (fx.bucket("raw"), fx.bucket("consumption"));
    let client_for = |function: &str| {
        let creds = endpoint.new_function_credentials(&fx.spec.role_name(function));
        client(
            &endpoint.url(),
            &creds.access_key_id,
            &creds.secret_access_key,
        )
    };
    let generator = client_for("generator");
    let processor = client_for("processor");
    let put = |c: &aws_sdk_s3::Client, bucket: &str, key: &str| {
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(b"a,b\n"))
            .send()
    };

    // The generator writes raw, and nothing else.
    put(&generator, &raw, "gen.csv")
        .await
        .expect("generator writes raw");
    // A streamed (aws-chunked) body, its signature checked by s3s.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), "a,b\n".repeat(10_000)).expect("write");
    generator
        .put_object()
        .bucket(&raw)
        .key("streamed.csv")
        .body(ByteStream::from_path(file.path()).await.expect("from_path"))
        .send()
        .await
        .expect("a function streams a file body");
    assert_eq!(
        fx.store()
            .head_object(&raw, "streamed.csv", None)
            .expect("stored")
            .size,
        40_000
    );
    // A writer may abort its own multipart upload (the functions' S3Store
    // does when a part fails), as the role grants s3:AbortMultipartUpload.
    let upload = generator
        .create_multipart_upload()
        .bucket(&raw)
        .key("aborted.csv")
        .send()
        .await
        .expect("generator starts a multipart upload");
    generator
        .abort_multipart_upload()
        .bucket(&raw)
        .key("aborted.csv")
        .upload_id(upload.upload_id().expect("id"))
        .send()
        .await
        .expect("generator aborts its upload");
    let err = put(&generator, &consumption, "x.csv")
        .await
        .expect_err("not consumption");
    assert_eq!(err.code(), Some("AccessDenied"));
    assert!(
        err.message().unwrap_or_default().contains("s3:PutObject"),
        "{:?}",
        err.message()
    );
    let err = generator
        .get_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect_err("no read");
    assert_eq!(err.code(), Some("AccessDenied"));
    let err = generator
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect_err("no list");
    assert_eq!(err.code(), Some("AccessDenied"));

    // The processor reads raw (a missing key is NoSuchKey: it may list raw),
    // writes consumption, does not write raw.
    let got = processor
        .get_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect("processor reads raw");
    assert_eq!(body(got).await, b"a,b\n");
    let err = processor
        .get_object()
        .bucket(&raw)
        .key("missing.csv")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(err.code(), Some("NoSuchKey"));
    processor
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect("processor lists raw");
    put(&processor, &consumption, "out.csv")
        .await
        .expect("processor writes consumption");
    let err = put(&processor, &raw, "loop.csv")
        .await
        .expect_err("not raw");
    assert_eq!(err.code(), Some("AccessDenied"));
    let err = processor
        .delete_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect_err("no delete");
    assert_eq!(err.code(), Some("AccessDenied"));

    let seen = events.take();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].role.as_deref(),
        Some(fx.spec.role_name("generator").as_str())
    );

    // Write access removed from stack.yaml: after `up`, AccessDenied...
    fx.spec
        .functions
        .get_mut("generator")
        .expect("generator")
        .writes
        .clear();
    let plan = fx.up().await;
    assert_eq!(
        changed_fields(&plan),
        vec![(
            format!("role {}", fx.spec.role_name("generator")),
            "policy".to_owned()
        )]
    );
    let err = put(&generator, &raw, "gen.csv")
        .await
        .expect_err("write access removed");
    assert_eq!(err.code(), Some("AccessDenied"));
    // ... and restored: works again, same credentials.
    fx.spec
        .functions
        .get_mut("generator")
        .expect("generator")
        .writes
        .push("raw".into());
    fx.up().await;
    put(&generator, &raw, "gen.csv")
        .await
        .expect("write access restored");

    // A wrong secret for a registered key is refused, not taken for the owner.
    let creds = endpoint.new_function_credentials(&fx.spec.role_name("generator"));
    let forged = client(&endpoint.url(), &creds.access_key_id, "wrong-secret");
    let err = put(&forged, &raw, "x.csv")
        .await
        .expect_err("bad signature");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    // Unregistered, the key is just a dummy: the owner.
    endpoint.unregister_credentials(&creds.access_key_id);
    put(&forged, &consumption, "owner.csv")
        .await
        .expect("owner");
    endpoint.shutdown().await;
}

/// The aws CLI, as a user runs it against `stackctl serve`: any dummy
/// credentials, `--endpoint-url`. Skipped (with a note) where the CLI is not
/// installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_works_against_the_endpoint_with_dummy_credentials() {
    if std::process::Command::new("aws")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("STACKCTL_REQUIRE_TOOLS").is_none(),
            "the aws CLI is required here (STACKCTL_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: the aws CLI is not installed");
        return;
    }
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let raw = fx.bucket("raw");
    let home = tempfile::tempdir().expect("tempdir");
    let aws = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new("aws");
        cmd.arg("--endpoint-url")
            .arg(endpoint.url())
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "dummy")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.path().join("credentials"),
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        let what = format!("{args:?}");
        async move {
            let out = cmd.output().await.expect("run aws");
            assert!(
                out.status.success(),
                "aws {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let small = home.path().join("cart data.csv");
    std::fs::write(&small, "a,b\n1,2\n").expect("write");
    aws(&[
        "s3",
        "cp",
        small.to_str().expect("path"),
        &format!("s3://{raw}/uploads/cart data.csv"),
    ])
    .await;
    // 9 MB: the CLI switches to a multipart upload.
    let big = home.path().join("big.csv");
    std::fs::write(&big, vec![b'x'; 9 * 1024 * 1024]).expect("write");
    aws(&[
        "s3",
        "cp",
        big.to_str().expect("path"),
        &format!("s3://{raw}/uploads/big.csv"),
    ])
    .await;

    let listing = aws(&["s3", "ls", &format!("s3://{raw}/"), "--recursive"]).await;
    assert!(listing.contains("uploads/cart data.csv"), "{listing}");
    assert!(listing.contains("uploads/big.csv"), "{listing}");
    let content = aws(&[
        "s3",
        "cp",
        &format!("s3://{raw}/uploads/cart data.csv"),
        "-",
    ])
    .await;
    assert_eq!(content, "a,b\n1,2\n");
    let versions = aws(&["s3api", "list-object-versions", "--bucket", &raw]).await;
    let versions: Value = serde_json::from_str(&versions).expect("JSON");
    assert_eq!(
        versions["Versions"].as_array().map(Vec::len),
        Some(2),
        "{versions}"
    );

    let reasons: Vec<(String, String)> = events
        .take()
        .into_iter()
        .map(|e| (e.key, e.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("uploads/cart data.csv".to_owned(), "PutObject".to_owned()),
            (
                "uploads/big.csv".to_owned(),
                "CompleteMultipartUpload".to_owned()
            ),
        ]
    );
    aws(&["s3", "rm", &format!("s3://{raw}/uploads/"), "--recursive"]).await;
    let listing = aws(&["s3", "ls", &format!("s3://{raw}/"), "--recursive"]).await;
    assert!(listing.trim().is_empty(), "{listing}");
    endpoint.shutdown().await;
}

/// Parts of one size go straight into their place in one file, and
/// completing with parts 1..=k lying end to end is a rename; whatever else a
/// client does (parts out of order, a part sent again, parts left out, a
/// refused completion retried) must still give the object the listed parts
/// make, as S3 does.
#[tokio::test]
async fn multipart_parts_in_any_order_sent_again_or_left_out_complete_as_listed() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, _events) = started(&fx).await;
    let s3 = client(&endpoint.url(), "AKIADUMMYDUMMY", "dummy-secret");
    let raw = fx.bucket("raw");
    let part = |fill: u8| vec![fill; 5 * 1024 * 1024];

    // Sends `parts` (number, bytes) in that order, then completes with
    // `listed` (numbers); the completion's result and what GET returns.
    let upload = |key: &'static str, parts: Vec<(i32, Vec<u8>)>, listed: Vec<Vec<i32>>| {
        let (s3, raw) = (s3.clone(), raw.clone());
        async move {
            let id = s3
                .create_multipart_upload()
                .bucket(&raw)
                .key(key)
                .send()
                .await
                .expect("create")
                .upload_id()
                .expect("id")
                .to_owned();
            let mut tags = BTreeMap::new();
            for (n, data) in parts {
                let out = s3
                    .upload_part()
                    .bucket(&raw)
                    .key(key)
                    .upload_id(&id)
                    .part_number(n)
                    .body(ByteStream::from(data))
                    .send()
                    .await
                    .expect("part");
                tags.insert(n, out.e_tag().expect("etag").to_owned());
            }
            let mut results = Vec::new();
            for numbers in listed {
                let parts = numbers
                    .iter()
                    .map(|n| {
                        CompletedPart::builder()
                            .part_number(*n)
                            .e_tag(&tags[n])
                            .build()
                    })
                    .collect();
                let done = s3
                    .complete_multipart_upload()
                    .bucket(&raw)
                    .key(key)
                    .upload_id(&id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await;
                results.push(done.map(|_| ()).map_err(|e| e.code().map(str::to_owned)));
            }
            let got = match s3.get_object().bucket(&raw).key(key).send().await {
                Ok(out) => Some(body(out).await),
                Err(_) => None,
            };
            (results, got)
        }
    };

    // In order: the fast path.
    let (done, got) = upload(
        "in-order.csv",
        vec![(1, part(1)), (2, part(2)), (3, b"end".to_vec())],
        vec![vec![1, 2, 3]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(1), part(2), b"end".to_vec()].concat()));

    // Out of order: part 2 before part 1.
    let (done, got) = upload(
        "out-of-order.csv",
        vec![(2, part(2)), (1, part(1)), (3, b"end".to_vec())],
        vec![vec![1, 2, 3]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(1), part(2), b"end".to_vec()].concat()));

    // The short last part first: it sets no stride the others fit.
    let (done, got) = upload(
        "short-first.csv",
        vec![(3, b"end".to_vec()), (1, part(1)), (2, part(2))],
        vec![vec![1, 2, 3]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(1), part(2), b"end".to_vec()].concat()));

    // Part 1 sent again with other bytes: the last one sent counts.
    let (done, got) = upload(
        "sent-again.csv",
        vec![(1, part(1)), (2, part(2)), (1, part(7))],
        vec![vec![1, 2]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(7), part(2)].concat()));

    // Parts left out: only the listed ones make the object.
    let (done, got) = upload(
        "left-out.csv",
        vec![(1, part(1)), (2, part(2)), (3, part(3))],
        vec![vec![1, 2]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(1), part(2)].concat()));
    let (done, got) = upload(
        "gap.csv",
        vec![(1, part(1)), (2, part(2)), (3, b"end".to_vec())],
        vec![vec![1, 3]],
    )
    .await;
    assert_eq!(done, vec![Ok(())]);
    assert!(got == Some([part(1), b"end".to_vec()].concat()));

    // A refused completion (a small part not last) leaves the upload to be
    // completed again, with the parts S3 accepts.
    let (done, got) = upload(
        "retried.csv",
        vec![(1, part(1)), (2, b"small".to_vec()), (3, b"end".to_vec())],
        vec![vec![1, 2, 3], vec![1, 3]],
    )
    .await;
    assert_eq!(done, vec![Err(Some("EntityTooSmall".to_owned())), Ok(())]);
    assert!(got == Some([part(1), b"end".to_vec()].concat()));
    endpoint.shutdown().await;
}
