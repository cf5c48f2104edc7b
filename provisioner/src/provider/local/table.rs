//! Glue tables: the owner mark is a table parameter, as on AWS, where
//! Glue tables take no tags.

use std::collections::BTreeSet;

use localcloud::glue;

use super::*;

impl ResourceProvider<Table> for LocalCloud {
    async fn read(&self, name: &str) -> Result<Option<Table>> {
        self.record("GetTable");
        self.get(name)
    }

    async fn create(&self, desired: &Table) -> Result<()> {
        self.record("CreateTable");
        let name = desired.id().name;
        // Glue: EntityNotFoundException when the database does not exist.
        if !self.store.exists(glue::Database::KIND, &desired.database) {
            return Err(api(
                format!("table {name}"),
                "CreateTable",
                "EntityNotFoundException",
                format!("Database {} not found.", desired.database),
            ));
        }
        self.check_not_foreign::<Table>(&name, &desired.tags, "table", |t| &t.tags)?;
        self.put(desired)
    }

    async fn update(
        &self,
        _live: &Table,
        desired: &Table,
        _changes: &Changes<TableField>,
    ) -> Result<()> {
        self.record("UpdateTable");
        self.put(desired)
    }

    async fn delete(&self, live: &Table) -> Result<()> {
        self.record("DeleteTable");
        self.remove::<Table>(&live.id().name)
    }

    async fn list_owned(&self, stack: &str, known: &BTreeSet<String>) -> Result<Vec<Table>> {
        self.record("GetTables");
        self.list_owned_of::<Table>(stack, known, |t| &t.tags)
    }
}

impl Stored for Table {
    type Record = glue::Table;
    fn to_record(&self) -> glue::Table {
        glue::Table {
            database: self.database.clone(),
            name: self.name.clone(),
            location: self.location.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| glue::Column {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect(),
            table_type: self.format.table_type.clone(),
            input_format: self.format.input_format.clone(),
            output_format: self.format.output_format.clone(),
            serde: self.format.serde.clone(),
            serde_parameters: self.format.serde_parameters.clone(),
            parameters: self.parameters(),
        }
    }
    fn from_record(r: glue::Table) -> Self {
        let (tags, parameters) = Table::split_parameters(r.parameters);
        Table {
            database: r.database,
            name: r.name,
            location: r.location,
            columns: r
                .columns
                .into_iter()
                .map(|c| Column {
                    name: c.name,
                    ty: c.ty,
                })
                .collect(),
            format: TableFormat {
                table_type: r.table_type,
                input_format: r.input_format,
                output_format: r.output_format,
                serde: r.serde,
                serde_parameters: r.serde_parameters,
                parameters,
            },
            tags,
        }
    }
}
