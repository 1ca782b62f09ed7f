//! Billing runs, issuing and crediting over one transaction: the domain rules applied to the
//! stored rows. The gRPC layer and the demo loader both go through here.

use almo_db::entity::{
    organisation, sla_agreement, sla_agreement_version, sla_credit_note, sla_credit_note_line,
    sla_feed_entry, sla_invoice, sla_invoice_line,
};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::domain::adjustment::{Difference, differences};
use crate::domain::agreement::{Consent, Terms, VersionStatus, windows};
use crate::domain::billing_run::{Outcome, not_agreed, nothing_to_bill};
use crate::domain::charging::{Account, VatTreatment};
use crate::domain::invoice::{
    BillingInput, InvoiceLine, InvoiceStatus, LineKind, bill, format_pounds, invoice_number, totals,
};
use crate::domain::period::{BillingPeriod, PeriodKind, fy_days};
use crate::domain::proration::DaySpan;
use crate::domain::value_for_money::years_milli;
use crate::storage::{self, InvoiceRows, Sequence};

/// Parses the stored terms of a version.
pub fn terms_of(v: &sla_agreement_version::Model) -> Result<Terms, DbErr> {
    serde_json::from_str(&v.terms)
        .map_err(|e| DbErr::Custom(format!("terms of {} v{}: {e}", v.agreement_id, v.version)))
}

pub fn term_of(a: &sla_agreement::Model) -> DaySpan {
    DaySpan::new(a.start_date, a.end_date).expect("a stored term starts before it ends")
}

/// The agreement's term, cut short on the customer ALMO's end date if it has one (`None` when the
/// ALMO ended before the agreement started), and that end date.
async fn ended_term(
    conn: &impl ConnectionTrait,
    a: &sla_agreement::Model,
) -> Result<(Option<DaySpan>, Option<chrono::NaiveDate>), DbErr> {
    let end = organisation::Entity::find_by_id(a.customer_almo_id.clone())
        .one(conn)
        .await?
        .and_then(|o| o.end_date);
    let term = term_of(a);
    Ok((
        match end {
            Some(end) => DaySpan::new(term.first, end.min(term.last)),
            None => Some(term),
        },
        end,
    ))
}

/// The active versions of an agreement as (effective from, terms).
pub fn active_terms(
    versions: &[sla_agreement_version::Model],
) -> Result<Vec<(chrono::NaiveDate, Terms)>, DbErr> {
    versions
        .iter()
        .filter(|v| VersionStatus::parse(&v.status) == Some(VersionStatus::Active))
        .map(|v| Ok((v.effective_from, terms_of(v)?)))
        .collect()
}

/// The keys of every period an invoice for `period` would overlap: itself, and its months (a
/// quarter) or its quarter (a month). One agreement is never invoiced twice for the same days.
pub fn overlapping_keys(period: &BillingPeriod) -> Vec<String> {
    let mut keys = vec![period.key()];
    match period.kind {
        PeriodKind::Quarter => keys.extend(period.months().iter().map(|m| m.key())),
        PeriodKind::Month => {
            let q = BillingPeriod {
                fy_start_year: period.fy_start_year,
                kind: PeriodKind::Quarter,
                number: (period.number - 1) / 3 + 1,
            };
            keys.push(q.key());
        }
    }
    keys
}

/// What a billing run did.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub drafts: Vec<InvoiceRows>,
    pub already_issued: Vec<String>,
    /// Every agreement in scope, in id order: (agreement, customer ALMO, what was done).
    pub agreements: Vec<(String, String, Outcome)>,
    /// Adjustments of issued invoices for back-dated variations.
    pub adjustments: Vec<Adjusted>,
}

/// One adjustment made by a run: a supplementary draft (a rise) and/or a credit note (a cut)
/// against the original invoice.
#[derive(Debug)]
pub struct Adjusted {
    pub original: sla_invoice::Model,
    pub supplementary: Option<InvoiceRows>,
    pub credit_note_id: Option<String>,
}

