//! Proto <-> domain: decoding request fields (collecting every bad field in [`Violations`]) and
//! encoding stored rows as the contracts' messages.

use almo_db::entity::{
    sla_agreement, sla_agreement_version, sla_dispute, sla_invoice_line, sla_usage,
};
use almo_fields as fields;
use almo_proto::common::{self, Money};
use almo_proto::sla_charging::{self as pb, VatTreatment};
use almo_server::{AppError, Violations, etag, timestamp as ts};

use crate::billing;
use crate::domain::agreement::{
    Direction, ServiceLevel as DLevel, ServiceLine as DLine, Terms, VersionStatus,
};
use crate::domain::charging::{Account as DAccount, ChargingBasis as DBasis, VatTreatment as DVat};
use crate::domain::dispute::DisputeStatus;
use crate::domain::invoice::{self, InvoiceLine as DInvoiceLine, InvoiceStatus, LineKind as DKind};
use crate::domain::period::{BillingPeriod, PeriodKind as DPeriodKind};
use crate::storage::InvoiceRows;

// ---- Decoding -----------------------------------------------------------------------------

pub(super) fn pence(v: &mut Violations, field: &str, m: &Option<Money>) -> i64 {
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

pub(super) fn money(p: i64) -> Option<Money> {
    Some(Money {
        pence: p,
        currency_code: "GBP".into(),
    })
}

/// A billing period: a month or a quarter.
pub(super) fn billing_period(
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
    let fy = v.field(
        &format!("{field}.year"),
        fields::start_year(year.start_year),
    );
    let number = v.field(
        &format!("{field}.number"),
        fields::period_number(fields_kind(kind), p.number),
    );
    match BillingPeriod::new(fy?, kind, number?) {
        Ok(bp) => Some(bp),
        Err(e) => {
            v.add(format!("{field}.number"), e);
            None
        }
    }
}

fn fields_kind(kind: DPeriodKind) -> fields::PeriodKind {
    match kind {
        DPeriodKind::Month => fields::PeriodKind::Month,
        DPeriodKind::Quarter => fields::PeriodKind::Quarter,
    }
}

pub(super) fn period_to_proto(fy: i32, kind: DPeriodKind, number: u32) -> common::Period {
    common::Period {
        year: Some(common::FinancialYear { start_year: fy }),
        kind: match kind {
            DPeriodKind::Month => common::PeriodKind::Month,
            DPeriodKind::Quarter => common::PeriodKind::Quarter,
        } as i32,
        number: number as i32,
    }
}

pub(super) fn vat_from(t: i32) -> Option<DVat> {
    match VatTreatment::try_from(t).ok()? {
        VatTreatment::Unspecified => None,
        VatTreatment::Standard => Some(DVat::Standard),
        VatTreatment::Reduced => Some(DVat::Reduced),
        VatTreatment::Zero => Some(DVat::Zero),
        VatTreatment::Exempt => Some(DVat::Exempt),
        VatTreatment::OutsideScope => Some(DVat::OutsideScope),
    }
}

pub(super) fn vat_to(t: DVat) -> VatTreatment {
    match t {
        DVat::Standard => VatTreatment::Standard,
        DVat::Reduced => VatTreatment::Reduced,
        DVat::Zero => VatTreatment::Zero,
        DVat::Exempt => VatTreatment::Exempt,
        DVat::OutsideScope => VatTreatment::OutsideScope,
    }
}

pub(super) fn account_to(a: DAccount) -> pb::Account {
    match a {
        DAccount::Hra => pb::Account::Hra,
        DAccount::GeneralFund => pb::Account::GeneralFund,
    }
}

pub(super) fn decode_terms(
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

pub(super) fn terms_to_proto(t: &Terms) -> (Vec<pb::ServiceLine>, Vec<pb::ServiceLevel>) {
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

pub(super) fn agreement_to_proto(
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

pub(super) fn domain_line(l: &sla_invoice_line::Model) -> Result<DInvoiceLine, AppError> {
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

pub(super) fn invoice_to_proto(r: &InvoiceRows) -> Result<pb::Invoice, AppError> {
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
                adjustment: n.adjustment,
            })
            .collect(),
        etag: etag(i.row_version),
        adjusts_invoice_id: i.adjusts_invoice_id.clone().unwrap_or_default(),
    })
}

pub(super) fn usage_to_proto(u: &sla_usage::Model) -> pb::UsageRecord {
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

pub(super) fn parse_month_key(key: &str) -> BillingPeriod {
    let (y, m) = key.split_once("-M").expect("a month key");
    BillingPeriod {
        fy_start_year: y.parse().expect("year"),
        kind: DPeriodKind::Month,
        number: m.parse().expect("month"),
    }
}

/// A feed position from an earlier answer; empty is the start of the feed.
pub(super) fn watermark(w: &str) -> Result<i64, String> {
    let w = w.trim();
    if w.is_empty() {
        return Ok(0);
    }
    w.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| "the watermark of a previous ListInvoices response, or empty".into())
}

pub(super) fn dispute_to_proto(d: &sla_dispute::Model) -> pb::Dispute {
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

/// An AIP-158 page request: at most `size` rows after the key `after`.
pub(super) struct Page {
    pub size: u64,
    pub after: Option<String>,
}

pub(super) fn page_request(v: &mut Violations, page_size: i32, page_token: &str) -> Option<Page> {
    let size = v.field("page_size", fields::page_size(page_size));
    let after = v.field("page_token", fields::page_token(page_token));
    Some(Page {
        size: size?,
        after: after?,
    })
}

/// Cuts `rows`, read with one more than the page size, to the page; returns the token of the
/// next page, or "" when this is the last.
pub(super) fn next_page_token<T>(rows: &mut Vec<T>, size: u64, key: impl Fn(&T) -> &str) -> String {
    if rows.len() as u64 > size {
        rows.truncate(size as usize);
        rows.last()
            .map(|r| fields::next_page_token(key(r)))
            .unwrap_or_default()
    } else {
        String::new()
    }
}
