//! The AWS target: every resource kind through the AWS SDK.
//!
//! One [`AwsCloud`] holds a client per service (S3, IAM, Lambda, EventBridge,
//! CloudWatch Logs, STS, Glue, Athena), each with an interceptor counting the HTTP
//! requests it sends by operation ([`Cloud::stats`]). The kinds live in one
//! module each; this module holds what they share: options, retries, tags.

mod bucket;
mod database;
mod error;
mod function;
mod functions;
pub mod lock;
mod log_group;
mod notification;
mod permission;
mod query;
mod role;
mod rule;
mod table;
mod workgroup;

pub use functions::invoke;
pub use query::ATHENA;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use backon::{ExponentialBuilder, Retryable};

use crate::model::{Context, OWNER_TAG, ResourceKind, Tags};
use crate::provider::{ApiStats, CallCounter, Cloud, ProviderError, ResourceProvider, Result};

pub(crate) use error::{Service, api_error, is_code, unparsed_success_body};

/// How long and how often to retry or poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait; each next one doubles, up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Total time spent waiting before giving up.
    pub deadline: Duration,
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay.max(self.min_delay))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .with_total_delay(Some(self.deadline))
    }

    /// Runs `op` until it succeeds, fails with an error `retry_if` rejects,
    /// or the deadline passes (then the last error is returned).
    pub(crate) async fn run<T, Fut>(
        &self,
        op: impl FnMut() -> Fut,
        retry_if: impl FnMut(&ProviderError) -> bool,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        op.retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(retry_if)
            .await
    }
}

/// Tunables of the AWS provider; the defaults suit real AWS, tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// Retries of Lambda calls failing while IAM propagates a new role ("The
    /// role defined for the function cannot be assumed by Lambda") or while
    /// the function is busy (ResourceConflictException). Minutes on AWS.
    pub lambda_retry: RetryPolicy,
    /// Polling for a function's State Active and LastUpdateStatus Successful.
    pub function_wait: RetryPolicy,
    /// Retries of S3's "Unable to validate the following destination
    /// configurations" (a permission not yet visible to S3). Brief.
    pub notification_retry: RetryPolicy,
    /// Polling an Athena query until it ends.
    pub query_wait: RetryPolicy,
}

impl Default for AwsOptions {
    fn default() -> Self {
        Self {
            lambda_retry: RetryPolicy {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(15),
                deadline: Duration::from_secs(180),
            },
            function_wait: RetryPolicy {
                min_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(5),
                deadline: Duration::from_secs(300),
            },
            notification_retry: RetryPolicy {
                min_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(4),
                deadline: Duration::from_secs(30),
            },
            // Athena's own limit for a DML query is 30 minutes by default.
            query_wait: RetryPolicy {
                min_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(5),
                deadline: Duration::from_secs(30 * 60),
            },
        }
    }
}

impl AwsOptions {
    /// Short waits, for tests against moto or mocked clients.
    pub fn fast() -> Self {
        let quick = RetryPolicy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            deadline: Duration::from_secs(2),
        };
        Self {
            lambda_retry: quick,
            function_wait: quick,
            notification_retry: quick,
            query_wait: quick,
        }
    }
}

/// One client per service the provider talks to.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    pub glue: aws_sdk_glue::Client,
    pub athena: aws_sdk_athena::Client,
}

impl AwsClients {
    /// Clients from a shared config. With an endpoint URL set (moto,
    /// LocalStack), S3 uses path-style addressing.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        let path_style = sdk_config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(path_style)
            .build();
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::new(sdk_config),
            lambda: aws_sdk_lambda::Client::new(sdk_config),
            events: aws_sdk_eventbridge::Client::new(sdk_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk_config),
            sts: aws_sdk_sts::Client::new(sdk_config),
            glue: aws_sdk_glue::Client::new(sdk_config),
            athena: aws_sdk_athena::Client::new(sdk_config),
        }
    }
}

