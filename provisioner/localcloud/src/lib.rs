//! An embedded fake AWS for one machine: S3, Lambda, EventBridge, IAM,
//! CloudWatch Logs, Glue and Athena, kept as plain files in one directory and served on
//! 127.0.0.1, so a stack runs end to end with no account.
//!
//! Like moto, it is one module per service, each with what it stores (its
//! models) apart from the wire protocol it speaks:
//!
//! - [`store`]: the directory, its lock, records as JSON files, atomic writes;
//! - [`s3`]: buckets, notifications and object versions, the S3 endpoint
//!   (s3s), and the events a write sends;
//! - [`lambda`]: functions, their permissions and packages, and the Runtime
//!   API emulator running the packaged `bootstrap` processes;
//! - [`events`]: EventBridge rules, the "Object Created" event, and pattern
//!   matching;
//! - [`iam`]: roles and identity-policy evaluation;
//! - [`logs`]: log groups and their events;
//! - [`glue`]: the Data Catalog's databases and tables over bucket prefixes;
//! - [`athena`]: workgroups, and SQL over a database's tables;
//! - [`routing`]: which functions a write triggers, with which event;
//! - [`running`]: the cloud running: the endpoint, the runtime, and each
//!   write's deliveries, with the cascade tracked.
//!
//! It knows nothing of its clients: a provisioner writes records with
//! [`store::Store::put`] as it would call AWS's APIs.

pub mod athena;
pub mod clock;
pub mod events;
pub mod glue;
mod http;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod routing;
pub mod running;
pub mod s3;
pub mod store;
mod wildcard;

use std::collections::BTreeMap;

/// The account id of the local cloud.
pub const ACCOUNT: &str = "000000000000";
/// The local cloud's one region.
pub const REGION: &str = "us-east-1";

/// A resource's tags.
pub type Tags = BTreeMap<String, String>;

pub use store::{Store, StoreError};
