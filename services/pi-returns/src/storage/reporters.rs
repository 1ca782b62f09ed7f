//! Who reports: the ALMOs a council had in a period, and the organisations expected to report.

use almo_db::entity::organisation;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::Visibility;

/// The ALMOs of `council_id` that managed homes at some time between `start` and `end`.
pub async fn almos_live_in(
    conn: &impl ConnectionTrait,
    council_id: &str,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> Result<Vec<String>, DbErr> {
    organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::CouncilId.eq(council_id))
        .filter(organisation::Column::Kind.eq("almo"))
        .filter(organisation::Column::GoLiveDate.lte(end))
        .filter(
            Condition::any()
                .add(organisation::Column::EndDate.is_null())
                .add(organisation::Column::EndDate.gte(start)),
        )
        .order_by_asc(organisation::Column::Id)
        .into_tuple()
        .all(conn)
        .await
}

/// The organisations expected to report for a period that `visible` lets the caller see: every
/// council, and every ALMO live at some time in the period — but, where the period's returns are
/// owed only by landlords of `min_homes` or more (the TSMs), not those the directory knows to be
/// smaller; by id, after `after`.
pub async fn expected_reporters(
    conn: &impl ConnectionTrait,
    visible: &Visibility,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    min_homes: Option<u32>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    use organisation::Column as C;
    let who = match visible {
        Visibility::All | Visibility::AllButDrafts => Condition::all(),
        Visibility::CouncilAndAlmos(c) => Condition::any()
            .add(C::Id.eq(c.clone()))
            .add(C::CouncilId.eq(c.clone())),
        Visibility::Own(o) => Condition::all().add(C::Id.eq(o.clone())),
    };
    let live_almo = Condition::all()
        .add(C::Kind.eq("almo"))
        .add(C::GoLiveDate.lte(end))
        .add(
            Condition::any()
                .add(C::EndDate.is_null())
                .add(C::EndDate.gte(start)),
        );
    let mut q = organisation::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(who)
        .filter(Condition::any().add(C::Kind.eq("council")).add(live_almo));
    if let Some(min) = min_homes {
        q = q.filter(
            Condition::any()
                .add(C::StockSize.is_null())
                .add(C::StockSize.gte(i64::from(min))),
        );
    }
    if let Some(after) = after {
        q = q.filter(C::Id.gt(after));
    }
    q.order_by_asc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// The homes an organisation has, as the directory records them (its stock), if known.
pub async fn stock_size(conn: &impl ConnectionTrait, id: &str) -> Result<Option<i32>, DbErr> {
    Ok(organisation::Entity::find_by_id(id.to_string())
        .select_only()
        .column(organisation::Column::StockSize)
        .into_tuple::<Option<i32>>()
        .one(conn)
        .await?
        .flatten())
}
