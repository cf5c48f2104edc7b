//! Data is deleted only with explicit intent, on the local target, as a
//! user runs it: the `stackctl` binary, the repo's stack.yaml (edited), and
//! the real packaged generator writing the data that must survive.
//!
//! Every run here is off a terminal (stdin is not one), so a plan that
//! deletes anything needs `--yes`, and one that deletes data needs
//! `--delete-data` as well.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, local};
use std::path::Path;
use std::process::Output;

use cli::{ok, text};
use local::{object, stack_file, stack_file_as, stackctl};
use serde_json::Value;

const RAW: &str = "cartpipe-raw-000000000000-us-east-1";
const LANDING: &str = "cartpipe-landing-000000000000-us-east-1";
const SCRATCH: &str = "cartpipe-scratch-000000000000-us-east-1";
const KEY: &str = "cart_abandonment_data.csv";

/// `up`, then the generator (seeded): the raw bucket holds one object
/// version, the consumption bucket the two outputs (and a rejects file
/// only when rows are bad, which the generator never writes).
fn deployed_with_data(file: &Path) {
    ok(stackctl(file, &["up"]));
    ok(stackctl(
        file,
        &[
            "invoke",
            "generator",
            "--payload",
            r#"{"rows": 200, "seed": 3}"#,
        ],
    ));
}

fn rename_raw(t: String) -> String {
    t.replace("  raw: {}", "  landing: {}")
        .replace("${bucket.raw}", "${bucket.landing}")
        .replace("reads: [raw]", "reads: [landing]")
        .replace("writes: [raw]", "writes: [landing]")
        .replace("bucket: raw,", "bucket: landing,")
        // The catalog's `carts` table reads the raw bucket.
        .replace("      bucket: raw\n", "      bucket: landing\n")
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn bucket_exists(cloud: &Path, bucket: &str) -> bool {
    cloud
        .join("resources/bucket")
        .join(format!("{bucket}.json"))
        .exists()
}

#[test]
fn renaming_a_bucket_that_holds_data_changes_nothing_without_delete_data() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    let file = stack_file(dir.path(), |t| t);
    deployed_with_data(&file);
    let raw = object(&cloud, RAW, KEY).expect("the generator's object");
    let renamed = stack_file_as(dir.path(), "renamed.yaml", rename_raw);

    // diff says plainly what the delete would destroy, human and JSON.
    let diff = stackctl(&renamed, &["diff"]);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    let human = String::from_utf8_lossy(&diff.stdout);
    let line = format!("  - bucket {RAW} (holds 1 object version, ");
    assert!(human.contains(&line), "{}", text(&diff));
    assert!(human.contains(": needs --delete-data)"), "{}", text(&diff));
    let json: Value =
        serde_json::from_slice(&stackctl(&renamed, &["diff", "--json"]).stdout).unwrap();
    let step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"]["name"] == RAW)
        .expect("the raw bucket's step");
    assert_eq!(step["action"], "delete");
    assert_eq!(step["needs_delete_data"], true);
    assert_eq!(step["holds"]["object_versions"], 1);
    assert_eq!(step["holds"]["bytes"], raw.len() as u64);
    assert_eq!(json["summary"]["delete_data"], 1);

    // --yes is consent to delete, not to destroy data: nothing changes,
    // not even the creates the plan also holds.
    let refused = failed(&stackctl(&renamed, &["up", "--yes"]));
    assert!(
        refused.contains(&format!("bucket {RAW}: 1 object version, ")),
        "{refused}"
    );
    assert!(refused.contains("--delete-data"), "{refused}");
    assert!(refused.contains("retain: true"), "{refused}");
    assert!(refused.contains("nothing was changed"), "{refused}");
    assert_eq!(object(&cloud, RAW, KEY).as_deref(), Some(&raw[..]));
    assert!(!bucket_exists(&cloud, LANDING), "no create ran");

    // Restoring the old name is a clean diff again.
    assert_eq!(stackctl(&file, &["diff"]).status.code(), Some(0));

    // With the named intent, the old bucket goes with its data.
    ok(stackctl(&renamed, &["up", "--yes", "--delete-data"]));
    assert!(!bucket_exists(&cloud, RAW));
    assert!(object(&cloud, RAW, KEY).is_none());
    assert!(bucket_exists(&cloud, LANDING));
    assert_eq!(stackctl(&renamed, &["diff"]).status.code(), Some(0));
}

