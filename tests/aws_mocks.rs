//! What moto cannot produce, against the SDK's own mocked clients
//! (aws-smithy-mocks): Lambda's IAM-propagation and ResourceConflict
//! retries, fail-fast on validation and access errors, the function wait
//! loop (Pending until Active, and Failed), the permission upsert, S3's
//! "Unable to validate the following destination configurations", a
//! bucket name taken by another account (BucketAlreadyExists), and a
//! listing larger than MaxKeys asked for. Errors are real HTTP error responses, so
//! the SDK's own error parsing runs too.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::operation::add_permission::AddPermissionOutput;
use aws_sdk_lambda::operation::create_function::CreateFunctionOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::remove_permission::RemovePermissionOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_s3::operation::put_bucket_notification_configuration::PutBucketNotificationConfigurationOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};

use stackctl::model::{Changes, Function, FunctionField, Notification, Permission};
use stackctl::provider::aws::{AwsClients, AwsCloud, AwsOptions, RetryPolicy};
use stackctl::provider::{Cloud, ProviderError, ResourceProvider};

const ROLE_NOT_ASSUMABLE: &str = r#"{"__type":"InvalidParameterValueException","message":"The role defined for the function cannot be assumed by Lambda."}"#;
const UPDATE_IN_PROGRESS: &str = r#"{"__type":"ResourceConflictException","message":"The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:s-f"}"#;
const BAD_MEMORY: &str = r#"{"__type":"InvalidParameterValueException","message":"'MemorySize' value failed to satisfy constraint: Member must have value greater than or equal to 128"}"#;
const ACCESS_DENIED: &str = r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/x is not authorized to perform: lambda:CreateFunction"}"#;
const STATEMENT_EXISTS: &str = r#"{"__type":"ResourceConflictException","message":"The statement id (stackctl-s3-raw) provided already exists. Please provide a new statement id, or remove the existing statement."}"#;
const UNVALIDATED: &str = "<Error><Code>InvalidArgument</Code><Message>Unable to validate the following destination configurations</Message><ArgumentName1>arn:aws:lambda:us-east-1:123456789012:function:s-f</ArgumentName1></Error>";

fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "a", "b", None, None, "test",
        )))
        .http_client(create_mock_http_client())
        // Only our retries: the SDK's own would hide what we count.
        .retry_config(RetryConfig::disabled())
        .build()
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

/// A provider whose Lambda (or S3) client answers from `rules`; quick retries.
fn cloud(lambda: &[&Rule], s3: &[&Rule], options: AwsOptions) -> AwsCloud {
    let config = sdk_config();
    let mut clients = AwsClients::new(&config);
    clients.lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .interceptor(interceptor(lambda))
            .build(),
    );
    clients.s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .interceptor(interceptor(s3))
            .build(),
    );
    AwsCloud::from_clients(clients, options)
}

fn function(package: &std::path::Path) -> Function {
    Function {
        name: "s-f".into(),
        role_arn: "arn:aws:iam::123456789012:role/s-f".into(),
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        architecture: "x86_64".into(),
        memory_mb: 128,
        timeout_s: 3,
        environment: Default::default(),
        code_sha256: "x".into(),
        tags: Default::default(),
        package: Some(package.to_path_buf()),
    }
}

fn package() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(f.path(), b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").expect("write");
    f
}

fn calls(cloud: &AwsCloud, op: &str) -> u64 {
    let s = cloud.stats();
    s.read
        .get(op)
        .or_else(|| s.mutating.get(op))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn create_function_waits_out_iam_propagation() {
    let rule = mock!(aws_sdk_lambda::Client::create_function)
        .sequence()
        .http_status(400, Some(ROLE_NOT_ASSUMABLE.into()))
        .times(2)
        .output(|| {
            CreateFunctionOutput::builder()
                .function_name("s-f")
                .state(State::Active)
                .build()
        })
        .build();
    let cloud = cloud(&[&rule], &[], AwsOptions::fast());
    let pkg = package();
    ResourceProvider::<Function>::create(&cloud, &function(pkg.path()))
        .await
        .expect("created on the third try");
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(calls(&cloud, "CreateFunction"), 3);
    assert_eq!(cloud.stats().reads(), 0, "Active at once: no polling");
}

/// CreateFunction answering State Pending, as Lambda does for a new function.
fn pending_create() -> Rule {
    mock!(aws_sdk_lambda::Client::create_function).then_output(|| {
        CreateFunctionOutput::builder()
            .function_name("s-f")
            .state(State::Pending)
            .build()
    })
}

#[tokio::test]
async fn create_function_waits_until_the_function_is_active() {
    let create = pending_create();
    let poll = mock!(aws_sdk_lambda::Client::get_function_configuration)
        .sequence()
        .output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Pending)
                .build()
        })
        .times(2)
        .output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        })
        .build();
    let cloud = cloud(&[&create, &poll], &[], AwsOptions::fast());
    let pkg = package();
    ResourceProvider::<Function>::create(&cloud, &function(pkg.path()))
        .await
        .expect("created once Active");
    assert_eq!(create.num_calls(), 1);
    assert_eq!(poll.num_calls(), 3, "polled until Active");
}

