//! `almo.sla_charging.v1.SlaChargingService`: decode -> check caller -> domain -> storage -> reply.

use std::collections::{BTreeMap, HashMap, HashSet};

use almo_auth::{OrgKind, Role};
use almo_db::Begun;
use almo_db::entity::{
    sla_agreement, sla_agreement_version, sla_dispute, sla_level_result, sla_usage,
};
use almo_proto::common::{self, Money};
use almo_proto::sla_charging::sla_charging_service_server::SlaChargingService;
use almo_proto::sla_charging::{self as pb, *};
use almo_server::{AppError, Principal, ServiceContext, Violations, paging};
use almo_server::{etag, timestamp as ts};
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use tonic::{Request, Response, Status, Streaming};

use crate::billing::{self, IssueError};
use crate::domain::agreement::{
    AgreementError, Consent, Direction, Party, ServiceLevel as DLevel, ServiceLine as DLine, Terms,
    VersionStatus, agree, check_variation,
};
use crate::domain::charging::{Account as DAccount, ChargingBasis as DBasis, VatTreatment as DVat};
use crate::domain::credit_note::{CreditError, CreditableLine, credit_line};
use crate::domain::dispute::{DisputeError, DisputeStatus, Resolution, may_dispute, resolve};
use crate::domain::invoice::{self, InvoiceLine as DInvoiceLine, InvoiceStatus, LineKind as DKind};
use crate::domain::period::{BillingPeriod, PeriodKind as DPeriodKind};
use crate::domain::proration::DaySpan;
use crate::domain::service_credit::missed;
use crate::domain::value_for_money::{
    ReviewStatus, actual_unit_cost, review_status, variance_basis_points,
};
use crate::storage::{self, InvoiceRows, Visibility};

pub const SERVICE_NAME: &str = "almo.sla_charging.v1.SlaChargingService";

/// Feed entries per ExportInvoices message.
const EXPORT_BATCH: u64 = 500;

/// Usage quantities above this (a billion units) are a keying error.
const MAX_QUANTITY_MILLI: i64 = 1_000_000_000_000;

#[derive(Clone)]
pub struct SlaCharging {
    ctx: ServiceContext,
}

impl SlaCharging {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

// ---- Access -------------------------------------------------------------------------------
// SLA data is narrower than the general rules: only the supplying council's finance team and
// the customer ALMO see it. The regulator, the inspectorate, the operator and council officers
// do not.

fn visibility(p: &Principal) -> Result<Visibility, AppError> {
    match (p.org.kind, p.caller.role) {
        (OrgKind::Council, Role::CouncilFinance) => Ok(Visibility::Supplier(p.org.id.clone())),
        (OrgKind::Almo, Role::AlmoFinance | Role::AlmoOfficer) => {
            Ok(Visibility::Customer(p.org.id.clone()))
        }
        _ => Err(AppError::PermissionDenied(format!(
            "SLA agreements and invoices are seen only by the supplying council's finance team \
             and the customer ALMO; {} ({}) is neither",
            p.org.id, p.caller.role
        ))),
    }
}

/// The caller is council finance of `council_id`.
fn require_supplier(p: &Principal, council_id: &str) -> Result<(), AppError> {
    match visibility(p)? {
        Visibility::Supplier(c) if c == council_id => Ok(()),
        _ => Err(AppError::PermissionDenied(format!(
            "only council finance of {council_id} may write its SLA data; the caller is {} ({})",
            p.org.id, p.caller.role
        ))),
    }
}

fn denied(p: &Principal, what: &str) -> AppError {
    AppError::PermissionDenied(format!(
        "{} ({}) may not see {what}",
        p.org.id, p.caller.role
    ))
}

// ---- Domain errors, mapped in one place ---------------------------------------------------

impl From<AgreementError> for AppError {
    fn from(e: AgreementError) -> Self {
        match e {
            AgreementError::AlreadyActive => {
                AppError::failed_precondition("VERSION_ACTIVE", e.to_string())
            }
            AgreementError::AlreadyAgreed => {
                AppError::failed_precondition("ALREADY_AGREED", e.to_string())
            }
            AgreementError::BadVariation(m) => AppError::invalid("effective_from_date", m),
        }
    }
}

fn issue_error(e: IssueError, id: &str) -> AppError {
    match e {
        IssueError::AlreadyIssued => AppError::failed_precondition(
            "INVOICE_ISSUED",
            format!(
                "invoice {id} has been issued and never changes; correct it with a credit note"
            ),
        ),
        IssueError::StaleEtag => AppError::stale_etag(&format!("slaInvoices/{id}")),
        IssueError::Db(e) => e.into(),
    }
}

fn credit_error(e: CreditError) -> String {
    e.to_string()
}

// ---- Decoding -----------------------------------------------------------------------------

fn parse_date(v: &mut Violations, field: &str, s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        v.add(field, "required: an ISO-8601 date such as 2026-04-01");
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                format!("{s:?} is not an ISO-8601 date such as 2026-04-01"),
            );
            None
        }
    }
}

fn pence(v: &mut Violations, field: &str, m: &Option<Money>) -> i64 {
    match m {
        None => {
            v.add(field, "required: pence and currency GBP");
            0
        }
        Some(m) => {
            if !(m.currency_code.is_empty() || m.currency_code == "GBP") {
                v.add(field, "currency_code must be GBP");
            }
            m.pence
        }
    }
}

fn money(p: i64) -> Option<Money> {
    Some(Money {
        pence: p,
        currency_code: "GBP".into(),
    })
}

/// A billing period: a month or a quarter.
fn billing_period(
    v: &mut Violations,
    field: &str,
    p: &Option<common::Period>,
    months_only: bool,
) -> Option<BillingPeriod> {
    let Some(p) = p else {
        v.add(field, "required");
        return None;
    };
    let kind = match common::PeriodKind::try_from(p.kind) {
        Ok(common::PeriodKind::Month) => DPeriodKind::Month,
        Ok(common::PeriodKind::Quarter) if !months_only => DPeriodKind::Quarter,
        _ if months_only => {
            v.add(
                format!("{field}.kind"),
                "usage is recorded per month: PERIOD_KIND_MONTH",
            );
            return None;
        }
        _ => {
            v.add(
                format!("{field}.kind"),
                "PERIOD_KIND_MONTH or PERIOD_KIND_QUARTER",
            );
            return None;
        }
    };
    let Some(year) = &p.year else {
        v.add(format!("{field}.year"), "required");
        return None;
    };
    match BillingPeriod::new(year.start_year, kind, p.number.max(0) as u32) {
        Ok(bp) => Some(bp),
        Err(e) => {
            v.add(format!("{field}.number"), e);
            None
        }
    }
}

fn period_to_proto(fy: i32, kind: DPeriodKind, number: u32) -> common::Period {
    common::Period {
        year: Some(common::FinancialYear { start_year: fy }),
        kind: match kind {
            DPeriodKind::Month => common::PeriodKind::Month,
            DPeriodKind::Quarter => common::PeriodKind::Quarter,
        } as i32,
        number: number as i32,
    }
}

fn vat_from(t: i32) -> Option<DVat> {
    match VatTreatment::try_from(t).ok()? {
        VatTreatment::Unspecified => None,
        VatTreatment::Standard => Some(DVat::Standard),
        VatTreatment::Reduced => Some(DVat::Reduced),
        VatTreatment::Zero => Some(DVat::Zero),
        VatTreatment::Exempt => Some(DVat::Exempt),
        VatTreatment::OutsideScope => Some(DVat::OutsideScope),
    }
}

fn vat_to(t: DVat) -> VatTreatment {
    match t {
        DVat::Standard => VatTreatment::Standard,
        DVat::Reduced => VatTreatment::Reduced,
        DVat::Zero => VatTreatment::Zero,
        DVat::Exempt => VatTreatment::Exempt,
        DVat::OutsideScope => VatTreatment::OutsideScope,
    }
}

fn account_to(a: DAccount) -> pb::Account {
    match a {
        DAccount::Hra => pb::Account::Hra,
        DAccount::GeneralFund => pb::Account::GeneralFund,
    }
}

