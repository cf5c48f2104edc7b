//! The naming and value rules of stack.yaml, as pure functions.

/// Memory sizes Lambda accepts, in MB.
pub const MEMORY_MB: std::ops::RangeInclusive<i64> = 128..=10240;
/// Timeouts Lambda accepts, in seconds.
pub const TIMEOUT_S: std::ops::RangeInclusive<i64> = 1..=900;

/// The retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The event types an S3 bucket notification accepts (AWS "Event
/// notification types and destinations").
pub const S3_EVENT_TYPES: [&str; 27] = [
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

pub fn is_s3_event_type(e: &str) -> bool {
    S3_EVENT_TYPES.contains(&e)
}

/// Maximum length of an S3 key filter value (prefix or suffix).
pub const MAX_FILTER_LEN: usize = 1024;
/// Lambda's limit on the total size of a function's environment.
pub const MAX_ENV_BYTES: usize = 4096;
/// Maximum length of a Lambda function name, IAM role name and EventBridge
/// rule name.
pub const MAX_NAME_LEN: usize = 64;

/// Environment variable names Lambda reserves that do not start with `AWS_`.
pub const RESERVED_ENV: [&str; 3] = ["LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER"];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Stack name: `[a-z0-9-]`, 1..=32, not starting or ending with `-`.
pub fn stack_name_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if s.len() > 32 {
        return Some("is longer than 32 characters");
    }
    if !s.chars().all(|c| is_lower_alnum(c) || c == '-') {
        return Some("has characters other than a-z, 0-9 and `-`");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// Cargo profile names: letters, digits, `-`, `_`, and none of cargo's names
/// that are not profiles to ship with. Cargo has a few more rules of its own
/// (reserved words such as `build`); it reports those when it builds.
pub fn cargo_profile_problem(s: &str) -> Option<&'static str> {
    // The same characters as a cargo target name.
    binary_problem(s).or_else(|| {
        ["debug", "test", "bench", "doc", "check"]
            .contains(&s)
            .then_some("is a name cargo reserves, not a profile to package with")
    })
}

/// Bucket and function ids: `[a-z][a-z0-9-]*`, at most 32, not ending in `-`.
pub fn id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if s.len() > 32 {
        return Some("is longer than 32 characters");
    }
    if !s.chars().all(|c| is_lower_alnum(c) || c == '-') {
        return Some("has characters other than a-z, 0-9 and `-`");
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("must start with a letter");
    }
    if s.ends_with('-') {
        return Some("must not end with `-`");
    }
    None
}

/// Glue database, table and column names as Athena reads them unquoted:
/// `[a-z][a-z0-9_]*`, at most 255 (Glue's limit). Glue itself lowercases
/// names and accepts more; Athena needs quotes for anything else.
pub fn glue_name_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if s.len() > 255 {
        return Some("is longer than 255 characters");
    }
    if !s.chars().all(|c| is_lower_alnum(c) || c == '_') {
        return Some("has characters other than a-z, 0-9 and `_`");
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("must start with a letter");
    }
    None
}

/// A non-empty key prefix naming a folder: ends in `/`, does not start
/// with one, no empty folder, at most 1024 characters (S3's key limit).
pub fn prefix_problem(s: &str) -> Option<&'static str> {
    if s.len() > 1024 {
        return Some("is longer than 1024 characters");
    }
    if s.starts_with('/') {
        return Some("must not start with `/` (S3 keys have no leading slash)");
    }
    if !s.ends_with('/') {
        return Some("must end with `/`: a table or its results are a folder of objects");
    }
    if s.contains("//") {
        return Some("has an empty folder (`//`)");
    }
    None
}

/// Target names and variable names: `[A-Za-z][A-Za-z0-9_-]*`.
pub fn name_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("must start with a letter");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some("has characters other than letters, digits, `_` and `-`");
    }
    None
}

/// Cargo binary names: `[A-Za-z0-9_-]+`.
pub fn binary_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some("has characters other than letters, digits, `_` and `-`");
    }
    None
}