/// Drafts the invoices of every agreement of `council_id` with an active version covering part
/// of `period`. A draft from an earlier run of the same period is replaced (same id, next etag);
/// an agreement already invoiced for these days is left alone.
pub async fn run(
    conn: &impl ConnectionTrait,
    council_id: &str,
    period: BillingPeriod,
    now: DateTime<Utc>,
) -> Result<RunOutcome, DbErr> {
    storage::lock_council(conn, council_id).await?;
    let mut out = RunOutcome::default();
    let keys = overlapping_keys(&period);
    let months: Vec<String> = period.months().iter().map(|m| m.key()).collect();
    for (a, versions) in
        storage::agreements_overlapping(conn, council_id, period.start(), period.end()).await?
    {
        let active = active_terms(&versions)?;
        let mut report = |outcome| {
            out.agreements
                .push((a.id.clone(), a.customer_almo_id.clone(), outcome))
        };
        if active.is_empty() {
            let first_draft = versions
                .iter()
                .filter(|v| VersionStatus::parse(&v.status) == Some(VersionStatus::Draft))
                .min_by_key(|v| v.version)
                .map(|v| {
                    let consent = Consent {
                        council: v.council_agreed,
                        almo: v.almo_agreed,
                    };
                    (v.version, consent)
                });
            report(not_agreed(first_draft));
            continue;
        }
        let (term, almo_end) = ended_term(conn, &a).await?;
        if let Some(term) = term {
            let refs: Vec<(chrono::NaiveDate, &Terms)> =
                active.iter().map(|(d, t)| (*d, t)).collect();
            out.adjustments
                .extend(adjust(conn, &a, term, &refs, almo_end, now).await?);
        }
        let existing = storage::invoices_for_periods(conn, &a.id, &keys).await?;
        if let Some(issued) = existing
            .iter()
            .find(|i| i.status == InvoiceStatus::Issued.as_str())
        {
            report(Outcome::AlreadyIssued {
                invoice_id: issued.id.clone(),
            });
            out.already_issued.push(a.id.clone());
            continue;
        }
        let mut previous_version = 0;
        for draft in &existing {
            if draft.period_key == period.key() {
                previous_version = draft.row_version;
            }
            storage::delete_draft(conn, &draft.id).await?;
        }
        let refs: Vec<(chrono::NaiveDate, &Terms)> = active.iter().map(|(d, t)| (*d, t)).collect();
        // An ALMO that is wound up stops buying services: its SLA ends with a final prorated
        // period on its end date (DOMAIN.md, "An ALMO's life").
        let Some(term) = term else {
            report(nothing_to_bill(&period, None, almo_end, &[]));
            continue;
        };
        let input = BillingInput {
            period,
            windows: windows(term, &refs),
            usage: storage::usage_totals(conn, &a.id, &months).await?,
            results: storage::results_for(conn, &a.id, &period.key()).await?,
        };
        let lines = bill(&input);
        if lines.is_empty() {
            report(nothing_to_bill(
                &period,
                Some(term),
                almo_end,
                &input.windows,
            ));
            continue;
        }
        let t = totals(&lines);
        let id = format!("{}.{}", a.id, period.key());
        let invoice = sla_invoice::Model {
            id: id.clone(),
            agreement_id: a.id.clone(),
            supplier_council_id: a.supplier_council_id.clone(),
            customer_almo_id: a.customer_almo_id.clone(),
            period_key: period.key(),
            fy_start_year: period.fy_start_year,
            period_kind: match period.kind {
                PeriodKind::Month => "month",
                PeriodKind::Quarter => "quarter",
            }
            .into(),
            period_number: period.number as i32,
            status: InvoiceStatus::Draft.as_str().into(),
            invoice_number: None,
            issued_at: None,
            net: t.net,
            vat: t.vat,
            row_version: previous_version + 1,
            created_at: now,
            adjusts_invoice_id: None,
        };
        let rows: Vec<sla_invoice_line::Model> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| sla_invoice_line::Model {
                invoice_id: id.clone(),
                line_number: i as i32 + 1,
                kind: l.kind.as_str().into(),
                line_code: l.line_code.clone(),
                description: l.description.clone(),
                quantity_milli: l.quantity_milli,
                unit_price: l.unit_price,
                net: l.net,
                vat_treatment: l.vat_treatment.as_str().into(),
                vat: l.vat,
                account: l.account.as_str().into(),
            })
            .collect();
        storage::insert_invoice(conn, invoice.clone(), rows.clone()).await?;
        out.agreements.push((
            a.id.clone(),
            a.customer_almo_id.clone(),
            Outcome::Drafted {
                invoice_id: id.clone(),
            },
        ));
        out.drafts.push(InvoiceRows {
            invoice,
            lines: rows,
            credit_notes: Vec::new(),
        });
    }
    // Agreements cut short by their ALMO's end before this period: what was billed for days
    // after the end is settled by the first run after it (DOMAIN.md "An ALMO's life").
    for (a, versions) in
        crate::lifecycle::agreements_ended_before(conn, council_id, period.start()).await?
    {
        let active = active_terms(&versions)?;
        let refs: Vec<(chrono::NaiveDate, &Terms)> = active.iter().map(|(d, t)| (*d, t)).collect();
        if let (Some(term), Some(end)) = ended_term(conn, &a).await? {
            out.adjustments
                .extend(adjust(conn, &a, term, &refs, Some(end), now).await?);
        }
    }
    Ok(out)
}

