//! The local target's data side, one module per subject: the provider
//! under the same planner and engine as AWS (`provider`, `stack`), the
//! store (`store`), the S3 endpoint driven by the real `aws-sdk-s3` client
//! and the aws CLI, with IAM enforcement (`s3_endpoint`), and the event JSON
//! the functions receive, parsed with the functions' own parsers and with
//! `aws_lambda_events` (`events`). The EventBridge matcher's own cases are
//! unit tests in localcloud (events/pattern/tests.rs).

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

mod events;
pub(crate) mod fixture;
mod provider;
mod s3_endpoint;
mod stack;
mod store;
