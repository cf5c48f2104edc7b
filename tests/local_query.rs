//! `stackctl query` on the local target, with the real packaged functions:
//! after a seeded `invoke generator`, each table answers as an independent
//! computation of the data contract says (local_e2e's, written in this
//! test binary, not cartpipe's), for counts, a top N, a join of
//! `promotions` with `product_aggregates` and filters on decimals; a file
//! uploaded through `serve`'s S3 endpoint shows up in `carts`; errors name
//! the engine and the position.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{ok, text};
use crate::local::{object, stack_file, stackctl};

const RAW: &str = "cartpipe-raw-000000000000-us-east-1";
const ROWS: u64 = 3000;

type Rows = Vec<Vec<Option<String>>>;

/// `stackctl query --format json SQL`: the columns' names and the rows.
fn query(file: &Path, sql: &str) -> (Vec<String>, Rows) {
    let out = ok(stackctl(file, &["query", "--format", "json", sql]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["engine"], "polars SQL (the local engine)", "{v}");
    let columns = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    let rows = serde_json::from_value(v["rows"].clone()).unwrap();
    (columns, rows)
}

fn strings(rows: &[&[&str]]) -> Rows {
    rows.iter()
        .map(|r| r.iter().map(|v| Some((*v).to_owned())).collect())
        .collect()
}

/// A contract CSV as records (header dropped).
fn records(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

fn cents(money: &str) -> i64 {
    let (i, f) = money.split_once('.').unwrap_or((money, "0"));
    i.parse::<i64>().unwrap() * 100 + format!("{f:0<2}").parse::<i64>().unwrap()
}

#[test]
fn queries_over_every_table_equal_the_contract_computed_independently() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    let cloud = dir.path().join("cloud");
    ok(stackctl(&file, &["up"]));
    let payload = format!(r#"{{"rows": {ROWS}, "seed": 11}}"#);
    ok(stackctl(
        &file,
        &["invoke", "generator", "--payload", &payload],
    ));
    let raw = object(&cloud, RAW, "cart_abandonment_data.csv").unwrap();
    let (agg, promo) = crate::local_e2e::expected(&raw, 10);
    let (agg, promo) = (records(&agg), records(&promo));

    // Counts, one per table.
    let (columns, rows) = query(&file, "SELECT count(*) AS n FROM carts");
    assert_eq!(columns, ["n"]);
    assert_eq!(rows, strings(&[&[&ROWS.to_string()]]));
    let (_, rows) = query(&file, "SELECT count(*) AS n FROM product_aggregates");
    assert_eq!(rows, strings(&[&[&agg.len().to_string()]]));
    let (_, rows) = query(&file, "SELECT count(*) AS n FROM promotions");
    assert_eq!(rows, strings(&[&[&promo.len().to_string()]]));

    // Distinct customers: every customer has a promotion row of rank 1.
    let customers = promo.iter().filter(|r| &r[2] == "1").count();
    let (_, rows) = query(&file, "SELECT count(DISTINCT customer_id) AS n FROM carts");
    assert_eq!(rows, strings(&[&[&customers.to_string()]]));

    // The top 5 products by value: the aggregate's first rows, money exact.
    let (columns, rows) = query(
        &file,
        "SELECT product_id, total_value FROM product_aggregates \
         ORDER BY total_value DESC, product_id LIMIT 5",
    );
    assert_eq!(columns, ["product_id", "total_value"]);
    let want: Rows = agg
        .iter()
        .take(5)
        .map(|r| vec![Some(r[0].to_owned()), Some(r[6].to_owned())])
        .collect();
    assert_eq!(rows, want);

    // The same ranking computed by SQL from the raw table: decimal(12,2)
    // times bigint, summed exactly.
    let (_, rows) = query(
        &file,
        "SELECT product_id, sum(quantity * unit_price) AS value FROM carts \
         GROUP BY product_id ORDER BY value DESC, product_id LIMIT 3",
    );
    let want: Rows = agg
        .iter()
        .take(3)
        .map(|r| vec![Some(r[0].to_owned()), Some(r[6].to_owned())])
        .collect();
    assert_eq!(rows, want);

    // A join: each of the first ten customers' top product, with its
    // category from the product aggregate.
    let (_, rows) = query(
        &file,
        "SELECT p.customer_id, p.product_id, a.category FROM promotions p \
         JOIN product_aggregates a ON p.product_id = a.product_id \
         WHERE p.rank = 1 ORDER BY p.customer_id LIMIT 10",
    );
    let category: BTreeMap<&str, &str> = agg.iter().map(|r| (&r[0], &r[2])).collect();
    let want: Rows = promo
        .iter()
        .filter(|r| &r[2] == "1")
        .take(10)
        .map(|r| {
            vec![
                Some(r[0].to_owned()),
                Some(r[3].to_owned()),
                Some(category[&r[3]].to_owned()),
            ]
        })
        .collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows, want);

    // Filters on a decimal column, both sides of a boundary value.
    let values: Vec<i64> = agg.iter().map(|r| cents(&r[6])).collect();
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let bound = format!("{}.{:02}", median / 100, median % 100);
    for (op, keep) in [(">", 1), (">=", 2), ("<", 3)] {
        let (_, rows) = query(
            &file,
            &format!("SELECT count(*) AS n FROM product_aggregates WHERE total_value {op} {bound}"),
        );
        let n = values
            .iter()
            .filter(|v| match keep {
                1 => **v > median,
                2 => **v >= median,
                _ => **v < median,
            })
            .count();
        assert_eq!(
            rows,
            strings(&[&[&n.to_string()]]),
            "total_value {op} {bound}"
        );
    }

    // CSV output: the same rows, a header first.
    let out = ok(stackctl(
        &file,
        &[
            "query",
            "--format",
            "csv",
            "SELECT product_id, product_name FROM product_aggregates ORDER BY product_id LIMIT 3",
        ],
    ));
    let mut by_id: Vec<&csv::StringRecord> = agg.iter().collect();
    by_id.sort_by(|a, b| a[0].cmp(&b[0]));
    let mut want = String::from("product_id,product_name\n");
    for r in by_id.iter().take(3) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([&r[0], &r[1]]).unwrap();
        want += &String::from_utf8(w.into_inner().unwrap()).unwrap();
    }
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(3 rows, "),
        "the summary goes to stderr with --format csv"
    );

    // The default table: aligned, the summary after.
    let out = ok(stackctl(
        &file,
        &["query", "SELECT count(*) AS n FROM carts"],
    ));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("   n\n----\n3000\n(1 row, "), "{table}");
    assert!(
        table.contains("scanned; polars SQL (the local engine))"),
        "{table}"
    );
}

