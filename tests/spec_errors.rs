//! stack.yaml validation: every bad stack in tests/fixtures/bad-stacks gives
//! its located error text (snapshotted), the repo's stack.yaml loads, `--var`
//! works, and a loaded stack round-trips through `Stack::to_yaml`.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use stackctl::spec::{self, Architecture, EnvValue, Target, Trigger};

fn repo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/bad-stacks")
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Regex for the literal `s`.
fn literal(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn error_text(file: &str) -> String {
    let path = fixtures().join(file);
    match spec::load(&path, &[]) {
        Ok(stack) => panic!("{file} loaded without error: {stack:#?}"),
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "{e}");
                assert!(!e.message.contains('\n'), "{e:?}");
            }
            errors.to_string()
        }
    }
}

macro_rules! bad_stacks {
    ($($test:ident => $file:literal,)*) => {
        const FIXTURES: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $test() {
                let text = error_text($file);
                let dir = fixtures().display().to_string();
                insta::with_settings!({
                    filters => vec![(literal(&dir).as_str(), "[FIXTURES]")],
                }, {
                    insta::assert_snapshot!($file.trim_end_matches(".yaml"), text);
                });
            }
        )*
    };
}

bad_stacks! {
    unknown_keys => "unknown-keys.yaml",
    stack_name => "stack-name.yaml",
    bucket_naming => "bucket-naming.yaml",
    bucket_pattern => "bucket-pattern.yaml",
    memory_range => "memory-range.yaml",
    timeout_range => "timeout-range.yaml",
    log_retention => "log-retention.yaml",
    architecture => "architecture.yaml",
    unknown_bucket_refs => "unknown-bucket-refs.yaml",
    unknown_function_refs => "unknown-function-refs.yaml",
    duplicate_keys => "duplicate-keys.yaml",
    source_missing => "source-missing.yaml",
    event_types => "event-types.yaml",
    filter_length => "filter-length.yaml",
    overlapping_triggers => "overlapping-triggers.yaml",
    recursive_trigger => "recursive-trigger.yaml",
    trigger_not_readable => "trigger-not-readable.yaml",
    default_target => "default-target.yaml",
    default_target_missing => "default-target-missing.yaml",
    aws_region_missing => "aws-region-missing.yaml",
    aws_region_format => "aws-region-format.yaml",
    provider => "provider.yaml",
    unknown_variable => "unknown-variable.yaml",
    wrong_types => "wrong-types.yaml",
    env_names => "env-names.yaml",
    ids => "ids.yaml",
    missing_required => "missing-required.yaml",
    deep_nesting => "deep-nesting.yaml",
    alias_bomb => "alias-bomb.yaml",
    empty => "empty.yaml",
    tabs => "tabs.yaml",
    not_a_mapping => "not-a-mapping.yaml",
    syntax_error => "syntax-error.yaml",
    several_problems => "several-problems.yaml",
    build_profile => "build-profile.yaml",
    catalog_names => "catalog-names.yaml",
    catalog_locations => "catalog-locations.yaml",
    catalog_missing => "catalog-missing.yaml",
}

#[test]
fn every_fixture_has_a_snapshot_test() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    let tested: BTreeSet<String> = FIXTURES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, tested);
    assert!(tested.len() >= 24);
}

#[test]
fn several_problems_are_all_reported() {
    let text = error_text("several-problems.yaml");
    assert!(text.lines().count() >= 8, "{text}");
}

