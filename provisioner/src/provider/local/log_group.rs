//! CloudWatch log groups (their events go with them).

use std::collections::BTreeSet;

use localcloud::logs;

use super::*;

impl ResourceProvider<LogGroup> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<LogGroup>> {
        self.record("GetLogGroup");
        self.get(name)
    }

    async fn create(&self, desired: &LogGroup) -> Result<()> {
        self.record("CreateLogGroup");
        self.check_not_foreign::<LogGroup>(&desired.name, &desired.tags, "log group", |l| &l.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &LogGroup,
        desired: &LogGroup,
        _changes: &Changes<LogGroupField>,
    ) -> Result<()> {
        self.record("UpdateLogGroup");
        self.put(desired)
    }

    async fn delete(&self, live: &LogGroup) -> Result<()> {
        self.record("DeleteLogGroup");
        // CloudWatch deletes a group's events with it.
        self.remove::<LogGroup>(&live.name)?;
        self.store.remove_log_events(&live.name)?;
        Ok(())
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<LogGroup>> {
        self.record("ListLogGroups");
        self.list_owned_of::<LogGroup>(stack, known, |l| &l.tags)
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
