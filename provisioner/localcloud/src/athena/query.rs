//! SQL over a Glue database's tables, with polars' SQL engine: what
//! Athena does for the stack on AWS, on this machine.
//!
//! A table is every object under its location's prefix (the latest
//! version of each key, as Athena reads S3), parsed as Athena's Open CSV
//! SerDe reads it: by column position (the header row, when the table
//! skips one, is not matched by name), short rows padded with nulls, extra
//! fields ignored, each field parsed as its declared type. Objects whose
//! name starts with `_` or `.` are skipped, as Athena skips them. Only the
//! tables a query names are read.

use polars::prelude::*;
use polars::sql::{SQLContext, extract_table_identifiers};

use super::QueryOutput;
use crate::glue::Table;
use crate::store::{Store, StoreError};

/// The engine, as errors and results name it.
pub const ENGINE: &str = "polars SQL (the local engine)";

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The SQL does not parse, or asks for what the engine lacks.
    #[error("{0}")]
    Sql(String),
    /// A field that is not of its column's declared type.
    #[error("{0}")]
    BadField(Box<BadField>),
    #[error("table {table}: {message}")]
    Table { table: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a field is not of its column's type, and why.
#[derive(Debug, thiserror::Error)]
#[error(
    "table {table}: s3://{bucket}/{key} line {line}, column {column} ({name} {ty}): {value:?} \
     {problem} (declare the column `string` in stack.yaml's catalog to read it as text)"
)]
pub struct BadField {
    pub table: String,
    pub bucket: String,
    pub key: String,
    pub line: u64,
    pub column: usize,
    pub name: String,
    pub ty: String,
    pub value: String,
    pub problem: String,
}

/// A declared column type, as the engine builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Bool,
    Int { bits: u32 },
    Float32,
    Float64,
    Decimal { precision: u32, scale: u32 },
}

impl Ty {
    fn parse(glue: &str) -> Option<Ty> {
        let t = glue.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "string" | "varchar" => Ty::Text,
            "boolean" => Ty::Bool,
            "tinyint" => Ty::Int { bits: 8 },
            "smallint" => Ty::Int { bits: 16 },
            "int" | "integer" => Ty::Int { bits: 32 },
            "bigint" => Ty::Int { bits: 64 },
            "float" => Ty::Float32,
            "double" => Ty::Float64,
            _ => {
                let args = t.strip_prefix("decimal")?.trim_start();
                let (p, s) = args.strip_prefix('(')?.strip_suffix(')')?.split_once(',')?;
                let (precision, scale) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
                if !(1..=38).contains(&precision) || scale > precision {
                    return None;
                }
                Ty::Decimal { precision, scale }
            }
        })
    }
}

/// One column being filled.
enum Values {
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>, u32),
    Float32(Vec<Option<f32>>),
    Float64(Vec<Option<f64>>),
    Decimal(Vec<Option<i128>>, u32, u32),
}

impl Values {
    fn new(ty: Ty) -> Self {
        match ty {
            Ty::Text => Values::Text(Vec::new()),
            Ty::Bool => Values::Bool(Vec::new()),
            Ty::Int { bits } => Values::Int(Vec::new(), bits),
            Ty::Float32 => Values::Float32(Vec::new()),
            Ty::Float64 => Values::Float64(Vec::new()),
            Ty::Decimal { precision, scale } => Values::Decimal(Vec::new(), precision, scale),
        }
    }

    fn push_null(&mut self) {
        match self {
            Values::Text(v) => v.push(None),
            Values::Bool(v) => v.push(None),
            Values::Int(v, _) => v.push(None),
            Values::Float32(v) => v.push(None),
            Values::Float64(v) => v.push(None),
            Values::Decimal(v, ..) => v.push(None),
        }
    }

