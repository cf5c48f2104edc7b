//! Running the `stackctl` binary from tests: the repo root, and outputs
//! shown whole when an assertion fails.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

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

/// Runs `run` with `args`, adding `--no-build` to an `up` or `diff` whose
/// packages this test process already built. The first `up` or `diff` of
/// a build (the stack file's lines that choose what is built: sources,
/// binaries, architectures, profile) builds as a user's would, while
/// others of the same build wait for it; later ones deploy that build, as
/// a pipeline that builds once does. Each no-op `cargo build` of this
/// workspace costs about 0.7 s of CPU, and the tests ran 79 of them. What
/// `up` builds is tested in `packaging` and by every first run. A saved
/// plan (`--plan`) or a variable (`--var`, which may pick an
/// architecture) always builds.
pub fn reusing_build(stack: &Path, args: &[&str], run: impl FnOnce(&[&str]) -> Output) -> Output {
    type Builds = BTreeMap<Vec<String>, Arc<Mutex<bool>>>;
    static BUILDS: Mutex<Builds> = Mutex::new(BTreeMap::new());
    let verb = args.iter().position(|a| matches!(*a, "up" | "diff"));
    let reusable = verb.is_some()
        && !args
            .iter()
            .any(|a| matches!(*a, "--no-build" | "--plan" | "--var"));
    if !reusable {
        return run(args);
    }
    // `-f FILE` among the args names the stack (relative to the repo root,
    // where aws_command runs).
    let named = args
        .iter()
        .position(|a| *a == "-f")
        .and_then(|at| args.get(at + 1))
        .map(|file| repo_root().join(file));
    let key: Vec<String> = std::fs::read_to_string(named.as_deref().unwrap_or(stack))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| {
            [
                "source:",
                "binary:",
                "architecture:",
                "profile:",
                "build_profile:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(str::to_owned)
        .collect();
    let build = BUILDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone();
    let mut built = build.lock().unwrap_or_else(|e| e.into_inner());
    if *built {
        drop(built);
        let mut args = args.to_vec();
        args.insert(verb.map_or(0, |at| at + 1), "--no-build");
        return run(&args);
    }
    let out = run(args);
    // Exit 2 is a diff with changes: the build before it succeeded.
    *built = matches!(out.status.code(), Some(0 | 2));
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
