//! The planner's model ↔ the local cloud's records, as `provider/aws` maps
//! the model to and from SDK types. Field for field: the records were the
//! model's own JSON before the local cloud became a crate, so a directory
//! written by an older stackctl reads the same.

use localcloud::{events, iam, lambda, logs, s3, store::Record};

use crate::model::{
    Bucket, Function, LambdaNotification, LogGroup, Notification, Permission, Role, Rule,
};

/// A model kind the local cloud keeps as one record.
pub(crate) trait Stored: Sized {
    type Record: Record;
    fn to_record(&self) -> Self::Record;
    fn from_record(r: Self::Record) -> Self;
}

impl Stored for Bucket {
    type Record = s3::Bucket;
    fn to_record(&self) -> s3::Bucket {
        s3::Bucket {
            name: self.name.clone(),
            versioning: self.versioning,
            public_access_block: self.public_access_block,
            encryption: self.encryption.clone(),
            policy: self.policy.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: s3::Bucket) -> Self {
        Bucket {
            name: r.name,
            versioning: r.versioning,
            public_access_block: r.public_access_block,
            encryption: r.encryption,
            policy: r.policy,
            tags: r.tags,
        }
    }
}

impl Stored for Role {
    type Record = iam::Role;
    fn to_record(&self) -> iam::Role {
        iam::Role {
            name: self.name.clone(),
            trust_policy: self.trust_policy.clone(),
            policy: self.policy.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: iam::Role) -> Self {
        Role {
            name: r.name,
            trust_policy: r.trust_policy,
            policy: r.policy,
            tags: r.tags,
        }
    }
}

impl Stored for LogGroup {
    type Record = logs::LogGroup;
    fn to_record(&self) -> logs::LogGroup {
        logs::LogGroup {
            name: self.name.clone(),
            retention_days: self.retention_days,
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: logs::LogGroup) -> Self {
        LogGroup {
            name: r.name,
            retention_days: r.retention_days,
            tags: r.tags,
        }
    }
}

impl Stored for Function {
    type Record = lambda::Function;
    fn to_record(&self) -> lambda::Function {
        lambda::Function {
            name: self.name.clone(),
            role_arn: self.role_arn.clone(),
            runtime: self.runtime.clone(),
            handler: self.handler.clone(),
            architecture: self.architecture.clone(),
            memory_mb: self.memory_mb,
            timeout_s: self.timeout_s,
            environment: self.environment.clone(),
            code_sha256: self.code_sha256.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: lambda::Function) -> Self {
        Function {
            name: r.name,
            role_arn: r.role_arn,
            runtime: r.runtime,
            handler: r.handler,
            architecture: r.architecture,
            memory_mb: r.memory_mb,
            timeout_s: r.timeout_s,
            environment: r.environment,
            code_sha256: r.code_sha256,
            tags: r.tags,
            package: None,
        }
    }
}

impl Stored for Permission {
    type Record = lambda::Permission;
    fn to_record(&self) -> lambda::Permission {
        lambda::Permission {
            function: self.function.clone(),
            statement_id: self.statement_id.clone(),
            principal: self.principal.clone(),
            source_arn: self.source_arn.clone(),
            source_account: self.source_account.clone(),
        }
    }
    fn from_record(r: lambda::Permission) -> Self {
        Permission {
            function: r.function,
            statement_id: r.statement_id,
            principal: r.principal,
            source_arn: r.source_arn,
            source_account: r.source_account,
        }
    }
}

impl Stored for Notification {
    type Record = s3::Notification;
    fn to_record(&self) -> s3::Notification {
        s3::Notification {
            bucket: self.bucket.clone(),
            lambda: self
                .lambda
                .iter()
                .map(|l| s3::LambdaConfiguration {
                    id: l.id.clone(),
                    function_arn: l.function_arn.clone(),
                    events: l.events.clone(),
                    prefix: l.prefix.clone(),
                    suffix: l.suffix.clone(),
                })
                .collect(),
            eventbridge: self.eventbridge,
        }
    }
    fn from_record(r: s3::Notification) -> Self {
        Notification {
            bucket: r.bucket,
            lambda: r
                .lambda
                .into_iter()
                .map(|l| LambdaNotification {
                    id: l.id,
                    function_arn: l.function_arn,
                    events: l.events,
                    prefix: l.prefix,
                    suffix: l.suffix,
                })
                .collect(),
            eventbridge: r.eventbridge,
        }
    }
}

impl Stored for Rule {
    type Record = events::Rule;
    fn to_record(&self) -> events::Rule {
        events::Rule {
            name: self.name.clone(),
            pattern: self.pattern.clone(),
            target_id: self.target_id.clone(),
            target_arn: self.target_arn.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: events::Rule) -> Self {
        Rule {
            name: r.name,
            pattern: r.pattern,
            target_id: r.target_id,
            target_arn: r.target_arn,
            tags: r.tags,
        }
    }
}
