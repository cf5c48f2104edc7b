//! The local target: the whole stack in an embedded cloud kept as plain
//! files under the target's directory (`.stackctl/` by default), no AWS
//! account needed.
//!
//! The cloud itself is the `localcloud` crate, a fake AWS that knows
//! nothing of stackctl (as moto knows nothing of boto3's users). This module
//! is the thin adapter that drives it, as `provider/aws` drives the SDK:
//!
//! - [`LocalCloud`]: [`Cloud`] and every [`ResourceProvider`] over the
//!   local cloud's store, so the same planner and engine run `diff`, `up`
//!   and `down` here as on AWS; a setting edited by hand in a stored JSON
//!   file is drift. Each call checks what the AWS API would (an existing
//!   resource of someone else, a role that does not exist, a notification
//!   whose function does not allow S3).
//! - `convert`: the model ↔ the local cloud's records.
//! - [`lock`]: the run lock as a file with compare-and-swap.

mod convert;
mod functions;
pub use functions::Serving;
pub mod lock;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use localcloud::store::Record as _;
use localcloud::{events, iam, lambda, s3};

use crate::model::*;
use crate::provider::{
    ApiStats, BucketData, CallCounter, Cloud, ProviderError, ResourceProvider, Result,
    bucket_not_empty,
};
use convert::Stored;

/// The local cloud's one region.
pub const LOCAL_REGION: &str = localcloud::REGION;
pub use localcloud::{Store as LocalStore, StoreError};

/// The account id of the local cloud.
pub const LOCAL_ACCOUNT: &str = localcloud::ACCOUNT;

impl From<StoreError> for ProviderError {
    fn from(e: StoreError) -> Self {
        ProviderError::Other(e.to_string())
    }
}

fn api(resource: String, operation: &str, code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::api(resource, operation, code, message)
}

/// The local implementation of [`Cloud`].
#[derive(Debug)]
pub struct LocalCloud {
    store: Arc<LocalStore>,
    counter: CallCounter,
}