/// The S3 naming rules for general purpose buckets.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len < 3 {
        return Some(format!("is shorter than 3 characters ({len})"));
    }
    if len > 63 {
        return Some(format!("is longer than 63 characters ({len})"));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(is_lower_alnum(c) || c == '-' || c == '.'))
    {
        return Some(format!("contains `{}`", c.escape_debug()));
    }
    if !name.starts_with(is_lower_alnum) || !name.ends_with(is_lower_alnum) {
        return Some("must start and end with a letter or digit".to_owned());
    }
    if name.contains("..") {
        return Some("contains two adjacent periods".to_owned());
    }
    if looks_like_ip(name) {
        return Some("is formatted as an IP address".to_owned());
    }
    for p in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(p) {
            return Some(format!("starts with the reserved prefix `{p}`"));
        }
    }
    for s in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(s) {
            return Some(format!("ends with the reserved suffix `{s}`"));
        }
    }
    None
}

fn looks_like_ip(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

/// What the S3 naming rules allow, for error messages.
pub const BUCKET_NAME_ALLOWED: &str = "3-63 characters of a-z, 0-9, `-` and `.`, starting and \
     ending with a letter or digit, no `..`, not an IP address, no `xn--`/`sthree-` prefix, \
     no `-s3alias`/`--ol-s3` suffix";

/// AWS region: `[a-z]{2}(-[a-z]+)+-\d`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let first = parts[0];
    let last = parts[parts.len() - 1];
    first.len() == 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && last.len() == 1
        && last.chars().all(|c| c.is_ascii_digit())
}

/// Environment variable names: `[A-Za-z][A-Za-z0-9_]*`, not reserved.
pub fn env_name_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("must not be empty");
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("must start with a letter");
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("has characters other than letters, digits and `_`");
    }
    if s.starts_with("AWS_") || RESERVED_ENV.contains(&s) {
        return Some("is reserved by Lambda");
    }
    None
}

/// Do two S3 event types select a common event?
pub fn events_overlap(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let family = |e: &str| -> Option<(String, bool)> {
        let (head, last) = e.rsplit_once(':')?;
        // `s3:ObjectAcl:Put` has a family, `s3:LifecycleTransition` does not.
        if head == "s3" {
            return None;
        }
        Some((head.to_owned(), last == "*"))
    };
    match (family(a), family(b)) {
        (Some((fa, wa)), Some((fb, wb))) => fa == fb && (wa || wb),
        _ => false,
    }
}

/// Do two prefix/suffix key filters match a common key? S3 treats them as
/// overlapping when, for both prefix and suffix, one is absent or one
/// extends the other.
pub fn filters_overlap(
    prefix_a: Option<&str>,
    suffix_a: Option<&str>,
    prefix_b: Option<&str>,
    suffix_b: Option<&str>,
) -> bool {
    let prefixes = match (prefix_a, prefix_b) {
        (Some(a), Some(b)) => a.starts_with(b) || b.starts_with(a),
        _ => true,
    };
    let suffixes = match (suffix_a, suffix_b) {
        (Some(a), Some(b)) => a.ends_with(b) || b.ends_with(a),
        _ => true,
    };
    prefixes && suffixes
}

