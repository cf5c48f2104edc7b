//! Wall-clock formatting and random identifiers (request ids, log streams,
//! trace ids, version ids) for the whole local cloud, without extra crates.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// UTC civil date and time of a Unix timestamp in milliseconds:
/// (year, month, day, hour, minute, second, millisecond).
pub(crate) fn civil(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    )
}

/// `2024-05-06T07:08:09.123Z`, as Lambda stamps its own log lines.
pub(crate) fn iso8601(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `2024/05/06`, the date part of a Lambda log stream name.
pub(crate) fn stream_date(ms: i64) -> String {
    let (y, mo, d, ..) = civil(ms);
    format!("{y:04}/{mo:02}/{d:02}")
}

/// 64 random bits (std's randomly keyed SipHash over a counter and the
/// clock: unique and unpredictable enough for identifiers, not for secrets).
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A version-4 UUID, the shape of Lambda's request ids and EventBridge's
/// event ids.
pub(crate) fn request_id() -> String {
    let hi = (random_u64() & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (random_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// `YYYY/MM/DD/[$LATEST]<32 hex>`, Lambda's log stream name for one
/// execution environment.
pub(crate) fn log_stream_name(now_ms: i64) -> String {
    format!(
        "{}/[$LATEST]{:016x}{:016x}",
        stream_date(now_ms),
        random_u64(),
        random_u64()
    )
}

/// An X-Ray trace header (`Root=1-<epoch hex>-<24 hex>;Parent=..;Sampled=0`).
pub(crate) fn trace_id(now_ms: i64) -> String {
    format!(
        "Root=1-{:08x}-{:08x}{:016x};Parent={:016x};Sampled=0",
        now_ms / 1000,
        random_u64() as u32,
        random_u64(),
        random_u64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.999Z (leap day)
        assert_eq!(iso8601(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(stream_date(1_709_251_200_000), "2024/03/01");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn ids_have_lambda_shapes() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(request_id(), request_id());
        let stream = log_stream_name(0);
        assert!(stream.starts_with("1970/01/01/[$LATEST]"), "{stream}");
        assert_eq!(stream.len(), "1970/01/01/[$LATEST]".len() + 32);
    }
}
