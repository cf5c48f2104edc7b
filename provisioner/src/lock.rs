//! The run lock: one `up`, `down` or `unlock` at a time per stack and
//! target.
//!
//! The protocol lives here; each target supplies a [`LockStore`], one
//! record with compare-and-swap writes (S3 conditional writes on AWS, a
//! guarded file locally), so every transition is atomic:
//!
//! - acquire: create only if absent (`If-None-Match: *`);
//! - take over a stale lock: replace only if unchanged (`If-Match` on the
//!   ETag read), so of two runs taking over the same stale lock one wins;
//! - renew (a heartbeat every `ttl / 5`) and release: `If-Match` too, so a
//!   run whose lock was taken over never deletes the newer holder's.
//!
//! A lock is stale when it expired (its holder stopped renewing it) or when
//! its holder was a process of this host that no longer runs.
//!
//! The record also carries the run's journal: the resources it began to
//! create. A run killed between creating a resource and tagging it leaves
//! the entry behind, and the next run (taking the stale lock over) may
//! finish that resource instead of calling it someone else's.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::ResourceId;
use crate::provider::ProviderError;

/// How long a lock lives without a heartbeat, unless `STACKCTL_LOCK_TTL`
/// (seconds) says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The record's format, so that a foreign or future file is refused.
const FORMAT: &str = "stackctl-lock/1";

/// The lock record, as stored (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub format: String,
    /// Random, one per run: tells two holders apart.
    pub id: String,
    pub stack: String,
    /// Where the lock is: the target's description.
    pub target: String,
    pub host: String,
    pub pid: u32,
    /// The process's start time (Linux clock ticks since boot), so that a
    /// reused pid is not taken for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    pub command: String,
    /// When the holder took the lock (ms since the epoch).
    pub since_ms: u64,
    /// When it lapses unless renewed; 0 for a released lock that only
    /// keeps a journal.
    pub expires_ms: u64,
    /// Creates begun and not yet known to be finished (see the module doc).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub pending: BTreeSet<ResourceId>,
}

impl LockRecord {
    /// Held by someone alive, as far as anyone can tell.
    pub fn is_live(&self, now_ms: u64) -> bool {
        if self.expires_ms <= now_ms {
            return false;
        }
        // A dead process on this very host holds nothing.
        if self.host == this_host() && !process_alive(self.pid, self.pid_start) {
            return false;
        }
        true
    }

    /// "host h, pid 12, `stackctl up`, since 2026-12-01T20:00:00Z".
    pub fn holder(&self) -> String {
        format!(
            "host {}, pid {}, `{}`, since {}",
            self.host,
            self.pid,
            self.command,
            utc(self.since_ms)
        )
    }
}

pub use crate::provider::LockStore;

/// Why a lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "stack `{stack}` is locked by {holder} (lock {location}, expires {expires}); another run \
         may be changing it. Wait and retry, pass --lock-timeout 2m to wait for it, or, if that \
         run is gone, break the lock with `stackctl unlock`"
    )]
    Held {
        stack: String,
        holder: String,
        location: String,
        expires: String,
    },
    #[error(
        "the lock {location} does not hold a stackctl lock record ({reason}); nothing was changed. Remove it by hand if it is not a lock"
    )]
    Foreign { location: String, reason: String },
    /// Boxed: a provider error is large, and lock errors travel far.
    #[error(transparent)]
    Provider(Box<ProviderError>),
}

impl From<ProviderError> for LockError {
    fn from(e: ProviderError) -> Self {
        LockError::Provider(Box::new(e))
    }
}

/// Who is asking, for the record.
#[derive(Debug, Clone)]
pub struct Holder {
    pub stack: String,
    pub target: String,
    pub command: String,
    pub ttl: Duration,
}

impl Holder {
    pub fn new(stack: &str, target: &str, command: &str) -> Self {
        Self {
            stack: stack.to_owned(),
            target: target.to_owned(),
            command: command.to_owned(),
            ttl: ttl_from_env(),
        }
    }

    fn record(&self, now_ms: u64, pending: BTreeSet<ResourceId>) -> LockRecord {
        LockRecord {
            format: FORMAT.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            stack: self.stack.clone(),
            target: self.target.clone(),
            host: this_host(),
            pid: std::process::id(),
            pid_start: process_start(std::process::id()),
            command: self.command.clone(),
            since_ms: now_ms,
            expires_ms: now_ms + self.ttl.as_millis() as u64,
            pending,
        }
    }
}