/// Optimal string alignment distance (Levenshtein with transpositions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The closest candidate, when it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    if word.chars().count() > 64 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let len = word.chars().count();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        // The distance is at least the difference in length, and no limit
        // below passes 3: a far longer candidate (a name of a megabyte)
        // is never compared.
        if c.chars().count().abs_diff(len) > 3 {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(word) {
            0
        } else {
            edit_distance(&lower, &c.to_ascii_lowercase())
        };
        let limit = match c.chars().count() {
            0..=3 => 1,
            4..=8 => 2,
            _ => 3,
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names() {
        assert_eq!(stack_name_problem("cartpipe"), None);
        assert_eq!(stack_name_problem("cart-pipe-2"), None);
        assert!(stack_name_problem("").is_some());
        assert!(stack_name_problem("Cartpipe").is_some());
        assert!(stack_name_problem("cart_pipe").is_some());
        assert!(stack_name_problem("-cart").is_some());
        assert!(stack_name_problem(&"a".repeat(33)).is_some());
        assert_eq!(stack_name_problem(&"a".repeat(32)), None);
    }

    #[test]
    fn ids() {
        assert_eq!(id_problem("raw"), None);
        assert_eq!(id_problem("raw-2"), None);
        assert!(id_problem("2raw").is_some());
        assert!(id_problem("Raw").is_some());
        assert!(id_problem("raw_data").is_some());
        assert!(id_problem("raw-").is_some());
    }

    #[test]
    fn bucket_names() {
        assert_eq!(
            bucket_name_problem("cartpipe-raw-123456789012-us-east-1"),
            None
        );
        assert_eq!(bucket_name_problem("a.b-c"), None);
        assert_eq!(bucket_name_problem("abc"), None);
        assert!(bucket_name_problem("ab").is_some());
        assert_eq!(bucket_name_problem(&"a".repeat(63)), None);
        assert!(bucket_name_problem(&"a".repeat(64)).is_some());
        assert!(bucket_name_problem("Abc").is_some());
        assert!(bucket_name_problem("ab_c").is_some());
        assert!(bucket_name_problem("-abc").is_some());
        assert!(bucket_name_problem("abc.").is_some());
        assert!(bucket_name_problem("a..bc").is_some());
        assert!(bucket_name_problem("192.168.5.4").is_some());
        assert_eq!(bucket_name_problem("192.168.5.4a"), None);
        assert_eq!(bucket_name_problem("1.2.3"), None);
        assert!(bucket_name_problem("xn--abc").is_some());
        assert!(bucket_name_problem("sthree-abc").is_some());
        assert!(bucket_name_problem("abc-s3alias").is_some());
        assert!(bucket_name_problem("abc--ol-s3").is_some());
        assert!(bucket_name_problem("caf\u{e9}s").is_some());
    }

    #[test]
    fn regions() {
        for r in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-2",
            "us-gov-west-1",
            "eu-central-1",
        ] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "",
            "us-east",
            "useast1",
            "us-east-12",
            "US-east-1",
            "u-east-1",
            "us--1",
            "us-east-1a",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name_problem("RAW_BUCKET"), None);
        assert_eq!(env_name_problem("top_n2"), None);
        assert!(env_name_problem("2X").is_some());
        assert!(env_name_problem("A-B").is_some());
        assert!(env_name_problem("AWS_REGION").is_some());
        assert!(env_name_problem("LAMBDA_TASK_ROOT").is_some());
        assert!(env_name_problem("").is_some());
    }

    #[test]
    fn event_types() {
        assert!(is_s3_event_type("s3:ObjectCreated:*"));
        assert!(is_s3_event_type("s3:ObjectCreated:CompleteMultipartUpload"));
        assert!(is_s3_event_type("s3:ObjectRemoved:*"));
        assert!(!is_s3_event_type("s3:ObjectCreated:PutObject"));
        assert!(!is_s3_event_type("ObjectCreated"));
        assert!(events_overlap("s3:ObjectCreated:*", "s3:ObjectCreated:Put"));
        assert!(events_overlap(
            "s3:ObjectCreated:Put",
            "s3:ObjectCreated:Put"
        ));
        assert!(!events_overlap(
            "s3:ObjectCreated:Put",
            "s3:ObjectCreated:Post"
        ));
        assert!(!events_overlap("s3:ObjectCreated:*", "s3:ObjectRemoved:*"));
        assert!(!events_overlap(
            "s3:LifecycleTransition",
            "s3:IntelligentTiering"
        ));
    }

    #[test]
    fn filter_overlap() {
        assert!(filters_overlap(None, None, None, None));
        assert!(filters_overlap(Some("a/"), None, Some("a/b/"), None));
        assert!(!filters_overlap(Some("a/"), None, Some("b/"), None));
        assert!(!filters_overlap(None, Some(".csv"), None, Some(".json")));
        assert!(filters_overlap(None, Some(".csv"), None, Some("x.csv")));
        assert!(!filters_overlap(
            Some("in/"),
            Some(".csv"),
            Some("in/"),
            Some(".jpg")
        ));
        assert!(filters_overlap(Some("in/"), None, None, Some(".jpg")));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("stak", ["stack", "targets"]), Some("stack"));
        assert_eq!(
            did_you_mean("memroy", ["memory", "timeout"]),
            Some("memory")
        );
        assert_eq!(did_you_mean("Memory", ["memory"]), Some("memory"));
        assert_eq!(did_you_mean("zzzzzz", ["memory", "timeout"]), None);
        assert_eq!(did_you_mean("rwa", ["raw", "consumption"]), Some("raw"));
    }
}
