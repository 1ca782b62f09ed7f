//! PI returns: the TSM definitions already stored by a database seeded before the catalogue said
//! who submits them gain `min_homes_to_submit: 1000` (landlords with fewer homes publish the TSMs
//! but do not submit them, RSH). The rule was always the regulator's; the stored definitions had
//! not recorded it. A fresh database has no rows here yet and gets the field from the shipped
//! catalogue when it is seeded.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TSMS: [&str; 22] = [
    "TP01", "TP02", "TP03", "TP04", "TP05", "TP06", "TP07", "TP08", "TP09", "TP10", "TP11", "TP12",
    "BS01", "BS02", "BS03", "BS04", "BS05", "RP01", "RP02", "CH01", "CH02", "NM01",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let codes = TSMS
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ");
        // Each definition is stored as serde_json writes it: one top-level "source" key, after
        // which the field goes.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE pi_indicator_definitions \
                 SET definition = REPLACE(definition, '\"source\":', \
                     '\"min_homes_to_submit\":1000,\"source\":') \
                 WHERE from_year = 2023 AND code IN ({codes}) \
                 AND definition NOT LIKE '%min_homes_to_submit%'"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE pi_indicator_definitions \
                 SET definition = REPLACE(definition, '\"min_homes_to_submit\":1000,', '') \
                 WHERE from_year = 2023",
            )
            .await?;
        Ok(())
    }
}