#[test]
fn a_failed_query_exits_1_naming_the_engine_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));

    let out = stackctl(
        &file,
        &["query", "SELEC product_id FROM product_aggregates"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("polars SQL (the local engine): the query failed:"),
        "{err}"
    );
    assert!(err.contains("Line: 1, Column: 1"), "{err}");

    let out = stackctl(&file, &["query", "SELECT * FROM no_such_table"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no_such_table"), "{}", text(&out));
    // ... and says which tables there are.
    assert!(
        err.contains("(tables in database cartpipe: carts, product_aggregates, promotions)"),
        "{}",
        text(&out)
    );

    // What the local engine lacks says so, and where to look.
    let out = stackctl(
        &file,
        &["query", "SELECT approx_distinct(product_id) FROM carts"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("approx_distinct"), "{err}");
    assert!(err.contains("docs/querying.md"), "{err}");
    // polars says "not currently supported" for a grouping it lacks.
    let out = stackctl(
        &file,
        &[
            "query",
            "SELECT category, count(*) FROM carts GROUP BY ROLLUP(category)",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("docs/querying.md"), "{err}");

    let out = stackctl(
        &file,
        &[
            "query",
            "SELECT row_number() OVER (PARTITION BY customer_id ORDER BY abandoned_value DESC, product_id) FROM promotions",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("docs/querying.md"),
        "{}",
        text(&out)
    );

    // A stack without a catalog says how to declare one.
    let bare = crate::local::stack_file_as(dir.path(), "bare.yaml", |t| {
        t.split("\ncatalog:").next().unwrap().to_owned()
    });
    let out = stackctl(&bare, &["query", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add a `catalog:` section"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_field_that_is_not_its_columns_type_names_the_object_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    let cloud = dir.path().join("cloud");
    let store = localcloud::Store::open(&cloud).unwrap();
    let header = cartpipe::contract::RAW_COLUMNS.join(",");
    let body = format!(
        "{header}\ne1,2025-01-01T00:00:00Z,C000001,Ann,a@x.io,P00001,Mug,Home,many,3.50,mobile,DE\n"
    );
    store
        .put_object(RAW, "bad.csv", body.as_bytes(), None)
        .unwrap();
    let out = stackctl(&file, &["query", "SELECT sum(quantity) FROM carts"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for part in [
        "table carts",
        &format!("s3://{RAW}/bad.csv line 2, column 9 (quantity bigint)"),
        "\"many\" is not an integer",
        "declare the column `string`",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
}

#[test]
fn a_file_uploaded_through_serve_shows_up_in_carts_while_serve_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(dir.path(), |t| t);
    ok(stackctl(&file, &["up"]));
    let serve = crate::local_e2e::Serve::start(&file);
    let header = cartpipe::contract::RAW_COLUMNS.join(",");
    let body = format!(
        "{header}\n\
         u1,2025-03-01T10:00:00Z,C900001,\"Doe, Jane\",jane@x.io,P90001,\"Mug \"\"XL\"\"\",Home,2,12.50,mobile,DE\n\
         u2,2025-03-01T11:00:00Z,C900001,\"Doe, Jane\",jane@x.io,P90002,Lamp,Home,1,0.99,desktop,DE\n"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        serve
            .s3()
            .put_object()
            .bucket(RAW)
            .key("uploads/jane.csv")
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    });
    // The upload ran the pipeline; the query reads the raw file itself.
    serve.wait_for("cartpipe-processor", 1);
    let (_, rows) = query(
        &file,
        "SELECT event_id, customer_name, product_name, quantity * unit_price AS value \
         FROM carts WHERE customer_id = 'C900001' ORDER BY event_id",
    );
    assert_eq!(
        rows,
        strings(&[
            &["u1", "Doe, Jane", "Mug \"XL\"", "25.00"],
            &["u2", "Doe, Jane", "Lamp", "0.99"],
        ])
    );
    let (_, rows) = query(
        &file,
        "SELECT total_value FROM product_aggregates WHERE product_id = 'P90001'",
    );
    assert_eq!(rows, strings(&[&["25.00"]]));
}
