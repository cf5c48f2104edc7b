//! IAM roles: trust policy, our one inline policy, tags. No managed policies.

use std::collections::BTreeSet;

use aws_sdk_iam::types::Tag;

use super::{AwsCloud, Service, api_error, decode_policy, is_code, tag_changes};
use crate::model::{Changes, OWNER_TAG, ResourceKind as _, Role, RoleField, Tags, canonical_json};
use crate::provider::{ProviderError, ResourceProvider, Result};

/// The name of the inline policy stackctl manages on each role.
pub const INLINE_POLICY: &str = "stackctl-access";

fn res(name: &str) -> String {
    format!("role {name}")
}

fn iam_tags(name: &str, tags: &Tags) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::Other(format!("role {name}: building tags: {e}")))
}

impl AwsCloud {
    async fn put_inline_policy(&self, name: &str, policy: Option<&str>) -> Result<()> {
        match policy {
            Some(policy) => {
                self.iam
                    .put_role_policy()
                    .role_name(name)
                    .policy_name(INLINE_POLICY)
                    .policy_document(policy)
                    .send()
                    .await
                    .map_err(|e| api_error(Service::Iam, "PutRolePolicy", &res(name), e))?;
            }
            None => match self
                .iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(INLINE_POLICY)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(api_error(Service::Iam, "DeleteRolePolicy", &res(name), e)),
            },
        }
        Ok(())
    }

    async fn set_role_tags(&self, name: &str, live: &Tags, desired: &Tags) -> Result<()> {
        let (set, remove) = tag_changes(live, desired);
        if !set.is_empty() {
            self.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(name, &set)?))
                .send()
                .await
                .map_err(|e| api_error(Service::Iam, "TagRole", &res(name), e))?;
        }
        if !remove.is_empty() {
            self.iam
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| api_error(Service::Iam, "UntagRole", &res(name), e))?;
        }
        Ok(())
    }
}

impl ResourceProvider<Role> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Role>> {
        let (role, policy) = tokio::join!(
            self.iam.get_role().role_name(name).send(),
            self.iam
                .get_role_policy()
                .role_name(name)
                .policy_name(INLINE_POLICY)
                .send(),
        );
        let role = match role {
            Ok(out) => out.role,
            Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(None),
            Err(e) => return Err(api_error(Service::Iam, "GetRole", &res(name), e)),
        };
        let Some(role) = role else { return Ok(None) };
        let policy = match policy {
            Ok(out) => Some(canonical_json(&decode_policy(out.policy_document()))),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => None,
            Err(e) => return Err(api_error(Service::Iam, "GetRolePolicy", &res(name), e)),
        };
        Ok(Some(Role {
            name: name.to_owned(),
            trust_policy: canonical_json(&decode_policy(
                role.assume_role_policy_document().unwrap_or_default(),
            )),
            policy,
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        }))
    }

    async fn create(&self, desired: &Role) -> Result<()> {
        let name = desired.name.as_str();
        let mut request = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(&desired.trust_policy)
            .description("Managed by stackctl");
        if !desired.tags.is_empty() {
            request = request.set_tags(Some(iam_tags(name, &desired.tags)?));
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if is_code(&e, &["EntityAlreadyExists"]) => {
                // Created meanwhile: ours only if it carries our tag.
                let live = ResourceProvider::<Role>::read(self, name).await?;
                let want = desired.tags.get(OWNER_TAG);
                let have = live.as_ref().and_then(|r| r.tags.get(OWNER_TAG));
                if want.is_none() || have != want {
                    return Err(ProviderError::Conflict {
                        resource: res(name),
                        message: format!(
                            "the role already exists without the tag {OWNER_TAG}={}; it is not changed",
                            want.map_or("?", String::as_str)
                        ),
                    });
                }
                if let Some(live) = live {
                    let changes = live.changes_to(desired);
                    return self.update(&live, desired, &changes).await;
                }
            }
            Err(e) => return Err(api_error(Service::Iam, "CreateRole", &res(name), e)),
        }
        self.put_inline_policy(name, desired.policy.as_deref())
            .await
    }

    async fn update(
        &self,
        live: &Role,
        desired: &Role,
        changes: &Changes<RoleField>,
    ) -> Result<()> {
        let name = desired.name.as_str();
        if changes.contains(RoleField::Tags) {
            self.set_role_tags(name, &live.tags, &desired.tags).await?;
        }
        if changes.contains(RoleField::TrustPolicy) {
            self.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&desired.trust_policy)
                .send()
                .await
                .map_err(|e| api_error(Service::Iam, "UpdateAssumeRolePolicy", &res(name), e))?;
        }
        if changes.contains(RoleField::Policy) {
            self.put_inline_policy(name, desired.policy.as_deref())
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, live: &Role) -> Result<()> {
        let name = live.name.as_str();
        // Every inline policy (ours and any added by hand), and any attached
        // managed policy: IAM refuses to delete a role that has some.
        let mut inline = Vec::new();
        let mut pages = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => inline.extend(page.policy_names().iter().cloned()),
                Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(()),
                Err(e) => return Err(api_error(Service::Iam, "ListRolePolicies", &res(name), e)),
            }
        }
        for policy in inline {
            match self
                .iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(api_error(Service::Iam, "DeleteRolePolicy", &res(name), e)),
            }
        }
        let mut attached = Vec::new();
        let mut pages = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => attached.extend(
                    page.attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn())
                        .map(str::to_owned),
                ),
                Err(e) if is_code(&e, &["NoSuchEntity"]) => return Ok(()),
                Err(e) => {
                    return Err(api_error(
                        Service::Iam,
                        "ListAttachedRolePolicies",
                        &res(name),
                        e,
                    ));
                }
            }
        }
        for arn in attached {
            match self
                .iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_code(&e, &["NoSuchEntity"]) => {}
                Err(e) => return Err(api_error(Service::Iam, "DetachRolePolicy", &res(name), e)),
            }
        }
        match self.iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["NoSuchEntity"]) => Ok(()),
            Err(e) => Err(api_error(Service::Iam, "DeleteRole", &res(name), e)),
        }
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Role>> {
        let prefix = format!("{stack}-");
        let mut candidates = Vec::new();
        let mut pages = self.iam.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| api_error(Service::Iam, "ListRoles", "roles", e))?;
            candidates.extend(
                page.roles()
                    .iter()
                    .map(|r| r.role_name())
                    .filter(|n| n.starts_with(&prefix) && !known.contains(*n))
                    .map(str::to_owned),
            );
        }
        let mut owned = Vec::new();
        for name in candidates {
            if let Some(role) = ResourceProvider::<Role>::read(self, &name).await?
                && role.tags.get(OWNER_TAG).is_some_and(|s| s == stack)
            {
                owned.push(role);
            }
        }
        Ok(owned)
    }
}