/// The lock's TTL: `STACKCTL_LOCK_TTL` seconds, else [`DEFAULT_TTL`].
fn ttl_from_env() -> Duration {
    std::env::var("STACKCTL_LOCK_TTL")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_TTL, Duration::from_secs)
}

/// Parses and checks a stored record.
pub fn parse_record(location: &str, body: &[u8]) -> Result<LockRecord, LockError> {
    let record: LockRecord = serde_json::from_slice(body).map_err(|e| LockError::Foreign {
        location: location.to_owned(),
        reason: e.to_string(),
    })?;
    if record.format != FORMAT {
        return Err(LockError::Foreign {
            location: location.to_owned(),
            reason: format!("format `{}`, expected `{FORMAT}`", record.format),
        });
    }
    Ok(record)
}

fn encode(record: &LockRecord) -> Vec<u8> {
    serde_json::to_vec_pretty(record).unwrap_or_default()
}

/// What [`acquire`] found on its way.
#[derive(Debug, Clone, Default)]
pub struct Acquired {
    /// The stale lock taken over, if any.
    pub took_over: Option<LockRecord>,
}

/// A held lock. Renewed in the background until [`LockGuard::release`];
/// dropping it without releasing leaves the record to expire.
pub struct LockGuard<S: LockStore> {
    store: Arc<S>,
    /// The record and its ETag; held across each write, so the heartbeat
    /// and the journal's writes never race each other's `If-Match`.
    state: Arc<tokio::sync::Mutex<(LockRecord, String)>>,
    lost: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
    ttl: Duration,
    pub acquired: Acquired,
}

impl<S: LockStore> fmt::Debug for LockGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("location", &self.store.location())
            .finish()
    }
}

/// Takes the lock, waiting up to `wait` for a live holder to let go (zero:
/// fail at once). A stale lock is taken over, its journal inherited.
pub async fn acquire<S: LockStore>(
    store: Arc<S>,
    holder: &Holder,
    wait: Duration,
) -> Result<LockGuard<S>, LockError> {
    let deadline = tokio::time::Instant::now() + wait;
    let location = store.location();
    loop {
        let now = now_ms();
        let fresh = holder.record(now, BTreeSet::new());
        if let Some(etag) = store.create(&encode(&fresh)).await? {
            return Ok(guard(store, holder, fresh, etag, Acquired::default()));
        }
        // Someone's record is there: live, stale, or just released.
        if let Some((body, etag)) = store.read().await? {
            let held = parse_record(&location, &body)?;
            if !held.is_live(now) {
                let mine = holder.record(now, held.pending.clone());
                if let Some(etag) = store.replace(&etag, &encode(&mine)).await? {
                    let acquired = Acquired {
                        took_over: Some(held),
                    };
                    return Ok(guard(store, holder, mine, etag, acquired));
                }
                // Another run took it over first: look again.
                continue;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LockError::Held {
                    stack: holder.stack.clone(),
                    holder: held.holder(),
                    location,
                    expires: utc(held.expires_ms),
                });
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(left.min(Duration::from_millis(500))).await;
    }
}

fn guard<S: LockStore>(
    store: Arc<S>,
    holder: &Holder,
    record: LockRecord,
    etag: String,
    acquired: Acquired,
) -> LockGuard<S> {
    let state = Arc::new(tokio::sync::Mutex::new((record, etag)));
    let lost = Arc::new(AtomicBool::new(false));
    let every = (holder.ttl / 5).max(Duration::from_millis(200));
    let ttl = holder.ttl;
    let heartbeat = {
        let (store, state, lost) = (store.clone(), state.clone(), lost.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let mut held = state.lock().await;
                let mut record = held.0.clone();
                record.expires_ms = now_ms() + ttl.as_millis() as u64;
                match store.replace(&held.1, &encode(&record)).await {
                    Ok(Some(new)) => *held = (record, new),
                    // Taken over: this run no longer holds it.
                    Ok(None) => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A failed renewal is retried at the next beat; the
                    // lock lasts `ttl`, several beats.
                    Err(_) => {}
                }
            }
        })
    };
    LockGuard {
        store,
        state,
        lost,
        heartbeat,
        ttl,
        acquired,
    }
}

impl<S: LockStore> LockGuard<S> {
    /// The journal inherited from a stale lock and added since.
    pub async fn pending(&self) -> BTreeSet<ResourceId> {
        self.state.lock().await.0.pending.clone()
    }

