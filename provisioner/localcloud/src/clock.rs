//! The local cloud's one clock and its identifiers: UTC formatting on the
//! `time` crate, and request ids, event ids, version ids, log streams and
//! trace ids from `uuid`'s v4 randomness.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn utc(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-06T07:08:09.123Z`, as Lambda stamps its log lines and S3 its
/// events' `eventTime`.
pub fn iso8601(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2024-05-06T07:08:09Z`, EventBridge's `time`.
pub fn iso8601_seconds(ms: i64) -> String {
    let mut s = iso8601(ms);
    s.replace_range(19..23, "");
    s
}

/// `2024/05/06`, the date part of a Lambda log stream name.
pub fn stream_date(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}/{:02}/{:02}", t.year(), u8::from(t.month()), t.day())
}

/// 64 random bits (from a v4 UUID's 122).
pub fn random_u64() -> u64 {
    let (hi, lo) = uuid::Uuid::new_v4().as_u64_pair();
    hi ^ lo.rotate_left(29)
}

/// A version-4 UUID, the shape of Lambda's request ids and EventBridge's
/// event ids.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `YYYY/MM/DD/[$LATEST]<32 hex>`, Lambda's log stream name for one
/// execution environment.
pub fn log_stream_name(now_ms: i64) -> String {
    format!(
        "{}/[$LATEST]{}",
        stream_date(now_ms),
        uuid::Uuid::new_v4().simple()
    )
}

/// An X-Ray trace header (`Root=1-<epoch hex>-<24 hex>;Parent=..;Sampled=0`).
pub fn trace_id(now_ms: i64) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={:016x};Sampled=0",
        now_ms / 1000,
        &id[..24],
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
        assert_eq!(iso8601(1_795_600_800_123), "2026-11-25T10:00:00.123Z");
        assert_eq!(iso8601_seconds(1_795_600_800_123), "2026-11-25T10:00:00Z");
        assert_eq!(iso8601_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
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
        let trace = trace_id(1_000_000);
        assert!(trace.starts_with("Root=1-000003e8-"), "{trace}");
        assert_eq!(
            trace.len(),
            "Root=1-000003e8-".len() + 24 + ";Parent=".len() + 16 + ";Sampled=0".len()
        );
    }
}
