//! IAM roles.

use std::collections::BTreeSet;

use super::*;

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
