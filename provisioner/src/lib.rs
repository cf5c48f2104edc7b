//! stackctl: desired state from `stack.yaml`, live state from the cloud, a
//! plan between them, and an engine that applies it. No state file.
//!
//! The folders are the architecture (see docs/architecture.md):
//! - [`spec`]: load and validate `stack.yaml`.
//! - [`model`]: the resources, as plain data (no SDK types).
//! - [`desired`]: spec + packages → desired resources.
//! - [`plan`]: the pure planner (desired vs live → plan).
//! - [`provider`]: one narrow trait per resource kind; `aws` and `local`
//!   implement them.
//! - [`apply`]: executes a plan through a provider.
//! - [`lock`]: the run lock (one `up`/`down` at a time per stack and
//!   target) over each target's compare-and-swap store.
//! - [`package`]: builds and zips the Lambda packages.
//! - [`output`]: the one place that renders results.
//! - [`cli`]: one module per verb.

pub mod apply;
mod atomic;
pub mod cli;
pub mod desired;
pub mod lock;
pub mod model;
pub mod output;
pub mod package;
pub mod plan;
pub mod provider;
pub mod spec;