fn decode_terms(
    v: &mut Violations,
    lines: &[pb::ServiceLine],
    levels: &[pb::ServiceLevel],
) -> Terms {
    let mut terms = Terms::default();
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        let basis = match pb::ChargingBasis::try_from(l.basis) {
            Ok(pb::ChargingBasis::FixedAnnualFee) => DBasis::FixedAnnualFee,
            Ok(pb::ChargingBasis::PerUnit) => DBasis::PerUnit {
                unit: l.unit_name.trim().to_string(),
            },
            Ok(pb::ChargingBasis::PerUser) => DBasis::PerUser,
            Ok(pb::ChargingBasis::PerFte) => DBasis::PerFte,
            _ => {
                v.add(f("basis"), "required: a CHARGING_BASIS_ value");
                DBasis::FixedAnnualFee
            }
        };
        let vat = vat_from(l.vat_treatment).unwrap_or_else(|| {
            v.add(f("vat_treatment"), "required: a VAT_TREATMENT_ value");
            DVat::Standard
        });
        let account = match pb::Account::try_from(l.account) {
            Ok(pb::Account::Hra) => DAccount::Hra,
            Ok(pb::Account::GeneralFund) => DAccount::GeneralFund,
            _ => {
                v.add(
                    f("account"),
                    "required: ACCOUNT_HRA or ACCOUNT_GENERAL_FUND",
                );
                DAccount::Hra
            }
        };
        terms.lines.push(DLine {
            code: l.code.trim().to_string(),
            service: l.service.trim().to_string(),
            basis,
            unit_price: pence(v, &f("unit_price"), &l.unit_price),
            vat,
            account,
            benchmark_unit_cost: pence(v, &f("benchmark_unit_cost"), &l.benchmark_unit_cost),
        });
    }
    for (i, s) in levels.iter().enumerate() {
        let direction = match pb::Direction::try_from(s.direction) {
            Ok(pb::Direction::HigherIsBetter) => Direction::HigherIsBetter,
            Ok(pb::Direction::LowerIsBetter) => Direction::LowerIsBetter,
            _ => {
                v.add(
                    format!("levels[{i}].direction"),
                    "required: a DIRECTION_ value",
                );
                Direction::HigherIsBetter
            }
        };
        terms.levels.push(DLevel {
            code: s.code.trim().to_string(),
            line_code: s.line_code.trim().to_string(),
            measure: s.measure.trim().to_string(),
            target: s.target,
            direction,
            credit_basis_points: s.credit_basis_points as i64,
        });
    }
    for (field, reason) in terms.violations() {
        v.add(field, reason);
    }
    terms
}

// ---- Encoding -----------------------------------------------------------------------------

fn terms_to_proto(t: &Terms) -> (Vec<pb::ServiceLine>, Vec<pb::ServiceLevel>) {
    let lines = t
        .lines
        .iter()
        .map(|l| pb::ServiceLine {
            code: l.code.clone(),
            service: l.service.clone(),
            basis: match l.basis {
                DBasis::FixedAnnualFee => pb::ChargingBasis::FixedAnnualFee,
                DBasis::PerUnit { .. } => pb::ChargingBasis::PerUnit,
                DBasis::PerUser => pb::ChargingBasis::PerUser,
                DBasis::PerFte => pb::ChargingBasis::PerFte,
            } as i32,
            unit_name: l.basis.unit_name().to_string(),
            unit_price: money(l.unit_price),
            vat_treatment: vat_to(l.vat) as i32,
            account: account_to(l.account) as i32,
            benchmark_unit_cost: money(l.benchmark_unit_cost),
        })
        .collect();
    let levels = t
        .levels
        .iter()
        .map(|s| pb::ServiceLevel {
            code: s.code.clone(),
            line_code: s.line_code.clone(),
            measure: s.measure.clone(),
            target: s.target,
            direction: match s.direction {
                Direction::HigherIsBetter => pb::Direction::HigherIsBetter,
                Direction::LowerIsBetter => pb::Direction::LowerIsBetter,
            } as i32,
            credit_basis_points: s.credit_basis_points as i32,
        })
        .collect();
    (lines, levels)
}

fn agreement_to_proto(
    a: &sla_agreement::Model,
    versions: &[sla_agreement_version::Model],
) -> Result<pb::Agreement, AppError> {
    let mut out = Vec::new();
    for v in versions {
        let (lines, levels) = terms_to_proto(&billing::terms_of(v)?);
        out.push(pb::AgreementVersion {
            version: v.version,
            effective_from_date: v.effective_from.to_string(),
            status: match VersionStatus::parse(&v.status) {
                Some(VersionStatus::Draft) => pb::VersionStatus::Draft,
                Some(VersionStatus::Active) => pb::VersionStatus::Active,
                None => pb::VersionStatus::Unspecified,
            } as i32,
            council_agreed: v.council_agreed,
            almo_agreed: v.almo_agreed,
            lines,
            levels,
        });
    }
    Ok(pb::Agreement {
        agreement_id: a.id.clone(),
        supplier_council_id: a.supplier_council_id.clone(),
        customer_almo_id: a.customer_almo_id.clone(),
        title: a.title.clone(),
        start_date: a.start_date.to_string(),
        end_date: a.end_date.to_string(),
        versions: out,
        etag: etag(a.row_version),
        create_time: Some(ts(a.created_at)),
    })
}

fn domain_line(l: &almo_db::entity::sla_invoice_line::Model) -> Result<DInvoiceLine, AppError> {
    let bad = |what: &str| {
        AppError::Internal(format!(
            "invoice line {}/{}: {what}",
            l.invoice_id, l.line_number
        ))
    };
    Ok(DInvoiceLine {
        kind: DKind::parse(&l.kind).ok_or_else(|| bad("kind"))?,
        line_code: l.line_code.clone(),
        description: l.description.clone(),
        quantity_milli: l.quantity_milli,
        unit_price: l.unit_price,
        net: l.net,
        vat_treatment: DVat::parse(&l.vat_treatment).ok_or_else(|| bad("vat"))?,
        vat: l.vat,
        account: DAccount::parse(&l.account).ok_or_else(|| bad("account"))?,
    })
}

fn invoice_to_proto(r: &InvoiceRows) -> Result<pb::Invoice, AppError> {
    let i = &r.invoice;
    let lines: Vec<DInvoiceLine> = r.lines.iter().map(domain_line).collect::<Result<_, _>>()?;
    let t = invoice::totals(&lines);
    let kind = if i.period_kind == "quarter" {
        DPeriodKind::Quarter
    } else {
        DPeriodKind::Month
    };
    let period = BillingPeriod {
        fy_start_year: i.fy_start_year,
        kind,
        number: i.period_number as u32,
    };
    Ok(pb::Invoice {
        invoice_id: i.id.clone(),
        agreement_id: i.agreement_id.clone(),
        supplier_council_id: i.supplier_council_id.clone(),
        customer_almo_id: i.customer_almo_id.clone(),
        period: Some(period_to_proto(
            i.fy_start_year,
            kind,
            i.period_number as u32,
        )),
        period_label: period.label(),
        status: match InvoiceStatus::parse(&i.status) {
            Some(InvoiceStatus::Draft) => pb::InvoiceStatus::Draft,
            Some(InvoiceStatus::Issued) => pb::InvoiceStatus::Issued,
            None => pb::InvoiceStatus::Unspecified,
        } as i32,
        invoice_number: i.invoice_number.clone().unwrap_or_default(),
        issue_time: i.issued_at.map(ts),
        lines: r
            .lines
            .iter()
            .zip(&lines)
            .map(|(row, l)| pb::InvoiceLine {
                line_number: row.line_number,
                kind: match l.kind {
                    DKind::FixedFee => pb::LineKind::FixedFee,
                    DKind::Usage => pb::LineKind::Usage,
                    DKind::ServiceCredit => pb::LineKind::ServiceCredit,
                } as i32,
                line_code: l.line_code.clone(),
                description: l.description.clone(),
                quantity_milli: l.quantity_milli,
                unit_price: money(l.unit_price),
                net: money(l.net),
                vat_treatment: vat_to(l.vat_treatment) as i32,
                vat: money(l.vat),
                account: account_to(l.account) as i32,
            })
            .collect(),
        account_totals: t
            .by_account
            .iter()
            .map(|(a, at)| pb::AccountTotal {
                account: account_to(*a) as i32,
                net: money(at.net),
                vat: money(at.vat),
                gross: money(at.gross()),
            })
            .collect(),
        net: money(t.net),
        vat: money(t.vat),
        gross: money(t.gross()),
        credit_notes: r
            .credit_notes
            .iter()
            .map(|(n, ls)| pb::CreditNote {
                credit_note_id: n.id.clone(),
                credit_note_number: n.credit_note_number.clone(),
                invoice_id: n.invoice_id.clone(),
                reason: n.reason.clone(),
                lines: ls
                    .iter()
                    .map(|l| pb::CreditNoteLine {
                        invoice_line_number: l.invoice_line_number,
                        net: money(l.net),
                        vat: money(l.vat),
                    })
                    .collect(),
                gross: money(ls.iter().map(|l| l.net + l.vat).sum()),
                issue_time: Some(ts(n.issued_at)),
            })
            .collect(),
        etag: etag(i.row_version),
    })
}

