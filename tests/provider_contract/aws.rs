//! The contract on the AWS target, against moto's server: real HTTP, the
//! real SDK. Each test has its own stack name on the binary's shared moto
//! server, so tests run in parallel without seeing each other.
//!
//! Drift is made with the raw SDK, one call per field, as a person with the
//! console or the aws CLI would make it.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_lambda::primitives::Blob;
use stackctl::desired::desired;
use stackctl::model::*;
use stackctl::provider::aws::{AwsClients, AwsCloud, AwsOptions};
use stackctl::provider::{Cloud, ResourceProvider};

use super::suite::{Aux, Case, Target, contract};
use crate::{moto, packages};

/// The stackctl-managed inline policy of a role (provider/aws/role.rs).
const INLINE_POLICY: &str = "stackctl-access";

pub struct Moto {
    cloud: Arc<AwsCloud>,
    raw: AwsClients,
    ctx: Context,
    stack: String,
    desired: Vec<Resource>,
    aux: Aux,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// The repo's stack.yaml as stack `stack`, in us-east-1.
    pub async fn new(moto: &moto::Moto, stack: &str) -> Moto {
        let config = moto.sdk_config("us-east-1");
        let cloud = Arc::new(AwsCloud::new(&config, AwsOptions::fast()));
        let raw = AwsClients::new(&config);
        let ctx = cloud.context().await.expect("context");
        let spec = packages::repo_stack(stack);
        let dir = tempfile::tempdir().expect("tempdir");
        let packages = packages::tiny_packages(&spec, dir.path());
        let desired = desired(&spec, &ctx, &packages);
        let aux = Aux::new(&ctx.account, &desired, dir.path());
        Moto {
            cloud,
            raw,
            ctx,
            stack: stack.to_owned(),
            desired,
            aux,
            _dir: dir,
        }
    }
}

