//! Demo data for `almo up --demo`: an active agreement between Lambeth (E09000022) and Lambeth
//! Living with a line on every charging basis (legal by the hour, IT per user, payroll per FTE,
//! HR as a fixed fee), three months of usage, a missed IT service level, two issued invoices,
//! a draft for June, a credit note and an open dispute. Loaded once: a second run finds the agreement and stops.
//!
//! Leeds (E08000035) shows what a billing run reports and how a back-dated variation is settled:
//! three agreements, April billed and issued, May left for the council to run. East North East
//! Homes' agreement has a variation agreed by both parties with effect from 16 April (IT up from
//! £18.50 to £21.00 a user, legal work down from £95 to £90 an hour), inside April's issued
//! invoice; West North West Homes' has no usage in May; its payroll agreement awaits the ALMO.
//! The May run drafts East North East's May, bills West North West nothing (why), refuses the
//! payroll agreement (why), and adjusts April: a supplementary invoice for the IT rise and a
//! credit note for the legal cut, both referencing April's invoice. Loaded once, like Lambeth's.

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

pub const LEEDS: &str = "E08000035";
pub const LEEDS_ENE: &str = "LEEDS-ENE-HOMES";
pub const LEEDS_WNW: &str = "LEEDS-WNW-HOMES";
/// East North East Homes: April issued, then a variation with effect from 16 April.
pub const LEEDS_ENE_AGREEMENT_ID: &str = "sla-leeds-ene-2026";
/// West North West Homes: legal work in April, none in May.
pub const LEEDS_WNW_AGREEMENT_ID: &str = "sla-leeds-wnw-2026";
/// West North West Homes' payroll: agreed by the council, awaiting the ALMO.
pub const LEEDS_WNW_PAYROLL_AGREEMENT_ID: &str = "sla-leeds-wnw-payroll-2026";
/// The day East North East Homes' variation takes effect, inside April's issued invoice.
pub const LEEDS_VARIATION_FROM: &str = "2026-04-16";

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
        .is_none()
    {
        seed_lambeth(db).await?;
    }
    if storage::get_agreement(db.conn(), LEEDS_ENE_AGREEMENT_ID)
        .await?
        .is_none()
    {
        seed_leeds(db).await?;
    }
    Ok(())
}

fn usage_line(code: &str, service: &str, basis: ChargingBasis, price: i64) -> ServiceLine {
    ServiceLine {
        code: code.into(),
        service: service.into(),
        basis,
        unit_price: price,
        vat: VatTreatment::Standard,
        account: Account::Hra,
        benchmark_unit_cost: price,
    }
}

fn legal_hours() -> ChargingBasis {
    ChargingBasis::PerUnit {
        unit: "hour of legal work".into(),
    }
}

fn json(terms: &Terms) -> Result<String, DbErr> {
    serde_json::to_string(terms).map_err(|e| DbErr::Custom(e.to_string()))
}

/// Leeds: three agreements, April issued, a back-dated variation, May left to run.
async fn seed_leeds(db: &Db) -> Result<(), DbErr> {
    let txn = db.begin_write().await?;
    let now = Utc::now();
    let start = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
    let end = NaiveDate::from_ymd_opt(2027, 3, 31).expect("date");
    let ene_terms = |it: i64, legal: i64| Terms {
        lines: vec![
            usage_line("IT", "IT support and licences", ChargingBasis::PerUser, it),
            usage_line("LEGAL", "Legal services", legal_hours(), legal),
        ],
        levels: vec![],
    };
    let agreements = [
        (
            LEEDS_ENE_AGREEMENT_ID,
            LEEDS_ENE,
            "Central services to East North East Homes 2026/27",
            vec![
                (1, start, true, ene_terms(1_850, 9_500)),
                (
                    2,
                    LEEDS_VARIATION_FROM.parse().expect("date"),
                    true,
                    ene_terms(2_100, 9_000),
                ),
            ],
        ),
        (
            LEEDS_WNW_AGREEMENT_ID,
            LEEDS_WNW,
            "Legal services to West North West Homes 2026/27",
            vec![(
                1,
                start,
                true,
                Terms {
                    lines: vec![usage_line("LEGAL", "Legal services", legal_hours(), 9_500)],
                    levels: vec![],
                },
            )],
        ),
        (
            LEEDS_WNW_PAYROLL_AGREEMENT_ID,
            LEEDS_WNW,
            "Payroll services to West North West Homes 2026/27",
            vec![(
                1,
                start,
                false,
                Terms {
                    lines: vec![usage_line(
                        "PAYROLL",
                        "Payroll and pensions administration",
                        ChargingBasis::PerFte,
                        4_200,
                    )],
                    levels: vec![],
                },
            )],
        ),
    ];
    let mut variations = Vec::new();
    for (id, almo, title, versions) in agreements {
        storage::insert_agreement(
            &txn,
            sla_agreement::Model {
                id: id.into(),
                supplier_council_id: LEEDS.into(),
                customer_almo_id: almo.into(),
                title: title.into(),
                start_date: start,
                end_date: end,
                row_version: versions.len() as i64,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        for (version, from, almo_agreed, terms) in versions {
            let row = sla_agreement_version::Model {
                agreement_id: id.into(),
                version,
                effective_from: from,
                status: if almo_agreed {
                    VersionStatus::Active
                } else {
                    VersionStatus::Draft
                }
                .as_str()
                .into(),
                council_agreed: true,
                almo_agreed,
                terms: json(&terms)?,
                created_at: now,
            };
            // The variation is agreed after April is invoiced.
            if version > 1 {
                variations.push(row);
            } else {
                storage::insert_version(&txn, row).await?;
            }
        }
    }
    // (agreement, line, month, quantity ×1000): East North East uses IT and legal work in April
    // and May; West North West has legal work in April only.
    let usage = [
        (LEEDS_ENE_AGREEMENT_ID, "IT", 1, 64_000),
        (LEEDS_ENE_AGREEMENT_ID, "LEGAL", 1, 20_500),
        (LEEDS_ENE_AGREEMENT_ID, "IT", 2, 66_000),
        (LEEDS_ENE_AGREEMENT_ID, "LEGAL", 2, 14_000),
        (LEEDS_WNW_AGREEMENT_ID, "LEGAL", 1, 12_000),
    ];
    storage::insert_usage(
        &txn,
        usage
            .iter()
            .map(|(agreement, code, m, q)| {
                let period = BillingPeriod::new(2026, PeriodKind::Month, *m).expect("month");
                sla_usage::Model {
                    id: 0,
                    agreement_id: (*agreement).into(),
                    record_id: format!("demo-{}-{code}", period.key()),
                    line_code: (*code).into(),
                    period_key: period.key(),
                    quantity_milli: *q,
                    corrects_record_id: None,
                    superseded: false,
                    recorded_at: now,
                }
            })
            .collect(),
    )
    .await?;
    // April is billed and issued for both ALMOs.
    let april = BillingPeriod::new(2026, PeriodKind::Month, 1).expect("month");
    for d in billing::run(&txn, LEEDS, april, now).await?.drafts {
        billing::issue(&txn, &d.invoice, d.invoice.row_version, now)
            .await
            .map_err(|e| DbErr::Custom(format!("issuing the demo invoice: {e:?}")))?;
    }
    // Then both parties agree East North East's variation with effect from 16 April.
    for v in variations {
        storage::insert_version(&txn, v).await?;
    }
    txn.commit().await
}

/// Lambeth and Lambeth Living.
async fn seed_lambeth(db: &Db) -> Result<(), DbErr> {
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
