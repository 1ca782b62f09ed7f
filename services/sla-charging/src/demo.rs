//! Demo data for `almo up --demo`: an active agreement between Lambeth (E09000022) and Lambeth
//! Living with a line on every charging basis (legal by the hour, IT per user, payroll per FTE,
//! HR as a fixed fee), three months of usage, a missed IT service level, two issued invoices,
//! a draft for June, a credit note and an open dispute. Loaded once: a second run finds the agreement and stops.

use almo_db::Db;
use almo_db::entity::{
    sla_agreement, sla_agreement_version, sla_dispute, sla_level_result, sla_usage,
};
use chrono::{NaiveDate, Utc};
use sea_orm::DbErr;

use crate::billing;
use crate::domain::agreement::{Direction, ServiceLevel, ServiceLine, Terms, VersionStatus};
use crate::domain::charging::{Account, ChargingBasis, VatTreatment};
use crate::domain::credit_note::{Amount, CreditableLine, credit_line};
use crate::domain::dispute::DisputeStatus;
use crate::domain::period::{BillingPeriod, PeriodKind};
use crate::storage;

pub const LAMBETH: &str = "E09000022";
pub const LAMBETH_LIVING: &str = "LAMBETH-LIVING";
pub const AGREEMENT_ID: &str = "sla-lambeth-living-2026";

fn terms() -> Terms {
    let line = |code: &str, service: &str, basis, price, account, bench| ServiceLine {
        code: code.into(),
        service: service.into(),
        basis,
        unit_price: price,
        vat: VatTreatment::Standard,
        account,
        benchmark_unit_cost: bench,
    };
    Terms {
        lines: vec![
            line(
                "LEGAL",
                "Legal services",
                ChargingBasis::PerUnit {
                    unit: "hour of legal work".into(),
                },
                9_500,
                Account::Hra,
                8_800,
            ),
            line(
                "IT",
                "IT support and licences",
                ChargingBasis::PerUser,
                1_850,
                Account::Hra,
                1_700,
            ),
            line(
                "PAYROLL",
                "Payroll and pensions administration",
                ChargingBasis::PerFte,
                4_200,
                Account::GeneralFund,
                3_900,
            ),
            line(
                "HR",
                "Human resources",
                ChargingBasis::FixedAnnualFee,
                3_650_000,
                Account::GeneralFund,
                3_400_000,
            ),
        ],
        levels: vec![
            ServiceLevel {
                code: "IT-FIX-4H".into(),
                line_code: "IT".into(),
                measure: "% of priority-1 IT incidents fixed within 4 hours".into(),
                target: 95.0,
                direction: Direction::HigherIsBetter,
                credit_basis_points: 500,
            },
            ServiceLevel {
                code: "LEGAL-ADVICE-10D".into(),
                line_code: "LEGAL".into(),
                measure: "% of legal advice requests answered within 10 working days".into(),
                target: 90.0,
                direction: Direction::HigherIsBetter,
                credit_basis_points: 250,
            },
        ],
    }
}

