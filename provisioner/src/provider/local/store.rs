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
//! process at a time should own the directory ([`LocalStore::lock`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest as _, Md5};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::clock::random_u64;

use crate::model::{Bucket, Function, Kind, LogGroup, Notification, Permission, Role, Rule};

/// Longest file name written for an object key (Linux allows 255 bytes).
pub const MAX_FILE_NAME: usize = 200;

/// What S3 calls the version of an object written while versioning is off.
pub const NULL_VERSION: &str = "null";

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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A model type kept as one JSON file per resource.
pub trait StoredResource: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: Kind;
    /// The resource's name: its file name before [`file_safe`].
    fn stored_name(&self) -> String;
}

macro_rules! stored {
    ($ty:ty, $kind:expr, |$r:ident| $name:expr) => {
        impl StoredResource for $ty {
            const KIND: Kind = $kind;
            fn stored_name(&self) -> String {
                let $r = self;
                $name
            }
        }
    };
}

stored!(Bucket, Kind::Bucket, |r| r.name.clone());
stored!(Role, Kind::Role, |r| r.name.clone());
stored!(LogGroup, Kind::LogGroup, |r| r.name.clone());
stored!(Function, Kind::Function, |r| r.name.clone());
stored!(Rule, Kind::Rule, |r| r.name.clone());
stored!(Permission, Kind::Permission, |r| Permission::id_name(
    &r.function,
    &r.statement_id
));
stored!(Notification, Kind::Notification, |r| r.bucket.clone());

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub key: String,
    pub version_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// MD5 hex of the content, without quotes; empty for a delete marker.
    pub etag: String,
    pub size: u64,
    pub last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Orders the events of one key: later writes have greater sequencers
    /// (uppercase hex, equal length).
    pub sequencer: String,
}

/// A version as listed: with whether it is the key's current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    pub version: ObjectVersion,
    pub is_latest: bool,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteOutcome {
    /// The delete marker created, or the version removed.
    pub version_id: Option<String>,
    /// A delete marker was created, or the version removed was one.
    pub delete_marker: bool,
}

/// The index of one key: every version, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KeyIndex {
    key: String,
    versions: Vec<ObjectVersion>,
}

/// One log event, as stored (one JSON line each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    pub timestamp_ms: u64,
    pub message: String,
}

/// A log event with the stream it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    pub stream: String,
    pub event: LogEvent,
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
pub struct LocalStore {
    root: PathBuf,
    /// Read-modify-write of resources (a function and its permissions).
    resources: Mutex<()>,
    /// Read-modify-write of object version indexes.
    objects: Mutex<()>,
    /// Read-modify-write of log streams.
    logs: Mutex<()>,
    /// Last tick handed out: nanoseconds since the epoch, strictly increasing.
    tick: AtomicU64,
    /// Distinguishes this process's temporary files and ids.
    salt: u64,
}

impl LocalStore {
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
                0,
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

