//! The local target end to end, as a user runs it: the `stackctl` binary on
//! a copy of the repo's stack.yaml (pointed at a temporary local cloud),
//! the real packaged function binaries under the runtime emulator, and
//! uploads through the embedded S3 endpoint with the real AWS SDK.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, local};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cli::{ok, text};
use local::{object, stack_file, stackctl};

const RAW: &str = "cartpipe-raw-000000000000-us-east-1";
const CONSUMPTION: &str = "cartpipe-consumption-000000000000-us-east-1";
/// The outputs' keys in the repo's stack.yaml: a folder each, for the
/// catalog's tables.
const AGGREGATE: &str = "aggregates/cart_aggregated_data.csv";
const PROMOTION: &str = "promotions/promotion_data.csv";

// ---- an independent computation of the contract, for all-valid input -------

fn money(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn cents(price: &str) -> i64 {
    let (i, f) = price.split_once('.').unwrap_or((price, "0"));
    i.parse::<i64>().unwrap() * 100 + format!("{f:0<2}").parse::<i64>().unwrap()
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(crate) fn expected(raw: &[u8], top_n: usize) -> (String, String) {
    #[derive(Default)]
    struct P {
        name: Option<String>,
        cat: Option<String>,
        rows: u64,
        customers: BTreeSet<String>,
        qty: i64,
        value: i64,
        first: Option<String>,
        last: Option<String>,
    }
    let min = |slot: &mut Option<String>, v: &str| {
        if slot.as_deref().is_none_or(|s| v < s) {
            *slot = Some(v.to_owned());
        }
    };
    let mut products: BTreeMap<String, P> = BTreeMap::new();
    let mut emails: BTreeMap<String, String> = BTreeMap::new();
    let mut pairs: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(raw);
    for rec in reader.records() {
        let r = rec.unwrap();
        let (at, cust, email, pid, name, cat) = (&r[1], &r[2], &r[4], &r[5], &r[6], &r[7]);
        let qty: i64 = r[8].parse().unwrap();
        let value = qty * cents(&r[9]);
        let p = products.entry(pid.to_owned()).or_default();
        min(&mut p.name, name);
        min(&mut p.cat, cat);
        p.rows += 1;
        p.customers.insert(cust.to_owned());
        p.qty += qty;
        p.value += value;
        min(&mut p.first, at);
        if p.last.as_deref().is_none_or(|l| at > l) {
            p.last = Some(at.to_owned());
        }
        let e = emails
            .entry(cust.to_owned())
            .or_insert_with(|| email.to_owned());
        if email < e.as_str() {
            *e = email.to_owned();
        }
        let pair = pairs.entry((cust.to_owned(), pid.to_owned())).or_default();
        pair.0 += qty;
        pair.1 += value;
    }
    let mut rows: Vec<_> = products.iter().collect();
    rows.sort_by(|a, b| b.1.value.cmp(&a.1.value).then(a.0.cmp(b.0)));
    let mut agg = String::from(
        "product_id,product_name,category,abandoned_carts,unique_customers,total_quantity,total_value,avg_unit_price,first_abandoned_at,last_abandoned_at\n",
    );
    for (pid, p) in rows {
        let avg = (2 * p.value + p.qty) / (2 * p.qty);
        agg += &format!(
            "{pid},{},{},{},{},{},{},{},{},{}\n",
            quote(p.name.as_deref().unwrap()),
            quote(p.cat.as_deref().unwrap()),
            p.rows,
            p.customers.len(),
            p.qty,
            money(p.value),
            money(avg),
            p.first.as_deref().unwrap(),
            p.last.as_deref().unwrap()
        );
    }
    let mut promo = String::from(
        "customer_id,customer_email,rank,product_id,product_name,abandoned_quantity,abandoned_value\n",
    );
    let mut by_customer: BTreeMap<&str, Vec<(&str, i64, i64)>> = BTreeMap::new();
    for ((c, p), (q, v)) in &pairs {
        by_customer.entry(c).or_default().push((p, *q, *v));
    }
    for (c, mut list) in by_customer {
        list.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)));
        for (rank, (p, q, v)) in list.into_iter().take(top_n).enumerate() {
            promo += &format!(
                "{c},{},{},{p},{},{q},{}\n",
                quote(&emails[c]),
                rank + 1,
                quote(products[p].name.as_deref().unwrap()),
                money(v)
            );
        }
    }
    (agg, promo)
}

