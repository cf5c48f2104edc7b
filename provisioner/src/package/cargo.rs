//! Running cargo (or cargo-zigbuild) and turning its executables into packages.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cargo_metadata::Message;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::archive::{code_sha256, hex_sha256, zip_bootstrap_cached};
use super::elf::{GlibcReq, check_glibc, inspect_elf};
use super::{Arch, BuildRequest, Builder, Built, Package, PackageError, Toolchain};

/// Lines of cargo's stderr kept for error messages.
const STDERR_TAIL: usize = 40;

/// What `cargo metadata` says about a workspace.
#[derive(Debug, Clone)]
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    bins: Vec<String>,
}

/// Requests compiled by one cargo invocation.
struct Group {
    workspace: Workspace,
    arch: Arch,
    /// Indices into the request slice.
    members: Vec<usize>,
}

/// A binary read back and checked, ready to zip.
struct Checked {
    bytes: Vec<u8>,
    glibc: GlibcReq,
    executable: PathBuf,
}

pub(super) async fn build(
    b: &Builder,
    reqs: &[BuildRequest],
) -> Result<Vec<Package>, PackageError> {
    validate(b, reqs)?;
    let groups = group(b, reqs).await?;
    let mut out: Vec<Option<Package>> = vec![None; reqs.len()];
    for g in groups {
        for (index, package) in build_group(b, reqs, &g).await? {
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(package);
            }
        }
    }
    let packages: Vec<Package> = out.into_iter().flatten().collect();
    if packages.len() != reqs.len() {
        return Err(PackageError::Task {
            binary: "(all)".to_owned(),
            detail: "some requests produced no package".to_owned(),
        });
    }
    Ok(packages)
}

