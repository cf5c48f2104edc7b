//! Who a request is from, and whether their role's inline policy allows
//! it: SigV4 through s3s with each function's registered secret, then
//! identity-policy evaluation ([`crate::iam`]).

use super::*;

// ---- identity and access ------------------------------------------------------

pub(super) struct Auth(pub(super) CredentialTable);

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.0
            .get(access_key)
            .map(|r| SecretKey::from(r.secret))
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))
    }
}

pub(super) struct Access {
    pub(super) credentials: CredentialTable,
    pub(super) store: Arc<Store>,
}

pub(super) fn access_denied(role: &str, action: &str, resource: &str, explicit: bool) -> S3Error {
    let why = if explicit {
        "with an explicit deny in an identity-based policy".to_owned()
    } else {
        format!("because no identity-based policy allows the {action} action")
    };
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!(
            "User: arn:aws:sts::{LOCAL_ACCOUNT}:assumed-role/{role}/{role} is not authorized to \
             perform: {action} on resource: \"{resource}\" {why}"
        ),
    )
}

/// Whether `caller` may do `op` on `bucket`/`key`; AccessDenied as S3 says it.
pub(super) fn authorize(
    store: &Store,
    caller: &Caller,
    op: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    versioned: bool,
) -> S3Result<()> {
    let Caller::Function { role, .. } = caller else {
        return Ok(());
    };
    let (action, resource) = iam::s3_action(op, bucket, key, versioned);
    let policy = store
        .get::<Role>(role)
        .map_err(internal)?
        .and_then(|r| r.policy);
    let decision = policy.map_or(Decision::NotAllowed, |p| {
        iam::evaluate(&p, &action, &resource)
    });
    match decision {
        Decision::Allow => Ok(()),
        Decision::NotAllowed => Err(access_denied(role, &action, &resource, false)),
        Decision::Denied => Err(access_denied(role, &action, &resource, true)),
    }
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let caller = match cx.credentials() {
            None => Caller::Owner,
            Some(c) => match self.credentials.get(&c.access_key) {
                Some(r) => Caller::Function {
                    role: r.role,
                    access_key: c.access_key.clone(),
                },
                None => Caller::Owner,
            },
        };
        let op = cx.s3_op().name().to_owned();
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        let versioned = cx
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("versionId=")));
        // DeleteObjects is checked key by key, CopyObject's source in the op.
        if op != "DeleteObjects" {
            authorize(
                &self.store,
                &caller,
                &op,
                bucket.as_deref(),
                key.as_deref(),
                versioned,
            )?;
        }
        cx.extensions_mut().insert(caller);
        Ok(())
    }
}

pub(super) fn caller_of<T>(req: &S3Request<T>) -> Caller {
    req.extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Owner)
}
