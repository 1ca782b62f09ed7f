//! The indicator catalogue as rows: each definition stored whole, by code and first year.

use almo_db::entity::pi_indicator_definition;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder, Set};

use crate::domain::catalogue::{self, Definition};

fn definition_row(d: &Definition, now: DateTime<Utc>) -> pi_indicator_definition::ActiveModel {
    pi_indicator_definition::ActiveModel {
        code: Set(d.code.clone()),
        from_year: Set(d.from_year),
        to_year: Set(d.to_year),
        title: Set(d.title.clone()),
        definition: Set(serde_json::to_string(d).expect("definitions serialise")),
        created_at: Set(now),
    }
}

/// Loads the shipped catalogue; definitions already present (by code and first year) are left as
/// they are, so this is safe on every start and from every replica.
pub async fn seed_catalogue(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let now = Utc::now();
    let rows: Vec<_> = catalogue::seed()
        .iter()
        .map(|d| definition_row(d, now))
        .collect();
    pi_indicator_definition::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Every definition of every year.
pub async fn load_catalogue(conn: &impl ConnectionTrait) -> Result<Vec<Definition>, DbErr> {
    let rows = pi_indicator_definition::Entity::find()
        .order_by_asc(pi_indicator_definition::Column::Code)
        .order_by_asc(pi_indicator_definition::Column::FromYear)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_str(&r.definition)
                .map_err(|e| DbErr::Custom(format!("definition {} {}: {e}", r.code, r.from_year)))
        })
        .collect()
}

/// What importing one definition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Added,
    Unchanged,
    /// The code and first year exist with a different definition: a published definition is
    /// never changed; add one from a later year instead.
    Conflicts,
}

pub async fn import_definition(
    conn: &impl ConnectionTrait,
    d: &Definition,
) -> Result<Imported, DbErr> {
    let existing = pi_indicator_definition::Entity::find_by_id((d.code.clone(), d.from_year))
        .one(conn)
        .await?;
    if let Some(row) = existing {
        let stored: Option<Definition> = serde_json::from_str(&row.definition).ok();
        return Ok(if stored.as_ref() == Some(d) {
            Imported::Unchanged
        } else {
            Imported::Conflicts
        });
    }
    pi_indicator_definition::Entity::insert(definition_row(d, Utc::now()))
        .exec_without_returning(conn)
        .await?;
    Ok(Imported::Added)
}
