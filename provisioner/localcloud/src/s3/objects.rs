//! Object versions on disk: `objects/<bucket>/<key>/versions.json` (the
//! key's versions, oldest first) and `<version>.data` (one version's
//! bytes). An object key whose encoding would be longer than
//! [`MAX_FILE_NAME`] is stored under `~<sha256 of the key>`; its
//! `versions.json` names the key either way.

use std::fs;
use std::io;
use std::path::PathBuf;

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Bucket;
use crate::clock::random_u64;
use crate::store::{
    Record as _, Result, Store, StoreError, dir_entries, file_safe, file_unsafe, hex, io_err,
    read_json_opt, remove_dir_opt, remove_file_opt, write_atomically,
};

/// Longest file name written for an object key (Linux allows 255 bytes).
pub const MAX_FILE_NAME: usize = 200;

/// What S3 calls the version of an object written while versioning is off.
pub const NULL_VERSION: &str = "null";

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
    /// The flexible checksum the writer sent, verified on receipt; S3
    /// returns it to readers that ask (`x-amz-checksum-mode: ENABLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

/// A verified object checksum: the algorithm as S3 names it (`CRC32`,
/// `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`) and the base64 value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
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

/// Bytes being received for a new version ([`Store::incoming_object`]).
#[derive(Debug)]
pub struct IncomingObject {
    file: tempfile::NamedTempFile,
    /// `None` once bytes were appended unhashed.
    md5: Option<Md5>,
    size: u64,
    /// Verified by the receiver; kept with the version.
    pub checksum: Option<Checksum>,
}

impl IncomingObject {
    /// Appends and hashes `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        self.write_unhashed(bytes)
    }

    /// Appends a whole file (a multipart upload's part) without hashing it:
    /// the commit then needs the ETag.
    pub fn append_file(&mut self, path: &std::path::Path) -> Result<()> {
        self.md5 = None;
        let mut part = fs::File::open(path).map_err(io_err(path))?;
        // std's copy uses copy_file_range on Linux: no pass through memory.
        let n = io::copy(&mut part, self.file.as_file_mut()).map_err(io_err(path))?;
        self.size += n;
        Ok(())
    }

    /// Another handle on the scratch file, for writes at given offsets
    /// (a multipart upload's parts, each in its place, several at once).
    pub fn positional(&self) -> Result<fs::File> {
        self.file
            .as_file()
            .try_clone()
            .map_err(io_err(self.file.path()))
    }

    /// Appends `len` bytes of `from` (at `path`) from `offset`, unhashed.
    pub fn append_range(
        &mut self,
        from: &fs::File,
        path: &std::path::Path,
        offset: u64,
        len: u64,
    ) -> Result<()> {
        use io::{Read as _, Seek as _};
        self.md5 = None;
        let mut from = from.try_clone().map_err(io_err(path))?;
        from.seek(io::SeekFrom::Start(offset))
            .map_err(io_err(path))?;
        let n = io::copy(&mut from.take(len), self.file.as_file_mut()).map_err(io_err(path))?;
        if n != len {
            return Err(StoreError::Invalid(format!(
                "{}: {n} bytes at {offset}, not {len}",
                path.display()
            )));
        }
        self.size += n;
        Ok(())
    }

    /// The first `len` bytes, as written at their offsets, are the
    /// object's (unhashed: the commit needs the ETag).
    pub fn assembled(mut self, len: u64) -> Result<Self> {
        self.file
            .as_file()
            .set_len(len)
            .map_err(io_err(self.file.path()))?;
        self.size = len;
        self.md5 = None;
        Ok(self)
    }

    fn write_unhashed(&mut self, bytes: &[u8]) -> Result<()> {
        use std::io::Write as _;
        self.file
            .as_file_mut()
            .write_all(bytes)
            .map_err(io_err(self.file.path()))?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The MD5 hex of what was written (`None` after [`Self::append_file`]).
    pub fn md5_hex(&self) -> Option<String> {
        self.md5.as_ref().map(|m| hex(&m.clone().finalize()))
    }

    /// Keeps the bytes at `path` instead of making a version (a multipart
    /// upload's part).
    pub fn persist(self, path: &std::path::Path) -> Result<()> {
        self.file
            .persist(path)
            .map_err(|e| io_err(path)(e.error))
            .map(drop)
    }
}