#[test]
fn repo_stack_loads() {
    let stack = spec::load(&repo().join("stack.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stack.name, "cartpipe");
    assert_eq!(stack.default_target, "local");
    assert_eq!(stack.build_profile, "release");
    assert_eq!(
        stack.targets.get("aws"),
        Some(&Target::Aws {
            region: "us-east-1".into(),
            profile: None
        })
    );
    assert_eq!(
        stack.targets.get("local"),
        Some(&Target::Local {
            dir: stack.dir.join(".stackctl")
        })
    );
    let ids: Vec<&str> = stack.functions.keys().map(String::as_str).collect();
    assert_eq!(ids, ["generator", "processor", "promotion"]);
    for f in stack.functions.values() {
        assert_eq!(f.source, stack.dir.join("functions"));
        assert_eq!(f.binary, f.id);
        assert_eq!(
            (f.memory_mb, f.timeout_s, f.log_retention_days),
            (512, 60, 14)
        );
        assert_eq!(f.architecture, Architecture::X86_64);
    }
    let processor = &stack.functions["processor"];
    assert_eq!(
        processor.triggers,
        [Trigger::S3 {
            bucket: "raw".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            prefix: None,
            suffix: Some(".csv".into()),
        }]
    );
    let promotion = &stack.functions["promotion"];
    assert_eq!(
        promotion.triggers,
        [Trigger::EventBridge {
            bucket: "raw".into(),
            prefix: None,
            suffix: Some(".csv".into()),
        }]
    );
    assert_eq!(
        promotion.environment["TOP_N"],
        EnvValue::Literal("10".into())
    );

    // The catalog: three tables, outputs in folders, results outside them.
    let catalog = stack
        .catalog
        .as_ref()
        .expect("the repo's stack has a catalog");
    assert_eq!(catalog.database, "cartpipe");
    assert_eq!(
        (
            catalog.results.bucket.as_str(),
            catalog.results.prefix.as_str()
        ),
        ("consumption", "athena-results/")
    );
    let tables: Vec<(&str, &str, &str)> = catalog
        .tables
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.location.bucket.as_str(),
                t.location.prefix.as_str(),
            )
        })
        .collect();
    assert_eq!(
        tables,
        [
            ("carts", "raw", ""),
            ("product_aggregates", "consumption", "aggregates/"),
            ("promotions", "consumption", "promotions/")
        ]
    );
    let carts = catalog.table("carts").unwrap();
    let columns: Vec<&str> = carts.columns.iter().map(|c| c.name.as_str()).collect();
    // By position: the data contract's column order, as the generator writes.
    assert_eq!(columns, cartpipe::contract::RAW_COLUMNS);
    let ty = |t: &str, c: &str| {
        catalog
            .table(t)
            .unwrap()
            .columns
            .iter()
            .find(|x| x.name == c)
            .unwrap()
            .ty
            .to_string()
    };
    assert_eq!(ty("carts", "unit_price"), "decimal(12,2)");
    assert_eq!(ty("carts", "quantity"), "bigint");
    assert_eq!(ty("promotions", "rank"), "bigint");
    assert_eq!(ty("product_aggregates", "first_abandoned_at"), "string");
    let env = stack.environment("processor", "111122223333", "eu-west-1");
    assert_eq!(env["AGGREGATE_KEY"], "aggregates/cart_aggregated_data.csv");
    let env = stack.environment("promotion", "111122223333", "eu-west-1");
    assert_eq!(env["PROMOTION_KEY"], "promotions/promotion_data.csv");

    // Names.
    let n = stack.names("111122223333", "eu-west-1");
    assert_eq!(n.bucket("raw"), "cartpipe-raw-111122223333-eu-west-1");
    assert_eq!(stack.function_name("processor"), "cartpipe-processor");
    assert_eq!(stack.role_name("processor"), "cartpipe-processor");
    assert_eq!(
        stack.log_group_name("processor"),
        "/aws/lambda/cartpipe-processor"
    );
    assert_eq!(
        stack.rule_name("promotion", "raw"),
        "cartpipe-promotion-raw-created"
    );
    let env = stack.environment("promotion", "111122223333", "eu-west-1");
    assert_eq!(
        env.get("CONSUMPTION_BUCKET").map(String::as_str),
        Some("cartpipe-consumption-111122223333-eu-west-1")
    );
    assert_eq!(env.get("TOP_N").map(String::as_str), Some("10"));
    assert_eq!(n.environment("promotion"), env);

    // Targets.
    assert_eq!(stack.target(None).map(|(n, _)| n), Ok("local"));
    assert_eq!(
        stack.target(Some("aws")).map(|(n, t)| (n, t.region())),
        Ok(("aws", "us-east-1"))
    );
    let unknown = stack.target(Some("prod")).err().map(|e| e.to_string());
    assert_eq!(
        unknown.as_deref(),
        Some("unknown target `prod` (allowed: aws, local)")
    );
}

