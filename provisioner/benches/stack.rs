//! Release benchmark of stackctl itself: provisioning against moto's server
//! (up from empty, a no-op up, a diff: wall time, read and mutating calls)
//! and the local target end to end (invoke generator until both outputs are
//! stored, for 1K, 100K and 1M rows, with each bootstrap's cold start; the
//! 1M run beside the same work as `cartpipe` processes, process and promote
//! alone and side by side), and the local S3 endpoint's PUT and GET
//! throughput from aws-sdk-s3, beside the same bytes written to and read
//! from a file in the same directory.
//!
//! `cargo bench --bench stack` (needs `moto_server`; skips that half
//! without it). Each figure is the best of three runs; results go to
//! docs/performance.md by hand, with the machine they ran on.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const RUNS: usize = 3;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn stackctl(args: &[&str], envs: &[(&str, &str)]) -> (f64, Output) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, out)
}

fn calls(out: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("{\"api_calls\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let sum = |k: &str| {
        v["api_calls"][k]
            .as_object()
            .map_or(0, |m| m.values().filter_map(|x| x.as_u64()).sum())
    };
    (sum("read"), sum("mutating"))
}

/// The 1M-row generator's object is about this size.
const OBJECT_MB: usize = 150;

/// PUT and GET of one object through the local S3 endpoint with aws-sdk-s3,
/// as a function (registered credentials, signature verified) and as the
/// owner (unknown key, as the aws CLI with dummy credentials), beside a
/// plain file write and read of the same bytes in the same directory.
fn endpoint_throughput() {
    use localcloud::s3::{Bucket, NoEvents};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(localcloud::Store::open(dir.path().join("cloud")).unwrap());
    store
        .put(&Bucket {
            name: "bench-raw".into(),
            // Unversioned, so each PUT's overwrite frees the last one's
            // pages, as the plain-file baseline's remove does. In a
            // versioned bucket every 150 MB version stays in the page
            // cache, the cache must grow for each PUT, and growing it is
            // slow in this VM (touching 10 GB of new memory took 22-54 s
            // of system time, 2026-12-05): the later rows then measured
            // 100-170 MB/s instead of 400-560, whichever row came last.
            versioning: false,
            public_access_block: true,
            encryption: Some("AES256".into()),
            policy: None,
            tags: Default::default(),
        })
        .unwrap();
    store
        .put(&localcloud::iam::Role {
            name: "bench-fn".into(),
            trust_policy: "{}".into(),
            policy: Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::bench-raw/*"}]}"#
                    .into(),
            ),
            tags: Default::default(),
        })
        .unwrap();
    // CSV-like bytes: digits, commas and newlines.
    let data: Vec<u8> = (0..OBJECT_MB * 1_000_000)
        .map(|i| match i % 64 {
            63 => b'\n',
            n if n % 8 == 7 => b',',
            n => b'0' + ((i / 64 + n) % 10) as u8,
        })
        .collect();
    let mb = data.len() as f64 / 1e6;
    let rt = tokio::runtime::Runtime::new().unwrap();

    let file = dir.path().join("plain-file");
    let (mut write, mut read) = (f64::MAX, f64::MAX);
    for _ in 0..RUNS {
        let t = Instant::now();
        std::fs::write(&file, &data).unwrap();
        write = write.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let back = std::fs::read(&file).unwrap();
        read = read.min(t.elapsed().as_secs_f64());
        assert_eq!(back.len(), data.len());
        std::fs::remove_file(&file).unwrap();
    }

    println!();
    println!(
        "| local S3 endpoint, {mb:.0} MB object | PUT MB/s | GET MB/s | PUT vs file write | GET vs file read |"
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| plain file in the same directory | {:.0} | {:.0} | 1.00 | 1.00 |",
        mb / write,
        mb / read
    );
    // One table row: MB/s, and the time against the plain file's.
    let print_row = |who: &str, put: f64, get: f64| {
        println!(
            "| {who} | {:.0} | {:.0} | {:.2} | {:.2} |",
            mb / put,
            mb / get,
            write / put,
            read / get
        );
    };
    rt.block_on(async {
        let endpoint = localcloud::s3::start(store.clone(), Arc::new(NoEvents), 0)
            .await
            .unwrap();
        let creds = endpoint.new_function_credentials("bench-fn");
        // The functions on the local target send unsigned payloads over
        // loopback (functions/src/s3.rs); the CRC32 is verified either way.
        let (key, secret) = (
            creds.access_key_id.as_str(),
            creds.secret_access_key.as_str(),
        );
        let callers = [
            ("function, signed payload", key, secret, false),
            (
                "function, unsigned payload (as the functions send)",
                key,
                secret,
                true,
            ),
            (
                "owner (unknown key, signed payload)",
                "AKIABENCHOWNER",
                "dummy",
                false,
            ),
        ];
        for (who, key, secret, unsigned) in callers {
            let config = aws_sdk_s3::config::Builder::new()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .endpoint_url(endpoint.url())
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    key, secret, None, None, "bench",
                ))
                .build();
            let s3 = aws_sdk_s3::Client::from_conf(config);
            let (mut put, mut get) = (f64::MAX, f64::MAX);
            for _ in 0..RUNS {
                let body = aws_sdk_s3::primitives::ByteStream::from(data.clone());
                let t = Instant::now();
                let req = s3
                    .put_object()
                    .bucket("bench-raw")
                    .key("cart_abandonment_data.csv")
                    .body(body);
                if unsigned {
                    req.customize().disable_payload_signing().send().await
                } else {
                    req.send().await
                }
                .unwrap();
                put = put.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let out = s3
                    .get_object()
                    .bucket("bench-raw")
                    .key("cart_abandonment_data.csv")
                    .send()
                    .await
                    .unwrap();
                let back = out.body.collect().await.unwrap().into_bytes();
                get = get.min(t.elapsed().as_secs_f64());
                assert_eq!(back.len(), data.len());
            }
            print_row(who, put, get);
        }
        // The functions' own client: over 32 MiB a body goes up as a
        // multipart upload, 4 parts in flight (functions/src/s3.rs), so the
        // endpoint's MD5s run side by side; signed here.
        {
            use cartpipe::handlers::ObjectStore as _;
            let config = aws_sdk_s3::config::Builder::new()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .endpoint_url(endpoint.url())
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    key, secret, None, None, "bench",
                ))
                .build();
            let client = aws_sdk_s3::Client::from_conf(config);
            for unsigned in [false, true] {
                let store =
                    cartpipe::s3::S3Store::new(client.clone()).with_unsigned_payload(unsigned);
                let (mut put, mut get) = (f64::MAX, f64::MAX);
                for _ in 0..RUNS {
                    let body = data.clone();
                    let t = Instant::now();
                    store
                        .put("bench-raw", "cart_abandonment_data.csv", body)
                        .await
                        .unwrap();
                    put = put.min(t.elapsed().as_secs_f64());
                    let t = Instant::now();
                    let back = store
                        .get("bench-raw", "cart_abandonment_data.csv")
                        .await
                        .unwrap();
                    get = get.min(t.elapsed().as_secs_f64());
                    assert!(back == data);
                }
                let how = if unsigned {
                    "unsigned, as the functions send"
                } else {
                    "signed"
                };
                let who = format!(
                    "function, the functions' S3Store \
                     (multipart: 9 parts of 16 MiB, 4 in flight; {how})"
                );
                print_row(&who, put, get);
            }
        }
        endpoint.shutdown().await;
    });
}

fn main() {
    if std::env::args().any(|a| a == "endpoint") {
        // `cargo bench --bench stack -- endpoint`: the endpoint alone.
        endpoint_throughput();
        return;
    }
    endpoint_throughput();
    let stack = repo_root().join("stack.yaml");
    let stack = stack.to_str().unwrap();
    // Build the packages once, outside every measurement.
    let _ = Command::new("cargo")
        .args(["build", "--release", "--workspace", "--bins", "--examples"])
        .current_dir(repo_root())
        .status();

    match moto::Moto::start() {
        None => println!("moto_server not installed: provisioning benchmark skipped"),
        Some(moto) => {
            let env = [
                ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", "us-east-1"),
            ];
            let aws = ["-f", stack, "--target", "aws", "--json", "--stats"];
            println!("| against moto | wall (s) | read calls | mutating calls |");
            println!("|---|---:|---:|---:|");
            let mut best = [(f64::MAX, 0, 0); 3];
            for _ in 0..RUNS {
                moto.reset();
                for (i, verb) in [["up"], ["up"], ["diff"]].iter().enumerate() {
                    let args: Vec<&str> = aws.iter().copied().chain(verb.iter().copied()).collect();
                    let (secs, out) = stackctl(&args, &env);
                    let (r, m) = calls(&out);
                    if secs < best[i].0 {
                        best[i] = (secs, r, m);
                    }
                }
            }
            for (name, (secs, r, m)) in ["up from empty", "no-op up", "no-op diff"].iter().zip(best)
            {
                println!("| {name} | {secs:.2} | {r} | {m} |");
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let local_stack = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(repo_root().join("stack.yaml"))
        .unwrap()
        .replace(
            "source: functions",
            &format!("source: {}", repo_root().join("functions").display()),
        )
        .replace(
            "local: { provider: local }",
            &format!(
                "local: {{ provider: local, dir: {} }}",
                dir.path().join("cloud").display()
            ),
        )
        // 1M rows take longer than the default minute on a busy machine.
        .replace("timeout: 60", "timeout: 600")
        .replace("memory: 512", "memory: 4096");
    std::fs::write(&local_stack, text).unwrap();
    let local = local_stack.to_str().unwrap();
    stackctl(&["-f", local, "up"], &[]);
    println!();
    println!("| local end to end | rows | wall (s) | generator | processor | promotion |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut e2e_1m = f64::NAN;
    for rows in [1_000u64, 100_000, 1_000_000] {
        let payload = format!("{{\"rows\": {rows}, \"seed\": 42}}");
        let mut best: Option<(f64, String)> = None;
        for _ in 0..RUNS {
            let (secs, out) = stackctl(
                &[
                    "-f",
                    local,
                    "--json",
                    "invoke",
                    "generator",
                    "--payload",
                    &payload,
                ],
                &[],
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["failed"], 0, "{report}");
            let ms = |f: &str| {
                report["invocations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|i| i["function"].as_str().unwrap().ends_with(f))
                    .map(|i| {
                        format!(
                            "{:.1} ms (cold {:.1} ms)",
                            i["duration_ms"].as_f64().unwrap_or(0.0),
                            i["init_duration_ms"].as_f64().unwrap_or(0.0)
                        )
                    })
                    .unwrap_or_default()
            };
            let row = format!(
                "{} | {} | {}",
                ms("generator"),
                ms("processor"),
                ms("promotion")
            );
            if best.as_ref().is_none_or(|(b, _)| secs < *b) {
                best = Some((secs, row));
            }
        }
        let (secs, row) = best.unwrap();
        println!("| invoke generator | {rows} | {secs:.3} | {row} |");
        if rows == 1_000_000 {
            e2e_1m = secs;
        }
    }
    // The same work as whole cartpipe processes on files, in this run:
    // generate, then the slower of process and promote (on the local
    // target those two run side by side).
    let cartpipe = Path::new(env!("CARGO_BIN_EXE_stackctl")).with_file_name("cartpipe");
    let raw = dir.path().join("raw.csv");
    let outdir = dir.path().join("out");
    let time = |args: &[&std::ffi::OsStr]| {
        let mut best = f64::MAX;
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = Command::new(&cartpipe).args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            best = best.min(t.elapsed().as_secs_f64());
        }
        best
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let generate = time(&[
        os("generate"),
        os("1000000"),
        raw.as_os_str(),
        os("--seed"),
        os("42"),
    ]);
    let process = time(&[os("process"), raw.as_os_str(), outdir.as_os_str()]);
    let promote = time(&[os("promote"), raw.as_os_str(), outdir.as_os_str()]);
    // On the local target the processor and the promotion function share
    // the machine's cores; so do these two processes, started together.
    let mut side_by_side = f64::MAX;
    for _ in 0..RUNS {
        let t = Instant::now();
        let children: Vec<_> = ["process", "promote"]
            .into_iter()
            .map(|verb| {
                Command::new(&cartpipe)
                    .args([os(verb), raw.as_os_str(), outdir.as_os_str()])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        side_by_side = side_by_side.min(t.elapsed().as_secs_f64());
    }
    let compute = generate + process.max(promote);
    let shared = generate + side_by_side;
    println!();
    println!(
        "| 1M rows | generate (s) | process (s) | promote (s) | both side by side (s) | compute: generate + the slower (s) | generate + both side by side (s) | invoke generator (s) | end to end / compute | end to end / side-by-side compute |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| cartpipe processes, then the local target | {generate:.3} | {process:.3} | {promote:.3} | {side_by_side:.3} | {compute:.3} | {shared:.3} | {e2e_1m:.3} | {:.2} | {:.2} |",
        e2e_1m / compute,
        e2e_1m / shared
    );
}