/// The AWS implementation of [`Cloud`].
#[derive(Debug)]
pub struct AwsCloud {
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) events: aws_sdk_eventbridge::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) glue: aws_sdk_glue::Client,
    pub(crate) athena: aws_sdk_athena::Client,
    /// S3 for the run lock, not counted in `--stats`.
    lock_s3: aws_sdk_s3::Client,
    pub(crate) options: AwsOptions,
    /// The region the clients are configured for.
    pub(crate) region: Option<String>,
    counter: Arc<CallCounter>,
    context: tokio::sync::OnceCell<Context>,
}

impl AwsCloud {
    pub fn new(sdk_config: &SdkConfig, options: AwsOptions) -> Self {
        Self::from_clients(AwsClients::new(sdk_config), options)
    }

    /// Loads the standard AWS chain (environment, profiles, SSO, IMDS),
    /// `region` and `profile` overriding it; `AWS_ENDPOINT_URL` is honoured.
    pub async fn from_env(region: Option<String>, profile: Option<String>) -> AwsCloud {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        let sdk_config = loader.load().await;
        AwsCloud::new(&with_provisioner_retries(sdk_config), AwsOptions::default())
    }

    /// Wraps existing clients (tests pass mocked ones), adding the call
    /// counter to each.
    pub fn from_clients(clients: AwsClients, options: AwsOptions) -> Self {
        let counter = Arc::new(CallCounter::default());
        let interceptor = CountCalls(counter.clone());
        let region = clients.s3.config().region().map(|r| r.to_string());
        macro_rules! counted {
            ($krate:ident, $client:expr) => {
                $krate::Client::from_conf(
                    $client
                        .config()
                        .to_builder()
                        .interceptor(interceptor.clone())
                        .build(),
                )
            };
        }
        Self {
            lock_s3: clients.s3.clone(),
            s3: counted!(aws_sdk_s3, clients.s3),
            iam: counted!(aws_sdk_iam, clients.iam),
            lambda: counted!(aws_sdk_lambda, clients.lambda),
            events: counted!(aws_sdk_eventbridge, clients.events),
            logs: counted!(aws_sdk_cloudwatchlogs, clients.logs),
            sts: counted!(aws_sdk_sts, clients.sts),
            glue: counted!(aws_sdk_glue, clients.glue),
            athena: counted!(aws_sdk_athena, clients.athena),
            options,
            region,
            counter,
            context: tokio::sync::OnceCell::new(),
        }
    }

    /// The (counted) clients, for callers that need more than the
    /// provider traits, such as `invoke`.
    pub fn clients(&self) -> AwsClients {
        AwsClients {
            s3: self.s3.clone(),
            iam: self.iam.clone(),
            lambda: self.lambda.clone(),
            events: self.events.clone(),
            logs: self.logs.clone(),
            sts: self.sts.clone(),
            glue: self.glue.clone(),
            athena: self.athena.clone(),
        }
    }

    pub fn options(&self) -> &AwsOptions {
        &self.options
    }

    /// The region, or an error saying how to set one.
    pub(crate) fn region_name(&self) -> Result<&str> {
        self.region.as_deref().ok_or_else(|| {
            ProviderError::Other(
                "no AWS region: set the target's `region` in stack.yaml, AWS_REGION or --region"
                    .into(),
            )
        })
    }
}

impl Cloud for AwsCloud {
    type Lock = lock::AwsLock;

    async fn lock_store(&self, stack: &str) -> Result<lock::AwsLock> {
        let ctx = self.context().await?;
        Ok(lock::AwsLock::new(
            self.lock_s3.clone(),
            &ctx.account,
            &ctx.region,
            stack,
        ))
    }

    async fn context(&self) -> Result<Context> {
        self.context
            .get_or_try_init(|| async {
                let region = self.region_name()?.to_owned();
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    api_error(Service::Sts, "GetCallerIdentity", "the AWS account", e)
                })?;
                let account = out
                    .account()
                    .ok_or_else(|| {
                        ProviderError::Other("GetCallerIdentity returned no account id".into())
                    })?
                    .to_owned();
                Ok(Context { account, region })
            })
            .await
            .cloned()
    }

    fn stats(&self) -> ApiStats {
        self.counter.snapshot()
    }
}

/// Counts every HTTP request sent (retries included), by operation name.
#[derive(Debug, Clone)]
struct CountCalls(Arc<CallCounter>);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "stackctl::CountCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("Unknown", Metadata::name);
        self.0.record(operation);
        Ok(())
    }
}

