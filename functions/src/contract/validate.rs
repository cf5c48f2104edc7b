//! Row rules of the raw file, checked in the contract's table order; the
//! first broken rule names the reject.

use std::fmt;

use super::money::parse_price_cents;

/// Why a row was rejected. `Display` is the `reject_reason` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    FieldCount { expected: usize, found: usize },
    NotUtf8(&'static str),
    EventId,
    AbandonedAt,
    CustomerId,
    CustomerName,
    CustomerEmail,
    ProductId,
    ProductName,
    Category,
    Quantity,
    UnitPrice,
    Device,
    Country,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount { expected, found } => {
                write!(f, "wrong field count: expected {expected}, found {found}")
            }
            Self::NotUtf8(column) => write!(f, "{column}: not valid UTF-8"),
            Self::EventId => f.write_str("event_id: empty"),
            Self::AbandonedAt => {
                f.write_str("abandoned_at: not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ")
            }
            Self::CustomerId => f.write_str("customer_id: not C followed by 6 digits"),
            Self::CustomerName => f.write_str("customer_name: empty"),
            Self::CustomerEmail => {
                f.write_str("customer_email: not exactly one @ with text on both sides")
            }
            Self::ProductId => f.write_str("product_id: not P followed by 5 digits"),
            Self::ProductName => f.write_str("product_name: empty"),
            Self::Category => f.write_str("category: empty"),
            Self::Quantity => f.write_str("quantity: not an integer from 1 to 99"),
            Self::UnitPrice => f.write_str("unit_price: not a price from 0.01 to 100000.00"),
            Self::Device => f.write_str("device: not one of mobile, desktop, tablet"),
            Self::Country => f.write_str("country: not two upper-case letters"),
        }
    }
}

/// A row that passed every rule, borrowing the record's fields.
#[derive(Debug, Clone, Copy)]
pub struct ValidRow<'a> {
    /// `abandoned_at` as the number `YYYYMMDDhhmmss` ([`timestamp_key`]).
    pub abandoned_at: u64,
    pub customer_id: &'a str,
    pub customer_email: &'a str,
    pub product_id: &'a str,
    pub product_name: &'a str,
    pub category: &'a str,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

/// Fields of the twelve required columns, in [`super::RAW_COLUMNS`] order.
pub fn validate_fields<'a>(f: [&'a [u8]; 12]) -> Result<ValidRow<'a>, RejectReason> {
    validate(f, |i| {
        std::str::from_utf8(f[i]).map_err(|_| RejectReason::NotUtf8(super::RAW_COLUMNS[i]))
    })
}

/// [`validate_fields`] for a record already known to be UTF-8 as a whole
/// (one check per record instead of one per field; same verdicts).
pub fn validate_text<'a>(f: [&'a str; 12]) -> Result<ValidRow<'a>, RejectReason> {
    validate(f.map(str::as_bytes), |i| Ok(f[i]))
}

/// The rules in the contract's order; `text` gives field `i` as UTF-8 (or
/// the reject for it), asked for in that same order.
#[inline(always)]
fn validate<'a>(
    f: [&'a [u8]; 12],
    text: impl Fn(usize) -> Result<&'a str, RejectReason>,
) -> Result<ValidRow<'a>, RejectReason> {
    let non_empty = |i: usize, reason| {
        let s = text(i)?;
        if s.is_empty() { Err(reason) } else { Ok(s) }
    };
    non_empty(0, RejectReason::EventId)?;
    let abandoned_at = timestamp_key(text(1)?.as_bytes()).ok_or(RejectReason::AbandonedAt)?;
    let customer_id = text(2)?;
    if !letter_digits(customer_id.as_bytes(), b'C', 6) {
        return Err(RejectReason::CustomerId);
    }
    non_empty(3, RejectReason::CustomerName)?;
    let customer_email = text(4)?;
    if !valid_email(customer_email) {
        return Err(RejectReason::CustomerEmail);
    }
    let product_id = text(5)?;
    if !letter_digits(product_id.as_bytes(), b'P', 5) {
        return Err(RejectReason::ProductId);
    }
    let product_name = non_empty(6, RejectReason::ProductName)?;
    let category = non_empty(7, RejectReason::Category)?;
    let quantity = parse_quantity(f[8]).ok_or(RejectReason::Quantity)?;
    let unit_price_cents = parse_price_cents(f[9])
        .filter(|c| (1..=10_000_000).contains(c))
        .ok_or(RejectReason::UnitPrice)?;
    if !matches!(f[10], b"mobile" | b"desktop" | b"tablet") {
        return Err(RejectReason::Device);
    }
    if !(f[11].len() == 2 && f[11].iter().all(u8::is_ascii_uppercase)) {
        return Err(RejectReason::Country);
    }
    Ok(ValidRow {
        abandoned_at,
        customer_id,
        customer_email,
        product_id,
        product_name,
        category,
        quantity,
        unit_price_cents,
    })
}

