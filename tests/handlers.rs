//! The Lambda handlers against an in-memory store, with real AWS event JSON
//! (an S3 Put notification, an EventBridge "Object Created" event), keys
//! with spaces and non-ASCII text, and every failure the contract names.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::BTreeMap;
use std::sync::Mutex;

use cartpipe::handlers::*;
use serde_json::Value;

#[derive(Default)]
struct MemStore {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    refuse_writes: bool,
}

impl MemStore {
    fn with(bucket: &str, key: &str, body: &[u8]) -> Self {
        let s = Self::default();
        s.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), body.to_vec());
        s
    }

    fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.into(), key.into()))
            .cloned()
    }

    fn keys(&self) -> Vec<(String, String)> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
}

impl ObjectStore for MemStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        self.object(bucket, key).ok_or(StoreError::NotFound)
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Option<String>, StoreError> {
        if self.refuse_writes {
            return Err(StoreError::AccessDenied("s3:PutObject".into()));
        }
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), body);
        Ok(Some("v1".into()))
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn config() -> Config {
    Config::from_vars(
        [
            ("RAW_BUCKET".to_owned(), "raw-bucket".to_owned()),
            (
                "CONSUMPTION_BUCKET".to_owned(),
                "consumption-bucket".to_owned(),
            ),
            ("TOP_N".to_owned(), "2".to_owned()),
        ]
        .into(),
    )
    .unwrap()
}

const KEY: &str = "uploads/march été 2026.csv";
const HEADER: &str = "event_id,abandoned_at,customer_id,customer_name,customer_email,product_id,product_name,category,quantity,unit_price,device,country\n";

fn raw_with_one_reject() -> Vec<u8> {
    format!(
        "{HEADER}e1,2025-01-01T00:00:00Z,C000001,Zoë,z@x.io,P00001,\"Mug, blue\",Home,2,3.50,mobile,FR\n\
         e2,2025-01-02T00:00:00Z,C000001,Zoë,z@x.io,P00002,Lamp,Home,1,10.00,desktop,FR\n\
         e3,2025-01-03T00:00:00Z,C000002,Al,a@x.io,P00001,\"Mug, blue\",Home,1,3.50,tablet,US\n\
         e4,not-a-date,C000002,Al,a@x.io,P00001,Mug,Home,1,3.50,tablet,US\n"
    )
    .into_bytes()
}

#[test]
fn event_fixtures_round_trip_through_the_aws_event_types() {
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;
    use aws_lambda_events::event::s3::S3Event;
    let s3 = fixture("s3-put.json");
    let typed: S3Event = serde_json::from_value(s3.clone()).unwrap();
    let again: S3Event = serde_json::from_value(serde_json::to_value(&typed).unwrap()).unwrap();
    assert_eq!(typed, again);
    let eb = fixture("eventbridge-object-created.json");
    let typed: EventBridgeEvent<S3ObjectCreatedDetail> = serde_json::from_value(eb).unwrap();
    let again: EventBridgeEvent<S3ObjectCreatedDetail> =
        serde_json::from_value(serde_json::to_value(&typed).unwrap()).unwrap();
    assert_eq!(typed.detail, again.detail);
    assert_eq!(typed.detail.object.key, KEY);
}

#[test]
fn s3_event_keys_are_url_decoded_with_plus_for_space() {
    let objects = s3_event_objects(fixture("s3-put.json")).unwrap();
    assert_eq!(objects, vec![("raw-bucket".to_owned(), KEY.to_owned())]);
    assert_eq!(decode_s3_event_key("a+b%2Bc").unwrap(), "a b+c");
}

