//! The `cartpipe` binary on local files: outputs where promised, and a file
//! that breaks the contract as a whole gives a non-zero exit, the error on
//! stderr and nothing written.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::process::Command;

fn cartpipe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cartpipe"))
}

#[test]
fn generate_process_promote_write_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.csv");
    let out = dir.path().join("out");
    let ok = cartpipe()
        .args(["generate", "300"])
        .arg(&raw)
        .args(["--seed", "5"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let ok = cartpipe()
        .arg("process")
        .arg(&raw)
        .arg(&out)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(out.join("cart_aggregated_data.csv").is_file());
    assert!(!out.join("rejects").exists(), "no rejects for valid input");
    let ok = cartpipe()
        .arg("promote")
        .arg(&raw)
        .arg(&out)
        .args(["--top", "3"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let promo = std::fs::read_to_string(out.join("promotion_data.csv")).unwrap();
    assert!(promo.lines().skip(1).all(|l| {
        let rank: u32 = l.split(',').nth(2).unwrap().parse().unwrap();
        (1..=3).contains(&rank)
    }));
}

#[test]
fn rejected_rows_go_to_rejects_named_after_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("broken rows.csv");
    std::fs::write(
        &raw,
        "event_id,abandoned_at,customer_id,customer_name,customer_email,product_id,product_name,category,quantity,unit_price,device,country\n\
         e1,2025-01-01T00:00:00Z,C000001,A,a@b,P00001,X,Y,1,1.00,mobile,FR\n\
         e2,2025-01-01T00:00:00Z,C000001,A,a@b,P00001,X,Y,0,1.00,mobile,FR\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let ok = cartpipe()
        .arg("process")
        .arg(&raw)
        .arg(&out)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let rejects = std::fs::read_to_string(out.join("rejects/broken rows.csv")).unwrap();
    assert!(
        rejects.ends_with(",quantity: not an integer from 1 to 99\n"),
        "{rejects}"
    );
}

#[test]
fn a_file_missing_columns_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.csv");
    std::fs::write(&raw, "event_id,quantity\ne1,1\n").unwrap();
    let out = dir.path().join("out");
    for cmd in ["process", "promote"] {
        let res = cartpipe().arg(cmd).arg(&raw).arg(&out).output().unwrap();
        assert!(!res.status.success());
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(
            stderr.contains("lacks required column(s): abandoned_at"),
            "{stderr}"
        );
        assert!(res.stdout.is_empty());
        assert!(!out.exists(), "nothing written by {cmd}");
    }
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let res = cartpipe()
        .args(["generate", "many", "x.csv"])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("invalid value 'many'"));
    let res = cartpipe()
        .args(["generate", "10000001", "/nonexistent/x.csv"])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("allowed: 0 to 10000000"));
}

/// A regular file is mapped, anything else read (bin/cartpipe.rs): the
/// same bytes give the same output either way, and an empty file (which
/// cannot be mapped) is a clear error, not a crash.
#[test]
fn a_piped_input_gives_the_mapped_files_output_and_an_empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.csv");
    let ok = cartpipe()
        .args(["generate", "500"])
        .arg(&raw)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let (mapped, piped) = (dir.path().join("mapped"), dir.path().join("piped"));
    let ok = cartpipe()
        .arg("promote")
        .arg(&raw)
        .arg(&mapped)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    // A real pipe: `/dev/stdin` redirected from the file would open the
    // regular file again, and be mapped.
    let mut child = cartpipe()
        .args(["promote", "/dev/stdin"])
        .arg(&piped)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&raw).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes));
    let ok = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let read = |d: &std::path::Path| std::fs::read(d.join("promotion_data.csv")).unwrap();
    assert_eq!(read(&mapped), read(&piped));
    assert!(read(&mapped).len() > 1000);

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let out = dir.path().join("from-empty");
    let res = cartpipe()
        .arg("promote")
        .arg(&empty)
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{res:?}");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("empty.csv"), "{stderr}");
    assert!(!out.exists());
}
