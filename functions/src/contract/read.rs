//! One pass over the raw file: split rows into valid columns (for polars) and
//! the rejects file (as they came, plus `reject_reason`).

use polars::prelude::*;

use super::validate::{RejectReason, validate_fields};
use super::{ContractError, RAW_COLUMNS};

/// Which optional columns a computation needs: building fewer string
/// columns saves time and memory on big files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The product aggregate: needs `abandoned_at` and `category`.
    Process,
    /// The promotion list: needs `customer_email`.
    Promote,
}

/// The valid rows of a raw file as a polars frame with the columns
/// `customer_id`, `product_id` (UInt32: the digits after `C` / `P`; the
/// contract fixes their width, so numeric order is byte order and grouping
/// hashes integers instead of strings), `product_name` (String), `quantity`,
/// `value`
/// (Int64, cents = quantity × unit_price), plus `abandoned_at` and
/// `category` for [`Purpose::Process`] or `customer_email` for
/// [`Purpose::Promote`].
pub struct ValidRows {
    /// Data rows in the input (empty lines are not rows).
    pub rows: u64,
    pub valid: u64,
    pub frame: DataFrame,
    /// The rejects file, when asked for and some row was rejected.
    pub rejects: Option<Vec<u8>>,
}

struct Columns {
    abandoned_at: Option<StringChunkedBuilder>,
    customer_id: Vec<u32>,
    customer_email: Option<StringChunkedBuilder>,
    product_id: Vec<u32>,
    product_name: StringChunkedBuilder,
    category: Option<StringChunkedBuilder>,
    quantity: Vec<i64>,
    value: Vec<i64>,
}

impl Columns {
    fn new(capacity: usize, purpose: Purpose) -> Self {
        let s = |name: &str| StringChunkedBuilder::new(name.into(), capacity);
        let process = purpose == Purpose::Process;
        Self {
            abandoned_at: process.then(|| s("abandoned_at")),
            customer_id: Vec::with_capacity(capacity),
            customer_email: (!process).then(|| s("customer_email")),
            product_id: Vec::with_capacity(capacity),
            product_name: s("product_name"),
            category: process.then(|| s("category")),
            quantity: Vec::with_capacity(capacity),
            value: Vec::with_capacity(capacity),
        }
    }

    fn into_frame(self) -> Result<DataFrame, ContractError> {
        let height = self.quantity.len();
        let mut columns = vec![
            UInt32Chunked::from_vec("customer_id".into(), self.customer_id).into_column(),
            UInt32Chunked::from_vec("product_id".into(), self.product_id).into_column(),
            self.product_name.finish().into_column(),
            Int64Chunked::from_vec("quantity".into(), self.quantity).into_column(),
            Int64Chunked::from_vec("value".into(), self.value).into_column(),
        ];
        for optional in [self.abandoned_at, self.customer_email, self.category]
            .into_iter()
            .flatten()
        {
            columns.push(optional.finish().into_column());
        }
        Ok(DataFrame::new(height, columns)?)
    }
}

/// Reads a raw file. Fails only when the file breaks the contract as a whole
/// (missing columns); bad rows are counted and, if `collect_rejects`, written
/// to the rejects file.
pub fn read_raw(
    input: &[u8],
    collect_rejects: bool,
    purpose: Purpose,
) -> Result<ValidRows, ContractError> {
    // Writers must not emit a BOM, but readers should not trip on one.
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let header = match reader.read_byte_record(&mut record) {
        Ok(true) => record.clone(),
        Ok(false) => csv::ByteRecord::new(),
        Err(e) => return Err(ContractError::Csv(e.to_string())),
    };
    let index = column_index(&header)?;

    // A cheap capacity guess (about 170 bytes per generated row) saves
    // reallocations on big files without over-committing on small ones.
    let mut cols = Columns::new(input.len() / 160 + 1, purpose);
    let mut rejects: Option<csv::Writer<Vec<u8>>> = None;
    let mut rows = 0u64;
    let expected = header.len();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ContractError::Csv(e.to_string())),
        }
        rows += 1;
        let verdict = if record.len() != expected {
            Err(RejectReason::FieldCount {
                expected,
                found: record.len(),
            })
        } else {
            let fields = index.map(|i| record.get(i).unwrap_or_default());
            validate_fields(fields)
        };
        match verdict {
            Ok(row) => {
                cols.customer_id.push(id_number(row.customer_id));
                cols.product_id.push(id_number(row.product_id));
                cols.product_name.append_value(row.product_name);
                if let Some(b) = &mut cols.abandoned_at {
                    b.append_value(row.abandoned_at);
                }
                if let Some(b) = &mut cols.customer_email {
                    b.append_value(row.customer_email);
                }
                if let Some(b) = &mut cols.category {
                    b.append_value(row.category);
                }
                cols.quantity.push(row.quantity);
                cols.value.push(row.quantity * row.unit_price_cents);
            }
            Err(reason) if collect_rejects => {
                let w = match &mut rejects {
                    Some(w) => w,
                    None => rejects.insert(rejects_writer(&header)?),
                };
                let reason = reason.to_string();
                w.write_record(record.iter().chain([reason.as_bytes()]))
                    .map_err(|e| ContractError::Csv(e.to_string()))?;
            }
            Err(_) => {}
        }
    }
    let valid = cols.quantity.len() as u64;
    let rejects = rejects
        .map(|w| {
            w.into_inner()
                .map_err(|e| ContractError::Csv(e.to_string()))
        })
        .transpose()?;
    Ok(ValidRows {
        rows,
        valid,
        frame: cols.into_frame()?,
        rejects,
    })
}

/// The digits of a validated `C123456` / `P12345`.
fn id_number(id: &str) -> u32 {
    id.bytes()
        .skip(1)
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// Where each required column sits in the header (first occurrence wins).
fn column_index(header: &csv::ByteRecord) -> Result<[usize; 12], ContractError> {
    let mut index = [usize::MAX; 12];
    for (i, name) in RAW_COLUMNS.iter().enumerate() {
        if let Some(pos) = header.iter().position(|h| h == name.as_bytes()) {
            index[i] = pos;
        }
    }
    let missing: Vec<String> = RAW_COLUMNS
        .iter()
        .zip(index)
        .filter(|(_, i)| *i == usize::MAX)
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(index)
    } else {
        Err(ContractError::MissingColumns { missing })
    }
}

fn rejects_writer(header: &csv::ByteRecord) -> Result<csv::Writer<Vec<u8>>, ContractError> {
    let mut w = super::write::csv_writer(Vec::new());
    w.write_record(header.iter().chain([b"reject_reason".as_slice()]))
        .map_err(|e| ContractError::Csv(e.to_string()))?;
    Ok(w)
}
