//! Lambda resource-policy statements letting S3 or EventBridge invoke a
//! function. Statement ids are fixed, so a re-run is an upsert.

use std::collections::BTreeSet;

use serde_json::Value;

use super::is_not_ready;
use super::{AwsCloud, Service, api_error, is_code};
use crate::model::{Changes, Permission, PermissionField};
use crate::provider::{ProviderError, ResourceProvider, Result};

const ACTION: &str = "lambda:InvokeFunction";

fn res(name: &str) -> String {
    format!("permission {name}")
}

/// Splits "function/statement_id".
fn split(name: &str) -> Result<(&str, &str)> {
    name.split_once('/').ok_or_else(|| {
        ProviderError::Other(format!(
            "permission {name}: expected the form function/statement_id"
        ))
    })
}

/// A condition value, matching operator and key case-insensitively (Lambda
/// writes `AWS:SourceArn`, policies often say `aws:SourceArn`).
fn condition(statement: &Value, operators: &[&str], key: &str) -> Option<String> {
    let conditions = statement.get("Condition")?.as_object()?;
    conditions
        .iter()
        .filter(|(op, _)| operators.iter().any(|o| o.eq_ignore_ascii_case(op)))
        .filter_map(|(_, v)| v.as_object())
        .flat_map(|m| m.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
}

fn principal(statement: &Value) -> String {
    match statement.get("Principal") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .get("Service")
            .or_else(|| m.values().next())
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Finds statement `sid` in a function's resource policy.
pub(crate) fn parse_statement(function: &str, sid: &str, policy: &str) -> Option<Permission> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let statements = match doc.get("Statement")? {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return None,
    };
    let statement = statements
        .iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))?;
    Some(Permission {
        function: function.to_owned(),
        statement_id: sid.to_owned(),
        principal: principal(statement),
        source_arn: condition(statement, &["ArnLike", "ArnEquals"], "AWS:SourceArn")
            .unwrap_or_default(),
        source_account: condition(statement, &["StringEquals"], "AWS:SourceAccount"),
    })
}

impl AwsCloud {
    async fn add_permission(&self, p: &Permission) -> Result<()> {
        let name = Permission::id_name(&p.function, &p.statement_id);
        let call = || async {
            self.lambda
                .add_permission()
                .function_name(&p.function)
                .statement_id(&p.statement_id)
                .action(ACTION)
                .principal(&p.principal)
                .source_arn(&p.source_arn)
                .set_source_account(p.source_account.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| api_error(Service::Lambda, "AddPermission", &res(&name), e))
        };
        self.options.lambda_retry.run(call, is_not_ready).await
    }

    async fn remove_permission(&self, function: &str, sid: &str) -> Result<()> {
        let name = Permission::id_name(function, sid);
        let call = || async {
            match self
                .lambda
                .remove_permission()
                .function_name(function)
                .statement_id(sid)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
                Err(e) => Err(api_error(
                    Service::Lambda,
                    "RemovePermission",
                    &res(&name),
                    e,
                )),
            }
        };
        self.options.lambda_retry.run(call, is_not_ready).await
    }
}

impl ResourceProvider<Permission> for AwsCloud {
    async fn read(&self, name: &str) -> Result<Option<Permission>> {
        let (function, sid) = split(name)?;
        match self
            .lambda
            .get_policy()
            .function_name(function)
            .send()
            .await
        {
            Ok(out) => Ok(out.policy().and_then(|p| parse_statement(function, sid, p))),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(None),
            Err(e) => Err(api_error(Service::Lambda, "GetPolicy", &res(name), e)),
        }
    }

    async fn create(&self, desired: &Permission) -> Result<()> {
        match self.add_permission(desired).await {
            // The statement id is taken (a run that stopped half-way, or a
            // hand edit): it is ours by name, replace it.
            Err(ProviderError::Api { code, message, .. })
                if code == "ResourceConflictException" && message.contains("already exist") =>
            {
                self.remove_permission(&desired.function, &desired.statement_id)
                    .await?;
                self.add_permission(desired).await
            }
            other => other,
        }
    }

    async fn update(
        &self,
        _live: &Permission,
        desired: &Permission,
        _changes: &Changes<PermissionField>,
    ) -> Result<()> {
        self.remove_permission(&desired.function, &desired.statement_id)
            .await?;
        self.create(desired).await
    }

    async fn delete(&self, live: &Permission) -> Result<()> {
        self.remove_permission(&live.function, &live.statement_id)
            .await
    }

    async fn list_owned(&self, _stack: &str, _known: &BTreeSet<String>) -> Result<Vec<Permission>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lambda_policy_statements() {
        let policy = r#"{"Version":"2012-10-17","Id":"default","Statement":[
            {"Sid":"other","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:f"},
            {"Sid":"stackctl-s3-raw","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:f",
             "Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::raw"}}}]}"#;
        let p = parse_statement("f", "stackctl-s3-raw", policy).expect("found");
        assert_eq!(p.principal, "s3.amazonaws.com");
        assert_eq!(p.source_arn, "arn:aws:s3:::raw");
        assert_eq!(p.source_account.as_deref(), Some("123456789012"));
        let other = parse_statement("f", "other", policy).expect("found");
        assert_eq!(other.source_arn, "");
        assert_eq!(other.source_account, None);
        assert!(parse_statement("f", "missing", policy).is_none());
    }
}
