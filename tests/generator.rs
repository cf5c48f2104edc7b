//! The generator: deterministic, valid by the contract's own rules, and
//! realistic enough that both aggregations mean something.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::{BTreeMap, BTreeSet};

use cartpipe::contract::{self, RAW_COLUMNS};
use cartpipe::generate::generate;

#[test]
fn same_seed_same_bytes_and_another_seed_other_bytes() {
    let a = generate(5_000, 42);
    assert_eq!(a, generate(5_000, 42));
    assert_ne!(a, generate(5_000, 43));
}

#[test]
fn bytes_do_not_depend_on_chunking_or_threads() {
    // More rows than one chunk (65,536): chunks are built in parallel.
    let big = generate(150_000, 9);
    assert_eq!(big, generate(150_000, 9));
    let rows = big.iter().filter(|&&b| b == b'\n').count();
    assert!(rows >= 150_001, "{rows}");
}

#[test]
fn every_row_passes_the_contracts_validation() {
    let body = generate(20_000, 1);
    let out = contract::process(&body).unwrap();
    assert_eq!(out.counts.rows, 20_000);
    assert_eq!(out.counts.valid, 20_000);
    assert!(out.rejects_csv.is_none());
    let header = body.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(header, RAW_COLUMNS.join(",").as_bytes());
}

#[test]
fn customers_and_products_repeat_and_text_needs_quoting_sometimes() {
    let body = generate(10_000, 3);
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let mut customers: BTreeMap<String, usize> = BTreeMap::new();
    let mut products = BTreeSet::new();
    let mut non_ascii = false;
    for rec in reader.records() {
        let rec = rec.unwrap();
        *customers.entry(rec[2].to_owned()).or_default() += 1;
        products.insert(rec[5].to_owned());
        non_ascii |= !rec[3].is_ascii() || !rec[6].is_ascii();
    }
    let per_customer = 10_000.0 / customers.len() as f64;
    assert!(
        (3.0..=8.0).contains(&per_customer),
        "{per_customer} rows per customer"
    );
    assert!(
        products.len() <= 500,
        "catalog of {} products",
        products.len()
    );
    assert!(non_ascii, "some names are non-ASCII");
    assert!(
        body.windows(2).any(|w| w == b",\""),
        "some fields are quoted"
    );
}
