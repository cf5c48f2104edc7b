//! The cart-abandonment pipeline.
//!
//! - [`contract`]: the data contract of `../shared/data-contract.md` as pure
//!   functions over bytes (read, validate, aggregate, rank, write CSV).
//! - [`generate`]: the seeded fake-data generator.
//! - [`handlers`]: the three Lambda handlers, generic over [`handlers::ObjectStore`].
//! - [`s3`]: the `aws-sdk-s3` implementation of that store.
//!
//! The binaries in `src/bin` are thin: they wire a handler to `lambda_runtime`
//! (or, for `cartpipe`, to local files).

pub mod contract;
pub mod generate;
pub mod glibc;
pub mod handlers;
pub mod s3;

/// `main` of a Lambda binary: the handler on `lambda_runtime`, with an S3
/// store and configuration from the environment. Keeps the three binaries
/// one line each.
#[macro_export]
macro_rules! lambda_main {
    ($handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            let store = $crate::s3::S3Store::from_env().await;
            let config = $crate::handlers::Config::from_env()?;
            lambda_runtime::run(lambda_runtime::service_fn(
                |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                    let (store, config) = (&store, &config);
                    async move { $handler(store, config, event.payload).await }
                },
            ))
            .await
        }
    };
}
