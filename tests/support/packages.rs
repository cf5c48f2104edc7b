//! Tiny stand-in function packages for the provider tests: a shell-script
//! `bootstrap` per function, zipped by the package builder's own (tested)
//! writer, so CodeSha256 is what a real build would report for those bytes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use stackctl::desired::PackageRef;
use stackctl::spec::Stack;

/// A deployment zip with one `bootstrap` entry, and Lambda's CodeSha256.
pub fn tiny_zip(content: &str) -> (Vec<u8>, String) {
    let bytes = stackctl::package::zip_bootstrap_bytes(content.as_bytes()).expect("zip");
    let sha = stackctl::package::code_sha256(&bytes);
    (bytes, sha)
}

/// One tiny package per function of `spec`, written into `dir`.
pub fn tiny_packages(spec: &Stack, dir: &Path) -> BTreeMap<String, PackageRef> {
    spec.functions
        .keys()
        .map(|id| {
            let (bytes, sha) = tiny_zip(&format!("#!/bin/sh\necho {id}\n"));
            let path = dir.join(format!("{id}.zip"));
            std::fs::write(&path, bytes).expect("write zip");
            (
                id.clone(),
                PackageRef {
                    code_sha256: sha,
                    zip_path: path,
                },
            )
        })
        .collect()
}

/// The repo's stack.yaml, parsed, under the stack name `stack` (tests that
/// share a moto server each use their own).
pub fn repo_stack(stack: &str) -> Stack {
    let root = crate::cli::repo_root();
    let src = std::fs::read_to_string(root.join("stack.yaml"))
        .expect("the repo's stack.yaml")
        .replace("stack: cartpipe", &format!("stack: {stack}"));
    stackctl::spec::parse_str(&src, "stack.yaml", &root, &[])
        .expect("the repo's stack.yaml is valid")
}
