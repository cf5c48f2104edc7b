//! EventBridge rules: patterns are checked as EventBridge checks them.

use std::collections::BTreeSet;

use super::*;

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
