//! Running the `stackctl` binary from tests: the repo root, and outputs
//! shown whole when an assertion fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The output of a run that must have exited 0.
pub fn ok(out: Output) -> Output {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    out
}

/// `stackctl --target aws ARGS`, run in the repo root (its stack.yaml)
/// against `endpoint` (moto) in `region`, with dummy credentials and none
/// of the caller's own AWS profile, session or retry settings.
pub fn aws_command(endpoint: &str, region: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackctl"));
    c.current_dir(repo_root())
        .args(["--target", "aws"])
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", region)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_MAX_ATTEMPTS")
        .env_remove("AWS_RETRY_MODE")
        .stdin(Stdio::null());
    c
}

/// The changed steps of a `diff --json`, as (kind, name, action, [fields]).
pub fn plan_changes(out: &Output) -> Vec<(String, String, String, Vec<String>)> {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    let mut found: Vec<_> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["action"] != "no_op")
        .map(|s| {
            let fields = s["changes"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|c| c["field"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (
                s["id"]["kind"].as_str().unwrap_or("").to_owned(),
                s["id"]["name"].as_str().unwrap_or("").to_owned(),
                s["action"].as_str().unwrap_or("").to_owned(),
                fields,
            )
        })
        .collect();
    found.sort();
    found
}
