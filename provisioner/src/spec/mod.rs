//! `stack.yaml`: load, validate, and derive resource names.
//!
//! [`load`] and [`parse_str`] return a validated [`Stack`] or every problem
//! found, each located (`file:line:column`) with its key path, the bad value
//! and what is allowed. No input panics: YAML errors, hostile nesting and
//! alias bombs become located errors too. `docs/stack-yaml.md` documents the
//! format.

mod check;
mod error;
mod interp;
mod render;
mod rules;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use error::{SpecError, SpecErrors, UnknownTarget};
pub use interp::PLACEHOLDERS;
pub use rules::{LOG_RETENTION_DAYS, S3_EVENT_TYPES};

/// The bucket naming pattern used when `variables.bucket_name` is not set.
pub const DEFAULT_BUCKET_NAME_PATTERN: &str = "{stack}-{bucket}-{account}-{region}";
/// The account id bucket names are validated with (12 digits, like a real one).
pub const PLACEHOLDER_ACCOUNT: &str = "123456789012";
/// The region `{region}` stands for on a local target.
pub const LOCAL_REGION: &str = "us-east-1";
/// The directory a local target keeps its state in, relative to stack.yaml.
pub const DEFAULT_LOCAL_DIR: &str = ".stackctl";

/// The cargo profile function packages are built with when `build.profile`
/// is not set.
pub const DEFAULT_BUILD_PROFILE: &str = "release";

pub const DEFAULT_MEMORY_MB: u32 = 128;
pub const DEFAULT_TIMEOUT_S: u32 = 3;
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 14;

/// A validated stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    /// `[a-z0-9-]`, 1..=32; prefixes every resource name.
    pub name: String,
    /// Absolute directory of the stack file; relative paths start here.
    pub dir: PathBuf,
    pub default_target: String,
    pub targets: BTreeMap<String, Target>,
    /// The cargo profile the packages are built with (`build.profile`).
    pub build_profile: String,
    /// With `{stack}`, `{bucket}`, `{account}`, `{region}` placeholders.
    pub bucket_name_pattern: String,
    pub buckets: BTreeMap<String, BucketSpec>,
    pub functions: BTreeMap<String, FunctionSpec>,
    /// The `catalog:` section: tables over bucket prefixes, queryable with
    /// `stackctl query` (Glue and Athena on AWS).
    pub catalog: Option<CatalogSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum Target {
    Aws {
        region: String,
        profile: Option<String>,
    },
    /// `dir` is absolute.
    Local { dir: PathBuf },
}

impl Target {
    pub fn provider(&self) -> &'static str {
        match self {
            Target::Aws { .. } => "aws",
            Target::Local { .. } => "local",
        }
    }

    /// The region names are rendered with: the AWS region, or
    /// [`LOCAL_REGION`] for a local target.
    pub fn region(&self) -> &str {
        match self {
            Target::Aws { region, .. } => region,
            Target::Local { .. } => LOCAL_REGION,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketSpec {
    pub id: String,
    /// A naming pattern (placeholders allowed) replacing the stack's for
    /// this bucket.
    pub name_override: Option<String>,
    /// `retain: true`: stackctl never deletes the bucket (its
    /// `stackctl:retain` tag says so to later runs).
    pub retain: bool,
}

/// The stack's catalog: one Glue database, one Athena workgroup, and the
/// tables declared over bucket prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogSpec {
    /// The Glue database (Athena's schema): `[a-z][a-z0-9_]*`.
    pub database: String,
    /// Where query results are written (the workgroup enforces it).
    pub results: Location,
    /// In declaration order.
    pub tables: Vec<TableSpec>,
}

impl CatalogSpec {
    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A prefix of a declared bucket: `""` (the whole bucket) or ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// A bucket id.
    pub bucket: String,
    pub prefix: String,
}

impl Location {
    /// Whether one location contains the other (same bucket, one prefix
    /// starts the other): a table's files and another's, or query results,
    /// would mix.
    pub fn overlaps(&self, other: &Location) -> bool {
        self.bucket == other.bucket
            && (self.prefix.starts_with(&other.prefix) || other.prefix.starts_with(&self.prefix))
    }
}

/// A table over every CSV object under a bucket prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSpec {
    /// `[a-z][a-z0-9_]*`.
    pub name: String,
    pub location: Location,
    /// By position, as Athena reads CSV: the header row is skipped, not
    /// matched by name.
    pub columns: Vec<ColumnSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// A column type both query engines read from CSV text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum ColumnType {
    String,
    Boolean,
    Tinyint,
    Smallint,
    Int,
    Bigint,
    Float,
    Double,
    /// `decimal(precision, scale)`: 1 ≤ precision ≤ 38, scale ≤ precision.
    Decimal {
        precision: u8,
        scale: u8,
    },
}

