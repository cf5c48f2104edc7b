//! CSV writers: LF line ends, RFC 4180 quoting only where needed, money as
//! `digits.dd`.

use polars::prelude::*;

use super::aggregate::{ProductAggregate, Promotions};
use super::money::avg_half_up;
use super::read::{Lookups, MinText};
use super::validate::format_timestamp_key;
use super::{ContractError, Pieces};

use super::csv_writer;

fn csv_err(e: impl std::fmt::Display) -> ContractError {
    ContractError::Csv(e.to_string())
}

/// Numbers formatted into a reusable buffer, right to left, without the
/// `fmt` machinery: the promotion file has four per row, a million rows.
#[derive(Default)]
struct Num([u8; 32]);

impl Num {
    /// Writes `v`'s decimal digits (at least `min`, zero-padded) so that they
    /// end just before `end`; returns where they start. `u64` has at most 20
    /// digits, so every caller stays inside the buffer.
    fn digits(&mut self, mut v: u64, end: usize, min: usize) -> usize {
        let mut i = end;
        loop {
            i -= 1;
            self.0[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 && end - i >= min {
                return i;
            }
        }
    }

    /// `C000042` / `P00042`: an id from its number.
    fn id(&mut self, prefix: u8, width: usize, v: u32) -> &[u8] {
        let start = self.digits(u64::from(v), 32, width.min(10)) - 1;
        self.0[start] = prefix;
        &self.0[start..]
    }

    fn int(&mut self, v: i64) -> &[u8] {
        let start = self.digits(v.unsigned_abs(), 32, 1);
        self.signed(v < 0, start)
    }

    /// Money: `1250` → `12.50`, as [`super::money::format_cents`] writes it.
    fn cents(&mut self, v: i64) -> &[u8] {
        let abs = v.unsigned_abs();
        let dot = self.digits(abs % 100, 32, 2) - 1;
        self.0[dot] = b'.';
        let start = self.digits(abs / 100, dot, 1);
        self.signed(v < 0, start)
    }

    fn signed(&mut self, negative: bool, start: usize) -> &[u8] {
        if negative {
            self.0[start - 1] = b'-';
            &self.0[start - 1..]
        } else {
            &self.0[start..]
        }
    }
}

fn stamps<'a>(df: &'a DataFrame, name: &str) -> Result<&'a UInt64Chunked, ContractError> {
    Ok(df.column(name)?.u64()?)
}

fn ids<'a>(df: &'a DataFrame, name: &str) -> Result<&'a UInt32Chunked, ContractError> {
    Ok(df.column(name)?.u32()?)
}

fn ints<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Int64Chunked, ContractError> {
    Ok(df.column(name)?.i64()?)
}