/// Tags to set and keys to remove to go from `from` to `to`.
fn tag_delta(from: &Tags, to: &Tags) -> (Vec<(String, String)>, Vec<String>) {
    let set = to
        .iter()
        .filter(|(k, v)| from.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = from
        .keys()
        .filter(|k| !to.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

fn zip_of(f: &Function) -> Blob {
    let path = f.package.as_ref().expect("a package");
    Blob::new(std::fs::read(path).expect("read the package"))
}

impl Moto {
    async fn drift_bucket(&self, live: &Bucket, d: &Bucket) {
        use aws_sdk_s3::types::*;
        let (s3, name) = (&self.raw.s3, d.name.as_str());
        for field in live.changes_to(d).iter() {
            match field {
                BucketField::Versioning => {
                    let status = if d.versioning {
                        BucketVersioningStatus::Enabled
                    } else {
                        BucketVersioningStatus::Suspended
                    };
                    s3.put_bucket_versioning()
                        .bucket(name)
                        .versioning_configuration(
                            VersioningConfiguration::builder().status(status).build(),
                        )
                        .send()
                        .await
                        .expect("PutBucketVersioning");
                }
                BucketField::PublicAccessBlock if d.public_access_block => {
                    s3.put_public_access_block()
                        .bucket(name)
                        .public_access_block_configuration(
                            PublicAccessBlockConfiguration::builder()
                                .block_public_acls(true)
                                .ignore_public_acls(true)
                                .block_public_policy(true)
                                .restrict_public_buckets(true)
                                .build(),
                        )
                        .send()
                        .await
                        .expect("PutPublicAccessBlock");
                }
                BucketField::PublicAccessBlock => {
                    s3.delete_public_access_block()
                        .bucket(name)
                        .send()
                        .await
                        .expect("DeletePublicAccessBlock");
                }
                BucketField::Encryption => match &d.encryption {
                    Some(algorithm) => {
                        let by_default = ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::from(algorithm.as_str()))
                            .build()
                            .expect("encryption");
                        let config = ServerSideEncryptionConfiguration::builder()
                            .rules(
                                ServerSideEncryptionRule::builder()
                                    .apply_server_side_encryption_by_default(by_default)
                                    .build(),
                            )
                            .build()
                            .expect("configuration");
                        s3.put_bucket_encryption()
                            .bucket(name)
                            .server_side_encryption_configuration(config)
                            .send()
                            .await
                            .expect("PutBucketEncryption");
                    }
                    None => {
                        s3.delete_bucket_encryption()
                            .bucket(name)
                            .send()
                            .await
                            .expect("DeleteBucketEncryption");
                    }
                },
                BucketField::Policy => match &d.policy {
                    Some(policy) => {
                        s3.put_bucket_policy()
                            .bucket(name)
                            .policy(policy)
                            .send()
                            .await
                            .expect("PutBucketPolicy");
                    }
                    None => {
                        s3.delete_bucket_policy()
                            .bucket(name)
                            .send()
                            .await
                            .expect("DeleteBucketPolicy");
                    }
                },
                BucketField::Tags => {
                    let tags = d
                        .tags
                        .iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("tag"))
                        .collect();
                    s3.put_bucket_tagging()
                        .bucket(name)
                        .tagging(
                            Tagging::builder()
                                .set_tag_set(Some(tags))
                                .build()
                                .expect("tagging"),
                        )
                        .send()
                        .await
                        .expect("PutBucketTagging");
                }
            }
        }
    }

    async fn drift_role(&self, live: &Role, d: &Role) {
        let (iam, name) = (&self.raw.iam, d.name.as_str());
        for field in live.changes_to(d).iter() {
            match field {
                RoleField::TrustPolicy => {
                    iam.update_assume_role_policy()
                        .role_name(name)
                        .policy_document(&d.trust_policy)
                        .send()
                        .await
                        .expect("UpdateAssumeRolePolicy");
                }
                RoleField::Policy => match &d.policy {
                    Some(policy) => {
                        iam.put_role_policy()
                            .role_name(name)
                            .policy_name(INLINE_POLICY)
                            .policy_document(policy)
                            .send()
                            .await
                            .expect("PutRolePolicy");
                    }
                    None => {
                        iam.delete_role_policy()
                            .role_name(name)
                            .policy_name(INLINE_POLICY)
                            .send()
                            .await
                            .expect("DeleteRolePolicy");
                    }
                },
                RoleField::Tags => {
                    let (set, remove) = tag_delta(&live.tags, &d.tags);
                    if !set.is_empty() {
                        let tags = set
                            .into_iter()
                            .map(|(k, v)| {
                                aws_sdk_iam::types::Tag::builder()
                                    .key(k)
                                    .value(v)
                                    .build()
                                    .expect("tag")
                            })
                            .collect();
                        iam.tag_role()
                            .role_name(name)
                            .set_tags(Some(tags))
                            .send()
                            .await
                            .expect("TagRole");
                    }
                    if !remove.is_empty() {
                        iam.untag_role()
                            .role_name(name)
                            .set_tag_keys(Some(remove))
                            .send()
                            .await
                            .expect("UntagRole");
                    }
                }
            }
        }
    }

    async fn drift_log_group(&self, live: &LogGroup, d: &LogGroup) {
        let (logs, name) = (&self.raw.logs, d.name.as_str());
        for field in live.changes_to(d).iter() {
            match field {
                LogGroupField::RetentionDays => match d.retention_days {
                    Some(days) => {
                        logs.put_retention_policy()
                            .log_group_name(name)
                            .retention_in_days(i32::try_from(days).expect("days"))
                            .send()
                            .await
                            .expect("PutRetentionPolicy");
                    }
                    None => {
                        logs.delete_retention_policy()
                            .log_group_name(name)
                            .send()
                            .await
                            .expect("DeleteRetentionPolicy");
                    }
                },
                LogGroupField::Tags => {
                    let arn = self.ctx.log_group_arn(name);
                    let (set, remove) = tag_delta(&live.tags, &d.tags);
                    if !set.is_empty() {
                        logs.tag_resource()
                            .resource_arn(&arn)
                            .set_tags(Some(set.into_iter().collect::<HashMap<_, _>>()))
                            .send()
                            .await
                            .expect("TagResource");
                    }
                    if !remove.is_empty() {
                        logs.untag_resource()
                            .resource_arn(&arn)
                            .set_tag_keys(Some(remove))
                            .send()
                            .await
                            .expect("UntagResource");
                    }
                }
            }
        }
    }

    async fn drift_database(&self, live: &Database, d: &Database) {
        use aws_sdk_glue::types::DatabaseInput;
        let glue = &self.raw.glue;
        for field in live.changes_to(d).iter() {
            match field {
                DatabaseField::Description => {
                    let input = DatabaseInput::builder()
                        .name(&d.name)
                        .set_description(d.description.clone())
                        .build()
                        .unwrap();
                    glue.update_database()
                        .name(&d.name)
                        .database_input(input)
                        .send()
                        .await
                        .expect("UpdateDatabase");
                }
                DatabaseField::Tags => {
                    let arn = self.ctx.database_arn(&d.name);
                    let (set, remove) = tag_delta(&live.tags, &d.tags);
                    if !set.is_empty() {
                        glue.tag_resource()
                            .resource_arn(&arn)
                            .set_tags_to_add(Some(set.into_iter().collect::<HashMap<_, _>>()))
                            .send()
                            .await
                            .expect("TagResource");
                    }
                    if !remove.is_empty() {
                        glue.untag_resource()
                            .resource_arn(&arn)
                            .set_tags_to_remove(Some(remove))
                            .send()
                            .await
                            .expect("UntagResource");
                    }
                }
            }
        }
    }

    /// Glue has one call for a table's definition: UpdateTable, as the
    /// console's "Edit schema" makes it.
    async fn drift_table(&self, d: &Table) {
        use aws_sdk_glue::types::{Column as GlueColumn, SerDeInfo, StorageDescriptor, TableInput};
        let mut parameters: HashMap<String, String> =
            d.format.parameters.clone().into_iter().collect();
        parameters.extend(d.tags.clone());
        let columns = d
            .columns
            .iter()
            .map(|c| {
                GlueColumn::builder()
                    .name(&c.name)
                    .r#type(&c.ty)
                    .build()
                    .unwrap()
            })
            .collect();
        let input = TableInput::builder()
            .name(&d.name)
            .table_type(&d.format.table_type)
            .set_parameters(Some(parameters))
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .location(&d.location)
                    .input_format(&d.format.input_format)
                    .output_format(&d.format.output_format)
                    .serde_info(
                        SerDeInfo::builder()
                            .serialization_library(&d.format.serde)
                            .set_parameters(Some(
                                d.format.serde_parameters.clone().into_iter().collect(),
                            ))
                            .build(),
                    )
                    .build(),
            )
            .build()
            .unwrap();
        self.raw
            .glue
            .update_table()
            .database_name(&d.database)
            .table_input(input)
            .send()
            .await
            .expect("UpdateTable");
    }

    async fn drift_workgroup(&self, live: &Workgroup, d: &Workgroup) {
        use aws_sdk_athena::types::{
            EncryptionConfiguration, EncryptionOption, ResultConfigurationUpdates, Tag,
            WorkGroupConfigurationUpdates,
        };
        let athena = &self.raw.athena;
        let changes = live.changes_to(d);
        if changes.iter().any(|f| f != WorkgroupField::Tags) {
            let mut results = ResultConfigurationUpdates::builder();
            if changes.contains(WorkgroupField::OutputLocation) {
                results = match &d.output_location {
                    Some(l) => results.output_location(l),
                    None => results.remove_output_location(true),
                };
            }
            if changes.contains(WorkgroupField::Encryption) {
                results = match &d.encryption {
                    Some(e) => results.encryption_configuration(
                        EncryptionConfiguration::builder()
                            .encryption_option(EncryptionOption::from(e.as_str()))
                            .build()
                            .unwrap(),
                    ),
                    None => results.remove_encryption_configuration(true),
                };
            }
            let mut updates = WorkGroupConfigurationUpdates::builder()
                .result_configuration_updates(results.build());
            if changes.contains(WorkgroupField::EnforceConfiguration) {
                updates = updates.enforce_work_group_configuration(d.enforce_configuration);
            }
            athena
                .update_work_group()
                .work_group(&d.name)
                .configuration_updates(updates.build())
                .send()
                .await
                .expect("UpdateWorkGroup");
        }
        if changes.contains(WorkgroupField::Tags) {
            let arn = self.ctx.workgroup_arn(&d.name);
            let (set, remove) = tag_delta(&live.tags, &d.tags);
            if !set.is_empty() {
                let tags = set
                    .into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect();
                athena
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .expect("TagResource");
            }
            if !remove.is_empty() {
                athena
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .expect("UntagResource");
            }
        }
    }

    async fn drift_function(&self, live: &Function, d: &Function) {
        use aws_sdk_lambda::types::{Architecture, Environment, Runtime};
        let (lambda, name) = (&self.raw.lambda, d.name.as_str());
        let changes = live.changes_to(d);
        if changes.any(UpdateKind::Code) {
            lambda
                .update_function_code()
                .function_name(name)
                .zip_file(zip_of(d))
                .architectures(Architecture::from(d.architecture.as_str()))
                .send()
                .await
                .expect("UpdateFunctionCode");
        }
        if changes.any(UpdateKind::Configuration) {
            let mut call = lambda.update_function_configuration().function_name(name);
            for field in changes.iter() {
                call = match field {
                    FunctionField::Role => call.role(&d.role_arn),
                    FunctionField::Runtime => call.runtime(Runtime::from(d.runtime.as_str())),
                    FunctionField::Handler => call.handler(&d.handler),
                    FunctionField::MemoryMb => {
                        call.memory_size(i32::try_from(d.memory_mb).expect("memory"))
                    }
                    FunctionField::TimeoutS => {
                        call.timeout(i32::try_from(d.timeout_s).expect("timeout"))
                    }
                    FunctionField::Environment => call.environment(
                        Environment::builder()
                            .set_variables(Some(d.environment.clone().into_iter().collect()))
                            .build(),
                    ),
                    _ => call,
                };
            }
            call.send().await.expect("UpdateFunctionConfiguration");
        }
        if changes.contains(FunctionField::Tags) {
            let arn = self.ctx.function_arn(name);
            let (set, remove) = tag_delta(&live.tags, &d.tags);
            if !set.is_empty() {
                lambda
                    .tag_resource()
                    .resource(&arn)
                    .set_tags(Some(set.into_iter().collect()))
                    .send()
                    .await
                    .expect("TagResource");
            }
            if !remove.is_empty() {
                lambda
                    .untag_resource()
                    .resource(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .expect("UntagResource");
            }
        }
    }

    async fn drift_rule(&self, live: &Rule, d: &Rule) {
        let (events, name) = (&self.raw.events, d.name.as_str());
        for field in live.changes_to(d).iter() {
            match field {
                RuleField::Pattern => {
                    events
                        .put_rule()
                        .name(name)
                        .event_pattern(&d.pattern)
                        .send()
                        .await
                        .expect("PutRule");
                }
                RuleField::Target => match &d.target_arn {
                    Some(arn) => {
                        let target = aws_sdk_eventbridge::types::Target::builder()
                            .id(&d.target_id)
                            .arn(arn)
                            .build()
                            .expect("target");
                        events
                            .put_targets()
                            .rule(name)
                            .targets(target)
                            .send()
                            .await
                            .expect("PutTargets");
                    }
                    None => {
                        events
                            .remove_targets()
                            .rule(name)
                            .ids(&live.target_id)
                            .send()
                            .await
                            .expect("RemoveTargets");
                    }
                },
                RuleField::Tags => {
                    let arn = self.ctx.rule_arn(name);
                    let (set, remove) = tag_delta(&live.tags, &d.tags);
                    if !set.is_empty() {
                        let tags = set
                            .into_iter()
                            .map(|(k, v)| {
                                aws_sdk_eventbridge::types::Tag::builder()
                                    .key(k)
                                    .value(v)
                                    .build()
                                    .expect("tag")
                            })
                            .collect();
                        events
                            .tag_resource()
                            .resource_arn(&arn)
                            .set_tags(Some(tags))
                            .send()
                            .await
                            .expect("TagResource");
                    }
                    if !remove.is_empty() {
                        events
                            .untag_resource()
                            .resource_arn(&arn)
                            .set_tag_keys(Some(remove))
                            .send()
                            .await
                            .expect("UntagResource");
                    }
                }
            }
        }
    }

    /// A statement cannot be edited in place: removed and added again.
    async fn drift_permission(&self, live: &Permission, d: &Permission) {
        let lambda = &self.raw.lambda;
        lambda
            .remove_permission()
            .function_name(&live.function)
            .statement_id(&live.statement_id)
            .send()
            .await
            .expect("RemovePermission");
        lambda
            .add_permission()
            .function_name(&d.function)
            .statement_id(&d.statement_id)
            .action("lambda:InvokeFunction")
            .principal(&d.principal)
            .source_arn(&d.source_arn)
            .set_source_account(d.source_account.clone())
            .send()
            .await
            .expect("AddPermission");
    }

    /// The bucket's whole notification document, written as `d`.
    async fn drift_notification(&self, d: &Notification) {
        use aws_sdk_s3::types::*;
        let lambda = d
            .lambda
            .iter()
            .map(|l| {
                let mut rules = Vec::new();
                if let Some(p) = &l.prefix {
                    rules.push(
                        FilterRule::builder()
                            .name(FilterRuleName::Prefix)
                            .value(p)
                            .build(),
                    );
                }
                if let Some(s) = &l.suffix {
                    rules.push(
                        FilterRule::builder()
                            .name(FilterRuleName::Suffix)
                            .value(s)
                            .build(),
                    );
                }
                LambdaFunctionConfiguration::builder()
                    .id(&l.id)
                    .lambda_function_arn(&l.function_arn)
                    .set_events(Some(
                        l.events.iter().map(|e| Event::from(e.as_str())).collect(),
                    ))
                    .filter(
                        NotificationConfigurationFilter::builder()
                            .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                            .build(),
                    )
                    .build()
                    .expect("lambda configuration")
            })
            .collect();
        let mut config =
            NotificationConfiguration::builder().set_lambda_function_configurations(Some(lambda));
        if d.eventbridge {
            config = config.event_bridge_configuration(EventBridgeConfiguration::builder().build());
        }
        self.raw
            .s3
            .put_bucket_notification_configuration()
            .bucket(&d.bucket)
            .notification_configuration(config.build())
            .send()
            .await
            .expect("PutBucketNotificationConfiguration");
    }
}

impl Target for Moto {
    type Cloud = AwsCloud;

    fn cloud(&self) -> &AwsCloud {
        &self.cloud
    }

    fn stack(&self) -> &str {
        &self.stack
    }

    fn desired(&self) -> &[Resource] {
        &self.desired
    }

    fn aux(&self) -> &Aux {
        &self.aux
    }

    async fn drift(&self, live: &Resource, drifted: &Resource) {
        match (live, drifted) {
            (Resource::Bucket(l), Resource::Bucket(d)) => self.drift_bucket(l, d).await,
            (Resource::Role(l), Resource::Role(d)) => self.drift_role(l, d).await,
            (Resource::LogGroup(l), Resource::LogGroup(d)) => self.drift_log_group(l, d).await,
            (Resource::Function(l), Resource::Function(d)) => self.drift_function(l, d).await,
            (Resource::Rule(l), Resource::Rule(d)) => self.drift_rule(l, d).await,
            (Resource::Permission(l), Resource::Permission(d)) => {
                self.drift_permission(l, d).await;
            }
            (Resource::Notification(_), Resource::Notification(d)) => {
                self.drift_notification(d).await;
            }
            (Resource::Database(l), Resource::Database(d)) => self.drift_database(l, d).await,
            (Resource::Table(_), Resource::Table(d)) => self.drift_table(d).await,
            (Resource::Workgroup(l), Resource::Workgroup(d)) => self.drift_workgroup(l, d).await,
            (l, d) => panic!("drift from {} to {}", l.id(), d.id()),
        }
    }
}

async fn run<R: Case>(stack: &str)
where
    AwsCloud: ResourceProvider<R>,
{
    let Some(moto) = moto::shared_for(module_path!()) else {
        eprintln!("skipped: moto_server is not installed (STACKCTL_SKIP_MOTO=1)");
        return;
    };
    contract::<Moto, R>(&Moto::new(moto, stack).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket() {
    run::<Bucket>("pc-bucket").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn role() {
    run::<Role>("pc-role").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn log_group() {
    run::<LogGroup>("pc-logs").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn function() {
    run::<Function>("pc-function").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rule() {
    run::<Rule>("pc-rule").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn permission() {
    run::<Permission>("pc-perm").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notification() {
    run::<Notification>("pc-note").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn database() {
    run::<Database>("pc-database").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn table() {
    run::<Table>("pc-table").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn workgroup() {
    run::<Workgroup>("pc-workgroup").await;
}
