//! What a bucket holds, as plans and prompts say it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a bucket holds: every object version and delete marker counts, as
/// they all go when a versioned bucket is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketContents {
    pub object_versions: u64,
    pub delete_markers: u64,
    /// Sum of the versions' sizes.
    pub bytes: u64,
}

impl BucketContents {
    pub fn is_empty(&self) -> bool {
        self.object_versions == 0 && self.delete_markers == 0
    }
}

impl fmt::Display for BucketContents {
    /// `1,000 object versions, 150.0 MB` (plus delete markers when any).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, one: &str, many: &str| {
            format!("{} {}", thousands(n), if n == 1 { one } else { many })
        };
        write!(
            f,
            "{}",
            plural(self.object_versions, "object version", "object versions")
        )?;
        if self.delete_markers > 0 {
            write!(
                f,
                ", {}",
                plural(self.delete_markers, "delete marker", "delete markers")
            )?;
        }
        write!(f, ", {}", human_bytes(self.bytes))
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decimal units, as the S3 console shows sizes: `999 B`, `1.5 kB`, `150.0 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_read_as_a_person_would_say_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 kB");
        assert_eq!(human_bytes(150_000_000), "150.0 MB");
        assert_eq!(human_bytes(999_999), "1.0 MB");
        let c = BucketContents {
            object_versions: 1000,
            delete_markers: 0,
            bytes: 150_000_000,
        };
        assert_eq!(c.to_string(), "1,000 object versions, 150.0 MB");
        let c = BucketContents {
            object_versions: 1,
            delete_markers: 2,
            bytes: 10,
        };
        assert_eq!(c.to_string(), "1 object version, 2 delete markers, 10 B");
        assert!(!c.is_empty() && BucketContents::default().is_empty());
    }
}
