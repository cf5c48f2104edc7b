//! CloudWatch Logs: log groups (their retention) and their events, one
//! JSON line per event in `logs/<group>/<stream>.jsonl`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::{
    Record, Result, Store, StoreError, dir_entries, file_safe, file_unsafe, io_err, now_millis,
    remove_dir_opt, write_atomically,
};

/// A log group, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    pub retention_days: Option<u32>,
    pub tags: crate::Tags,
}

impl Record for LogGroup {
    const KIND: &'static str = "log_group";
    fn record_name(&self) -> String {
        self.name.clone()
    }
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

impl Store {
    // ---- logs -----------------------------------------------------------

    pub fn log_group_dir(&self, group: &str) -> PathBuf {
        self.root().join("logs").join(file_safe(group))
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
        let _guard = Store::lock_mutex(&self.logs);
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
        write_atomically(&path, &text)
    }

    /// The streams of a log group, by name.
    pub fn list_log_streams(&self, group: &str) -> Result<Vec<String>> {
        if !self.exists(LogGroup::KIND, group) {
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
        let _guard = Store::lock_mutex(&self.logs);
        remove_dir_opt(&self.log_group_dir(group))
    }
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