/// Loads the demo SLA data if it is not there yet.
pub async fn seed(db: &Db) -> Result<(), DbErr> {
    if storage::get_agreement(db.conn(), AGREEMENT_ID)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let txn = db.begin_write().await?;
    let now = Utc::now();
    let start = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
    storage::insert_agreement(
        &txn,
        sla_agreement::Model {
            id: AGREEMENT_ID.into(),
            supplier_council_id: LAMBETH.into(),
            customer_almo_id: LAMBETH_LIVING.into(),
            title: "Central services to Lambeth Living 2026-2029".into(),
            start_date: start,
            end_date: NaiveDate::from_ymd_opt(2029, 3, 31).expect("date"),
            row_version: 3,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    storage::insert_version(
        &txn,
        sla_agreement_version::Model {
            agreement_id: AGREEMENT_ID.into(),
            version: 1,
            effective_from: start,
            status: VersionStatus::Active.as_str().into(),
            council_agreed: true,
            almo_agreed: true,
            terms: serde_json::to_string(&terms()).map_err(|e| DbErr::Custom(e.to_string()))?,
            created_at: now,
        },
    )
    .await?;
    // (month, legal hours ×1000, IT users ×1000, payroll FTE ×1000, IT fix %, legal advice %)
    let months = [
        (1, 42_500, 118_000, 3_500, 97.2, 93.0),
        (2, 38_000, 120_000, 3_500, 91.0, 94.5),
        (3, 51_250, 121_000, 4_000, 96.1, 88.0),
    ];
    let mut usage = Vec::new();
    for (m, legal, it, payroll, it_fix, advice) in months {
        let period = BillingPeriod::new(2026, PeriodKind::Month, m).expect("month");
        for (code, q) in [("LEGAL", legal), ("IT", it), ("PAYROLL", payroll)] {
            usage.push(sla_usage::Model {
                id: 0,
                agreement_id: AGREEMENT_ID.into(),
                record_id: format!("demo-{}-{code}", period.key()),
                line_code: code.into(),
                period_key: period.key(),
                quantity_milli: q,
                corrects_record_id: None,
                superseded: false,
                recorded_at: now,
            });
        }
        for (code, value) in [("IT-FIX-4H", it_fix), ("LEGAL-ADVICE-10D", advice)] {
            storage::upsert_result(
                &txn,
                sla_level_result::Model {
                    agreement_id: AGREEMENT_ID.into(),
                    level_code: code.into(),
                    period_key: period.key(),
                    value,
                    recorded_at: now,
                },
            )
            .await?;
        }
    }
    storage::insert_usage(&txn, usage).await?;
    let mut drafts = Vec::new();
    for m in 1..=3 {
        let period = BillingPeriod::new(2026, PeriodKind::Month, m).expect("month");
        drafts.extend(billing::run(&txn, LAMBETH, period, now).await?.drafts);
    }
    // April and May are issued; June stays a draft for the council to review.
    for d in drafts.iter().take(2) {
        billing::issue(&txn, &d.invoice, d.invoice.row_version, now)
            .await
            .map_err(|e| DbErr::Custom(format!("issuing the demo invoice: {e:?}")))?;
    }
    // Two hours of April's legal work were for the council's own housing strategy.
    let april = &drafts[0];
    let legal = april
        .lines
        .iter()
        .find(|l| l.line_code == "LEGAL")
        .expect("April bills legal work");
    // April's legal advice level was met: no service credit on the line.
    let (net, vat) = credit_line(
        &CreditableLine::single(
            legal.line_number,
            &legal.line_code,
            VatTreatment::Standard,
            Amount {
                net: legal.net,
                vat: legal.vat,
            },
            Amount::default(),
            Amount::default(),
        ),
        19_000,
    )
    .map_err(|e| DbErr::Custom(e.to_string()))?;
    let issued = storage::get_invoice(&txn, &april.invoice.id)
        .await?
        .expect("April's invoice");
    billing::store_credit_note(
        &txn,
        &issued.invoice,
        "Two hours of legal work were for the council's housing strategy, not for Lambeth Living",
        &[(legal.line_number, net, vat)],
        false,
        now,
    )
    .await?;
    // Lambeth Living disputes May's IT line; the council has not answered yet.
    let may = &drafts[1];
    let it = may
        .lines
        .iter()
        .find(|l| l.line_code == "IT")
        .expect("May bills IT users");
    storage::insert_dispute(
        &txn,
        sla_dispute::Model {
            id: format!("dsp-{}-demo0001", now.format("%Y%m%d%H%M%S%6f")),
            invoice_id: may.invoice.id.clone(),
            invoice_line_number: it.line_number,
            supplier_council_id: LAMBETH.into(),
            customer_almo_id: LAMBETH_LIVING.into(),
            reason: "Five of the 120 IT users billed for May left Lambeth Living in April".into(),
            status: DisputeStatus::Open.as_str().into(),
            raised_by: "almo_finance@LAMBETH-LIVING".into(),
            raised_at: now,
            response: None,
            credit_note_id: None,
            resolved_at: None,
            row_version: 1,
        },
    )
    .await?;
    txn.commit().await
}
