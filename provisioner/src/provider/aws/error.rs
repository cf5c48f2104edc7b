//! SDK errors → [`ProviderError`], with a hint on what to do where we know.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::provider::{ErrorKind, ProviderError};

/// The AWS service an operation belongs to: its IAM action prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    S3,
    Iam,
    Lambda,
    Events,
    Logs,
    Sts,
    Glue,
    Athena,
}

impl Service {
    fn prefix(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Iam => "iam",
            Service::Lambda => "lambda",
            Service::Events => "events",
            Service::Logs => "logs",
            Service::Sts => "sts",
            Service::Glue => "glue",
            Service::Athena => "athena",
        }
    }
}

/// Error codes that mean the credentials themselves are bad.
const BAD_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "TokenRefreshRequired",
];

/// Error codes that mean the request went to the wrong region.
const WRONG_REGION: &[&str] = &[
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// The error code of an SDK error: the service's code, or a name for the
/// failure when no response came back.
pub(crate) fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> String {
    match err {
        SdkError::ServiceError(_) => err
            .code()
            .map(str::to_owned)
            .or_else(|| {
                err.raw_response()
                    .map(|r| format!("HTTP {}", r.status().as_u16()))
            })
            .unwrap_or_else(|| "Unknown".into()),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".into(),
        SdkError::TimeoutError(_) => "Timeout".into(),
        SdkError::DispatchFailure(_) => "DispatchFailure".into(),
        SdkError::ResponseError(_) => "ResponseError".into(),
        _ => "Unknown".into(),
    }
}

/// Maps an SDK error to [`ProviderError::Api`]: its kind (from its code,
/// refined by what AWS says for the few propagation delays that have no
/// code of their own), and a hint for access, credential, region and
/// connection problems.
pub(crate) fn api_error<E>(
    service: Service,
    operation: &str,
    resource: &str,
    err: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let code = code_of(&err);
    let message = match &err {
        SdkError::ServiceError(_) => err
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| DisplayErrorContext(&err).to_string()),
        _ => causes(&err),
    };
    let kind = classify(service, &code, &message);
    ProviderError::Api {
        hint: hint(service, operation, resource, kind, &code, &message),
        kind,
        resource: resource.to_owned(),
        operation: operation.to_owned(),
        code,
        message,
    }
}

