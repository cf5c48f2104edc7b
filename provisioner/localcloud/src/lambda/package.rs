//! Function packages on disk: `packages/<function>/package.zip` as
//! uploaded, and `code/`, the zip extracted (Lambda's `/var/task`), with
//! `bootstrap` executable.

use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::store::{
    Result, Store, StoreError, file_safe, io_err, remove_dir_opt, set_mode, write_atomically,
    write_plain,
};

/// The executable the `provided.al2023` runtime starts.
pub const BOOTSTRAP: &str = "bootstrap";

/// Lambda's CodeSha256 of a zip: base64 of its SHA-256.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

impl Store {
    // ---- function packages ----------------------------------------------

    pub fn package_dir(&self, function: &str) -> PathBuf {
        self.root().join("packages").join(file_safe(function))
    }

    /// The deployed zip of `function`.
    pub fn package_zip(&self, function: &str) -> PathBuf {
        self.package_dir(function).join("package.zip")
    }

    /// The extracted package (Lambda's `/var/task`).
    pub fn code_dir(&self, function: &str) -> PathBuf {
        self.package_dir(function).join("code")
    }

    /// The executable the runtime starts.
    pub fn bootstrap_path(&self, function: &str) -> PathBuf {
        self.code_dir(function).join(BOOTSTRAP)
    }

    /// Copies the zip at `zip_path` in as `function`'s package and extracts
    /// it (`bootstrap` mode 0755), replacing the previous one. Returns
    /// Lambda's CodeSha256 of the zip.
    pub fn install_package(&self, function: &str, zip_path: &Path) -> Result<String> {
        let bytes = fs::read(zip_path).map_err(io_err(zip_path))?;
        let sha = code_sha256(&bytes);
        let dir = self.package_dir(function);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let suffix = self.temp_suffix();
        let staging = dir.join(format!("code.new-{suffix}"));
        extract_zip(&bytes, zip_path, &staging)?;
        if !staging.join(BOOTSTRAP).is_file() {
            let _ = fs::remove_dir_all(&staging);
            return Err(StoreError::Invalid(format!(
                "{}: the package has no `bootstrap` at its root (the provided.al2023 \
                 runtime runs `bootstrap`)",
                zip_path.display()
            )));
        }
        write_atomically(&self.package_zip(function), &bytes)?;
        // Swap the extracted tree: running processes keep their open files.
        let code = self.code_dir(function);
        let old = dir.join(format!("code.old-{suffix}"));
        if code.exists() {
            fs::rename(&code, &old).map_err(io_err(&code))?;
        }
        fs::rename(&staging, &code).map_err(io_err(&staging))?;
        if old.exists() {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(sha)
    }

    /// Removes `function`'s package (absent is fine).
    pub fn remove_package(&self, function: &str) -> Result<()> {
        remove_dir_opt(&self.package_dir(function))
    }
}

fn extract_zip(bytes: &[u8], zip_path: &Path, into: &Path) -> Result<()> {
    let corrupt = |message: String| StoreError::Corrupt {
        path: zip_path.to_owned(),
        message,
    };
    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes))
        .map_err(|e| corrupt(format!("not a zip: {e}")))?;
    fs::create_dir_all(into).map_err(io_err(into))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| corrupt(format!("entry {i}: {e}")))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(corrupt(format!(
                "entry {:?} points outside the package",
                entry.name()
            )));
        };
        let out = into.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&out).map_err(io_err(&out))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| corrupt(format!("entry {:?}: {e}", entry.name())))?;
        write_plain(&out, &data)?;
        let mode = if rel == Path::new(BOOTSTRAP) {
            0o755
        } else {
            entry.unix_mode().map_or(0o644, |m| m & 0o777)
        };
        set_mode(&out, mode)?;
    }
    Ok(())
}
