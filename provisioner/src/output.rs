//! The one place that renders output. Every command result is a
//! `Serialize + Display` value: `--json` prints the former, a human the
//! latter. Progress goes to stderr, and only when it is a terminal.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::apply::{Progress, StepResult};
use crate::model::human_bytes;
use crate::plan::{Action, Plan, Step};
use crate::provider::ApiStats;
use crate::provider::query::QueryResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub verbose: u8,
}

impl Printer {
    pub fn new(format: Format, verbose: u8) -> Self {
        Self { format, verbose }
    }

    /// A command's result, on stdout.
    pub fn result<T: Serialize + fmt::Display>(&self, value: &T) {
        let mut out = std::io::stdout().lock();
        let _ = match self.format {
            Format::Human => write!(out, "{value}"),
            Format::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(value)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            ),
        };
        let _ = out.flush();
    }

    /// A side note for humans, on stderr (never mixed into JSON output).
    pub fn note(&self, text: impl fmt::Display) {
        eprintln!("{text}");
    }

    /// A question for the terminal, on stderr, without a line end.
    pub fn prompt(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{text}");
        let _ = err.flush();
    }

    /// One line of streamed output (logs, serve), on stdout.
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Detail shown with `-v`.
    pub fn detail(&self, text: impl fmt::Display) {
        if self.verbose > 0 {
            eprintln!("{text}");
        }
    }

    pub fn error(&self, error: &anyhow::Error) {
        match self.format {
            Format::Json => {
                let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
                println!("{}", serde_json::json!({ "error": chain.join(": ") }));
            }
            Format::Human => {
                eprintln!("error: {error}");
                for cause in error.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
        }
    }

    /// A query's rows: a table (the summary after it), CSV (the summary on
    /// stderr, so stdout is the file) or JSON.
    pub fn query(&self, result: &QueryResult, format: QueryFormat) {
        match format {
            QueryFormat::Table => self.line(&format!("{}", QueryTable(result))),
            QueryFormat::Csv => {
                let mut out = std::io::stdout().lock();
                let _ = write_csv(&mut out, result);
                let _ = out.flush();
                self.note(QuerySummary(result));
            }
            QueryFormat::Json => {
                Printer::new(Format::Json, self.verbose).result(&QueryJson(result))
            }
        }
    }

    /// `--stats`: on stderr, as JSON (`{"api_calls": ...}`) with `--json`.
    pub fn stats(&self, stats: &ApiStats) {
        match self.format {
            Format::Human => eprint!("{}", StatsView(stats)),
            Format::Json => eprintln!("{}", serde_json::json!({ "api_calls": stats })),
        }
    }

    /// A progress observer for `apply`: a spinner on a terminal, nothing
    /// otherwise.
    pub fn progress(&self, total: usize) -> std::sync::Arc<dyn Progress> {
        if std::io::stderr().is_terminal() && self.format == Format::Human && total > 0 {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            std::sync::Arc::new(BarProgress {
                bar,
                running: Mutex::new(Vec::new()),
            })
        } else {
            std::sync::Arc::new(crate::apply::NoProgress)
        }
    }
}

struct BarProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl Progress for BarProgress {
    fn started(&self, step: &Step) {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        r.push(step.id.to_string());
        self.bar.set_message(r.join(", "));
    }

    fn finished(&self, result: &StepResult) {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let id = result.id.to_string();
        r.retain(|x| *x != id);
        self.bar.set_message(r.join(", "));
        self.bar.inc(1);
        let mark = if result.error.is_some() { "✗" } else { "✓" };
        self.bar
            .println(format!("{mark} {} {}", result.action, result.id));
        if r.is_empty() && self.bar.position() >= self.bar.length().unwrap_or(0) {
            self.bar.finish_and_clear();
        }
    }
}

/// The plan as `diff` and `up` show it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView<'a> {
    pub target: String,
    #[serde(flatten)]
    pub plan: &'a Plan,
    pub summary: Summary,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub conflicts: usize,
    /// Deletes refused because the bucket is marked `retain`.
    pub retained: usize,
    /// Deletes of buckets that hold data (they need `--delete-data`).
    pub delete_data: usize,
}

impl<'a> PlanView<'a> {
    pub fn new(target: String, plan: &'a Plan) -> Self {
        let mut s = Summary {
            conflicts: plan.conflicts.len(),
            ..Summary::default()
        };
        for step in &plan.steps {
            match step.action {
                Action::Create(_) => s.create += 1,
                Action::Update { .. } => s.update += 1,
                Action::Delete(_) => s.delete += 1,
                Action::NoOp(_) => s.unchanged += 1,
                Action::Retain(_) => s.retained += 1,
            }
            s.delete_data += usize::from(step.needs_delete_data);
        }
        Self {
            target,
            plan,
            summary: s,
        }
    }
}

