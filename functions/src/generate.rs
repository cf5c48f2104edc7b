//! The seeded generator of raw cart-abandonment files.
//!
//! Realism where it matters to the aggregations: a customer base of about
//! rows/5 (so customers repeat about five times) and a product catalog much
//! smaller than the row count. Names come from `fake` (English and French
//! locales, so non-ASCII text flows through the pipeline); some product names
//! hold commas and quotes to exercise CSV quoting.
//!
//! Speed: customers and products are drawn once and pre-encoded as CSV
//! segments; rows are produced in fixed-size chunks, each from its own RNG
//! seeded by (seed, chunk index), so chunks can be built in parallel and the
//! bytes never depend on the thread count.

use fake::Fake;
use fake::faker::company::en::Buzzword;
use fake::faker::internet::en::FreeEmailProvider;
use fake::faker::name::{en, fr_fr};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::contract::RAW_COLUMNS;

/// The Lambda limit on a payload's row count (bounded by memory, not time).
pub const MAX_ROWS: u64 = 10_000_000;
const CHUNK_ROWS: u64 = 1 << 16;
/// 2025-01-01T00:00:00Z; rows fall in the year that follows.
const WINDOW_START: i64 = 1_735_689_600;
const WINDOW_SECONDS: i64 = 365 * 86_400;

const CATEGORIES: [&str; 10] = [
    "Electronics",
    "Home & Kitchen",
    "Books",
    "Toys",
    "Sports",
    "Beauty",
    "Garden",
    "Fashion",
    "Grocery",
    "Pet Supplies",
];
const ITEMS: [&str; 16] = [
    "Headphones",
    "Backpack",
    "Blender",
    "Desk Lamp",
    "Yoga Mat",
    "Water Bottle",
    "Sneakers",
    "Skillet",
    "Board Game",
    "Jacket",
    "Monitor",
    "Kettle",
    "Notebook",
    "Drone",
    "Sunglasses",
    "Dog Bed",
];
const SIZES: [&str; 4] = [", Large", ", 2-Pack", " 12\"", ", Édition Limitée"];
const COUNTRIES: [&str; 10] = ["US", "GB", "FR", "DE", "CA", "ES", "IT", "NL", "JP", "BR"];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];

struct Catalog {
    /// `customer_id,customer_name,customer_email,` pre-quoted, per customer.
    customers: Vec<(Vec<u8>, &'static str)>,
    /// `product_id,product_name,category,` pre-quoted, and unit price text.
    products: Vec<(Vec<u8>, String)>,
}

pub fn customer_count(rows: u64) -> u64 {
    (rows / 5).clamp(1, 999_999)
}

pub fn product_count(rows: u64) -> u64 {
    (rows / 20).clamp(5, 2_000)
}

/// Customers are drawn in blocks of this many, each block from its own RNG
/// seeded by (seed, block index): the blocks are built in parallel and the
/// bytes never depend on the thread count.
const CUSTOMER_BLOCK: u64 = 1 << 12;

fn catalog(rows: u64, seed: u64, threads: usize) -> Catalog {
    let count = customer_count(rows);
    let blocks = count.div_ceil(CUSTOMER_BLOCK);
    let customers = in_parallel(threads, blocks as usize, |b| {
        let first = b as u64 * CUSTOMER_BLOCK + 1;
        customer_block(
            seed,
            b as u64,
            first..=(first + CUSTOMER_BLOCK - 1).min(count),
        )
    })
    .into_iter()
    .flatten()
    .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC0FF_EE00_D15C_0BAD);
    let products = (1..=product_count(rows))
        .map(|n| {
            let word: String = Buzzword().fake_with_rng(&mut rng);
            let item = ITEMS[rng.random_range(0..ITEMS.len())];
            let mut name = format!("{} {item}", capitalize(&word));
            if rng.random_bool(0.2) {
                name.push_str(SIZES[rng.random_range(0..SIZES.len())]);
            }
            let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            let mut seg = format!("P{n:05},").into_bytes();
            push_field(&mut seg, &name);
            seg.push(b',');
            push_field(&mut seg, category);
            seg.push(b',');
            let cents: u64 = rng.random_range(99..=50_000);
            (seg, format!("{}.{:02}", cents / 100, cents % 100))
        })
        .collect();
    Catalog {
        customers,
        products,
    }
}

