//! The store's own rules: log retention, the directory lock.

use super::fixture::*;

#[tokio::test]
async fn logs_keep_retention_and_need_their_group() {
    let fx = Fixture::new();
    fx.up().await;
    let store = fx.store();
    let group = fx.spec.log_group_name("generator");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let day = 86_400_000;
    let events = vec![
        LogEvent {
            timestamp_ms: now - 30 * day,
            message: "too old".into(),
        },
        LogEvent {
            timestamp_ms: now - 1000,
            message: "START RequestId: 1".into(),
        },
        LogEvent {
            timestamp_ms: now,
            message: "END RequestId: 1".into(),
        },
    ];
    store
        .put_log_events(&group, "2026/11/25/[$LATEST]abc", &events)
        .expect("put");
    let read = store
        .get_log_events(&group, "2026/11/25/[$LATEST]abc")
        .expect("get");
    assert_eq!(
        read,
        events[1..].to_vec(),
        "retention (14 days) drops the old event"
    );
    assert_eq!(
        store.list_log_streams(&group).expect("streams"),
        vec!["2026/11/25/[$LATEST]abc".to_owned()]
    );
    // Stored as JSON lines a human can read.
    let text = std::fs::read_to_string(store.log_stream_path(&group, "2026/11/25/[$LATEST]abc"))
        .expect("file");
    assert!(
        text.lines().all(|l| l.starts_with("{\"timestamp_ms\":")),
        "{text}"
    );
    // A shorter retention edited by hand applies on read.
    fx.edit_json(Kind::LogGroup, &group, |v| v["retention_days"] = json!(1));
    let all = store.filter_log_events(&group, None).expect("filter");
    assert_eq!(all.len(), 2);
    assert!(matches!(
        store.put_log_events("/aws/lambda/nope", "s", &events),
        Err(StoreError::NoSuchLogGroup(_))
    ));
}

#[test]
fn the_directory_lock_is_exclusive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = LocalStore::open(dir.path()).expect("open");
    let b = LocalStore::open(dir.path()).expect("open");
    let held = a.lock().expect("first lock");
    let err = b.lock().expect_err("second lock");
    assert!(
        err.to_string()
            .contains("in use by another stackctl process"),
        "{err}"
    );
    drop(held);
    b.lock().expect("free again");
}
