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
/// council, and every ALMO live at some time in the period; by id, after `after`.
pub async fn expected_reporters(
    conn: &impl ConnectionTrait,
    visible: &Visibility,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
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
    if let Some(after) = after {
        q = q.filter(C::Id.gt(after));
    }
    q.order_by_asc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}