/// The issued invoices (not themselves adjustments) of an agreement whose periods end on or
/// after `from`: the ones a variation effective `from` would bill differently.
pub async fn invoices_from(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    from: chrono::NaiveDate,
) -> Result<Vec<sla_invoice::Model>, DbErr> {
    Ok(storage::issued_invoices(conn, agreement_id)
        .await?
        .into_iter()
        .filter(|i| i.adjusts_invoice_id.is_none() && period_of(i).end() >= from)
        .collect())
}

/// The billing period of a stored invoice.
pub fn period_of(i: &sla_invoice::Model) -> BillingPeriod {
    BillingPeriod {
        fy_start_year: i.fy_start_year,
        kind: if i.period_kind == "quarter" {
            PeriodKind::Quarter
        } else {
            PeriodKind::Month
        },
        number: i.period_number as u32,
    }
}

fn stored_line(l: &sla_invoice_line::Model) -> Result<InvoiceLine, DbErr> {
    let bad = |what: &str| {
        DbErr::Custom(format!(
            "invoice line {}/{}: {what}",
            l.invoice_id, l.line_number
        ))
    };
    Ok(InvoiceLine {
        kind: LineKind::parse(&l.kind).ok_or_else(|| bad("kind"))?,
        line_code: l.line_code.clone(),
        description: l.description.clone(),
        quantity_milli: l.quantity_milli,
        unit_price: l.unit_price,
        net: l.net,
        vat_treatment: VatTreatment::parse(&l.vat_treatment).ok_or_else(|| bad("vat"))?,
        vat: l.vat,
        account: Account::parse(&l.account).ok_or_else(|| bad("account"))?,
    })
}

