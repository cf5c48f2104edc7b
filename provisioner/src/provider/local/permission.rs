//! Lambda permissions: statements of a function that exists.

use std::collections::BTreeSet;

use super::*;

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