// ---- serve --------------------------------------------------------------------

pub(crate) struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    endpoint: String,
    /// The line after the endpoint: an `aws s3 cp` command to try.
    hint: String,
}

impl Serve {
    pub(crate) fn start(file: &Path) -> Serve {
        Self::start_with(file, &[])
    }

    fn start_with(file: &Path, args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
            .arg("-f")
            .arg(file)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("stackctl serve");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints its endpoint");
        let endpoint = first
            .strip_prefix("S3 endpoint: ")
            .expect("endpoint line")
            .to_owned();
        let hint = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints what to try");
        Serve {
            child,
            lines,
            endpoint,
            hint,
        }
    }

    /// Waits for `n` invocation lines of `function` (a deadline against a
    /// hang, not a timing assertion).
    pub(crate) fn wait_for(&self, function: &str, n: usize) -> Vec<String> {
        let mut seen = Vec::new();
        while seen.len() < n {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("waiting for {function}; saw {seen:?}"));
            if line.starts_with(function) {
                seen.push(line);
            }
        }
        seen
    }

    pub(crate) fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "dummy", "dummy", None, None, "test",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- tests ------------------------------------------------------------------

#[test]
fn the_pipeline_runs_end_to_end_and_down_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let cloud = dir.path().join("cloud");
    ok(stackctl(&file, &["up"]));
    let quiet = stackctl(&file, &["diff"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));
    // `-v` adds, on stderr, each package and each unchanged resource.
    let verbose = stackctl(&file, &["-v", "diff"]);
    assert_eq!(verbose.status.code(), Some(0), "{}", text(&verbose));
    let (quiet_err, verbose_err) = (
        String::from_utf8_lossy(&quiet.stderr),
        String::from_utf8_lossy(&verbose.stderr),
    );
    for detail in [
        "package processor: ",
        "CodeSha256 ",
        &format!("  = bucket {RAW} (unchanged)"),
        "  = role cartpipe-promotion (unchanged)",
    ] {
        assert!(verbose_err.contains(detail), "{detail}: {}", text(&verbose));
        assert!(!quiet_err.contains(detail), "{detail}: {}", text(&quiet));
    }
    assert_eq!(verbose.stdout, quiet.stdout, "-v changes stderr only");

    let run = ok(stackctl(
        &file,
        &[
            "invoke",
            "generator",
            "--payload",
            r#"{"rows": 1000, "seed": 42}"#,
            "--json",
        ],
    ));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let functions: BTreeSet<&str> = report["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        BTreeSet::from([
            "cartpipe-generator",
            "cartpipe-processor",
            "cartpipe-promotion"
        ])
    );
    assert_eq!(report["failed"], 0);

    let raw = object(&cloud, RAW, "cart_abandonment_data.csv").expect("raw object");
    assert_eq!(
        raw,
        cartpipe::generate::generate(1000, 42),
        "the generator's bytes"
    );
    let (agg, promo) = expected(&raw, 10);
    assert_eq!(
        String::from_utf8(object(&cloud, CONSUMPTION, AGGREGATE).unwrap()).unwrap(),
        agg
    );
    assert_eq!(
        String::from_utf8(object(&cloud, CONSUMPTION, PROMOTION).unwrap()).unwrap(),
        promo
    );

    // Logs land in the log group with Lambda's framing.
    let logs = ok(stackctl(&file, &["logs", "processor"]));
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("START RequestId: ") && logs.contains("REPORT RequestId: "),
        "{logs}"
    );
    assert!(logs.contains("Max Memory Used: "), "{logs}");

    assert_eq!(
        stackctl(&file, &["diff"]).status.code(),
        Some(0),
        "invoking changes no setting"
    );
    ok(stackctl(&file, &["down", "--yes", "--delete-data"]));
    let diff = stackctl(&file, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(2));
    let plan: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert!(
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["action"] == "create"),
        "nothing of the stack left"
    );
    assert!(object(&cloud, RAW, "cart_abandonment_data.csv").is_none());
}