impl LocalCloud {
    /// The local cloud kept in `dir` (created when missing).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self::new(Arc::new(LocalStore::open(dir)?)))
    }

    /// Over an open store (shared with the S3 endpoint and the runtime).
    pub fn new(store: Arc<LocalStore>) -> Self {
        Self {
            store,
            counter: CallCounter::default(),
        }
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    pub fn context_now() -> Context {
        Context {
            account: LOCAL_ACCOUNT.to_owned(),
            region: LOCAL_REGION.to_owned(),
        }
    }

    fn record(&self, op: &str) {
        self.counter.record(op);
    }

    fn get<R: Stored>(&self, name: &str) -> Result<Option<R>> {
        Ok(self.store.get::<R::Record>(name)?.map(R::from_record))
    }

    fn put<R: Stored>(&self, r: &R) -> Result<()> {
        Ok(self.store.put(&r.to_record())?)
    }

    fn remove<R: Stored>(&self, name: &str) -> Result<()> {
        self.store.remove::<R::Record>(name)?;
        Ok(())
    }

    /// Creating over an existing resource: ours (same owner tag) is
    /// replaced, anyone else's is a conflict, as `BucketAlreadyOwnedByYou`
    /// and `EntityAlreadyExists` are on AWS.
    fn check_not_foreign<R: Stored>(
        &self,
        name: &str,
        desired_tags: &Tags,
        what: &str,
        tags_of: fn(&R) -> &Tags,
    ) -> Result<()> {
        if let Some(live) = self.get::<R>(name)? {
            let want = desired_tags.get(OWNER_TAG);
            if want.is_none() || tags_of(&live).get(OWNER_TAG) != want {
                return Err(ProviderError::Conflict {
                    resource: format!("{what} {name}"),
                    message: format!(
                        "it already exists in the local cloud without the tag {OWNER_TAG}={}; \
                         it is not changed (delete {}, or take it over with --adopt)",
                        want.map_or("?", String::as_str),
                        self.store.resource_path(R::Record::KIND, name).display()
                    ),
                });
            }
        }
        Ok(())
    }

    fn list_owned_of<R: Stored>(
        &self,
        stack: &str,
        known: &BTreeSet<String>,
        tags_of: fn(&R) -> &Tags,
    ) -> Result<Vec<R>> {
        Ok(self
            .store
            .list::<R::Record>()?
            .into_iter()
            .filter(|r| !known.contains(&r.record_name()))
            .map(R::from_record)
            .filter(|r| tags_of(r).get(OWNER_TAG).is_some_and(|s| s == stack))
            .collect())
    }

    /// The role a function's `role_arn` names must exist (Lambda: "The role
    /// defined for the function cannot be assumed by Lambda").
    fn check_role(&self, f: &Function, operation: &str) -> Result<()> {
        let role = f.role_arn.rsplit('/').next().unwrap_or_default();
        let account_ok = f
            .role_arn
            .strip_prefix("arn:aws:iam::")
            .is_some_and(|r| r.starts_with(&format!("{LOCAL_ACCOUNT}:role/")));
        if !account_ok || !self.store.exists(iam::Role::KIND, role) {
            return Err(api(
                format!("function {}", f.name),
                operation,
                "InvalidParameterValueException",
                format!(
                    "The role defined for the function cannot be assumed by Lambda ({} does not \
                     exist in the local cloud)",
                    f.role_arn
                ),
            ));
        }
        Ok(())
    }

    /// Copies the function's package in (off the async threads); returns
    /// its CodeSha256.
    async fn install_package(&self, f: &Function, operation: &str) -> Result<String> {
        let Some(zip) = f.package.clone() else {
            return Err(api(
                format!("function {}", f.name),
                operation,
                "InvalidParameterValueException",
                "no package to deploy: `stackctl up` builds the function's package first",
            ));
        };
        let (store, name) = (self.store.clone(), f.name.clone());
        tokio::task::spawn_blocking(move || store.install_package(&name, &zip))
            .await
            .map_err(|e| ProviderError::Other(format!("installing a package: {e}")))?
            .map_err(ProviderError::from)
    }
}

impl Cloud for LocalCloud {
    type Lock = lock::LocalLock;

    async fn lock_store(&self, stack: &str) -> Result<lock::LocalLock> {
        Ok(lock::LocalLock::new(self.store.root(), stack))
    }

    async fn context(&self) -> Result<Context> {
        Ok(Self::context_now())
    }

    fn stats(&self) -> ApiStats {
        self.counter.snapshot()
    }
}

// ---- buckets ----------------------------------------------------------------

