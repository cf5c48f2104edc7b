//! The run lock: one `up`/`down` at a time per stack and target.
//!
//! The protocol is held to one contract, run over both stores: the local
//! target's file and the AWS target's S3 object (conditional writes),
//! against moto's server over HTTP. Then the CLI: a second run fails at
//! once naming the holder, waits with `--lock-timeout`, `diff` mentions a
//! held lock, `unlock` breaks a stale one after asking.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, local, moto};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cli::{ok, text};
use local::{stack_file, stackctl};
use stackctl::lock::{self, Holder, LockError, LockRecord, LockStore};
use stackctl::model::{Kind, ResourceId};
use stackctl::provider::aws::lock::AwsLock;
use stackctl::provider::local::lock::LocalLock;

fn holder(command: &str) -> Holder {
    let mut h = Holder::new("cartpipe", "test", command);
    h.ttl = Duration::from_secs(60);
    h
}

/// A record left by a run that is gone: `host`/`pid` as given, expired or
/// not.
fn stale_record(host: &str, pid: u32, expires_ms: u64) -> Vec<u8> {
    let record = LockRecord {
        format: "stackctl-lock/1".into(),
        id: "old-run".into(),
        stack: "cartpipe".into(),
        target: "test".into(),
        host: host.into(),
        pid,
        pid_start: None,
        command: "stackctl up --target test".into(),
        since_ms: 1,
        expires_ms,
        pending: [ResourceId::new(Kind::Bucket, "cartpipe-raw")].into(),
    };
    serde_json::to_vec(&record).unwrap()
}

/// Two acquires, at once where the store's conditional writes are atomic.
/// moto's are not (it checks, then writes, without a lock, so two at once
/// may both pass; AWS's are atomic): there they run one after the other.
async fn two_acquires<S: LockStore>(
    make: &impl Fn() -> S,
    atomic: bool,
) -> (
    Result<lock::LockGuard<S>, LockError>,
    Result<lock::LockGuard<S>, LockError>,
) {
    let (ha, hb) = (holder("stackctl up a"), holder("stackctl up b"));
    let a = || lock::acquire(Arc::new(make()), &ha, Duration::ZERO);
    let b = || lock::acquire(Arc::new(make()), &hb, Duration::ZERO);
    if atomic {
        tokio::join!(a(), b())
    } else {
        let first = a().await;
        (first, b().await)
    }
}

/// The lock contract, for any store.
async fn contract<S: LockStore>(make: impl Fn() -> S, atomic: bool) {
    // Two runs at once: exactly one gets it; the other is told who has it.
    let (a, b) = two_acquires(&make, atomic).await;
    let (winner, loser) = match (a, b) {
        (Ok(g), Err(e)) | (Err(e), Ok(g)) => (g, e),
        (a, b) => panic!("exactly one run must hold the lock: {a:?} / {b:?}"),
    };
    let LockError::Held { holder: who, .. } = &loser else {
        panic!("{loser}");
    };
    assert!(
        who.contains(&format!("pid {}", std::process::id())),
        "{who}"
    );
    assert!(who.contains("`stackctl up "), "{who}");
    assert!(loser.to_string().contains("stackctl unlock"), "{loser}");

    // Waiting: the second run gets it once the first lets go.
    let waiter = tokio::spawn({
        let store = Arc::new(make());
        async move {
            lock::acquire(
                store,
                &holder("stackctl up waiter"),
                Duration::from_secs(20),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiter.is_finished(),
        "the waiter waits while the lock is held"
    );
    winner.release().await.unwrap();
    let waited = waiter.await.unwrap().unwrap();
    waited.release().await.unwrap();
    assert!(
        lock::read_any(&make()).await.unwrap().is_none(),
        "released means gone"
    );

    // An expired lock (another host: its pid can't be checked) is taken
    // over, its journal inherited; of two runs taking it over, one wins.
    let store = make();
    assert!(
        store
            .create(&stale_record("elsewhere", 1, 1_000))
            .await
            .unwrap()
            .is_some()
    );
    let (a, b) = two_acquires(&make, atomic).await;
    let winner = match (a, b) {
        (Ok(g), Err(LockError::Held { .. })) | (Err(LockError::Held { .. }), Ok(g)) => g,
        (a, b) => panic!("one takeover must win: {a:?} / {b:?}"),
    };
    let old = winner.acquired.took_over.clone().expect("took over");
    assert_eq!(old.id, "old-run");
    assert_eq!(
        winner.pending().await,
        BTreeSet::from([ResourceId::new(Kind::Bucket, "cartpipe-raw")])
    );

    // Release never deletes a newer holder's lock: broken (as `unlock`
    // does) and taken by another run, the old holder's release fails and
    // leaves the new record alone.
    let record = lock::read_any(&make()).await.unwrap().unwrap();
    assert!(lock::break_lock(&make(), &record).await.unwrap());
    let newer = lock::acquire(
        Arc::new(make()),
        &holder("stackctl up newer"),
        Duration::ZERO,
    )
    .await
    .unwrap();
    let err = winner.release().await.unwrap_err();
    assert!(
        err.to_string().contains("took this run's lock over"),
        "{err}"
    );
    let now = lock::read_any(&make()).await.unwrap().unwrap();
    assert_eq!(now.command, "stackctl up newer");
    // The newer run finished the journal: releasing with it empty deletes.
    newer.set_pending(BTreeSet::new()).await.unwrap();
    newer.release().await.unwrap();
    assert!(lock::read_any(&make()).await.unwrap().is_none());

    // A record that is not a lock is refused by name, never overwritten.
    let store = make();
    assert!(store.create(b"not json").await.unwrap().is_some());
    let err = lock::acquire(Arc::new(make()), &holder("x"), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, LockError::Foreign { .. }), "{err}");
    let (_, etag) = store.read().await.unwrap().unwrap();
    assert!(store.delete(&etag).await.unwrap());
}

#[tokio::test]
async fn local_lock_file_holds_the_lock_contract() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    contract(|| LocalLock::new(&root, "cartpipe"), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_conditional_writes_hold_the_lock_contract_against_moto() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let config = moto.sdk_config("us-east-1");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let make = || AwsLock::new(s3.clone(), moto::ACCOUNT, "us-east-1", "cartpipe");
    contract(make, false).await;

    // The lock bucket was made on first use, with the data buckets'
    // security and no owner tag (no stack's `down` ever deletes it).
    let bucket = "stackctl-locks-123456789012-us-east-1";
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("stackctl:purpose", "locks")]);
    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    s3.get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
}

