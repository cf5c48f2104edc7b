//! `stackctl logs <function> [--follow]`: the function's log group, through
//! the target's `Functions::log_events` (CloudWatch Logs, or the local
//! cloud's store).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use super::Session;
use crate::output::Printer;
use crate::provider::Cloud;
use crate::spec::Target;

const POLL: Duration = Duration::from_secs(1);
/// One log event: timestamp (ms), stream, message.
type Event = (u64, String, String);

/// What `--follow` has printed, so that overlapping polls print every event
/// exactly once, late ones included.
struct Follower {
    /// Printed events (counted: a stream may log the same line twice in the
    /// same millisecond) no older than the lookback window.
    printed: std::collections::HashMap<Event, usize>,
    newest: Option<u64>,
    lookback_ms: u64,
}

impl Follower {
    fn new(lookback_ms: u64) -> Self {
        Self {
            printed: Default::default(),
            newest: None,
            lookback_ms,
        }
    }

    /// The events of one poll not printed before, oldest first; events of
    /// the same millisecond keep the order they were stored in.
    fn take_new(&mut self, mut events: Vec<Event>) -> Vec<Event> {
        events.sort_by_key(|e| e.0);
        let mut this_poll: std::collections::HashMap<&Event, usize> = Default::default();
        let mut fresh = Vec::new();
        for e in &events {
            let n = this_poll.entry(e).or_default();
            *n += 1;
            let done = self.printed.get(e).copied().unwrap_or(0);
            if *n > done {
                fresh.push(e.clone());
            }
        }
        for e in &fresh {
            *self.printed.entry(e.clone()).or_default() += 1;
        }
        if let Some(max) = events.iter().map(|e| e.0).max() {
            self.newest = Some(self.newest.map_or(max, |n| n.max(max)));
        }
        if let Some(from) = self.since() {
            self.printed.retain(|e, _| e.0 >= from);
        }
        fresh
    }

    /// Where the next poll starts: the lookback window before the newest
    /// event seen.
    fn since(&self) -> Option<u64> {
        self.newest.map(|n| n.saturating_sub(self.lookback_ms))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub async fn run(
    session: &Session,
    printer: &Printer,
    function: &str,
    follow: bool,
    since_minutes: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if !session.stack.functions.contains_key(function) {
        bail!("no function `{function}` in stack {}", session.stack.name);
    }
    let args = (function, follow, since_minutes);
    match session.target {
        Target::Aws { .. } => run_on(session, printer, args, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, args, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    (function, follow, since_minutes): (&str, bool, Option<u64>),
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let group = session.stack.log_group_name(function);
    // Saturating: `--since` longer than the clock's age means everything.
    let floor = since_minutes.map(|m| now_ms().saturating_sub(m.saturating_mul(60_000)));
    let mut since = floor;
    // `--stats`: the calls made, when the command ends.
    let finish = || {
        if session.stats {
            printer.stats(&cloud.stats());
        }
        Ok(ExitCode::SUCCESS)
    };
    let mut follower = Follower::new(cloud.log_lookback_ms());
    loop {
        let events: Vec<Event> = cloud
            .log_events(&group, since)
            .await
            .with_context(|| format!("reading {group}"))?
            .into_iter()
            .map(|e| (e.timestamp_ms, e.stream, e.message))
            .collect();
        for (ts, stream, message) in follower.take_new(events) {
            let line = format!(
                "{} {stream} {}",
                humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ts)),
                message.trim_end()
            );
            printer.line(&line);
        }
        // Never earlier than the user's `--since`.
        since = match (follower.since(), floor) {
            (Some(window), Some(floor)) => Some(window.max(floor)),
            (window, floor) => window.or(floor),
        };
        if !follow {
            return finish();
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL_LOOKBACK_MS: u64 = 16 * 60 * 1000;
    const AWS_LOOKBACK_MS: u64 = 60 * 1000;

    fn ev(ts: u64, stream: &str, message: &str) -> Event {
        (ts, stream.to_owned(), message.to_owned())
    }

    #[test]
    fn follow_prints_every_event_once_late_ones_included() {
        let mut f = Follower::new(LOCAL_LOOKBACK_MS);
        let first = vec![ev(20_000, "b", "START b"), ev(10_000, "a", "START a")];
        assert_eq!(
            f.take_new(first.clone()),
            [ev(10_000, "a", "START a"), ev(20_000, "b", "START b")]
        );
        // The next poll sees the same events again plus one stored late,
        // older than the newest printed (an invocation that ended later).
        let mut second = first;
        second.push(ev(15_000, "a", "END a"));
        assert_eq!(f.take_new(second.clone()), [ev(15_000, "a", "END a")]);
        assert_eq!(f.take_new(second), []);
        assert_eq!(f.since(), Some(0));
    }

    #[test]
    fn the_same_line_twice_in_one_millisecond_is_printed_twice() {
        let mut f = Follower::new(LOCAL_LOOKBACK_MS);
        let twice = vec![ev(5, "s", "tick"), ev(5, "s", "tick")];
        assert_eq!(f.take_new(twice.clone()).len(), 2);
        assert_eq!(f.take_new(twice).len(), 0);
    }

    #[test]
    fn the_window_moves_with_the_newest_event_and_forgets_older_ones() {
        let mut f = Follower::new(AWS_LOOKBACK_MS);
        f.take_new(vec![ev(1_000, "s", "old")]);
        let newest = 1_000 + AWS_LOOKBACK_MS + 5;
        f.take_new(vec![ev(newest, "s", "new")]);
        assert_eq!(f.since(), Some(1_005));
        assert!(f.printed.keys().all(|e| e.0 >= 1_005));
    }

    #[test]
    fn lines_of_one_millisecond_keep_their_stored_order() {
        let mut f = Follower::new(LOCAL_LOOKBACK_MS);
        let stored = vec![
            ev(7, "s", "RequestId: r Error: boom"),
            ev(7, "s", "END RequestId: r"),
            ev(7, "s", "REPORT RequestId: r"),
            ev(3, "s", "START RequestId: r"),
        ];
        let printed: Vec<String> = f.take_new(stored).into_iter().map(|e| e.2).collect();
        assert_eq!(
            printed,
            [
                "START RequestId: r",
                "RequestId: r Error: boom",
                "END RequestId: r",
                "REPORT RequestId: r"
            ]
        );
    }
}
