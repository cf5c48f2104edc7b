"""The data contract (../shared/data-contract.md) in plain Python polars.

The peer of `cartpipe process` and `cartpipe promote` in
`cargo bench --bench pipeline`: written as a data engineer would, with a
lazy `scan_csv`, expression filters and `group_by`, no tuning. The
benchmark checks that its outputs equal cartpipe's byte for byte on the
generated files, so both do the same work.

    python3 contract.py process RAW.csv OUTDIR
    python3 contract.py promote RAW.csv OUTDIR [--top N]
"""

import os
import sys

import polars as pl

RAW_COLUMNS = [
    "event_id", "abandoned_at", "customer_id", "customer_name", "customer_email",
    "product_id", "product_name", "category", "quantity", "unit_price", "device",
    "country",
]

# Each rule with the reason a rejected row gets; the first broken one wins.
RULES = [
    ("event_id is empty", pl.col("event_id").str.len_bytes() > 0),
    (
        "abandoned_at is not YYYY-MM-DDTHH:MM:SSZ",
        pl.col("abandoned_at").str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
        & pl.col("abandoned_at")
        .str.strptime(pl.Datetime, "%Y-%m-%dT%H:%M:%SZ", strict=False)
        .is_not_null(),
    ),
    ("customer_id is not C + 6 digits", pl.col("customer_id").str.contains(r"^C\d{6}$")),
    ("customer_name is empty", pl.col("customer_name").str.len_bytes() > 0),
    ("customer_email is not an address", pl.col("customer_email").str.contains(r"^[^@]+@[^@]+$")),
    ("product_id is not P + 5 digits", pl.col("product_id").str.contains(r"^P\d{5}$")),
    ("product_name is empty", pl.col("product_name").str.len_bytes() > 0),
    ("category is empty", pl.col("category").str.len_bytes() > 0),
    (
        "quantity is not 1 to 99",
        pl.col("quantity").str.contains(r"^[0-9]+$")
        & pl.col("quantity").cast(pl.Int64, strict=False).is_between(1, 99),
    ),
    (
        "unit_price is not 0.01 to 100000.00",
        pl.col("unit_price").str.contains(r"^[0-9]+(\.[0-9]{1,2})?$")
        & pl.col("price_cents").is_between(1, 10_000_000),
    ),
    ("device is not mobile, desktop or tablet", pl.col("device").is_in(["mobile", "desktop", "tablet"])),
    ("country is not two capital letters", pl.col("country").str.contains(r"^[A-Z]{2}$")),
]


def money(column):
    """Integer cents as text with two fraction digits."""
    c = pl.col(column)
    return ((c // 100).cast(pl.String) + "." + (c % 100).cast(pl.String).str.zfill(2)).alias(column)


def checked_rows(path):
    """Every data row (all columns as text), with `price_cents`, `value` and `reject_reason`."""
    raw = pl.scan_csv(path, infer_schema=False)
    missing = [c for c in RAW_COLUMNS if c not in raw.collect_schema().names()]
    if missing:
        sys.exit(f"the header lacks required column(s): {', '.join(missing)}")
    price = pl.col("unit_price").str.split_exact(".", 1)
    reason = pl.lit(None, dtype=pl.String)
    for text, ok in reversed(RULES):
        reason = pl.when(~ok.fill_null(False)).then(pl.lit(text)).otherwise(reason)
    return (
        raw.with_columns(
            price_cents=price.struct.field("field_0").cast(pl.Int64, strict=False) * 100
            + price.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False)
        )
        .with_columns(reject_reason=reason)
        .with_columns(value=pl.col("quantity").cast(pl.Int64, strict=False) * pl.col("price_cents"))
    )


def valid(rows):
    return rows.filter(pl.col("reject_reason").is_null()).with_columns(
        pl.col("quantity").cast(pl.Int64)
    )


def write_rejects(rows, path, outdir):
    rejects = rows.filter(pl.col("reject_reason").is_not_null()).drop("price_cents", "value").collect()
    if rejects.height:
        os.makedirs(os.path.join(outdir, "rejects"), exist_ok=True)
        rejects.write_csv(os.path.join(outdir, "rejects", os.path.basename(path)))


def process(path, outdir):
    rows = checked_rows(path)
    aggregate = (
        valid(rows)
        .group_by("product_id")
        .agg(
            pl.col("product_name").min(),
            pl.col("category").min(),
            pl.len().alias("abandoned_carts"),
            pl.col("customer_id").n_unique().alias("unique_customers"),
            pl.col("quantity").sum().alias("total_quantity"),
            pl.col("value").sum().alias("total_value"),
            pl.col("abandoned_at").min().alias("first_abandoned_at"),
            pl.col("abandoned_at").max().alias("last_abandoned_at"),
        )
        # total_value / total_quantity, rounded half up to the cent.
        .with_columns(
            avg_unit_price=(2 * pl.col("total_value") + pl.col("total_quantity"))
            // (2 * pl.col("total_quantity"))
        )
        .sort(["total_value", "product_id"], descending=[True, False])
        .select(
            "product_id", "product_name", "category", "abandoned_carts", "unique_customers",
            "total_quantity", money("total_value"), money("avg_unit_price"),
            "first_abandoned_at", "last_abandoned_at",
        )
        .collect()
    )
    aggregate.write_csv(os.path.join(outdir, "cart_aggregated_data.csv"))
    write_rejects(rows, path, outdir)


def promote(path, outdir, top):
    rows = valid(checked_rows(path))
    emails = rows.group_by("customer_id").agg(pl.col("customer_email").min())
    names = rows.group_by("product_id").agg(pl.col("product_name").min())
    promotions = (
        rows.group_by("customer_id", "product_id")
        .agg(
            pl.col("quantity").sum().alias("abandoned_quantity"),
            pl.col("value").sum().alias("abandoned_value"),
        )
        .sort(
            ["customer_id", "abandoned_value", "abandoned_quantity", "product_id"],
            descending=[False, True, True, False],
        )
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("customer_id"))
        .filter(pl.col("rank") <= top)
        .join(emails, on="customer_id")
        .join(names, on="product_id")
        .sort(["customer_id", "rank"])
        .select(
            "customer_id", "customer_email", "rank", "product_id", "product_name",
            "abandoned_quantity", money("abandoned_value"),
        )
        .collect()
    )
    promotions.write_csv(os.path.join(outdir, "promotion_data.csv"))


def main(argv):
    if len(argv) < 3 or argv[0] not in ("process", "promote"):
        sys.exit(__doc__)
    op, path, outdir = argv[0], argv[1], argv[2]
    os.makedirs(outdir, exist_ok=True)
    if op == "process":
        process(path, outdir)
    else:
        top = int(argv[4]) if len(argv) > 4 and argv[3] == "--top" else 10
        promote(path, outdir, top)


if __name__ == "__main__":
    main(sys.argv[1:])