/// Settles every issued invoice of the agreement that the active versions now bill differently
/// (a variation agreed with effect inside its period): a rise on a draft supplementary invoice
/// (replaced by each run until issued), a cut on a credit note against the original's lines.
async fn adjust(
    conn: &impl ConnectionTrait,
    a: &sla_agreement::Model,
    term: DaySpan,
    versions: &[(chrono::NaiveDate, &Terms)],
    almo_end: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Vec<Adjusted>, DbErr> {
    // Only a variation (a version after the first) or the ALMO's end (from the day after it)
    // can change an invoiced period.
    let first = versions.iter().map(|(d, _)| *d).min();
    let variation = versions
        .iter()
        .map(|(d, _)| *d)
        .filter(|d| Some(*d) != first)
        .min();
    let after_end = almo_end.and_then(|e| e.succ_opt());
    let Some(since) = variation.into_iter().chain(after_end).min() else {
        return Ok(Vec::new());
    };
    let cause = match almo_end {
        Some(end) if Some(since) == after_end => format!("after the ALMO's end on {end}"),
        _ => format!("under the terms agreed since {since}"),
    };
    let mut out = Vec::new();
    let all = storage::invoices_of_agreement(conn, &a.id).await?;
    for original in invoices_from(conn, &a.id, since).await? {
        let period = period_of(&original);
        let months: Vec<String> = period.months().iter().map(|m| m.key()).collect();
        let input = BillingInput {
            period,
            windows: windows(term, versions),
            usage: storage::usage_totals(conn, &a.id, &months).await?,
            results: storage::results_for(conn, &a.id, &period.key()).await?,
        };
        let rebilled = bill(&input);
        let mut related: Vec<sla_invoice::Model> = vec![original.clone()];
        let mut supplementaries = 0;
        let mut previous_draft = 0;
        for i in all
            .iter()
            .filter(|i| i.adjusts_invoice_id.as_deref() == Some(&original.id))
        {
            if i.status == InvoiceStatus::Issued.as_str() {
                supplementaries += 1;
                related.push(i.clone());
            } else {
                previous_draft = i.row_version;
                storage::delete_draft(conn, &i.id).await?;
            }
        }
        let mut billed = Vec::new();
        let loaded = storage::load_invoices(conn, related).await?;
        for inv in &loaded {
            for l in &inv.lines {
                billed.push(stored_line(l)?);
            }
        }
        let orig = &loaded[0];
        for (_, lines) in orig.credit_notes.iter().filter(|(n, _)| n.adjustment) {
            for cl in lines {
                if let Some(l) = orig
                    .lines
                    .iter()
                    .find(|l| l.line_number == cl.invoice_line_number)
                {
                    let mut line = stored_line(l)?;
                    line.net = -cl.net;
                    line.vat = -cl.vat;
                    billed.push(line);
                }
            }
        }
        let diffs = differences(&rebilled, &billed);
        if diffs.is_empty() {
            continue;
        }
        let number = original.invoice_number.clone().unwrap_or_default();
        let why = |d: &Difference| {
            format!(
                "Adjustment to {number} ({}): {} billed {}, now {} {cause}",
                period.label(),
                d.line_code,
                format_pounds(d.billed_net),
                format_pounds(d.rebilled_net),
            )
        };
        let rises: Vec<&Difference> = diffs
            .iter()
            .filter(|d| d.net > 0 || (d.net == 0 && d.vat > 0))
            .collect();
        let cuts: Vec<&Difference> = diffs
            .iter()
            .filter(|d| d.net < 0 || (d.net == 0 && d.vat < 0))
            .collect();
        let mut done = Adjusted {
            original: original.clone(),
            supplementary: None,
            credit_note_id: None,
        };
        if !rises.is_empty() {
            let n = supplementaries + 1;
            let id = format!("{}.A{n}", original.id);
            let lines: Vec<sla_invoice_line::Model> = rises
                .iter()
                .enumerate()
                .map(|(i, d)| sla_invoice_line::Model {
                    invoice_id: id.clone(),
                    line_number: i as i32 + 1,
                    kind: d.kind.as_str().into(),
                    line_code: d.line_code.clone(),
                    description: why(d),
                    quantity_milli: 0,
                    unit_price: 0,
                    net: d.net,
                    vat_treatment: d.vat_treatment.as_str().into(),
                    vat: d.vat,
                    account: d.account.as_str().into(),
                })
                .collect();
            let invoice = sla_invoice::Model {
                id: id.clone(),
                period_key: format!("{}-A{n}", original.period_key),
                status: InvoiceStatus::Draft.as_str().into(),
                invoice_number: None,
                issued_at: None,
                net: lines.iter().map(|l| l.net).sum(),
                vat: lines.iter().map(|l| l.vat).sum(),
                row_version: previous_draft + 1,
                created_at: now,
                adjusts_invoice_id: Some(original.id.clone()),
                ..original.clone()
            };
            storage::insert_invoice(conn, invoice.clone(), lines.clone()).await?;
            done.supplementary = Some(InvoiceRows {
                invoice,
                lines,
                credit_notes: Vec::new(),
            });
        }
        if !cuts.is_empty() {
            let credited = storage::credited_per_line(conn, &original.id).await?;
            let mut note_lines = Vec::new();
            let mut reasons = Vec::new();
            for d in cuts {
                reasons.push(why(d));
                let (mut net, mut vat) = (-d.net, -d.vat);
                // The latest charge lines of the service line first; never more than a line has
                // left (the charge less what was credited on it).
                for l in orig.lines.iter().rev().filter(|l| {
                    l.line_code == d.line_code && l.kind != LineKind::ServiceCredit.as_str()
                }) {
                    let (cn, cv) = credited.get(&l.line_number).copied().unwrap_or_default();
                    let take_net = net.min(l.net - cn).max(0);
                    let take_vat = vat.min(l.vat - cv).max(0);
                    if take_net > 0 || take_vat > 0 {
                        note_lines.push((l.line_number, take_net, take_vat));
                        net -= take_net;
                        vat -= take_vat;
                    }
                }
            }
            if !note_lines.is_empty() {
                let note =
                    store_credit_note(conn, &original, &reasons.join("; "), &note_lines, true, now)
                        .await?;
                done.credit_note_id = Some(note.id);
            }
        }
        out.push(done);
    }
    Ok(out)
}

/// Why an invoice could not be issued.
#[derive(Debug)]
pub enum IssueError {
    AlreadyIssued,
    StaleEtag,
    Db(DbErr),
}

impl From<DbErr> for IssueError {
    fn from(e: DbErr) -> Self {
        IssueError::Db(e)
    }
}

/// Issues a draft at `expected_version`: the council's next invoice number and the next feed
/// position, taken under the council's counter lock in this transaction.
pub async fn issue(
    conn: &impl ConnectionTrait,
    invoice: &sla_invoice::Model,
    expected_version: i64,
    now: DateTime<Utc>,
) -> Result<(), IssueError> {
    // The etag first: a caller who lost a race to issue it is told to re-read (STALE_ETAG).
    if invoice.row_version != expected_version {
        return Err(IssueError::StaleEtag);
    }
    if InvoiceStatus::parse(&invoice.status) != Some(InvoiceStatus::Draft) {
        return Err(IssueError::AlreadyIssued);
    }
    let (seq, position) =
        storage::next_numbers(conn, &invoice.supplier_council_id, Sequence::Invoice).await?;
    let number = invoice_number(&invoice.supplier_council_id, seq);
    if !storage::mark_issued(conn, &invoice.id, expected_version, &number, now).await? {
        return Err(IssueError::StaleEtag);
    }
    let entry = feed_entry(invoice, position, "invoice_issued", None, now);
    storage::insert_feed_entry(conn, entry).await?;
    Ok(())
}

/// The feed's record that `invoice` was issued, or credited by `credit_note_id`.
fn feed_entry(
    invoice: &sla_invoice::Model,
    position: i64,
    kind: &str,
    credit_note_id: Option<String>,
    at: DateTime<Utc>,
) -> sla_feed_entry::Model {
    sla_feed_entry::Model {
        council_id: invoice.supplier_council_id.clone(),
        position,
        customer_almo_id: invoice.customer_almo_id.clone(),
        kind: kind.into(),
        invoice_id: invoice.id.clone(),
        credit_note_id,
        at,
    }
}

/// Stores a credit note whose lines have been checked against the charge, numbering it in the
/// council's credit-note sequence and putting it on the feed.
pub async fn store_credit_note(
    conn: &impl ConnectionTrait,
    invoice: &sla_invoice::Model,
    reason: &str,
    lines: &[(i32, i64, i64)],
    adjustment: bool,
    now: DateTime<Utc>,
) -> Result<sla_credit_note::Model, DbErr> {
    let (seq, position) =
        storage::next_numbers(conn, &invoice.supplier_council_id, Sequence::CreditNote).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let note = sla_credit_note::Model {
        id: id.clone(),
        council_id: invoice.supplier_council_id.clone(),
        credit_note_number: format!("SLA-CN-{}-{seq:06}", invoice.supplier_council_id),
        invoice_id: invoice.id.clone(),
        reason: reason.to_string(),
        issued_at: now,
        adjustment,
    };
    storage::insert_credit_note(
        conn,
        note.clone(),
        lines
            .iter()
            .map(|(n, net, vat)| sla_credit_note_line::Model {
                credit_note_id: id.clone(),
                invoice_line_number: *n,
                invoice_id: invoice.id.clone(),
                net: *net,
                vat: *vat,
            })
            .collect(),
    )
    .await?;
    let entry = feed_entry(invoice, position, "credit_note_issued", Some(id), now);
    storage::insert_feed_entry(conn, entry).await?;
    Ok(note)
}

/// One line's year, summed from issued invoices and their credit notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineYear {
    pub units_milli: i64,
    pub net_paid: i64,
    /// Days of fixed fee billed, turned into thousandths of a year once at the end so that
    /// rounding is not repeated per invoice.
    fixed_days: i64,
}