impl fmt::Display for PlanView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "stack {} on {}", self.plan.stack, self.target)?;
        for step in self.plan.changes() {
            match &step.action {
                Action::Create(_) => writeln!(f, "  + {}", step.id)?,
                Action::Delete(_) => match step.holds {
                    Some(h) if step.needs_delete_data => {
                        writeln!(f, "  - {} (holds {h}: needs --delete-data)", step.id)?
                    }
                    _ => writeln!(f, "  - {}", step.id)?,
                },
                Action::Update { changes, .. } => {
                    writeln!(f, "  ~ {}", step.id)?;
                    for c in changes {
                        if c.diff.is_empty() {
                            writeln!(
                                f,
                                "      {}: {} → {}",
                                c.field,
                                short(&c.old),
                                short(&c.new)
                            )?;
                        } else {
                            // A document: its statements, changed lines marked.
                            writeln!(f, "      {}:", c.field)?;
                            for line in &c.diff {
                                writeln!(f, "        {line}")?;
                            }
                        }
                    }
                }
                Action::NoOp(_) | Action::Retain(_) => {}
            }
        }
        for step in self.plan.retained() {
            writeln!(
                f,
                "  = {} kept with its data: marked retain (stackctl:retain), stackctl never deletes it",
                step.id
            )?;
        }
        for c in &self.plan.conflicts {
            let owner = match (c.owner.as_deref(), c.region.as_deref()) {
                (Some(o), Some(r)) => format!("owned by stack `{o}` in region {r}"),
                (Some(o), None) => format!("owned by stack `{o}`"),
                (None, _) => "no stackctl:stack tag".to_owned(),
            };
            writeln!(f, "  ! {} exists and is not this stack's ({owner})", c.id)?;
        }
        let s = &self.summary;
        let mut extra = String::new();
        if s.retained > 0 {
            extra.push_str(&format!(", {} retained", s.retained));
        }
        if s.conflicts > 0 {
            extra.push_str(&format!(", {} conflicts", s.conflicts));
        }
        if s.create + s.update + s.delete == 0 && s.conflicts == 0 {
            writeln!(
                f,
                "No changes: {} resources up to date{extra}.",
                s.unchanged
            )?;
        } else {
            writeln!(
                f,
                "Plan: {} to create, {} to update, {} to delete, {} unchanged{extra}.",
                s.create, s.update, s.delete, s.unchanged,
            )?;
        }
        if s.delete_data > 0 {
            let verdict = if self.plan.delete_data {
                "this run passed --delete-data, so every object version in them goes too"
            } else {
                "`up`/`down` refuse them without --delete-data"
            };
            writeln!(
                f,
                "{} bucket delete(s) destroy data: {verdict}.",
                s.delete_data
            )?;
        }
        Ok(())
    }
}

/// Long values (policies) are cut for the terminal; `--json` has them whole.
fn short(v: &str) -> String {
    const MAX: usize = 160;
    if v.chars().count() <= MAX {
        v.to_owned()
    } else {
        let cut: String = v.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// `--stats`: API calls by operation.
/// How `stackctl query` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns, NULL shown as `NULL`, a summary line after.
    Table,
    /// RFC 4180 CSV with a header row (NULL as an empty field).
    Csv,
    /// The columns, the rows as arrays (NULL as null), engine and bytes scanned.
    Json,
}

/// A query result as aligned columns, numbers right-aligned.
pub struct QueryTable<'a>(pub &'a QueryResult);

fn is_numeric(ty: &str) -> bool {
    let base = ty.split('(').next().unwrap_or_default();
    matches!(
        base,
        "tinyint"
            | "smallint"
            | "integer"
            | "int"
            | "bigint"
            | "real"
            | "float"
            | "double"
            | "decimal"
    )
}

impl fmt::Display for QueryTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".to_owned());
        let mut widths: Vec<usize> = r.columns.iter().map(|c| c.name.chars().count()).collect();
        for row in &r.rows {
            for (w, v) in widths.iter_mut().zip(row) {
                *w = (*w).max(text(v).chars().count());
            }
        }
        let numeric: Vec<bool> = r.columns.iter().map(|c| is_numeric(&c.ty)).collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: Vec<String>| -> fmt::Result {
            let mut parts = Vec::with_capacity(cells.len());
            for (i, cell) in cells.into_iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                parts.push(if numeric.get(i).copied().unwrap_or(false) {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                });
            }
            writeln!(f, "{}", parts.join("  ").trim_end())
        };
        if !r.columns.is_empty() {
            line(f, r.columns.iter().map(|c| c.name.clone()).collect())?;
            writeln!(
                f,
                "{}",
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  ")
            )?;
        }
        for row in &r.rows {
            line(f, row.iter().map(text).collect())?;
        }
        write!(f, "{}", QuerySummary(r))
    }
}