#[tokio::test]
async fn a_function_that_fails_to_become_active_is_an_error_naming_it() {
    let create = pending_create();
    let poll = mock!(aws_sdk_lambda::Client::get_function_configuration).then_output(|| {
        GetFunctionConfigurationOutput::builder()
            .state(State::Failed)
            .state_reason("The provided execution role does not have permissions")
            .build()
    });
    let cloud = cloud(&[&create, &poll], &[], AwsOptions::fast());
    let pkg = package();
    let err = ResourceProvider::<Function>::create(&cloud, &function(pkg.path()))
        .await
        .expect_err("Failed is not Active");
    assert_eq!(
        err.to_string(),
        "function s-f: Lambda could not create it: The provided execution role does not have permissions"
    );
}

/// A bucket as the stack declares one.
fn bucket(name: &str) -> stackctl::model::Bucket {
    stackctl::model::Bucket {
        name: name.into(),
        versioning: true,
        public_access_block: true,
        encryption: Some("AES256".into()),
        policy: None,
        tags: Default::default(),
    }
}

#[tokio::test]
async fn a_bucket_name_taken_by_another_account_is_a_clear_conflict() {
    let taken = mock!(aws_sdk_s3::Client::create_bucket).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(409).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<Error><Code>BucketAlreadyExists</Code><Message>The requested bucket name is not available.</Message></Error>",
            ),
        )
    });
    // In us-east-1 the provider looks before it creates (S3 answers 200 for
    // an own bucket there); another account's bucket is AccessDenied.
    let denied = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            ),
        )
    });
    let cloud = cloud(&[], &[&denied, &taken], AwsOptions::fast());
    let bucket = bucket("cartpipe-raw-123456789012-us-east-1");
    let err = ResourceProvider::<stackctl::model::Bucket>::create(&cloud, &bucket)
        .await
        .expect_err("taken");
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("cartpipe-raw-123456789012-us-east-1"), "{msg}");
    assert!(
        msg.contains("another AWS account") && msg.contains("bucket_name"),
        "{msg}"
    );
    assert_eq!(taken.num_calls(), 1, "fatal: not retried");
    assert_eq!(denied.num_calls(), 1);
}

#[tokio::test]
async fn update_retries_resource_conflict_then_waits_for_the_update() {
    let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
        .sequence()
        .http_status(409, Some(UPDATE_IN_PROGRESS.into()))
        .times(2)
        .output(|| {
            UpdateFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::InProgress)
                .build()
        })
        .build();
    let poll = mock!(aws_sdk_lambda::Client::get_function_configuration)
        .sequence()
        .output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::InProgress)
                .build()
        })
        .times(2)
        .output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        })
        .build();
    let cloud = cloud(&[&update, &poll], &[], AwsOptions::fast());
    let pkg = package();
    let want = function(pkg.path());
    let live = Function {
        memory_mb: 256,
        ..want.clone()
    };
    let changes = Changes::new([FunctionField::MemoryMb]);
    ResourceProvider::<Function>::update(&cloud, &live, &want, &changes)
        .await
        .expect("updated");
    assert_eq!(update.num_calls(), 3);
    assert_eq!(poll.num_calls(), 3);
    assert_eq!(calls(&cloud, "UpdateFunctionConfiguration"), 3);
    assert_eq!(calls(&cloud, "GetFunctionConfiguration"), 3);
    assert_eq!(
        calls(&cloud, "UpdateFunctionCode"),
        0,
        "no code change, no upload"
    );
}

