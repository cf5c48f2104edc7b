//! Located validation problems.

use std::fmt;

use serde::Serialize;

/// One problem in a stack file.
///
/// `key` is the dotted key path (`functions.processor.triggers[0].s3.bucket`);
/// it is empty for problems that belong to the document as a whole (YAML
/// syntax, an empty file, a non-mapping top level). `message` already carries
/// the bad value and what is allowed: `... (got `x`; allowed: ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

/// Every problem found in a stack file, in file order. Never empty when
/// returned as an error.
///
/// Display prints one problem per line:
/// `file:line:col: key.path: message (got `value`; allowed: ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, SpecError> {
        self.0.iter()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}

impl IntoIterator for SpecErrors {
    type Item = SpecError;
    type IntoIter = std::vec::IntoIter<SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a SpecErrors {
    type Item = &'a SpecError;
    type IntoIter = std::slice::Iter<'a, SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// `Stack::target` was asked for a target the stack does not define.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownTarget {
    pub name: String,
    pub known: Vec<String>,
}

impl fmt::Display for UnknownTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown target `{}` (allowed: {})",
            self.name,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownTarget {}