impl ColumnType {
    /// The types stack.yaml accepts, for messages.
    pub const ALLOWED: &'static str = "string, boolean, tinyint, smallint, int, bigint, float, \
         double, decimal(P,S) (1 <= P <= 38, 0 <= S <= P)";

    /// Parses Glue's spelling (`bigint`, `decimal(12,2)`); case and spaces
    /// around the numbers do not matter.
    pub fn parse(s: &str) -> Option<ColumnType> {
        let t = s.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "string" => ColumnType::String,
            "boolean" => ColumnType::Boolean,
            "tinyint" => ColumnType::Tinyint,
            "smallint" => ColumnType::Smallint,
            "int" | "integer" => ColumnType::Int,
            "bigint" => ColumnType::Bigint,
            "float" => ColumnType::Float,
            "double" => ColumnType::Double,
            _ => {
                let args = t.strip_prefix("decimal")?.trim_start();
                let args = args.strip_prefix('(')?.strip_suffix(')')?;
                let (p, s) = args.split_once(',')?;
                let (precision, scale) =
                    (p.trim().parse::<u8>().ok()?, s.trim().parse::<u8>().ok()?);
                if !(1..=38).contains(&precision) || scale > precision {
                    return None;
                }
                ColumnType::Decimal { precision, scale }
            }
        })
    }

    /// Glue's spelling.
    pub fn glue_name(self) -> String {
        match self {
            ColumnType::String => "string".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Tinyint => "tinyint".into(),
            ColumnType::Smallint => "smallint".into(),
            ColumnType::Int => "int".into(),
            ColumnType::Bigint => "bigint".into(),
            ColumnType::Float => "float".into(),
            ColumnType::Double => "double".into(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        }
    }
}

impl From<ColumnType> for String {
    fn from(t: ColumnType) -> String {
        t.glue_name()
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.glue_name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionSpec {
    pub id: String,
    /// Absolute path of the cargo package folder.
    pub source: PathBuf,
    /// Cargo binary name.
    pub binary: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: Architecture,
    pub log_retention_days: u32,
    pub environment: BTreeMap<String, EnvValue>,
    /// Bucket ids.
    pub reads: Vec<String>,
    /// Bucket ids.
    pub writes: Vec<String>,
    pub triggers: Vec<Trigger>,
}

/// An environment value. `${var.*}` references are already substituted;
/// `${bucket.ID}` and `${function.ID}` depend on account and region, so a
/// value holding them stays a template until [`EnvValue::resolve`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvValue {
    Literal(String),
    /// Text with `${bucket.ID}` / `${function.ID}` references; a literal
    /// `${` is written `$${`.
    Template(String),
}

impl EnvValue {
    /// The final text, with bucket and function references rendered by
    /// `names`.
    pub fn resolve(&self, names: &Names<'_>) -> String {
        match self {
            EnvValue::Literal(s) => s.clone(),
            EnvValue::Template(t) => match interp::parse_refs(t) {
                Ok(pieces) => pieces
                    .into_iter()
                    .map(|p| match p {
                        interp::Piece::Lit(s) => s,
                        interp::Piece::Bucket(id) => names.bucket(&id),
                        interp::Piece::Function(id) => names.function(&id),
                        interp::Piece::Var(v) => format!("${{var.{v}}}"),
                    })
                    .collect(),
                Err(_) => t.clone(),
            },
        }
    }

    /// Bucket ids this value refers to.
    pub fn bucket_refs(&self) -> Vec<String> {
        match self {
            EnvValue::Literal(_) => Vec::new(),
            EnvValue::Template(t) => interp::parse_refs(t)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| match p {
                    interp::Piece::Bucket(id) => Some(id),
                    _ => None,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// Lambda's spelling: `x86_64` or `arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    pub fn parse(s: &str) -> Option<Architecture> {
        Architecture::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// An S3 bucket notification invoking the function.
    S3 {
        bucket: String,
        events: Vec<String>,
        prefix: Option<String>,
        suffix: Option<String>,
    },
    /// An EventBridge rule on the default bus matching S3 "Object Created"
    /// on the bucket.
    EventBridge {
        bucket: String,
        prefix: Option<String>,
        suffix: Option<String>,
    },
}

impl Trigger {
    pub fn bucket(&self) -> &str {
        match self {
            Trigger::S3 { bucket, .. } | Trigger::EventBridge { bucket, .. } => bucket,
        }
    }
}

/// Resource names for one account and region (see [`Stack::names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names<'a> {
    stack: &'a Stack,
    account: &'a str,
    region: &'a str,
}

impl<'a> Names<'a> {
    pub fn account(&self) -> &'a str {
        self.account
    }
    pub fn region(&self) -> &'a str {
        self.region
    }
    pub fn bucket(&self, id: &str) -> String {
        self.stack.bucket_name(id, self.account, self.region)
    }
    /// Bucket id → bucket name, for every bucket.
    pub fn buckets(&self) -> BTreeMap<String, String> {
        self.stack
            .buckets
            .keys()
            .map(|id| (id.clone(), self.bucket(id)))
            .collect()
    }
    pub fn function(&self, id: &str) -> String {
        self.stack.function_name(id)
    }
    pub fn role(&self, id: &str) -> String {
        self.stack.role_name(id)
    }
    pub fn log_group(&self, id: &str) -> String {
        self.stack.log_group_name(id)
    }
    pub fn rule(&self, function_id: &str, bucket_id: &str) -> String {
        self.stack.rule_name(function_id, bucket_id)
    }
    pub fn environment(&self, function_id: &str) -> BTreeMap<String, String> {
        self.stack
            .environment(function_id, self.account, self.region)
    }
}

impl Stack {
    /// The named target, or the default one for `None`.
    pub fn target(&self, name: Option<&str>) -> Result<(&str, &Target), UnknownTarget> {
        let name = name.unwrap_or(&self.default_target);
        self.targets
            .get_key_value(name)
            .map(|(k, t)| (k.as_str(), t))
            .ok_or_else(|| UnknownTarget {
                name: name.to_owned(),
                known: self.targets.keys().cloned().collect(),
            })
    }

