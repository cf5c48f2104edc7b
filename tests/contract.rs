//! Hand-computed contract corpus (docs: /work/shared/data-contract.md).
//!
//! Every directory under `tests/fixtures/contract/` is one case:
//!
//! - `input.csv`: the raw file given to `process` and `promote`;
//! - `cart_aggregated_data.csv`, `promotion_data.csv`: the exact expected
//!   output bytes;
//! - `rejects.csv`: the exact expected rejects file; when absent, `process`
//!   must report no rejects file at all (`rejects_csv == None`);
//! - `top_n` (optional): N for `promote`, 10 when absent;
//! - `counts.txt`: the expected counts, `key=value` per line;
//! - `error.txt` (instead of the outputs): the input lacks required columns
//!   and both functions must fail naming exactly these columns, one per line,
//!   in the contract's table order.
//!
//! The expected files were computed by hand from the contract, never by
//! running the implementation. When a case fails, the message shows both
//! texts (with CR made visible) and the first differing line.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use cartpipe::contract::{self, ContractError};

const DEFAULT_TOP_N: usize = 10;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/contract")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_opt(path: &Path) -> Option<Vec<u8>> {
    path.exists().then(|| read(path))
}

/// One line per output line, CR shown as `\r`, so that CRLF and LF differ
/// visibly.
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        let _ = writeln!(out, "    {:>3} | {}", i + 1, line.replace('\r', "\\r"));
    }
    out
}

fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let g = String::from_utf8_lossy(got);
    let el: Vec<&str> = e.split('\n').collect();
    let gl: Vec<&str> = g.split('\n').collect();
    for i in 0..el.len().max(gl.len()) {
        let a = el.get(i).copied();
        let b = gl.get(i).copied();
        if a != b {
            return format!(
                "first difference at line {}:\n    expected: {:?}\n    got:      {:?}",
                i + 1,
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            );
        }
    }
    String::from("texts are equal")
}

fn compare(problems: &mut Vec<String>, what: &str, expected: &[u8], got: &[u8]) {
    if expected != got {
        problems.push(format!(
            "{what} differs\n  {}\n  expected:\n{}  got:\n{}",
            first_difference(expected, got),
            show(expected),
            show(got)
        ));
    }
}

fn parse_counts(path: &Path) -> BTreeMap<String, u64> {
    let text = String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
            let v: u64 = v
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{}: bad number in {l:?}: {e}", path.display()));
            (k.trim().to_owned(), v)
        })
        .collect()
}

fn count(counts: &BTreeMap<String, u64>, key: &str) -> u64 {
    *counts
        .get(key)
        .unwrap_or_else(|| panic!("counts.txt lacks {key}"))
}

/// Number of data records of an output file (header excluded), read with a
/// plain RFC 4180 reader. Used to cross-check the counts with the files.
fn data_records(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let mut n = 0;
    for record in reader.byte_records() {
        if let Err(e) = record {
            panic!("expected file is not valid CSV: {e}");
        }
        n += 1;
    }
    n
}

