//! Lambda packages: deterministic zips, CodeSha256, the glibc check and the
//! real build of the three function binaries.
//!
//! `cargo test --release --workspace --test provisioner packaging:: -- --nocapture` prints
//! each package's zip size.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use stackctl::package::{
    Arch, BuildRequest, Builder, GlibcReq, LAMBDA_AL2023_GLIBC, PackageError, Toolchain,
    check_glibc, code_sha256, glibc_requirement, zip_bootstrap, zip_bootstrap_bytes,
};

const FUNCTIONS: [&str; 3] = ["generator", "processor", "promotion"];

fn functions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions")
}

// ---------------------------------------------------------------- helpers

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Check the zip's bytes by hand (not through the zip crate): one local
/// header for `bootstrap` at offset 0 with DOS time 00:00:00 and date
/// 1980-01-01, no extra field; one central directory entry made by Unix
/// with mode 0100755 and no extra field.
fn assert_zip_layout(zip: &[u8]) {
    assert_eq!(u32le(zip, 0), 0x0403_4b50, "local file header signature");
    assert_eq!(u16le(zip, 6) & 0x0008, 0, "no data descriptor");
    assert_eq!(u16le(zip, 8), 8, "deflate");
    assert_eq!(u16le(zip, 10), 0, "DOS time 00:00:00");
    assert_eq!(u16le(zip, 12), (1 << 5) | 1, "DOS date 1980-01-01");
    let name_len = usize::from(u16le(zip, 26));
    assert_eq!(&zip[30..30 + name_len], b"bootstrap");
    assert_eq!(u16le(zip, 28), 0, "no extra field in the local header");

    // End of central directory: the last 22 bytes (there is no comment).
    let eocd = zip.len() - 22;
    assert_eq!(u32le(zip, eocd), 0x0605_4b50, "EOCD signature");
    assert_eq!(u16le(zip, eocd + 10), 1, "exactly one entry");
    assert_eq!(u16le(zip, eocd + 20), 0, "no archive comment");
    let cd = u32le(zip, eocd + 16) as usize;
    assert_eq!(u32le(zip, cd), 0x0201_4b50, "central directory signature");
    assert_eq!(zip[cd + 5], 3, "made by Unix");
    assert_eq!(u16le(zip, cd + 12), 0, "central DOS time");
    assert_eq!(u16le(zip, cd + 14), (1 << 5) | 1, "central DOS date");
    assert_eq!(
        u16le(zip, cd + 30),
        0,
        "no extra field in the central directory"
    );
    assert_eq!(u16le(zip, cd + 32), 0, "no file comment");
    assert_eq!(
        u32le(zip, cd + 38) >> 16,
        0o100755,
        "regular file, rwxr-xr-x"
    );
    assert_eq!(u32le(zip, cd + 42), 0, "local header at offset 0");
}

/// The single entry's name, unix mode and content, read through the zip crate.
fn read_single_entry(zip: &[u8]) -> (String, u32, Vec<u8>) {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), 1, "exactly one entry");
    let mut entry = archive.by_index(0).unwrap();
    let name = entry.name().unwrap().into_owned();
    let mode = entry.unix_mode().unwrap();
    assert!(
        entry.extra_data().is_none_or(|e| e.is_empty()),
        "no extra fields"
    );
    let mut content = Vec::new();
    entry.read_to_end(&mut content).unwrap();
    (name, mode, content)
}

/// Newest GLIBC_x.y named by `readelf -V`, for an independent cross-check;
/// None when readelf is not installed.
fn readelf_glibc_max(path: &Path) -> Option<Option<(u32, u32)>> {
    let out = Command::new("readelf").arg("-V").arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut max = None;
    for word in text.split(|c: char| c.is_whitespace()) {
        let Some(v) = word.strip_prefix("GLIBC_") else {
            continue;
        };
        let mut parts = v.split('.');
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            continue;
        };
        max = max.max(Some((a, b)));
    }
    Some(max)
}

