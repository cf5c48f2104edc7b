//! The catalog on the AWS target, against moto's server over HTTP through
//! the real SDK: `up` makes the Glue database, one table per declared table
//! (columns, SerDe, location, parameters) and the Athena workgroup; drift
//! in a table's columns is seen and repaired; `down` leaves none of it; a
//! database someone re-creates after `down` is not the stack's; and
//! `stackctl query` pages through Athena's results and prints them.
//!
//! moto is lenient where AWS is strict, and these tests follow AWS:
//! - Glue tables take no tags on AWS (moto accepts them): ownership is the
//!   table parameter `stackctl:stack`, checked here; no tag is set.
//! - moto gives a deleted Glue database's tags to the next database of its
//!   name; AWS does not. The harness drops them (tests/support/moto.rs,
//!   patch 5), and `a_database_recreated_after_down_is_not_the_stacks`
//!   fails without the patch.
//! - moto's Athena runs no SQL: it answers canned results, queued through
//!   `/moto-api/static/athena/query-results`; and it answers every row in
//!   one page where AWS pages by 1000 (patch 7). The query tests check
//!   paging and printing on those canned rows; what SQL computes is
//!   checked on the local target (tests/local_query.rs).
//!
//! Each test starts its own moto server: they deploy the same stack name.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::process::Output;

use serde_json::{Value, json};

use crate::cli::{self, ok, plan_changes, text};
use crate::moto;

const REGION: &str = "us-east-1";
const DATABASE: &str = "cartpipe";
const CONSUMPTION: &str = "cartpipe-consumption-123456789012-us-east-1";
const RAW: &str = "cartpipe-raw-123456789012-us-east-1";

