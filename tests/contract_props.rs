//! Property test of the data contract (/work/shared/data-contract.md).
//!
//! Random raw files mix valid rows with rows broken in random ways (wrong
//! field count, or one to three rules broken at once), shuffle the columns,
//! add extra columns, quote needlessly, use CRLF or LF, add empty lines. A
//! plain model written here (BTreeMaps and integer cents, no polars) computes
//! the expected aggregate, promotion and rejects files, byte for byte, and
//! the counts; `process` and `promote` must agree with it.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::{BTreeMap, BTreeSet};

use cartpipe::contract;
use proptest::prelude::*;
use proptest::sample::Index;

/// The required columns, in the contract's table order.
const COLUMNS: [&str; 12] = [
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
const EXTRA_COLUMNS: [&str; 2] = ["note", "source"];

const ABANDONED_AT: usize = 1;
const CUSTOMER_ID: usize = 2;
const CUSTOMER_EMAIL: usize = 4;
const PRODUCT_ID: usize = 5;
const PRODUCT_NAME: usize = 6;
const CATEGORY: usize = 7;

/// Reject reason of each rule, in table order.
const REASONS: [&str; 12] = [
    "event_id: empty",
    "abandoned_at: not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ",
    "customer_id: not C followed by 6 digits",
    "customer_name: empty",
    "customer_email: not exactly one @ with text on both sides",
    "product_id: not P followed by 5 digits",
    "product_name: empty",
    "category: empty",
    "quantity: not an integer from 1 to 99",
    "unit_price: not a price from 0.01 to 100000.00",
    "device: not one of mobile, desktop, tablet",
    "country: not two upper-case letters",
];

/// Values that break each rule, in table order. Each one surely breaks its
/// rule and touches no other column.
const BAD: [&[&str]; 12] = [
    &[""],
    &[
        "",
        "2024-02-30T10:00:00Z",
        "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:60Z",
        "2024-01-01 10:00:00Z",
        "2024-01-01T10:00:00",
        "2024-01-01T10:00:00.5Z",
        "2024-01-01T10:00:00z",
        "24-01-01T10:00:00Z",
        "2024-1-01T10:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-01-32T00:00:00Z",
        "2024-01-00T00:00:00Z",
        " 2024-01-01T10:00:00Z",
    ],
    &[
        "",
        "C",
        "C12345",
        "C1234567",
        "c123456",
        "D123456",
        "C12345x",
        " C123456",
        "C123456 ",
        "C\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}",
    ],
    &[""],
    &["", "@", "a@", "@b", "ab", "a@@b", "a@b@c"],
    &[
        "", "P", "P1234", "P123456", "p12345", "Q12345", "P1234x", "P12 45",
    ],
    &[""],
    &[""],
    &[
        "",
        "0",
        "00",
        "100",
        "256",
        "+5",
        "-1",
        " 5",
        "5 ",
        "5.0",
        "1e1",
        "x",
        "\u{ff11}",
        "999999999999999999999",
    ],
    &[
        "",
        "0",
        "00",
        "0.00",
        "0.0",
        "0.001",
        "7.",
        ".5",
        "-1",
        "+1",
        "1e3",
        "1.234",
        "100000.01",
        "100000.1",
        "200000",
        " 1.00",
        "1.00 ",
        "1,00",
        "1..0",
        "NaN",
        "inf",
    ],
    &["", "Mobile", "phone", "MOBILE", "mobile ", " desktop", "tv"],
    &["", "U", "USA", "us", "Us", "\u{c9}S", "1A", "U S"],
];

const PRODUCT_NAMES: &[&str] = &[
    "Mug",
    "mug",
    "Zebra mug",
    "Mug large",
    "Caf\u{e9} cr\u{e8}me",
    "\u{65e5}\u{672c}\u{8336}",
    "Party \u{1f389}",
    "Tea, green",
    "Say \"hi\"",
    "Two\nlines",
    "CR\r\nLF",
    "\u{dc}n\u{ef}code",
    " padded ",
    "x",
    "A",
];
const CATEGORIES: &[&str] = &[
    "Kitchen",
    "kitchen",
    "KITCHEN",
    "Home & Garden",
    "\u{65e5}\u{672c}",
    "Fun \u{1f3b2}",
    "a,b",
    "Q\"x",
];
const CUSTOMER_NAMES: &[&str] = &[
    "Alice",
    "O\"Brien",
    "Smith, Jane",
    "Jos\u{e9}",
    "\u{5c71}\u{7530}",
    "Zo\u{eb} \u{1f642}",
    "multi\nline",
];
const EMAILS: &[&str] = &[
    "bob@example.com",
    "Bob@example.com",
    "BOB@example.com",
    "a@b",
    "x@y.z",
    "\u{fc}@ex.de",
    "\u{1f600}@mail.jp",
    "first.last@sub.example.org",
    "q\"uote@x.y",
    "comma,@x.y",
    " sp@x.y",
];
const DEVICES: &[&str] = &["mobile", "desktop", "tablet"];
const COUNTRIES: &[&str] = &["US", "GB", "JP", "ZZ", "AA"];
const EXTRA_VALUES: &[&str] = &["n", "note, comma", "q\"q", "line\nbreak", "\u{e9}"];

#[derive(Debug, Clone)]
enum Break {
    None,
    /// Remove (negative) or add (positive) this many fields.
    Count(i8),
    /// (rule index in table order, which bad value)
    Rules(Vec<(usize, Index)>),
}

#[derive(Debug, Clone)]
struct RowSpec {
    customer: Index,
    product: Index,
    email: Index,
    customer_name: Index,
    product_name: Index,
    category: Index,
    quantity: u8,
    quantity_zeros: usize,
    cents: u64,
    price_style: u8,
    /// year, month, day (clamped to the month), hour, minute, second
    at: (u16, u8, u8, u8, u8, u8),
    device: Index,
    country: Index,
    extras: (Index, Index),
    brk: Break,
    blank_line_after: bool,
}

#[derive(Debug, Clone)]
struct Variants {
    names: Vec<Index>,
    others: Vec<Index>,
}

#[derive(Debug, Clone)]
struct FileSpec {
    customers: Vec<(u32, Variants)>,
    products: Vec<(u32, Variants)>,
    /// Indices 0..12 are required columns, 12 and 13 extra columns.
    column_order: Vec<usize>,
    crlf: bool,
    quote_mode: u8,
    trailing_newline: bool,
    top_n: usize,
    rows: Vec<RowSpec>,
}

fn variants() -> impl Strategy<Value = Variants> {
    (
        prop::collection::vec(any::<Index>(), 1..=3),
        prop::collection::vec(any::<Index>(), 1..=2),
    )
        .prop_map(|(names, others)| Variants { names, others })
}

fn break_strategy() -> impl Strategy<Value = Break> {
    prop_oneof![
        6 => Just(Break::None),
        1 => prop_oneof![-11i8..=-1, 1i8..=3].prop_map(Break::Count),
        3 => prop::collection::vec((0usize..12, any::<Index>()), 1..=3).prop_map(Break::Rules),
    ]
}

fn row_strategy() -> impl Strategy<Value = RowSpec> {
    (
        (
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
        ),
        (
            prop_oneof![1u8..=3, 1u8..=99, Just(99u8)],
            0usize..=2,
            // Small prices make value ties likely; the bounds are included.
            prop_oneof![
                1u64..=300,
                1u64..=10_000_000,
                Just(1u64),
                Just(10_000_000u64)
            ],
            0u8..4,
        ),
        (
            1900u16..=2099,
            1u8..=12,
            1u8..=31,
            0u8..=23,
            0u8..=59,
            0u8..=59,
        ),
        (
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
            any::<Index>(),
        ),
        break_strategy(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                (customer, product, email, customer_name, product_name, category),
                (quantity, quantity_zeros, cents, price_style),
                at,
                (device, country, e1, e2),
                brk,
                blank_line_after,
            )| RowSpec {
                customer,
                product,
                email,
                customer_name,
                product_name,
                category,
                quantity,
                quantity_zeros,
                cents,
                price_style,
                at,
                device,
                country,
                extras: (e1, e2),
                brk,
                blank_line_after,
            },
        )
}

fn file_strategy() -> impl Strategy<Value = FileSpec> {
    (
        prop::collection::btree_set(0u32..1_000_000, 1..=6),
        prop::collection::vec(variants(), 6),
        prop::collection::btree_set(0u32..100_000, 1..=8),
        prop::collection::vec(variants(), 8),
        Just((0..14).collect::<Vec<usize>>()).prop_shuffle(),
        0usize..=2,
        (any::<bool>(), 0u8..3, any::<bool>(), 1usize..=12),
        prop::collection::vec(row_strategy(), 0..=60),
    )
        .prop_map(
            |(
                cids,
                cvars,
                pids,
                pvars,
                order,
                extra_columns,
                (crlf, quote_mode, trailing_newline, top_n),
                rows,
            )| {
                FileSpec {
                    customers: cids.into_iter().zip(cvars).collect(),
                    products: pids.into_iter().zip(pvars).collect(),
                    column_order: order
                        .into_iter()
                        .filter(|&c| c < 12 + extra_columns)
                        .collect(),
                    crlf,
                    quote_mode,
                    trailing_newline,
                    top_n,
                    rows,
                }
            },
        )
}

fn pick<'a>(pool: &[&'a str], index: &Index) -> &'a str {
    pool[index.index(pool.len())]
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn price_text(cents: u64, style: u8) -> String {
    let (int, frac) = (cents / 100, cents % 100);
    match style {
        1 if frac % 10 == 0 => format!("{int}.{}", frac / 10),
        2 if frac == 0 => format!("{int}"),
        3 => format!("0{int}.{frac:02}"),
        _ => format!("{int}.{frac:02}"),
    }
}

