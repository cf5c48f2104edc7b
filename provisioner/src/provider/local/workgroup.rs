//! Athena workgroups.

use std::collections::BTreeSet;

use localcloud::athena;

use super::*;

impl ResourceProvider<Workgroup> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Workgroup>> {
        self.record("GetWorkGroup");
        self.get(name)
    }

    async fn create(&self, desired: &Workgroup) -> Result<()> {
        self.record("CreateWorkGroup");
        self.check_not_foreign::<Workgroup>(&desired.name, &desired.tags, "workgroup", |w| {
            &w.tags
        })?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Workgroup,
        desired: &Workgroup,
        _changes: &Changes<WorkgroupField>,
    ) -> Result<()> {
        self.record("UpdateWorkGroup");
        self.put(desired)
    }

    async fn delete(&self, live: &Workgroup) -> Result<()> {
        self.record("DeleteWorkGroup");
        self.remove::<Workgroup>(&live.name)
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Workgroup>> {
        self.record("ListWorkGroups");
        self.list_owned_of::<Workgroup>(stack, known, |w| &w.tags)
    }
}

impl Stored for Workgroup {
    type Record = athena::Workgroup;
    fn to_record(&self) -> athena::Workgroup {
        athena::Workgroup {
            name: self.name.clone(),
            output_location: self.output_location.clone(),
            encryption: self.encryption.clone(),
            enforce_configuration: self.enforce_configuration,
            tags: self.tags.clone(),
        }
    }
    fn from_record(r: athena::Workgroup) -> Self {
        Workgroup {
            name: r.name,
            output_location: r.output_location,
            encryption: r.encryption,
            enforce_configuration: r.enforce_configuration,
            tags: r.tags,
        }
    }
}