fn customer_block(
    seed: u64,
    block: u64,
    ids: std::ops::RangeInclusive<u64>,
) -> Vec<(Vec<u8>, &'static str)> {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed.rotate_left(29) ^ 0x5EED_C057_0BE5_0001 ^ block.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    ids.map(|n| {
        let (first, last): (String, String) = if rng.random_bool(0.25) {
            (
                fr_fr::FirstName().fake_with_rng(&mut rng),
                fr_fr::LastName().fake_with_rng(&mut rng),
            )
        } else {
            (
                en::FirstName().fake_with_rng(&mut rng),
                en::LastName().fake_with_rng(&mut rng),
            )
        };
        let provider: String = FreeEmailProvider().fake_with_rng(&mut rng);
        let local: String = format!("{first}.{last}{n}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect::<String>()
            .to_ascii_lowercase();
        let mut seg = format!("C{n:06},").into_bytes();
        push_field(&mut seg, &format!("{first} {last}"));
        seg.push(b',');
        push_field(&mut seg, &format!("{local}@{provider}"));
        seg.push(b',');
        let country = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
        (seg, country)
    })
    .collect()
}

/// `f(0), f(1), …, f(n - 1)`, computed on `threads` threads, in index order.
fn in_parallel<T: Send>(threads: usize, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        // Thread t computes t, t + threads, …: balanced, and each result goes
        // to its own slot.
        let mut slots: Vec<Vec<(usize, &mut Option<T>)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, slot) in out.iter_mut().enumerate() {
            slots[i % threads].push((i, slot));
        }
        for work in slots {
            let f = &f;
            s.spawn(move || {
                for (i, slot) in work {
                    *slot = Some(f(i));
                }
            });
        }
    });
    out.into_iter().flatten().collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Appends one CSV field, quoted (inner quotes doubled) only when it holds a
/// comma, a quote, CR or LF: what the csv crate's writer does for the
/// non-empty values generated here.
fn push_field(out: &mut Vec<u8>, value: &str) {
    if value
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.push(b'"');
        for b in value.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

/// Generates a raw file of `rows` data rows. Same (rows, seed), same bytes.
pub fn generate(rows: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    generate_into(rows, seed, |segment| {
        if out.is_empty() {
            // The first segment's buffer becomes the file's: one copy fewer.
            out = segment;
        } else {
            out.extend_from_slice(&segment);
        }
        true
    });
    out
}

/// The file [`generate`] makes, handed to `emit` as consecutive segments
/// (the header inside the first) while the rest is still being made, so a
/// caller can upload or write them as they come instead of holding the
/// whole file. Every segment but the last holds 65,536 rows (about 9.8 MB,
/// over S3's 5 MiB minimum part). `emit` returns false to stop early.
pub fn generate_into(rows: u64, seed: u64, emit: impl FnMut(Vec<u8>) -> bool) {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    generate_on(rows, seed, threads, emit);
}

/// [`generate_into`] on a given number of threads (tests vary it).
fn generate_on(rows: u64, seed: u64, threads: usize, mut emit: impl FnMut(Vec<u8>) -> bool) {
    let catalog = catalog(rows, seed, threads);
    let header = format!("{}\n", RAW_COLUMNS.join(","));
    let chunks = rows.div_ceil(CHUNK_ROWS).max(1);
    // A wave of one chunk per thread at a time: segments leave in order,
    // and no more than a wave is held beyond what `emit` keeps.
    for wave in (0..chunks).step_by(threads.max(1)) {
        let last = (wave + threads.max(1) as u64).min(chunks);
        let parts = in_parallel(threads, (last - wave) as usize, |i| {
            let index = wave + i as u64;
            let start = index * CHUNK_ROWS;
            let prefix = if index == 0 { header.as_bytes() } else { b"" };
            chunk(
                &catalog,
                seed,
                index,
                start,
                CHUNK_ROWS.min(rows.saturating_sub(start)),
                prefix,
            )
        });
        for part in parts {
            if !emit(part) {
                return;
            }
        }
    }
}

fn chunk(
    catalog: &Catalog,
    seed: u64,
    index: u64,
    start: u64,
    rows: u64,
    prefix: &[u8],
) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let mut out = Vec::with_capacity(prefix.len() + rows as usize * 176);
    out.extend_from_slice(prefix);
    let mut num = itoa_buf();
    for row in start..start + rows {
        let customer = &catalog.customers[rng.random_range(0..catalog.customers.len())];
        let product = &catalog.products[rng.random_range(0..catalog.products.len())];
        let at = WINDOW_START + rng.random_range(0..WINDOW_SECONDS);
        // Mostly single items, sometimes a handful.
        let quantity: u8 = if rng.random_bool(0.7) {
            1
        } else {
            rng.random_range(2..=9)
        };
        let device = DEVICES[match rng.random_range(0..10u8) {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        }];
        out.extend_from_slice(b"evt-");
        out.extend_from_slice(num.fmt_padded(seed, row));
        out.push(b',');
        push_timestamp(&mut out, at);
        out.push(b',');
        out.extend_from_slice(&customer.0);
        out.extend_from_slice(&product.0);
        out.extend_from_slice(num.fmt(u64::from(quantity)));
        out.push(b',');
        out.extend_from_slice(product.1.as_bytes());
        out.push(b',');
        out.extend_from_slice(device.as_bytes());
        out.push(b',');
        out.extend_from_slice(customer.1.as_bytes());
        out.push(b'\n');
    }
    out
}