pub(crate) fn aggregate_csv(agg: &ProductAggregate) -> Result<Vec<u8>, ContractError> {
    let df = &agg.frame;
    let mut w = csv_writer(Vec::with_capacity(64 + df.height() * 96));
    w.write_record([
        "product_id",
        "product_name",
        "category",
        "abandoned_carts",
        "unique_customers",
        "total_quantity",
        "total_value",
        "avg_unit_price",
        "first_abandoned_at",
        "last_abandoned_at",
    ])
    .map_err(csv_err)?;
    let pid = ids(df, "product_id")?;
    let (carts, customers, qty, value) = (
        ints(df, "abandoned_carts")?,
        ints(df, "unique_customers")?,
        ints(df, "total_quantity")?,
        ints(df, "total_value")?,
    );
    let (first, last) = (
        stamps(df, "first_abandoned_at")?,
        stamps(df, "last_abandoned_at")?,
    );
    let mut n = Num::default();
    let (mut from, mut to) = ([0u8; 20], [0u8; 20]);
    for i in 0..df.height() {
        let q = qty.get(i).unwrap_or(0);
        let v = value.get(i).unwrap_or(0);
        let p = pid.get(i).unwrap_or_default();
        format_timestamp_key(first.get(i).unwrap_or_default(), &mut from);
        format_timestamp_key(last.get(i).unwrap_or_default(), &mut to);
        w.write_field(n.id(b'P', 5, p))
            .and_then(|()| w.write_field(agg.names.get(p)))
            .and_then(|()| w.write_field(agg.categories.get(p)))
            .and_then(|()| w.write_field(n.int(carts.get(i).unwrap_or(0))))
            .and_then(|()| w.write_field(n.int(customers.get(i).unwrap_or(0))))
            .and_then(|()| w.write_field(n.int(q)))
            .and_then(|()| w.write_field(n.cents(v)))
            .and_then(|()| w.write_field(n.cents(avg_half_up(v, q))))
            .and_then(|()| w.write_field(from))
            .and_then(|()| w.write_field(to))
            .and_then(|()| w.write_record(None::<&[u8]>))
            .map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

pub(crate) fn promotion_csv(
    promo: &Promotions,
    lookups: &Lookups,
) -> Result<Pieces, ContractError> {
    let df = &promo.frame;
    let header = [
        "customer_id",
        "customer_email",
        "rank",
        "product_id",
        "product_name",
        "abandoned_quantity",
        "abandoned_value",
    ];
    // Contiguous columns: `ChunkedArray::get` finds the chunk on every call.
    let cid = ids(df, "customer_id")?.rechunk();
    let pid = ids(df, "product_id")?.rechunk();
    let rank = df.column("rank")?.u32()?.rechunk();
    let qty = ints(df, "abandoned_quantity")?.rechunk();
    let value = ints(df, "abandoned_value")?.rechunk();
    let (cid, pid, rank, qty, value) = (
        cid.cont_slice()?,
        pid.cont_slice()?,
        rank.cont_slice()?,
        qty.cont_slice()?,
        value.cont_slice()?,
    );
    // A million lookups: direct tables beat hashing (see `lookup`).
    let emails = lookup(&lookups.emails)?;
    let names = lookup(&lookups.names)?;
    write_rows(&header, df.height(), 80, |out, n, i| {
        let mut row = Row(out);
        row.field(n.id(b'C', 6, cid[i]));
        row.field(emails.get(cid[i]));
        row.field(n.int(i64::from(rank[i])));
        row.field(n.id(b'P', 5, pid[i]));
        row.field(names.get(pid[i]));
        row.field(n.int(qty[i]));
        row.last(n.cents(value[i]));
    })
}

/// A row appended to the output, its fields already in their CSV form
/// (numbers, and texts [`lookup`] encoded): this only places the commas and
/// the line end. The csv crate's writer, even quoting nothing, copied each
/// field through its own buffer: 5 % of promote's profile.
struct Row<'a>(&'a mut Vec<u8>);

impl Row<'_> {
    fn field(&mut self, encoded: &[u8]) {
        self.0.extend_from_slice(encoded);
        self.0.push(b',');
    }

    fn last(self, encoded: &[u8]) {
        self.0.extend_from_slice(encoded);
        self.0.push(b'\n');
    }
}

/// Below this many rows a second thread costs more than it saves.
const MIN_ROWS_PER_THREAD: usize = 50_000;

/// The header, then rows `0..height` written by `row`, split over the cores.
/// A CSV writer keeps no state between records, so ranges written apart and
/// kept in order are the bytes one pass would write.
fn write_rows<F>(
    header: &[&str],
    height: usize,
    bytes_per_row: usize,
    row: F,
) -> Result<Pieces, ContractError>
where
    F: Fn(&mut Vec<u8>, &mut Num, usize) + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    write_rows_split(
        header,
        height,
        bytes_per_row,
        (threads, MIN_ROWS_PER_THREAD),
        row,
    )
}