/// RFC 4180 field, quoted when needed or when `force`.
fn csv_field(value: &str, force: bool) -> String {
    if force || value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// An output line: minimal quoting, LF.
fn out_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref(), false))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// A row's values in table order, before any breakage.
struct ValidRow {
    values: [String; 12],
    extras: [String; 2],
    quantity: u64,
    cents: u64,
}

fn build_row(spec: &FileSpec, i: usize, row: &RowSpec) -> ValidRow {
    let (cid, cvar) = &spec.customers[row.customer.index(spec.customers.len())];
    let (pid, pvar) = &spec.products[row.product.index(spec.products.len())];
    let email = pick(EMAILS, &cvar.names[row.email.index(cvar.names.len())]);
    let customer_name = pick(
        CUSTOMER_NAMES,
        &cvar.others[row.customer_name.index(cvar.others.len())],
    );
    let product_name = pick(
        PRODUCT_NAMES,
        &pvar.names[row.product_name.index(pvar.names.len())],
    );
    let category = pick(
        CATEGORIES,
        &pvar.others[row.category.index(pvar.others.len())],
    );
    let (y, mo, d, h, mi, s) = row.at;
    let d = d.min(days_in_month(y, mo));
    let quantity = u64::from(row.quantity);
    let digits = quantity.to_string().len();
    let event_id = if i % 7 == 3 {
        format!("ev \"{i}\", x")
    } else {
        format!("E{i}")
    };
    ValidRow {
        values: [
            event_id,
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            format!("C{cid:06}"),
            customer_name.to_owned(),
            email.to_owned(),
            format!("P{pid:05}"),
            product_name.to_owned(),
            category.to_owned(),
            format!("{quantity:0width$}", width = digits + row.quantity_zeros),
            price_text(row.cents, row.price_style),
            pick(DEVICES, &row.device).to_owned(),
            pick(COUNTRIES, &row.country).to_owned(),
        ],
        extras: [
            pick(EXTRA_VALUES, &row.extras.0).to_owned(),
            pick(EXTRA_VALUES, &row.extras.1).to_owned(),
        ],
        quantity,
        cents: row.cents,
    }
}