/// Check by hand that `bytes` is a 64-bit little-endian x86_64 ELF executable.
fn assert_elf_x86_64(bytes: &[u8], what: &str) {
    assert!(bytes.len() > 64, "{what}: too short for ELF");
    assert_eq!(&bytes[..4], b"\x7fELF", "{what}: ELF magic");
    assert_eq!(bytes[4], 2, "{what}: ELFCLASS64");
    assert_eq!(bytes[5], 1, "{what}: little endian");
    assert_eq!(u16le(bytes, 18), 62, "{what}: e_machine EM_X86_64");
    let e_type = u16le(bytes, 16);
    assert!(
        e_type == 2 || e_type == 3,
        "{what}: ET_EXEC or ET_DYN (PIE), got {e_type}"
    );
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned())
}

/// Compile a one-file Rust program; returns the executable, or the
/// compiler's stderr.
fn compile(dir: &Path, name: &str, source: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let src = dir.join(format!("{name}.rs"));
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(name);
    let out = Command::new(rustc())
        .args(["--edition", "2021", "-O", "-o"])
        .arg(&exe)
        .args(extra)
        .arg(&src)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(exe)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

// ---------------------------------------------------------- zips and hashes

#[test]
fn zip_is_byte_identical_whatever_the_mtime_and_mode() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("some-binary-name");
    // Compressible and incompressible parts, like a real executable.
    let mut content = b"\x7fELF not really an executable\n".repeat(2000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        content.push((x >> 16) as u8);
    }
    std::fs::write(&binary, &content).unwrap();

    let set_mtime = |t: SystemTime| {
        let f = std::fs::File::options().write(true).open(&binary).unwrap();
        f.set_modified(t).unwrap();
    };
    let first = dir.path().join("first.zip");
    let second = dir.path().join("out/second.zip");
    set_mtime(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    zip_bootstrap(&binary, &first).unwrap();
    set_mtime(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    zip_bootstrap(&binary, &second).unwrap();

    let a = std::fs::read(&first).unwrap();
    let b = std::fs::read(&second).unwrap();
    assert!(a == b, "two zips of the same bytes differ");
    assert_eq!(
        a,
        zip_bootstrap_bytes(&content).unwrap(),
        "file and in-memory zips agree"
    );
    assert_zip_layout(&a);
    let (name, mode, unzipped) = read_single_entry(&a);
    assert_eq!(name, "bootstrap");
    assert_eq!(mode, 0o100755);
    assert!(unzipped == content, "content survives the round trip");
    // No temporary files left behind by the atomic write.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["second.zip"]);
}

#[test]
fn zip_of_a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-binary");
    let err = zip_bootstrap(&missing, &dir.path().join("x.zip")).unwrap_err();
    assert!(matches!(err, PackageError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-binary"), "{err}");
}

#[test]
fn code_sha256_matches_openssl() {
    // printf 'stackctl bootstrap\n' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        code_sha256(b"stackctl bootstrap\n"),
        "n6gp05U7WMhp6stxHS5aAK+5NCkGXvryeRc5p1aJ0Ws="
    );
    // printf '' | openssl dgst -sha256 -binary | base64
    assert_eq!(
        code_sha256(b""),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

// ------------------------------------------------------------------- glibc

#[test]
fn glibc_requirement_of_host_true() {
    let path = Path::new("/bin/true");
    let bytes = std::fs::read(path).unwrap();
    let req = glibc_requirement(&bytes).unwrap();
    let GlibcReq::Dynamic { max: Some(max), .. } = &req else {
        panic!("/bin/true should need some GLIBC version, got {req:?}");
    };
    assert!(*max >= (2, 2), "{max:?}");
    if let Some(expected) = readelf_glibc_max(path) {
        assert_eq!(Some(*max), expected, "readelf -V disagrees");
    }
    // Also from an unaligned copy (object's ELF types are aligned).
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&bytes);
    assert_eq!(glibc_requirement(&shifted[1..]).unwrap(), req);
}

/// /bin/true with every GLIBC_2.* version renamed GLIBC_9.* (same length,
/// so every offset stays valid): it must be refused, with a message that
/// names the binary, the version and the fix.
#[test]
fn too_new_glibc_is_refused_with_the_fix() {
    let mut bytes = std::fs::read("/bin/true").unwrap();
    let needle = b"GLIBC_2.";
    let mut patched = 0;
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i + 6] = b'9';
            patched += 1;
        }
        i += 1;
    }
    assert!(patched > 0);
    let req = glibc_requirement(&bytes).unwrap();
    let Some((9, minor)) = req.max() else {
        panic!("expected GLIBC_9.x, got {req:?}");
    };
    assert!(!req.satisfied_by(LAMBDA_AL2023_GLIBC));
    let err = check_glibc("processor", &req, LAMBDA_AL2023_GLIBC).unwrap_err();
    let msg = err.to_string();
    for part in [
        "processor",
        &format!("GLIBC_9.{minor}"),
        "2.34",
        "cargo-zigbuild",
        "ziglang",
        "zigbuild",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    // The unpatched binary passes.
    let ok = glibc_requirement(&std::fs::read("/bin/true").unwrap()).unwrap();
    if ok.satisfied_by(LAMBDA_AL2023_GLIBC) {
        check_glibc("true", &ok, LAMBDA_AL2023_GLIBC).unwrap();
    }
}

#[test]
fn static_binary_is_static() {
    let dir = tempfile::tempdir().unwrap();
    let exe = compile(
        dir.path(),
        "hello_static",
        "fn main() { println!(\"hi\"); }",
        &["-C", "target-feature=+crt-static"],
    )
    .unwrap();
    let req = glibc_requirement(&std::fs::read(&exe).unwrap()).unwrap();
    assert_eq!(req, GlibcReq::Static);
    assert!(req.satisfied_by((2, 17)));
    check_glibc("hello_static", &req, LAMBDA_AL2023_GLIBC).unwrap();
}

/// A real binary that needs a glibc 2.36 symbol (arc4random), when the host
/// glibc has it: refused, and the symbol is named.
#[test]
fn real_glibc_2_36_symbol_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = r#"
        extern "C" { fn arc4random() -> u32; }
        fn main() { println!("{}", unsafe { arc4random() }); }
    "#;
    let exe = match compile(dir.path(), "needs_236", source, &[]) {
        Ok(exe) => exe,
        Err(stderr) if stderr.contains("arc4random") => {
            eprintln!("skipped: this host's glibc has no arc4random (older than 2.36)");
            return;
        }
        Err(stderr) => panic!("rustc failed: {stderr}"),
    };
    let req = glibc_requirement(&std::fs::read(&exe).unwrap()).unwrap();
    assert!(req.max() >= Some((2, 36)), "{req:?}");
    if let Some(expected) = readelf_glibc_max(&exe) {
        assert_eq!(req.max(), expected, "readelf -V disagrees");
    }
    let msg = check_glibc("needs_236", &req, LAMBDA_AL2023_GLIBC)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("arc4random"), "{msg}");
    assert!(msg.contains("needs_236"), "{msg}");
}

