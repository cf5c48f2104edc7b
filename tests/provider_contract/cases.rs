//! Per kind: a valid other value for every field. The values are ones AWS
//! accepts (and so moto and the local cloud), so the same variant runs on
//! every target.

use stackctl::model::*;

use super::suite::{Aux, Case};

fn with_extra_tag(tags: &Tags) -> Tags {
    let mut t = tags.clone();
    t.insert("contract".into(), "extra".into());
    t
}

fn owned(tags: &Tags, owner: &str) -> Tags {
    let mut t = tags.clone();
    t.insert(OWNER_TAG.into(), owner.into());
    t
}

impl Case for Bucket {
    fn vary(&self, field: BucketField, _: &Aux) -> Self {
        let mut b = self.clone();
        match field {
            BucketField::Versioning => b.versioning = !b.versioning,
            BucketField::PublicAccessBlock => b.public_access_block = !b.public_access_block,
            BucketField::Encryption => {
                b.encryption = Some(
                    if b.encryption.as_deref() == Some("aws:kms") {
                        "AES256"
                    } else {
                        "aws:kms"
                    }
                    .into(),
                );
            }
            BucketField::Policy => {
                b.policy = match b.policy {
                    Some(_) => None,
                    None => Some(Bucket::tls_only_policy(&b.name)),
                };
            }
            BucketField::Tags => b.tags = with_extra_tag(&b.tags),
        }
        b
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Bucket {
            name: name.into(),
            policy: self.policy.as_ref().map(|_| Bucket::tls_only_policy(name)),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Role {
    fn vary(&self, field: RoleField, _: &Aux) -> Self {
        let mut r = self.clone();
        match field {
            RoleField::TrustPolicy => {
                r.trust_policy = canonical_json(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","edgelambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#,
                );
            }
            RoleField::Policy => {
                r.policy = Some(canonical_json(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogStream","Resource":"*"}]}"#,
                ));
            }
            RoleField::Tags => r.tags = with_extra_tag(&r.tags),
        }
        r
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Role {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for LogGroup {
    fn vary(&self, field: LogGroupField, _: &Aux) -> Self {
        let mut l = self.clone();
        match field {
            LogGroupField::RetentionDays => {
                l.retention_days = Some(if l.retention_days == Some(30) { 60 } else { 30 });
            }
            LogGroupField::Tags => l.tags = with_extra_tag(&l.tags),
        }
        l
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(LogGroup {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Function {
    fn vary(&self, field: FunctionField, aux: &Aux) -> Self {
        let mut f = self.clone();
        match field {
            FunctionField::CodeSha256 => {
                f.code_sha256 = aux.v2_sha256.clone();
                f.package = Some(aux.v2_zip.clone());
            }
            FunctionField::Role => {
                // Another role of the stack: it exists, as Lambda requires.
                f.role_arn = aux
                    .desired
                    .iter()
                    .filter_map(Role::from_resource)
                    .map(|r| format!("arn:aws:iam::{}:role/{}", aux.account, r.name))
                    .find(|arn| *arn != f.role_arn)
                    .expect("the stack has another role");
            }
            FunctionField::Runtime => {
                f.runtime = if f.runtime == "provided.al2" {
                    "provided.al2023"
                } else {
                    "provided.al2"
                }
                .into();
            }
            FunctionField::Handler => f.handler = format!("{}.other", f.handler),
            FunctionField::Architecture => {
                f.architecture = if f.architecture == "arm64" {
                    "x86_64"
                } else {
                    "arm64"
                }
                .into();
            }
            FunctionField::MemoryMb => f.memory_mb += 128,
            FunctionField::TimeoutS => f.timeout_s += 7,
            FunctionField::Environment => {
                f.environment.insert("CONTRACT".into(), "1".into());
            }
            FunctionField::Tags => f.tags = with_extra_tag(&f.tags),
        }
        f
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Function {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Rule {
    fn vary(&self, field: RuleField, _: &Aux) -> Self {
        let mut r = self.clone();
        match field {
            RuleField::Pattern => {
                r.pattern =
                    canonical_json(r#"{"source":["aws.s3"],"detail-type":["Object Deleted"]}"#);
            }
            // A rule whose target was removed.
            RuleField::Target => r.target_arn = None,
            RuleField::Tags => r.tags = with_extra_tag(&r.tags),
        }
        r
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Rule {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Permission {
    fn vary(&self, field: PermissionField, aux: &Aux) -> Self {
        let mut p = self.clone();
        match field {
            PermissionField::Principal => {
                p.principal = if p.principal == "s3.amazonaws.com" {
                    "events.amazonaws.com"
                } else {
                    "s3.amazonaws.com"
                }
                .into();
            }
            PermissionField::SourceArn => p.source_arn = "arn:aws:s3:::someone-elses-bucket".into(),
            PermissionField::SourceAccount => {
                p.source_account = match p.source_account {
                    Some(_) => None,
                    None => Some(aux.account.clone()),
                };
            }
        }
        p
    }

    fn renamed(&self, _: &str, _: &str) -> Option<Self> {
        None
    }
}

impl Case for Notification {
    /// The raw bucket's: the one with a function destination.
    fn pick(desired: &[Resource]) -> Self {
        desired
            .iter()
            .filter_map(Notification::from_resource)
            .find(|n| !n.lambda.is_empty())
            .cloned()
            .expect("the raw bucket's notification")
    }

    fn vary(&self, field: NotificationField, _: &Aux) -> Self {
        let mut n = self.clone();
        match field {
            NotificationField::Lambda => {
                for l in &mut n.lambda {
                    l.prefix = Some("elsewhere/".into());
                }
            }
            NotificationField::Eventbridge => n.eventbridge = !n.eventbridge,
        }
        n
    }

    /// With its bucket there, a notification is never absent: it is empty.
    fn absent(read: &Option<Self>) -> bool {
        read.as_ref()
            .is_none_or(|n| n.lambda.is_empty() && !n.eventbridge)
    }

    fn renamed(&self, _: &str, _: &str) -> Option<Self> {
        None
    }
}

impl Case for Database {
    fn vary(&self, field: DatabaseField, _: &Aux) -> Self {
        let mut d = self.clone();
        match field {
            DatabaseField::Description => {
                d.description = Some(format!("{} (changed)", d.description.unwrap_or_default()));
            }
            DatabaseField::Tags => d.tags = with_extra_tag(&d.tags),
        }
        d
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Database {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Table {
    fn vary(&self, field: TableField, _: &Aux) -> Self {
        let mut t = self.clone();
        match field {
            TableField::Location => t.location = format!("{}elsewhere/", t.location),
            TableField::Columns => t.columns.push(Column {
                name: "contract_extra".into(),
                ty: "bigint".into(),
            }),
            TableField::Format => {
                t.format
                    .parameters
                    .insert("skip.header.line.count".into(), "0".into());
            }
            // A table's only tag is its owner mark (a table parameter: Glue
            // tables take no tags), so the variant is another owner.
            TableField::Tags => t.tags = owned(&t.tags, "someone-else"),
        }
        t
    }

    /// `name` is `database.table`.
    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        let (database, table) = name.split_once('.').expect("database.table");
        Some(Table {
            database: database.into(),
            name: table.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}

impl Case for Workgroup {
    fn vary(&self, field: WorkgroupField, _: &Aux) -> Self {
        let mut w = self.clone();
        match field {
            WorkgroupField::OutputLocation => {
                w.output_location = w.output_location.map(|l| format!("{l}elsewhere/"));
            }
            WorkgroupField::Encryption => {
                w.encryption = match w.encryption {
                    Some(_) => None,
                    None => Some("SSE_S3".into()),
                };
            }
            WorkgroupField::EnforceConfiguration => {
                w.enforce_configuration = !w.enforce_configuration;
            }
            WorkgroupField::Tags => w.tags = with_extra_tag(&w.tags),
        }
        w
    }

    fn renamed(&self, name: &str, owner: &str) -> Option<Self> {
        Some(Workgroup {
            name: name.into(),
            tags: owned(&self.tags, owner),
            ..self.clone()
        })
    }
}