/// Retries fit for a provisioner, unless the user chose their own.
///
/// The SDK's default (standard mode, 3 attempts) gives up on a short burst
/// of throttling; a provisioner making a hundred calls meets one often.
/// Terraform's AWS provider retries up to 25 times. stackctl's default:
/// standard mode (throttling, 5xx, timeouts and connection errors are
/// retried with exponential backoff and full jitter; validation and access
/// errors are not), 10 attempts, backoff from 0.5 s up to 20 s, and each
/// attempt limited to 2 minutes, so a call gives up within a few minutes.
///
/// `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE` and a profile's `max_attempts` /
/// `retry_mode` win: set, they are used as the SDK reads them (a profile
/// setting that equals the SDK default, 3 standard attempts, cannot be told
/// from no setting; use `AWS_MAX_ATTEMPTS=3` to insist).
pub fn with_provisioner_retries(config: SdkConfig) -> SdkConfig {
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;
    let env_set = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    let chosen = config
        .retry_config()
        .is_some_and(|r| *r != RetryConfig::standard());
    let mut builder = config.to_builder();
    if !env_set && !chosen {
        builder = builder.retry_config(
            RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(500))
                .with_max_backoff(Duration::from_secs(20)),
        );
    }
    if config
        .timeout_config()
        .is_none_or(|t| t.operation_attempt_timeout().is_none())
    {
        let connect = config
            .timeout_config()
            .and_then(|t| t.connect_timeout())
            .unwrap_or(Duration::from_secs(5));
        builder = builder.timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(connect)
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        );
    }
    builder.build()
}

// ---- shared helpers -------------------------------------------------------

impl AwsCloud {
    /// A create that found `desired`'s name taken: ours (the same owner
    /// tag: a run killed after creating it) is converged to `desired`;
    /// anyone else's is a conflict, and is not changed. `what` names the
    /// resource in the message (`Glue database`).
    pub(crate) async fn converge_existing<R: ResourceKind>(
        &self,
        desired: &R,
        what: &str,
    ) -> Result<()>
    where
        Self: ResourceProvider<R>,
    {
        let name = desired.name();
        let want = desired.tags().and_then(|t| t.get(OWNER_TAG));
        match ResourceProvider::<R>::read(self, &name).await? {
            Some(live) if want.is_some() && live.tags().and_then(|t| t.get(OWNER_TAG)) == want => {
                let changes = live.changes_to(desired);
                ResourceProvider::<R>::update(self, &live, desired, &changes).await
            }
            _ => Err(ProviderError::Conflict {
                resource: format!("{} {name}", R::KIND),
                message: format!(
                    "the {what} already exists without {OWNER_TAG}={}; it is not changed",
                    want.map_or("?", String::as_str)
                ),
            }),
        }
    }
}

/// Tags as a HashMap, the form most SDK inputs take.
pub(crate) fn tag_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Tags to add or change, and keys to remove, to go from `live` to `desired`.
pub(crate) fn tag_changes(live: &Tags, desired: &Tags) -> (Tags, Vec<String>) {
    let set: Tags = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Decodes an IAM policy document: IAM returns them URL-encoded (RFC 3986).
/// Text that already is JSON is returned as is.
pub(crate) fn decode_policy(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A wait-and-retry loop's "not yet" signal.
/// A resource polled and found still settling (`what` says how).
pub(crate) fn not_ready(resource: String, what: String) -> ProviderError {
    ProviderError::NotReady {
        resource,
        message: what,
    }
}

pub(crate) fn is_not_ready(e: &ProviderError) -> bool {
    e.kind() == crate::provider::ErrorKind::NotReady
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_policies() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_policy(encoded),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(decode_policy(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
        assert_eq!(decode_policy("%7B%2"), "{%2");
    }

    #[test]
    fn tag_changes_set_and_remove() {
        let live: Tags = [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let desired: Tags = [("a".into(), "1".into()), ("c".into(), "3".into())].into();
        let (set, remove) = tag_changes(&live, &desired);
        assert_eq!(set, [("c".to_owned(), "3".to_owned())].into());
        assert_eq!(remove, vec!["b".to_owned()]);
    }
}