    fn lock_mutex(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
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

    fn temp_suffix(&self) -> String {
        format!("{:x}-{:x}", self.salt, self.next_tick())
    }

    // ---- resources ------------------------------------------------------

    pub fn resource_dir(&self, kind: Kind) -> PathBuf {
        self.root.join("resources").join(kind.as_str())
    }

    /// The file holding resource `name` of `kind`.
    pub fn resource_path(&self, kind: Kind, name: &str) -> PathBuf {
        self.resource_dir(kind)
            .join(format!("{}.json", file_safe(name)))
    }

    /// The stored resource, `None` when absent.
    pub fn get<R: StoredResource>(&self, name: &str) -> Result<Option<R>> {
        read_json_opt(&self.resource_path(R::KIND, name))
    }

    pub fn exists(&self, kind: Kind, name: &str) -> bool {
        self.resource_path(kind, name).is_file()
    }

    /// Writes `r` (replacing any previous one).
    pub fn put<R: StoredResource>(&self, r: &R) -> Result<()> {
        let path = self.resource_path(R::KIND, &r.stored_name());
        let mut text = serde_json::to_string_pretty(r)
            .map_err(|e| StoreError::Invalid(format!("serializing {}: {e}", R::KIND)))?;
        text.push('\n');
        let dir = self.resource_dir(R::KIND);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        self.write_file(&path, text.as_bytes(), 0)
    }

    /// Removes resource `name`; `false` when it was absent.
    pub fn remove<R: StoredResource>(&self, name: &str) -> Result<bool> {
        remove_file_opt(&self.resource_path(R::KIND, name))
    }

    /// Every stored resource of a kind, by name.
    pub fn list<R: StoredResource>(&self) -> Result<Vec<R>> {
        let dir = self.resource_dir(R::KIND);
        let mut out = BTreeMap::new();
        for path in dir_entries(&dir)? {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            if let Some(r) = read_json_opt::<R>(&path)? {
                out.insert(r.stored_name(), r);
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

    // ---- function packages ----------------------------------------------

    pub fn package_dir(&self, function: &str) -> PathBuf {
        self.root.join("packages").join(file_safe(function))
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
        self.code_dir(function).join(crate::package::BOOTSTRAP)
    }

    /// Copies the zip at `zip_path` in as `function`'s package and extracts
    /// it (`bootstrap` mode 0755), replacing the previous one. Returns
    /// Lambda's CodeSha256 of the zip.
    pub fn install_package(&self, function: &str, zip_path: &Path) -> Result<String> {
        let bytes = fs::read(zip_path).map_err(io_err(zip_path))?;
        let sha = crate::package::code_sha256(&bytes);
        let dir = self.package_dir(function);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let suffix = self.temp_suffix();
        let staging = dir.join(format!("code.new-{suffix}"));
        extract_zip(&bytes, zip_path, &staging)?;
        if !staging.join(crate::package::BOOTSTRAP).is_file() {
            let _ = fs::remove_dir_all(&staging);
            return Err(StoreError::Invalid(format!(
                "{}: the package has no `bootstrap` at its root (the provided.al2023 \
                 runtime runs `bootstrap`)",
                zip_path.display()
            )));
        }
        self.write_file(&self.package_zip(function), &bytes, 0)?;
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

    // ---- objects --------------------------------------------------------

    /// Where bytes wait before they become a version (and multipart
    /// uploads their completion): never removed by a delete.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root.join("objects").join(".incoming")
    }

    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join("objects").join(file_safe(bucket))
    }

    fn key_dir(&self, bucket: &str, key: &str) -> PathBuf {
        self.bucket_dir(bucket).join(key_file_name(key))
    }

    /// The file holding one version's bytes.
    pub fn object_data_path(&self, bucket: &str, key: &str, version_id: &str) -> PathBuf {
        self.key_dir(bucket, key)
            .join(format!("{}.data", file_safe(version_id)))
    }

    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.exists(Kind::Bucket, bucket)
    }

    fn bucket(&self, bucket: &str) -> Result<Bucket> {
        self.get::<Bucket>(bucket)?
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))
    }

    fn read_index(&self, bucket: &str, key: &str) -> Result<KeyIndex> {
        let path = self.key_dir(bucket, key).join("versions.json");
        Ok(
            read_json_opt::<KeyIndex>(&path)?.unwrap_or_else(|| KeyIndex {
                key: key.to_owned(),
                versions: Vec::new(),
            }),
        )
    }

    fn write_index(&self, bucket: &str, index: &KeyIndex) -> Result<()> {
        let dir = self.key_dir(bucket, &index.key);
        if index.versions.is_empty() {
            return remove_dir_opt(&dir);
        }
        let text = serde_json::to_vec_pretty(index)
            .map_err(|e| StoreError::Invalid(format!("serializing a version index: {e}")))?;
        self.write_file(&dir.join("versions.json"), &text, 0)
    }

    fn new_version_id(&self, tick: u64) -> String {
        // 32 characters like S3's; time-ordered, so a listing reads in order.
        format!("{tick:016x}{:016x}", random_u64() ^ self.salt)
    }

