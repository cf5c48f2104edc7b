//! One pass over the raw file: split rows into valid columns (for polars) and
//! the rejects file (as they came, plus `reject_reason`).

use polars::prelude::*;

use super::validate::{RejectReason, validate_fields};
use super::{ContractError, RAW_COLUMNS};

/// The valid rows of a raw file as a polars frame with the columns
/// `abandoned_at, customer_id, customer_email, product_id, product_name,
/// category` (String) and `quantity`, `value` (Int64, cents = quantity ×
/// unit_price).
pub struct ValidRows {
    /// Data rows in the input (empty lines are not rows).
    pub rows: u64,
    pub valid: u64,
    pub frame: DataFrame,
    /// The rejects file, when asked for and some row was rejected.
    pub rejects: Option<Vec<u8>>,
}

struct Columns {
    abandoned_at: StringChunkedBuilder,
    customer_id: StringChunkedBuilder,
    customer_email: StringChunkedBuilder,
    product_id: StringChunkedBuilder,
    product_name: StringChunkedBuilder,
    category: StringChunkedBuilder,
    quantity: Vec<i64>,
    value: Vec<i64>,
}

impl Columns {
    fn new(capacity: usize) -> Self {
        let s = |name: &str| StringChunkedBuilder::new(name.into(), capacity);
        Self {
            abandoned_at: s("abandoned_at"),
            customer_id: s("customer_id"),
            customer_email: s("customer_email"),
            product_id: s("product_id"),
            product_name: s("product_name"),
            category: s("category"),
            quantity: Vec::with_capacity(capacity),
            value: Vec::with_capacity(capacity),
        }
    }

    fn into_frame(self) -> Result<DataFrame, ContractError> {
        let height = self.quantity.len();
        let columns = vec![
            self.abandoned_at.finish().into_column(),
            self.customer_id.finish().into_column(),
            self.customer_email.finish().into_column(),
            self.product_id.finish().into_column(),
            self.product_name.finish().into_column(),
            self.category.finish().into_column(),
            Int64Chunked::from_vec("quantity".into(), self.quantity).into_column(),
            Int64Chunked::from_vec("value".into(), self.value).into_column(),
        ];
        Ok(DataFrame::new(height, columns)?)
    }
}

/// Reads a raw file. Fails only when the file breaks the contract as a whole
/// (missing columns); bad rows are counted and, if `collect_rejects`, written
/// to the rejects file.
pub fn read_raw(input: &[u8], collect_rejects: bool) -> Result<ValidRows, ContractError> {
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
    let mut cols = Columns::new(input.len() / 160 + 1);
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
                cols.abandoned_at.append_value(row.abandoned_at);
                cols.customer_id.append_value(row.customer_id);
                cols.customer_email.append_value(row.customer_email);
                cols.product_id.append_value(row.product_id);
                cols.product_name.append_value(row.product_name);
                cols.category.append_value(row.category);
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