/// An error and its causes, each once, as `a: b: c`. `DisplayErrorContext`
/// also appends the whole error's `Debug` form, which for a missing
/// credential is a screenful repeating the same causes.
fn causes(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// The kind of an AWS error. AWS gives three settling delays no code of
/// their own, so their message tells them apart:
/// - Lambda's "The role defined for the function cannot be assumed by
///   Lambda" while IAM propagates a new role;
/// - Lambda's ResourceConflictException for a function busy with its last
///   create or update (not the "already exists" one);
/// - S3's "Unable to validate the following destination configurations"
///   while Lambda propagates the permission S3 needs.
pub(crate) fn classify(service: Service, code: &str, message: &str) -> ErrorKind {
    match (service, code) {
        (Service::Lambda, "InvalidParameterValueException")
            if message.contains("cannot be assumed by Lambda") =>
        {
            ErrorKind::NotReady
        }
        (Service::Lambda, "ResourceConflictException") if !message.contains("already exist") => {
            ErrorKind::NotReady
        }
        (Service::S3, "InvalidArgument")
            if message.contains("Unable to validate the following destination configurations") =>
        {
            ErrorKind::NotReady
        }
        _ => ErrorKind::of_code(code),
    }
}

fn hint(
    service: Service,
    operation: &str,
    resource: &str,
    kind: ErrorKind,
    code: &str,
    message: &str,
) -> Option<String> {
    if BAD_CREDENTIALS.contains(&code) {
        return Some(
            "the AWS credentials were rejected: check AWS_PROFILE/--profile, AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or refresh an expired session (`aws sso login`)"
                .into(),
        );
    }
    if kind == ErrorKind::Access {
        return Some(format!(
            "the caller needs the IAM permission `{}` on {resource}",
            iam_action(service, operation)
        ));
    }
    if WRONG_REGION.contains(&code) {
        return Some(
            "the resource lives in another region: set the target's `region` in stack.yaml or pass --region"
                .into(),
        );
    }
    let lower = message.to_ascii_lowercase();
    if code == "ConstructionFailure" || code == "DispatchFailure" {
        if lower.contains("credential") {
            return Some(
                "no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
                    .into(),
            );
        }
        if lower.contains("region") {
            return Some(
                "no AWS region: set the target's `region` in stack.yaml, AWS_REGION or --region"
                    .into(),
            );
        }
        if code == "DispatchFailure" {
            return Some(
                "could not reach the AWS endpoint: check the network, the region name and AWS_ENDPOINT_URL".into(),
            );
        }
    }
    None
}

/// The IAM action an operation needs, where it differs from
/// `<service>:<Operation>`.
fn iam_action(service: Service, operation: &str) -> String {
    let action = match (service, operation) {
        (Service::S3, "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        (Service::S3, "PutPublicAccessBlock" | "DeletePublicAccessBlock") => {
            "PutBucketPublicAccessBlock"
        }
        (Service::S3, "GetBucketEncryption") => "GetEncryptionConfiguration",
        (Service::S3, "PutBucketEncryption" | "DeleteBucketEncryption") => {
            "PutEncryptionConfiguration"
        }
        (Service::S3, "DeleteBucketTagging") => "PutBucketTagging",
        (Service::S3, "ListObjectVersions") => "ListBucketVersions",
        (Service::S3, "DeleteObjects") => "DeleteObjectVersion",
        (Service::S3, "ListBuckets") => "ListAllMyBuckets",
        (Service::S3, "GetBucketNotificationConfiguration") => "GetBucketNotification",
        (Service::S3, "PutBucketNotificationConfiguration") => "PutBucketNotification",
        (Service::Logs, "ListTagsForResource") => "ListTagsForResource",
        _ => operation,
    };
    format!("{}:{action}", service.prefix())
}

/// The body of a success response the SDK could not parse. Some
/// S3-compatible endpoints (moto 5.2) wrap a few S3 answers in a root
/// element AWS does not use (`<GetBucketVersioningResponse>` for
/// `<VersioningConfiguration>`), which the SDK rejects.
pub(crate) fn unparsed_success_body<E>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    match err {
        SdkError::ServiceError(_) => {
            let raw = err.raw_response()?;
            if !raw.status().is_success() {
                return None;
            }
            raw.body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    }
}

/// Is this the error code (of a service error)?
pub(crate) fn is_code<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
    codes: &[&str],
) -> bool {
    matches!(err, SdkError::ServiceError(_)) && err.code().is_some_and(|c| codes.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settling_delays_are_not_ready_by_what_aws_says() {
        let k = |s, c, m| classify(s, c, m);
        assert_eq!(
            k(
                Service::Lambda,
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda."
            ),
            ErrorKind::NotReady
        );
        assert_eq!(
            k(
                Service::Lambda,
                "InvalidParameterValueException",
                "memory must be 128 or more"
            ),
            ErrorKind::Validation
        );
        assert_eq!(
            k(
                Service::Lambda,
                "ResourceConflictException",
                "The operation cannot be performed at this time. An update is in progress"
            ),
            ErrorKind::NotReady
        );
        assert_eq!(
            k(
                Service::Lambda,
                "ResourceConflictException",
                "Function already exist: f"
            ),
            ErrorKind::Conflict
        );
        assert_eq!(
            k(
                Service::S3,
                "InvalidArgument",
                "Unable to validate the following destination configurations"
            ),
            ErrorKind::NotReady
        );
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        let h = hint(
            Service::S3,
            "GetBucketEncryption",
            "bucket b",
            ErrorKind::Access,
            "AccessDenied",
            "denied",
        );
        assert!(h.is_some_and(|h| h.contains("s3:GetEncryptionConfiguration")));
        let h = hint(
            Service::Lambda,
            "GetFunction",
            "function f",
            ErrorKind::Access,
            "AccessDeniedException",
            "x",
        );
        assert!(h.is_some_and(|h| h.contains("lambda:GetFunction")));
    }

    /// A failure before any response (no credentials, no network) reads
    /// as its causes, once each, not as the error's `Debug` dump.
    #[test]
    fn a_dispatch_failure_reads_as_its_causes() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let err: SdkError<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError, _> =
            SdkError::dispatch_failure(ConnectorError::other(
                "no credentials found in chain".into(),
                None,
            ));
        let e = api_error(Service::Sts, "GetCallerIdentity", "account", err);
        let ProviderError::Api { message, hint, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(
            message,
            "dispatch failure: other: no credentials found in chain"
        );
        assert!(
            hint.as_deref()
                .is_some_and(|h| h.starts_with("no AWS credentials found"))
        );
    }

    #[test]
    fn credential_errors_get_a_hint() {
        assert!(
            hint(
                Service::Sts,
                "GetCallerIdentity",
                "account",
                ErrorKind::Access,
                "InvalidClientTokenId",
                ""
            )
            .is_some()
        );
        assert!(
            hint(
                Service::Sts,
                "GetCallerIdentity",
                "account",
                ErrorKind::Transient,
                "DispatchFailure",
                "no credentials"
            )
            .is_some()
        );
    }
}