struct NumBuf(String);

fn itoa_buf() -> NumBuf {
    NumBuf(String::with_capacity(40))
}

impl NumBuf {
    fn fmt(&mut self, v: u64) -> &[u8] {
        use std::fmt::Write;
        self.0.clear();
        let _ = write!(self.0, "{v}");
        self.0.as_bytes()
    }

    /// `<seed hex>-<row, 10 digits>`: unique per row and per seed.
    fn fmt_padded(&mut self, seed: u64, row: u64) -> &[u8] {
        use std::fmt::Write;
        self.0.clear();
        let _ = write!(self.0, "{seed:x}-{row:010}");
        self.0.as_bytes()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` from Unix seconds (civil-from-days, proleptic
/// Gregorian).
fn push_timestamp(out: &mut Vec<u8>, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    two(out, year / 100);
    two(out, year % 100);
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b'T');
    two(out, secs / 3600);
    out.push(b':');
    two(out, secs / 60 % 60);
    out.push(b':');
    two(out, secs % 60);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_the_contract_wants() {
        let mut out = Vec::new();
        push_timestamp(&mut out, 1_735_689_600);
        assert_eq!(out, b"2025-01-01T00:00:00Z");
        out.clear();
        push_timestamp(&mut out, 951_782_400 + 86_399); // 2000-02-29 23:59:59
        assert_eq!(out, b"2000-02-29T23:59:59Z");
    }

    #[test]
    fn bytes_do_not_depend_on_the_thread_count() {
        // Several customer blocks (4,096 each) and row chunks (65,536 each).
        let rows = 3 * CHUNK_ROWS + 17;
        let on = |threads| {
            let mut segments = Vec::new();
            generate_on(rows, 7, threads, |s| {
                segments.push(s);
                true
            });
            segments
        };
        let one = on(1);
        assert_eq!(one.len(), 4, "one segment per 65,536 rows");
        for threads in [2, 3, 8] {
            assert!(one == on(threads), "{threads} threads");
        }
        assert!(one.concat() == generate(rows, 7));
    }

    #[test]
    fn a_file_of_no_rows_is_its_header() {
        let mut segments = Vec::new();
        generate_into(0, 1, |s| {
            segments.push(s);
            true
        });
        assert_eq!(
            segments,
            [format!("{}\n", RAW_COLUMNS.join(",")).into_bytes()]
        );
    }

    #[test]
    fn emit_returning_false_stops_the_generation() {
        let mut seen = 0;
        generate_on(5 * CHUNK_ROWS, 3, 2, |_| {
            seen += 1;
            false
        });
        assert_eq!(seen, 1);
    }

    #[test]
    fn fields_are_quoted_as_the_csv_writer_quotes_them() {
        for value in [
            "plain",
            "Ann, B",
            "12\" Mug",
            "say \"hi\"",
            "a\nb",
            "a\rb",
            "Édition",
        ] {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            w.write_record([value]).unwrap_or_else(|e| panic!("{e}"));
            let mut want = w.into_inner().unwrap_or_default();
            want.pop();
            let mut got = Vec::new();
            push_field(&mut got, value);
            assert_eq!(got, want, "{value:?}");
        }
    }
}