#[tokio::test]
async fn processor_writes_the_aggregate_and_the_rejects_under_the_input_key() {
    let store = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    let out = handle_process(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap();
    let p = &out.processed[0];
    assert_eq!((p.rows, p.valid, p.rejected, p.products), (4, 3, 1, 2));
    assert_eq!(
        String::from_utf8(
            store
                .object("consumption-bucket", "cart_aggregated_data.csv")
                .unwrap()
        )
        .unwrap(),
        "product_id,product_name,category,abandoned_carts,unique_customers,total_quantity,total_value,avg_unit_price,first_abandoned_at,last_abandoned_at\n\
         P00001,\"Mug, blue\",Home,2,2,3,10.50,3.50,2025-01-01T00:00:00Z,2025-01-03T00:00:00Z\n\
         P00002,Lamp,Home,1,1,1,10.00,10.00,2025-01-02T00:00:00Z,2025-01-02T00:00:00Z\n"
    );
    let rejects = store
        .object("consumption-bucket", &format!("rejects/{KEY}"))
        .unwrap();
    assert!(String::from_utf8(rejects).unwrap().ends_with(
        "e4,not-a-date,C000002,Al,a@x.io,P00001,Mug,Home,1,3.50,tablet,US,abandoned_at: not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ\n"
    ));
}

#[tokio::test]
async fn processor_handles_every_record_of_an_event() {
    let mut event = fixture("s3-put.json");
    let mut second = event["Records"][0].clone();
    second["s3"]["object"]["key"] = Value::String("second.csv".into());
    event["Records"].as_array_mut().unwrap().push(second);
    let store = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    store.objects.lock().unwrap().insert(
        ("raw-bucket".into(), "second.csv".into()),
        HEADER.as_bytes().to_vec(),
    );
    let out = handle_process(&store, &config(), event).await.unwrap();
    assert_eq!(out.processed.len(), 2);
    assert_eq!(out.processed[1].rows, 0);
    assert_eq!(
        out.processed[1].outputs,
        vec!["cart_aggregated_data.csv".to_owned()]
    );
}

#[tokio::test]
async fn promotion_reads_the_eventbridge_key_and_cuts_at_top_n() {
    let store = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    let out = handle_promote(
        &store,
        &config(),
        fixture("eventbridge-object-created.json"),
    )
    .await
    .unwrap();
    assert_eq!((out.customers, out.promotion_rows, out.rejected), (2, 3, 1));
    assert_eq!(
        String::from_utf8(
            store
                .object("consumption-bucket", "promotion_data.csv")
                .unwrap()
        )
        .unwrap(),
        "customer_id,customer_email,rank,product_id,product_name,abandoned_quantity,abandoned_value\n\
         C000001,z@x.io,1,P00002,Lamp,1,10.00\n\
         C000001,z@x.io,2,P00001,\"Mug, blue\",2,7.00\n\
         C000002,a@x.io,1,P00001,\"Mug, blue\",1,3.50\n"
    );
}

#[tokio::test]
async fn a_missing_column_fails_naming_bucket_key_and_columns_and_writes_nothing() {
    let store = MemStore::with("raw-bucket", KEY, b"event_id,customer_id\ne1,C000001\n");
    let err = handle_process(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "MissingColumns");
    let msg = err.to_string();
    assert!(
        msg.contains("s3://raw-bucket/uploads/march été 2026.csv"),
        "{msg}"
    );
    assert!(
        msg.contains("abandoned_at") && msg.contains("country"),
        "{msg}"
    );
    assert_eq!(store.keys().len(), 1, "nothing written, raw object kept");
    let diag: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diag.error_type, "MissingColumns");
}

