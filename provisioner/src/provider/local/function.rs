//! Lambda functions: the role must exist and the package is installed
//! into the local cloud.

use std::collections::BTreeSet;

use super::*;

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