#[test]
fn malformed_elf_never_panics() {
    let bytes = std::fs::read("/bin/true").unwrap();
    // Every truncation up to 4 KiB, then every 997 bytes.
    let cuts = (0..bytes.len().min(4096)).chain((4096..bytes.len()).step_by(997));
    for cut in cuts {
        let _ = glibc_requirement(&bytes[..cut]);
    }
    // Deterministic byte corruption across the whole file.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut copy = bytes.clone();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x as usize) % copy.len();
            copy[at] = (x >> 32) as u8;
        }
        let _ = glibc_requirement(&copy);
    }
    for junk in [
        &b""[..],
        b"\x7fELF",
        b"#!/bin/sh\necho hi\n",
        &[0u8; 64],
        &[0xffu8; 4096],
    ] {
        assert!(glibc_requirement(junk).is_err());
    }
}

// --------------------------------------------------------------- requests

#[tokio::test]
async fn unknown_binary_is_reported_with_the_choices() {
    let reqs = [BuildRequest::new(
        functions_dir(),
        "no-such-function",
        Arch::X86_64,
    )];
    let err = Builder::new().quiet(true).build(&reqs).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PackageError::UnknownBinary { .. }), "{err:?}");
    for bin in FUNCTIONS {
        assert!(msg.contains(bin), "{bin} missing from: {msg}");
    }
}

