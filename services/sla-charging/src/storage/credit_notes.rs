//! Credit notes: what has been credited per invoice line, and new notes.

use std::collections::HashMap;

use almo_db::entity::{sla_credit_note, sla_credit_note_line};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Net and VAT credited so far per line of an invoice.
pub async fn credited_per_line(
    conn: &impl ConnectionTrait,
    invoice_id: &str,
) -> Result<HashMap<i32, (i64, i64)>, DbErr> {
    let mut out: HashMap<i32, (i64, i64)> = HashMap::new();
    for l in sla_credit_note_line::Entity::find()
        .filter(sla_credit_note_line::Column::InvoiceId.eq(invoice_id))
        .all(conn)
        .await?
    {
        let e = out.entry(l.invoice_line_number).or_default();
        e.0 += l.net;
        e.1 += l.vat;
    }
    Ok(out)
}

pub async fn insert_credit_note(
    conn: &impl ConnectionTrait,
    note: sla_credit_note::Model,
    lines: Vec<sla_credit_note_line::Model>,
) -> Result<(), DbErr> {
    sla_credit_note::Entity::insert(sla_credit_note::ActiveModel::from(note))
        .exec_without_returning(conn)
        .await?;
    sla_credit_note_line::Entity::insert_many(
        lines
            .into_iter()
            .map(sla_credit_note_line::ActiveModel::from),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
