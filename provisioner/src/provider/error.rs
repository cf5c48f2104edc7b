//! What a failed provider call was, typed: the engine, the retry loops and
//! the user act on the kind, never on message text.

use serde::Serialize;

/// What kind of failure a call met, and so what helps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Something it depends on is still settling (a new role not yet
    /// assumable, a function busy with its last update, a permission S3
    /// cannot see yet): waiting helps, and the providers wait.
    NotReady,
    /// Throttling, a 5xx, a dropped connection: retrying helps (the SDK's
    /// retry strategy does).
    Transient,
    /// The resource's state refuses the call: it exists, is in use, or is
    /// not empty.
    Conflict,
    /// Not allowed: the credentials or their IAM permissions.
    Access,
    /// The request itself is wrong: a bad value or document.
    Validation,
    /// What the call addresses does not exist.
    NotFound,
    Other,
}

impl ErrorKind {
    /// The kind of an AWS error code, from the code alone (the target's
    /// provider refines it where the message tells more).
    pub fn of_code(code: &str) -> ErrorKind {
        const ACCESS: &[&str] = &[
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "AuthorizationError",
            "UnauthorizedAccess",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidToken",
            "TokenRefreshRequired",
        ];
        const TRANSIENT: &[&str] = &[
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "SlowDown",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "InternalError",
            "InternalFailure",
            "ServiceException",
            "Timeout",
            "DispatchFailure",
            "ResponseError",
        ];
        const CONFLICT: &[&str] = &[
            "ResourceConflictException",
            "ResourceAlreadyExistsException",
            "EntityAlreadyExists",
            "BucketAlreadyExists",
            "BucketAlreadyOwnedByYou",
            "BucketNotEmpty",
            "DeleteConflict",
            "ResourceInUseException",
            "ConcurrentModificationException",
            "OperationAbortedException",
            "OperationAborted",
            "PreconditionFailed",
        ];
        const VALIDATION: &[&str] = &[
            "ValidationError",
            "ValidationException",
            "InvalidParameterValueException",
            "InvalidParameterException",
            "InvalidParameterCombination",
            "InvalidArgument",
            "InvalidEventPatternException",
            "InvalidRequest",
            "InvalidBucketName",
            "MalformedPolicyDocument",
            "MalformedPolicy",
            "MalformedXML",
            "InvalidInput",
            "LimitExceeded",
            "LimitExceededException",
            "IllegalLocationConstraintException",
        ];
        if ACCESS.contains(&code) {
            ErrorKind::Access
        } else if TRANSIENT.contains(&code) || code.starts_with("HTTP 5") {
            ErrorKind::Transient
        } else if CONFLICT.contains(&code) {
            ErrorKind::Conflict
        } else if VALIDATION.contains(&code) {
            ErrorKind::Validation
        } else if code.starts_with("NoSuch")
            || code.ends_with("NotFound")
            || code.ends_with("NotFoundException")
            || code == "NoSuchEntity"
        {
            ErrorKind::NotFound
        } else {
            ErrorKind::Other
        }
    }
}

/// A failed provider call, with what to do next where we know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The service refused: `code` is its error code, `kind` what it means.
    #[error("{operation} on {resource}: {code}: {message}{}", hint_suffix(.hint))]
    Api {
        kind: ErrorKind,
        resource: String,
        operation: String,
        code: String,
        message: String,
        /// What to do about it, where we know.
        hint: Option<String>,
    },
    /// A same-named resource belongs to someone else, or a bucket holds data.
    #[error("{resource}: {message}")]
    Conflict { resource: String, message: String },
    /// A resource still settling when the wait for it ended.
    #[error("{resource}: {message}")]
    NotReady { resource: String, message: String },
    /// A query the engine ran and refused, or failed: `engine` names it
    /// (Athena, or the local engine), `message` is its reason.
    #[error("{engine}: the query failed: {message}")]
    Query { engine: String, message: String },
    #[error("{0}")]
    Other(String),
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default()
}

impl ProviderError {
    /// A service's refusal, its kind from its code.
    pub fn api(
        resource: impl Into<String>,
        operation: &str,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let code = code.into();
        ProviderError::Api {
            kind: ErrorKind::of_code(&code),
            resource: resource.into(),
            operation: operation.to_owned(),
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ProviderError::Api { kind, .. } => *kind,
            ProviderError::Conflict { .. } => ErrorKind::Conflict,
            ProviderError::NotReady { .. } => ErrorKind::NotReady,
            ProviderError::Query { .. } => ErrorKind::Validation,
            ProviderError::Other(_) => ErrorKind::Other,
        }
    }

    /// The service's error code, for an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_kinds() {
        assert_eq!(ErrorKind::of_code("AccessDenied"), ErrorKind::Access);
        assert_eq!(ErrorKind::of_code("ExpiredToken"), ErrorKind::Access);
        assert_eq!(
            ErrorKind::of_code("ThrottlingException"),
            ErrorKind::Transient
        );
        assert_eq!(ErrorKind::of_code("HTTP 503"), ErrorKind::Transient);
        assert_eq!(
            ErrorKind::of_code("EntityAlreadyExists"),
            ErrorKind::Conflict
        );
        assert_eq!(
            ErrorKind::of_code("MalformedPolicyDocument"),
            ErrorKind::Validation
        );
        assert_eq!(ErrorKind::of_code("NoSuchBucket"), ErrorKind::NotFound);
        assert_eq!(
            ErrorKind::of_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(ErrorKind::of_code("Whatever"), ErrorKind::Other);
    }

    #[test]
    fn a_hint_shows_after_the_message() {
        let mut e = ProviderError::api("bucket b", "GetBucketTagging", "AccessDenied", "denied");
        assert_eq!(
            e.to_string(),
            "GetBucketTagging on bucket b: AccessDenied: denied"
        );
        if let ProviderError::Api { hint, .. } = &mut e {
            *hint = Some("ask for s3:GetBucketTagging".into());
        }
        assert_eq!(
            e.to_string(),
            "GetBucketTagging on bucket b: AccessDenied: denied (hint: ask for s3:GetBucketTagging)"
        );
        assert_eq!(e.kind(), ErrorKind::Access);
        assert_eq!(e.code(), Some("AccessDenied"));
    }
}