#[tokio::test]
async fn native_toolchain_refuses_a_foreign_architecture() {
    let foreign = match Arch::host() {
        Some(Arch::X86_64) => Arch::Arm64,
        Some(Arch::Arm64) => Arch::X86_64,
        None => return,
    };
    let reqs = [BuildRequest::new(functions_dir(), "processor", foreign)];
    let err = Builder::new()
        .toolchain(Toolchain::Native)
        .quiet(true)
        .build(&reqs)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PackageError::HostArchMismatch { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("zigbuild"), "{err}");
}

#[tokio::test]
async fn bad_input_is_an_error() {
    let b = Builder::new().quiet(true);
    assert_eq!(b.build(&[]).await.unwrap(), vec![]);
    let bad = [BuildRequest::new(functions_dir(), "../etc", Arch::X86_64)];
    assert!(matches!(
        b.build(&bad).await,
        Err(PackageError::InvalidRequest { .. })
    ));
    let nowhere = [BuildRequest::new(
        "/nonexistent/dir",
        "processor",
        Arch::X86_64,
    )];
    assert!(matches!(
        b.build(&nowhere).await,
        Err(PackageError::Metadata { .. })
    ));
    assert!("arm64".parse::<Arch>().is_ok() && "sparc".parse::<Arch>().is_err());
}

// ------------------------------------------------------------ zigbuild

/// A scratch cargo package with two binaries: `hello`, and `new_glibc`,
/// which calls arc4random (GLIBC_2.36). It has its own target directory.
fn scratch_package(dir: &Path) -> PathBuf {
    let pkg = dir.join("scratch");
    std::fs::create_dir_all(pkg.join("src/bin")).unwrap();
    std::fs::write(
        pkg.join("Cargo.toml"),
        "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        pkg.join("src/bin/hello.rs"),
        "fn main() { println!(\"hello\"); }\n",
    )
    .unwrap();
    std::fs::write(
        pkg.join("src/bin/new_glibc.rs"),
        "extern \"C\" { fn arc4random() -> u32; }\n\
         fn main() { println!(\"{}\", unsafe { arc4random() }); }\n",
    )
    .unwrap();
    pkg
}

