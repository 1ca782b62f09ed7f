//! Invoices and their lines: drafts replaced by each billing run, issued ones never changed.

use std::collections::HashMap;

use almo_db::entity::{sla_credit_note, sla_credit_note_line, sla_invoice, sla_invoice_line};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::INSERT_CHUNK;

/// The invoices of an agreement for any of `period_keys`.
pub async fn invoices_for_periods(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    period_keys: &[String],
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    sla_invoice::Entity::find()
        .filter(sla_invoice::Column::AgreementId.eq(agreement_id))
        .filter(sla_invoice::Column::PeriodKey.is_in(period_keys.iter().cloned()))
        .all(conn)
        .await
}

/// Deletes a draft and its lines. Issued invoices are never touched: the status is in the filter.
pub async fn delete_draft(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    let draft = sla_invoice::Entity::find_by_id(id.to_string())
        .filter(sla_invoice::Column::Status.eq("draft"))
        .one(conn)
        .await?;
    if draft.is_none() {
        return Ok(());
    }
    sla_invoice_line::Entity::delete_many()
        .filter(sla_invoice_line::Column::InvoiceId.eq(id))
        .exec(conn)
        .await?;
    sla_invoice::Entity::delete_many()
        .filter(sla_invoice::Column::Id.eq(id))
        .filter(sla_invoice::Column::Status.eq("draft"))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn insert_invoice(
    conn: &impl ConnectionTrait,
    invoice: sla_invoice::Model,
    lines: Vec<sla_invoice_line::Model>,
) -> Result<(), DbErr> {
    sla_invoice::Entity::insert(sla_invoice::ActiveModel::from(invoice))
        .exec_without_returning(conn)
        .await?;
    for chunk in lines.chunks(INSERT_CHUNK) {
        sla_invoice_line::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(sla_invoice_line::ActiveModel::from),
        )
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// An invoice with its lines and its credit notes (with their lines).
#[derive(Debug, Clone)]
pub struct InvoiceRows {
    pub invoice: sla_invoice::Model,
    pub lines: Vec<sla_invoice_line::Model>,
    pub credit_notes: Vec<(sla_credit_note::Model, Vec<sla_credit_note_line::Model>)>,
}

pub async fn get_invoice(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<InvoiceRows>, DbErr> {
    let Some(invoice) = sla_invoice::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(load_invoices(conn, vec![invoice]).await?.pop())
}

/// Lines and credit notes for `invoices`, in the order given.
pub async fn load_invoices(
    conn: &impl ConnectionTrait,
    invoices: Vec<sla_invoice::Model>,
) -> Result<Vec<InvoiceRows>, DbErr> {
    if invoices.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = invoices.iter().map(|i| i.id.clone()).collect();
    let mut lines: HashMap<String, Vec<sla_invoice_line::Model>> = HashMap::new();
    let mut notes: HashMap<String, Vec<sla_credit_note::Model>> = HashMap::new();
    let mut note_lines: HashMap<String, Vec<sla_credit_note_line::Model>> = HashMap::new();
    for chunk in ids.chunks(INSERT_CHUNK) {
        for l in sla_invoice_line::Entity::find()
            .filter(sla_invoice_line::Column::InvoiceId.is_in(chunk.iter().cloned()))
            .order_by_asc(sla_invoice_line::Column::InvoiceId)
            .order_by_asc(sla_invoice_line::Column::LineNumber)
            .all(conn)
            .await?
        {
            lines.entry(l.invoice_id.clone()).or_default().push(l);
        }
        for n in sla_credit_note::Entity::find()
            .filter(sla_credit_note::Column::InvoiceId.is_in(chunk.iter().cloned()))
            .order_by_asc(sla_credit_note::Column::IssuedAt)
            .order_by_asc(sla_credit_note::Column::CreditNoteNumber)
            .all(conn)
            .await?
        {
            notes.entry(n.invoice_id.clone()).or_default().push(n);
        }
        for l in sla_credit_note_line::Entity::find()
            .filter(sla_credit_note_line::Column::InvoiceId.is_in(chunk.iter().cloned()))
            .order_by_asc(sla_credit_note_line::Column::InvoiceLineNumber)
            .all(conn)
            .await?
        {
            note_lines
                .entry(l.credit_note_id.clone())
                .or_default()
                .push(l);
        }
    }
    Ok(invoices
        .into_iter()
        .map(|invoice| {
            let credit_notes = notes
                .remove(&invoice.id)
                .unwrap_or_default()
                .into_iter()
                .map(|n| {
                    let l = note_lines.remove(&n.id).unwrap_or_default();
                    (n, l)
                })
                .collect();
            InvoiceRows {
                lines: lines.remove(&invoice.id).unwrap_or_default(),
                credit_notes,
                invoice,
            }
        })
        .collect())
}

/// Marks a draft issued with its number, if it is still the draft at `expected_version`.
pub async fn mark_issued(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    number: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = sla_invoice::Entity::update_many()
        .col_expr(sla_invoice::Column::Status, Expr::value("issued"))
        .col_expr(sla_invoice::Column::InvoiceNumber, Expr::value(number))
        .col_expr(sla_invoice::Column::IssuedAt, Expr::value(at))
        .col_expr(
            sla_invoice::Column::RowVersion,
            Expr::value(expected_version + 1),
        )
        .filter(sla_invoice::Column::Id.eq(id))
        .filter(sla_invoice::Column::Status.eq("draft"))
        .filter(sla_invoice::Column::RowVersion.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn invoices_by_ids(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sla_invoice::Entity::find()
        .filter(sla_invoice::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await
}

/// The issued invoices of an agreement for periods of one financial year.
pub async fn issued_invoices_in_year(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    fy_start_year: i32,
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    sla_invoice::Entity::find()
        .filter(sla_invoice::Column::AgreementId.eq(agreement_id))
        .filter(sla_invoice::Column::FyStartYear.eq(fy_start_year))
        .filter(sla_invoice::Column::Status.eq("issued"))
        .order_by_asc(sla_invoice::Column::PeriodKey)
        .all(conn)
        .await
}

/// Every issued invoice of an agreement, in period order.
pub async fn issued_invoices(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    sla_invoice::Entity::find()
        .filter(sla_invoice::Column::AgreementId.eq(agreement_id))
        .filter(sla_invoice::Column::Status.eq("issued"))
        .order_by_asc(sla_invoice::Column::PeriodKey)
        .all(conn)
        .await
}

/// Every invoice of an agreement, drafts included.
pub async fn invoices_of_agreement(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    sla_invoice::Entity::find()
        .filter(sla_invoice::Column::AgreementId.eq(agreement_id))
        .order_by_asc(sla_invoice::Column::PeriodKey)
        .all(conn)
        .await
}