    /// False once another run took the lock over (this run was thought
    /// dead): the caller must stop changing things.
    pub fn is_held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
    }

    /// Replaces the journal, before the calls it covers.
    pub async fn set_pending(&self, pending: BTreeSet<ResourceId>) -> Result<(), LockError> {
        let mut held = self.state.lock().await;
        if held.0.pending == pending {
            return Ok(());
        }
        let mut record = held.0.clone();
        record.pending = pending;
        record.expires_ms = now_ms() + self.ttl.as_millis() as u64;
        match self.store.replace(&held.1, &encode(&record)).await? {
            Some(new) => {
                *held = (record, new);
                Ok(())
            }
            None => {
                self.lost.store(true, Ordering::SeqCst);
                Err(self.lost_error())
            }
        }
    }

    fn lost_error(&self) -> LockError {
        ProviderError::Conflict {
            resource: format!("lock {}", self.store.location()),
            message: "another run took this run's lock over (it was thought dead); this run \
                      stopped changing things. Run `stackctl diff` to see where the stack is"
                .into(),
        }
        .into()
    }

    /// Lets go: deletes the record, or, when the journal still names
    /// unfinished creates, leaves a released record holding only the
    /// journal. Never removes another run's record (`If-Match`).
    pub async fn release(mut self) -> Result<(), LockError> {
        self.heartbeat.abort();
        let _ = (&mut self.heartbeat).await;
        if !self.is_held() {
            return Err(self.lost_error());
        }
        let (mut record, etag) = self.state.lock().await.clone();
        let released = if record.pending.is_empty() {
            self.store.delete(&etag).await?
        } else {
            record.expires_ms = 0;
            self.store.replace(&etag, &encode(&record)).await?.is_some()
        };
        if released {
            Ok(())
        } else {
            Err(self.lost_error())
        }
    }
}

/// What [`read_holder`] found: a live holder, or nothing to worry about.
pub async fn read_holder<S: LockStore>(store: &S) -> Result<Option<LockRecord>, LockError> {
    match store.read().await? {
        None => Ok(None),
        Some((body, _)) => {
            let record = parse_record(&store.location(), &body)?;
            Ok(record.is_live(now_ms()).then_some(record))
        }
    }
}

/// Breaks the lock `expected` (as read before asking), whatever its state,
/// keeping its journal (as a released record) when it has one. False when
/// the lock is gone or changed meanwhile (another holder): then nothing is
/// broken (`If-Match` on what is read).
pub async fn break_lock<S: LockStore>(store: &S, expected: &LockRecord) -> Result<bool, LockError> {
    let Some((body, etag)) = store.read().await? else {
        return Ok(false);
    };
    let mut record = parse_record(&store.location(), &body)?;
    if record.id != expected.id {
        return Ok(false);
    }
    if record.pending.is_empty() {
        return Ok(store.delete(&etag).await?);
    }
    record.expires_ms = 0;
    Ok(store.replace(&etag, &encode(&record)).await?.is_some())
}

/// The record there is, live or not (for `unlock`).
pub async fn read_any<S: LockStore>(store: &S) -> Result<Option<LockRecord>, LockError> {
    match store.read().await? {
        None => Ok(None),
        Some((body, _)) => Ok(Some(parse_record(&store.location(), &body)?)),
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-12-01T20:00:00Z`.
pub fn utc(ms: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// This machine's name, as the lock records it.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// A process's start time in clock ticks since boot (`/proc/<pid>/stat`,
/// field 22), where the platform tells.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is `pid` (started at `start`) still running here? Where `/proc` is
/// missing nothing can be told, so the answer is yes (the lock then lapses
/// by its expiry only).
fn process_alive(pid: u32, start: Option<u64>) -> bool {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    match (process_start(pid), start) {
        (None, _) => false,
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
    }
}

/// Parses `--lock-timeout`: `0`, `90s`, `2m`, `1h30m` (humantime).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{text}` is not a duration ({e}); use for example 30s, 2m or 1h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_or_say_what_is_allowed() {
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(parse_timeout("1h30m"), Ok(Duration::from_secs(5400)));
        let err = parse_timeout("soon").expect_err("not a duration");
        assert!(err.contains("`soon` is not a duration"), "{err}");
        assert!(err.contains("2m"), "{err}");
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id();
        let start = process_start(me);
        assert!(process_alive(me, start));
        if let Some(s) = start {
            assert!(!process_alive(me, Some(s + 1)), "another start time");
        }
    }

    #[test]
    fn foreign_records_are_refused_by_name() {
        let err = parse_record("x.json", b"{\"hello\": 1}").expect_err("foreign");
        assert!(
            err.to_string()
                .contains("x.json does not hold a stackctl lock"),
            "{err}"
        );
    }
}