/// [`write_rows`] with the thread count and minimum rows per thread chosen
/// by the caller (tests force many small ranges). Each range stays the
/// piece it was written in: joining them copied all but the first (40 MB
/// of fresh memory for a million promotion rows on two cores).
fn write_rows_split<F>(
    header: &[&str],
    height: usize,
    bytes_per_row: usize,
    (threads, min_rows): (usize, usize),
    row: F,
) -> Result<Pieces, ContractError>
where
    F: Fn(&mut Vec<u8>, &mut Num, usize) + Sync,
{
    let per = height.div_ceil(threads.max(1)).max(min_rows.max(1));
    let write_range = |out: &mut Vec<u8>, range: std::ops::Range<usize>| {
        let mut n = Num::default();
        range.into_iter().for_each(|i| row(out, &mut n, i));
    };
    let first = 0..per.min(height);
    let mut header_writer = csv_writer(Vec::with_capacity(64 + first.len() * bytes_per_row));
    header_writer.write_record(header).map_err(csv_err)?;
    let mut out = header_writer.into_inner().map_err(csv_err)?;
    let rest = std::thread::scope(|scope| {
        let handles: Vec<_> = (per..height)
            .step_by(per)
            .map(|from| {
                let range = from..(from + per).min(height);
                scope.spawn(move || {
                    let mut part = Vec::with_capacity(range.len() * bytes_per_row);
                    write_range(&mut part, range);
                    part
                })
            })
            .collect();
        write_range(&mut out, first);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| ContractError::Csv("a writer thread panicked".into()))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(Pieces::new(std::iter::once(out).chain(rest).collect()))
}

/// An id → text map as a lookup for a million rows, each text already
/// encoded as its CSV field (quoted where it must be, by the `csv` crate's
/// own writer): the rows are then joined as they are ([`Row`]), instead of
/// scanning every field of every row for characters to quote (7 % of
/// promote's profile). A table indexed by id
/// when the ids are dense enough to fill it (generated ids count up from
/// 1), a map otherwise, so that a small file with large ids allocates
/// little.
enum Lookup {
    Table(Vec<Box<[u8]>>),
    Map(std::collections::HashMap<u32, Box<[u8]>, foldhash::fast::FixedState>),
}

impl Lookup {
    fn get(&self, id: u32) -> &[u8] {
        match self {
            Lookup::Table(t) => t.get(id as usize).map_or(&[][..], |b| b),
            Lookup::Map(m) => m.get(&id).map_or(&[][..], |b| b),
        }
    }
}

fn lookup(texts: &MinText) -> Result<Lookup, ContractError> {
    let mut encoder = csv_writer(Vec::new());
    let mut start = 0;
    let mut encode = |text: &str| -> Result<Box<[u8]>, ContractError> {
        // An empty field is empty in a row of several fields; only a
        // record of one empty field is written `""`.
        if text.is_empty() {
            return Ok(Box::default());
        }
        encoder
            .write_field(text)
            .and_then(|()| encoder.write_record(None::<&[u8]>))
            .and_then(|()| Ok(encoder.flush()?))
            .map_err(csv_err)?;
        // The writer's output grows by this field and the record's `\n`.
        let written = encoder.get_ref();
        let field = written
            .get(start..written.len().saturating_sub(1))
            .unwrap_or_default();
        start = written.len();
        Ok(field.into())
    };
    let max = texts.ids().max().map_or(0, |m| m as usize);
    if max <= 4 * texts.len() + 1024 {
        let mut table: Vec<Box<[u8]>> = vec![Box::default(); max + 1];
        for id in texts.ids() {
            table[id as usize] = encode(texts.get(id))?;
        }
        Ok(Lookup::Table(table))
    } else {
        let mut map = std::collections::HashMap::default();
        for id in texts.ids() {
            map.insert(id, encode(texts.get(id))?);
        }
        Ok(Lookup::Map(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::format_cents;

    #[test]
    fn pieces_are_equal_when_their_bytes_are_however_they_are_split() {
        let p = |parts: &[&str]| Pieces::new(parts.iter().map(|s| s.as_bytes().to_vec()).collect());
        assert_eq!(p(&["ab", "c"]), p(&["abc"]));
        assert_eq!(p(&["", "abc", ""]), p(&["a", "bc"]));
        assert_ne!(p(&["ab"]), p(&["abc"]));
        assert_ne!(p(&["ab", "d"]), p(&["abc"]));
    }

    #[test]
    fn numbers_are_written_as_the_fmt_machinery_writes_them() {
        let mut n = Num::default();
        let ints = [
            0,
            1,
            9,
            10,
            99,
            100,
            101,
            12_345,
            -1,
            -100,
            -12_345,
            i64::MAX,
            i64::MIN,
        ];
        for v in ints {
            assert_eq!(n.int(v), v.to_string().as_bytes(), "{v}");
            assert_eq!(n.cents(v), format_cents(v).as_bytes(), "{v}");
        }
        for v in [0u32, 7, 42, 99_999, 100_000, 999_999, u32::MAX] {
            assert_eq!(n.id(b'C', 6, v), format!("C{v:06}").as_bytes());
            assert_eq!(n.id(b'P', 5, v), format!("P{v:05}").as_bytes());
        }
    }

    #[test]
    fn dense_and_sparse_ids_look_up_the_same_texts_encoded_as_csv_fields() {
        let texts =
            |ids: Vec<u32>| MinText::from_pairs(ids.into_iter().map(|i| (i, format!("t{i}"))));
        let dense = texts((1..=3000).collect());
        let sparse = texts(vec![7, 999_999, 123_456]);
        let (d, s) = (
            lookup(&dense).unwrap_or_else(|e| panic!("{e}")),
            lookup(&sparse).unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(matches!(d, Lookup::Table(_)) && matches!(s, Lookup::Map(_)));
        assert_eq!(
            (d.get(1), d.get(3000), d.get(0), d.get(3001)),
            (&b"t1"[..], &b"t3000"[..], &b""[..], &b""[..])
        );
        assert_eq!(
            (s.get(999_999), s.get(7), s.get(8)),
            (&b"t999999"[..], &b"t7"[..], &b""[..])
        );
    }

    #[test]
    fn an_encoded_text_is_the_field_the_csv_writer_writes() {
        let texts = [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\r",
            "",
            " lead",
            "é",
        ];
        let map = MinText::from_pairs(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i as u32, (*t).to_owned())),
        );
        let encoded = lookup(&map).unwrap_or_else(|e| panic!("{e}"));
        for (i, text) in texts.iter().enumerate() {
            // The text between two other fields, as in a promotion row.
            let mut w = csv_writer(Vec::new());
            w.write_record(["x", text, "y"])
                .unwrap_or_else(|e| panic!("{e}"));
            let expected = w.into_inner().unwrap_or_else(|e| panic!("{e}"));
            let mut ours = b"x,".to_vec();
            ours.extend_from_slice(encoded.get(i as u32));
            ours.extend_from_slice(b",y\n");
            assert_eq!(ours, expected, "{text:?}");
        }
    }

    #[test]
    fn rows_written_in_ranges_on_threads_equal_one_pass() {
        // Fields that need quoting, of varying width, so a misplaced or
        // reordered range would show.
        let texts = ["plain", "a,b", "say \"hi\"", "two\nlines", ""];
        let encoded = lookup(&MinText::from_pairs(
            (0..texts.len()).map(|i| (i as u32, texts[i].to_owned())),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let row = |out: &mut Vec<u8>, n: &mut Num, i: usize| {
            let mut row = Row(out);
            row.field(n.id(b'C', 6, i as u32));
            row.field(encoded.get((i % texts.len()) as u32));
            row.last(n.cents(i as i64 * 37));
        };
        let header = ["id", "text", "money"];
        for height in [0, 1, 2, 7, 1000] {
            let one = write_rows_split(&header, height, 16, (1, usize::MAX), row)
                .unwrap_or_else(|e| panic!("{e}"));
            // What the csv crate writes for the same rows, one pass.
            let mut w = csv_writer(Vec::new());
            w.write_record(header).unwrap_or_else(|e| panic!("{e}"));
            for i in 0..height {
                let mut n = Num::default();
                w.write_record([
                    n.id(b'C', 6, i as u32).to_vec(),
                    texts[i % texts.len()].as_bytes().to_vec(),
                    n.cents(i as i64 * 37).to_vec(),
                ])
                .unwrap_or_else(|e| panic!("{e}"));
            }
            let one = one.concat();
            assert!(one == w.into_inner().unwrap_or_else(|e| panic!("{e}")));
            for (threads, min_rows) in [(2, 1), (3, 1), (7, 2), (16, 1)] {
                let split = write_rows_split(&header, height, 16, (threads, min_rows), row)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(one == split.concat(), "{height} rows on {threads} threads");
            }
        }
    }
}
