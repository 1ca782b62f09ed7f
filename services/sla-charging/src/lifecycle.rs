//! SLA charging acts on the directory's lifecycle events (the outbox, `almo_db::lifecycle`): when
//! an ALMO's end is recorded, its agreements end on that date. The next billing run then credits
//! what was billed for days after the end (`billing::run`, by the adjustment mechanism) and says
//! so in its adjustments.

use almo_db::entity::sla_agreement;
use almo_db::{Db, lifecycle};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// This consumer's name in `event_cursors`.
pub const CONSUMER: &str = "sla-charging";
/// Applies the lifecycle events this consumer has not applied yet, a batch per transaction;
/// returns how many it read. Safe to run on every replica at once.
pub async fn consume(db: &Db) -> Result<usize, DbErr> {
    lifecycle::consume(db, CONSUMER, async |txn, e| {
        if e.kind == lifecycle::kind::END_DATE_SET
            && let Some(end) = lifecycle::payload_date(e, "end_date")
        {
            end_agreements(txn, &e.organisation_id, end).await?;
        }
        Ok(())
    })
    .await
}

/// The ALMO's agreements running past `end` end on it (one that starts after it is left: it was
/// never in force). Shortening is all: an end moved later does not lengthen them again.
async fn end_agreements(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    end: NaiveDate,
) -> Result<(), DbErr> {
    sla_agreement::Entity::update_many()
        .col_expr(sla_agreement::Column::EndDate, Expr::value(end))
        .col_expr(
            sla_agreement::Column::RowVersion,
            Expr::col(sla_agreement::Column::RowVersion).add(1),
        )
        .col_expr(sla_agreement::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(sla_agreement::Column::CustomerAlmoId.eq(almo_id))
        .filter(sla_agreement::Column::EndDate.gt(end))
        .filter(sla_agreement::Column::StartDate.lte(end))
        .exec(conn)
        .await?;
    Ok(())
}

/// The council's agreements whose term ended in the year before `before` (as an ALMO's end cuts
/// them short): a billing run of a later period still settles what was billed past their end.
pub(crate) async fn agreements_ended_before(
    conn: &impl ConnectionTrait,
    council_id: &str,
    before: NaiveDate,
) -> Result<Vec<crate::storage::AgreementRows>, DbErr> {
    let since = before - chrono::Days::new(366);
    let ids: Vec<String> = sla_agreement::Entity::find()
        .filter(sla_agreement::Column::SupplierCouncilId.eq(council_id))
        .filter(sla_agreement::Column::EndDate.lt(before))
        .filter(sla_agreement::Column::EndDate.gte(since))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(crate::storage::get_agreement(conn, &id).await?);
    }
    Ok(out)
}
