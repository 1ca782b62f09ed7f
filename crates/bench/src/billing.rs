//! SLA billing and the invoice pull: bill one month for N agreements of M lines with U usage
//! records (200 x 50 with 100,000; 20 x 10 with 5,000 with `--quick`), issue every invoice, then
//! pull the feed through `ExportInvoices` (as `almo invoices pull` does) and through pages of
//! `ListInvoices`, and, in the same run, read the same rows with raw SQL, every column the feed
//! sends decoded (best of three alternating runs each). Aim: the pull at least half the raw
//! read's rate.

use std::time::Instant;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::*;
use almo_testkit::{TestApp, authed};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sea_orm::sqlx::{self, AssertSqlSafe, Row};
use sea_orm::{ConnectionTrait, DatabaseBackend};

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

    if app.db.conn().get_database_backend() == DatabaseBackend::Postgres {
        // What autovacuum does within a minute of such a load.
        app.db
            .conn()
            .execute_unprepared(
                "ANALYZE sla_feed_entries, sla_invoices, sla_invoice_lines, sla_credit_notes, \
                 sla_credit_note_lines",
            )
            .await?;
    }
    // The pull, alternating with the raw read of the same rows, best of three each: as `almo
    // invoices pull` reads it (ExportInvoices) and as pages of ListInvoices.
    let (mut export_secs, mut pages_secs, mut raw_secs) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut pulled_lines, mut paged_lines, mut raw_rows) = (0, 0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        pulled_lines = pull_export(&mut c).await?;
        export_secs = export_secs.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        paged_lines = pull_pages(&mut c).await?;
        pages_secs = pages_secs.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        raw_rows = raw_pull(&app.db).await?;
        raw_secs = raw_secs.min(t.elapsed().as_secs_f64());
    }
    let pull_rate = pulled_lines as f64 / export_secs;
    let pages_rate = paged_lines as f64 / pages_secs;
    let raw_rate = raw_rows as f64 / raw_secs;
    eprintln!(
        "pull: {pulled_lines} lines via ExportInvoices in {export_secs:.3}s ({pull_rate:.0} \
         lines/s), via ListInvoices pages in {pages_secs:.3}s ({pages_rate:.0} lines/s); raw SQL \
         {raw_rows} rows in {raw_secs:.3}s ({raw_rate:.0} rows/s)",
    );
    anyhow::ensure!(
        pulled_lines == raw_rows && paged_lines == raw_rows,
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
            format!("invoice pull (ExportInvoices) / raw SQL, {pulled_lines} lines"),
            pull_rate,
            "lines/s",
        )
        .baseline(raw_rate)
        .aim(Aim::RatioAtLeast(0.5)),
        Record::new(
            format!("invoice pull (ListInvoices pages of 100) / raw SQL, {paged_lines} lines"),
            pages_rate,
            "lines/s",
        )
        .baseline(raw_rate)
        .aim(Aim::RatioAtLeast(0.5)),
    ])
}

type Client = SlaChargingServiceClient<tonic::transport::Channel>;

/// The whole feed as `almo invoices pull` reads it, as ALMO finance: the lines received.
async fn pull_export(c: &mut Client) -> anyhow::Result<usize> {
    let mut stream = c
        .export_invoices(authed(
            ExportInvoicesRequest::default(),
            ALMO,
            Role::AlmoFinance,
        ))
        .await?
        .into_inner();
    let mut lines = 0;
    while let Some(batch) = stream.message().await? {
        lines += batch
            .entries
            .iter()
            .map(|e| e.invoice.as_ref().map_or(0, |i| i.lines.len()))
            .sum::<usize>();
    }
    Ok(lines)
}

/// The whole feed a ListInvoices page of 100 at a time: the lines received.
async fn pull_pages(c: &mut Client) -> anyhow::Result<usize> {
    let mut watermark = String::new();
    let mut lines = 0;
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
        lines += page
            .entries
            .iter()
            .map(|e| e.invoice.as_ref().map_or(0, |i| i.lines.len()))
            .sum::<usize>();
        watermark = page.watermark;
        if !page.has_more {
            return Ok(lines);
        }
    }
}

/// The feed's rows as an analyst would read them: each entry, its invoice and the invoice's
/// lines, every column the feed sends, decoded by sqlx. (The bench raises no credit notes.)
const RAW_PULL: &str = "SELECT f.position, f.kind, f.credit_note_id, i.id, i.agreement_id, \
     i.supplier_council_id, i.customer_almo_id, i.fy_start_year, i.period_kind, \
     i.period_number, i.status, i.invoice_number, i.issued_at, i.row_version, \
     i.adjusts_invoice_id, l.line_number, l.kind, l.line_code, l.description, \
     l.quantity_milli, l.unit_price, l.net, l.vat_treatment, l.vat, l.account \
     FROM sla_feed_entries f \
     JOIN sla_invoices i ON i.id = f.invoice_id \
     JOIN sla_invoice_lines l ON l.invoice_id = i.id \
     WHERE f.council_id = 'E09000022' AND f.customer_almo_id = 'LAMBETH-LIVING' \
     ORDER BY f.position, l.line_number";

/// Reads [`RAW_PULL`], decoding every column; the number of rows.
async fn raw_pull(db: &almo_db::Db) -> anyhow::Result<usize> {
    macro_rules! read {
        ($pool:expr) => {{
            let mut rows = sqlx::query(AssertSqlSafe(RAW_PULL)).fetch($pool);
            let (mut n, mut checksum) = (0usize, 0i64);
            while let Some(r) = rows.try_next().await? {
                let _: (i64, String, Option<String>, String, String, String, String) = (
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                );
                let _: (i32, String, i32, String, Option<String>) = (
                    r.try_get(7)?,
                    r.try_get(8)?,
                    r.try_get(9)?,
                    r.try_get(10)?,
                    r.try_get(11)?,
                );
                let _: (Option<DateTime<Utc>>, i64, Option<String>) =
                    (r.try_get(12)?, r.try_get(13)?, r.try_get(14)?);
                let _: (i32, String, String, String, i64, i64) = (
                    r.try_get(15)?,
                    r.try_get(16)?,
                    r.try_get(17)?,
                    r.try_get(18)?,
                    r.try_get(19)?,
                    r.try_get(20)?,
                );
                let net: i64 = r.try_get(21)?;
                let _: (String, i64, String) = (r.try_get(22)?, r.try_get(23)?, r.try_get(24)?);
                checksum += net;
                n += 1;
            }
            std::hint::black_box(checksum);
            n
        }};
    }
    Ok(match db.conn().get_database_backend() {
        DatabaseBackend::Postgres => read!(db.conn().get_postgres_connection_pool()),
        _ => read!(db.conn().get_sqlite_connection_pool()),
    })
}
