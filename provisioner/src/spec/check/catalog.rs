//! The catalog: the database, where query results go, each table (its
//! location, format and columns), and the checks across them.

use super::*;

const CATALOG_KEYS: [&str; 3] = ["database", "results", "tables"];
const TABLE_KEYS: [&str; 4] = ["bucket", "prefix", "format", "columns"];
const CATALOG_ALLOWED: &str = "`{ database: NAME, results: { bucket, prefix }, tables: { NAME: \
     { bucket, prefix, format: csv, columns: { NAME: TYPE, ... } } } }`";
const GLUE_NAME_ALLOWED: &str = "a-z, 0-9 and `_`, starting with a letter, at most 255 \
     characters (the names Glue stores and Athena's SQL reads unquoted)";
const PREFIX_ALLOWED: &str = "`\"\"` (the whole bucket) or a folder of object keys ending in \
     `/`, such as `aggregates/`: not starting with `/`, no empty folder (`//`), at most 1024 \
     characters";
const FORMATS: [&str; 1] = ["csv"];

impl<'a> Checker<'a> {
    pub(super) fn catalog(
        &mut self,
        entry: Option<&Entry<'_>>,
        stack: Option<&str>,
        bucket_ids: &BTreeSet<String>,
    ) -> Option<CatalogSpec> {
        let e = entry?;
        let fields = self.fields(e.value, "catalog", &CATALOG_KEYS, CATALOG_ALLOWED)?;
        let before = self.errors.len();

        let database = match fields.get("database") {
            // The stack name is `[a-z][a-z0-9-]*`: with `_` for `-` it is a
            // name Athena reads unquoted.
            None => stack.map(|s| s.replace('-', "_")),
            Some(d) => self.glue_name(d.value, "catalog.database", "database name"),
        };

        let results = match fields.get("results") {
            None => {
                self.missing(
                    e.key_node,
                    "catalog.results",
                    "`{ bucket: ID, prefix: FOLDER/ }`: where Athena writes query results, \
                     a bucket of the stack's and a folder outside every table",
                );
                None
            }
            Some(r) => self
                .location(r.value, "catalog.results", bucket_ids, false)
                .map(|l| (l, r.value)),
        };

        let mut tables: Vec<(TableSpec, &Node)> = Vec::new();
        if let Some(t) = fields.get("tables") {
            let allowed = "a mapping of table name to `{ bucket, prefix, format, columns }`";
            if let Some(entries) = self.entries(t.value, "catalog.tables", allowed) {
                for t in entries {
                    if let Some(table) = self.table(&t, bucket_ids) {
                        tables.push(table);
                    }
                }
            }
        }

        // Two tables over one folder would read each other's files, and
        // query results inside a table would become its rows.
        for (i, (table, at)) in tables.iter().enumerate() {
            if let Some((first, _)) = tables[..i]
                .iter()
                .find(|(t, _)| t.location.overlaps(&table.location))
            {
                let what = format!(
                    "table `{}` overlaps table `{}`: both read bucket `{}` under {} and {}",
                    table.name,
                    first.name,
                    table.location.bucket,
                    q(&table.location.prefix),
                    q(&first.location.prefix)
                );
                self.push(
                    at,
                    &child("catalog.tables", &table.name),
                    msg(
                        &what,
                        &q(&table.location.prefix),
                        "tables in one bucket under prefixes that do not contain each other",
                    ),
                );
            }
        }
        if let Some((results, at)) = &results {
            for (table, _) in &tables {
                if results.overlaps(&table.location) {
                    let what = format!(
                        "query results would be written inside table `{}` (bucket `{}`, prefix \
                         {}) and read back as its rows",
                        table.name,
                        table.location.bucket,
                        q(&table.location.prefix)
                    );
                    self.push(
                        at,
                        "catalog.results",
                        msg(
                            &what,
                            &q(&results.prefix),
                            "a folder outside every table, such as `athena-results/`",
                        ),
                    );
                }
            }
        }
        if self.errors.len() != before {
            return None;
        }
        Some(CatalogSpec {
            database: database?,
            results: results?.0,
            tables: tables.into_iter().map(|(t, _)| t).collect(),
        })
    }

    /// A Glue database, table or column name.
    fn glue_name(&mut self, node: &Node, path: &str, what: &str) -> Option<String> {
        let t = self.text(node, path, GLUE_NAME_ALLOWED)?;
        if let Some(problem) = rules::glue_name_problem(&t.value) {
            self.push(
                node,
                path,
                msg(&format!("{what} {problem}"), &t.got(), GLUE_NAME_ALLOWED),
            );
            return None;
        }
        Some(t.value)
    }

    /// `{ bucket: ID, prefix: FOLDER/ }`; the prefix defaults to the whole
    /// bucket where `whole_bucket_ok`.
    fn location(
        &mut self,
        node: &Node,
        path: &str,
        bucket_ids: &BTreeSet<String>,
        whole_bucket_ok: bool,
    ) -> Option<Location> {
        let fields = self.fields(
            node,
            path,
            &["bucket", "prefix"],
            "`{ bucket: ID, prefix: FOLDER/ }`",
        )?;
        let bucket = self.bucket_ref(&fields, node, path, bucket_ids);
        let prefix = self.prefix(&fields, node, path, whole_bucket_ok);
        Some(Location {
            bucket: bucket?,
            prefix: prefix?,
        })
    }