/// The zigbuild toolchain on a tiny package: the binary is built for the
/// explicit target, links against glibc 2.34 at most, and zips like the
/// native ones. Skipped (with a note) where cargo-zigbuild or Zig is missing.
#[tokio::test]
async fn zigbuild_toolchain_pins_glibc() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = scratch_package(dir.path());
    let builder = Builder::new()
        .toolchain(Toolchain::Zigbuild)
        .target_dir(dir.path().join("target"))
        .out_dir(dir.path().join("out"));
    let reqs = [BuildRequest::new(&pkg, "hello", Arch::X86_64)];
    let packages = match builder.build(&reqs).await {
        Ok(p) => p,
        Err(e @ PackageError::ZigbuildUnavailable { .. }) => {
            assert!(
                std::env::var_os("STACKCTL_REQUIRE_TOOLS").is_none(),
                "cargo-zigbuild is required here (STACKCTL_REQUIRE_TOOLS is set): {e}"
            );
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let [pkg] = packages.as_slice() else {
        panic!("{packages:?}")
    };
    assert_eq!(pkg.toolchain, Toolchain::Zigbuild);
    assert!(
        pkg.executable
            .to_string_lossy()
            .contains("x86_64-unknown-linux-gnu"),
        "{}",
        pkg.executable.display()
    );
    let zip = std::fs::read(&pkg.zip_path).unwrap();
    assert_zip_layout(&zip);
    let (_, _, binary) = read_single_entry(&zip);
    assert_elf_x86_64(&binary, "hello");
    let req = glibc_requirement(&binary).unwrap();
    assert!(req.satisfied_by(LAMBDA_AL2023_GLIBC), "{req}");
    assert_eq!(pkg.glibc_max, req.max());
}

/// Automatic toolchain, binary needing GLIBC_2.36: the native build is
/// refused by the check; with zigbuild installed the builder rebuilds
/// against glibc 2.34, where arc4random does not exist, so the link fails
/// and the error says so. Without zigbuild the error is the glibc refusal
/// of the native binary.
/// Either way no package is produced. Skipped on hosts older than 2.36.
#[tokio::test]
async fn automatic_toolchain_never_ships_a_too_new_binary() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = scratch_package(dir.path());
    let out = dir.path().join("out");
    let builder = Builder::new()
        .target_dir(dir.path().join("target"))
        .out_dir(&out)
        .quiet(true);
    let reqs = [BuildRequest::new(&pkg, "new_glibc", Arch::X86_64)];
    let result = builder.build(&reqs).await;
    if let Err(e) = &result {
        let first_line = e.to_string().lines().next().unwrap_or_default().to_owned();
        eprintln!("automatic toolchain refused new_glibc: {first_line}");
    }
    match result {
        Ok(p) => panic!("a package was produced: {p:?}"),
        // No zigbuild here: the refusal of the native binary.
        Err(PackageError::GlibcTooNew { .. }) => {}
        Err(e @ PackageError::CargoFailed { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("undefined reference to `arc4random'")
                    || msg.contains("undefined symbol: arc4random"),
                "unexpected build failure: {msg}"
            );
            if !msg.contains("cargo zigbuild") {
                // The native link failed: the host glibc predates 2.36.
                eprintln!("skipped: this host's glibc has no arc4random");
                return;
            }
            assert!(msg.contains("x86_64-unknown-linux-gnu.2.34"), "{msg}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
    assert!(!out.join("new_glibc-x86_64.zip").exists());

    // Forcing the native toolchain is a plain refusal, naming the symbol.
    let native = builder.clone().toolchain(Toolchain::Native);
    match native.build(&reqs).await {
        Err(e @ PackageError::GlibcTooNew { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("arc4random") && msg.contains("GLIBC_2.36"),
                "{msg}"
            );
        }
        other => panic!("expected GlibcTooNew, got {other:?}"),
    }
}

// ---------------------------------------------------------- the real build

/// Build the three function binaries through the Builder (one cargo
/// invocation), check each package, build again and compare bytes.
#[tokio::test]
async fn real_function_packages() {
    let reqs: Vec<BuildRequest> = FUNCTIONS
        .iter()
        .map(|bin| BuildRequest::new(functions_dir(), *bin, Arch::X86_64))
        .collect();
    let out1 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();

    let first = Builder::new()
        .out_dir(out1.path())
        .build(&reqs)
        .await
        .unwrap();
    let second = Builder::new()
        .out_dir(out2.path())
        .build(&reqs)
        .await
        .unwrap();
    assert_eq!(first.len(), FUNCTIONS.len());
    assert_eq!(second.len(), FUNCTIONS.len());

    for ((pkg, again), bin) in first.iter().zip(&second).zip(FUNCTIONS) {
        assert_eq!(pkg.function_binary, bin, "request order is kept");
        assert!(pkg.zip_path.starts_with(out1.path()));
        let zip = std::fs::read(&pkg.zip_path).unwrap();
        assert_eq!(pkg.size, zip.len() as u64);
        assert_eq!(pkg.code_sha256, code_sha256(&zip));
        assert_zip_layout(&zip);

        let (name, mode, binary) = read_single_entry(&zip);
        assert_eq!(name, "bootstrap");
        assert_eq!(mode, 0o100755);
        assert_elf_x86_64(&binary, bin);
        assert!(
            binary == std::fs::read(&pkg.executable).unwrap(),
            "{bin}: the zip holds the executable cargo built"
        );
        let req = glibc_requirement(&binary).unwrap();
        assert!(
            req.satisfied_by(LAMBDA_AL2023_GLIBC),
            "{bin} needs {req} (> GLIBC_2.34)"
        );
        assert_eq!(pkg.glibc_max, req.max());
        if !matches!(req, GlibcReq::Static)
            && let Some(expected) = readelf_glibc_max(&pkg.executable)
        {
            assert_eq!(req.max(), expected, "{bin}: readelf -V disagrees");
        }

        let zip2 = std::fs::read(&again.zip_path).unwrap();
        assert!(zip == zip2, "{bin}: rebuilt zip differs");
        assert_eq!(pkg.code_sha256, again.code_sha256);

        let binary_size = binary.len();
        println!(
            "package {bin}: zip {} bytes ({:.1} MiB), binary {binary_size} bytes ({:.1} MiB), \
             glibc {req}, toolchain {}, CodeSha256 {}",
            pkg.size,
            pkg.size as f64 / 1_048_576.0,
            binary_size as f64 / 1_048_576.0,
            pkg.toolchain,
            pkg.code_sha256
        );
    }
}

/// Every package's features as `cargo tree` resolves them for `args`.
fn resolved_features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = functions_dir().parent().expect("repo root").to_owned();
    let out = Command::new(cargo)
        .args(["tree", "--prefix", "none", "-f", "{p}|{f}"])
        .args(args)
        .current_dir(&root)
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut features: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, list)) = line.replace(" (*)", "").split_once('|').map(|(p, f)| {
            let mut words = p.split_whitespace();
            let id = format!(
                "{} {}",
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default()
            );
            (id, f.to_owned())
        }) else {
            continue;
        };
        features
            .entry(package)
            .or_default()
            .extend(list.split(',').filter(|f| !f.is_empty()).map(str::to_owned));
    }
    features
}