/// The index of one key: every version, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KeyIndex {
    key: String,
    versions: Vec<ObjectVersion>,
}

impl Store {
    // ---- objects --------------------------------------------------------

    /// Where bytes wait before they become a version (and multipart
    /// uploads their completion): never removed by a delete.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root().join("objects").join(".incoming")
    }

    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root().join("objects").join(file_safe(bucket))
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
        self.exists(Bucket::KIND, bucket)
    }

    pub(crate) fn bucket(&self, bucket: &str) -> Result<Bucket> {
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
        write_atomically(&dir.join("versions.json"), &text)
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
        // commit_object checks the bucket; an uncommitted scratch file is
        // removed when dropped.
        let mut incoming = self.incoming_object()?;
        incoming.write(data)?;
        self.commit_object(incoming, bucket, key, content_type, None)
    }

    /// A scratch file for bytes on their way to becoming a version: they
    /// are written and hashed as they arrive, so no object is ever held
    /// whole in memory. Dropped uncommitted, the file is removed.
    pub fn incoming_object(&self) -> Result<IncomingObject> {
        let dir = self.scratch_dir();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let file = tempfile::Builder::new()
            .prefix("put-")
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        Ok(IncomingObject {
            file,
            md5: Some(Md5::new()),
            size: 0,
            checksum: None,
        })
    }

    /// Makes `incoming` the new version of `key` (see [`Store::put_object`]).
    /// `etag` overrides the content's MD5 (a multipart upload's
    /// `md5-of-part-md5s-N`); it is required once bytes were appended
    /// unhashed.
    pub fn commit_object(
        &self,
        incoming: IncomingObject,
        bucket: &str,
        key: &str,
        content_type: Option<&str>,
        etag: Option<String>,
    ) -> Result<ObjectVersion> {
        let b = self.bucket(bucket)?;
        check_key(key)?;
        let etag = etag.or_else(|| incoming.md5_hex()).ok_or_else(|| {
            StoreError::Invalid("an object built from parts needs its ETag".into())
        })?;
        let tick = self.next_tick();
        let version_id = if b.versioning {
            self.new_version_id(tick)
        } else {
            NULL_VERSION.to_owned()
        };
        let version = ObjectVersion {
            key: key.to_owned(),
            version_id: version_id.clone(),
            delete_marker: false,
            etag,
            size: incoming.size,
            last_modified_ms: tick / 1_000_000,
            content_type: content_type.map(str::to_owned),
            sequencer: sequencer(tick),
            checksum: incoming.checksum.clone(),
        };
        // The bytes are in the scratch folder (which no delete removes);
        // under the index lock, the rename and the index entry.
        let _guard = Store::lock_mutex(&self.objects);
        let dir = self.key_dir(bucket, key);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut index = self.read_index(bucket, key)?;
        index.versions.retain(|v| v.version_id != version_id);
        let data_path = self.object_data_path(bucket, key, &version_id);
        incoming
            .file
            .persist(&data_path)
            .map_err(|e| io_err(&data_path)(e.error))?;
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

    /// The latest version (or `version_id`) of `key`, with its file opened
    /// for reading (streamed, never read whole).
    pub fn open_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(ObjectVersion, fs::File)> {
        let v = self.head_object(bucket, key, version_id)?;
        let path = self.object_data_path(bucket, key, &v.version_id);
        match fs::File::open(&path) {
            Ok(file) => Ok((v, file)),
            // Deleted between the index read and now.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoSuchKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            Err(e) => Err(io_err(&path)(e)),
        }
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
            checksum: None,
        };
        let _guard = Store::lock_mutex(&self.objects);
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
        let _guard = Store::lock_mutex(&self.objects);
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
        let _guard = Store::lock_mutex(&self.objects);
        remove_dir_opt(&self.bucket_dir(bucket))
    }
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

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// S3's event sequencer for a tick: uppercase hex, fixed width, so later
/// events of a key compare greater as strings.
pub fn sequencer(tick: u64) -> String {
    format!("{tick:018X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_get_a_hashed_folder() {
        assert!(key_file_name(&"k".repeat(1024)).starts_with('~'));
        assert_eq!(key_file_name("in/a.csv"), "in%2Fa.csv");
    }

    #[test]
    fn sequencers_order_as_strings() {
        assert!(sequencer(9) < sequencer(10));
        assert!(sequencer(0xFFFF) < sequencer(0x1_0000));
    }
}
