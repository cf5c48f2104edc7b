//! Lambda functions. Code is uploaded only when CodeSha256 differs, the
//! configuration only when one of its fields does. Lambda refuses calls
//! while a function is being created or updated, and refuses a role IAM
//! has not propagated yet: both are retried with backoff up to a deadline;
//! validation and access errors fail at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, Runtime,
    State,
};
use aws_smithy_types::Blob;

use super::{AwsCloud, Service, api_error, is_code, is_not_ready, not_ready, tag_changes, tag_map};
use crate::model::{
    Changes, Function, FunctionField, OWNER_TAG, ResourceKind as _, Tags, UpdateKind,
};
use crate::provider::{Cloud, ErrorKind, ProviderError, ResourceProvider, Result};

fn res(name: &str) -> String {
    format!("function {name}")
}

fn already_exists(e: &ProviderError) -> bool {
    e.kind() == ErrorKind::Conflict && e.code() == Some("ResourceConflictException")
}

/// Whether a function is ready for the next call; an error when it failed.
fn ready(name: &str, c: &FunctionConfiguration) -> Result<bool> {
    if let Some(State::Failed) = c.state() {
        return Err(ProviderError::Other(format!(
            "function {name}: Lambda could not create it: {}",
            c.state_reason().unwrap_or("no reason given")
        )));
    }
    if let Some(LastUpdateStatus::Failed) = c.last_update_status() {
        return Err(ProviderError::Other(format!(
            "function {name}: the last update failed: {}",
            c.last_update_status_reason().unwrap_or("no reason given")
        )));
    }
    let active = c.state().is_none_or(|s| *s == State::Active);
    let updated = c
        .last_update_status()
        .is_none_or(|s| *s == LastUpdateStatus::Successful);
    Ok(active && updated)
}

fn environment(vars: &BTreeMap<String, String>) -> Environment {
    Environment::builder()
        .set_variables(Some(
            vars.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ))
        .build()
}

fn to_model(
    name: &str,
    c: &FunctionConfiguration,
    tags: Option<&HashMap<String, String>>,
) -> Function {
    Function {
        name: name.to_owned(),
        role_arn: c.role().unwrap_or_default().to_owned(),
        runtime: c
            .runtime()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_owned(),
        architecture: c
            .architectures()
            .first()
            .map_or("x86_64", Architecture::as_str)
            .to_owned(),
        memory_mb: c
            .memory_size()
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or_default(),
        timeout_s: c
            .timeout()
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or_default(),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        code_sha256: c.code_sha256().unwrap_or_default().to_owned(),
        tags: tags
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Tags>()
            })
            .unwrap_or_default(),
        package: None,
    }
}

impl AwsCloud {
    async fn package_bytes(&self, f: &Function) -> Result<Vec<u8>> {
        let path = f.package.as_ref().ok_or_else(|| {
            ProviderError::Other(format!("function {}: no package was built for it", f.name))
        })?;
        tokio::fs::read(path).await.map_err(|e| {
            ProviderError::Other(format!(
                "function {}: reading {}: {e}",
                f.name,
                path.display()
            ))
        })
    }

    /// Polls until the function is Active and its last update Successful.
    async fn wait_ready(&self, name: &str) -> Result<()> {
        let poll = || async {
            let c = self
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| {
                    api_error(Service::Lambda, "GetFunctionConfiguration", &res(name), e)
                })?;
            let c = to_configuration(c);
            if ready(name, &c)? {
                Ok(())
            } else {
                Err(not_ready(
                    res(name),
                    format!(
                        "state {}, last update {}",
                        c.state().map_or("?", State::as_str),
                        c.last_update_status().map_or("?", LastUpdateStatus::as_str)
                    ),
                ))
            }
        };
        self.options
            .function_wait
            .run(poll, is_not_ready)
            .await
            .map_err(|e| match e {
                ProviderError::NotReady { resource, message } => ProviderError::NotReady {
                    resource,
                    message: format!(
                        "not ready after {:?} ({message})",
                        self.options.function_wait.deadline
                    ),
                },
                e => e,
            })
    }

    /// Waits only when the answer to the last call says the function is
    /// still busy.
    async fn settle(&self, name: &str, c: &FunctionConfiguration) -> Result<()> {
        if ready(name, c)? {
            Ok(())
        } else {
            self.wait_ready(name).await
        }
    }

    async fn update_code(&self, desired: &Function) -> Result<()> {
        let name = desired.name.as_str();
        let zip = self.package_bytes(desired).await?;
        let call = || async {
            self.lambda
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(zip.clone()))
                .architectures(Architecture::from(desired.architecture.as_str()))
                .send()
                .await
                .map_err(|e| api_error(Service::Lambda, "UpdateFunctionCode", &res(name), e))
        };
        let out = self.options.lambda_retry.run(call, is_not_ready).await?;
        self.settle(name, &to_configuration(out)).await
    }

    async fn update_configuration(&self, desired: &Function) -> Result<()> {
        let name = desired.name.as_str();
        let call = || async {
            self.lambda
                .update_function_configuration()
                .function_name(name)
                .role(&desired.role_arn)
                .runtime(Runtime::from(desired.runtime.as_str()))
                .handler(&desired.handler)
                .memory_size(i32::try_from(desired.memory_mb).unwrap_or(i32::MAX))
                .timeout(i32::try_from(desired.timeout_s).unwrap_or(i32::MAX))
                .environment(environment(&desired.environment))
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        Service::Lambda,
                        "UpdateFunctionConfiguration",
                        &res(name),
                        e,
                    )
                })
        };
        let out = self.options.lambda_retry.run(call, is_not_ready).await?;
        self.settle(name, &to_configuration(out)).await
    }

    async fn set_function_tags(&self, name: &str, live: &Tags, desired: &Tags) -> Result<()> {
        let arn = self.context().await?.function_arn(name);
        let (set, remove) = tag_changes(live, desired);
        if !set.is_empty() {
            self.lambda
                .tag_resource()
                .resource(&arn)
                .set_tags(Some(tag_map(&set)))
                .send()
                .await
                .map_err(|e| api_error(Service::Lambda, "TagResource", &res(name), e))?;
        }
        if !remove.is_empty() {
            self.lambda
                .untag_resource()
                .resource(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| api_error(Service::Lambda, "UntagResource", &res(name), e))?;
        }
        Ok(())
    }
}