    pub fn names<'a>(&'a self, account_id: &'a str, region: &'a str) -> Names<'a> {
        Names {
            stack: self,
            account: account_id,
            region,
        }
    }

    /// The bucket's name: its `name:` override or the stack's pattern,
    /// rendered for `account` and `region`.
    pub fn bucket_name(&self, id: &str, account: &str, region: &str) -> String {
        let pattern = self
            .buckets
            .get(id)
            .and_then(|b| b.name_override.as_deref())
            .unwrap_or(&self.bucket_name_pattern);
        interp::render_pattern(pattern, &self.name, id, account, region)
    }

    /// `{stack}-{id}`.
    pub fn function_name(&self, id: &str) -> String {
        format!("{}-{}", self.name, id)
    }

    /// `{stack}-{id}`: the function's IAM role.
    pub fn role_name(&self, id: &str) -> String {
        format!("{}-{}", self.name, id)
    }

    /// `/aws/lambda/{function_name}`.
    pub fn log_group_name(&self, id: &str) -> String {
        format!("/aws/lambda/{}", self.function_name(id))
    }

    /// `{stack}`: the Athena workgroup of the stack's catalog.
    pub fn workgroup_name(&self) -> String {
        self.name.clone()
    }

    /// `{stack}-{function}-{bucket}-created`: the EventBridge rule of an
    /// `eventbridge` trigger.
    pub fn rule_name(&self, function_id: &str, bucket_id: &str) -> String {
        format!("{}-{}-{}-created", self.name, function_id, bucket_id)
    }

    /// The function's environment with `${bucket.ID}` and `${function.ID}`
    /// resolved. Empty for an unknown function.
    pub fn environment(
        &self,
        function_id: &str,
        account: &str,
        region: &str,
    ) -> BTreeMap<String, String> {
        let names = self.names(account, region);
        self.functions
            .get(function_id)
            .map(|f| {
                f.environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.resolve(&names)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// This stack as a stack.yaml (variables substituted, paths absolute
    /// unless inside the stack's directory). Loading it again with the same
    /// directory gives an equal `Stack`.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        render::render(self)
    }
}

/// Reads, parses and validates a stack file. `vars` are `--var key=value`
/// overrides; each key must name a variable the file declares.
pub fn load(path: &Path, vars: &[(String, String)]) -> Result<Stack, SpecErrors> {
    let file = path.display().to_string();
    let fail = |message: String| {
        SpecErrors(vec![SpecError {
            file: file.clone(),
            line: 1,
            column: 1,
            key: String::new(),
            message,
        }])
    };
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(fail(
                "is a directory, not a stack file (allowed: a YAML file)".into(),
            ));
        }
        Ok(m) if m.len() > yaml::MAX_FILE_BYTES as u64 => {
            return Err(fail(format!(
                "file too large ({} bytes; allowed: at most {} bytes)",
                m.len(),
                yaml::MAX_FILE_BYTES
            )));
        }
        _ => std::fs::read(path).map_err(|e| fail(format!("cannot read the stack file: {e}")))?,
    };
    let src = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let ok = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let ok = String::from_utf8_lossy(ok);
            let line = ok.matches('\n').count() + 1;
            let column = ok.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return Err(SpecErrors(vec![SpecError {
                file,
                line,
                column,
                key: String::new(),
                message: "not valid UTF-8 (allowed: UTF-8 text)".into(),
            }]));
        }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse_str(&src, &file, &dir, vars)
}

/// Parses and validates stack.yaml text. `file_name` is used in error
/// locations; relative paths in the file are resolved against `base_dir`.
pub fn parse_str(
    src: &str,
    file_name: &str,
    base_dir: &Path,
    vars: &[(String, String)],
) -> Result<Stack, SpecErrors> {
    check::check(src, file_name, base_dir, vars)
}
