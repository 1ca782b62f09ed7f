//! SLA billing and the invoice pull: bill one month for N agreements of M lines with U usage
//! records (200 x 50 with 100,000; 20 x 10 with 5,000 with `--quick`), issue every invoice, then
//! pull the feed through `ListInvoices` and, in the same run, with the equivalent raw SQL. Aim:
//! the pull at least half the raw read's rate.

use std::time::Instant;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::*;
use almo_testkit::{TestApp, authed};
use sea_orm::{ConnectionTrait, Statement};

use crate::Opts;
use crate::report::{Aim, Record};

const COUNCIL: &str = "E09000022";
const ALMO: &str = "LAMBETH-LIVING";

fn gbp(pence: i64) -> Option<Money> {
    Some(Money {
        pence,
        currency_code: "GBP".into(),
    })
}

fn april() -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: 1,
    })
}

fn lines(n: usize) -> Vec<ServiceLine> {
    (0..n)
        .map(|i| ServiceLine {
            code: format!("L{i:03}"),
            service: format!("Service {i}"),
            basis: if i % 5 == 0 {
                ChargingBasis::FixedAnnualFee
            } else {
                ChargingBasis::PerUnit
            } as i32,
            unit_name: "hour".into(),
            unit_price: gbp(1_000 + i as i64 * 37),
            vat_treatment: VatTreatment::Standard as i32,
            account: if i % 2 == 0 {
                Account::Hra
            } else {
                Account::GeneralFund
            } as i32,
            benchmark_unit_cost: gbp(1_000),
        })
        .collect()
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let (agreements, per, usage) = if opts.quick {
        (20, 10, 5_000)
    } else {
        (200, 50, 100_000)
    };
    let app = TestApp::spawn(vec![almo_sla_charging::mount()]).await?;
    let mut c = SlaChargingServiceClient::new(app.channel().await);

    let mut ids = Vec::new();
    for n in 0..agreements {
        let a = c
            .create_agreement(authed(
                CreateAgreementRequest {
                    request_id: format!("create-{n}"),
                    supplier_council_id: COUNCIL.into(),
                    customer_almo_id: ALMO.into(),
                    title: format!("Bench agreement {n}"),
                    start_date: "2026-04-01".into(),
                    end_date: "2029-03-31".into(),
                    lines: lines(per),
                    levels: vec![],
                },
                COUNCIL,
                Role::CouncilFinance,
            ))
            .await?
            .into_inner()
            .agreement
            .ok_or_else(|| anyhow::anyhow!("CreateAgreement answered no agreement"))?;
        let mut etag = a.etag;
        for (org, role) in [(COUNCIL, Role::CouncilFinance), (ALMO, Role::AlmoFinance)] {
            etag = c
                .agree_agreement_version(authed(
                    AgreeAgreementVersionRequest {
                        request_id: format!("agree-{n}-{org}"),
                        agreement_id: a.agreement_id.clone(),
                        version: 1,
                        etag: etag.clone(),
                    },
                    org,
                    role,
                ))
                .await?
                .into_inner()
                .agreement
                .ok_or_else(|| anyhow::anyhow!("AgreeAgreementVersion answered no agreement"))?
                .etag;
        }
        ids.push(a.agreement_id);
    }
    let usage_lines: Vec<String> = (0..per)
        .filter(|i| i % 5 != 0)
        .map(|i| format!("L{i:03}"))
        .collect();
    let records: Vec<UsageRecord> = (0..usage)
        .map(|i| UsageRecord {
            record_id: format!("u{i}"),
            agreement_id: ids[i % ids.len()].clone(),
            line_code: usage_lines[(i / ids.len()) % usage_lines.len()].clone(),
            period: april(),
            quantity_milli: 250 + (i % 17) as i64 * 250,
            ..Default::default()
        })
        .collect();
    let msgs: Vec<BulkRecordUsageRequest> = records
        .chunks(1_000)
        .map(|chunk| BulkRecordUsageRequest {
            request_id: "bench-usage".into(),
            records: chunk.to_vec(),
        })
        .collect();
    let t = Instant::now();
    let recorded = c
        .bulk_record_usage(authed(
            tokio_stream::iter(msgs),
            COUNCIL,
            Role::CouncilFinance,
        ))
        .await?
        .into_inner()
        .recorded;
    let usage_secs = t.elapsed().as_secs_f64();
    eprintln!(
        "usage:   {recorded} records in {usage_secs:.2}s ({:.0} records/s)",
        recorded as f64 / usage_secs
    );

    let t = Instant::now();
    let drafts = c
        .run_billing(authed(
            RunBillingRequest {
                request_id: "bench-run".into(),
                supplier_council_id: COUNCIL.into(),
                period: april(),
            },
            COUNCIL,
            Role::CouncilFinance,
        ))
        .await?
        .into_inner()
        .invoices;
    let run_secs = t.elapsed().as_secs_f64();
    let lines_billed: usize = drafts.iter().map(|i| i.lines.len()).sum();
    eprintln!(
        "billing: {} invoices, {lines_billed} lines in {run_secs:.2}s",
        drafts.len()
    );
    for d in &drafts {
        c.issue_invoice(authed(
            IssueInvoiceRequest {
                request_id: format!("issue-{}", d.invoice_id),
                invoice_id: d.invoice_id.clone(),
                etag: d.etag.clone(),
            },
            COUNCIL,
            Role::CouncilFinance,
        ))
        .await?;
    }

    let t = Instant::now();
    let mut watermark = String::new();
    let mut pulled_lines = 0usize;
    loop {
        let page = c
            .list_invoices(authed(
                ListInvoicesRequest {
                    watermark: watermark.clone(),
                    customer_almo_id: String::new(),
                    page_size: 100,
                },
                ALMO,
                Role::AlmoFinance,
            ))
            .await?
            .into_inner();
        pulled_lines += page
            .entries
            .iter()
            .map(|e| e.invoice.as_ref().map_or(0, |i| i.lines.len()))
            .sum::<usize>();
        watermark = page.watermark;
        if !page.has_more {
            break;
        }
    }
    let grpc_secs = t.elapsed().as_secs_f64();

    let backend = app.db.conn().get_database_backend();
    let sql = "SELECT f.position, i.invoice_number, l.line_number, l.kind, l.line_code, \
               l.description, l.quantity_milli, l.unit_price, l.net, l.vat, l.account \
               FROM sla_feed_entries f \
               JOIN sla_invoices i ON i.id = f.invoice_id \
               JOIN sla_invoice_lines l ON l.invoice_id = i.id \
               WHERE f.council_id = 'E09000022' AND f.customer_almo_id = 'LAMBETH-LIVING' \
               ORDER BY f.position, l.line_number";
    let t = Instant::now();
    let raw = app
        .db
        .conn()
        .query_all_raw(Statement::from_string(backend, sql))
        .await?;
    let raw_secs = t.elapsed().as_secs_f64();
    let pull_rate = pulled_lines as f64 / grpc_secs;
    let raw_rate = raw.len() as f64 / raw_secs;
    eprintln!(
        "pull: {pulled_lines} lines via ListInvoices in {grpc_secs:.3}s ({pull_rate:.0} lines/s); \
         raw SQL {} rows in {raw_secs:.3}s ({raw_rate:.0} rows/s)",
        raw.len(),
    );
    anyhow::ensure!(
        pulled_lines == raw.len(),
        "the pull and the raw read see the same lines"
    );
    Ok(vec![
        Record::new(
            format!("BulkRecordUsage, {recorded} records"),
            recorded as f64 / usage_secs,
            "records/s",
        ),
        Record::new(
            format!("RunBilling, {agreements} agreements x {per} lines"),
            run_secs,
            "s",
        ),
        Record::new(
            format!("invoice pull (ListInvoices) / raw SQL, {pulled_lines} lines"),
            pull_rate,
            "lines/s",
        )
        .baseline(raw_rate)
        .aim(Aim::RatioAtLeast(0.5)),
    ])
}
