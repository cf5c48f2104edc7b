//! One provider contract, every target: the suite in `suite`, written once
//! and generic over the target and the resource kind, runs for each of the
//! ten kinds on the local cloud (`local::*`) and on moto's server through
//! the real SDK (`aws::*`). `cases` gives each kind's field variants.
//!
//! What is particular to one target stays with that target's tests:
//! tests/aws_provider.rs (call counts, S3 versions and delete markers, IAM
//! propagation retries, region quirks) and tests/local_cloud/provider.rs
//! (packages installed on disk, the checks the local cloud makes as AWS
//! would).
//!
//! moto is lenient where AWS is strict, and the suite follows AWS: a
//! Lambda permission's principal or source is validated by moto no more
//! than by the local cloud, and the values the suite uses are ones AWS
//! accepts.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

mod aws;
mod cases;
mod local;
mod suite;
