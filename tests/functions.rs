//! The functions' integration tests (crate `cartpipe`), as one test binary:
//! one module per subject (each was its own binary once), so polars and
//! the SDK are linked once (docs/build.md).

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

#[path = "cartpipe_cli.rs"]
mod cartpipe_cli;
#[path = "contract.rs"]
mod contract;
#[path = "contract_props.rs"]
mod contract_props;
#[path = "generator.rs"]
mod generator;
#[path = "handlers.rs"]
mod handlers;
