//! Crash and fault safety against moto's server over HTTP, with the real
//! `stackctl` binary and the real SDK. The faults are injected between the
//! SDK and moto (a middleware in front of moto's handlers, see
//! tests/support/moto.rs), so the SDK's retry strategy and stackctl's own
//! are what is tested, not a mock of them.
//!
//! Both tests deploy the repo's stack.yaml with its functions built from
//! tests/fixtures/tiny-functions: the same three binary names, each zip
//! about 190 KB. moto stores the code and never runs it, and what is
//! tested is the order of calls, not the bytes; with the real 22 MB zips,
//! moto spent about half a second of CPU on each CreateFunction (base64 in
//! JSON), which made the crash test the longest test of the suite.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, moto};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cli::text;

const REGION: &str = "us-east-1";

/// The repo's stack.yaml, with every function's `source` the tiny
/// stand-in crate, written into `dir`.
fn tiny_stack(dir: &tempfile::TempDir) -> PathBuf {
    let root = cli::repo_root();
    let fixture = root.join("tests/fixtures/tiny-functions");
    let src = std::fs::read_to_string(root.join("stack.yaml")).expect("the repo's stack.yaml");
    let stack = src.replace(
        "source: functions",
        &format!("source: {}", fixture.display()),
    );
    assert_eq!(
        stack.matches(&fixture.display().to_string()).count(),
        3,
        "every function of stack.yaml is built from `source: functions`"
    );
    let path = dir.path().join("stack.yaml");
    std::fs::write(&path, stack).expect("write the tiny stack");
    path
}

/// `stackctl --target aws -f STACK ARGS` against `moto`. The stand-ins
/// build into a target dir of their own: their binaries have the functions'
/// names, and cargo puts every workspace's binaries at the same paths of a
/// shared target dir, where a test deploying the real ones would read them.
fn command(moto: &moto::Moto, stack: &Path, args: &[&str]) -> Command {
    let mut c = cli::aws_command(&moto.endpoint, REGION, &[]);
    c.arg("-f")
        .arg(stack)
        .args(args)
        .env("CARGO_TARGET_DIR", tiny_target());
    c
}

/// `<this build's target dir>/tiny-functions`, kept between runs.
fn tiny_target() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_stackctl"));
    // <target>/<profile>/stackctl
    exe.parent()
        .and_then(Path::parent)
        .expect("stackctl sits in <target dir>/<profile>/")
        .join("tiny-functions")
}

fn run(moto: &moto::Moto, stack: &Path, args: &[&str]) -> Output {
    command(moto, stack, args).output().expect("run stackctl")
}

fn counter(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Runs `work` for each item on `servers` threads, each with its own moto
/// server (its state apart from the others'): the cases are independent
/// and mostly wait on moto and on retry backoff, so they overlap.
fn on_servers<T: Sync>(servers: usize, items: &[T], work: impl Fn(&moto::Moto, &T) + Sync) {
    std::thread::scope(|scope| {
        for shard in 0..servers {
            let work = &work;
            scope.spawn(move || {
                let moto = moto::Moto::start().expect("moto_server starts");
                for item in items.iter().skip(shard).step_by(servers) {
                    work(&moto, item);
                }
            });
        }
    });
}

#[test]
fn up_diff_and_down_succeed_with_30_percent_of_calls_failing() {
    if moto::Moto::start().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stack = tiny_stack(&dir);
    on_servers(2, &[1, 2], |moto, seed| {
        moto.reset();
        moto.faults(&format!("rate=0.3&seed={seed}&reset=1"));
        for args in [&["up"][..], &["diff"], &["up"], &["down", "--yes"]] {
            let out = run(moto, &stack, args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "seed {seed}, {args:?}: {}",
                text(&out)
            );
        }
        let state = moto.faults("rate=0");
        let (faulted, requests) = (counter(&state, "faulted"), counter(&state, "requests"));
        assert!(
            faulted * 5 >= requests,
            "about 30 % of calls failed ({faulted} of {requests})"
        );
        // Nothing of the stack is left (the faults did not confuse down).
        let diff = run(moto, &stack, &["diff", "--json"]);
        assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
        let plan: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
        assert!(
            plan["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["action"] == "create"),
            "{plan:#}"
        );
    });
}

#[test]
fn an_up_killed_after_any_mutating_call_is_finished_by_the_next_plain_up() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let stack = tiny_stack(&dir);
    // How many mutating calls a whole up makes (its lock's included).
    moto.faults("rate=0&reset=1");
    let first = run(&moto, &stack, &["up"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let total = counter(&moto.faults(""), "mutating");
    assert!(
        total > 20,
        "an up from nothing makes {total} mutating calls"
    );

    // Every call, none skipped; the cases spread over three servers. The
    // first up built the packages, so the run that is killed and the diff
    // after deploy that build (`--no-build`: the same zips, without asking
    // cargo whether they are fresh); the up that finishes the job is plain.
    let cases: Vec<u64> = (1..=total).collect();
    on_servers(3, &cases, |moto, &kill_after| {
        moto.reset();
        moto.faults(&format!("kill_after={kill_after}&reset=1"));
        let mut child = command(moto, &stack, &["up", "--no-build"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        moto.faults(&format!("pid={}", child.id()));
        let status = child.wait().unwrap();
        let state = moto.faults("kill_after=0");
        assert_eq!(
            (counter(&state, "killed"), status.code()),
            (1, None),
            "up was killed right after mutating call {kill_after} of {total}: {status:?}"
        );
        // The next plain up finishes the job: no --adopt, no unlock.
        let next = run(moto, &stack, &["up"]);
        assert_eq!(
            next.status.code(),
            Some(0),
            "after a kill at call {kill_after}: {}",
            text(&next)
        );
        let diff = run(moto, &stack, &["diff", "--no-build"]);
        assert_eq!(
            diff.status.code(),
            Some(0),
            "after a kill at call {kill_after}: {}",
            text(&diff)
        );
    });
}