#[test]
fn var_overrides_change_every_use() {
    let path = repo().join("stack.yaml");
    let stack = spec::load(&path, &vars(&[("memory", "1024"), ("region", "eu-west-3")]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stack.functions.values().all(|f| f.memory_mb == 1024));
    assert!(stack.functions.values().all(|f| f.timeout_s == 60));
    assert_eq!(
        stack.target(Some("aws")).map(|(_, t)| t.region()),
        Ok("eu-west-3")
    );

    let stack =
        spec::load(&path, &vars(&[("build_profile", "lambda")])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stack.build_profile, "lambda");
    for reserved in ["test", "debug", "bench"] {
        let errors = spec::load(&path, &vars(&[("build_profile", reserved)]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            errors.contains("build.profile") && errors.contains(reserved),
            "{reserved}: {errors}"
        );
    }

    let stack = spec::load(&path, &vars(&[("bucket_name", "acme-{bucket}-{account}")]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stack.bucket_name("raw", "111122223333", "us-east-1"),
        "acme-raw-111122223333"
    );
}

#[test]
fn var_overrides_are_validated() {
    let path = repo().join("stack.yaml");
    let text = |pairs: &[(&str, &str)]| match spec::load(&path, &vars(pairs)) {
        Ok(_) => panic!("{pairs:?} accepted"),
        Err(e) => e
            .to_string()
            .replace(&repo().display().to_string(), "[REPO]"),
    };
    insta::assert_snapshot!("var-unknown", text(&[("nope", "1")]));
    insta::assert_snapshot!(
        "var-bad-values",
        text(&[("memory", "lots"), ("timeout", "901"), ("region", "mars")])
    );
    insta::assert_snapshot!(
        "var-bad-pattern",
        text(&[("bucket_name", "{stack}_{bucket}")])
    );
}

#[test]
fn a_good_stack_round_trips() {
    let stack = spec::load(&repo().join("stack.yaml"), &vars(&[("memory", "2048")]))
        .unwrap_or_else(|e| panic!("{e}"));
    let yaml = stack.to_yaml().unwrap_or_else(|e| panic!("{e}"));
    let again = spec::parse_str(&yaml, "round-trip.yaml", &stack.dir, &[])
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(again, stack);
    assert_eq!(again.to_yaml().ok(), Some(yaml));
}

#[test]
fn a_richer_stack_round_trips() {
    let src = r#"
stack: acme
default_target: prod
targets:
  dev: { provider: local, dir: state/dev }
  prod: { provider: aws, region: eu-west-1, profile: prod }
variables:
  bucket_name: "{stack}-{region}-{bucket}"
buckets:
  in: { name: "acme-landing-{account}" }
  out: {}
functions:
  worker:
    source: functions
    binary: processor
    memory: 1769
    timeout: 900
    architecture: arm64
    log_retention_days: 3653
    environment:
      IN: "${bucket.in}"
      NEXT: "fn=${function.worker}; literal $${not.a.ref}"
      PLAIN: "$${var.x} stays"
    reads: [in, out]
    writes: [out]
    triggers:
      - s3: { bucket: in, events: ["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"], prefix: "a/", suffix: ".csv" }
      - s3: { bucket: in, events: ["s3:ObjectCreated:Put"], prefix: "b/" }
      - eventbridge: { bucket: in, prefix: "c/" }
"#;
    let stack = spec::parse_str(src, "rich.yaml", &repo(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let w = &stack.functions["worker"];
    assert_eq!(w.architecture.as_str(), "arm64");
    assert_eq!(
        w.environment["PLAIN"],
        EnvValue::Literal("${var.x} stays".into())
    );
    let env = stack.environment("worker", "111122223333", "eu-west-1");
    assert_eq!(env["IN"], "acme-landing-111122223333");
    assert_eq!(env["NEXT"], "fn=acme-worker; literal ${not.a.ref}");
    assert_eq!(
        stack.bucket_name("out", "1", "eu-west-1"),
        "acme-eu-west-1-out"
    );
    let yaml = stack.to_yaml().unwrap_or_else(|e| panic!("{e}"));
    let again = spec::parse_str(&yaml, "again.yaml", &stack.dir, &[])
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(again, stack);
}

#[test]
fn errors_are_sorted_and_formatted() {
    let errors = match spec::load(&fixtures().join("several-problems.yaml"), &[]) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let positions: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    for e in &errors {
        let line = e.to_string();
        let prefix = format!("{}:{}:{}: {}: ", e.file, e.line, e.column, e.key);
        assert!(line.starts_with(&prefix), "{line}");
        assert!(
            line.contains("got `") || line.contains("allowed:"),
            "{line}"
        );
    }
}

#[test]
fn a_missing_file_is_a_located_error() {
    let errors = spec::load(Path::new("/nonexistent/stack.yaml"), &[]).err();
    let text = errors.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("/nonexistent/stack.yaml:1:1: cannot read"),
        "{text}"
    );
}

mod no_panics {
    use proptest::prelude::*;

    use super::*;

    fn good() -> String {
        std::fs::read_to_string(repo().join("stack.yaml")).unwrap_or_default()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Cutting, duplicating and splicing bytes of a good file never
        /// panics, and every error is located inside the file.
        #[test]
        fn mutated_stack_files_never_panic(
            cuts in proptest::collection::vec((0usize..2000, 0usize..40, "[ \\[\\]{}:,&*!|>'\"#\\t\\n-a-z0-9$]{0,6}"), 1..6),
        ) {
            let mut src = good();
            for (at, len, insert) in cuts {
                let at = at.min(src.len());
                let end = (at + len).min(src.len());
                if src.is_char_boundary(at) && src.is_char_boundary(end) {
                    src.replace_range(at..end, &insert);
                }
            }
            let lines = src.lines().count().max(1);
            if let Err(errors) = spec::parse_str(&src, "mutated.yaml", &repo(), &[]) {
                for e in &errors {
                    prop_assert!(e.line >= 1 && e.line <= lines + 1, "{e} (lines: {lines})");
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(src in "\\PC{0,400}") {
            let _ = spec::parse_str(&src, "random.yaml", &repo(), &[]);
        }
    }
}