fn run_case(name: &str) {
    let dir = fixtures_root().join(name);
    assert!(dir.is_dir(), "missing fixture directory {}", dir.display());
    let input = read(&dir.join("input.csv"));
    let top_n = match read_opt(&dir.join("top_n")) {
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .trim()
            .parse::<usize>()
            .unwrap_or_else(|e| panic!("{name}/top_n: {e}")),
        None => DEFAULT_TOP_N,
    };

    if let Some(error) = read_opt(&dir.join("error.txt")) {
        run_error_case(name, &input, top_n, &error);
        return;
    }

    let mut problems: Vec<String> = Vec::new();
    let counts = parse_counts(&dir.join("counts.txt"));
    let expected_agg = read(&dir.join("cart_aggregated_data.csv"));
    let expected_promo = read(&dir.join("promotion_data.csv"));
    let expected_rejects = read_opt(&dir.join("rejects.csv"));

    // Self-check of the corpus: the hand-written counts agree with the
    // hand-written files.
    assert_eq!(
        count(&counts, "valid") + count(&counts, "rejected"),
        count(&counts, "rows"),
        "{name}/counts.txt: valid + rejected != rows"
    );
    assert_eq!(
        data_records(&expected_agg),
        count(&counts, "products"),
        "{name}: counts.txt products vs aggregate file"
    );
    assert_eq!(
        data_records(&expected_promo),
        count(&counts, "promotion_rows"),
        "{name}: counts.txt promotion_rows vs promotion file"
    );
    assert_eq!(
        expected_rejects.as_deref().map_or(0, data_records),
        count(&counts, "rejected"),
        "{name}: counts.txt rejected vs rejects file"
    );

    match contract::process(&input) {
        Err(e) => problems.push(format!("process failed: {e}")),
        Ok(out) => {
            compare(
                &mut problems,
                "cart_aggregated_data.csv",
                &expected_agg,
                &out.aggregate_csv,
            );
            match (&expected_rejects, &out.rejects_csv) {
                (None, None) => {}
                (Some(e), Some(g)) => compare(&mut problems, "rejects.csv", e, g),
                (None, Some(g)) => problems.push(format!(
                    "rejects.csv: expected None (no row rejected), got:\n{}",
                    show(g)
                )),
                (Some(e), None) => problems.push(format!(
                    "rejects.csv: expected a rejects file, got None; expected:\n{}",
                    show(e)
                )),
            }
            let c = &out.counts;
            if c.valid + c.rejected != c.rows {
                problems.push(format!(
                    "process counts: valid {} + rejected {} != rows {}",
                    c.valid, c.rejected, c.rows
                ));
            }
            for (key, got) in [
                ("rows", c.rows),
                ("valid", c.valid),
                ("rejected", c.rejected),
                ("products", c.products),
            ] {
                let want = count(&counts, key);
                if want != got {
                    problems.push(format!("process counts.{key}: expected {want}, got {got}"));
                }
            }
        }
    }

    match contract::promote(&input, top_n) {
        Err(e) => problems.push(format!("promote failed: {e}")),
        Ok(out) => {
            compare(
                &mut problems,
                "promotion_data.csv",
                &expected_promo,
                &out.promotion_csv.concat(),
            );
            let c = &out.counts;
            if c.valid + c.rejected != c.rows {
                problems.push(format!(
                    "promote counts: valid {} + rejected {} != rows {}",
                    c.valid, c.rejected, c.rows
                ));
            }
            for (key, got) in [
                ("rows", c.rows),
                ("valid", c.valid),
                ("rejected", c.rejected),
                ("customers", c.customers),
                ("promotion_rows", c.promotion_rows),
            ] {
                let want = count(&counts, key);
                if want != got {
                    problems.push(format!("promote counts.{key}: expected {want}, got {got}"));
                }
            }
        }
    }

    if !problems.is_empty() {
        panic!(
            "contract case `{name}` (top_n {top_n}) failed:\n\n{}",
            problems.join("\n\n")
        );
    }
}

fn run_error_case(name: &str, input: &[u8], top_n: usize, error: &[u8]) {
    let expected: Vec<String> = String::from_utf8_lossy(error)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!expected.is_empty(), "{name}/error.txt is empty");
    // The expected names must be required columns, in table order.
    let positions: Vec<usize> = expected
        .iter()
        .map(|c| {
            contract::RAW_COLUMNS
                .iter()
                .position(|r| r == c)
                .unwrap_or_else(|| panic!("{name}/error.txt: {c} is not a required column"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{name}/error.txt is not in table order"
    );

    let mut problems = Vec::new();
    let mut check = |what: &str, result: Result<(), ContractError>| match result {
        Ok(()) => problems.push(format!(
            "{what}: expected MissingColumns {expected:?}, got Ok"
        )),
        Err(error) => {
            let shown = error.to_string();
            if let ContractError::MissingColumns { missing, .. } = &error {
                if *missing != expected {
                    problems.push(format!(
                        "{what}: expected missing {expected:?}, got {missing:?}"
                    ));
                }
                for column in &expected {
                    if !shown.contains(column.as_str()) {
                        problems.push(format!(
                            "{what}: error text {shown:?} does not name {column}"
                        ));
                    }
                }
            } else {
                problems.push(format!(
                    "{what}: expected MissingColumns {expected:?}, got {shown}"
                ));
            }
        }
    };
    check("process", contract::process(input).map(|_| ()));
    check("promote", contract::promote(input, top_n).map(|_| ()));
    if !problems.is_empty() {
        panic!(
            "contract case `{name}` failed:\n\n{}",
            problems.join("\n\n")
        );
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
    };
}

cases!(
    all_rejected,
    basic,
    crlf,
    default_top_n,
    empty_lines,
    field_counts,
    header_only,
    header_only_no_newline,
    identifier_edges,
    missing_columns,
    missing_columns_reordered,
    price_edges,
    product_ranking_ties,
    promotion_ties,
    quantity_edges,
    quoting,
    reject_each_column,
    reordered_extra_columns,
    rounding,
    smallest_names,
    timestamp_edges,
    top_n_cut,
    unicode,
);

#[test]
fn every_fixture_directory_is_listed() {
    let mut unlisted = Vec::new();
    let entries =
        fs::read_dir(fixtures_root()).unwrap_or_else(|e| panic!("cannot list fixtures: {e}"));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot list fixtures: {e}"));
        if entry.path().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !CASES.contains(&name.as_str()) {
                unlisted.push(name);
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "fixture directories not listed in cases!(): {unlisted:?}"
    );
    for case in CASES {
        assert!(
            fixtures_root().join(case).is_dir(),
            "listed case {case} has no directory"
        );
    }
}