/// The README's quick start, on a temporary local cloud: `demo` provisions,
/// runs the cascade and points at output files that hold the outputs.
#[test]
fn demo_runs_the_pipeline_and_points_at_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let demo = ok(stackctl(&file, &["demo"]));
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        stdout.contains("3 invocations, all succeeded."),
        "{}",
        text(&demo)
    );
    assert!(
        stdout.contains("Top products by abandoned value:"),
        "{stdout}"
    );
    // Every path it prints is the object's latest version, as a file.
    let cloud = dir.path().join("cloud");
    for (bucket, key) in [
        (RAW, "cart_abandonment_data.csv"),
        (CONSUMPTION, AGGREGATE),
        (CONSUMPTION, PROMOTION),
    ] {
        let object_line = format!("s3://{bucket}/{key}");
        let path = stdout
            .lines()
            .skip_while(|l| l.trim() != object_line)
            .nth(1)
            .map(str::trim)
            .unwrap_or_else(|| panic!("no path after {object_line}: {stdout}"));
        assert_eq!(
            std::fs::read(path).unwrap(),
            object(&cloud, bucket, key).unwrap(),
            "{object_line}"
        );
    }
    // The demo's query: printed as a command to rerun, its answer the
    // aggregate's top rows, and how to ask another.
    assert!(
        stdout.contains("  stackctl query \"SELECT product_id, product_name, abandoned_carts, total_value FROM product_aggregates"),
        "{stdout}"
    );
    let aggregate = String::from_utf8(object(&cloud, CONSUMPTION, AGGREGATE).unwrap()).unwrap();
    for row in aggregate.lines().skip(1).take(5) {
        let product = row.split(',').next().unwrap();
        assert!(
            stdout.contains(&format!("\n{product}  ")),
            "{product}: {stdout}"
        );
    }
    assert!(stdout.contains("(5 rows, "), "{stdout}");
    assert!(stdout.contains("Ask your own"), "{stdout}");
    // A second demo is a no-op up and a second run.
    ok(stackctl(&file, &["demo"]));
}

#[test]
fn logs_follow_prints_old_and_new_invocations_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    let invoke = || {
        ok(stackctl(
            &file,
            &[
                "invoke",
                "generator",
                "--payload",
                r#"{"rows": 50, "seed": 1}"#,
            ],
        ))
    };
    invoke();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .arg("-f")
        .arg(&file)
        .args(["logs", "processor", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Deadlines against a hang, not timing assertions.
    let wait_reports = |n: usize, seen: &mut Vec<String>| {
        while seen
            .iter()
            .filter(|l| l.contains("REPORT RequestId: "))
            .count()
            < n
        {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("waiting for REPORT {n}; saw {seen:?}"));
            seen.push(line);
        }
    };
    let mut seen = Vec::new();
    wait_reports(1, &mut seen);
    invoke();
    wait_reports(2, &mut seen);
    // Several more polls: nothing printed twice.
    std::thread::sleep(Duration::from_millis(2500));
    seen.extend(lines.try_iter());
    let _ = child.kill();
    let _ = child.wait();
    let starts = seen
        .iter()
        .filter(|l| l.contains("START RequestId: "))
        .count();
    let reports = seen
        .iter()
        .filter(|l| l.contains("REPORT RequestId: "))
        .count();
    assert_eq!((starts, reports), (2, 2), "{seen:#?}");
}