fn letter_digits(s: &[u8], letter: u8, digits: usize) -> bool {
    s.len() == digits + 1 && s[0] == letter && s[1..].iter().all(u8::is_ascii_digit)
}

fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => !local.is_empty() && !domain.is_empty(),
        _ => false,
    }
}

fn parse_quantity(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Leading zeros are digits too: skip them so long strings can't overflow.
    let significant = &s[s.iter().position(|&b| b != b'0').unwrap_or(s.len())..];
    if significant.len() > 2 {
        return None;
    }
    let v = significant
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    (1..=99).contains(&v).then_some(v)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, a real UTC date and time (no leap seconds).
pub fn validate_timestamp(s: &[u8]) -> bool {
    timestamp_key(s).is_some()
}

/// A valid timestamp as the number `YYYYMMDDhhmmss`: numbers compare as
/// the fixed-width texts do (so min and max are the same), group-bys
/// aggregate an integer instead of a string, and [`format_timestamp_key`]
/// gives the text back.
pub fn timestamp_key(s: &[u8]) -> Option<u64> {
    if s.len() != 20 {
        return None;
    }
    let shape = b"dddd-dd-ddTdd:dd:ddZ";
    if !s.iter().zip(shape).all(|(&c, &p)| match p {
        b'd' => c.is_ascii_digit(),
        _ => c == p,
    }) {
        return None;
    }
    let num = |a: usize, b: usize| {
        s[a..b]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60).then(|| {
        [year, month, day, hour, minute]
            .iter()
            .zip([10_000_000_000u64, 100_000_000, 1_000_000, 10_000, 100])
            .map(|(&v, scale)| u64::from(v) * scale)
            .sum::<u64>()
            + u64::from(second)
    })
}

/// The text of a [`timestamp_key`]: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp_key(key: u64, out: &mut [u8; 20]) {
    *out = *b"0000-00-00T00:00:00Z";
    // Digit positions, least significant first.
    const AT: [usize; 14] = [18, 17, 15, 14, 12, 11, 9, 8, 6, 5, 3, 2, 1, 0];
    let mut v = key;
    for at in AT {
        out[at] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_be_real() {
        assert!(validate_timestamp(b"2024-02-29T23:59:59Z"));
        assert!(!validate_timestamp(b"2023-02-29T00:00:00Z"));
        assert!(!validate_timestamp(b"1900-02-29T00:00:00Z"));
        assert!(validate_timestamp(b"2000-02-29T00:00:00Z"));
        assert!(!validate_timestamp(b"2024-04-31T00:00:00Z"));
        assert!(!validate_timestamp(b"2024-01-01T24:00:00Z"));
        assert!(!validate_timestamp(b"2024-01-01T00:00:60Z"));
        assert!(!validate_timestamp(b"2024-01-01 00:00:00Z"));
        assert!(!validate_timestamp(b"2024-01-01T00:00:00"));
        assert!(!validate_timestamp(b"2024-13-01T00:00:00Z"));
    }

    #[test]
    fn timestamp_keys_order_as_the_texts_and_format_back() {
        let texts = [
            "0000-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2024-02-29T00:00:00Z",
            "2024-02-29T00:00:01Z",
            "2024-03-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ];
        let keys: Vec<u64> = texts
            .iter()
            .map(|t| timestamp_key(t.as_bytes()).expect(t))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        for (text, key) in texts.iter().zip(keys) {
            let mut out = [0u8; 20];
            format_timestamp_key(key, &mut out);
            assert_eq!(&out, text.as_bytes());
        }
    }

    #[test]
    fn the_text_path_gives_the_byte_paths_verdicts() {
        let row = |name: &'static str, qty: &'static str| {
            [
                "E1",
                "2024-01-01T00:00:00Z",
                "C000001",
                "Ann",
                "a@b",
                "P00001",
                name,
                "Home",
                qty,
                "1.50",
                "mobile",
                "DE",
            ]
        };
        for (name, qty) in [("Mug", "2"), ("", "2"), ("Mug", "0"), ("", "x")] {
            let text = row(name, qty);
            let reasons = (
                validate_text(text).map(|r| r.quantity),
                validate_fields(text.map(str::as_bytes)).map(|r| r.quantity),
            );
            assert_eq!(reasons.0, reasons.1, "{name:?} {qty:?}");
        }
    }

    #[test]
    fn quantities_are_digits_from_1_to_99() {
        assert_eq!(parse_quantity(b"007"), Some(7));
        assert_eq!(parse_quantity(b"99"), Some(99));
        assert_eq!(parse_quantity(b"0000000000000000000000001"), Some(1));
        for bad in ["0", "100", "+5", " 5", "5.0", "", "-1", "1e1"] {
            assert_eq!(parse_quantity(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn emails_have_exactly_one_at() {
        assert!(valid_email("a@b"));
        assert!(!valid_email("@b"));
        assert!(!valid_email("a@"));
        assert!(!valid_email("a@b@c"));
        assert!(!valid_email("ab"));
    }
}