    /// Parses and appends one field; the reason when it is not of the type.
    fn push(&mut self, field: &str) -> Result<(), String> {
        match self {
            Values::Text(v) => v.push(Some(field.to_owned())),
            Values::Bool(v) => v.push(Some(match field.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err("is not a boolean (true or false)".into()),
            })),
            Values::Int(v, bits) => {
                let n: i64 = field
                    .trim()
                    .parse()
                    .map_err(|_| "is not an integer".to_owned())?;
                let max = if *bits == 64 {
                    i64::MAX
                } else {
                    (1i64 << (*bits - 1)) - 1
                };
                if n > max || n < -max - 1 {
                    return Err(format!("is out of range of a {bits}-bit integer"));
                }
                v.push(Some(n));
            }
            Values::Float32(v) => v.push(Some(
                field
                    .trim()
                    .parse()
                    .map_err(|_| "is not a number".to_owned())?,
            )),
            Values::Float64(v) => v.push(Some(
                field
                    .trim()
                    .parse()
                    .map_err(|_| "is not a number".to_owned())?,
            )),
            Values::Decimal(v, precision, scale) => {
                v.push(Some(parse_decimal(field.trim(), *precision, *scale)?));
            }
        }
        Ok(())
    }

    fn into_column(self, name: &str) -> PolarsResult<Column> {
        let name: PlSmallStr = name.into();
        Ok(match self {
            Values::Text(v) => StringChunked::from_iter_options(name, v.into_iter()).into_column(),
            Values::Bool(v) => BooleanChunked::from_iter_options(name, v.into_iter()).into_column(),
            Values::Int(v, bits) => {
                let c = Int64Chunked::from_iter_options(name, v.into_iter()).into_column();
                let dtype = match bits {
                    8 => DataType::Int8,
                    16 => DataType::Int16,
                    32 => DataType::Int32,
                    _ => DataType::Int64,
                };
                c.cast(&dtype)?
            }
            Values::Float32(v) => {
                Float32Chunked::from_iter_options(name, v.into_iter()).into_column()
            }
            Values::Float64(v) => {
                Float64Chunked::from_iter_options(name, v.into_iter()).into_column()
            }
            Values::Decimal(v, precision, scale) => {
                Int128Chunked::from_iter_options(name, v.into_iter())
                    .into_decimal(precision as usize, scale as usize)?
                    .into_column()
            }
        })
    }
}

/// `[+-]digits[.digits]` as an integer of `scale` fraction digits, rounded
/// half up past the scale (as Hive's decimals are); more than `precision`
/// digits in all is an error.
fn parse_decimal(s: &str, precision: u32, scale: u32) -> Result<i128, String> {
    let bad = || "is not a decimal number".to_owned();
    let too_long = || format!("has more than {precision} digits");
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let mut value: i128 = 0;
    for b in int.bytes().chain(
        frac.bytes()
            .chain(std::iter::repeat(b'0'))
            .take(scale as usize),
    ) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(too_long)?;
    }
    if frac.len() > scale as usize && frac.as_bytes()[scale as usize] >= b'5' {
        value = value.checked_add(1).ok_or_else(too_long)?;
    }
    if value >= 10i128.pow(precision) {
        return Err(too_long());
    }
    Ok(if negative { -value } else { value })
}

impl Store {
    /// Runs `sql` over the tables of Glue database `database`.
    pub fn run_query(&self, database: &str, sql: &str) -> Result<QueryOutput, QueryError> {
        let named = extract_table_identifiers(sql, false, true).map_err(sql_error)?;
        let tables = self.tables_of(database)?;
        let mut ctx = SQLContext::new();
        let mut scanned = 0u64;
        for table in &tables {
            // Only what the query names is read (names compare as SQL's
            // unquoted identifiers: case-insensitively).
            if !named.iter().any(|n| n.eq_ignore_ascii_case(&table.name)) {
                continue;
            }
            let (frame, bytes) = self.read_table(table)?;
            scanned += bytes;
            ctx.register(&table.name, frame.lazy());
        }
        let frame =
            ctx.execute(sql)
                .and_then(LazyFrame::collect)
                .map_err(|e| match sql_error(e) {
                    // polars names the missing relation; say what there is.
                    QueryError::Sql(m) if m.contains("relation") && m.contains("not found") => {
                        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                        QueryError::Sql(format!(
                            "{m} (tables in database {database}: {})",
                            names.join(", ")
                        ))
                    }
                    other => other,
                })?;
        Ok(output(&frame, scanned))
    }

