//! Release benchmark of stackctl itself: provisioning against moto's server
//! (up from empty, a no-op up, a diff: wall time, read and mutating calls)
//! and the local target end to end (invoke generator until both outputs are
//! stored, for 1K, 100K and 1M rows, with each bootstrap's cold start).
//!
//! `cargo bench --bench stack` (needs `moto_server`; skips that half
//! without it). Each figure is the best of three runs; results go to
//! docs/performance.md by hand, with the machine they ran on.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const RUNS: usize = 3;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn stackctl(args: &[&str], envs: &[(&str, &str)]) -> (f64, Output) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, out)
}

fn calls(out: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("{\"api_calls\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let sum = |k: &str| {
        v["api_calls"][k]
            .as_object()
            .map_or(0, |m| m.values().filter_map(|x| x.as_u64()).sum())
    };
    (sum("read"), sum("mutating"))
}

fn main() {
    let stack = repo_root().join("stack.yaml");
    let stack = stack.to_str().unwrap();
    // Build the packages once, outside every measurement.
    let _ = Command::new("cargo")
        .args(["build", "--release", "--workspace", "--bins", "--examples"])
        .current_dir(repo_root())
        .status();

    match moto::Moto::start() {
        None => println!("moto_server not installed: provisioning benchmark skipped"),
        Some(moto) => {
            let env = [
                ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", "us-east-1"),
            ];
            let aws = ["-f", stack, "--target", "aws", "--json", "--stats"];
            println!("| against moto | wall (s) | read calls | mutating calls |");
            println!("|---|---:|---:|---:|");
            let mut best = [(f64::MAX, 0, 0); 3];
            for _ in 0..RUNS {
                moto.reset();
                for (i, verb) in [["up"], ["up"], ["diff"]].iter().enumerate() {
                    let args: Vec<&str> = aws.iter().copied().chain(verb.iter().copied()).collect();
                    let (secs, out) = stackctl(&args, &env);
                    let (r, m) = calls(&out);
                    if secs < best[i].0 {
                        best[i] = (secs, r, m);
                    }
                }
            }
            for (name, (secs, r, m)) in ["up from empty", "no-op up", "no-op diff"].iter().zip(best)
            {
                println!("| {name} | {secs:.2} | {r} | {m} |");
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let local_stack = dir.path().join("stack.yaml");
    let text = std::fs::read_to_string(repo_root().join("stack.yaml"))
        .unwrap()
        .replace(
            "source: functions",
            &format!("source: {}", repo_root().join("functions").display()),
        )
        .replace(
            "local: { provider: local }",
            &format!(
                "local: {{ provider: local, dir: {} }}",
                dir.path().join("cloud").display()
            ),
        )
        // 1M rows take longer than the default minute on a busy machine.
        .replace("timeout: 60", "timeout: 600")
        .replace("memory: 512", "memory: 4096");
    std::fs::write(&local_stack, text).unwrap();
    let local = local_stack.to_str().unwrap();
    stackctl(&["-f", local, "up"], &[]);
    println!();
    println!("| local end to end | rows | wall (s) | generator | processor | promotion |");
    println!("|---|---:|---:|---:|---:|---:|");
    for rows in [1_000u64, 100_000, 1_000_000] {
        let payload = format!("{{\"rows\": {rows}, \"seed\": 42}}");
        let mut best: Option<(f64, String)> = None;
        for _ in 0..RUNS {
            let (secs, out) = stackctl(
                &[
                    "-f",
                    local,
                    "--json",
                    "invoke",
                    "generator",
                    "--payload",
                    &payload,
                ],
                &[],
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["failed"], 0, "{report}");
            let ms = |f: &str| {
                report["invocations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|i| i["function"].as_str().unwrap().ends_with(f))
                    .map(|i| {
                        format!(
                            "{:.1} ms (cold {:.1} ms)",
                            i["duration_ms"].as_f64().unwrap_or(0.0),
                            i["init_duration_ms"].as_f64().unwrap_or(0.0)
                        )
                    })
                    .unwrap_or_default()
            };
            let row = format!(
                "{} | {} | {}",
                ms("generator"),
                ms("processor"),
                ms("promotion")
            );
            if best.as_ref().is_none_or(|(b, _)| secs < *b) {
                best = Some((secs, row));
            }
        }
        let (secs, row) = best.unwrap();
        println!("| invoke generator | {rows} | {secs:.3} | {row} |");
    }
}
