//! Saved plans, on the local target, as a user runs them: `diff --out FILE`
//! for review, `up --plan FILE` applying exactly that plan, and refusing,
//! with nothing changed, when anything it was made from moved.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, local};
use std::path::Path;

use cli::{ok, text};
use local::{stack_file, stackctl};
use serde_json::Value;

fn memory_of(cloud: &Path, function: &str) -> u64 {
    let path = cloud.join(format!("resources/function/{function}.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["memory_mb"].as_u64().unwrap()
}

fn refused(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_fresh_saved_plan_is_applied_and_a_stale_one_refused_saying_what_moved() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    let plan = dir.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap();

    let diff = stackctl(&file, &["--var", "memory=1024", "diff", "--out", plan_arg]);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    assert_eq!(saved["format"], "stackctl-plan/1");
    assert_eq!(saved["inputs"]["variables"]["memory"], "1024");
    assert!(saved["inputs"]["packages"]["processor"].is_string());
    assert_eq!(saved["plan"]["summary"]["update"], 3, "{saved:#}");

    // Without the --var it was made with, the plan is stale.
    let err = refused(&stackctl(&file, &["up", "--plan", plan_arg]));
    assert!(err.contains("is stale"), "{err}");
    assert!(
        err.contains("the --var overrides changed (memory=1024 → none)"),
        "{err}"
    );
    // Live state moved behind it: a function edited by hand.
    let path = cloud.join("resources/function/cartpipe-generator.json");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        good.replace("\"timeout_s\": 60", "\"timeout_s\": 61"),
    )
    .unwrap();
    let err = refused(&stackctl(
        &file,
        &["--var", "memory=1024", "up", "--plan", plan_arg],
    ));
    assert!(
        err.contains("live function cartpipe-generator changed"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        memory_of(&cloud, "cartpipe-processor"),
        512,
        "nothing applied"
    );
    std::fs::write(&path, good).unwrap();

    // As it was: applied exactly, and the stack is then what it planned.
    ok(stackctl(
        &file,
        &["--var", "memory=1024", "up", "--plan", plan_arg],
    ));
    assert_eq!(memory_of(&cloud, "cartpipe-processor"), 1024);
    let after = stackctl(&file, &["--var", "memory=1024", "diff"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    // Applied once, the same file is stale: live moved (it was applied).
    let err = refused(&stackctl(
        &file,
        &["--var", "memory=1024", "up", "--plan", plan_arg],
    ));
    assert!(
        err.contains("live function cartpipe-processor changed"),
        "{err}"
    );
}

#[test]
fn malformed_foreign_and_other_stacks_plans_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let plan = dir.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap();
    for (body, expected) in [
        ("not json", "not a stackctl plan: not JSON"),
        (
            r#"{"format": "terraform-plan"}"#,
            "`format` is `terraform-plan`, expected `stackctl-plan/1`",
        ),
        (
            r#"{"format": "stackctl-plan/1"}"#,
            "a malformed stackctl plan",
        ),
        (
            r#"{"format": "stackctl-plan/1", "stack": "other", "target": "local", "created": "x", "inputs": {"spec_sha256": "", "variables": {}, "packages": {}, "live": {}}, "plan": {}}"#,
            "is a plan for stack `other` on target `local`",
        ),
    ] {
        std::fs::write(&plan, body).unwrap();
        let err = refused(&stackctl(&file, &["up", "--plan", plan_arg]));
        assert!(err.contains(&plan.display().to_string()), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert!(
        !dir.path().join("cloud/resources/bucket").exists(),
        "nothing created"
    );
}