/// The README's `cargo run --release --bin stackctl` resolves every
/// dependency with the features of `cargo test --release --workspace` (and
/// of the package build, which selects the same): each compiles once, and
/// the stackctl a user runs is the one the tests ran. When a dependency
/// change breaks it, the features to name in provisioner/Cargo.toml's
/// feature-unification section are listed.
#[test]
fn cargo_run_and_cargo_test_resolve_the_same_features() {
    let run = resolved_features(&["-p", "stackctl", "-e", "normal,build"]);
    let test = resolved_features(&["--workspace", "-e", "normal,build,dev"]);
    assert!(run.len() > 100, "cargo tree listed {} packages", run.len());
    let differ: Vec<String> = run
        .iter()
        .filter_map(|(package, features)| {
            let tested = test.get(package)?;
            (tested != features).then(|| {
                format!(
                    "{package}: add {:?}",
                    tested.difference(features).collect::<Vec<_>>()
                )
            })
        })
        .collect();
    assert!(
        differ.is_empty(),
        "`cargo run --bin stackctl` would compile these again, with other features \
         (name them in provisioner/Cargo.toml's feature-unification section): {differ:#?}"
    );
}

/// `--no-build` (`Builder::existing`) finds the very zips a build left, and
/// names what to run when there are none; it never runs the build.
#[tokio::test]
async fn existing_packages_are_the_last_builds_and_missing_ones_say_how_to_build() {
    let reqs: Vec<BuildRequest> = FUNCTIONS
        .iter()
        .map(|bin| BuildRequest::new(functions_dir(), *bin, Arch::X86_64))
        .collect();
    let out = tempfile::tempdir().unwrap();

    let none = Builder::new()
        .out_dir(out.path())
        .existing(&reqs)
        .await
        .unwrap_err();
    let message = none.to_string();
    assert!(
        matches!(none, PackageError::NotBuilt { .. })
            && message.contains("generator")
            && message.contains(&out.path().display().to_string())
            && message.contains("without --no-build"),
        "{message}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "looking built nothing"
    );

    let built = Builder::new()
        .out_dir(out.path())
        .build(&reqs)
        .await
        .unwrap();
    let found = Builder::new()
        .out_dir(out.path())
        .existing(&reqs)
        .await
        .unwrap();
    assert_eq!(found.len(), built.len());
    for (f, b) in found.iter().zip(&built) {
        assert_eq!(
            (&f.function_binary, &f.zip_path, &f.code_sha256, f.size),
            (&b.function_binary, &b.zip_path, &b.code_sha256, b.size)
        );
    }
}