fn stackctl(moto: &moto::Moto, args: &[&str]) -> Output {
    // The repo's stack.yaml: aws_command runs in the repo root.
    cli::reusing_build(&cli::repo_root().join("stack.yaml"), args, |args| {
        cli::aws_command(&moto.endpoint, REGION, args)
            .output()
            .expect("run stackctl")
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn up_makes_the_catalog_repairs_column_drift_and_down_leaves_nothing() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let config = moto.sdk_config(REGION);
    let glue = aws_sdk_glue::Client::new(&config);
    let athena = aws_sdk_athena::Client::new(&config);
    let rt = rt();

    ok(stackctl(&moto, &["up"]));
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    rt.block_on(async {
        // The database, tagged as the stack's.
        let db = glue.get_database().name(DATABASE).send().await.unwrap();
        assert_eq!(db.database().unwrap().name(), DATABASE);
        let tags = glue
            .get_tags()
            .resource_arn(format!(
                "arn:aws:glue:{REGION}:{}:database/{DATABASE}",
                moto::ACCOUNT
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            tags.tags()
                .unwrap()
                .get("stackctl:stack")
                .map(String::as_str),
            Some("cartpipe")
        );

        // Each table: external CSV over its folder, header skipped, the
        // owner in its parameters.
        for (table, location, first, money) in [
            ("carts", format!("s3://{RAW}/"), "event_id", "unit_price"),
            (
                "product_aggregates",
                format!("s3://{CONSUMPTION}/aggregates/"),
                "product_id",
                "total_value",
            ),
            (
                "promotions",
                format!("s3://{CONSUMPTION}/promotions/"),
                "customer_id",
                "abandoned_value",
            ),
        ] {
            let out = glue
                .get_table()
                .database_name(DATABASE)
                .name(table)
                .send()
                .await
                .unwrap();
            let t = out.table().unwrap();
            assert_eq!(t.table_type(), Some("EXTERNAL_TABLE"), "{table}");
            let params = t.parameters().unwrap();
            assert_eq!(params["stackctl:stack"], "cartpipe", "{table}");
            assert_eq!(params["skip.header.line.count"], "1", "{table}");
            assert_eq!(params["classification"], "csv", "{table}");
            let sd = t.storage_descriptor().unwrap();
            assert_eq!(sd.location(), Some(location.as_str()), "{table}");
            assert_eq!(
                sd.input_format(),
                Some("org.apache.hadoop.mapred.TextInputFormat")
            );
            let serde = sd.serde_info().unwrap();
            assert_eq!(
                serde.serialization_library(),
                Some("org.apache.hadoop.hive.serde2.OpenCSVSerde")
            );
            let serde_params = serde.parameters().unwrap();
            assert_eq!(serde_params["separatorChar"], ",");
            assert_eq!(serde_params["quoteChar"], "\"");
            let columns = sd.columns();
            assert_eq!(columns[0].name(), first, "{table}");
            let money = columns.iter().find(|c| c.name() == money).unwrap();
            assert_eq!(money.r#type(), Some("decimal(12,2)"), "{table}");
        }

        // The workgroup: results in the consumption bucket's folder, SSE-S3,
        // enforced; tagged.
        let wg = athena
            .get_work_group()
            .work_group("cartpipe")
            .send()
            .await
            .unwrap();
        let config = wg.work_group().unwrap().configuration().unwrap();
        let results = config.result_configuration().unwrap();
        assert_eq!(
            results.output_location(),
            Some(format!("s3://{CONSUMPTION}/athena-results/").as_str())
        );
        assert_eq!(
            results
                .encryption_configuration()
                .unwrap()
                .encryption_option()
                .as_str(),
            "SSE_S3"
        );
        assert_eq!(config.enforce_work_group_configuration(), Some(true));

        // Drift: a column dropped and one retyped by hand (Glue's
        // UpdateTable, as the console's schema editor sends it).
        let t = glue
            .get_table()
            .database_name(DATABASE)
            .name("promotions")
            .send()
            .await
            .unwrap()
            .table()
            .unwrap()
            .clone();
        let sd = t.storage_descriptor().unwrap().clone();
        let columns: Vec<_> = sd
            .columns()
            .iter()
            .filter(|c| c.name() != "product_name")
            .map(|c| {
                let mut c = c.clone();
                if c.name() == "rank" {
                    c = aws_sdk_glue::types::Column::builder()
                        .name("rank")
                        .r#type("string")
                        .build()
                        .unwrap();
                }
                c
            })
            .collect();
        let input = aws_sdk_glue::types::TableInput::builder()
            .name("promotions")
            .table_type(t.table_type().unwrap())
            .set_parameters(t.parameters().cloned())
            .storage_descriptor(
                aws_sdk_glue::types::StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .set_location(sd.location().map(str::to_owned))
                    .set_input_format(sd.input_format().map(str::to_owned))
                    .set_output_format(sd.output_format().map(str::to_owned))
                    .set_serde_info(sd.serde_info().cloned())
                    .build(),
            )
            .build()
            .unwrap();
        glue.update_table()
            .database_name(DATABASE)
            .table_input(input)
            .send()
            .await
            .unwrap();
    });

    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    assert_eq!(
        plan_changes(&diff),
        [(
            "table".to_owned(),
            "cartpipe.promotions".to_owned(),
            "update".to_owned(),
            vec!["columns".to_owned()]
        )]
    );
    ok(stackctl(&moto, &["up"]));
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(0), "repaired: {}", text(&diff));

    // `down` removes the catalog; the buckets hold no data, so no
    // --delete-data is needed.
    ok(stackctl(&moto, &["down", "--yes"]));
    rt.block_on(async {
        let err = glue.get_database().name(DATABASE).send().await.unwrap_err();
        assert_eq!(
            aws_sdk_glue::error::ProvideErrorMetadata::code(&err),
            Some("EntityNotFoundException")
        );
        let wg = athena.get_work_group().work_group("cartpipe").send().await;
        assert!(
            wg.as_ref().map_or(true, |w| w.work_group().is_none()),
            "{wg:?}"
        );
        let groups = athena.list_work_groups().send().await.unwrap();
        assert!(
            groups
                .work_groups()
                .iter()
                .all(|w| w.name() != Some("cartpipe")),
            "{groups:?}"
        );
    });
}

#[test]
fn a_database_recreated_after_down_is_not_the_stacks() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let glue = aws_sdk_glue::Client::new(&moto.sdk_config(REGION));
    ok(stackctl(&moto, &["up"]));
    ok(stackctl(&moto, &["down", "--yes"]));
    // Someone else makes a database of the same name, untagged. On AWS it
    // has no tags; moto would hand it the stack's old ones (patch 5).
    rt().block_on(async {
        let input = aws_sdk_glue::types::DatabaseInput::builder()
            .name(DATABASE)
            .description("someone else's")
            .build()
            .unwrap();
        glue.create_database()
            .database_input(input)
            .send()
            .await
            .unwrap();
    });
    let up = stackctl(&moto, &["up"]);
    assert_eq!(up.status.code(), Some(1), "{}", text(&up));
    let err = String::from_utf8_lossy(&up.stderr);
    assert!(
        err.contains("database cartpipe") && err.contains("stackctl:stack"),
        "{err}"
    );
    rt().block_on(async {
        let db = glue.get_database().name(DATABASE).send().await.unwrap();
        assert_eq!(
            db.database().unwrap().description(),
            Some("someone else's"),
            "not changed"
        );
    });
}

fn varchar(v: &str) -> Value {
    json!({ "VarCharValue": v })
}

fn column(name: &str, ty: &str) -> Value {
    json!({
        "CatalogName": "hive", "SchemaName": DATABASE, "TableName": "product_aggregates",
        "Name": name, "Label": name, "Type": ty, "Precision": if ty == "decimal" { 12 } else { 0 },
        "Scale": if ty == "decimal" { 2 } else { 0 }, "Nullable": "UNKNOWN", "CaseSensitive": false,
    })
}

#[test]
fn query_reads_every_page_of_athenas_results_and_prints_them() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    ok(stackctl(&moto, &["up"]));
    // 2,500 rows after the header row: three pages of at most 1000, the
    // header on the first only.
    let mut rows = vec![json!({ "Data": [varchar("product_id"), varchar("total_value")] })];
    for i in 0..2500 {
        rows.push(json!({ "Data": [varchar(&format!("P{i:05}")), varchar(&format!("{i}.50"))] }));
    }
    // A NULL is a datum without a value.
    rows.push(json!({ "Data": [varchar("P99999"), {}] }));
    let columns = [
        column("product_id", "varchar"),
        column("total_value", "decimal"),
    ];
    moto.queue_athena_results(REGION, json!([{ "rows": rows, "column_info": columns }]));

    let out = ok(stackctl(
        &moto,
        &[
            "query",
            "--format",
            "json",
            "SELECT product_id, total_value FROM product_aggregates",
        ],
    ));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["engine"], "Athena");
    assert!(
        v["query_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{v}"
    );
    assert_eq!(
        v["columns"],
        json!([
            { "name": "product_id", "type": "varchar" },
            { "name": "total_value", "type": "decimal(12,2)" }
        ])
    );
    let got = v["rows"].as_array().unwrap();
    assert_eq!(got.len(), 2501, "every page, the header row dropped once");
    assert_eq!(got[0], json!(["P00000", "0.50"]));
    assert_eq!(got[999], json!(["P00999", "999.50"]));
    assert_eq!(got[1000], json!(["P01000", "1000.50"]));
    assert_eq!(got[2499], json!(["P02499", "2499.50"]));
    assert_eq!(got[2500], json!(["P99999", null]));
    assert_eq!(v["scanned_bytes"], 0);

    // The table: aligned, numbers to the right, NULL shown, the summary.
    let small = vec![
        json!({ "Data": [varchar("product_id"), varchar("total_value")] }),
        json!({ "Data": [varchar("P00001"), varchar("1234.50")] }),
        json!({ "Data": [varchar("P00002"), {}] }),
    ];
    moto.queue_athena_results(REGION, json!([{ "rows": small, "column_info": columns }]));
    let out = ok(stackctl(&moto, &["query", "SELECT 1"]));
    let table = String::from_utf8(out.stdout).unwrap();
    let (body, summary) = table.trim_end().rsplit_once('\n').unwrap();
    assert_eq!(
        body,
        "product_id  total_value\n\
         ----------  -----------\n\
         P00001          1234.50\n\
         P00002             NULL"
    );
    assert!(
        summary.starts_with("(2 rows, 0 B scanned; Athena, query "),
        "{summary}"
    );
}