fn usage_to_proto(u: &sla_usage::Model) -> pb::UsageRecord {
    let (fy, n) = u
        .period_key
        .split_once("-M")
        .and_then(|(y, m)| Some((y.parse().ok()?, m.parse().ok()?)))
        .unwrap_or((0, 0));
    pb::UsageRecord {
        record_id: u.record_id.clone(),
        agreement_id: u.agreement_id.clone(),
        line_code: u.line_code.clone(),
        period: Some(period_to_proto(fy, DPeriodKind::Month, n)),
        quantity_milli: u.quantity_milli,
        corrects_record_id: u.corrects_record_id.clone().unwrap_or_default(),
        superseded: u.superseded,
    }
}

// ---- Usage --------------------------------------------------------------------------------

/// Checked usage, ready to store.
struct UsageBatch {
    rows: Vec<sla_usage::Model>,
    /// Index in the request, for error messages.
    index: Vec<usize>,
    /// The supplying councils of the agreements touched.
    councils: Vec<String>,
}

impl SlaCharging {
    /// Checks usage records against their agreements (which must be the caller's council's),
    /// naming bad fields `{prefix}{i}.field`.
    async fn check_usage(
        &self,
        conn: &impl ConnectionTrait,
        p: &Principal,
        records: &[pb::UsageRecord],
        prefix: impl Fn(usize) -> String,
    ) -> Result<UsageBatch, AppError> {
        let mut v = Violations::new();
        let mut agreements: HashMap<String, Option<(sla_agreement::Model, Vec<Terms>)>> =
            HashMap::new();
        let now = Utc::now();
        let mut batch = UsageBatch {
            rows: Vec::with_capacity(records.len()),
            index: Vec::with_capacity(records.len()),
            councils: Vec::new(),
        };
        for (i, r) in records.iter().enumerate() {
            let f = |name: &str| format!("{}.{name}", prefix(i));
            let record_id = r.record_id.trim();
            v.check(
                record_id.is_empty() || record_id.len() > 100,
                &f("record_id"),
                "required: the sender's id for this record, at most 100 characters",
            );
            v.check(
                !(0..=MAX_QUANTITY_MILLI).contains(&r.quantity_milli),
                &f("quantity_milli"),
                "thousandths of a unit, from 0 to a billion units",
            );
            let corrects = Some(r.corrects_record_id.trim().to_string()).filter(|c| !c.is_empty());
            v.check(
                corrects.as_deref() == Some(record_id),
                &f("corrects_record_id"),
                "a record cannot correct itself",
            );
            let period = billing_period(&mut v, &f("period"), &r.period, true);
            let agreement_id = r.agreement_id.trim().to_string();
            if agreement_id.is_empty() {
                v.add(f("agreement_id"), "required");
                continue;
            }
            if !agreements.contains_key(&agreement_id) {
                let found = match storage::get_agreement(conn, &agreement_id).await? {
                    Some((a, versions)) => {
                        require_supplier(p, &a.supplier_council_id)?;
                        batch.councils.push(a.supplier_council_id.clone());
                        let terms = billing::active_terms(&versions)?
                            .into_iter()
                            .map(|(_, t)| t)
                            .collect();
                        Some((a, terms))
                    }
                    None => None,
                };
                agreements.insert(agreement_id.clone(), found);
            }
            let Some((a, terms)) = agreements.get(&agreement_id).and_then(|x| x.as_ref()) else {
                // Not found: refuse like any agreement the caller may not see.
                return Err(denied(p, &format!("agreement {agreement_id:?}")));
            };
            let line = terms.iter().rev().find_map(|t| t.line(r.line_code.trim()));
            match line {
                None => v.add(
                    f("line_code"),
                    format!(
                        "{:?} is not a line of an active version of {}",
                        r.line_code, a.id
                    ),
                ),
                Some(l) if !l.basis.is_usage_based() => v.add(
                    f("line_code"),
                    format!("{} is a fixed annual fee: it takes no usage", l.code),
                ),
                Some(_) => {}
            }
            if let Some(period) = period {
                let term = billing::term_of(a);
                let span = DaySpan::new(period.start(), period.end()).expect("period");
                v.check(
                    span.intersect(&term).is_none(),
                    &f("period"),
                    format!(
                        "outside the agreement's term {} to {}",
                        term.first, term.last
                    ),
                );
                batch.rows.push(sla_usage::Model {
                    id: 0,
                    agreement_id,
                    record_id: record_id.to_string(),
                    line_code: r.line_code.trim().to_string(),
                    period_key: period.key(),
                    quantity_milli: r.quantity_milli,
                    corrects_record_id: corrects,
                    superseded: false,
                    recorded_at: now,
                });
                batch.index.push(i);
            }
        }
        v.into_result()?;
        Ok(batch)
    }

    /// Stores checked usage inside `txn`: repeats of stored records are skipped, a record id
    /// reused for other usage is refused, corrections supersede what they correct, and usage
    /// for a period already invoiced is refused. Returns (recorded, already recorded).
    async fn store_usage(
        txn: &impl ConnectionTrait,
        batch: UsageBatch,
        prefix: impl Fn(usize) -> String,
    ) -> Result<(Vec<sla_usage::Model>, i64), AppError> {
        let mut v = Violations::new();
        let mut by_agreement: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (k, r) in batch.rows.iter().enumerate() {
            by_agreement
                .entry(r.agreement_id.clone())
                .or_default()
                .push(k);
        }
        let mut fresh = Vec::new();
        let mut already = 0;
        let councils: std::collections::BTreeSet<&str> =
            batch.councils.iter().map(String::as_str).collect();
        for council in councils {
            storage::lock_council(txn, council).await?;
        }
        for (agreement_id, ks) in by_agreement {
            let ids: Vec<String> = ks
                .iter()
                .flat_map(|k| {
                    let r = &batch.rows[*k];
                    std::iter::once(r.record_id.clone()).chain(r.corrects_record_id.clone())
                })
                .collect();
            let mut stored: HashMap<String, sla_usage::Model> =
                storage::usage_by_record_ids(txn, &agreement_id, &ids)
                    .await?
                    .into_iter()
                    .map(|u| (u.record_id.clone(), u))
                    .collect();
            let mut invoiced: HashMap<String, bool> = HashMap::new();
            for k in ks {
                let r = &batch.rows[k];
                let f = |name: &str| format!("{}.{name}", prefix(batch.index[k]));
                if let Some(s) = stored.get(&r.record_id) {
                    if s.line_code == r.line_code
                        && s.period_key == r.period_key
                        && s.quantity_milli == r.quantity_milli
                        && s.corrects_record_id == r.corrects_record_id
                    {
                        already += 1;
                    } else {
                        v.add(
                            f("record_id"),
                            format!("{} was already recorded with other usage; a change is a new record that corrects it", r.record_id),
                        );
                    }
                    continue;
                }
                if let Some(c) = &r.corrects_record_id {
                    match stored.get(c) {
                        None => v.add(f("corrects_record_id"), format!("no usage record {c:?} on this agreement")),
                        Some(old) if old.superseded => v.add(
                            f("corrects_record_id"),
                            format!("{c} has already been corrected; correct the latest record"),
                        ),
                        Some(old) if old.line_code != r.line_code || old.period_key != r.period_key => v.add(
                            f("corrects_record_id"),
                            "a correction is for the same line and month as the record it corrects",
                        ),
                        Some(_) => {}
                    }
                }
                if !invoiced.contains_key(&r.period_key) {
                    let month = parse_month_key(&r.period_key);
                    let keys = billing::overlapping_keys(&month);
                    let issued = storage::invoices_for_periods(txn, &agreement_id, &keys)
                        .await?
                        .iter()
                        .any(|i| i.status == "issued");
                    invoiced.insert(r.period_key.clone(), issued);
                }
                if invoiced[&r.period_key] {
                    return Err(AppError::failed_precondition(
                        "PERIOD_INVOICED",
                        format!(
                            "{} has been invoiced to the ALMO for {}; correct the invoice with a credit note",
                            agreement_id, r.period_key
                        ),
                    ));
                }
                // Mark what it corrects so a second correction of the same record in this
                // batch is refused like one in a later call.
                if let Some(c) = &r.corrects_record_id
                    && let Some(old) = stored.get_mut(c)
                {
                    old.superseded = true;
                }
                stored.insert(r.record_id.clone(), r.clone());
                fresh.push(r.clone());
            }
        }
        v.into_result()?;
        storage::insert_usage(txn, fresh.clone()).await?;
        Ok((fresh, already))
    }
}