pub(super) async fn existing(
    b: &Builder,
    reqs: &[BuildRequest],
) -> Result<Vec<Built>, PackageError> {
    validate(b, reqs)?;
    let groups = group(b, reqs).await?;
    let mut out: Vec<Option<Built>> = vec![None; reqs.len()];
    for g in &groups {
        let out_dir = packages_dir(b, g);
        for &index in &g.members {
            let Some(req) = reqs.get(index) else { continue };
            let zip_path = out_dir.join(zip_name(&req.binary, g.arch));
            let bytes = match std::fs::read(&zip_path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(PackageError::NotBuilt {
                        binary: req.binary.clone(),
                        arch: g.arch,
                        zip: zip_path,
                    });
                }
                Err(e) => return Err(PackageError::io("reading", zip_path, e)),
            };
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(Built {
                    function_binary: req.binary.clone(),
                    code_sha256: code_sha256(&bytes),
                    size: bytes.len() as u64,
                    zip_path,
                });
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// Where a group's zips go. By default a folder per workspace and profile
/// under the target dir: one `CARGO_TARGET_DIR` often serves several
/// workspaces, and two with the same binary names must not take each
/// other's zips (`--no-build` deploys what it finds there).
fn packages_dir(b: &Builder, g: &Group) -> PathBuf {
    match &b.out_dir {
        Some(dir) => absolute(dir),
        None => g
            .workspace
            .target_dir
            .join("stackctl-packages")
            .join(workspace_key(&g.workspace.root))
            .join(&b.profile),
    }
}

/// `<folder name>-<8 hex digits of a SHA-256 of the root's path>`: readable,
/// and apart for two workspaces of the same folder name.
fn workspace_key(root: &Path) -> String {
    let hex = hex_sha256(root.as_os_str().as_encoded_bytes());
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}-{}", &hex[..8])
}

fn zip_name(binary: &str, arch: Arch) -> String {
    format!("{binary}-{arch}.zip")
}

fn validate(b: &Builder, reqs: &[BuildRequest]) -> Result<(), PackageError> {
    let invalid = |reason: String| Err(PackageError::InvalidRequest { reason });
    if b.profile.is_empty()
        || !b
            .profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return invalid(format!(
            "profile name {:?} is not a cargo profile name",
            b.profile
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for r in reqs {
        if r.binary.is_empty()
            || r.binary.starts_with('-')
            || !r
                .binary
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return invalid(format!(
                "binary name {:?} must be a cargo target name (letters, digits, '-', '_')",
                r.binary
            ));
        }
        if r.workspace_dir.as_os_str().is_empty() {
            return invalid(format!("binary {:?} has an empty workspace_dir", r.binary));
        }
        if !seen.insert((r.binary.as_str(), r.architecture)) {
            return invalid(format!(
                "binary {:?} is requested twice for {}",
                r.binary, r.architecture
            ));
        }
    }
    Ok(())
}

async fn group(b: &Builder, reqs: &[BuildRequest]) -> Result<Vec<Group>, PackageError> {
    let mut by_dir: HashMap<&Path, Workspace> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (index, r) in reqs.iter().enumerate() {
        let ws = match by_dir.get(r.workspace_dir.as_path()) {
            Some(ws) => ws.clone(),
            None => {
                let ws = metadata(b, &r.workspace_dir).await?;
                by_dir.insert(&r.workspace_dir, ws.clone());
                ws
            }
        };
        if !ws.bins.iter().any(|bin| bin == &r.binary) {
            return Err(PackageError::UnknownBinary {
                binary: r.binary.clone(),
                workspace: ws.root.clone(),
                available: if ws.bins.is_empty() {
                    "(none)".to_owned()
                } else {
                    ws.bins.join(", ")
                },
            });
        }
        match groups
            .iter_mut()
            .find(|g| g.workspace.root == ws.root && g.arch == r.architecture)
        {
            Some(g) => g.members.push(index),
            None => groups.push(Group {
                workspace: ws,
                arch: r.architecture,
                members: vec![index],
            }),
        }
    }
    Ok(groups)
}

/// `cargo metadata --no-deps` for the package in `dir`.
async fn metadata(b: &Builder, dir: &Path) -> Result<Workspace, PackageError> {
    let manifest = dir.join("Cargo.toml");
    let fail = |detail: String| PackageError::Metadata {
        manifest: manifest.clone(),
        detail,
    };
    if !manifest.is_file() {
        return Err(fail("the file does not exist".to_owned()));
    }
    let output = Command::new(&b.cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| spawn_error(&b.cargo, source))?;
    if !output.status.success() {
        return Err(fail(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let meta: cargo_metadata::Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("unreadable output: {e}")))?;
    let root = meta.workspace_root.into_std_path_buf();
    let target_dir = match &b.target_dir {
        Some(dir) => absolute(dir),
        None => meta.target_directory.into_std_path_buf(),
    };
    let mut bins: Vec<String> = meta
        .packages
        .iter()
        .flat_map(|p| &p.targets)
        .filter(|t| t.is_bin())
        .map(|t| t.name.clone())
        .collect();
    bins.sort();
    bins.dedup();
    Ok(Workspace {
        root,
        target_dir,
        bins,
    })
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

fn spawn_error(program: &Path, source: std::io::Error) -> PackageError {
    PackageError::Spawn {
        program: program.display().to_string(),
        hint: if source.kind() == std::io::ErrorKind::NotFound {
            "install Rust with rustup (https://rustup.rs) or put cargo on PATH".to_owned()
        } else {
            "check that the program is executable".to_owned()
        },
        source,
    }
}

async fn build_group(
    b: &Builder,
    reqs: &[BuildRequest],
    g: &Group,
) -> Result<Vec<(usize, Package)>, PackageError> {
    let host = Arch::host();
    let first_binary = g
        .members
        .first()
        .and_then(|&i| reqs.get(i))
        .map(|r| r.binary.clone())
        .unwrap_or_default();
    let chosen = match b.toolchain {
        Some(Toolchain::Native) if host != Some(g.arch) => {
            return Err(PackageError::HostArchMismatch {
                binary: first_binary,
                host: std::env::consts::ARCH.to_owned(),
                requested: g.arch,
                triple: g.arch.rust_triple().to_owned(),
            });
        }
        Some(t) => t,
        None if host == Some(g.arch) => Toolchain::Native,
        None => {
            probe_zigbuild(&format!(
                "to build {} binaries on a {} host",
                g.arch,
                std::env::consts::ARCH
            ))
            .await?;
            Toolchain::Zigbuild
        }
    };
    if b.toolchain == Some(Toolchain::Zigbuild) {
        probe_zigbuild("(the zigbuild toolchain was requested)").await?;
    }
    match compile_and_check(b, reqs, g, chosen).await {
        Err(refusal @ PackageError::GlibcTooNew { .. })
            if b.toolchain.is_none() && chosen == Toolchain::Native =>
        {
            // Automatic choice: the native binary needs a glibc newer than
            // Lambda's. Rebuild pinned to Lambda's glibc when zigbuild is
            // installed; otherwise return the refusal, which names the
            // binary, the version and the fix.
            let why = format!(
                "because the native build needs a glibc newer than {}.{}",
                b.glibc_limit.0, b.glibc_limit.1
            );
            if probe_zigbuild(&why).await.is_err() {
                return Err(refusal);
            }
            if let Some(echo) = &b.echo {
                echo.line(&format!("stackctl: rebuilding with cargo-zigbuild {why}"));
            }
            let checked = compile_and_check(b, reqs, g, Toolchain::Zigbuild).await?;
            zip_all(b, reqs, g, Toolchain::Zigbuild, checked).await
        }
        Err(e) => Err(e),
        Ok(checked) => zip_all(b, reqs, g, chosen, checked).await,
    }
}

/// Check that `cargo zigbuild` can run: the cargo-zigbuild executable, and
/// Zig where cargo-zigbuild looks for it (`$ZIG`, `zig` on PATH, or the
/// `ziglang` Python package).
async fn probe_zigbuild(why: &str) -> Result<(), PackageError> {
    let unavailable = |detail: String| PackageError::ZigbuildUnavailable {
        why: why.to_owned(),
        detail,
    };
    // cargo runs `cargo-zigbuild` from PATH (or $CARGO_HOME/bin) for
    // `cargo zigbuild`; `cargo zigbuild --version` is not accepted, so ask
    // the executable itself.
    let mut candidates = vec![PathBuf::from("cargo-zigbuild")];
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(home).join("bin/cargo-zigbuild"));
    } else if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/cargo-zigbuild"));
    }
    let mut found = false;
    for candidate in &candidates {
        if runs_ok(candidate.as_os_str(), &["--version"]).await {
            found = true;
            break;
        }
    }
    if !found {
        return Err(unavailable(
            "`cargo-zigbuild --version` did not run".to_owned(),
        ));
    }
    let zig_ok = match std::env::var_os("ZIG") {
        Some(zig) => runs_ok(&zig, &["version"]).await,
        None => {
            runs_ok("zig".as_ref(), &["version"]).await
                || runs_ok("python3".as_ref(), &["-m", "ziglang", "version"]).await
        }
    };
    if zig_ok {
        Ok(())
    } else {
        Err(unavailable(
            "Zig was not found (`$ZIG`, `zig version` and `python3 -m ziglang version` all \
             failed)"
                .to_owned(),
        ))
    }
}

async fn runs_ok(program: &std::ffi::OsStr, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Compile the group's binaries, then read and check each executable.
async fn compile_and_check(
    b: &Builder,
    reqs: &[BuildRequest],
    g: &Group,
    toolchain: Toolchain,
) -> Result<Vec<Checked>, PackageError> {
    let binaries: Vec<&str> = g
        .members
        .iter()
        .filter_map(|&i| reqs.get(i))
        .map(|r| r.binary.as_str())
        .collect();
    let executables = run_cargo(b, &g.workspace, g.arch, toolchain, &binaries).await?;
    let target_label = match toolchain {
        Toolchain::Native => "host".to_owned(),
        Toolchain::Zigbuild => b.zigbuild_target(g.arch),
    };
    let mut tasks = Vec::new();
    for bin in &binaries {
        let exe = executables
            .get(*bin)
            .cloned()
            .ok_or_else(|| PackageError::ArtifactMissing {
                binary: (*bin).to_owned(),
                target: target_label.clone(),
            })?;
        let (name, arch, limit) = ((*bin).to_owned(), g.arch, b.glibc_limit);
        tasks.push((
            name.clone(),
            tokio::task::spawn_blocking(move || check_one(&name, &exe, arch, limit)),
        ));
    }
    let mut checked = Vec::new();
    let mut first_error: Option<PackageError> = None;
    for (name, task) in tasks {
        let result = task.await.map_err(|e| PackageError::Task {
            binary: name,
            detail: e.to_string(),
        });
        match result.and_then(|r| r) {
            Ok(c) => checked.push(c),
            // Prefer reporting a glibc problem: it triggers the fallback.
            Err(e @ PackageError::GlibcTooNew { .. })
                if !matches!(first_error, Some(PackageError::GlibcTooNew { .. })) =>
            {
                first_error = Some(e)
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(checked),
    }
}

fn check_one(
    binary: &str,
    exe: &Path,
    arch: Arch,
    limit: (u32, u32),
) -> Result<Checked, PackageError> {
    let bytes = std::fs::read(exe).map_err(|e| PackageError::io("reading", exe, e))?;
    let info = inspect_elf(&bytes, binary)?;
    if info.arch != Some(arch) {
        return Err(PackageError::ArchMismatch {
            binary: binary.to_owned(),
            expected: arch,
            found: info.machine,
            triple: arch.rust_triple().to_owned(),
        });
    }
    check_glibc(binary, &info.glibc, limit)?;
    Ok(Checked {
        bytes,
        glibc: info.glibc,
        executable: exe.to_owned(),
    })
}

async fn zip_all(
    b: &Builder,
    reqs: &[BuildRequest],
    g: &Group,
    toolchain: Toolchain,
    checked: Vec<Checked>,
) -> Result<Vec<(usize, Package)>, PackageError> {
    let out_dir = packages_dir(b, g);
    let mut tasks = Vec::new();
    for (&index, c) in g.members.iter().zip(checked) {
        let Some(req) = reqs.get(index) else { continue };
        let binary = req.binary.clone();
        let arch = g.arch;
        let zip_path = out_dir.join(zip_name(&binary, arch));
        tasks.push((
            index,
            binary.clone(),
            tokio::task::spawn_blocking(move || -> Result<Package, PackageError> {
                let zipped = zip_bootstrap_cached(&c.bytes, &zip_path)?;
                Ok(Package {
                    function_binary: binary,
                    code_sha256: code_sha256(&zipped),
                    size: zipped.len() as u64,
                    glibc_max: c.glibc.max(),
                    glibc: c.glibc,
                    zip_path,
                    architecture: arch,
                    toolchain,
                    executable: c.executable,
                })
            }),
        ));
    }
    let mut packages = Vec::new();
    for (index, binary, task) in tasks {
        let package = task.await.map_err(|e| PackageError::Task {
            binary,
            detail: e.to_string(),
        })??;
        packages.push((index, package));
    }
    Ok(packages)
}

/// The cargo command line for a group (without the program).
pub(super) fn cargo_args(
    b: &Builder,
    ws_root: &Path,
    arch: Arch,
    toolchain: Toolchain,
    binaries: &[&str],
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    args.push(
        match toolchain {
            Toolchain::Native => "build",
            Toolchain::Zigbuild => "zigbuild",
        }
        .into(),
    );
    if b.profile == "release" {
        args.push("--release".into());
    } else {
        args.push("--profile".into());
        args.push(b.profile.clone().into());
    }
    // Feature unification must equal `cargo test --release --workspace`'s,
    // so that the dependency artifacts of the test build are reused and the
    // shipped binaries are the tested ones:
    // - --workspace (never -p): features unify over every member;
    // - --examples: cargo unifies dev-dependency features only when the
    //   selection includes tests, benches or examples. Without it, features
    //   that dev-dependencies switch on (serde_json/preserve_order,
    //   num-traits/i128, ... here) disappear and every crate above them is
    //   recompiled. `cargo test` builds the examples too, so they are fresh.
    // --bin picks what is linked.
    args.push("--workspace".into());
    for bin in binaries {
        args.push("--bin".into());
        args.push((*bin).into());
    }
    args.push("--examples".into());
    if toolchain == Toolchain::Zigbuild {
        args.push("--target".into());
        args.push(b.zigbuild_target(arch).into());
    }
    args.push("--message-format=json-render-diagnostics".into());
    args.push("--manifest-path".into());
    args.push(ws_root.join("Cargo.toml").into_os_string());
    if let Some(dir) = &b.target_dir {
        args.push("--target-dir".into());
        args.push(absolute(dir).into_os_string());
    }
    args
}

/// Run cargo; return the executable of every bin target it reported.
async fn run_cargo(
    b: &Builder,
    ws: &Workspace,
    arch: Arch,
    toolchain: Toolchain,
    binaries: &[&str],
) -> Result<HashMap<String, PathBuf>, PackageError> {
    let args = cargo_args(b, &ws.root, arch, toolchain, binaries);
    let command_line = std::iter::once(b.cargo.display().to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(echo) = &b.echo {
        echo.line(&format!("stackctl: {command_line}"));
    }
    let mut child = Command::new(&b.cargo)
        .args(&args)
        .current_dir(&ws.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| spawn_error(&b.cargo, source))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (echo_out, echo_err) = (b.echo.clone(), b.echo.clone());

    let read_stdout = async move {
        let mut executables = HashMap::new();
        let Some(stdout) = stdout else {
            return executables;
        };
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<Message>(&line) {
                Ok(msg) => {
                    if let Some((name, exe)) = bin_executable(&msg) {
                        executables.insert(name, exe);
                    }
                }
                // A message of a newer cargo: not ours to show.
                Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(&line).is_ok() => {}
                // Not a cargo message (a wrapper's own output): show it.
                Err(_) => {
                    if let Some(echo) = &echo_out {
                        echo.line(&line);
                    }
                }
            }
        }
        executables
    };
    let read_stderr = async move {
        let mut tail: VecDeque<String> = VecDeque::new();
        let Some(stderr) = stderr else { return tail };
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(echo) = &echo_err {
                echo.line(&line);
            }
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        tail
    };
    let (executables, tail, status) = tokio::join!(read_stdout, read_stderr, child.wait());
    let status = status.map_err(|source| spawn_error(&b.cargo, source))?;
    if !status.success() {
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(":\n{}", Vec::from(tail).join("\n"))
        };
        return Err(PackageError::CargoFailed {
            command: command_line,
            status: status.to_string(),
            tail,
        });
    }
    Ok(executables)
}

/// `(target name, executable)` from a `compiler-artifact` message of a bin target.
pub(super) fn bin_executable(msg: &Message) -> Option<(String, PathBuf)> {
    match msg {
        Message::CompilerArtifact(a) if a.target.is_bin() => {
            let exe = a.executable.clone()?;
            Some((a.target.name.clone(), exe.into_std_path_buf()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bin_artifacts_only() {
        // As cargo 1.95 prints them with --message-format=json.
        let artifact = |kind: &str, name: &str, exe: &str| {
            format!(
                r#"{{"reason":"compiler-artifact","package_id":"path+file:///ws/functions#cartpipe@0.1.0","manifest_path":"/ws/functions/Cargo.toml","target":{{"kind":["{kind}"],"crate_types":["{kind}"],"name":"{name}","src_path":"/ws/functions/src/{name}.rs","edition":"2024","doc":true,"doctest":false,"test":true}},"profile":{{"opt_level":"3","debuginfo":0,"debug_assertions":false,"overflow_checks":false,"test":false}},"features":[],"filenames":["/t/release/{name}"],"executable":{exe},"fresh":false}}"#
            )
        };
        let parse = |line: &str| serde_json::from_str::<Message>(line).expect("a cargo message");
        assert_eq!(
            bin_executable(&parse(&artifact(
                "bin",
                "processor",
                r#""/t/release/processor""#
            ))),
            Some((
                "processor".to_owned(),
                PathBuf::from("/t/release/processor")
            ))
        );
        assert_eq!(
            bin_executable(&parse(&artifact("lib", "cartpipe", "null"))),
            None
        );
        assert_eq!(
            bin_executable(&parse(r#"{"reason":"build-finished","success":true}"#)),
            None
        );
    }

    #[test]
    fn one_cargo_invocation_for_all_binaries() {
        let b = Builder::new();
        let args: Vec<String> = cargo_args(
            &b,
            Path::new("/ws"),
            Arch::X86_64,
            Toolchain::Native,
            &["generator", "processor"],
        )
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        assert_eq!(
            args,
            [
                "build",
                "--release",
                "--workspace",
                "--bin",
                "generator",
                "--bin",
                "processor",
                "--examples",
                "--message-format=json-render-diagnostics",
                "--manifest-path",
                "/ws/Cargo.toml"
            ]
        );
        // A stack's build.profile other than release is passed by name.
        let lambda: Vec<String> = cargo_args(
            &Builder::new().profile("lambda"),
            Path::new("/ws"),
            Arch::X86_64,
            Toolchain::Native,
            &["generator"],
        )
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        assert!(lambda.windows(2).any(|w| w == ["--profile", "lambda"]));
        assert!(!lambda.iter().any(|a| a == "--release"));
        let z = cargo_args(
            &b,
            Path::new("/ws"),
            Arch::Arm64,
            Toolchain::Zigbuild,
            &["g"],
        );
        let z: Vec<String> = z
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(z[0], "zigbuild");
        assert!(
            z.windows(2)
                .any(|w| w[0] == "--target" && w[1] == "aarch64-unknown-linux-gnu.2.34")
        );
    }

    #[test]
    fn rejects_bad_requests() {
        let b = Builder::new();
        for bad in ["", "../x", "a b", "-p", "x/y"] {
            let r = [BuildRequest::new("functions", bad, Arch::X86_64)];
            assert!(
                matches!(validate(&b, &r), Err(PackageError::InvalidRequest { .. })),
                "{bad:?}"
            );
        }
        let dup = [
            BuildRequest::new("functions", "a", Arch::X86_64),
            BuildRequest::new("functions", "a", Arch::X86_64),
        ];
        assert!(validate(&b, &dup).is_err());
        let two_arch = [
            BuildRequest::new("functions", "a", Arch::X86_64),
            BuildRequest::new("functions", "a", Arch::Arm64),
        ];
        assert!(validate(&b, &two_arch).is_ok());
        assert!(validate(&Builder::new().profile("re lease"), &two_arch).is_err());
    }
}
