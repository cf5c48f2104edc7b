//! stackctl's integration tests, as one test binary: one module per
//! subject (each was its own binary once). One binary links once and
//! compiles each generic instantiation (the SDK's, tokio's, serde's) once,
//! where twenty binaries did it twenty times (docs/build.md).
//!
//! Shared helpers are in `support/`. Each module that talks to moto gets
//! its own moto server (`moto::shared_for(module_path!())`), so modules
//! never see each other's stacks.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

#[path = "support/cli.rs"]
mod cli;
#[path = "support/local.rs"]
mod local;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/packages.rs"]
mod packages;

// The provider: one contract for every target, then what is particular
// to each.
#[path = "aws_mocks.rs"]
mod aws_mocks;
#[path = "aws_provider.rs"]
mod aws_provider;
#[path = "function_store.rs"]
mod function_store;
#[path = "local_cloud/mod.rs"]
mod local_cloud;
#[path = "provider_contract/mod.rs"]
mod provider_contract;

// The CLI, on each target.
#[path = "aws_catalog.rs"]
mod aws_catalog;
#[path = "aws_faults.rs"]
mod aws_faults;
#[path = "aws_invoke.rs"]
mod aws_invoke;
#[path = "aws_stack.rs"]
mod aws_stack;
#[path = "data_safety.rs"]
mod data_safety;
#[path = "local_e2e.rs"]
mod local_e2e;
#[path = "local_query.rs"]
mod local_query;
#[path = "local_runtime.rs"]
mod local_runtime;
#[path = "run_lock.rs"]
mod run_lock;
#[path = "saved_plans.rs"]
mod saved_plans;

// stack.yaml and the packages.
#[path = "packaging.rs"]
mod packaging;
#[path = "spec_errors.rs"]
mod spec_errors;