/// The configuration part of an Update*/Create* answer.
macro_rules! configuration_of {
    ($($out:ty),*) => {
        $(impl From<$out> for Configured {
            fn from(o: $out) -> Self {
                Configured(
                    FunctionConfiguration::builder()
                        .set_state(o.state().cloned())
                        .set_state_reason(o.state_reason().map(str::to_owned))
                        .set_last_update_status(o.last_update_status().cloned())
                        .set_last_update_status_reason(o.last_update_status_reason().map(str::to_owned))
                        .build(),
                )
            }
        })*
    };
}

struct Configured(FunctionConfiguration);

configuration_of!(
    aws_sdk_lambda::operation::create_function::CreateFunctionOutput,
    aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput,
    aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput,
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput
);

fn to_configuration(o: impl Into<Configured>) -> FunctionConfiguration {
    o.into().0
}

impl ResourceProvider<Function> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Function>> {
        match self.lambda.get_function().function_name(name).send().await {
            Ok(out) => Ok(out.configuration().map(|c| to_model(name, c, out.tags()))),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(api_error(Service::Lambda, "GetFunction", &res(name), e)),
        }
    }

    async fn create(&self, desired: &Function) -> Result<()> {
        let name = desired.name.as_str();
        let zip = self.package_bytes(desired).await?;
        let call = || async {
            let mut request = self
                .lambda
                .create_function()
                .function_name(name)
                .role(&desired.role_arn)
                .runtime(Runtime::from(desired.runtime.as_str()))
                .handler(&desired.handler)
                .architectures(Architecture::from(desired.architecture.as_str()))
                .memory_size(i32::try_from(desired.memory_mb).unwrap_or(i32::MAX))
                .timeout(i32::try_from(desired.timeout_s).unwrap_or(i32::MAX))
                .environment(environment(&desired.environment))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(zip.clone()))
                        .build(),
                );
            if !desired.tags.is_empty() {
                request = request.set_tags(Some(tag_map(&desired.tags)));
            }
            request
                .send()
                .await
                .map_err(|e| api_error(Service::Lambda, "CreateFunction", &res(name), e))
        };
        match self.options.lambda_retry.run(call, is_not_ready).await {
            Ok(out) => self.settle(name, &to_configuration(out)).await,
            Err(e) if already_exists(&e) => {
                // Created meanwhile: converge it if it is ours.
                let live = ResourceProvider::<Function>::read(self, name).await?;
                let want = desired.tags.get(OWNER_TAG);
                match live {
                    Some(live) if want.is_some() && live.tags.get(OWNER_TAG) == want => {
                        let changes = live.changes_to(desired);
                        self.update(&live, desired, &changes).await
                    }
                    _ => Err(ProviderError::Conflict {
                        resource: res(name),
                        message: format!(
                            "the function already exists without the tag {OWNER_TAG}={}; it is not changed",
                            want.map_or("?", String::as_str)
                        ),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update(
        &self,
        live: &Function,
        desired: &Function,
        changes: &Changes<FunctionField>,
    ) -> Result<()> {
        // The architecture goes with the code in UpdateFunctionCode.
        if changes.any(UpdateKind::Code) {
            self.update_code(desired).await?;
        }
        if changes.any(UpdateKind::Configuration) {
            self.update_configuration(desired).await?;
        }
        if changes.contains(FunctionField::Tags) {
            self.set_function_tags(&desired.name, &live.tags, &desired.tags)
                .await?;
        }
        Ok(())
    }

    async fn delete(&self, live: &Function) -> Result<()> {
        let name = live.name.as_str();
        let call = || async {
            match self
                .lambda
                .delete_function()
                .function_name(name)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
                Err(e) => Err(api_error(Service::Lambda, "DeleteFunction", &res(name), e)),
            }
        };
        self.options.lambda_retry.run(call, is_not_ready).await
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Function>> {
        let prefix = format!("{stack}-");
        let mut candidates = Vec::new();
        let mut pages = self.lambda.list_functions().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| api_error(Service::Lambda, "ListFunctions", "functions", e))?;
            candidates.extend(
                page.functions()
                    .iter()
                    .filter_map(|f| f.function_name())
                    .filter(|n| n.starts_with(&prefix) && !known.contains(*n))
                    .map(str::to_owned),
            );
        }
        let mut owned = Vec::new();
        for name in candidates {
            if let Some(f) = ResourceProvider::<Function>::read(self, &name).await?
                && f.tags.get(OWNER_TAG).is_some_and(|s| s == stack)
            {
                owned.push(f);
            }
        }
        Ok(owned)
    }
}
