//! Money as integer cents: parsed from and written as `digits.dd`.

/// Parses `[0-9]+(\.[0-9]{1,2})?` into cents. `None` for anything else,
/// including values too large for `i64`.
pub fn parse_price_cents(s: &[u8]) -> Option<i64> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], Some(&s[dot + 1..])),
        None => (s, None),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut cents: i64 = 0;
    for &d in int {
        cents = cents.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
    }
    let frac_cents = match frac {
        None => 0,
        Some([a]) if a.is_ascii_digit() => i64::from(a - b'0') * 10,
        Some([a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => {
            i64::from(a - b'0') * 10 + i64::from(b - b'0')
        }
        Some(_) => return None,
    };
    // Checked to the last cent: `92233720368547758.08` passes the
    // multiplication and overflows only here.
    cents.checked_mul(100)?.checked_add(frac_cents)
}

/// `1250` → `12.50`; negative values never occur in the contract.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `total / quantity`, rounded half up to the cent (both non-negative).
pub fn avg_half_up(total_cents: i64, quantity: i64) -> i64 {
    if quantity <= 0 {
        return 0;
    }
    // (2t + q) / 2q == floor(t/q + 1/2), exact in integers.
    let (t, q) = (i128::from(total_cents), i128::from(quantity));
    ((2 * t + q) / (2 * q)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_follow_the_pattern_exactly() {
        assert_eq!(parse_price_cents(b"12.5"), Some(1250));
        assert_eq!(parse_price_cents(b"0.99"), Some(99));
        assert_eq!(parse_price_cents(b"007"), Some(700));
        for bad in ["7.", ".5", "-1", "1e3", " 1", "1.234", "", "1,5", "+1"] {
            assert_eq!(parse_price_cents(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_price_cents(b"99999999999999999999999"), None);
        // The largest i64 is a price; a cent more is none.
        assert_eq!(parse_price_cents(b"92233720368547758.07"), Some(i64::MAX));
        assert_eq!(parse_price_cents(b"92233720368547758.08"), None);
        assert_eq!(parse_price_cents(b"92233720368547758.1"), None);
    }

    #[test]
    fn averages_round_half_up() {
        assert_eq!(avg_half_up(1000, 3), 333);
        assert_eq!(avg_half_up(5, 2), 3);
        assert_eq!(avg_half_up(7, 2), 4);
        assert_eq!(avg_half_up(2000, 3), 667);
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(123456), "1234.56");
    }
}
