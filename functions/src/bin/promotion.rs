//! The promotion Lambda function: see `cartpipe::handlers::handle_promote`.

cartpipe::lambda_main!(cartpipe::handlers::handle_promote);