fn parse_month_key(key: &str) -> BillingPeriod {
    let (y, m) = key.split_once("-M").expect("a month key");
    BillingPeriod {
        fy_start_year: y.parse().expect("year"),
        kind: DPeriodKind::Month,
        number: m.parse().expect("month"),
    }
}

fn parse_watermark(w: &str) -> Result<i64, AppError> {
    let w = w.trim();
    if w.is_empty() {
        return Ok(0);
    }
    w.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        AppError::invalid(
            "watermark",
            "the watermark of a previous ListInvoices response, or empty",
        )
    })
}

/// Checks each (line number, net) credit against what the line charged and what has been
/// credited already; returns (line number, net, VAT) to store. `field(i, name)` names the
/// request field of entry `i`.
async fn checked_credits(
    txn: &impl ConnectionTrait,
    rows: &InvoiceRows,
    requested: &[(i32, i64)],
    field: impl Fn(usize, &str) -> String,
) -> Result<Vec<(i32, i64, i64)>, AppError> {
    let credited = storage::credited_per_line(txn, &rows.invoice.id)
        .await
        .map_err(AppError::from)?;
    let mut v = Violations::new();
    let mut lines = Vec::new();
    for (i, (number, net)) in requested.iter().copied().enumerate() {
        let Some(row) = rows.lines.iter().find(|l| l.line_number == number) else {
            v.add(
                field(i, "invoice_line_number"),
                format!("the invoice has no line {number}"),
            );
            continue;
        };
        let line = domain_line(row)?;
        let (cn, cv) = credited.get(&number).copied().unwrap_or_default();
        match credit_line(
            &CreditableLine {
                net: line.net,
                vat: line.vat,
                treatment: line.vat_treatment,
                credited_net: cn,
                credited_vat: cv,
            },
            net,
        ) {
            Ok((n, vat)) => lines.push((number, n, vat)),
            Err(e) => v.add(field(i, "net"), credit_error(e)),
        }
    }
    v.into_result()?;
    Ok(lines)
}

fn dispute_to_proto(d: &sla_dispute::Model) -> pb::Dispute {
    pb::Dispute {
        dispute_id: d.id.clone(),
        invoice_id: d.invoice_id.clone(),
        invoice_line_number: d.invoice_line_number,
        supplier_council_id: d.supplier_council_id.clone(),
        customer_almo_id: d.customer_almo_id.clone(),
        reason: d.reason.clone(),
        status: match DisputeStatus::parse(&d.status) {
            Some(DisputeStatus::Open) => pb::DisputeStatus::Open,
            Some(DisputeStatus::Credited) => pb::DisputeStatus::Credited,
            Some(DisputeStatus::Rejected) => pb::DisputeStatus::Rejected,
            None => pb::DisputeStatus::Unspecified,
        } as i32,
        raise_time: Some(ts(d.raised_at)),
        response: d.response.clone().unwrap_or_default(),
        credit_note_id: d.credit_note_id.clone().unwrap_or_default(),
        resolve_time: d.resolved_at.map(ts),
        etag: etag(d.row_version),
    }
}

impl From<DisputeError> for AppError {
    fn from(e: DisputeError) -> Self {
        match e {
            DisputeError::AlreadyResolved => {
                AppError::failed_precondition("DISPUTE_RESOLVED", e.to_string())
            }
            DisputeError::AlreadyDisputed => {
                AppError::failed_precondition("ALREADY_DISPUTED", e.to_string())
            }
            DisputeError::ResponseTooShort => AppError::invalid("response", e.to_string()),
        }
    }
}

impl SlaCharging {
    /// Whose feed the caller reads: its council's, narrowed to one ALMO (always its own for an
    /// ALMO; optional, and one of its own ALMOs, for the council).
    async fn feed_of(
        &self,
        p: &Principal,
        vis: &Visibility,
        customer_almo_id: &str,
    ) -> Result<(String, Option<String>), AppError> {
        let wanted = Some(customer_almo_id.trim().to_string()).filter(|a| !a.is_empty());
        Ok(match vis {
            Visibility::Supplier(c) => {
                if let Some(a) = &wanted {
                    match self.ctx.access.scope(a).await? {
                        Some(s) if s.council_id.as_deref() == Some(c.as_str()) => {}
                        _ => return Err(denied(p, &format!("the invoices of {a:?}"))),
                    }
                }
                (c.clone(), wanted)
            }
            Visibility::Customer(a) => {
                if wanted.as_ref().is_some_and(|w| w != a) {
                    return Err(denied(p, "another ALMO's invoices"));
                }
                let council = p
                    .org
                    .council_id
                    .clone()
                    .ok_or_else(|| AppError::Internal(format!("ALMO {a} has no council")))?;
                (council, Some(a.clone()))
            }
        })
    }
}

/// The feed entries after `after`, at most `size`, with each invoice as it stands.
async fn feed_page(
    conn: &impl ConnectionTrait,
    council: &str,
    almo: Option<&str>,
    after: i64,
    size: u64,
) -> Result<ListInvoicesResponse, AppError> {
    let mut entries = storage::feed_after(conn, council, almo, after, size + 1)
        .await
        .map_err(AppError::from)?;
    let has_more = entries.len() as u64 > size;
    entries.truncate(size as usize);
    let mut ids: Vec<String> = entries.iter().map(|e| e.invoice_id.clone()).collect();
    let mut seen = HashSet::new();
    ids.retain(|i| seen.insert(i.clone()));
    let invoices = storage::invoices_by_ids(conn, &ids)
        .await
        .map_err(AppError::from)?;
    let loaded: HashMap<String, pb::Invoice> = storage::load_invoices(conn, invoices)
        .await
        .map_err(AppError::from)?
        .iter()
        .map(|r| Ok((r.invoice.id.clone(), invoice_to_proto(r)?)))
        .collect::<Result<_, AppError>>()?;
    let watermark = entries
        .last()
        .map(|e| e.position)
        .unwrap_or(after)
        .to_string();
    Ok(ListInvoicesResponse {
        entries: entries
            .into_iter()
            .map(|e| pb::InvoiceFeedEntry {
                position: e.position,
                kind: match e.kind.as_str() {
                    "invoice_issued" => FeedEventKind::InvoiceIssued,
                    _ => FeedEventKind::CreditNoteIssued,
                } as i32,
                invoice: loaded.get(&e.invoice_id).cloned(),
                credit_note_id: e.credit_note_id.unwrap_or_default(),
            })
            .collect(),
        watermark,
        has_more,
    })
}