/// Two workspaces with the same binary names, built one after the other
/// into one target dir (a shared `CARGO_TARGET_DIR`), each keep their own
/// zips: `--no-build` of one never deploys the other's. Two copies of the
/// tiny stand-in crate under other package names (cargo itself takes two
/// packages of one name and version in one target dir for the same) and
/// with different messages, so their binaries differ.
#[tokio::test]
async fn workspaces_sharing_a_target_dir_keep_their_own_packages() {
    let fixture = crate::cli::repo_root().join("tests/fixtures/tiny-functions");
    let scratch = tempfile::tempdir().unwrap();
    let target = scratch.path().join("target");
    let mut dirs = Vec::new();
    for (i, parent) in ["a", "b"].iter().enumerate() {
        // The same folder name in both, as two clones of one repo have.
        let dir = scratch.path().join(parent).join("tiny-functions");
        std::fs::create_dir_all(dir.join("src/bin")).unwrap();
        let manifest = std::fs::read_to_string(fixture.join("Cargo.toml")).unwrap();
        let manifest = manifest.replace(
            "name = \"tiny-functions\"",
            &format!("name = \"tiny-functions-{i}\""),
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        for bin in FUNCTIONS {
            let src = std::fs::read_to_string(fixture.join(format!("src/bin/{bin}.rs"))).unwrap();
            let src = src.replace("a test stand-in", &format!("a test stand-in, copy {i}"));
            std::fs::write(dir.join(format!("src/bin/{bin}.rs")), src).unwrap();
        }
        dirs.push(dir);
    }
    let reqs = |dir: &Path| -> Vec<BuildRequest> {
        FUNCTIONS
            .iter()
            .map(|bin| BuildRequest::new(dir, *bin, Arch::X86_64))
            .collect()
    };
    let builder = || Builder::new().target_dir(&target).quiet(true);
    let mut built = Vec::new();
    for dir in &dirs {
        built.push(builder().build(&reqs(dir)).await.unwrap());
    }
    for (dir, built) in dirs.iter().zip(&built) {
        let found = builder().existing(&reqs(dir)).await.unwrap();
        let found: Vec<_> = found
            .iter()
            .map(|f| (&f.zip_path, &f.code_sha256))
            .collect();
        let want: Vec<_> = built
            .iter()
            .map(|b| (&b.zip_path, &b.code_sha256))
            .collect();
        assert_eq!(found, want, "{}", dir.display());
    }
    let (a, b) = (&built[0], &built[1]);
    for (a, b) in a.iter().zip(b) {
        assert_ne!(a.zip_path, b.zip_path, "{}", a.function_binary);
        assert_ne!(a.code_sha256, b.code_sha256, "{}", a.function_binary);
    }
}
