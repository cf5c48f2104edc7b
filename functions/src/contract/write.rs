//! CSV writers: LF line ends, RFC 4180 quoting only where needed, money as
//! `digits.dd`.

use std::fmt::Write as _;

use polars::prelude::*;

use super::ContractError;
use super::aggregate::{ProductAggregate, Promotions};
use super::money::{avg_half_up, format_cents};

pub(crate) fn csv_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

fn csv_err(e: impl std::fmt::Display) -> ContractError {
    ContractError::Csv(e.to_string())
}

/// A reusable text buffer for numbers, so rows don't allocate per field.
#[derive(Default)]
struct Num(String);

impl Num {
    /// `C000042` / `P00042`: an id from its number.
    fn id(&mut self, prefix: char, width: usize, v: u32) -> &[u8] {
        self.0.clear();
        let _ = write!(self.0, "{prefix}{v:0width$}");
        self.0.as_bytes()
    }

    fn int(&mut self, v: i64) -> &[u8] {
        self.0.clear();
        let _ = write!(self.0, "{v}");
        self.0.as_bytes()
    }
}

fn strs<'a>(df: &'a DataFrame, name: &str) -> Result<&'a StringChunked, ContractError> {
    Ok(df.column(name)?.str()?)
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
    let (pid, name, cat) = (
        ids(df, "product_id")?,
        strs(df, "product_name")?,
        strs(df, "category")?,
    );
    let (carts, customers, qty, value) = (
        ints(df, "abandoned_carts")?,
        ints(df, "unique_customers")?,
        ints(df, "total_quantity")?,
        ints(df, "total_value")?,
    );
    let (first, last) = (
        strs(df, "first_abandoned_at")?,
        strs(df, "last_abandoned_at")?,
    );
    let mut n = Num::default();
    for i in 0..df.height() {
        let q = qty.get(i).unwrap_or(0);
        let v = value.get(i).unwrap_or(0);
        w.write_field(n.id('P', 5, pid.get(i).unwrap_or_default()))
            .and_then(|()| w.write_field(name.get(i).unwrap_or_default()))
            .and_then(|()| w.write_field(cat.get(i).unwrap_or_default()))
            .and_then(|()| w.write_field(n.int(carts.get(i).unwrap_or(0))))
            .and_then(|()| w.write_field(n.int(customers.get(i).unwrap_or(0))))
            .and_then(|()| w.write_field(n.int(q)))
            .and_then(|()| w.write_field(format_cents(v)))
            .and_then(|()| w.write_field(format_cents(avg_half_up(v, q))))
            .and_then(|()| w.write_field(first.get(i).unwrap_or_default()))
            .and_then(|()| w.write_field(last.get(i).unwrap_or_default()))
            .and_then(|()| w.write_record(None::<&[u8]>))
            .map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

pub(crate) fn promotion_csv(promo: &Promotions) -> Result<Vec<u8>, ContractError> {
    let df = &promo.frame;
    let mut w = csv_writer(Vec::with_capacity(64 + df.height() * 80));
    w.write_record([
        "customer_id",
        "customer_email",
        "rank",
        "product_id",
        "product_name",
        "abandoned_quantity",
        "abandoned_value",
    ])
    .map_err(csv_err)?;
    let (cid, pid) = (ids(df, "customer_id")?, ids(df, "product_id")?);
    let emails = lookup(&promo.emails, "customer_id", "customer_email")?;
    let names = lookup(&promo.names, "product_id", "product_name")?;
    let rank = df.column("rank")?.u32()?;
    let (qty, value) = (
        ints(df, "abandoned_quantity")?,
        ints(df, "abandoned_value")?,
    );
    let mut n = Num::default();
    for i in 0..df.height() {
        w.write_field(n.id('C', 6, cid.get(i).unwrap_or_default()))
            .and_then(|()| {
                w.write_field(
                    cid.get(i)
                        .and_then(|c| emails.get(&c).copied())
                        .unwrap_or_default(),
                )
            })
            .and_then(|()| w.write_field(n.int(i64::from(rank.get(i).unwrap_or(0)))))
            .and_then(|()| w.write_field(n.id('P', 5, pid.get(i).unwrap_or_default())))
            .and_then(|()| {
                w.write_field(
                    pid.get(i)
                        .and_then(|p| names.get(&p).copied())
                        .unwrap_or_default(),
                )
            })
            .and_then(|()| w.write_field(n.int(qty.get(i).unwrap_or(0))))
            .and_then(|()| w.write_field(format_cents(value.get(i).unwrap_or(0))))
            .and_then(|()| w.write_record(None::<&[u8]>))
            .map_err(csv_err)?;
    }
    w.into_inner().map_err(csv_err)
}

/// An id → text frame as a map, borrowing its strings.
fn lookup<'a>(
    frame: &'a DataFrame,
    key: &str,
    value: &str,
) -> Result<std::collections::HashMap<u32, &'a str>, ContractError> {
    let (k, v) = (ids(frame, key)?, strs(frame, value)?);
    Ok(k.iter()
        .zip(v.iter())
        .filter_map(|(k, v)| Some((k?, v?)))
        .collect())
}