#[derive(Default)]
struct ProductAgg {
    name: Option<String>,
    category: Option<String>,
    carts: u64,
    customers: BTreeSet<String>,
    quantity: u64,
    value: u64,
    first: Option<String>,
    last: Option<String>,
}

fn keep_min(slot: &mut Option<String>, v: &str) {
    if slot
        .as_deref()
        .is_none_or(|cur| v.as_bytes() < cur.as_bytes())
    {
        *slot = Some(v.to_owned());
    }
}

fn keep_max(slot: &mut Option<String>, v: &str) {
    if slot
        .as_deref()
        .is_none_or(|cur| v.as_bytes() > cur.as_bytes())
    {
        *slot = Some(v.to_owned());
    }
}

#[derive(Default)]
struct CustomerAgg {
    email: Option<String>,
    /// product_id -> (quantity, value cents)
    products: BTreeMap<String, (u64, u64)>,
}

struct Expected {
    input: Vec<u8>,
    aggregate: String,
    promotion: String,
    rejects: Option<String>,
    rows: u64,
    valid: u64,
    rejected: u64,
    products: u64,
    customers: u64,
    promotion_rows: u64,
}

fn model(spec: &FileSpec) -> Expected {
    let eol = if spec.crlf { "\r\n" } else { "\n" };
    let force = |position: usize| match spec.quote_mode {
        1 => true,
        2 => position.is_multiple_of(2),
        _ => false,
    };
    let header: Vec<String> = spec
        .column_order
        .iter()
        .map(|&c| {
            if c < 12 {
                COLUMNS[c]
            } else {
                EXTRA_COLUMNS[c - 12]
            }
            .to_owned()
        })
        .collect();
    let width = header.len();

    let mut input = header
        .iter()
        .enumerate()
        .map(|(p, h)| csv_field(h, force(p)))
        .collect::<Vec<_>>()
        .join(",");
    input.push_str(eol);

    let mut rejects = out_line(&[header.clone(), vec!["reject_reason".to_owned()]].concat());
    let mut rejected = 0u64;
    let mut products: BTreeMap<String, ProductAgg> = BTreeMap::new();
    let mut customers: BTreeMap<String, CustomerAgg> = BTreeMap::new();

    for (i, row) in spec.rows.iter().enumerate() {
        let mut r = build_row(spec, i, row);
        let mut reason: Option<String> = None;
        if let Break::Rules(rules) = &row.brk {
            for (rule, which) in rules {
                r.values[*rule] = pick(BAD[*rule], which).to_owned();
            }
            let first = rules.iter().map(|(rule, _)| *rule).min().unwrap_or(0);
            reason = Some(REASONS[first].to_owned());
        }
        let mut fields: Vec<String> = spec
            .column_order
            .iter()
            .map(|&c| {
                if c < 12 {
                    r.values[c].clone()
                } else {
                    r.extras[c - 12].clone()
                }
            })
            .collect();
        if let Break::Count(delta) = row.brk {
            if delta < 0 {
                let keep = width
                    .saturating_sub(usize::from(delta.unsigned_abs()))
                    .max(1);
                fields.truncate(keep);
            } else {
                for k in 0..delta {
                    fields.push(format!("extra{k}"));
                }
            }
            reason = Some(format!(
                "wrong field count: expected {width}, found {}",
                fields.len()
            ));
        }

        input.push_str(
            &fields
                .iter()
                .enumerate()
                .map(|(p, f)| csv_field(f, force(p)))
                .collect::<Vec<_>>()
                .join(","),
        );
        input.push_str(eol);
        if row.blank_line_after {
            input.push_str(eol);
        }

        if let Some(reason) = reason {
            rejected += 1;
            fields.push(reason);
            rejects.push_str(&out_line(&fields));
            continue;
        }

        let value = r.quantity * r.cents;
        let v = &r.values;
        let (at, cid, email) = (&v[ABANDONED_AT], &v[CUSTOMER_ID], &v[CUSTOMER_EMAIL]);
        let (pid, pname, category) = (&v[PRODUCT_ID], &v[PRODUCT_NAME], &v[CATEGORY]);
        let p = products.entry(pid.clone()).or_default();
        keep_min(&mut p.name, pname);
        keep_min(&mut p.category, category);
        p.carts += 1;
        p.customers.insert(cid.clone());
        p.quantity += r.quantity;
        p.value += value;
        keep_min(&mut p.first, at);
        keep_max(&mut p.last, at);
        let c = customers.entry(cid.clone()).or_default();
        keep_min(&mut c.email, email);
        let e = c.products.entry(pid.clone()).or_default();
        e.0 += r.quantity;
        e.1 += value;
    }
    if !spec.trailing_newline && input.ends_with(eol) {
        input.truncate(input.len() - eol.len());
    }

    let mut aggregate = out_line(&[
        "product_id",
        "product_name",
        "category",
        "abandoned_carts",
        "unique_customers",
        "total_quantity",
        "total_value",
        "avg_unit_price",
        "first_abandoned_at",
        "last_abandoned_at",
    ]);
    let mut ranked: Vec<(&String, &ProductAgg)> = products.iter().collect();
    ranked.sort_by(|a, b| b.1.value.cmp(&a.1.value).then_with(|| a.0.cmp(b.0)));
    for (pid, p) in &ranked {
        // Half up: floor(value / quantity + 1/2).
        let avg = (2 * p.value + p.quantity) / (2 * p.quantity);
        aggregate.push_str(&out_line(&[
            pid.to_string(),
            p.name.clone().unwrap_or_default(),
            p.category.clone().unwrap_or_default(),
            p.carts.to_string(),
            p.customers.len().to_string(),
            p.quantity.to_string(),
            money(p.value),
            money(avg),
            p.first.clone().unwrap_or_default(),
            p.last.clone().unwrap_or_default(),
        ]));
    }

    let mut promotion = out_line(&[
        "customer_id",
        "customer_email",
        "rank",
        "product_id",
        "product_name",
        "abandoned_quantity",
        "abandoned_value",
    ]);
    let mut promotion_rows = 0u64;
    for (cid, c) in &customers {
        let mut list: Vec<(&String, &(u64, u64))> = c.products.iter().collect();
        list.sort_by(|a, b| {
            b.1.1
                .cmp(&a.1.1)
                .then_with(|| b.1.0.cmp(&a.1.0))
                .then_with(|| a.0.cmp(b.0))
        });
        for (rank, (pid, (q, v))) in list.into_iter().take(spec.top_n).enumerate() {
            promotion_rows += 1;
            promotion.push_str(&out_line(&[
                cid.clone(),
                c.email.clone().unwrap_or_default(),
                (rank + 1).to_string(),
                pid.to_string(),
                products[pid].name.clone().unwrap_or_default(),
                q.to_string(),
                money(*v),
            ]));
        }
    }

    let rows = spec.rows.len() as u64;
    Expected {
        input: input.into_bytes(),
        aggregate,
        promotion,
        rejects: (rejected > 0).then_some(rejects),
        rows,
        valid: rows - rejected,
        rejected,
        products: products.len() as u64,
        customers: customers.len() as u64,
        promotion_rows,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn model_columns_match_the_contract() {
    assert_eq!(contract::RAW_COLUMNS, COLUMNS);
}

/// The input for failure messages: whole when small enough to read.
fn shown(input: &[u8]) -> String {
    if input.len() <= 64 << 10 {
        text(input)
    } else {
        format!("({} bytes, not shown)", input.len())
    }
}

/// Two output files must be equal; on failure, the first line that differs.
fn same_file(got: &str, want: &str, what: &str, input: &str) -> Result<(), TestCaseError> {
    if got == want {
        return Ok(());
    }
    let (mut g, mut w) = (got.lines(), want.lines());
    let mut line = 1;
    loop {
        match (g.next(), w.next()) {
            (a, b) if a == b && a.is_some() => line += 1,
            (a, b) => {
                return Err(TestCaseError::fail(format!(
                    "{what} differs at line {line}: got {a:?}, want {b:?} \
                     (got {} bytes, want {}); input:\n{input}",
                    got.len(),
                    want.len()
                )));
            }
        }
    }
}

/// The counts both functions report: (rows, valid, rejected).
fn check_counts(got: (u64, u64, u64), want: &Expected, input: &str) -> Result<(), TestCaseError> {
    let (rows, valid, rejected) = got;
    prop_assert_eq!(valid + rejected, rows);
    prop_assert_eq!(rows, want.rows, "rows; input:\n{}", input);
    prop_assert_eq!(valid, want.valid, "valid; input:\n{}", input);
    prop_assert_eq!(rejected, want.rejected, "rejected; input:\n{}", input);
    Ok(())
}

/// `process` and `promote` on the model's input agree with the model.
fn check(spec: &FileSpec) -> Result<(), TestCaseError> {
    let want = model(spec);
    let input = shown(&want.input);

    let out = contract::process(&want.input)
        .map_err(|e| TestCaseError::fail(format!("process failed: {e}\ninput:\n{input}")))?;
    let c = out.counts;
    check_counts((c.rows, c.valid, c.rejected), &want, &input)?;
    prop_assert_eq!(c.products, want.products, "products; input:\n{}", input);
    same_file(
        &text(&out.aggregate_csv),
        &want.aggregate,
        "aggregate",
        &input,
    )?;
    prop_assert_eq!(
        out.rejects_csv.is_some(),
        want.rejects.is_some(),
        "a rejects file; input:\n{}",
        input
    );
    same_file(
        &out.rejects_csv.as_deref().map(text).unwrap_or_default(),
        want.rejects.as_deref().unwrap_or_default(),
        "rejects",
        &input,
    )?;

    let out = contract::promote(&want.input, spec.top_n)
        .map_err(|e| TestCaseError::fail(format!("promote failed: {e}\ninput:\n{input}")))?;
    let c = out.counts;
    check_counts((c.rows, c.valid, c.rejected), &want, &input)?;
    prop_assert_eq!(c.customers, want.customers, "customers; input:\n{}", input);
    prop_assert_eq!(
        c.promotion_rows,
        want.promotion_rows,
        "promotion_rows; input:\n{}",
        input
    );
    same_file(
        &text(&out.promotion_csv.concat()),
        &want.promotion,
        &format!("promotion (top_n {})", spec.top_n),
        &input,
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn process_and_promote_match_a_plain_model(spec in file_strategy()) {
        check(&spec)?;
    }
}

/// Big files are read in parallel slices (more than 4 MiB per core): one
/// file of that size, with the same mix of broken rows, must still agree
/// with the model byte for byte. (On a one-core machine it is read in one
/// slice; `contract::read`'s own tests force many slices on any machine.)
#[test]
fn a_file_big_enough_to_be_read_in_slices_matches_the_model() {
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;
    let strategy = (
        file_strategy(),
        prop::collection::vec(row_strategy(), 120_000),
    )
        .prop_map(|(spec, rows)| FileSpec { rows, ..spec });
    let spec = strategy
        .new_tree(&mut TestRunner::deterministic())
        .unwrap()
        .current();
    let size = model(&spec).input.len();
    assert!(size > 12 << 20, "only {size} bytes: too small to be split");
    check(&spec).unwrap();
}