    /// Stores a new version of `key` (a new version id when the bucket has
    /// versioning, else the `null` version, replaced).
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: &[u8],
        content_type: Option<&str>,
    ) -> Result<ObjectVersion> {
        let b = self.bucket(bucket)?;
        check_key(key)?;
        let tick = self.next_tick();
        let version_id = if b.versioning {
            self.new_version_id(tick)
        } else {
            NULL_VERSION.to_owned()
        };
        // The bytes first, under a temporary name (in a folder no delete
        // removes); then, under the index lock, the rename and the index
        // entry.
        let incoming = self.scratch_dir();
        fs::create_dir_all(&incoming).map_err(io_err(&incoming))?;
        let temp = incoming.join(format!("put-{}", self.temp_suffix()));
        write_plain(&temp, data)?;
        let version = ObjectVersion {
            key: key.to_owned(),
            version_id: version_id.clone(),
            delete_marker: false,
            etag: md5_hex(data),
            size: data.len() as u64,
            last_modified_ms: tick / 1_000_000,
            content_type: content_type.map(str::to_owned),
            sequencer: sequencer(tick),
        };
        let _guard = Self::lock_mutex(&self.objects);
        let dir = self.key_dir(bucket, key);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut index = self.read_index(bucket, key)?;
        index.versions.retain(|v| v.version_id != version_id);
        let data_path = self.object_data_path(bucket, key, &version_id);
        if let Err(e) = fs::rename(&temp, &data_path) {
            let _ = fs::remove_file(&temp);
            return Err(io_err(&data_path)(e));
        }
        index.versions.push(version.clone());
        self.write_index(bucket, &index)?;
        Ok(version)
    }

    /// The latest version (or `version_id`) of `key`, without its bytes.
    pub fn head_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectVersion> {
        if !self.bucket_exists(bucket) {
            return Err(StoreError::NoSuchBucket(bucket.to_owned()));
        }
        let index = self.read_index(bucket, key)?;
        let no_key = || StoreError::NoSuchKey {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        };
        let v = match version_id {
            None => {
                let latest = index.versions.last().ok_or_else(no_key)?;
                if latest.delete_marker {
                    return Err(no_key());
                }
                latest
            }
            Some(id) => {
                let v = index
                    .versions
                    .iter()
                    .find(|v| v.version_id == id)
                    .ok_or_else(|| StoreError::NoSuchVersion {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        version_id: id.to_owned(),
                    })?;
                if v.delete_marker {
                    return Err(StoreError::DeleteMarker {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        version_id: id.to_owned(),
                    });
                }
                v
            }
        };
        Ok(v.clone())
    }

    /// The latest version (or `version_id`) of `key`, with its bytes.
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(ObjectVersion, Vec<u8>)> {
        let v = self.head_object(bucket, key, version_id)?;
        let path = self.object_data_path(bucket, key, &v.version_id);
        match fs::read(&path) {
            Ok(data) => Ok((v, data)),
            // Deleted between the index read and now.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoSuchKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    fn indexes(&self, bucket: &str, prefix: &str) -> Result<Vec<KeyIndex>> {
        if !self.bucket_exists(bucket) {
            return Err(StoreError::NoSuchBucket(bucket.to_owned()));
        }
        let mut out = Vec::new();
        for dir in dir_entries(&self.bucket_dir(bucket))? {
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            // A readable name tells the key without opening the index.
            if !name.starts_with('~')
                && let Some(key) = file_unsafe(name)
                && !key.starts_with(prefix)
            {
                continue;
            }
            if let Some(index) = read_json_opt::<KeyIndex>(&dir.join("versions.json"))?
                && index.key.starts_with(prefix)
                && !index.versions.is_empty()
            {
                out.push(index);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The current version of every key starting with `prefix` that is not
    /// deleted, by key (byte order, as S3 lists).
    pub fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectVersion>> {
        Ok(self
            .indexes(bucket, prefix)?
            .into_iter()
            .filter_map(|mut i| i.versions.pop())
            .filter(|v| !v.delete_marker)
            .collect())
    }

    /// Every version and delete marker of the keys starting with `prefix`:
    /// by key, newest first within a key (as ListObjectVersions).
    pub fn list_object_versions(&self, bucket: &str, prefix: &str) -> Result<Vec<ListedVersion>> {
        let mut out = Vec::new();
        for index in self.indexes(bucket, prefix)? {
            for (i, version) in index.versions.into_iter().rev().enumerate() {
                out.push(ListedVersion {
                    version,
                    is_latest: i == 0,
                });
            }
        }
        Ok(out)
    }

    /// Deletes `key` as S3 does without a version id: a versioned bucket
    /// gets a delete marker; otherwise the `null` version is removed.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<DeleteOutcome> {
        let b = self.bucket(bucket)?;
        if !b.versioning {
            return self.delete_object_version(bucket, key, NULL_VERSION);
        }
        check_key(key)?;
        let tick = self.next_tick();
        let marker = ObjectVersion {
            key: key.to_owned(),
            version_id: self.new_version_id(tick),
            delete_marker: true,
            etag: String::new(),
            size: 0,
            last_modified_ms: tick / 1_000_000,
            content_type: None,
            sequencer: sequencer(tick),
        };
        let _guard = Self::lock_mutex(&self.objects);
        let dir = self.key_dir(bucket, key);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut index = self.read_index(bucket, key)?;
        index.versions.push(marker.clone());
        self.write_index(bucket, &index)?;
        Ok(DeleteOutcome {
            version_id: Some(marker.version_id),
            delete_marker: true,
        })
    }

    /// Removes one version (or delete marker) for good. Absent is fine.
    pub fn delete_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<DeleteOutcome> {
        if !self.bucket_exists(bucket) {
            return Err(StoreError::NoSuchBucket(bucket.to_owned()));
        }
        let _guard = Self::lock_mutex(&self.objects);
        let mut index = self.read_index(bucket, key)?;
        let Some(pos) = index
            .versions
            .iter()
            .position(|v| v.version_id == version_id)
        else {
            return Ok(DeleteOutcome {
                version_id: Some(version_id.to_owned()),
                delete_marker: false,
            });
        };
        let removed = index.versions.remove(pos);
        if !removed.delete_marker {
            remove_file_opt(&self.object_data_path(bucket, key, version_id))?;
        }
        self.write_index(bucket, &index)?;
        Ok(DeleteOutcome {
            version_id: Some(removed.version_id),
            delete_marker: removed.delete_marker,
        })
    }

    /// Removes every object version of `bucket` (the bucket itself stays).
    pub fn empty_bucket(&self, bucket: &str) -> Result<()> {
        let _guard = Self::lock_mutex(&self.objects);
        remove_dir_opt(&self.bucket_dir(bucket))
    }

    // ---- logs -----------------------------------------------------------

    pub fn log_group_dir(&self, group: &str) -> PathBuf {
        self.root.join("logs").join(file_safe(group))
    }

    pub fn log_stream_path(&self, group: &str, stream: &str) -> PathBuf {
        self.log_group_dir(group)
            .join(format!("{}.jsonl", file_safe(stream)))
    }

    /// Events older than this are dropped (the group's retention), if any.
    fn retention_cutoff(&self, group: &str) -> Result<Option<u64>> {
        let g = self
            .get::<LogGroup>(group)?
            .ok_or_else(|| StoreError::NoSuchLogGroup(group.to_owned()))?;
        Ok(g.retention_days.map(|days| {
            let keep = Duration::from_secs(u64::from(days) * 86_400).as_millis() as u64;
            now_millis().saturating_sub(keep)
        }))
    }

    /// Appends `events` to a stream of a log group (the stream is created on
    /// first use; the group must exist). Events past the group's retention
    /// are dropped from the stream.
    pub fn put_log_events(&self, group: &str, stream: &str, events: &[LogEvent]) -> Result<()> {
        let cutoff = self.retention_cutoff(group)?;
        let dir = self.log_group_dir(group);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = self.log_stream_path(group, stream);
        let _guard = Self::lock_mutex(&self.logs);
        let mut kept = read_events(&path)?;
        kept.extend(events.iter().cloned());
        if let Some(cutoff) = cutoff {
            kept.retain(|e| e.timestamp_ms >= cutoff);
        }
        let mut text = Vec::new();
        for e in &kept {
            serde_json::to_writer(&mut text, e)
                .map_err(|e| StoreError::Invalid(format!("serializing a log event: {e}")))?;
            text.push(b'\n');
        }
        self.write_file(&path, &text, 0)
    }

    /// The streams of a log group, by name.
    pub fn list_log_streams(&self, group: &str) -> Result<Vec<String>> {
        if !self.exists(Kind::LogGroup, group) {
            return Err(StoreError::NoSuchLogGroup(group.to_owned()));
        }
        let mut out: Vec<String> = dir_entries(&self.log_group_dir(group))?
            .into_iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?;
                file_unsafe(name.strip_suffix(".jsonl")?)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// A stream's events within retention, in stored order.
    pub fn get_log_events(&self, group: &str, stream: &str) -> Result<Vec<LogEvent>> {
        let cutoff = self.retention_cutoff(group)?;
        let mut events = read_events(&self.log_stream_path(group, stream))?;
        if let Some(cutoff) = cutoff {
            events.retain(|e| e.timestamp_ms >= cutoff);
        }
        Ok(events)
    }

    /// Every stream's events within retention, at or after `since_ms`, by
    /// time (CloudWatch's FilterLogEvents).
    pub fn filter_log_events(
        &self,
        group: &str,
        since_ms: Option<u64>,
    ) -> Result<Vec<StreamEvent>> {
        let mut out = Vec::new();
        for stream in self.list_log_streams(group)? {
            for event in self.get_log_events(group, &stream)? {
                if since_ms.is_none_or(|s| event.timestamp_ms >= s) {
                    out.push(StreamEvent {
                        stream: stream.clone(),
                        event,
                    });
                }
            }
        }
        out.sort_by_key(|e| e.event.timestamp_ms);
        Ok(out)
    }

    /// Removes a log group's events (the group's resource file is separate).
    pub fn remove_log_events(&self, group: &str) -> Result<()> {
        let _guard = Self::lock_mutex(&self.logs);
        remove_dir_opt(&self.log_group_dir(group))
    }

    // ---- files ----------------------------------------------------------

    /// Writes `bytes` to `path` through a temporary sibling and a rename;
    /// `mode` 0 keeps the default permissions.
    fn write_file(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.tmp-{}", self.temp_suffix()));
        write_plain(&temp, bytes)?;
        if mode != 0 {
            set_mode(&temp, mode)?;
        }
        fs::rename(&temp, path).map_err(|e| {
            let _ = fs::remove_file(&temp);
            io_err(path)(e)
        })
    }
}

/// `write_file` for callers without a store (the `.gitignore` at open).
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(
        ".{name}.tmp-{:x}-{:x}",
        std::process::id(),
        random_u64()
    ));
    write_plain(&temp, bytes)?;
    if mode != 0 {
        set_mode(&temp, mode)?;
    }
    fs::rename(&temp, path).map_err(io_err(path))
}

fn write_plain(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(io_err(path))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

fn read_json_opt<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
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

fn read_events(path: &Path) -> Result<Vec<LogEvent>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path)(e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| StoreError::Corrupt {
                path: path.to_owned(),
                message: format!(
                    "line {}: not a log event ({{\"timestamp_ms\": .., \"message\": ..}}): {e}",
                    i + 1
                ),
            })
        })
        .collect()
}