/// Per line code: units billed (a fixed fee counts years, in thousandths) and net paid (charges
/// less service credits and credit notes) on the agreement's issued invoices for year `fy`.
pub async fn line_years(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    fy: i32,
) -> Result<std::collections::BTreeMap<String, LineYear>, DbErr> {
    let invoices = storage::issued_invoices_in_year(conn, agreement_id, fy).await?;
    let mut out: std::collections::BTreeMap<String, LineYear> = Default::default();
    for inv in storage::load_invoices(conn, invoices).await? {
        let mut credited: std::collections::HashMap<i32, i64> = Default::default();
        for (_, lines) in &inv.credit_notes {
            for l in lines {
                *credited.entry(l.invoice_line_number).or_default() += l.net;
            }
        }
        for l in &inv.lines {
            let y = out.entry(l.line_code.clone()).or_default();
            y.net_paid += l.net - credited.get(&l.line_number).copied().unwrap_or(0);
            match LineKind::parse(&l.kind) {
                Some(LineKind::Usage) => y.units_milli += l.quantity_milli,
                Some(LineKind::FixedFee) => y.fixed_days += l.quantity_milli / 1000,
                _ => {}
            }
        }
    }
    for y in out.values_mut() {
        y.units_milli += years_milli(y.fixed_days, fy_days(fy));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_overlaps_its_quarter_and_a_quarter_its_months() {
        let m = BillingPeriod::new(2026, PeriodKind::Month, 5).unwrap();
        assert_eq!(overlapping_keys(&m), ["2026-M05", "2026-Q2"]);
        let q = BillingPeriod::new(2026, PeriodKind::Quarter, 4).unwrap();
        assert_eq!(
            overlapping_keys(&q),
            ["2026-Q4", "2026-M10", "2026-M11", "2026-M12"]
        );
    }
}
