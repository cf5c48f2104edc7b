//! The local target from tests: a copy of the repo's stack.yaml pointed at
//! a temporary local cloud, the `stackctl` binary run on it, and objects
//! read back from the cloud's files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::cli::repo_root;

/// The repo's stack.yaml with absolute sources and a local cloud in `dir`,
/// edited by `edit`, as `dir/stack.yaml`.
pub fn stack_file(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    stack_file_as(dir, "stack.yaml", edit)
}

/// [`stack_file`] as `dir/<name>`: several versions of one stack (sharing
/// its local cloud) side by side.
pub fn stack_file_as(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let original = std::fs::read_to_string(repo_root().join("stack.yaml")).unwrap();
    let functions = repo_root().join("functions");
    let text = original
        .replace(
            "source: functions",
            &format!("source: {}", functions.display()),
        )
        .replace(
            "local: { provider: local }",
            &format!(
                "local: {{ provider: local, dir: {} }}",
                dir.join("cloud").display()
            ),
        );
    assert_ne!(text, original, "the repo's stack.yaml changed shape");
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// `stackctl -f FILE ARGS`, reusing this test process's build of the same
/// packages ([`super::cli::reusing_build`]).
pub fn stackctl(file: &Path, args: &[&str]) -> Output {
    super::cli::reusing_build(file, args, |args| {
        Command::new(env!("CARGO_BIN_EXE_stackctl"))
            .arg("-f")
            .arg(file)
            .args(args)
            .output()
            .expect("run stackctl")
    })
}

/// The latest version of an object, read from the local cloud's files the
/// way `stackctl demo` shows them.
pub fn object(cloud: &Path, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let store = localcloud::Store::open(cloud).ok()?;
    store
        .get_object(bucket, key, None)
        .ok()
        .map(|(_, body)| body)
}
