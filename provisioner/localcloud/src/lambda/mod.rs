//! Lambda: functions and their resource policies (records), their packages
//! ([`package`]), and the Runtime API emulator ([`runtime`]) that runs a
//! package's `bootstrap` as a child process.

mod package;
pub mod runtime;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Tags;
use crate::store::Record;

pub use package::{BOOTSTRAP, code_sha256};
pub use runtime::{
    FunctionProcessSpec, InvocationResult, InvocationStatus, LogEvent, RuntimeEmulator,
};

/// A function's configuration, as stored (its code is its package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub role_arn: String,
    pub runtime: String,
    pub handler: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub environment: BTreeMap<String, String>,
    /// Base64 SHA-256 of the deployed zip: Lambda's CodeSha256.
    pub code_sha256: String,
    pub tags: Tags,
}

impl Function {
    /// The role's name, from `role_arn`.
    pub fn role_name(&self) -> &str {
        self.role_arn.rsplit('/').next().unwrap_or_default()
    }
}

impl Record for Function {
    const KIND: &'static str = "function";
    fn record_name(&self) -> String {
        self.name.clone()
    }
}

/// One statement of a function's resource-based policy: who may invoke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub function: String,
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: Option<String>,
}

impl Permission {
    /// A statement's record name: `<function>/<statement id>`.
    pub fn record_name_of(function: &str, statement_id: &str) -> String {
        format!("{function}/{statement_id}")
    }
}

impl Record for Permission {
    const KIND: &'static str = "permission";
    fn record_name(&self) -> String {
        Self::record_name_of(&self.function, &self.statement_id)
    }
}

/// The function name in a function ARN
/// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`), or the
/// text itself when it is a bare name.
pub fn function_name_from_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[5] == "function" {
        parts[6].to_owned()
    } else {
        arn.to_owned()
    }
}
