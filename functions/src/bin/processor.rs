//! The processor Lambda function: see `cartpipe::handlers::handle_process`.

cartpipe::lambda_main!(cartpipe::handlers::handle_process);