/// `3 rows · 1.2 MB scanned · Athena (query 1234-…)`.
pub struct QuerySummary<'a>(pub &'a QueryResult);

impl fmt::Display for QuerySummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let n = r.rows.len();
        write!(f, "({n} row{}", if n == 1 { "" } else { "s" })?;
        if let Some(b) = r.scanned_bytes {
            write!(f, ", {} scanned", human_bytes(b))?;
        }
        write!(f, "; {}", r.engine)?;
        if let Some(id) = &r.query_id {
            write!(f, ", query {id}")?;
        }
        write!(f, ")")
    }
}

fn write_csv(out: &mut impl Write, r: &QueryResult) -> csv::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    w.write_record(r.columns.iter().map(|c| c.name.as_str()))?;
    for row in &r.rows {
        w.write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))?;
    }
    w.flush()?;
    Ok(())
}

/// `--format json`: the result as it is, with the summary's facts.
#[derive(Serialize)]
struct QueryJson<'a>(&'a QueryResult);

impl fmt::Display for QueryJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", QuerySummary(self.0))
    }
}

pub struct StatsView<'a>(pub &'a ApiStats);

impl fmt::Display for StatsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "API calls: {} read, {} mutating",
            self.0.reads(),
            self.0.mutations()
        )?;
        for (kind, map) in [("read", &self.0.read), ("mutating", &self.0.mutating)] {
            for (op, n) in map {
                writeln!(f, "  {kind:8} {op:40} {n}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::plan::{Options, plan_up};

    fn bucket(name: &str, tags: Tags) -> Resource {
        Bucket {
            name: name.into(),
            versioning: true,
            public_access_block: true,
            encryption: Some("AES256".into()),
            policy: Some(Bucket::tls_only_policy(name)),
            tags,
        }
        .into_resource()
    }

    fn role(policy_action: &str) -> Resource {
        Role {
            name: "s-generator".into(),
            trust_policy: canonical_json(r#"{"Version":"2012-10-17","Statement":[]}"#),
            policy: Some(canonical_json(&format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["{policy_action}"],"Resource":["arn:aws:s3:::raw/*"]}}]}}"#
            ))),
            tags: owner_tags("s"),
        }
        .into_resource()
    }

    /// The plan as `diff` and `up` show it: every kind of step, a policy
    /// as a statement diff, a bucket delete that needs --delete-data, a
    /// retained bucket and a conflict.
    #[test]
    fn the_plan_view_reads_as_a_review() {
        let mut retained = owner_tags("s");
        retained.insert(RETAIN_TAG.into(), "true".into());
        let desired = vec![
            bucket("s-new", owner_tags("s")),
            role("s3:PutObject"),
            bucket("someone-elses", owner_tags("s")),
        ];
        let live: crate::plan::LiveState = [
            role("s3:GetObject"),
            bucket("s-old", owner_tags("s")),
            bucket("s-archive", retained),
            bucket("someone-elses", owner_tags("other")),
        ]
        .into_iter()
        .map(|r| (r.id(), r))
        .collect();
        let holds = BucketContents {
            object_versions: 3,
            delete_markers: 1,
            bytes: 4_200,
        };
        let plan = plan_up("s", &desired, &live, Options::default())
            .with_contents(&[("s-old".to_owned(), holds)].into());
        let view = PlanView::new("aws (123456789012, eu-west-1)".into(), &plan);
        insta::assert_snapshot!(view.to_string());
    }

    /// At a run's prompt, the plan says whether its data deletes will go
    /// ahead: `--delete-data` turns the refusal into a warning.
    #[test]
    fn a_run_with_delete_data_is_told_the_data_goes() {
        let live: crate::plan::LiveState = [bucket("s-old", owner_tags("s"))]
            .into_iter()
            .map(|r| (r.id(), r))
            .collect();
        let holds = BucketContents {
            object_versions: 1,
            delete_markers: 0,
            bytes: 10,
        };
        let mut plan = plan_up("s", &[], &live, Options::default())
            .with_contents(&[("s-old".to_owned(), holds)].into());
        let line = |plan: &Plan| {
            PlanView::new("local".into(), plan)
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            line(&plan),
            "1 bucket delete(s) destroy data: `up`/`down` refuse them without --delete-data."
        );
        plan.delete_data = true;
        assert_eq!(
            line(&plan),
            "1 bucket delete(s) destroy data: this run passed --delete-data, so every object \
             version in them goes too."
        );
    }
}
