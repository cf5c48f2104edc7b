//! The generator Lambda function: see `cartpipe::handlers::handle_generate`.

cartpipe::lambda_main!(cartpipe::handlers::handle_generate);
