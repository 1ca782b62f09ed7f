//! The council's counter row: the lock every write for one council queues on, and its
//! gapless invoice, credit-note and feed numbers.

use almo_db::entity::sla_council_counter;
use almo_db::lock::LockKind;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Which of a council's sequences to advance.
#[derive(Debug, Clone, Copy)]
pub enum Sequence {
    Invoice,
    CreditNote,
}

/// Locks the council's counter row (creating it if needed) until the transaction ends. Billing
/// runs, usage, results and issuing for one council queue on it, so no usage can slip into a
/// period while its invoice is being issued, and two runs of one period never race.
pub async fn lock_council(
    conn: &impl ConnectionTrait,
    council_id: &str,
) -> Result<sla_council_counter::Model, DbErr> {
    sla_council_counter::Entity::insert(sla_council_counter::ActiveModel {
        council_id: Set(council_id.to_string()),
        last_invoice_number: Set(0),
        last_credit_note_number: Set(0),
        last_feed_position: Set(0),
    })
    .on_conflict(
        OnConflict::column(sla_council_counter::Column::CouncilId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    // A council comes before its agreements and invoices in the one lock order.
    almo_db::lock::lock_row(conn, LockKind::Council, council_id).await?;
    let counter = sla_council_counter::Entity::find_by_id(council_id.to_string())
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("counter of {council_id}")))?;
    Ok(counter)
}

/// Takes the next number of `seq` and the next feed position for `council_id`, holding the
/// council's counter row locked until the transaction ends: concurrent issuers (on any replica)
/// queue on the lock, so numbers and feed positions are gapless and committed in order.
pub async fn next_numbers(
    conn: &impl ConnectionTrait,
    council_id: &str,
    seq: Sequence,
) -> Result<(i64, i64), DbErr> {
    let counter = lock_council(conn, council_id).await?;
    let (col, number) = match seq {
        Sequence::Invoice => (
            sla_council_counter::Column::LastInvoiceNumber,
            counter.last_invoice_number + 1,
        ),
        Sequence::CreditNote => (
            sla_council_counter::Column::LastCreditNoteNumber,
            counter.last_credit_note_number + 1,
        ),
    };
    let position = counter.last_feed_position + 1;
    sla_council_counter::Entity::update_many()
        .col_expr(col, Expr::value(number))
        .col_expr(
            sla_council_counter::Column::LastFeedPosition,
            Expr::value(position),
        )
        .filter(sla_council_counter::Column::CouncilId.eq(council_id))
        .exec(conn)
        .await?;
    Ok((number, position))
}
