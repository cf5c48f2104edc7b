//! The event JSON a function receives, and which functions a write triggers.

use super::fixture::*;

fn created(bucket: &str, key: &str, reason: &str) -> ObjectCreated {
    ObjectCreated {
        bucket: bucket.into(),
        key: key.into(),
        version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
        size: 1024,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        sequencer: "0055AED6DCD90281E5".into(),
        reason: reason.into(),
        time_ms: 1_795_600_800_123,
        request_id: "C3D13FE58DE4C810".into(),
        host_id: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD".into(),
        source_ip: "127.0.0.1".into(),
        principal_id: format!("AWS:{LOCAL_ACCOUNT}"),
        requester: LOCAL_ACCOUNT.into(),
        role: None,
    }
}

#[test]
fn s3_event_json_is_what_lambda_receives() {
    let key = "uploads/march été 2026 (1)+x.csv";
    let ev = created("raw-bucket", key, "PutObject");
    let json = s3_event(&ev, "stackctl-processor");
    let record = &json["Records"][0];
    assert_eq!(record["eventVersion"], "2.1");
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["eventTime"], "2026-11-25T10:00:00.123Z");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["s3SchemaVersion"], "1.0");
    assert_eq!(record["s3"]["configurationId"], "stackctl-processor");
    assert_eq!(record["s3"]["bucket"]["arn"], "arn:aws:s3:::raw-bucket");
    assert_eq!(
        record["s3"]["object"]["key"],
        "uploads/march+%C3%A9t%C3%A9+2026+%281%29%2Bx.csv"
    );
    assert_eq!(
        record["s3"]["object"]["versionId"],
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    );
    assert!(record["responseElements"]["x-amz-request-id"].is_string());

    // The shape aws_lambda_events expects, and the key round-trips.
    let parsed: aws_lambda_events::event::s3::S3Event =
        serde_json::from_value(json.clone()).expect("S3Event");
    let r = &parsed.records[0];
    assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:Put"));
    assert_eq!(r.s3.object.size, Some(1024));
    assert_eq!(
        r.s3.object.e_tag.as_deref(),
        Some("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(r.s3.object.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
    assert_eq!(
        decode_event_key(r.s3.object.key.as_deref().expect("key")),
        key
    );
    assert_eq!(r.event_time.timestamp_millis(), 1_795_600_800_123);
    // The processor's own parser gets the bucket and the decoded key.
    assert_eq!(
        cartpipe::handlers::s3_event_objects(json).expect("the processor parses it"),
        vec![("raw-bucket".to_owned(), key.to_owned())]
    );
    // The same fields as the AWS fixture the handler tests use.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/events/s3-put.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    assert_eq!(shape(&s3_event(&ev, "x")), shape(&fixture));
}

#[test]
fn eventbridge_event_json_is_what_lambda_receives() {
    let key = "uploads/march été 2026.csv";
    let ev = created("raw-bucket", key, "PutObject");
    let json = eventbridge_event(&ev, "17793124-05d4-b198-2fde-7ededc63b103");
    assert_eq!(json["detail-type"], "Object Created");
    assert_eq!(json["source"], "aws.s3");
    assert_eq!(json["account"], LOCAL_ACCOUNT);
    assert_eq!(json["time"], "2026-11-25T10:00:00Z");
    assert_eq!(json["resources"], json!(["arn:aws:s3:::raw-bucket"]));
    assert_eq!(json["detail"]["object"]["key"], key, "not URL-encoded");
    assert_eq!(
        json["detail"]["object"]["version-id"],
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    );
    assert_eq!(json["detail"]["reason"], "PutObject");
    let parsed: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_value(json.clone()).expect("EventBridgeEvent");
    assert_eq!(parsed.detail_type, "Object Created");
    assert_eq!(
        cartpipe::handlers::eventbridge_object(json.clone())
            .expect("the promotion function parses it"),
        ("raw-bucket".to_owned(), key.to_owned())
    );
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/events/eventbridge-object-created.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    assert_eq!(shape(&json), shape(&fixture));
}

/// The JSON's structure: every object key path, with the type at leaves.
fn shape(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, path: String, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(v, format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                for v in a {
                    walk(v, format!("{path}[]"), out);
                }
            }
            Value::String(_) => {
                out.insert(format!("{path}: string"));
            }
            Value::Number(_) => {
                out.insert(format!("{path}: number"));
            }
            other => {
                out.insert(format!("{path}: {other}"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, String::new(), &mut out);
    out
}

#[tokio::test]
async fn notification_targets_follow_the_stack() {
    let fx = Fixture::new();
    fx.up().await;
    let raw = fx.bucket("raw");
    let targets = |key: &str| -> Vec<(String, DeliveryVia)> {
        notification_targets(fx.store(), &created(&raw, key, "PutObject"))
            .expect("targets")
            .into_iter()
            .map(|d: Delivery| (d.function, d.via))
            .collect()
    };
    assert_eq!(
        targets("cart/2026.csv"),
        vec![
            (
                fx.spec.function_name("processor"),
                DeliveryVia::S3Notification {
                    configuration_id: "stackctl-processor".into()
                }
            ),
            (
                fx.spec.function_name("promotion"),
                DeliveryVia::Rule {
                    name: fx.spec.rule_name("promotion", "raw")
                }
            ),
        ]
    );
    assert!(
        targets("cart/2026.txt").is_empty(),
        "the .csv suffix filters both"
    );
    // The consumption bucket notifies nobody.
    assert!(
        notification_targets(
            fx.store(),
            &created(&fx.bucket("consumption"), "x.csv", "PutObject")
        )
        .expect("targets")
        .is_empty()
    );
    // The delivered events parse with the functions' parsers.
    for d in
        notification_targets(fx.store(), &created(&raw, "a b.csv", "PutObject")).expect("targets")
    {
        match d.via {
            DeliveryVia::S3Notification { .. } => {
                cartpipe::handlers::s3_event_objects(d.event).expect("S3 event");
            }
            DeliveryVia::Rule { .. } => {
                cartpipe::handlers::eventbridge_object(d.event).expect("EventBridge event");
            }
        }
    }
    // EventBridge off: the rule hears nothing.
    fx.edit_json(Kind::Notification, &raw, |v| {
        v["eventbridge"] = json!(false)
    });
    assert_eq!(targets("cart/2026.csv").len(), 1);
}

#[test]
fn notification_filters_event_types_prefixes_and_suffixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path()).expect("open");
    let arn = |f: &str| format!("arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{f}");
    let config = |id: &str, events: &[&str], prefix: Option<&str>, suffix: Option<&str>| {
        localcloud::s3::LambdaConfiguration {
            id: id.into(),
            function_arn: arn(id),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            prefix: prefix.map(str::to_owned),
            suffix: suffix.map(str::to_owned),
        }
    };
    store
        .put(&localcloud::s3::Notification {
            bucket: "b".into(),
            lambda: vec![
                config("all-csv", &["s3:ObjectCreated:*"], None, Some(".csv")),
                config(
                    "put-incoming",
                    &["s3:ObjectCreated:Put"],
                    Some("incoming/"),
                    None,
                ),
                config("copies", &["s3:ObjectCreated:Copy"], None, None),
                config("removals", &["s3:ObjectRemoved:*"], None, None),
                config("both", &["s3:ObjectCreated:*"], Some("in/"), Some(".json")),
            ],
            eventbridge: true,
        })
        .expect("put");
    store
        .put(&localcloud::events::Rule {
            name: "json-rule".into(),
            pattern: canonical_json(
                &object_created_pattern("b", Some("in*/"), Some(".json")).to_string(),
            ),
            target_id: "t".into(),
            target_arn: Some(arn("rule-fn")),
            tags: Tags::new(),
        })
        .expect("put rule");
    store
        .put(&localcloud::events::Rule {
            name: "other-bucket".into(),
            pattern: canonical_json(&object_created_pattern("other", None, None).to_string()),
            target_id: "t".into(),
            target_arn: Some(arn("never")),
            tags: Tags::new(),
        })
        .expect("put rule");
    let to = |key: &str, reason: &str| -> Vec<String> {
        notification_targets(&store, &created("b", key, reason))
            .expect("targets")
            .into_iter()
            .map(|d| d.function)
            .collect()
    };
    assert_eq!(
        to("incoming/a.csv", "PutObject"),
        vec!["all-csv", "put-incoming"]
    );
    assert_eq!(to("incoming/a.txt", "PutObject"), vec!["put-incoming"]);
    assert_eq!(to("a.csv", "CopyObject"), vec!["all-csv", "copies"]);
    assert_eq!(
        to("a.csv.bak", "CompleteMultipartUpload"),
        Vec::<String>::new()
    );
    assert_eq!(
        to("in/x.json", "PutObject"),
        vec!["both"],
        "the wildcard's `*` is literal"
    );
    assert_eq!(
        to("in*/x.json", "PutObject"),
        vec!["rule-fn"],
        "through the rule"
    );
    assert_eq!(to("inX/x.json", "PutObject"), Vec::<String>::new());
    // A hand-broken rule pattern is an error naming the rule's file.
    store
        .put(&localcloud::events::Rule {
            name: "broken".into(),
            pattern: r#"{"source":"aws.s3"}"#.into(),
            target_id: "t".into(),
            target_arn: Some(arn("x")),
            tags: Tags::new(),
        })
        .expect("put rule");
    let err =
        notification_targets(&store, &created("b", "a.csv", "PutObject")).expect_err("broken");
    assert!(err.to_string().contains("broken.json"), "{err}");
}

// The matcher's cases are unit tests next to it (localcloud's
// events/pattern/tests.rs); here, what stackctl writes must parse there.

#[test]
fn every_pattern_up_writes_is_a_valid_eventbridge_pattern() {
    let fx = Fixture::new();
    for r in of_kind::<Rule>(&fx.desired()) {
        localcloud::events::EventPattern::parse(&r.pattern).expect("generated patterns are valid");
    }
}
