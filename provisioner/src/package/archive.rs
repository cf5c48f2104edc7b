//! Deterministic Lambda zips: one entry `bootstrap`, mode 0755, fixed time.

use std::io::{Cursor, Write};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::PackageError;

/// Name of the single entry: what Lambda's provided runtimes execute.
pub const BOOTSTRAP: &str = "bootstrap";
/// Unix mode of the entry (regular file, rwxr-xr-x).
pub const BOOTSTRAP_MODE: u32 = 0o755;
/// Deflate level: fixed, so that the compressed bytes are fixed too.
pub const DEFLATE_LEVEL: i64 = 9;

/// Lambda's `CodeSha256`: the base64 (standard alphabet, padded) SHA-256 of
/// the zip bytes.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Zip `binary` as `bootstrap` into a new byte vector. The output depends on
/// the binary's bytes only: not on its name, mtime, mode or owner.
pub fn zip_bootstrap_bytes(binary: &[u8]) -> Result<Vec<u8>, zip::result::ZipError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        // 1980-01-01 00:00:00, the earliest DOS time; no extended timestamp
        // extra field is written unless asked for.
        .last_modified_time(DateTime::DEFAULT)
        .system(System::Unix)
        .unix_permissions(BOOTSTRAP_MODE)
        .large_file(false);
    // Deflate rarely grows an executable; half its size is a fair first guess.
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2 + 1024)));
    zip.start_file(BOOTSTRAP, options)?;
    zip.write_all(binary)?;
    Ok(zip.finish()?.into_inner())
}

/// Zip the executable at `binary` as `bootstrap` into `out`, replacing `out`
/// atomically (written to a temporary file in the same directory, then
/// renamed). Two calls on the same binary bytes write identical files.
pub fn zip_bootstrap(binary: &Path, out: &Path) -> Result<(), PackageError> {
    let bytes = std::fs::read(binary).map_err(|e| PackageError::io("reading", binary, e))?;
    let zipped = zip_bootstrap_bytes(&bytes).map_err(|source| PackageError::Zip {
        path: out.to_owned(),
        source,
    })?;
    write_atomically(out, &zipped)
}

/// Zip `binary` into `out` (atomically) and return the zip's bytes: what the
/// package builder does for every function on every run.
///
/// For one build of stackctl the zip is a pure function of the binary's
/// bytes, so when `out` already holds the zip of these bytes it is read back
/// instead of rebuilt: deflate at level 9 costs seconds on a 50 MB binary,
/// and `diff` and `up` package on every run. A sidecar `<out>.input-sha256`
/// records the SHA-256 of the binary (with [`format_fingerprint`], so that a
/// stackctl whose zips differ never reuses another's) and of the zip made
/// from it; the zip is reused only when both still match, so a zip edited or
/// truncated on disk is rebuilt, never deployed.
pub(crate) fn zip_bootstrap_cached(binary: &[u8], out: &Path) -> Result<Vec<u8>, PackageError> {
    let input = format!("{}+{}", hex_sha256(binary), format_fingerprint());
    let stamp = stamp_path(out);
    if let Some(kept) = read_if_fresh(out, &stamp, &input) {
        return Ok(kept);
    }
    let zipped = zip_bootstrap_bytes(binary).map_err(|source| PackageError::Zip {
        path: out.to_owned(),
        source,
    })?;
    // Stamp last: a crash in between leaves a stamp that no longer matches.
    let _ = std::fs::remove_file(&stamp);
    write_atomically(out, &zipped)?;
    let record = format!("{input} {}\n", hex_sha256(&zipped));
    write_atomically(&stamp, record.as_bytes())?;
    Ok(zipped)
}

fn read_if_fresh(out: &Path, stamp: &Path, input: &str) -> Option<Vec<u8>> {
    let record = std::fs::read_to_string(stamp).ok()?;
    let (recorded_input, recorded_zip) = record.trim().split_once(' ')?;
    if recorded_input != input {
        return None;
    }
    let kept = std::fs::read(out).ok()?;
    (hex_sha256(&kept) == recorded_zip).then_some(kept)
}

/// What this build of stackctl makes of a fixed sample: any change to the
/// zip layout, the deflate level or the deflate implementation (a `zip` or
/// `zlib-rs` upgrade) changes it. Computed once per process (microseconds).
fn format_fingerprint() -> &'static str {
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        // Text with repeats and noise, so that deflate has choices to make.
        let sample: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 7 + b'a')
            .collect();
        match zip_bootstrap_bytes(&sample) {
            Ok(zip) => hex_sha256(&zip)[..16].to_owned(),
            // Unreachable in practice; an empty fingerprint just never matches
            // a stamp written with one.
            Err(_) => String::new(),
        }
    })
}

fn stamp_path(out: &Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".input-sha256");
    name.into()
}

pub(super) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Write `bytes` to `path` via a temporary sibling and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    crate::atomic::write(path, bytes).map_err(|e| PackageError::io("writing", path, e))
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_unchanged_binary_reuses_its_zip_and_a_changed_one_is_rezipped() {
        let dir = ok(tempfile::tempdir());
        let out = dir.path().join("p.zip");
        let first = ok(zip_bootstrap_cached(b"one", &out));
        assert_eq!(first, ok(zip_bootstrap_bytes(b"one")));
        // Reuse is visible through the file's identity: a rebuild renames a
        // new file into place, a reuse leaves the inode alone.
        let inode = |p: &Path| {
            use std::os::unix::fs::MetadataExt as _;
            ok(std::fs::metadata(p)).ino()
        };
        let before = inode(&out);
        assert_eq!(ok(zip_bootstrap_cached(b"one", &out)), first);
        assert_eq!(inode(&out), before, "an unchanged binary was rezipped");
        let second = ok(zip_bootstrap_cached(b"two", &out));
        assert_eq!(second, ok(zip_bootstrap_bytes(b"two")));
        assert_eq!(ok(std::fs::read(&out)), second);
    }

    #[test]
    fn a_zip_edited_on_disk_is_rebuilt_not_reused() {
        let dir = ok(tempfile::tempdir());
        let out = dir.path().join("p.zip");
        let good = ok(zip_bootstrap_cached(b"one", &out));
        ok(std::fs::write(&out, b"tampered"));
        assert_eq!(ok(zip_bootstrap_cached(b"one", &out)), good);
        assert_eq!(ok(std::fs::read(&out)), good);
    }

    #[test]
    fn a_zip_stamped_by_another_zip_format_is_rebuilt() {
        let dir = ok(tempfile::tempdir());
        let out = dir.path().join("p.zip");
        let good = ok(zip_bootstrap_cached(b"one", &out));
        // The same binary and zip, stamped by a stackctl whose zips differ.
        let stamp = stamp_path(&out);
        let record = ok(std::fs::read_to_string(&stamp));
        let other = record.replacen(format_fingerprint(), "0000000000000000", 1);
        assert_ne!(record, other);
        ok(std::fs::write(&stamp, other));
        let inode = |p: &Path| {
            use std::os::unix::fs::MetadataExt as _;
            ok(std::fs::metadata(p)).ino()
        };
        let before = inode(&out);
        assert_eq!(ok(zip_bootstrap_cached(b"one", &out)), good);
        assert_ne!(inode(&out), before, "rebuilt, not reused");
        assert_eq!(ok(std::fs::read_to_string(&stamp)), record);
    }
}