    /// A table's objects as one frame of its declared columns, and the
    /// bytes read.
    fn read_table(&self, table: &Table) -> Result<(DataFrame, u64), QueryError> {
        let fail = |message: String| QueryError::Table {
            table: table.name.clone(),
            message,
        };
        let (bucket, prefix) = table
            .bucket_and_prefix()
            .ok_or_else(|| fail(format!("location {} is not an s3:// URL", table.location)))?;
        let types: Vec<Ty> = table
            .columns
            .iter()
            .map(|c| {
                Ty::parse(&c.ty).ok_or_else(|| {
                    fail(format!(
                        "column {} has type {}, which the local engine does not read",
                        c.name, c.ty
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut values: Vec<Values> = types.iter().map(|t| Values::new(*t)).collect();
        let mut scanned = 0u64;
        let objects = match self.list_objects(bucket, prefix) {
            Ok(objects) => objects,
            Err(StoreError::NoSuchBucket(b)) => {
                return Err(fail(format!("its bucket {b} does not exist")));
            }
            Err(e) => return Err(e.into()),
        };
        for object in objects {
            let name = object.key.rsplit('/').next().unwrap_or_default();
            if name.is_empty() || name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let (_, file) = self.open_object(bucket, &object.key, Some(&object.version_id))?;
            scanned += object.size;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(table.skips_header())
                .flexible(true)
                .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {}
                    Err(e) => {
                        return Err(fail(format!(
                            "s3://{bucket}/{}: not readable as CSV: {e}",
                            object.key
                        )));
                    }
                }
                let line = record.position().map_or(0, csv::Position::line);
                for (i, v) in values.iter_mut().enumerate() {
                    match record.get(i) {
                        None => v.push_null(),
                        Some(field) => {
                            v.push(field).map_err(|problem| {
                                QueryError::BadField(Box::new(BadField {
                                    table: table.name.clone(),
                                    bucket: bucket.to_owned(),
                                    key: object.key.clone(),
                                    line,
                                    column: i + 1,
                                    name: table.columns[i].name.clone(),
                                    ty: table.columns[i].ty.clone(),
                                    value: field.to_owned(),
                                    problem,
                                }))
                            })?;
                        }
                    }
                }
            }
        }
        let columns = values
            .into_iter()
            .zip(&table.columns)
            .map(|(v, c)| v.into_column(&c.name))
            .collect::<PolarsResult<Vec<_>>>()
            .map_err(|e| fail(e.to_string()))?;
        let height = columns.first().map_or(0, Column::len);
        let frame = DataFrame::new(height, columns).map_err(|e| fail(e.to_string()))?;
        Ok((frame, scanned))
    }
}

fn sql_error(e: PolarsError) -> QueryError {
    QueryError::Sql(e.to_string())
}

/// SQL's name for a result column's type.
fn type_name(dtype: &DataType) -> String {
    match dtype {
        DataType::String => "varchar".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "bigint".into(),
        DataType::Float32 => "real".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal(p, s) => format!("decimal({p},{s})"),
        other => other.to_string(),
    }
}

fn cell(v: AnyValue<'_>) -> Option<String> {
    Some(match v {
        AnyValue::Null => return None,
        AnyValue::String(s) => s.to_owned(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::Decimal(v, _, scale) => decimal_text(v, scale),
        other => other.to_string(),
    })
}

/// An integer of `scale` fraction digits as text: `1250`, 2 → `12.50`.
fn decimal_text(v: i128, scale: usize) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

fn output(frame: &DataFrame, scanned_bytes: u64) -> QueryOutput {
    let columns: Vec<(String, String)> = frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), type_name(c.dtype())))
        .collect();
    let rows = (0..frame.height())
        .map(|i| {
            frame
                .columns()
                .iter()
                .map(|c| c.get(i).ok().and_then(cell))
                .collect()
        })
        .collect();
    QueryOutput {
        columns,
        rows,
        scanned_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_and_round_half_up_past_the_scale() {
        assert_eq!(parse_decimal("12.5", 12, 2), Ok(1250));
        assert_eq!(parse_decimal("0.99", 12, 2), Ok(99));
        assert_eq!(parse_decimal("-3", 12, 2), Ok(-300));
        assert_eq!(parse_decimal("1.005", 12, 2), Ok(101));
        assert_eq!(parse_decimal("1.004", 12, 2), Ok(100));
        assert!(parse_decimal("12345678901.00", 12, 2).is_err());
        assert!(parse_decimal("1e5", 12, 2).is_err());
        assert!(parse_decimal(".", 12, 2).is_err());
        // i128::MAX, then rounded up past it: an error, not a wrap.
        let max = i128::MAX.to_string();
        for s in [format!("{max}.5"), format!("-{max}.5"), format!("{max}0")] {
            assert_eq!(
                parse_decimal(&s, 38, 0),
                Err("has more than 38 digits".to_owned()),
                "{s}"
            );
        }
        assert_eq!(decimal_text(1250, 2), "12.50");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(7, 0), "7");
    }

    #[test]
    fn types_read_as_glue_spells_them() {
        assert_eq!(
            Ty::parse("decimal(12,2)"),
            Some(Ty::Decimal {
                precision: 12,
                scale: 2
            })
        );
        assert_eq!(Ty::parse("bigint"), Some(Ty::Int { bits: 64 }));
        assert_eq!(Ty::parse("timestamp"), None);
    }
}