#[tokio::test]
async fn validation_and_access_errors_fail_fast() {
    for (status, body, code) in [
        (400, BAD_MEMORY, "InvalidParameterValueException"),
        (403, ACCESS_DENIED, "AccessDeniedException"),
    ] {
        let rule = mock!(aws_sdk_lambda::Client::create_function)
            .sequence()
            .http_status(status, Some(body.into()))
            .repeatedly()
            .build();
        let cloud = cloud(&[&rule], &[], AwsOptions::default());
        let pkg = package();
        let started = std::time::Instant::now();
        let err = ResourceProvider::<Function>::create(&cloud, &function(pkg.path()))
            .await
            .expect_err("fails");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no waiting on {code}"
        );
        assert_eq!(rule.num_calls(), 1, "{code} is not retried");
        match &err {
            ProviderError::Api {
                code: c,
                operation,
                resource,
                ..
            } => {
                assert_eq!(c, code);
                assert_eq!(operation, "CreateFunction");
                assert_eq!(resource, "function s-f");
            }
            other => panic!("unexpected {other:?}"),
        }
        if code == "AccessDeniedException" {
            assert!(
                err.to_string()
                    .contains("needs the IAM permission `lambda:CreateFunction`"),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let rule = mock!(aws_sdk_lambda::Client::create_function)
        .sequence()
        .http_status(400, Some(ROLE_NOT_ASSUMABLE.into()))
        .repeatedly()
        .build();
    let options = AwsOptions {
        lambda_retry: RetryPolicy {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            deadline: Duration::from_millis(300),
        },
        ..AwsOptions::fast()
    };
    let cloud = cloud(&[&rule], &[], options);
    let pkg = package();
    let started = std::time::Instant::now();
    let err = ResourceProvider::<Function>::create(&cloud, &function(pkg.path()))
        .await
        .expect_err("gives up");
    let elapsed = started.elapsed();
    assert!(
        err.to_string().contains("cannot be assumed by Lambda"),
        "{err}"
    );
    assert!(rule.num_calls() > 2, "retried: {}", rule.num_calls());
    assert!(
        elapsed < Duration::from_secs(2),
        "stopped near the deadline: {elapsed:?}"
    );
}

#[tokio::test]
async fn add_permission_replaces_an_existing_statement() {
    let add = mock!(aws_sdk_lambda::Client::add_permission)
        .sequence()
        .http_status(409, Some(STATEMENT_EXISTS.into()))
        .output(|| AddPermissionOutput::builder().build())
        .build();
    let remove = mock!(aws_sdk_lambda::Client::remove_permission)
        .then_output(|| RemovePermissionOutput::builder().build());
    let cloud = cloud(&[&add, &remove], &[], AwsOptions::fast());
    let p = Permission {
        function: "s-f".into(),
        statement_id: "stackctl-s3-raw".into(),
        principal: "s3.amazonaws.com".into(),
        source_arn: "arn:aws:s3:::raw".into(),
        source_account: Some("123456789012".into()),
    };
    ResourceProvider::<Permission>::create(&cloud, &p)
        .await
        .expect("upsert");
    assert_eq!(add.num_calls(), 2);
    assert_eq!(remove.num_calls(), 1);
}

#[tokio::test]
async fn notification_retries_unvalidated_destinations() {
    let put = mock!(aws_sdk_s3::Client::put_bucket_notification_configuration)
        .sequence()
        .http_status(400, Some(UNVALIDATED.into()))
        .times(2)
        .output(|| PutBucketNotificationConfigurationOutput::builder().build())
        .build();
    let cloud = cloud(&[], &[&put], AwsOptions::fast());
    let n = Notification {
        bucket: "raw".into(),
        lambda: vec![stackctl::model::LambdaNotification {
            id: "stackctl-f".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:s-f".into(),
            events: vec!["s3:ObjectCreated:*".into()],
            prefix: None,
            suffix: Some(".csv".into()),
        }],
        eventbridge: true,
    };
    ResourceProvider::<Notification>::create(&cloud, &n)
        .await
        .expect("put after retries");
    assert_eq!(put.num_calls(), 3);
    assert_eq!(calls(&cloud, "PutBucketNotificationConfiguration"), 3);
}

#[tokio::test]
async fn context_errors_say_what_to_fix() {
    // No mock rule for STS: the mock client answers nothing useful, and the
    // error is an Api error naming the operation.
    let cloud = cloud(&[], &[], AwsOptions::fast());
    let err = cloud.context().await.expect_err("no STS answer");
    assert!(err.to_string().contains("GetCallerIdentity"), "{err}");
}

/// A provider whose Athena client answers from `rules`.
fn athena_cloud(rules: &[&Rule]) -> AwsCloud {
    let config = sdk_config();
    let mut clients = AwsClients::new(&config);
    clients.athena = aws_sdk_athena::Client::from_conf(
        aws_sdk_athena::config::Builder::from(&config)
            .interceptor(interceptor(rules))
            .build(),
    );
    AwsCloud::from_clients(clients, AwsOptions::fast())
}

fn execution(
    state: aws_sdk_athena::types::QueryExecutionState,
    reason: Option<&str>,
) -> aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput {
    use aws_sdk_athena::types::{QueryExecution, QueryExecutionStatus, StatementType};
    aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput::builder()
        .query_execution(
            QueryExecution::builder()
                .query_execution_id("q-1")
                .statement_type(StatementType::Dml)
                .status(
                    QueryExecutionStatus::builder()
                        .state(state)
                        .set_state_change_reason(reason.map(str::to_owned))
                        .build(),
                )
                .build(),
        )
        .build()
}

/// moto's queries always succeed: a failed one, with Athena's reason, and
/// the polling through QUEUED and RUNNING before it, are mocked.
#[tokio::test]
async fn a_failed_athena_query_is_an_error_with_athenas_reason_after_polling() {
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionOutput;
    use aws_sdk_athena::types::QueryExecutionState as S;
    use stackctl::provider::query::{Query, QueryTarget};
    const REASON: &str = "line 1:8: mismatched input 'FORM'. Expecting: ',', 'FROM', <EOF>";
    let start = mock!(aws_sdk_athena::Client::start_query_execution).then_output(|| {
        StartQueryExecutionOutput::builder()
            .query_execution_id("q-1")
            .build()
    });
    let poll = mock!(aws_sdk_athena::Client::get_query_execution)
        .sequence()
        .output(|| execution(S::Queued, None))
        .output(|| execution(S::Running, None))
        .output(|| execution(S::Failed, Some(REASON)))
        .build();
    let results = mock!(aws_sdk_athena::Client::get_query_results)
        .then_http_response(|| panic!("a failed query's results are not read"));
    let cloud = athena_cloud(&[&start, &poll, &results]);
    let target = QueryTarget {
        database: "cartpipe".into(),
        workgroup: "cartpipe".into(),
    };
    let err = cloud
        .query(&target, "SELECT x FORM carts")
        .await
        .expect_err("the query failed");
    assert_eq!(
        err.to_string(),
        format!("Athena: the query failed: query q-1 failed: {REASON}")
    );
    assert_eq!(err.kind(), stackctl::provider::ErrorKind::Validation);
    assert_eq!(poll.num_calls(), 3, "polled until it ended");
    assert_eq!(results.num_calls(), 0);
}

/// A page of `n` object versions, as a server that ignores MaxKeys would
/// answer.
fn versions(n: usize) -> aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput {
    aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput::builder()
        .set_versions(Some(
            (0..n)
                .map(|i| {
                    aws_sdk_s3::types::ObjectVersion::builder()
                        .key(format!("k{i}"))
                        .version_id(format!("v{i}"))
                        .build()
                })
                .collect(),
        ))
        .build()
}

#[tokio::test]
async fn emptying_a_bucket_sends_at_most_1000_keys_a_request_whatever_a_page_holds() {
    // 1,500 versions in one listing, then the 500 left, then none.
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(|| versions(1500))
        .output(|| versions(500))
        .output(|| versions(0))
        .build();
    // Only a request of 1000 keys or fewer is answered: S3 refuses more.
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|r| r.delete().is_some_and(|d| d.objects().len() <= 1000))
        .then_output(|| {
            aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput::builder().build()
        });
    let bucket_gone = mock!(aws_sdk_s3::Client::delete_bucket).then_output(|| {
        aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build()
    });
    let cloud = cloud(&[], &[&list, &delete, &bucket_gone], AwsOptions::fast());
    let bucket = bucket("s-raw");
    stackctl::provider::BucketData::delete_with_data(&cloud, &bucket)
        .await
        .expect("emptied, then deleted");
    assert_eq!(delete.num_calls(), 2, "1000 keys, then 500");
    assert_eq!(list.num_calls(), 3);
    assert_eq!(bucket_gone.num_calls(), 1);
}
