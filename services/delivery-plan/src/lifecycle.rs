//! Delivery plans act on the directory's lifecycle events (the outbox, `almo_db::lifecycle`):
//! when an ALMO's end is recorded, each of its plans closes on the end date (a closure row; the
//! plan, its versions and its last status stay readable) and its amendments still awaiting an
//! answer lapse — only the wound-up ALMO could have agreed them — as withdrawn, with a note naming
//! the end. Each change is a plan event, so plan watchers see it.

use almo_db::entity::{dp_amendment, dp_plan, dp_plan_closure};
use almo_db::{Db, lifecycle};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::storage;

/// This consumer's name in `event_cursors`.
pub const CONSUMER: &str = "delivery-plan";
/// Applies the lifecycle events this consumer has not applied yet, a batch per transaction;
/// returns how many it read. Safe to run on every replica at once.
pub async fn consume(db: &Db) -> Result<usize, DbErr> {
    lifecycle::consume(db, CONSUMER, async |txn, e| {
        if e.kind == lifecycle::kind::END_DATE_SET
            && let Some(end) = lifecycle::payload_date(e, "end_date")
        {
            close_plans(txn, &e.organisation_id, end).await?;
        }
        Ok(())
    })
    .await
}

/// The closure of a plan, if it is closed.
pub async fn closure_of(
    conn: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Option<dp_plan_closure::Model>, DbErr> {
    dp_plan_closure::Entity::find_by_id(plan_id.to_string())
        .one(conn)
        .await
}

async fn close_plans(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    end: NaiveDate,
) -> Result<(), DbErr> {
    let plans = dp_plan::Entity::find()
        .filter(dp_plan::Column::AlmoId.eq(almo_id))
        .order_by_asc(dp_plan::Column::Id)
        .all(conn)
        .await?;
    let now = Utc::now();
    let reason = format!("the ALMO ended on {end}; the council manages the homes from then on");
    for plan in plans {
        storage::lock_plan(conn, &plan.id).await?;
        // A moved end moves the closure; the plan closes once.
        dp_plan_closure::Entity::insert(dp_plan_closure::ActiveModel {
            plan_id: Set(plan.id.clone()),
            closed_on: Set(end),
            reason: Set(reason.clone()),
            closed_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(dp_plan_closure::Column::PlanId)
                .update_columns([
                    dp_plan_closure::Column::ClosedOn,
                    dp_plan_closure::Column::Reason,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        let pending = dp_amendment::Entity::find()
            .filter(dp_amendment::Column::PlanId.eq(&plan.id))
            .filter(dp_amendment::Column::State.eq("proposed"))
            .order_by_asc(dp_amendment::Column::Id)
            .all(conn)
            .await?;
        let note = format!("lapsed: the ALMO ended on {end}, so it can no longer be agreed");
        let mut events = vec![storage::event(
            &plan.id,
            "status_changed",
            &plan.id,
            format!("plan closed on {end}: {reason}"),
            now,
        )];
        for a in &pending {
            dp_amendment::Entity::update_many()
                .col_expr(dp_amendment::Column::State, Expr::value("withdrawn"))
                .col_expr(
                    dp_amendment::Column::DecisionNote,
                    Expr::value(note.clone()),
                )
                .col_expr(
                    dp_amendment::Column::RowVersion,
                    Expr::col(dp_amendment::Column::RowVersion).add(1),
                )
                .col_expr(dp_amendment::Column::UpdatedAt, Expr::value(now))
                .filter(dp_amendment::Column::Id.eq(&a.id))
                .exec(conn)
                .await?;
            events.push(storage::event(
                &plan.id,
                "amendment_withdrawn",
                &a.id,
                note.clone(),
                now,
            ));
        }
        storage::insert_events(conn, events).await?;
    }
    Ok(())
}
