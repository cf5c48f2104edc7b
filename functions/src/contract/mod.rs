//! The data contract, value for value. Reading and validation are a single
//! pass with the `csv` crate (RFC 4180, any line ending, rows of any width);
//! the valid rows go into polars columns for the group-bys.

mod aggregate;
mod money;
mod read;
mod split;
mod validate;
mod write;

pub use aggregate::{ProductAggregate, Promotions, aggregate_products, rank_promotions};
pub use money::{format_cents, parse_price_cents};
pub use read::{Lookups, MinText, Purpose, RawReader, ValidRows, read_raw};
pub use validate::{RejectReason, format_timestamp_key, timestamp_key, validate_timestamp};

use serde::Serialize;

/// Required columns of the raw file, in the contract's table order: the order
/// in which rules are checked and the generator writes them.
pub const RAW_COLUMNS: [&str; 12] = [
    "event_id",
    "abandoned_at",
    "customer_id",
    "customer_name",
    "customer_email",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "device",
    "country",
];

pub const AGGREGATE_KEY: &str = "cart_aggregated_data.csv";
pub const PROMOTION_KEY: &str = "promotion_data.csv";
pub const RAW_KEY: &str = "cart_abandonment_data.csv";
pub const DEFAULT_TOP_N: usize = 10;

/// The one CSV writer setup of the contract (`\n` line ends; rejects keep
/// their row's width): shared by the outputs and the rejects file.
pub(crate) fn csv_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// A file that breaks the contract as a whole. Row-level problems are not
/// errors: those rows are rejected and reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("the header lacks required column(s): {}", missing.join(", "))]
    MissingColumns { missing: Vec<String> },
    #[error("the file is not readable as CSV: {0}")]
    Csv(String),
    #[error("aggregation failed: {0}")]
    Engine(String),
}

impl From<polars::prelude::PolarsError> for ContractError {
    fn from(e: polars::prelude::PolarsError) -> Self {
        ContractError::Engine(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProcessCounts {
    pub rows: u64,
    pub valid: u64,
    pub rejected: u64,
    pub products: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutput {
    pub aggregate_csv: Vec<u8>,
    /// `None` when every row was valid: no rejects file is written then.
    pub rejects_csv: Option<Vec<u8>>,
    pub counts: ProcessCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PromoteCounts {
    pub rows: u64,
    pub valid: u64,
    pub rejected: u64,
    pub customers: u64,
    pub promotion_rows: u64,
}

/// A file as the pieces it was written in, in order (row ranges written in
/// parallel), handed on as they are so a large output is not copied once
/// more into fresh memory: a local file gets them in turn, and S3 cuts the
/// parts of a multipart upload from them (only a body small enough for
/// one PUT of several pieces is joined). Equal when the bytes are, however
/// they are split.
#[derive(Debug, Clone)]
pub struct Pieces(Vec<Vec<u8>>);

impl PartialEq for Pieces {
    fn eq(&self, other: &Self) -> bool {
        self.iter().flatten().eq(other.iter().flatten())
    }
}

impl Eq for Pieces {}

impl Pieces {
    pub fn new(pieces: Vec<Vec<u8>>) -> Self {
        Self(pieces)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }

    pub fn into_vec(self) -> Vec<Vec<u8>> {
        self.0
    }

    /// The whole file in one buffer (a copy: for tests and small files).
    pub fn concat(&self) -> Vec<u8> {
        self.0.concat()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteOutput {
    pub promotion_csv: Pieces,
    pub counts: PromoteCounts,
}

/// The processor's computation: product aggregate plus the rejects file.
pub fn process(input: &[u8]) -> Result<ProcessOutput, ContractError> {
    process_rows(read_raw(input, true, Purpose::Process)?)
}

/// [`process`] of rows already read (with rejects, for [`Purpose::Process`]).
pub fn process_rows(rows: ValidRows) -> Result<ProcessOutput, ContractError> {
    let aggregate = aggregate_products(&rows)?;
    let aggregate_csv = write::aggregate_csv(&aggregate)?;
    let counts = ProcessCounts {
        rows: rows.rows,
        valid: rows.valid,
        rejected: rows.rows - rows.valid,
        products: aggregate.len() as u64,
    };
    Ok(ProcessOutput {
        aggregate_csv,
        rejects_csv: rows.rejects,
        counts,
    })
}

/// The promotion function's computation: each customer's top `top_n` products.
pub fn promote(input: &[u8], top_n: usize) -> Result<PromoteOutput, ContractError> {
    // Rejects are the processor's to write; promotion only skips them.
    promote_rows(read_raw(input, false, Purpose::Promote)?, top_n)
}

/// [`promote`] of rows already read (for [`Purpose::Promote`]).
pub fn promote_rows(mut rows: ValidRows, top_n: usize) -> Result<PromoteOutput, ContractError> {
    let ranked = rank_promotions(&rows, top_n)?;
    let counts = PromoteCounts {
        rows: rows.rows,
        valid: rows.valid,
        rejected: rows.rows - rows.valid,
        customers: ranked.customers,
        promotion_rows: ranked.frame.height() as u64,
    };
    // The row frame is not needed for writing: free it before the output
    // buffer grows (peak memory decides the Lambda memory size).
    let lookups = std::mem::take(&mut rows.lookups);
    drop(rows);
    let promotion_csv = write::promotion_csv(&ranked, &lookups)?;
    Ok(PromoteOutput {
        promotion_csv,
        counts,
    })
}