// ---- the CLI ---------------------------------------------------------------

fn cloud_lock(dir: &Path) -> LocalLock {
    LocalLock::new(&dir.join("cloud"), "cartpipe")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_up_fails_at_once_naming_the_holder_and_waits_with_lock_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let held = lock::acquire(
        Arc::new(cloud_lock(dir.path())),
        &holder("stackctl up --target local"),
        Duration::ZERO,
    )
    .await
    .unwrap();

    let f = file.clone();
    let refused = tokio::task::spawn_blocking(move || stackctl(&f, &["up"]))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for part in [
        "stack `cartpipe` is locked by host ",
        &format!("pid {}", std::process::id()),
        "`stackctl up --target local`",
        "since 20",
        "--lock-timeout",
        "stackctl unlock",
    ] {
        assert!(stderr.contains(part), "{part}: {}", text(&refused));
    }
    for args in [&["down", "--yes"][..], &["up", "--lock-timeout", "0"]] {
        let f = file.clone();
        let out = tokio::task::spawn_blocking(move || stackctl(&f, args))
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    }
    // diff takes no lock, but says one is held.
    let f = file.clone();
    let diff = tokio::task::spawn_blocking(move || stackctl(&f, &["diff"]))
        .await
        .unwrap();
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    assert!(
        String::from_utf8_lossy(&diff.stderr).contains("stack `cartpipe` is locked by host"),
        "{}",
        text(&diff)
    );

    // With a timeout, up waits for the holder to let go, then runs.
    let f = file.clone();
    let waiting =
        tokio::task::spawn_blocking(move || stackctl(&f, &["up", "--lock-timeout", "2m"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    held.release().await.unwrap();
    ok(waiting.await.unwrap());
    assert!(
        lock::read_any(&cloud_lock(dir.path()))
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn unlock_breaks_a_stale_lock_after_asking() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = cloud_lock(dir.path());
    // A run on another machine that never came back, its lock unexpired.
    let far = lock::now_ms() + 3_600_000;
    rt.block_on(store.create(&stale_record("build-42", 7, far)))
        .unwrap();
    let refused = stackctl(&file, &["up"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("host build-42, pid 7"));

    let asked = stackctl(&file, &["unlock"]);
    assert_eq!(asked.status.code(), Some(1), "{}", text(&asked));
    assert!(String::from_utf8_lossy(&asked.stderr).contains("pass --yes"));
    assert!(
        rt.block_on(lock::read_any(&store)).unwrap().is_some(),
        "not broken"
    );
    let broke = ok(stackctl(&file, &["unlock", "--yes"]));
    assert!(String::from_utf8_lossy(&broke.stdout).contains("Broke the lock of host build-42"));
    // Its journal is kept for the next up, which now runs.
    ok(stackctl(&file, &["up"]));
    assert!(rt.block_on(lock::read_any(&store)).unwrap().is_none());
    let none = ok(stackctl(&file, &["unlock", "--yes"]));
    assert!(String::from_utf8_lossy(&none.stdout).contains("No lock is held"));
}

#[test]
fn a_lock_left_by_a_dead_process_on_this_host_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let far = lock::now_ms() + 3_600_000;
    rt.block_on(cloud_lock(dir.path()).create(&stale_record(&lock::this_host(), pid, far)))
        .unwrap();
    let up = ok(stackctl(&file, &["up"]));
    assert!(
        String::from_utf8_lossy(&up.stderr).contains("took over the stale lock of host"),
        "{}",
        text(&up)
    );
}

#[test]
fn bad_lock_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let out = stackctl(&file, &["up", "--lock-timeout", "soon"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--lock-timeout"), "{stderr}");
    assert!(stderr.contains("`soon` is not a duration"), "{stderr}");

    let path = dir.path().join("cloud/locks/cartpipe.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"format\": \"terraform\"}").unwrap();
    let out = stackctl(&file, &["up"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("does not hold a stackctl lock record"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"format\": \"terraform\"}"
    );
}