    fn bucket_ref(
        &mut self,
        fields: &Fields<'_>,
        owner: &Node,
        path: &str,
        bucket_ids: &BTreeSet<String>,
    ) -> Option<String> {
        let bp = child(path, "bucket");
        let allowed = format!("bucket ids defined under `buckets:`: {}", list(bucket_ids));
        let Some(b) = fields.get("bucket") else {
            self.missing(owner, &bp, &allowed);
            return None;
        };
        let t = self.text(b.value, &bp, &allowed)?;
        if bucket_ids.contains(&t.value) {
            return Some(t.value);
        }
        let what = format!(
            "unknown bucket{}",
            suggest(&t.value, bucket_ids.iter().map(String::as_str))
        );
        self.push(b.value, &bp, msg(&what, &t.got(), &allowed));
        None
    }

    fn prefix(
        &mut self,
        fields: &Fields<'_>,
        owner: &Node,
        path: &str,
        whole_bucket_ok: bool,
    ) -> Option<String> {
        let pp = child(path, "prefix");
        let Some(p) = fields.get("prefix") else {
            if whole_bucket_ok {
                return Some(String::new());
            }
            self.missing(owner, &pp, PREFIX_ALLOWED);
            return None;
        };
        let t = self.text(p.value, &pp, PREFIX_ALLOWED)?;
        let problem = if t.value.is_empty() {
            (!whole_bucket_ok).then_some(
                "must name a folder: query results in the bucket's top level would mix with its \
                 objects",
            )
        } else {
            rules::prefix_problem(&t.value)
        };
        if let Some(problem) = problem {
            self.push(p.value, &pp, msg(problem, &t.got(), PREFIX_ALLOWED));
            return None;
        }
        Some(t.value)
    }

    fn table<'n>(
        &mut self,
        t: &Entry<'n>,
        bucket_ids: &BTreeSet<String>,
    ) -> Option<(TableSpec, &'n Node)> {
        let path = child("catalog.tables", &t.key);
        let before = self.errors.len();
        if let Some(problem) = rules::glue_name_problem(&t.key) {
            self.push(
                t.key_node,
                &path,
                msg(
                    &format!("table name {problem}"),
                    &q(&t.key),
                    GLUE_NAME_ALLOWED,
                ),
            );
        }
        let fields = self.fields(
            t.value,
            &path,
            &TABLE_KEYS,
            "`{ bucket, prefix, format: csv, columns: { NAME: TYPE, ... } }`",
        )?;
        let bucket = self.bucket_ref(&fields, t.key_node, &path, bucket_ids);
        let prefix = self.prefix(&fields, t.key_node, &path, true);
        if let Some(f) = fields.get("format") {
            let fp = child(&path, "format");
            let allowed = "csv (with a header row, RFC 4180 quoting, as the data contract writes)";
            if let Some(text) = self.text(f.value, &fp, allowed)
                && !FORMATS.contains(&text.value.as_str())
            {
                let what = format!(
                    "unknown format{}",
                    suggest(&text.value, FORMATS.iter().copied())
                );
                self.push(f.value, &fp, msg(&what, &text.got(), allowed));
            }
        }
        let cp = child(&path, "columns");
        let columns_allowed = format!(
            "a mapping of column name to type, in the files' column order; types: {}",
            ColumnType::ALLOWED
        );
        let mut columns = Vec::new();
        match fields.get("columns") {
            None => self.missing(t.key_node, &cp, &columns_allowed),
            Some(c) => {
                if let Some(entries) = self.entries(c.value, &cp, &columns_allowed) {
                    if entries.is_empty() {
                        self.push(
                            c.value,
                            &cp,
                            msg(
                                "a table needs at least one column",
                                &q(&c.value.show()),
                                &columns_allowed,
                            ),
                        );
                    }
                    for col in entries {
                        let colp = child(&cp, &col.key);
                        if let Some(problem) = rules::glue_name_problem(&col.key) {
                            self.push(
                                col.key_node,
                                &colp,
                                msg(
                                    &format!("column name {problem}"),
                                    &q(&col.key),
                                    GLUE_NAME_ALLOWED,
                                ),
                            );
                            continue;
                        }
                        let Some(text) = self.text(col.value, &colp, ColumnType::ALLOWED) else {
                            continue;
                        };
                        match ColumnType::parse(&text.value) {
                            Some(ty) => columns.push(ColumnSpec {
                                name: col.key.clone(),
                                ty,
                            }),
                            None => {
                                self.push(
                                    col.value,
                                    &colp,
                                    msg("unknown column type", &text.got(), ColumnType::ALLOWED),
                                );
                            }
                        }
                    }
                }
            }
        }
        if self.errors.len() != before {
            return None;
        }
        Some((
            TableSpec {
                name: t.key.clone(),
                location: Location {
                    bucket: bucket?,
                    prefix: prefix?,
                },
                columns,
            },
            t.key_node,
        ))
    }
}