#[test]
fn removing_a_bucket_that_holds_data_needs_delete_data_and_an_empty_one_only_yes() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    let with_scratch =
        |t: String| t.replace("  consumption: {}", "  consumption: {}\n  scratch: {}");
    let file = stack_file(dir.path(), with_scratch);
    ok(stackctl(&file, &["up"]));
    let store = localcloud::Store::open(&cloud).unwrap();
    store
        .put_object(SCRATCH, "notes.txt", b"keep me", None)
        .unwrap();
    let without = stack_file_as(dir.path(), "without.yaml", |t| t);

    // Data is judged first, and --yes does not answer it.
    let refused = failed(&stackctl(&without, &["up", "--yes"]));
    assert!(
        refused.contains(&format!("bucket {SCRATCH}: 1 object version, 7 B")),
        "{refused}"
    );
    assert_eq!(
        object(&cloud, SCRATCH, "notes.txt").as_deref(),
        Some(&b"keep me"[..])
    );

    // Emptied (a delete marker would still count), it needs only --yes.
    store
        .delete_object_version(
            SCRATCH,
            "notes.txt",
            &store.list_object_versions(SCRATCH, "").unwrap()[0]
                .version
                .version_id,
        )
        .unwrap();
    let refused = failed(&stackctl(&without, &["up"]));
    assert!(
        refused
            .contains("stdin is not a terminal: review them with `stackctl diff`, then pass --yes"),
        "{refused}"
    );
    assert!(
        bucket_exists(&cloud, SCRATCH),
        "nothing deleted without --yes"
    );
    ok(stackctl(&without, &["up", "--yes"]));
    assert!(!bucket_exists(&cloud, SCRATCH));
}

#[test]
fn down_with_data_deletes_nothing_without_delete_data() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    let file = stack_file(dir.path(), |t| t);
    deployed_with_data(&file);
    let before = stackctl(&file, &["diff", "--json"]);
    assert_eq!(before.status.code(), Some(0), "{}", text(&before));

    let refused = failed(&stackctl(&file, &["down", "--yes"]));
    assert!(
        refused.contains("2 bucket(s) to delete hold data"),
        "{refused}"
    );
    assert!(
        refused.contains(&format!("bucket {RAW}: 1 object version")),
        "{refused}"
    );
    assert!(
        refused.contains("cartpipe-consumption-000000000000-us-east-1: 2 object versions"),
        "{refused}"
    );
    // Nothing at all was deleted: not the functions, not the roles.
    let after = stackctl(&file, &["diff", "--json"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    assert!(object(&cloud, RAW, KEY).is_some());

    ok(stackctl(&file, &["down", "--yes", "--delete-data"]));
    assert!(!bucket_exists(&cloud, RAW));
    assert!(object(&cloud, RAW, KEY).is_none());
}

#[test]
fn a_retained_bucket_survives_down_even_with_delete_data_and_up_takes_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    let file = stack_file(dir.path(), |t| {
        t.replace("  raw: {}", "  raw: { retain: true }")
    });
    deployed_with_data(&file);
    let raw = object(&cloud, RAW, KEY).expect("the generator's object");

    let down = ok(stackctl(&file, &["down", "--yes", "--delete-data"]));
    let stdout = String::from_utf8_lossy(&down.stdout);
    assert!(
        stdout.contains(&format!("Kept bucket {RAW} and its data")),
        "{}",
        text(&down)
    );
    assert!(bucket_exists(&cloud, RAW));
    assert_eq!(object(&cloud, RAW, KEY).as_deref(), Some(&raw[..]));
    // Everything else went, the consumption bucket's data included.
    assert!(!bucket_exists(
        &cloud,
        "cartpipe-consumption-000000000000-us-east-1"
    ));
    assert!(
        !cloud
            .join("resources/function/cartpipe-processor.json")
            .exists()
    );

    // A second down keeps it again; a later up takes it back as the stack's.
    ok(stackctl(&file, &["down", "--yes", "--delete-data"]));
    assert!(bucket_exists(&cloud, RAW));
    ok(stackctl(&file, &["up"]));
    assert_eq!(stackctl(&file, &["diff"]).status.code(), Some(0));
    assert_eq!(object(&cloud, RAW, KEY).as_deref(), Some(&raw[..]));

    // Removed from stack.yaml, it is still never deleted: its tag says so.
    let renamed = stack_file_as(dir.path(), "renamed.yaml", |t| {
        rename_raw(t.replace("  raw: { retain: true }", "  raw: {}"))
    });
    let diff = stackctl(&renamed, &["diff"]);
    assert!(
        String::from_utf8_lossy(&diff.stdout)
            .contains(&format!("  = bucket {RAW} kept with its data")),
        "{}",
        text(&diff)
    );
    ok(stackctl(&renamed, &["up", "--yes", "--delete-data"]));
    assert_eq!(object(&cloud, RAW, KEY).as_deref(), Some(&raw[..]));
}

#[test]
fn retain_on_anything_but_a_bucket_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| {
        t.replace(
            "    binary: processor\n",
            "    binary: processor\n    retain: true\n",
        )
    });
    let err = failed(&stackctl(&file, &["diff"]));
    assert!(err.contains("functions.processor.retain"), "{err}");
    assert!(err.contains("`retain` applies to buckets only"), "{err}");
    let file = stack_file(dir.path(), |t| {
        t.replace("  raw: {}", "  raw: { retain: maybe }")
    });
    let err = failed(&stackctl(&file, &["diff"]));
    assert!(err.contains("buckets.raw.retain"), "{err}");
    assert!(err.contains("true or false"), "{err}");
}
