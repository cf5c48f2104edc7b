//! The contract's two aggregations: products on polars' lazy group-by;
//! the promotion pairs by one sort (nearly every pair is its own group).

use polars::prelude::*;

use super::ContractError;
use super::read::{MinText, ValidRows};

/// One row per product, already in the contract's order (total_value
/// descending, then product_id). Columns: product_id, abandoned_carts,
/// unique_customers, total_quantity, total_value (cents),
/// first_abandoned_at, last_abandoned_at (timestamp keys); `names` and
/// `categories` give each product's texts.
pub struct ProductAggregate {
    pub frame: DataFrame,
    pub names: MinText,
    pub categories: MinText,
}

impl ProductAggregate {
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The contract's promotion rows, ordered by customer_id then rank, ranks
/// above N already cut. Columns: customer_id, product_id,
/// abandoned_quantity, abandoned_value (cents), rank; the rows' lookups
/// (emails, names) complete them.
pub struct Promotions {
    pub frame: DataFrame,
    /// Customers with at least one valid row.
    pub customers: u64,
}

pub fn aggregate_products(rows: &ValidRows) -> Result<ProductAggregate, ContractError> {
    let frame = rows
        .frame
        .clone()
        .lazy()
        .group_by([col("product_id")])
        .agg([
            len().cast(DataType::Int64).alias("abandoned_carts"),
            col("customer_id")
                .n_unique()
                .cast(DataType::Int64)
                .alias("unique_customers"),
            col("quantity").sum().alias("total_quantity"),
            col("value").sum().alias("total_value"),
            col("abandoned_at").min().alias("first_abandoned_at"),
            col("abandoned_at").max().alias("last_abandoned_at"),
        ])
        .sort_by_exprs(
            [col("total_value"), col("product_id")],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .collect()?;
    Ok(ProductAggregate {
        frame,
        names: rows.lookups.names.clone(),
        categories: rows.lookups.categories.clone(),
    })
}

/// The promotion rows being built, in output order.
struct RankedColumns {
    customer_id: Vec<u32>,
    product_id: Vec<u32>,
    quantity: Vec<i64>,
    value: Vec<i64>,
    rank: Vec<u32>,
}

impl RankedColumns {
    fn with_capacity(n: usize) -> Self {
        Self {
            customer_id: Vec::with_capacity(n),
            product_id: Vec::with_capacity(n),
            quantity: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            rank: Vec::with_capacity(n),
        }
    }

    fn into_frame(self) -> Result<DataFrame, ContractError> {
        let height = self.rank.len();
        Ok(DataFrame::new(
            height,
            vec![
                UInt32Chunked::from_vec("customer_id".into(), self.customer_id).into_column(),
                UInt32Chunked::from_vec("product_id".into(), self.product_id).into_column(),
                Int64Chunked::from_vec("abandoned_quantity".into(), self.quantity).into_column(),
                Int64Chunked::from_vec("abandoned_value".into(), self.value).into_column(),
                UInt32Chunked::from_vec("rank".into(), self.rank).into_column(),
            ],
        )?)
    }
}

/// Customer and product ids packed in one integer key: grouping on one
/// `u64` hashes faster than on two columns. Product ids are below 100,000.
const PAIR: u64 = 100_000;

pub fn rank_promotions(rows: &ValidRows, top_n: usize) -> Result<Promotions, ContractError> {
    // `read_raw` only lets 5-digit product ids through; a frame built by
    // other means must not merge pairs by overflowing the packed key.
    if let Some(max) = rows.frame.column("product_id")?.u32()?.max()
        && u64::from(max) >= PAIR
    {
        return Err(ContractError::Engine(format!(
            "product id {max} has more than 5 digits"
        )));
    }
    // Nearly every (customer, product) pair is its own group (a million
    // rows, about as many pairs), so the group-by is a sort: the rows' packed
    // keys sorted, equal neighbours summed. That is customer-major with
    // products ascending within a customer. Ranking is then a sort of each
    // customer's small run (about five pairs), done below: a stable sort by
    // value and quantity keeps the product order for ties. (polars'
    // group-by and sort of the pairs took 0.45 s of promote's 1.8 s for 1M
    // rows, this sort about 0.1 s; a four-key polars sort, 3x as long.)
    let frame = &rows.frame;
    // `read_raw` builds these columns without nulls; the sort below reads
    // values only, so a frame with nulls is refused, not misread.
    for name in ["customer_id", "product_id", "quantity", "value"] {
        if frame.column(name)?.null_count() > 0 {
            return Err(ContractError::Engine(format!("column {name} has nulls")));
        }
    }
    let mut keyed: Vec<(u64, i64, i64)> = Vec::with_capacity(frame.height());
    for (((c, p), q), v) in frame
        .column("customer_id")?
        .u32()?
        .into_no_null_iter()
        .zip(frame.column("product_id")?.u32()?.into_no_null_iter())
        .zip(frame.column("quantity")?.i64()?.into_no_null_iter())
        .zip(frame.column("value")?.i64()?.into_no_null_iter())
    {
        keyed.push((u64::from(c) * PAIR + u64::from(p), q, v));
    }
    keyed.sort_unstable_by_key(|&(key, _, _)| key);
    // Equal neighbours summed in place: no second set of columns. Fresh
    // pages, not the sort, were most of this function's time on a VM that
    // hands freed memory back to its host (docs/performance.md,
    // "2026-12-05 afternoon").
    let mut groups = 0;
    for i in 0..keyed.len() {
        let (key, q, v) = keyed[i];
        if groups > 0 && keyed[groups - 1].0 == key {
            keyed[groups - 1].1 += q;
            keyed[groups - 1].2 += v;
        } else {
            keyed[groups] = (key, q, v);
            groups += 1;
        }
    }
    keyed.truncate(groups);
    let pairs = &keyed[..];

    let mut out = RankedColumns::with_capacity(pairs.len());
    let mut customers = 0u64;
    let mut order: Vec<usize> = Vec::new();
    let mut start = 0;
    while start < pairs.len() {
        let customer = pairs[start].0 / PAIR;
        let end = start
            + pairs[start..]
                .iter()
                .position(|&(p, _, _)| p / PAIR != customer)
                .unwrap_or(pairs.len() - start);
        customers += 1;
        order.clear();
        order.extend(start..end);
        // By value, then quantity, both descending; stable, so ties keep
        // the products' ascending order.
        order.sort_by(|&a, &b| {
            let ((_, qa, va), (_, qb, vb)) = (pairs[a], pairs[b]);
            vb.cmp(&va).then(qb.cmp(&qa))
        });
        for (rank, &i) in order.iter().take(top_n).enumerate() {
            let (pair, quantity, value) = pairs[i];
            out.customer_id.push(customer as u32);
            out.product_id.push((pair % PAIR) as u32);
            out.quantity.push(quantity);
            out.value.push(value);
            out.rank.push(rank as u32 + 1);
        }
        start = end;
    }
    let ranked = out.into_frame()?;
    Ok(Promotions {
        frame: ranked,
        customers,
    })
}