#[test]
fn uploads_through_the_endpoint_trigger_the_pipeline_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    // `--port` picks the port; the suggested upload goes to the raw bucket.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let serve = Serve::start_with(&file, &["--port", &port.to_string()]);
    assert_eq!(serve.endpoint, format!("http://127.0.0.1:{port}"));
    assert!(
        serve.hint.ends_with(&format!("s3 cp file.csv s3://{RAW}/")),
        "{}",
        serve.hint
    );
    let s3 = serve.s3();
    let header = "event_id,abandoned_at,customer_id,customer_name,customer_email,product_id,product_name,category,quantity,unit_price,device,country\n";
    let broken = format!(
        "{header}e1,2025-01-01T00:00:00Z,C000001,Ana,a@x.io,P00001,Mug,Home,2,3.50,mobile,FR\n\
         e2,2025-01-01T00:00:00Z,C000001,Ana,a@x.io,P00001,Mug,Home,0,3.50,mobile,FR\n\
         e3,2025-13-01T00:00:00Z,C000002,Bo,b@x.io,P00002,Pan,Home,1,9.99,tablet,US\n"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Two uploads in quick succession: both are processed.
        for key in ["in/broken one.csv", "in/broken two.csv"] {
            s3.put_object()
                .bucket(RAW)
                .key(key)
                .body(broken.clone().into_bytes().into())
                .send()
                .await
                .unwrap();
        }
    });
    let lines = serve.wait_for("cartpipe-processor", 2);
    assert!(lines.iter().all(|l| l.contains("Succeeded")), "{lines:?}");
    rt.block_on(async {
        for key in ["in/broken one.csv", "in/broken two.csv"] {
            let rejects = s3
                .get_object()
                .bucket(CONSUMPTION)
                .key(format!("rejects/{key}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("rejects/{key}: {e:?}"));
            let text =
                String::from_utf8(rejects.body.collect().await.unwrap().into_bytes().to_vec())
                    .unwrap();
            assert_eq!(text.lines().count(), 3, "header + 2 rejected rows: {text}");
            assert!(text.contains(",quantity: not an integer from 1 to 99\n"));
            assert!(text.contains(",abandoned_at: not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ\n"));
            // The raw object is kept as it was.
            let raw = s3.get_object().bucket(RAW).key(key).send().await.unwrap();
            assert_eq!(
                raw.body.collect().await.unwrap().into_bytes().as_ref(),
                broken.as_bytes()
            );
        }
        let agg = s3
            .get_object()
            .bucket(CONSUMPTION)
            .key(AGGREGATE)
            .send()
            .await
            .unwrap();
        let agg =
            String::from_utf8(agg.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
        assert!(
            agg.ends_with(
                "\nP00001,Mug,Home,1,1,2,7.00,3.50,2025-01-01T00:00:00Z,2025-01-01T00:00:00Z\n"
            ),
            "{agg}"
        );
    });
}

#[test]
fn a_failing_function_is_reported_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    let serve = Serve::start(&file);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        serve
            .s3()
            .put_object()
            .bucket(RAW)
            .key("no-columns.csv")
            .body(b"event_id,quantity\ne1,1\n".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let line = serve.wait_for("cartpipe-processor", 1).remove(0);
    assert!(
        line.contains("FunctionError") && line.contains("MissingColumns"),
        "{line}"
    );
    assert!(
        line.contains("s3://cartpipe-raw-000000000000-us-east-1/no-columns.csv"),
        "{line}"
    );
    drop(serve);
    let logs = String::from_utf8(ok(stackctl(&file, &["logs", "processor"])).stdout).unwrap();
    assert!(logs.contains("END RequestId: "), "{logs}");
}

#[test]
fn a_malformed_event_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{\"Records\": [").unwrap();
    let out = stackctl(&file, &["invoke", "processor", "--event"]).status;
    assert!(!out.success());
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .arg("-f")
        .arg(&file)
        .args(["invoke", "processor", "--event"])
        .arg(&event)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("event.json: the payload is not JSON"),
        "{stderr}"
    );
}

#[test]
fn removing_write_access_in_stack_yaml_gives_access_denied_until_restored() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    // The generator may no longer write its bucket.
    let denied = stack_file(dir.path(), |t| t.replacen("writes: [raw]", "writes: []", 1));
    ok(stackctl(&denied, &["up"]));
    let out = stackctl(
        &denied,
        &["invoke", "generator", "--payload", r#"{"rows": 10}"#],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("WriteFailed") && stdout.contains("AccessDenied"),
        "{stdout}"
    );
    let restored = stack_file(dir.path(), |t| t);
    ok(stackctl(&restored, &["up"]));
    ok(stackctl(
        &restored,
        &["invoke", "generator", "--payload", r#"{"rows": 10}"#],
    ));
}