#[tonic::async_trait]
impl SlaChargingService for SlaCharging {
    async fn create_agreement(
        &self,
        request: Request<CreateAgreementRequest>,
    ) -> Result<Response<CreateAgreementResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council = r.supplier_council_id.trim();
        let almo = r.customer_almo_id.trim();
        v.check(council.is_empty(), "supplier_council_id", "required");
        v.check(almo.is_empty(), "customer_almo_id", "required");
        let title = r.title.trim();
        v.check(
            title.is_empty() || title.chars().count() > 200,
            "title",
            "required, at most 200 characters",
        );
        let start = parse_date(&mut v, "start_date", &r.start_date);
        let end = parse_date(&mut v, "end_date", &r.end_date);
        if let (Some(s), Some(e)) = (start, end) {
            v.check(e < s, "end_date", "must not be before start_date");
        }
        let terms = decode_terms(&mut v, &r.lines, &r.levels);
        v.into_result()?;
        require_supplier(&p, council)?;
        match self.ctx.access.scope(almo).await? {
            Some(s) if s.kind == OrgKind::Almo && s.council_id.as_deref() == Some(council) => {}
            _ => {
                return Err(AppError::invalid(
                    "customer_almo_id",
                    format!("{almo:?} is not an ALMO of {council}"),
                )
                .into());
            }
        }
        let (start, end) = (start.expect("checked"), end.expect("checked"));
        // A wound-up ALMO buys nothing more: its SLAs ended with it.
        let ended = almo_db::entity::organisation::Entity::find_by_id(almo.to_string())
            .one(self.ctx.db.conn())
            .await
            .map_err(AppError::from)?
            .and_then(|o| o.end_date);
        if let Some(e) = ended.filter(|e| *e < start) {
            return Err(AppError::invalid(
                "customer_almo_id",
                format!("{almo} was wound up on {e}, before the agreement would start"),
            )
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "CreateAgreement", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let now = Utc::now();
        let a = sla_agreement::Model {
            id: format!("sla-{}", uuid::Uuid::new_v4().simple()),
            supplier_council_id: council.to_string(),
            customer_almo_id: almo.to_string(),
            title: title.to_string(),
            start_date: start,
            end_date: end,
            row_version: 1,
            created_at: now,
            updated_at: now,
        };
        let version = sla_agreement_version::Model {
            agreement_id: a.id.clone(),
            version: 1,
            effective_from: start,
            status: VersionStatus::Draft.as_str().into(),
            council_agreed: false,
            almo_agreed: false,
            terms: serde_json::to_string(&terms).map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: now,
        };
        storage::insert_agreement(write.txn(), a.clone())
            .await
            .map_err(AppError::from)?;
        storage::insert_version(write.txn(), version.clone())
            .await
            .map_err(AppError::from)?;
        let resp = CreateAgreementResponse {
            agreement: Some(agreement_to_proto(&a, &[version])?),
        };
        write
            .finish(&resp, &format!("slaAgreements/{}", a.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn agree_agreement_version(
        &self,
        request: Request<AgreeAgreementVersionRequest>,
    ) -> Result<Response<AgreeAgreementVersionResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.agreement_id.trim().is_empty(), "agreement_id", "required");
        v.check(r.version < 1, "version", "the version to agree, 1 or more");
        v.require_etag(&r.etag, "the agreement's etag as last read");
        v.into_result()?;
        let vis = visibility(&p)?;
        // Agreeing is a finance decision on both sides.
        let party = match (&vis, p.caller.role) {
            (Visibility::Supplier(_), _) => Party::Council,
            (Visibility::Customer(_), Role::AlmoFinance) => Party::Almo,
            _ => {
                return Err(AppError::PermissionDenied(
                    "only ALMO finance agrees an SLA on the ALMO's behalf".into(),
                )
                .into());
            }
        };
        let ctx = p.call_context(SERVICE_NAME, "AgreeAgreementVersion", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (a, mut versions) = storage::get_agreement(write.txn(), r.agreement_id.trim())
            .await
            .map_err(AppError::from)?
            .filter(|(a, _)| vis.sees_agreement(a))
            .ok_or_else(|| denied(&p, &format!("agreement {:?}", r.agreement_id)))?;
        if etag(a.row_version) != r.etag.trim() {
            return Err(AppError::stale_etag(&format!("slaAgreements/{}", a.id)).into());
        }
        let Some(ver) = versions.iter_mut().find(|x| x.version == r.version) else {
            return Err(AppError::invalid(
                "version",
                format!("{} has no version {}", a.id, r.version),
            )
            .into());
        };
        let status = VersionStatus::parse(&ver.status)
            .ok_or_else(|| AppError::Internal(format!("status {:?}", ver.status)))?;
        let (status, consent) = agree(
            status,
            Consent {
                council: ver.council_agreed,
                almo: ver.almo_agreed,
            },
            party,
        )
        .map_err(AppError::from)?;
        ver.status = status.as_str().into();
        ver.council_agreed = consent.council;
        ver.almo_agreed = consent.almo;
        storage::update_version_consent(write.txn(), ver)
            .await
            .map_err(AppError::from)?;
        let now = Utc::now();
        if !storage::bump_agreement(write.txn(), &a.id, a.row_version, now)
            .await
            .map_err(AppError::from)?
        {
            return Err(AppError::stale_etag(&format!("slaAgreements/{}", a.id)).into());
        }
        let mut a = a;
        a.row_version += 1;
        a.updated_at = now;
        let resp = AgreeAgreementVersionResponse {
            agreement: Some(agreement_to_proto(&a, &versions)?),
        };
        write
            .finish(
                &resp,
                &format!("slaAgreements/{}/versions/{}", a.id, r.version),
            )
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn vary_agreement(
        &self,
        request: Request<VaryAgreementRequest>,
    ) -> Result<Response<VaryAgreementResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.agreement_id.trim().is_empty(), "agreement_id", "required");
        v.require_etag(&r.etag, "the agreement's etag as last read");
        let from = parse_date(&mut v, "effective_from_date", &r.effective_from_date);
        let terms = decode_terms(&mut v, &r.lines, &r.levels);
        v.into_result()?;
        let from = from.expect("checked");
        let vis = visibility(&p)?;
        let ctx = p.call_context(SERVICE_NAME, "VaryAgreement", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (a, mut versions) = storage::get_agreement(write.txn(), r.agreement_id.trim())
            .await
            .map_err(AppError::from)?
            .filter(|(a, _)| vis.sees_agreement(a))
            .ok_or_else(|| denied(&p, &format!("agreement {:?}", r.agreement_id)))?;
        require_supplier(&p, &a.supplier_council_id)?;
        if etag(a.row_version) != r.etag.trim() {
            return Err(AppError::stale_etag(&format!("slaAgreements/{}", a.id)).into());
        }
        let latest = versions.last().expect("an agreement has version 1");
        if VersionStatus::parse(&latest.status) != Some(VersionStatus::Active) {
            return Err(AppError::failed_precondition(
                "DRAFT_PENDING",
                format!(
                    "version {} is still a draft: agree it before varying it",
                    latest.version
                ),
            )
            .into());
        }
        check_variation(billing::term_of(&a), latest.effective_from, from)
            .map_err(AppError::from)?;
        let now = Utc::now();
        let version = sla_agreement_version::Model {
            agreement_id: a.id.clone(),
            version: latest.version + 1,
            effective_from: from,
            status: VersionStatus::Draft.as_str().into(),
            council_agreed: false,
            almo_agreed: false,
            terms: serde_json::to_string(&terms).map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: now,
        };
        storage::insert_version(write.txn(), version.clone())
            .await
            .map_err(AppError::from)?;
        if !storage::bump_agreement(write.txn(), &a.id, a.row_version, now)
            .await
            .map_err(AppError::from)?
        {
            return Err(AppError::stale_etag(&format!("slaAgreements/{}", a.id)).into());
        }
        versions.push(version);
        let mut a = a;
        a.row_version += 1;
        a.updated_at = now;
        let resp = VaryAgreementResponse {
            agreement: Some(agreement_to_proto(&a, &versions)?),
        };
        write
            .finish(&resp, &format!("slaAgreements/{}", a.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn get_agreement(
        &self,
        request: Request<GetAgreementRequest>,
    ) -> Result<Response<GetAgreementResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let id = request.get_ref().agreement_id.trim();
        if id.is_empty() {
            return Err(AppError::invalid("agreement_id", "required").into());
        }
        let (a, versions) = storage::get_agreement(self.ctx.db.conn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|(a, _)| vis.sees_agreement(a))
            .ok_or_else(|| denied(&p, &format!("agreement {id:?}")))?;
        Ok(Response::new(GetAgreementResponse {
            agreement: Some(agreement_to_proto(&a, &versions)?),
        }))
    }

    async fn list_agreements(
        &self,
        request: Request<ListAgreementsRequest>,
    ) -> Result<Response<ListAgreementsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let almo = Some(r.customer_almo_id.trim()).filter(|a| !a.is_empty());
        let mut rows = storage::list_agreements(self.ctx.db.conn(), &vis, almo, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|(a, _)| paging::encode_token(&a.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListAgreementsResponse {
            agreements: rows
                .iter()
                .map(|(a, v)| agreement_to_proto(a, v))
                .collect::<Result<_, _>>()?,
            next_page_token,
        }))
    }

    async fn record_usage(
        &self,
        request: Request<RecordUsageRequest>,
    ) -> Result<Response<RecordUsageResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        visibility(&p)?;
        let r = request.get_ref();
        let Some(record) = &r.record else {
            return Err(AppError::invalid("record", "required").into());
        };
        let batch = self
            .check_usage(self.ctx.db.conn(), &p, std::slice::from_ref(record), |_| {
                "record".into()
            })
            .await?;
        let ctx = p.call_context(SERVICE_NAME, "RecordUsage", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (fresh, already) = Self::store_usage(write.txn(), batch, |_| "record".into()).await?;
        let stored = match fresh.first() {
            Some(u) => u.clone(),
            None => storage::usage_by_record_ids(
                write.txn(),
                record.agreement_id.trim(),
                &[record.record_id.trim().to_string()],
            )
            .await
            .map_err(AppError::from)?
            .pop()
            .ok_or_else(|| AppError::Internal("usage vanished".into()))?,
        };
        let resp = RecordUsageResponse {
            record: Some(usage_to_proto(&stored)),
            already_recorded: already > 0,
        };
        write
            .finish(
                &resp,
                &format!(
                    "slaAgreements/{}/usage/{}",
                    stored.agreement_id, stored.record_id
                ),
            )
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn bulk_record_usage(
        &self,
        request: Request<Streaming<BulkRecordUsageRequest>>,
    ) -> Result<Response<BulkRecordUsageResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        visibility(&p)?;
        let mut stream = request.into_inner();
        // The whole stream is one write: one transaction, one idempotency key over every record.
        let mut all = BulkRecordUsageRequest::default();
        while let Some(msg) = stream.message().await? {
            if all.request_id.is_empty() {
                all.request_id = msg.request_id.clone();
            } else if msg.request_id != all.request_id && !msg.request_id.is_empty() {
                return Err(AppError::invalid(
                    "request_id",
                    "the same request_id in every message of the stream",
                )
                .into());
            }
            all.records.extend(msg.records);
        }
        let prefix = |i: usize| format!("records[{i}]");
        let batch = self
            .check_usage(self.ctx.db.conn(), &p, &all.records, prefix)
            .await?;
        let ctx = p.call_context(SERVICE_NAME, "BulkRecordUsage", &all.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, &all)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (fresh, already) = Self::store_usage(write.txn(), batch, prefix).await?;
        let resp = BulkRecordUsageResponse {
            recorded: fresh.len() as i64,
            already_recorded: already,
        };
        write
            .finish(&resp, &format!("councils/{}/slaUsage", p.org.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn record_service_level_result(
        &self,
        request: Request<RecordServiceLevelResultRequest>,
    ) -> Result<Response<RecordServiceLevelResultResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        visibility(&p)?;
        let r = request.get_ref();
        let Some(res) = &r.result else {
            return Err(AppError::invalid("result", "required").into());
        };
        let mut v = Violations::new();
        v.check(
            res.agreement_id.trim().is_empty(),
            "result.agreement_id",
            "required",
        );
        v.check(
            res.level_code.trim().is_empty(),
            "result.level_code",
            "required",
        );
        v.check(!res.value.is_finite(), "result.value", "must be a number");
        let period = billing_period(&mut v, "result.period", &res.period, false);
        v.into_result()?;
        let period = period.expect("checked");
        let ctx = p.call_context(SERVICE_NAME, "RecordServiceLevelResult", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let (a, versions) = storage::get_agreement(write.txn(), res.agreement_id.trim())
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| denied(&p, &format!("agreement {:?}", res.agreement_id)))?;
        require_supplier(&p, &a.supplier_council_id)?;
        storage::lock_council(write.txn(), &a.supplier_council_id)
            .await
            .map_err(AppError::from)?;
        let terms = billing::active_terms(&versions).map_err(AppError::from)?;
        let Some(level) = terms
            .iter()
            .rev()
            .find_map(|(_, t)| t.level(res.level_code.trim()))
            .cloned()
        else {
            return Err(AppError::invalid(
                "result.level_code",
                format!(
                    "{:?} is not a service level of an active version of {}",
                    res.level_code, a.id
                ),
            )
            .into());
        };
        let keys = billing::overlapping_keys(&period);
        if storage::invoices_for_periods(write.txn(), &a.id, &keys)
            .await
            .map_err(AppError::from)?
            .iter()
            .any(|i| i.status == "issued")
        {
            return Err(AppError::failed_precondition(
                "PERIOD_INVOICED",
                format!(
                    "{} has been invoiced for {}; correct it with a credit note",
                    a.id,
                    period.label()
                ),
            )
            .into());
        }
        storage::upsert_result(
            write.txn(),
            sla_level_result::Model {
                agreement_id: a.id.clone(),
                level_code: level.code.clone(),
                period_key: period.key(),
                value: res.value,
                recorded_at: Utc::now(),
            },
        )
        .await
        .map_err(AppError::from)?;
        let resp = RecordServiceLevelResultResponse {
            result: Some(pb::ServiceLevelResult {
                agreement_id: a.id.clone(),
                level_code: level.code.clone(),
                period: Some(period_to_proto(
                    period.fy_start_year,
                    period.kind,
                    period.number,
                )),
                value: res.value,
                missed: missed(&level, res.value),
            }),
        };
        write
            .finish(
                &resp,
                &format!(
                    "slaAgreements/{}/results/{}/{}",
                    a.id,
                    level.code,
                    period.key()
                ),
            )
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn run_billing(
        &self,
        request: Request<RunBillingRequest>,
    ) -> Result<Response<RunBillingResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council = r.supplier_council_id.trim();
        v.check(council.is_empty(), "supplier_council_id", "required");
        let period = billing_period(&mut v, "period", &r.period, false);
        v.into_result()?;
        require_supplier(&p, council)?;
        let period = period.expect("checked");
        let ctx = p.call_context(SERVICE_NAME, "RunBilling", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let out = billing::run(write.txn(), council, period, Utc::now())
            .await
            .map_err(AppError::from)?;
        let resp = RunBillingResponse {
            invoices: out
                .drafts
                .iter()
                .map(invoice_to_proto)
                .collect::<Result<_, _>>()?,
            already_issued_agreement_ids: out.already_issued,
        };
        write
            .finish(
                &resp,
                &format!("councils/{council}/billingRuns/{}", period.key()),
            )
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn issue_invoice(
        &self,
        request: Request<IssueInvoiceRequest>,
    ) -> Result<Response<IssueInvoiceResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = r.invoice_id.trim();
        v.check(id.is_empty(), "invoice_id", "required");
        v.require_etag(&r.etag, "the draft's etag as reviewed");
        v.into_result()?;
        let vis = visibility(&p)?;
        let ctx = p.call_context(SERVICE_NAME, "IssueInvoice", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let rows = storage::get_invoice(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|i| vis.sees_invoice(&i.invoice))
            .ok_or_else(|| denied(&p, &format!("invoice {id:?}")))?;
        require_supplier(&p, &rows.invoice.supplier_council_id)?;
        let expected = r
            .etag
            .trim()
            .strip_prefix('v')
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(-1);
        let now = Utc::now();
        billing::issue(write.txn(), &rows.invoice, expected, now)
            .await
            .map_err(|e| issue_error(e, id))?;
        let issued = storage::get_invoice(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal("invoice vanished".into()))?;
        let resp = IssueInvoiceResponse {
            invoice: Some(invoice_to_proto(&issued)?),
        };
        write
            .finish(&resp, &format!("slaInvoices/{id}"))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn get_invoice(
        &self,
        request: Request<GetInvoiceRequest>,
    ) -> Result<Response<GetInvoiceResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let id = request.get_ref().invoice_id.trim();
        if id.is_empty() {
            return Err(AppError::invalid("invoice_id", "required").into());
        }
        let rows = storage::get_invoice(self.ctx.db.conn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|i| vis.sees_invoice(&i.invoice))
            .ok_or_else(|| denied(&p, &format!("invoice {id:?}")))?;
        Ok(Response::new(GetInvoiceResponse {
            invoice: Some(invoice_to_proto(&rows)?),
        }))
    }

    async fn list_invoices(
        &self,
        request: Request<ListInvoicesRequest>,
    ) -> Result<Response<ListInvoicesResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("watermark", parse_watermark(&r.watermark));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let (council, almo) = self.feed_of(&p, &vis, &r.customer_almo_id).await?;
        let page = feed_page(self.ctx.db.conn(), &council, almo.as_deref(), after, size).await?;
        Ok(Response::new(page))
    }

    async fn create_credit_note(
        &self,
        request: Request<CreateCreditNoteRequest>,
    ) -> Result<Response<CreateCreditNoteResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = r.invoice_id.trim();
        v.check(id.is_empty(), "invoice_id", "required");
        v.check(
            r.reason.trim().is_empty() || r.reason.chars().count() > 2000,
            "reason",
            "required: why the invoice is being corrected, at most 2000 characters",
        );
        v.check(
            r.lines.is_empty(),
            "lines",
            "at least one invoice line to credit",
        );
        let mut requested = Vec::new();
        let mut numbers = HashSet::new();
        for (i, l) in r.lines.iter().enumerate() {
            v.check(
                !numbers.insert(l.invoice_line_number),
                &format!("lines[{i}].invoice_line_number"),
                "credits a line twice; put the whole credit in one entry",
            );
            let net = pence(&mut v, &format!("lines[{i}].net"), &l.net);
            requested.push((l.invoice_line_number, net));
        }
        v.into_result()?;
        let vis = visibility(&p)?;
        let ctx = p.call_context(SERVICE_NAME, "CreateCreditNote", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let rows = storage::get_invoice(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|i| vis.sees_invoice(&i.invoice))
            .ok_or_else(|| denied(&p, &format!("invoice {id:?}")))?;
        require_supplier(&p, &rows.invoice.supplier_council_id)?;
        if InvoiceStatus::parse(&rows.invoice.status) != Some(InvoiceStatus::Issued) {
            return Err(AppError::failed_precondition(
                "INVOICE_NOT_ISSUED",
                "a draft is corrected by running billing again; credit notes are for issued invoices",
            )
            .into());
        }
        let lines = checked_credits(write.txn(), &rows, &requested, |i, f| {
            format!("lines[{i}].{f}")
        })
        .await?;
        let note = billing::store_credit_note(
            write.txn(),
            &rows.invoice,
            r.reason.trim(),
            &lines,
            Utc::now(),
        )
        .await
        .map_err(AppError::from)?;
        let after = storage::get_invoice(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::Internal("invoice vanished".into()))?;
        let invoice = invoice_to_proto(&after)?;
        let credit_note = invoice
            .credit_notes
            .iter()
            .find(|n| n.credit_note_id == note.id)
            .cloned();
        let resp = CreateCreditNoteResponse {
            credit_note,
            invoice: Some(invoice),
        };
        write
            .finish(&resp, &format!("slaInvoices/{id}/creditNotes/{}", note.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn dispute_invoice_line(
        &self,
        request: Request<DisputeInvoiceLineRequest>,
    ) -> Result<Response<DisputeInvoiceLineResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = r.invoice_id.trim();
        v.check(id.is_empty(), "invoice_id", "required");
        v.check(
            r.invoice_line_number < 1,
            "invoice_line_number",
            "the line disputed, 1 or more",
        );
        v.check(
            r.reason.trim().chars().count() < 10 || r.reason.chars().count() > 2000,
            "reason",
            "why the line is disputed: 10 to 2000 characters",
        );
        v.into_result()?;
        let vis = visibility(&p)?;
        // Disputing is a finance decision of the ALMO.
        if !matches!(vis, Visibility::Customer(_)) || p.caller.role != Role::AlmoFinance {
            return Err(AppError::PermissionDenied(
                "only the invoiced ALMO's finance team disputes an invoice line".into(),
            )
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "DisputeInvoiceLine", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let rows = storage::get_invoice(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|i| vis.sees_invoice(&i.invoice))
            .ok_or_else(|| denied(&p, &format!("invoice {id:?}")))?;
        if !rows
            .lines
            .iter()
            .any(|l| l.line_number == r.invoice_line_number)
        {
            return Err(AppError::invalid(
                "invoice_line_number",
                format!("the invoice has no line {}", r.invoice_line_number),
            )
            .into());
        }
        let existing: Vec<DisputeStatus> =
            storage::disputes_of_line(write.txn(), id, r.invoice_line_number)
                .await
                .map_err(AppError::from)?
                .iter()
                .filter_map(|d| DisputeStatus::parse(&d.status))
                .collect();
        may_dispute(&existing).map_err(AppError::from)?;
        let now = Utc::now();
        let d = sla_dispute::Model {
            id: format!(
                "dsp-{}-{}",
                now.format("%Y%m%d%H%M%S%6f"),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            invoice_id: id.to_string(),
            invoice_line_number: r.invoice_line_number,
            supplier_council_id: rows.invoice.supplier_council_id.clone(),
            customer_almo_id: rows.invoice.customer_almo_id.clone(),
            reason: r.reason.trim().to_string(),
            status: DisputeStatus::Open.as_str().into(),
            raised_by: p.caller.subject.clone(),
            raised_at: now,
            response: None,
            credit_note_id: None,
            resolved_at: None,
            row_version: 1,
        };
        storage::insert_dispute(write.txn(), d.clone())
            .await
            .map_err(AppError::from)?;
        let resp = DisputeInvoiceLineResponse {
            dispute: Some(dispute_to_proto(&d)),
        };
        write
            .finish(&resp, &format!("slaDisputes/{}", d.id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn resolve_dispute(
        &self,
        request: Request<ResolveDisputeRequest>,
    ) -> Result<Response<ResolveDisputeResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = r.dispute_id.trim();
        v.check(id.is_empty(), "dispute_id", "required");
        v.require_etag(&r.etag, "the dispute's etag as read");
        let resolution = match pb::DisputeResolution::try_from(r.resolution) {
            Ok(pb::DisputeResolution::Credit) => Some(Resolution::Credit),
            Ok(pb::DisputeResolution::Reject) => Some(Resolution::Reject),
            _ => {
                v.add(
                    "resolution",
                    "DISPUTE_RESOLUTION_CREDIT or DISPUTE_RESOLUTION_REJECT",
                );
                None
            }
        };
        let credit_net = match resolution {
            Some(Resolution::Credit) => Some(pence(&mut v, "credit_net", &r.credit_net)),
            _ => {
                v.check(
                    r.credit_net.is_some(),
                    "credit_net",
                    "only for DISPUTE_RESOLUTION_CREDIT",
                );
                None
            }
        };
        v.into_result()?;
        let resolution = resolution.expect("checked");
        let vis = visibility(&p)?;
        let ctx = p.call_context(SERVICE_NAME, "ResolveDispute", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let mut d = storage::get_dispute(write.txn(), id)
            .await
            .map_err(AppError::from)?
            .filter(|d| match &vis {
                Visibility::Supplier(c) => d.supplier_council_id == *c,
                Visibility::Customer(a) => d.customer_almo_id == *a,
            })
            .ok_or_else(|| denied(&p, &format!("dispute {id:?}")))?;
        require_supplier(&p, &d.supplier_council_id)?;
        if etag(d.row_version) != r.etag.trim() {
            return Err(AppError::stale_etag(&format!("slaDisputes/{id}")).into());
        }
        let status = DisputeStatus::parse(&d.status)
            .ok_or_else(|| AppError::Internal(format!("dispute status {:?}", d.status)))?;
        let next = resolve(status, resolution, &r.response).map_err(AppError::from)?;
        let now = Utc::now();
        let mut credit_note = None;
        if let Some(net) = credit_net {
            let rows = storage::get_invoice(write.txn(), &d.invoice_id)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| AppError::Internal("disputed invoice vanished".into()))?;
            let lines = checked_credits(
                write.txn(),
                &rows,
                &[(d.invoice_line_number, net)],
                |_, f| {
                    if f == "net" {
                        "credit_net".into()
                    } else {
                        f.into()
                    }
                },
            )
            .await?;
            let note = billing::store_credit_note(
                write.txn(),
                &rows.invoice,
                r.response.trim(),
                &lines,
                now,
            )
            .await
            .map_err(AppError::from)?;
            let after = storage::get_invoice(write.txn(), &d.invoice_id)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| AppError::Internal("invoice vanished".into()))?;
            credit_note = invoice_to_proto(&after)?
                .credit_notes
                .into_iter()
                .find(|n| n.credit_note_id == note.id);
            d.credit_note_id = Some(note.id);
        }
        let expected = d.row_version;
        d.status = next.as_str().into();
        d.response = Some(r.response.trim().to_string());
        d.resolved_at = Some(now);
        d.row_version += 1;
        if !storage::resolve_dispute(write.txn(), &d, expected)
            .await
            .map_err(AppError::from)?
        {
            return Err(AppError::stale_etag(&format!("slaDisputes/{id}")).into());
        }
        let resp = ResolveDisputeResponse {
            dispute: Some(dispute_to_proto(&d)),
            credit_note,
        };
        write
            .finish(&resp, &format!("slaDisputes/{id}"))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn list_disputes(
        &self,
        request: Request<ListDisputesRequest>,
    ) -> Result<Response<ListDisputesResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        let status = match pb::DisputeStatus::try_from(r.status) {
            Ok(pb::DisputeStatus::Unspecified) => None,
            Ok(pb::DisputeStatus::Open) => Some(DisputeStatus::Open.as_str()),
            Ok(pb::DisputeStatus::Credited) => Some(DisputeStatus::Credited.as_str()),
            Ok(pb::DisputeStatus::Rejected) => Some(DisputeStatus::Rejected.as_str()),
            Err(_) => {
                v.add("status", "not a DisputeStatus");
                None
            }
        };
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let mut rows = storage::list_disputes(self.ctx.db.conn(), &vis, status, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|d| paging::encode_token(&d.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListDisputesResponse {
            disputes: rows.iter().map(dispute_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn get_value_for_money(
        &self,
        request: Request<GetValueForMoneyRequest>,
    ) -> Result<Response<GetValueForMoneyResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = r.agreement_id.trim();
        v.check(id.is_empty(), "agreement_id", "required");
        let fy = r.financial_year.as_ref().map(|y| y.start_year);
        v.check(
            !fy.is_some_and(|y| (1990..=2200).contains(&y)),
            "financial_year",
            "required: the year the financial year starts in, e.g. 2026 for 2026/27",
        );
        v.into_result()?;
        let fy = fy.expect("checked");
        let conn = self.ctx.db.conn();
        let (a, versions) = storage::get_agreement(conn, id)
            .await
            .map_err(AppError::from)?
            .filter(|(a, _)| vis.sees_agreement(a))
            .ok_or_else(|| denied(&p, &format!("agreement {id:?}")))?;
        let active = billing::active_terms(&versions).map_err(AppError::from)?;
        let years = billing::line_years(conn, &a.id, fy)
            .await
            .map_err(AppError::from)?;
        let mut lines = Vec::new();
        let mut seen = HashSet::new();
        // The latest terms describe each line; a line dropped by a variation keeps its last terms.
        for (_, terms) in active.iter().rev() {
            for l in &terms.lines {
                if !seen.insert(l.code.clone()) {
                    continue;
                }
                let y = years.get(&l.code).cloned().unwrap_or_default();
                let actual = actual_unit_cost(y.net_paid, y.units_milli);
                let variance = actual.and_then(|c| variance_basis_points(c, l.benchmark_unit_cost));
                let (proto_line, _) = terms_to_proto(&Terms {
                    lines: vec![l.clone()],
                    levels: vec![],
                });
                let pl = &proto_line[0];
                lines.push(pb::LineValue {
                    line_code: l.code.clone(),
                    service: l.service.clone(),
                    basis: pl.basis,
                    unit_name: pl.unit_name.clone(),
                    units_milli: y.units_milli,
                    net_paid: money(y.net_paid),
                    unit_price: money(l.unit_price),
                    actual_unit_cost: actual.and_then(money),
                    benchmark_unit_cost: money(l.benchmark_unit_cost),
                    variance_basis_points: variance.unwrap_or(0),
                    above_benchmark: variance.is_some_and(|v| v > 0),
                });
            }
        }
        lines.sort_by(|x, y| x.line_code.cmp(&y.line_code));
        let almo = almo_db::entity::organisation::Entity::find_by_id(a.customer_almo_id.clone())
            .one(conn)
            .await
            .map_err(AppError::from)?;
        let go_live = almo.and_then(|o| o.go_live_date);
        let agreed: Vec<NaiveDate> = active.iter().map(|(d, _)| *d).collect();
        let (status, date) = match go_live
            .map(|g| review_status(g, &agreed, Utc::now().date_naive()))
        {
            Some(ReviewStatus::Done { on }) => (pb::ReviewStatus::Done, on.to_string()),
            Some(ReviewStatus::Due { by }) => (pb::ReviewStatus::Due, by.to_string()),
            Some(ReviewStatus::Overdue { since }) => (pb::ReviewStatus::Overdue, since.to_string()),
            None => (pb::ReviewStatus::Unspecified, String::new()),
        };
        Ok(Response::new(GetValueForMoneyResponse {
            agreement_id: a.id.clone(),
            financial_year: Some(common::FinancialYear { start_year: fy }),
            lines,
            go_live_date: go_live.map(|d| d.to_string()).unwrap_or_default(),
            review_status: status as i32,
            review_date: date,
        }))
    }

    type ExportInvoicesStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<ExportInvoicesResponse, Status>> + Send>,
    >;

    async fn export_invoices(
        &self,
        request: Request<ExportInvoicesRequest>,
    ) -> Result<Response<Self::ExportInvoicesStream>, Status> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut after = parse_watermark(&r.watermark)?;
        let (council, almo) = self.feed_of(&p, &vis, &r.customer_almo_id).await?;
        let db = self.ctx.db.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let page = match feed_page(
                    db.conn(),
                    &council,
                    almo.as_deref(),
                    after,
                    EXPORT_BATCH,
                )
                .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                if page.entries.is_empty() {
                    return;
                }
                after = page.watermark.parse().unwrap_or(after);
                let more = page.has_more;
                let batch = ExportInvoicesResponse {
                    entries: page.entries,
                    watermark: page.watermark,
                };
                // The client hung up: stop reading.
                if tx.send(Ok(batch)).await.is_err() || !more {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
