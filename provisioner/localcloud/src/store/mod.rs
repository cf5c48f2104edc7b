//! The local cloud's state: plain files under the target's directory
//! (`.stackctl/` next to stack.yaml by default), meant to be read and edited
//! by hand.
//!
//! ```text
//! <dir>/
//!   .gitignore                         `*`: the whole directory is local state
//!   lock                               held by `serve`/`invoke` (advisory)
//!   resources/<kind>/<name>.json       one model resource, pretty JSON
//!   packages/<function>/package.zip    the deployed zip, as uploaded
//!   packages/<function>/code/          the zip extracted; `bootstrap` is 0755
//!   objects/<bucket>/<key>/versions.json   the key's versions, oldest first
//!   objects/<bucket>/<key>/<version>.data  one version's bytes
//!   logs/<group>/<stream>.jsonl        `{"timestamp_ms":..,"message":..}` lines
//! ```
//!
//! Names become file names through [`file_safe`]: ASCII letters, digits,
//! `.`, `_` and `-` stay, every other byte is `%XX` (so `/aws/lambda/f` is
//! `%2Faws%2Flambda%2Ff`). An object key whose encoding would be longer than
//! [`MAX_FILE_NAME`] is stored under `~<sha256 of the key>`; its
//! `versions.json` names the key either way.
//!
//! Every write goes to a temporary sibling first and is renamed into place,
//! so a reader never sees a torn file. Read-modify-write sequences (a
//! version index, a log stream, a function and its permissions) run under a
//! mutex of the store, so the tasks of one process may share it; one
//! process at a time should own the directory ([`Store::lock`]).

//!
//! This module is the file layer every service shares: the directory, its
//! lock, the records (one JSON file each) and atomic writes. What each
//! service keeps lives with the service: objects in [`crate::s3`], log
//! events in [`crate::logs`], function packages in [`crate::lambda`].

mod files;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::random_u64;

pub(crate) use files::*;
pub use files::{file_safe, file_unsafe};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("NoSuchBucket: the bucket {0} does not exist")]
    NoSuchBucket(String),
    #[error("NoSuchKey: no object {key} in bucket {bucket}")]
    NoSuchKey { bucket: String, key: String },
    #[error("NoSuchVersion: no version {version_id} of {key} in bucket {bucket}")]
    NoSuchVersion {
        bucket: String,
        key: String,
        version_id: String,
    },
    /// The version asked for is a delete marker (S3 answers 405).
    #[error(
        "MethodNotAllowed: version {version_id} of {key} in bucket {bucket} is a delete marker"
    )]
    DeleteMarker {
        bucket: String,
        key: String,
        version_id: String,
    },
    #[error("ResourceNotFoundException: the log group {0} does not exist")]
    NoSuchLogGroup(String),
    /// A file that is not what it should be (a hand edit gone wrong).
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a service keeps as one JSON file per resource (moto's models):
/// `resources/<KIND>/<name>.json`.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The folder under `resources/`.
    const KIND: &'static str;
    /// The record's name: its file name before [`file_safe`].
    fn record_name(&self) -> String;
}

/// Held while a process owns the directory; released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
    path: PathBuf,
}

impl DirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The local cloud's files. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    /// Read-modify-write of resources (a function and its permissions).
    pub(crate) resources: Mutex<()>,
    /// Read-modify-write of object version indexes.
    pub(crate) objects: Mutex<()>,
    /// Read-modify-write of log streams.
    pub(crate) logs: Mutex<()>,
    /// Last tick handed out: nanoseconds since the epoch, strictly increasing.
    tick: AtomicU64,
    /// Distinguishes this process's temporary files and ids.
    pub(crate) salt: u64,
}

