//! Glue databases (their tables go with them, as on Glue).

use std::collections::BTreeSet;

use localcloud::glue;

use super::*;

impl ResourceProvider<Database> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Database>> {
        self.record("GetDatabase");
        self.get(name)
    }

    async fn create(&self, desired: &Database) -> Result<()> {
        self.record("CreateDatabase");
        self.check_not_foreign::<Database>(&desired.name, &desired.tags, "database", |d| &d.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Database,
        desired: &Database,
        _changes: &Changes<DatabaseField>,
    ) -> Result<()> {
        self.record("UpdateDatabase");
        self.put(desired)
    }

    async fn delete(&self, live: &Database) -> Result<()> {
        self.record("DeleteDatabase");
        Ok(self.store.remove_database(&live.name)?)
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Database>> {
        self.record("GetDatabases");
        self.list_owned_of::<Database>(stack, known, |d| &d.tags)
    }
}

impl Stored for Database {
    type Record = glue::Database;
    fn to_record(&self) -> glue::Database {
        glue::Database {
            name: self.name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: glue::Database) -> Self {
        Database {
            name: r.name,
            description: r.description,
            tags: r.tags,
        }
    }
}