#[tokio::test]
async fn a_missing_object_names_bucket_and_key() {
    let store = MemStore::default();
    let err = handle_promote(
        &store,
        &config(),
        fixture("eventbridge-object-created.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "ObjectNotFound");
    assert_eq!(
        err.to_string(),
        format!("s3://raw-bucket/{KEY}: object not found")
    );
}

#[tokio::test]
async fn a_failed_write_names_bucket_key_and_cause() {
    let mut store = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    store.refuse_writes = true;
    let err = handle_process(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "WriteFailed");
    // The rejects are written before the aggregate, so they fail first.
    assert_eq!(
        err.to_string(),
        "s3://consumption-bucket/rejects/uploads/march été 2026.csv: write failed: AccessDenied: s3:PutObject"
    );
}

#[tokio::test]
async fn a_refused_generator_write_names_bucket_key_and_cause_and_stores_nothing() {
    let store = MemStore {
        refuse_writes: true,
        ..MemStore::default()
    };
    // Several 65,536-row segments through the trait's default put_stream
    // (gathered, then refused); S3's, which refuses midway, is tested in
    // the provisioner's function_store.
    let err = handle_generate(&store, &config(), serde_json::json!({"rows": 300_000}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "WriteFailed");
    assert_eq!(
        err.to_string(),
        "s3://raw-bucket/cart_abandonment_data.csv: write failed: AccessDenied: s3:PutObject"
    );
    assert!(store.keys().is_empty());
}

#[tokio::test]
async fn a_bad_record_fails_the_event_before_any_record_is_written() {
    let mut event = fixture("s3-put.json");
    let mut missing = event["Records"][0].clone();
    missing["s3"]["object"]["key"] = Value::String("missing.csv".into());
    event["Records"].as_array_mut().unwrap().push(missing);
    let store = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    let err = handle_process(&store, &config(), event).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "s3://raw-bucket/missing.csv: object not found"
    );
    assert_eq!(store.keys(), [("raw-bucket".to_owned(), KEY.to_owned())]);
}

/// Hands on its one object a few bytes at a time; with `fail_after`, the
/// download breaks after that many pieces. Counts the pieces taken.
struct Trickle {
    body: Vec<u8>,
    fail_after: Option<usize>,
    sent: std::sync::atomic::AtomicUsize,
    written: Mutex<Vec<String>>,
}

impl Trickle {
    fn new(body: Vec<u8>, fail_after: Option<usize>) -> Self {
        Self {
            body,
            fail_after,
            sent: Default::default(),
            written: Default::default(),
        }
    }
}

impl ObjectStore for Trickle {
    async fn get(&self, _: &str, _: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.body.clone())
    }

    async fn get_to(&self, _: &str, _: &str, body: BodySender) -> Result<(), StoreError> {
        for (n, piece) in self.body.chunks(7).enumerate() {
            if Some(n) == self.fail_after {
                return Err(StoreError::Other("connection reset".into()));
            }
            if !body.send(piece.to_vec()).await {
                return Ok(());
            }
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        body.finish().await;
        Ok(())
    }

    async fn put(&self, _: &str, key: &str, _: Vec<u8>) -> Result<Option<String>, StoreError> {
        self.written.lock().unwrap().push(key.into());
        Ok(None)
    }
}

#[tokio::test]
async fn an_object_read_as_it_arrives_gives_what_the_whole_object_gives() {
    let whole = MemStore::with("raw-bucket", KEY, &raw_with_one_reject());
    let event = fixture("eventbridge-object-created.json");
    let expected = handle_promote(&whole, &config(), event.clone())
        .await
        .unwrap();
    let trickle = Trickle::new(raw_with_one_reject(), None);
    let got = handle_promote(&trickle, &config(), event).await.unwrap();
    assert_eq!(got, expected);
    assert!(trickle.sent.into_inner() > 40, "it did arrive in pieces");
}

#[tokio::test]
async fn a_download_that_breaks_midway_fails_the_read_and_writes_nothing() {
    let store = Trickle::new(raw_with_one_reject(), Some(30));
    let err = handle_process(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ReadFailed");
    assert_eq!(
        err.to_string(),
        format!("s3://raw-bucket/{KEY}: read failed: connection reset")
    );
    assert!(store.written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_header_without_the_columns_stops_the_download() {
    // A long body behind a bad header: the reader gives up at the header,
    // so the store stops handing it on.
    let mut body = b"event_id,quantity\n".to_vec();
    body.extend(std::iter::repeat_n(b"e1,2\n".as_slice(), 4 << 20).flatten());
    let store = Trickle::new(body, None);
    let err = handle_process(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "MissingColumns");
    let pieces = store.body.len().div_ceil(7);
    let sent = store.sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent < pieces / 2, "{sent} of {pieces} pieces were taken");
    assert!(store.written.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_bucket_is_named_as_such_not_as_a_missing_object() {
    struct NoBucket;
    impl ObjectStore for NoBucket {
        async fn get(&self, _: &str, _: &str) -> Result<Vec<u8>, StoreError> {
            Err(StoreError::NoSuchBucket)
        }
        async fn put(&self, _: &str, _: &str, _: Vec<u8>) -> Result<Option<String>, StoreError> {
            Err(StoreError::NoSuchBucket)
        }
    }
    let err = handle_promote(
        &NoBucket,
        &config(),
        fixture("eventbridge-object-created.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "ReadFailed");
    assert_eq!(
        err.to_string(),
        format!("s3://raw-bucket/{KEY}: read failed: NoSuchBucket: the bucket does not exist")
    );
}

#[tokio::test]
async fn generator_writes_to_the_raw_bucket_and_reports_what_it_wrote() {
    let store = MemStore::default();
    let out = handle_generate(
        &store,
        &config(),
        serde_json::json!({"rows": 50, "seed": 7, "key": "in/a b.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out.bucket.as_str(), out.key.as_str(), out.rows),
        ("raw-bucket", "in/a b.csv", 50)
    );
    assert_eq!(out.version_id.as_deref(), Some("v1"));
    let body = store.object("raw-bucket", "in/a b.csv").unwrap();
    assert_eq!(out.bytes, body.len() as u64);
    // Every field optional: `{}` and `null` take the defaults.
    let out = handle_generate(&store, &config(), serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(
        (out.key.as_str(), out.rows),
        ("cart_abandonment_data.csv", 1000)
    );
    let out = handle_generate(&store, &config(), Value::Null)
        .await
        .unwrap();
    assert_eq!(out.rows, 1000);
}

#[tokio::test]
async fn bad_events_and_payloads_are_invalid_event_errors() {
    let store = MemStore::default();
    for (payload, needle) in [
        (serde_json::json!({"rows": "many"}), "rows"),
        (serde_json::json!({"rows": 10_000_001u64}), "10000000"),
        (serde_json::json!({"rowz": 1}), "rowz"),
        (serde_json::json!({"key": ""}), "key"),
    ] {
        let err = handle_generate(&store, &config(), payload)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let err = handle_process(&store, &config(), serde_json::json!({"Records": []}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    let err = handle_promote(&store, &config(), fixture("s3-put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    assert!(store.keys().is_empty());
}

#[test]
fn configuration_errors_say_what_is_allowed() {
    let err = Config::from_vars([("TOP_N".to_owned(), "0".to_owned())].into()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration: TOP_N is `0`; allowed: a whole number of at least 1"
    );
}

#[tokio::test]
async fn a_promotion_list_written_in_pieces_is_stored_whole_and_in_order() {
    // 200,000 rows: about 190,000 promotion rows, written in several
    // ranges on a machine with more than one core.
    let raw = cartpipe::generate::generate(200_000, 7);
    let expected = cartpipe::contract::promote(&raw, 2).unwrap();
    assert!(
        expected.promotion_csv.iter().count() > 1
            || std::thread::available_parallelism().map_or(1, |n| n.get()) == 1,
        "the list is written in pieces"
    );
    let store = MemStore::with("raw-bucket", KEY, &raw);
    handle_promote(
        &store,
        &config(),
        fixture("eventbridge-object-created.json"),
    )
    .await
    .unwrap();
    let stored = store
        .object("consumption-bucket", &config().promotion_key)
        .unwrap();
    assert!(stored == expected.promotion_csv.concat());
}
