//! `stackctl invoke` on AWS, against the SDK's mocked Lambda client (moto
//! needs Docker to run a function): the response and the decoded log tail,
//! a function error, and a payload that is not JSON.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use base64::Engine as _;

use stackctl::provider::aws::invoke as invoke_aws;

/// A Lambda client answered by `rule` (the SDK's `mock_client!` needs the
/// SDK's test-util feature; this is the same thing by hand).
fn client(rule: &Rule) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(create_mock_http_client())
        .interceptor(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(rule),
        )
        .build();
    Client::from_conf(config)
}

fn tail(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn a_successful_invoke_prints_the_response_and_the_log_tail() {
    let rule = mock!(Client::invoke)
        .match_requests(|r| {
            r.function_name() == Some("cartpipe-generator")
                && r.payload().map(|p| p.as_ref()) == Some(br#"{"rows":10}"#.as_slice())
        })
        .then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .payload(Blob::new(br#"{"bucket":"raw","key":"k.csv","rows":10}"#.to_vec()))
                .log_result(tail("START RequestId: 1\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 3.00 ms\n"))
                .build()
        });
    let client = client(&rule);
    let report = invoke_aws(&client, "cartpipe-generator", br#"{"rows":10}"#.to_vec())
        .await
        .unwrap();
    assert!(!report.failed());
    assert_eq!(report.response["rows"], 10);
    assert!(
        report
            .log_tail
            .as_deref()
            .unwrap()
            .contains("REPORT RequestId: 1")
    );
    let shown = report.to_string();
    assert!(shown.starts_with("cartpipe-generator: ok\n"), "{shown}");
    assert!(
        shown.contains("--- log tail ---\nSTART RequestId: 1"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_function_error_is_a_failed_report() {
    let rule = mock!(Client::invoke).then_output(|| {
        InvokeOutput::builder()
            .status_code(200)
            .function_error("Unhandled")
            .payload(Blob::new(
                br#"{"errorType":"MissingColumns","errorMessage":"s3://raw/k.csv: the header lacks required column(s): quantity"}"#.to_vec(),
            ))
            .build()
    });
    let client = client(&rule);
    let report = invoke_aws(&client, "cartpipe-processor", b"{}".to_vec())
        .await
        .unwrap();
    assert!(report.failed());
    assert_eq!(report.response["errorType"], "MissingColumns");
    assert!(
        report
            .to_string()
            .starts_with("cartpipe-processor: FAILED (Unhandled)")
    );
}

#[test]
fn a_payload_that_is_not_json_is_refused_before_any_call() {
    let err = stackctl::cli::payload(Some("{rows: 1"), None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("--payload: the payload is not JSON"),
        "{msg}"
    );
    let err =
        stackctl::cli::payload(None, Some(std::path::Path::new("/nonexistent.json"))).unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent.json"));
    assert_eq!(stackctl::cli::payload(None, None).unwrap(), b"{}".to_vec());
}