impl ResourceProvider<Bucket> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Bucket>> {
        self.record("GetBucket");
        self.get(name)
    }

    async fn create(&self, desired: &Bucket) -> Result<()> {
        self.record("CreateBucket");
        self.check_not_foreign::<Bucket>(&desired.name, &desired.tags, "bucket", |b| &b.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Bucket,
        desired: &Bucket,
        _changes: &Changes<BucketField>,
    ) -> Result<()> {
        self.record("UpdateBucket");
        self.put(desired)
    }

    /// An empty bucket only, as S3's DeleteBucket: one holding any
    /// version or delete marker is `BucketNotEmpty`, and stays.
    async fn delete(&self, live: &Bucket) -> Result<()> {
        self.record("DeleteBucket");
        let emptied = self.store.with_resources(|s| {
            if !s.bucket_exists(&live.name) {
                return Ok(true);
            }
            if !s.list_object_versions(&live.name, "")?.is_empty() {
                return Ok(false);
            }
            // Its notification goes with it (S3 keeps none for a deleted
            // bucket).
            s.empty_bucket(&live.name)?;
            s.remove::<s3::Notification>(&live.name)?;
            s.remove::<s3::Bucket>(&live.name)?;
            Ok(true)
        })?;
        if emptied {
            Ok(())
        } else {
            Err(bucket_not_empty(&live.name))
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Bucket>> {
        self.record("ListBuckets");
        self.list_owned_of::<Bucket>(stack, known, |b| &b.tags)
    }
}

impl BucketData for LocalCloud {
    async fn contents(&self, bucket: &str) -> Result<BucketContents> {
        self.record("ListObjectVersions");
        if !self.store.bucket_exists(bucket) {
            return Ok(BucketContents::default());
        }
        let mut c = BucketContents::default();
        for v in self.store.list_object_versions(bucket, "")? {
            if v.version.delete_marker {
                c.delete_markers += 1;
            } else {
                c.object_versions += 1;
                c.bytes += v.version.size;
            }
        }
        Ok(c)
    }

    async fn delete_with_data(&self, live: &Bucket) -> Result<()> {
        self.record("DeleteObjects");
        self.store.empty_bucket(&live.name)?;
        ResourceProvider::<Bucket>::delete(self, live).await
    }
}

// ---- roles ------------------------------------------------------------------

impl ResourceProvider<Role> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Role>> {
        self.record("GetRole");
        self.get(name)
    }

    async fn create(&self, desired: &Role) -> Result<()> {
        self.record("CreateRole");
        self.check_not_foreign::<Role>(&desired.name, &desired.tags, "role", |r| &r.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Role,
        desired: &Role,
        _changes: &Changes<RoleField>,
    ) -> Result<()> {
        self.record("UpdateRole");
        self.put(desired)
    }

    async fn delete(&self, live: &Role) -> Result<()> {
        self.record("DeleteRole");
        self.remove::<Role>(&live.name)
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Role>> {
        self.record("ListRoles");
        self.list_owned_of::<Role>(stack, known, |r| &r.tags)
    }
}

// ---- log groups -------------------------------------------------------------

impl ResourceProvider<LogGroup> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<LogGroup>> {
        self.record("GetLogGroup");
        self.get(name)
    }

    async fn create(&self, desired: &LogGroup) -> Result<()> {
        self.record("CreateLogGroup");
        self.check_not_foreign::<LogGroup>(&desired.name, &desired.tags, "log group", |l| &l.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &LogGroup,
        desired: &LogGroup,
        _changes: &Changes<LogGroupField>,
    ) -> Result<()> {
        self.record("UpdateLogGroup");
        self.put(desired)
    }

    async fn delete(&self, live: &LogGroup) -> Result<()> {
        self.record("DeleteLogGroup");
        // CloudWatch deletes a group's events with it.
        self.remove::<LogGroup>(&live.name)?;
        self.store.remove_log_events(&live.name)?;
        Ok(())
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<LogGroup>> {
        self.record("ListLogGroups");
        self.list_owned_of::<LogGroup>(stack, known, |l| &l.tags)
    }
}

// ---- functions --------------------------------------------------------------

impl ResourceProvider<Function> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Function>> {
        self.record("GetFunction");
        self.get(name)
    }

    async fn create(&self, desired: &Function) -> Result<()> {
        self.record("CreateFunction");
        self.check_not_foreign::<Function>(&desired.name, &desired.tags, "function", |f| &f.tags)?;
        self.check_role(desired, "CreateFunction")?;
        let code_sha256 = self.install_package(desired, "CreateFunction").await?;
        let stored = Function {
            code_sha256,
            package: None,
            ..desired.clone()
        };
        self.put(&stored)
    }

    async fn update(
        &self,
        live: &Function,
        desired: &Function,
        changes: &Changes<FunctionField>,
    ) -> Result<()> {
        let code_changed = changes.any(UpdateKind::Code);
        let config_changed = changes.any(UpdateKind::Configuration);
        let mut code_sha256 = live.code_sha256.clone();
        if code_changed {
            self.record("UpdateFunctionCode");
            code_sha256 = self.install_package(desired, "UpdateFunctionCode").await?;
        }
        if config_changed {
            self.record("UpdateFunctionConfiguration");
            self.check_role(desired, "UpdateFunctionConfiguration")?;
        }
        if changes.any(UpdateKind::Tags) {
            self.record("TagResource");
        }
        let stored = Function {
            code_sha256,
            package: None,
            ..desired.clone()
        };
        self.put(&stored)
    }

    async fn delete(&self, live: &Function) -> Result<()> {
        self.record("DeleteFunction");
        // Lambda deletes a function's resource policy with it.
        self.store.with_resources(|s| {
            for p in s.list::<lambda::Permission>()? {
                if p.function == live.name {
                    s.remove::<lambda::Permission>(&p.record_name())?;
                }
            }
            s.remove::<lambda::Function>(&live.name)?;
            s.remove_package(&live.name)
        })?;
        Ok(())
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Function>> {
        self.record("ListFunctions");
        self.list_owned_of::<Function>(stack, known, |f| &f.tags)
    }
}

// ---- rules ------------------------------------------------------------------

impl LocalCloud {
    fn check_pattern(&self, rule: &Rule, operation: &str) -> Result<()> {
        events::EventPattern::parse(&rule.pattern).map_err(|e| {
            api(
                format!("rule {}", rule.name),
                operation,
                "InvalidEventPatternException",
                e.to_string(),
            )
        })?;
        Ok(())
    }
}

impl ResourceProvider<Rule> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Rule>> {
        self.record("DescribeRule");
        self.get(name)
    }

    async fn create(&self, desired: &Rule) -> Result<()> {
        self.record("PutRule");
        self.check_not_foreign::<Rule>(&desired.name, &desired.tags, "rule", |r| &r.tags)?;
        self.check_pattern(desired, "PutRule")?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Rule,
        desired: &Rule,
        _changes: &Changes<RuleField>,
    ) -> Result<()> {
        self.record("UpdateRule");
        self.check_pattern(desired, "PutRule")?;
        self.put(desired)
    }

    async fn delete(&self, live: &Rule) -> Result<()> {
        self.record("DeleteRule");
        self.remove::<Rule>(&live.name)
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Rule>> {
        self.record("ListRules");
        self.list_owned_of::<Rule>(stack, known, |r| &r.tags)
    }
}

// ---- permissions ------------------------------------------------------------

impl LocalCloud {
    fn put_permission(&self, p: &Permission, operation: &str) -> Result<()> {
        let name = Permission::id_name(&p.function, &p.statement_id);
        self.store.with_resources(|s| {
            if !s.exists(lambda::Function::KIND, &p.function) {
                return Ok(Err(api(
                    format!("permission {name}"),
                    operation,
                    "ResourceNotFoundException",
                    format!("Function not found: {}", p.function),
                )));
            }
            s.put(&p.to_record())?;
            Ok(Ok(()))
        })?
    }
}

impl ResourceProvider<Permission> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Permission>> {
        self.record("GetPolicy");
        let Some(p) = self.get::<Permission>(name)? else {
            return Ok(None);
        };
        // A statement of a function that is gone is gone too.
        Ok(self
            .store
            .exists(lambda::Function::KIND, &p.function)
            .then_some(p))
    }

    async fn create(&self, desired: &Permission) -> Result<()> {
        self.record("AddPermission");
        self.put_permission(desired, "AddPermission")
    }

    async fn update(
        &self,
        _live: &Permission,
        desired: &Permission,
        _changes: &Changes<PermissionField>,
    ) -> Result<()> {
        self.record("UpdatePermission");
        self.put_permission(desired, "AddPermission")
    }

    async fn delete(&self, live: &Permission) -> Result<()> {
        self.record("RemovePermission");
        self.remove::<Permission>(&Permission::id_name(&live.function, &live.statement_id))
    }

    async fn list_owned(&self, _stack: &str, _known: &BTreeSet<String>) -> Result<Vec<Permission>> {
        Ok(Vec::new())
    }
}

// ---- notifications ----------------------------------------------------------

impl LocalCloud {
    /// What S3 checks before accepting a notification document: a known
    /// event type, and a destination function whose policy lets
    /// `s3.amazonaws.com` invoke it for this bucket.
    fn check_notification(&self, n: &Notification, operation: &str) -> Result<()> {
        let resource = format!("notification of bucket {}", n.bucket);
        if !self.store.bucket_exists(&n.bucket) {
            return Err(api(
                resource,
                operation,
                "NoSuchBucket",
                "The specified bucket does not exist",
            ));
        }
        let bucket_arn = format!("arn:aws:s3:::{}", n.bucket);
        let permissions = self.store.list::<lambda::Permission>()?;
        for l in &n.lambda {
            if let Some(bad) = l
                .events
                .iter()
                .find(|e| !s3::notify::EVENT_TYPES.contains(&e.as_str()))
            {
                return Err(api(
                    resource,
                    operation,
                    "InvalidArgument",
                    format!("The event is not supported for notifications: {bad}"),
                ));
            }
            let function = lambda::function_name_from_arn(&l.function_arn);
            let permitted = self.store.exists(lambda::Function::KIND, &function)
                && permissions.iter().any(|p| {
                    p.function == function
                        && p.principal == "s3.amazonaws.com"
                        && (p.source_arn.is_empty() || p.source_arn == bucket_arn)
                });
            if !permitted {
                return Err(api(
                    resource,
                    operation,
                    "InvalidArgument",
                    format!(
                        "Unable to validate the following destination configurations: {} \
                         (the function does not exist or does not let s3.amazonaws.com invoke it \
                         for {bucket_arn})",
                        l.function_arn
                    ),
                ));
            }
        }
        Ok(())
    }

    fn put_notification(&self, n: &Notification, operation: &str) -> Result<()> {
        self.check_notification(n, operation)?;
        if n.lambda.is_empty() && !n.eventbridge {
            return self.remove::<Notification>(&n.bucket);
        }
        let mut n = n.clone();
        n.lambda.sort();
        self.put(&n)
    }
}

impl ResourceProvider<Notification> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Notification>> {
        self.record("GetBucketNotificationConfiguration");
        if !self.store.bucket_exists(name) {
            return Ok(None);
        }
        // A bucket without a stored document has an empty one, as on S3.
        let mut n = self.get::<Notification>(name)?.unwrap_or(Notification {
            bucket: name.to_owned(),
            lambda: Vec::new(),
            eventbridge: false,
        });
        n.lambda.sort();
        Ok(Some(n))
    }

    async fn create(&self, desired: &Notification) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.put_notification(desired, "PutBucketNotificationConfiguration")
    }

    async fn update(
        &self,
        _live: &Notification,
        desired: &Notification,
        _changes: &Changes<NotificationField>,
    ) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.put_notification(desired, "PutBucketNotificationConfiguration")
    }

    async fn delete(&self, live: &Notification) -> Result<()> {
        self.record("PutBucketNotificationConfiguration");
        self.remove::<Notification>(&live.bucket)
    }

    async fn list_owned(
        &self,
        _stack: &str,
        _known: &BTreeSet<String>,
    ) -> Result<Vec<Notification>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants stackctl's spec knows the local cloud by are the
    /// local cloud's own.
    #[test]
    fn the_spec_and_the_local_cloud_agree() {
        assert_eq!(crate::spec::LOCAL_REGION, localcloud::REGION);
        assert_eq!(crate::spec::S3_EVENT_TYPES, s3::notify::EVENT_TYPES);
        assert_eq!(crate::package::BOOTSTRAP, lambda::BOOTSTRAP);
        let zip = b"PK\x05\x06 any bytes";
        assert_eq!(crate::package::code_sha256(zip), lambda::code_sha256(zip));
    }
}
