//! A validated [`Stack`] back to YAML (`Stack::render`): every default
//! filled in and every reference resolved, as the checker understood it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{EnvValue, Location, Stack, Target, Trigger, interp};

#[derive(Serialize)]
struct DocOut<'a> {
    stack: &'a str,
    default_target: &'a str,
    targets: BTreeMap<&'a str, TargetOut>,
    variables: BTreeMap<&'a str, &'a str>,
    build: BuildOut<'a>,
    buckets: BTreeMap<&'a str, BucketOut>,
    functions: BTreeMap<&'a str, FunctionOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog: Option<CatalogOut>,
}

#[derive(Serialize)]
struct CatalogOut {
    database: String,
    results: LocationOut,
    /// In declaration order: a YAML mapping keeps it.
    tables: indexmap::IndexMap<String, TableOut>,
}

#[derive(Serialize)]
struct LocationOut {
    bucket: String,
    prefix: String,
}

impl LocationOut {
    fn new(l: &Location) -> Self {
        Self {
            bucket: esc(&l.bucket),
            prefix: esc(&l.prefix),
        }
    }
}

#[derive(Serialize)]
struct TableOut {
    bucket: String,
    prefix: String,
    format: &'static str,
    /// Column order is the files' order.
    columns: indexmap::IndexMap<String, String>,
}

#[derive(Serialize)]
struct TargetOut {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
}

#[derive(Serialize)]
struct BuildOut<'a> {
    profile: &'a str,
}

#[derive(Serialize)]
struct BucketOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    retain: bool,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    source: String,
    binary: String,
    memory: u32,
    timeout: u32,
    architecture: &'static str,
    log_retention_days: u32,
    environment: BTreeMap<&'a str, String>,
    reads: Vec<String>,
    writes: Vec<String>,
    triggers: Vec<TriggerOut>,
}

#[derive(Serialize)]
enum TriggerOut {
    #[serde(rename = "s3")]
    S3 {
        bucket: String,
        events: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        suffix: Option<String>,
    },
    #[serde(rename = "eventbridge")]
    EventBridge {
        bucket: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        suffix: Option<String>,
    },
}

fn esc(s: &str) -> String {
    interp::escape_literal(s)
}

fn rel(dir: &Path, p: &Path) -> String {
    match p.strip_prefix(dir) {
        Ok(r) if r.as_os_str().is_empty() => ".".to_owned(),
        Ok(r) => esc(&r.to_string_lossy()),
        Err(_) => esc(&p.to_string_lossy()),
    }
}

pub(super) fn render(stack: &Stack) -> Result<String, serde_saphyr::SerializeError> {
    let targets = stack
        .targets
        .iter()
        .map(|(k, t)| {
            let out = match t {
                Target::Aws { region, profile } => TargetOut {
                    provider: "aws",
                    region: Some(esc(region)),
                    profile: profile.as_deref().map(esc),
                    dir: None,
                },
                Target::Local { dir } => TargetOut {
                    provider: "local",
                    region: None,
                    profile: None,
                    dir: Some(rel(&stack.dir, dir)),
                },
            };
            (k.as_str(), out)
        })
        .collect();
    let buckets = stack
        .buckets
        .iter()
        .map(|(k, b)| {
            (
                k.as_str(),
                BucketOut {
                    name: b.name_override.as_deref().map(esc),
                    retain: b.retain,
                },
            )
        })
        .collect();
    let functions = stack
        .functions
        .iter()
        .map(|(k, f)| {
            let environment = f
                .environment
                .iter()
                .map(|(n, v)| {
                    let text = match v {
                        EnvValue::Literal(s) => esc(s),
                        EnvValue::Template(t) => t.clone(),
                    };
                    (n.as_str(), text)
                })
                .collect();
            let triggers = f
                .triggers
                .iter()
                .map(|t| match t {
                    Trigger::S3 {
                        bucket,
                        events,
                        prefix,
                        suffix,
                    } => TriggerOut::S3 {
                        bucket: esc(bucket),
                        events: events.iter().map(|e| esc(e)).collect(),
                        prefix: prefix.as_deref().map(esc),
                        suffix: suffix.as_deref().map(esc),
                    },
                    Trigger::EventBridge {
                        bucket,
                        prefix,
                        suffix,
                    } => TriggerOut::EventBridge {
                        bucket: esc(bucket),
                        prefix: prefix.as_deref().map(esc),
                        suffix: suffix.as_deref().map(esc),
                    },
                })
                .collect();
            (
                k.as_str(),
                FunctionOut {
                    source: rel(&stack.dir, &f.source),
                    binary: esc(&f.binary),
                    memory: f.memory_mb,
                    timeout: f.timeout_s,
                    architecture: f.architecture.as_str(),
                    log_retention_days: f.log_retention_days,
                    environment,
                    reads: f.reads.iter().map(|r| esc(r)).collect(),
                    writes: f.writes.iter().map(|w| esc(w)).collect(),
                    triggers,
                },
            )
        })
        .collect();
    let catalog = stack.catalog.as_ref().map(|c| CatalogOut {
        database: esc(&c.database),
        results: LocationOut::new(&c.results),
        tables: c
            .tables
            .iter()
            .map(|t| {
                let l = LocationOut::new(&t.location);
                let columns = t
                    .columns
                    .iter()
                    .map(|col| (col.name.clone(), col.ty.glue_name()))
                    .collect();
                (
                    t.name.clone(),
                    TableOut {
                        bucket: l.bucket,
                        prefix: l.prefix,
                        format: "csv",
                        columns,
                    },
                )
            })
            .collect(),
    });
    let mut variables = BTreeMap::new();
    variables.insert("bucket_name", stack.bucket_name_pattern.as_str());
    let doc = DocOut {
        stack: &stack.name,
        default_target: &stack.default_target,
        targets,
        variables,
        build: BuildOut {
            profile: &stack.build_profile,
        },
        buckets,
        functions,
        catalog,
    };
    serde_saphyr::to_string(&doc)
}
