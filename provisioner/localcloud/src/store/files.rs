//! Plain file operations of the store: atomic writes, optional reads,
//! listings that skip temporary files, and reversible file names.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::{Result, StoreError, io_err};

/// Writes `bytes` to `path` through a temporary sibling (named
/// `.<name>.tmp-…`, which listings skip) and `tempfile`'s persist, so a
/// reader never sees a torn file: the store's one atomic writer.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    temp.write_all(bytes).map_err(io_err(path))?;
    temp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}

pub(crate) fn write_plain(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(io_err(path))
}

#[cfg(unix)]
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

#[cfg(not(unix))]
pub(crate) fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

pub(crate) fn read_json_opt<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            message: format!(
                "not a valid stored resource: {e} (fix the file by hand, or delete it)"
            ),
        })
}

pub(crate) fn remove_file_opt(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

pub(crate) fn remove_dir_opt(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The entries of `dir` (none when it does not exist), skipping temporary
/// files.
pub(crate) fn dir_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".tmp-") || n.starts_with(".put-"))
        {
            continue;
        }
        out.push(path);
    }
    out.sort();
    Ok(out)
}

// ---- names ----------------------------------------------------------------

/// What [`file_safe`] keeps: letters, digits, `.`, `_` and `-`.
const FILE_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'_')
    .remove(b'-');

/// A file name for `name`: `[A-Za-z0-9._-]` kept, every other byte `%XX`
/// (a leading `.` too, so no name is hidden, `.` or `..`; the empty name is
/// `%`). Reversible by [`file_unsafe`].
pub fn file_safe(name: &str) -> String {
    if name.is_empty() {
        return "%".to_owned();
    }
    let out = percent_encoding::utf8_percent_encode(name, FILE_SAFE).to_string();
    match out.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => out,
    }
}

/// The name [`file_safe`] encoded; `None` when `s` is not such an encoding
/// (a file someone else put there).
pub fn file_unsafe(s: &str) -> Option<String> {
    if s == "%" {
        return Some(String::new());
    }
    let name = percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()?
        .into_owned();
    // Only the one encoding of a name counts: `%zz`, `%61` or a raw `é`
    // are not ours.
    (file_safe(&name) == s).then_some(name)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(crate) fn now_millis() -> u64 {
    now_nanos() / 1_000_000
}
