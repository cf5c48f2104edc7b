//! The local target's run lock: one JSON file per stack,
//! `<dir>/locks/<stack>.json`, with the compare-and-swap semantics of S3
//! conditional writes. Each operation holds an OS file lock on a sibling
//! `.guard` file while it compares and writes, so two processes never
//! interleave; the write itself is a temporary file renamed over the
//! record. The ETag is the SHA-256 of the record's bytes.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::provider::LockStore;
use crate::provider::ProviderError;

#[derive(Debug, Clone)]
pub struct LocalLock {
    path: PathBuf,
}

impl LocalLock {
    /// The lock of `stack` in the local cloud kept in `root`.
    pub fn new(root: &std::path::Path, stack: &str) -> Self {
        Self {
            path: root.join("locks").join(format!("{stack}.json")),
        }
    }

    fn err(&self, what: &str, e: std::io::Error) -> ProviderError {
        ProviderError::Other(format!("lock {}: {what}: {e}", self.path.display()))
    }

    /// Runs `f` holding the guard file's exclusive OS lock.
    fn guarded<T>(&self, f: impl FnOnce() -> Result<T, ProviderError>) -> Result<T, ProviderError> {
        let dir = self.path.parent().unwrap_or(&self.path);
        fs::create_dir_all(dir).map_err(|e| self.err("creating its folder", e))?;
        let guard = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.with_extension("json.guard"))
            .map_err(|e| self.err("opening its guard", e))?;
        guard.lock().map_err(|e| self.err("locking its guard", e))?;
        let out = f();
        let _ = guard.unlock();
        out
    }

    fn current(&self) -> Result<Option<(Vec<u8>, String)>, ProviderError> {
        match fs::read(&self.path) {
            Ok(body) => {
                let etag = etag(&body);
                Ok(Some((body, etag)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("reading it", e)),
        }
    }

    fn write(&self, body: &[u8]) -> Result<String, ProviderError> {
        crate::atomic::write(&self.path, body).map_err(|e| self.err("writing it", e))?;
        Ok(etag(body))
    }
}

fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl LockStore for LocalLock {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn read(&self) -> Result<Option<(Vec<u8>, String)>, ProviderError> {
        self.current()
    }

    async fn create(&self, body: &[u8]) -> Result<Option<String>, ProviderError> {
        self.guarded(|| match self.current()? {
            Some(_) => Ok(None),
            None => self.write(body).map(Some),
        })
    }

    async fn replace(&self, etag: &str, body: &[u8]) -> Result<Option<String>, ProviderError> {
        self.guarded(|| match self.current()? {
            Some((_, now)) if now == etag => self.write(body).map(Some),
            _ => Ok(None),
        })
    }

    async fn delete(&self, etag: &str) -> Result<bool, ProviderError> {
        self.guarded(|| match self.current()? {
            Some((_, now)) if now == etag => {
                fs::remove_file(&self.path).map_err(|e| self.err("removing it", e))?;
                Ok(true)
            }
            _ => Ok(false),
        })
    }
}
