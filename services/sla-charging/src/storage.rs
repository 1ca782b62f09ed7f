//! The SLA charging queries. Writes take the transaction of an idempotent write; every list is
//! filtered by a [`Visibility`] built from the caller.

use std::collections::{BTreeMap, HashMap};

use almo_db::entity::{
    sla_agreement, sla_agreement_version, sla_council_counter, sla_credit_note,
    sla_credit_note_line, sla_dispute, sla_feed_entry, sla_invoice, sla_invoice_line,
    sla_level_result, sla_usage,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// Usage rows are written in chunks: one INSERT per row is ~30× slower (STYLE.md).
pub const INSERT_CHUNK: usize = 500;

/// Whose SLA data a caller may see: a council's finance team sees the agreements it supplies,
/// an ALMO the agreements it buys.
#[derive(Debug, Clone)]
pub enum Visibility {
    Supplier(String),
    Customer(String),
}

impl Visibility {
    fn agreements(&self) -> Condition {
        match self {
            Visibility::Supplier(c) => {
                Condition::all().add(sla_agreement::Column::SupplierCouncilId.eq(c))
            }
            Visibility::Customer(a) => {
                Condition::all().add(sla_agreement::Column::CustomerAlmoId.eq(a))
            }
        }
    }

    pub fn sees_agreement(&self, a: &sla_agreement::Model) -> bool {
        match self {
            Visibility::Supplier(c) => a.supplier_council_id == *c,
            Visibility::Customer(x) => a.customer_almo_id == *x,
        }
    }

    pub fn sees_invoice(&self, i: &sla_invoice::Model) -> bool {
        match self {
            Visibility::Supplier(c) => i.supplier_council_id == *c,
            // The ALMO sees what it has been sent; drafts are the council's working papers.
            Visibility::Customer(x) => i.customer_almo_id == *x && i.status == "issued",
        }
    }
}

/// An agreement with every version, oldest first.
pub type AgreementRows = (sla_agreement::Model, Vec<sla_agreement_version::Model>);

pub async fn get_agreement(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<AgreementRows>, DbErr> {
    let Some(a) = sla_agreement::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let versions = versions_of(conn, std::slice::from_ref(&a.id)).await?;
    Ok(Some((a, versions)))
}

async fn versions_of(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<sla_agreement_version::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sla_agreement_version::Entity::find()
        .filter(sla_agreement_version::Column::AgreementId.is_in(ids.iter().cloned()))
        .order_by_asc(sla_agreement_version::Column::AgreementId)
        .order_by_asc(sla_agreement_version::Column::Version)
        .all(conn)
        .await
}

fn attach(
    agreements: Vec<sla_agreement::Model>,
    versions: Vec<sla_agreement_version::Model>,
) -> Vec<AgreementRows> {
    let mut by: HashMap<String, Vec<sla_agreement_version::Model>> = HashMap::new();
    for v in versions {
        by.entry(v.agreement_id.clone()).or_default().push(v);
    }
    agreements
        .into_iter()
        .map(|a| {
            let v = by.remove(&a.id).unwrap_or_default();
            (a, v)
        })
        .collect()
}

pub async fn list_agreements(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    almo: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<AgreementRows>, DbErr> {
    let mut q = sla_agreement::Entity::find().filter(vis.agreements());
    if let Some(a) = almo {
        q = q.filter(sla_agreement::Column::CustomerAlmoId.eq(a));
    }
    if let Some(after) = after {
        q = q.filter(sla_agreement::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(sla_agreement::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
    let versions = versions_of(conn, &ids).await?;
    Ok(attach(rows, versions))
}

/// The council's agreements whose term overlaps `[first, last]`.
pub async fn agreements_overlapping(
    conn: &impl ConnectionTrait,
    council_id: &str,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<Vec<AgreementRows>, DbErr> {
    let rows = sla_agreement::Entity::find()
        .filter(sla_agreement::Column::SupplierCouncilId.eq(council_id))
        .filter(sla_agreement::Column::StartDate.lte(last))
        .filter(sla_agreement::Column::EndDate.gte(first))
        .order_by_asc(sla_agreement::Column::Id)
        .all(conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
    let versions = versions_of(conn, &ids).await?;
    Ok(attach(rows, versions))
}

pub async fn insert_agreement(
    conn: &impl ConnectionTrait,
    a: sla_agreement::Model,
) -> Result<(), DbErr> {
    sla_agreement::Entity::insert(sla_agreement::ActiveModel::from(a))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn insert_version(
    conn: &impl ConnectionTrait,
    v: sla_agreement_version::Model,
) -> Result<(), DbErr> {
    sla_agreement_version::Entity::insert(sla_agreement_version::ActiveModel::from(v))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn update_version_consent(
    conn: &impl ConnectionTrait,
    v: &sla_agreement_version::Model,
) -> Result<(), DbErr> {
    sla_agreement_version::Entity::update_many()
        .col_expr(
            sla_agreement_version::Column::Status,
            Expr::value(v.status.clone()),
        )
        .col_expr(
            sla_agreement_version::Column::CouncilAgreed,
            Expr::value(v.council_agreed),
        )
        .col_expr(
            sla_agreement_version::Column::AlmoAgreed,
            Expr::value(v.almo_agreed),
        )
        .filter(sla_agreement_version::Column::AgreementId.eq(&v.agreement_id))
        .filter(sla_agreement_version::Column::Version.eq(v.version))
        .exec(conn)
        .await?;
    Ok(())
}

/// Bumps the agreement's version if it is still `expected`; false when someone changed it first.
pub async fn bump_agreement(
    conn: &impl ConnectionTrait,
    id: &str,
    expected: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = sla_agreement::Entity::update_many()
        .col_expr(sla_agreement::Column::RowVersion, Expr::value(expected + 1))
        .col_expr(sla_agreement::Column::UpdatedAt, Expr::value(now))
        .filter(sla_agreement::Column::Id.eq(id))
        .filter(sla_agreement::Column::RowVersion.eq(expected))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The stored usage records of an agreement with these sender ids.
pub async fn usage_by_record_ids(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    record_ids: &[String],
) -> Result<Vec<sla_usage::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in record_ids.chunks(INSERT_CHUNK) {
        out.extend(
            sla_usage::Entity::find()
                .filter(sla_usage::Column::AgreementId.eq(agreement_id))
                .filter(sla_usage::Column::RecordId.is_in(chunk.iter().cloned()))
                .all(conn)
                .await?,
        );
    }
    Ok(out)
}

/// Inserts new usage rows in chunks, then marks the records they correct as superseded.
pub async fn insert_usage(
    conn: &impl ConnectionTrait,
    rows: Vec<sla_usage::Model>,
) -> Result<(), DbErr> {
    let mut corrected: Vec<(String, String)> = Vec::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        for r in chunk {
            if let Some(c) = &r.corrects_record_id {
                corrected.push((r.agreement_id.clone(), c.clone()));
            }
        }
        sla_usage::Entity::insert_many(chunk.iter().cloned().map(|r| sla_usage::ActiveModel {
            id: NotSet,
            agreement_id: Set(r.agreement_id),
            record_id: Set(r.record_id),
            line_code: Set(r.line_code),
            period_key: Set(r.period_key),
            quantity_milli: Set(r.quantity_milli),
            corrects_record_id: Set(r.corrects_record_id),
            superseded: Set(r.superseded),
            recorded_at: Set(r.recorded_at),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    let mut by_agreement: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, r) in corrected {
        by_agreement.entry(a).or_default().push(r);
    }
    for (a, ids) in by_agreement {
        for chunk in ids.chunks(INSERT_CHUNK) {
            sla_usage::Entity::update_many()
                .col_expr(sla_usage::Column::Superseded, Expr::value(true))
                .filter(sla_usage::Column::AgreementId.eq(&a))
                .filter(sla_usage::Column::RecordId.is_in(chunk.iter().cloned()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Units used per line code in the given months, corrections applied (superseded rows left out).
pub async fn usage_totals(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    month_keys: &[String],
) -> Result<BTreeMap<String, i64>, DbErr> {
    let rows: Vec<(String, i64)> = sla_usage::Entity::find()
        .select_only()
        .column(sla_usage::Column::LineCode)
        .column(sla_usage::Column::QuantityMilli)
        .filter(sla_usage::Column::AgreementId.eq(agreement_id))
        .filter(sla_usage::Column::PeriodKey.is_in(month_keys.iter().cloned()))
        .filter(sla_usage::Column::Superseded.eq(false))
        .into_tuple()
        .all(conn)
        .await?;
    let mut totals = BTreeMap::new();
    for (code, q) in rows {
        *totals.entry(code).or_insert(0) += q;
    }
    Ok(totals)
}

/// Records a result, replacing an earlier one for the same level and period.
pub async fn upsert_result(
    conn: &impl ConnectionTrait,
    r: sla_level_result::Model,
) -> Result<(), DbErr> {
    sla_level_result::Entity::insert(sla_level_result::ActiveModel::from(r))
        .on_conflict(
            OnConflict::columns([
                sla_level_result::Column::AgreementId,
                sla_level_result::Column::LevelCode,
                sla_level_result::Column::PeriodKey,
            ])
            .update_columns([
                sla_level_result::Column::Value,
                sla_level_result::Column::RecordedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn results_for(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    period_key: &str,
) -> Result<BTreeMap<String, f64>, DbErr> {
    Ok(sla_level_result::Entity::find()
        .filter(sla_level_result::Column::AgreementId.eq(agreement_id))
        .filter(sla_level_result::Column::PeriodKey.eq(period_key))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.level_code, r.value))
        .collect())
}

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
    let counter = sla_council_counter::Entity::find_by_id(council_id.to_string())
        .lock_exclusive()
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

pub async fn insert_feed_entry(
    conn: &impl ConnectionTrait,
    e: sla_feed_entry::Model,
) -> Result<(), DbErr> {
    sla_feed_entry::Entity::insert(sla_feed_entry::ActiveModel::from(e))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Feed entries of `council_id` after `after`, optionally for one ALMO, in position order.
pub async fn feed_after(
    conn: &impl ConnectionTrait,
    council_id: &str,
    almo: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<sla_feed_entry::Model>, DbErr> {
    let mut q = sla_feed_entry::Entity::find()
        .filter(sla_feed_entry::Column::CouncilId.eq(council_id))
        .filter(sla_feed_entry::Column::Position.gt(after));
    if let Some(a) = almo {
        q = q.filter(sla_feed_entry::Column::CustomerAlmoId.eq(a));
    }
    q.order_by_asc(sla_feed_entry::Column::Position)
        .limit(limit)
        .all(conn)
        .await
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

pub async fn disputes_of_line(
    conn: &impl ConnectionTrait,
    invoice_id: &str,
    line_number: i32,
) -> Result<Vec<sla_dispute::Model>, DbErr> {
    sla_dispute::Entity::find()
        .filter(sla_dispute::Column::InvoiceId.eq(invoice_id))
        .filter(sla_dispute::Column::InvoiceLineNumber.eq(line_number))
        .all(conn)
        .await
}

pub async fn insert_dispute(
    conn: &impl ConnectionTrait,
    d: sla_dispute::Model,
) -> Result<(), DbErr> {
    sla_dispute::Entity::insert(sla_dispute::ActiveModel::from(d))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn get_dispute(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<sla_dispute::Model>, DbErr> {
    sla_dispute::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// Writes the resolution if the dispute is still open at `expected_version`.
pub async fn resolve_dispute(
    conn: &impl ConnectionTrait,
    d: &sla_dispute::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let res = sla_dispute::Entity::update_many()
        .col_expr(sla_dispute::Column::Status, Expr::value(d.status.clone()))
        .col_expr(
            sla_dispute::Column::Response,
            Expr::value(d.response.clone()),
        )
        .col_expr(
            sla_dispute::Column::CreditNoteId,
            Expr::value(d.credit_note_id.clone()),
        )
        .col_expr(sla_dispute::Column::ResolvedAt, Expr::value(d.resolved_at))
        .col_expr(sla_dispute::Column::RowVersion, Expr::value(d.row_version))
        .filter(sla_dispute::Column::Id.eq(&d.id))
        .filter(sla_dispute::Column::Status.eq("open"))
        .filter(sla_dispute::Column::RowVersion.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn list_disputes(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    status: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<sla_dispute::Model>, DbErr> {
    let mut q = sla_dispute::Entity::find().filter(match vis {
        Visibility::Supplier(c) => sla_dispute::Column::SupplierCouncilId.eq(c),
        Visibility::Customer(a) => sla_dispute::Column::CustomerAlmoId.eq(a),
    });
    if let Some(s) = status {
        q = q.filter(sla_dispute::Column::Status.eq(s));
    }
    // Ids are time-ordered (raised-at prefix), so ordering by id is oldest first and a stable key.
    if let Some(after) = after {
        q = q.filter(sla_dispute::Column::Id.gt(after));
    }
    q.order_by_asc(sla_dispute::Column::Id)
        .limit(limit)
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