fn remove_file_opt(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn remove_dir_opt(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The entries of `dir` (none when it does not exist), skipping temporary
/// files.
fn dir_entries(dir: &Path) -> Result<Vec<PathBuf>> {
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
        let mode = if rel == Path::new(crate::package::BOOTSTRAP) {
            0o755
        } else {
            entry.unix_mode().map_or(0o644, |m| m & 0o777)
        };
        set_mode(&out, mode)?;
    }
    Ok(())
}

// ---- names ----------------------------------------------------------------

/// A file name for `name`: `[A-Za-z0-9._-]` kept, every other byte `%XX`
/// (a leading `.` too, so no name is hidden, `.` or `..`). Reversible by
/// [`file_unsafe`].
pub fn file_safe(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

/// The name [`file_safe`] encoded; `None` when `s` is not such an encoding.
pub fn file_unsafe(s: &str) -> Option<String> {
    if s == "%" {
        return Some(String::new());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn key_file_name(key: &str) -> String {
    let safe = file_safe(key);
    if safe.len() <= MAX_FILE_NAME {
        safe
    } else {
        format!("~{}", sha256_hex(key.as_bytes()))
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 1024 {
        return Err(StoreError::Invalid(format!(
            "object key of {} bytes: S3 keys are 1 to 1024 bytes",
            key.len()
        )));
    }
    Ok(())
}

// ---- small helpers --------------------------------------------------------

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// S3's event sequencer for a tick: uppercase hex, fixed width, so later
/// events of a key compare greater as strings.
pub fn sequencer(tick: u64) -> String {
    format!("{tick:018X}")
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(crate) fn now_millis() -> u64 {
    now_nanos() / 1_000_000
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
        assert!(key_file_name(&"k".repeat(1024)).starts_with('~'));
    }

    #[test]
    fn sequencers_order_as_strings() {
        assert!(sequencer(9) < sequencer(10));
        assert!(sequencer(0xFFFF) < sequencer(0x1_0000));
    }
}