impl Store {
    /// Opens (creating when missing) the store rooted at `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let root = dir.into();
        for sub in ["resources", "packages", "objects", "logs"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            write_atomically(
                &ignore,
                b"# stackctl's local cloud: state, not source.\n*\n",
            )?;
        }
        Ok(Self {
            root,
            resources: Mutex::new(()),
            objects: Mutex::new(()),
            logs: Mutex::new(()),
            tick: AtomicU64::new(0),
            salt: random_u64(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the directory's advisory lock (`<dir>/lock`), for the commands
    /// that keep the local cloud running (`serve`, `invoke`). Fails at once
    /// when another process holds it.
    pub fn lock(&self) -> Result<DirLock> {
        let path = self.root.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for a human wondering.
                let _ = fs::write(&path, format!("{}\n", std::process::id()));
                Ok(DirLock { _file: file, path })
            }
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                Err(StoreError::Invalid(format!(
                    "{} is in use by another stackctl process{} (`serve` or `invoke`); \
                     stop it first",
                    self.root.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                )))
            }
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }

    pub(crate) fn lock_mutex(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A strictly increasing number (nanoseconds since the epoch, bumped on
    /// ties): orders versions and sequencers.
    pub fn next_tick(&self) -> u64 {
        let now = now_nanos();
        let mut last = self.tick.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self
                .tick
                .compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    pub(crate) fn temp_suffix(&self) -> String {
        format!("{:x}-{:x}", self.salt, self.next_tick())
    }

    // ---- resources ------------------------------------------------------

    pub fn resource_dir(&self, kind: &str) -> PathBuf {
        self.root.join("resources").join(kind)
    }

    /// The file holding resource `name` of `kind`.
    pub fn resource_path(&self, kind: &str, name: &str) -> PathBuf {
        self.resource_dir(kind)
            .join(format!("{}.json", file_safe(name)))
    }

    /// The stored resource, `None` when absent.
    pub fn get<R: Record>(&self, name: &str) -> Result<Option<R>> {
        read_json_opt(&self.resource_path(R::KIND, name))
    }

    pub fn exists(&self, kind: &str, name: &str) -> bool {
        self.resource_path(kind, name).is_file()
    }

    /// Writes `r` (replacing any previous one).
    pub fn put<R: Record>(&self, r: &R) -> Result<()> {
        let path = self.resource_path(R::KIND, &r.record_name());
        let mut text = serde_json::to_string_pretty(r)
            .map_err(|e| StoreError::Invalid(format!("serializing a {}: {e}", R::KIND)))?;
        text.push('\n');
        let dir = self.resource_dir(R::KIND);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        write_atomically(&path, text.as_bytes())
    }

    /// Removes resource `name`; `false` when it was absent.
    pub fn remove<R: Record>(&self, name: &str) -> Result<bool> {
        remove_file_opt(&self.resource_path(R::KIND, name))
    }

    /// Every stored resource of a kind, by name.
    pub fn list<R: Record>(&self) -> Result<Vec<R>> {
        let dir = self.resource_dir(R::KIND);
        let mut out = BTreeMap::new();
        for path in dir_entries(&dir)? {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            if let Some(r) = read_json_opt::<R>(&path)? {
                out.insert(r.record_name(), r);
            }
        }
        Ok(out.into_values().collect())
    }

    /// Runs `f` with the resources mutex held: for sequences that must not
    /// interleave (a function deleted with its permissions).
    pub fn with_resources<T>(&self, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        let _guard = Self::lock_mutex(&self.resources);
        f(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        for name in [
            "/aws/lambda/cartpipe-generator",
            "f/stackctl-s3-raw",
            ".hidden",
            "..",
            "été 2026.csv",
            "a%b",
            "",
        ] {
            let safe = file_safe(name);
            assert!(
                safe.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-%".contains(&b)),
                "{safe}"
            );
            assert!(!safe.starts_with('.'));
            assert_eq!(file_unsafe(&safe).as_deref(), Some(name));
        }
        assert_eq!(file_safe("cartpipe-raw"), "cartpipe-raw");
    }
}
