//! What the SLA charging tests build again and again: a server, the agreement terms, each
//! request, the steps to an active agreement or an issued invoice, and the parts of a refusal a
//! test reads. Each test then reads as the rule it checks.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::*;
use almo_testkit::{TestApp, authed};
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub type Client = SlaChargingServiceClient<Channel>;

// ---- Servers ------------------------------------------------------------------------------

/// A server on a fresh database holding the demo directory.
pub async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_sla_charging::mount()])
        .await
        .unwrap();
    let client = SlaChargingServiceClient::new(app.channel().await);
    (app, client)
}

/// A server with the demo SLA data loaded too.
pub async fn demo_app() -> (TestApp, Client) {
    let (app, client) = app().await;
    almo_sla_charging::demo::seed(&app.db).await.unwrap();
    (app, client)
}

// ---- Values -------------------------------------------------------------------------------

pub fn gbp(pence: i64) -> Option<Money> {
    Some(Money {
        pence,
        currency_code: "GBP".into(),
    })
}

/// Month `n` (April = 1) of 2026/27.
pub fn month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

/// Quarter `n` of 2026/27.
pub fn quarter(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Quarter as i32,
        number: n,
    })
}

/// 2026/27 as a whole: not a billing period.
pub fn year() -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Year as i32,
        number: 1,
    })
}

/// Legal by the hour, IT by the user, HR a fixed annual fee.
pub fn lines() -> Vec<ServiceLine> {
    vec![
        ServiceLine {
            code: "LEGAL".into(),
            service: "Legal services".into(),
            basis: ChargingBasis::PerUnit as i32,
            unit_name: "hour of legal work".into(),
            unit_price: gbp(9_500),
            vat_treatment: VatTreatment::Standard as i32,
            account: Account::Hra as i32,
            benchmark_unit_cost: gbp(8_800),
        },
        ServiceLine {
            code: "IT".into(),
            service: "IT support".into(),
            basis: ChargingBasis::PerUser as i32,
            unit_name: String::new(),
            unit_price: gbp(1_850),
            vat_treatment: VatTreatment::Standard as i32,
            account: Account::Hra as i32,
            benchmark_unit_cost: gbp(1_700),
        },
        ServiceLine {
            code: "HR".into(),
            service: "Human resources".into(),
            basis: ChargingBasis::FixedAnnualFee as i32,
            unit_name: String::new(),
            unit_price: gbp(3_650_000),
            vat_treatment: VatTreatment::Exempt as i32,
            account: Account::GeneralFund as i32,
            benchmark_unit_cost: gbp(3_400_000),
        },
    ]
}

/// IT fixes 95% of P1 incidents within 4 hours, or credits 5% of the IT line.
pub fn levels() -> Vec<ServiceLevel> {
    vec![ServiceLevel {
        code: "IT-FIX-4H".into(),
        line_code: "IT".into(),
        measure: "% of P1 incidents fixed within 4 hours".into(),
        target: 95.0,
        direction: Direction::HigherIsBetter as i32,
        credit_basis_points: 500,
    }]
}

pub fn finance_role(org: &str) -> Role {
    if org.starts_with('E') {
        Role::CouncilFinance
    } else {
        Role::AlmoFinance
    }
}

// ---- Requests -----------------------------------------------------------------------------

pub fn create_request(rid: &str, council: &str, almo: &str, start: &str) -> CreateAgreementRequest {
    CreateAgreementRequest {
        request_id: rid.into(),
        supplier_council_id: council.into(),
        customer_almo_id: almo.into(),
        title: "Central services 2026-2029".into(),
        start_date: start.into(),
        end_date: "2029-03-31".into(),
        lines: lines(),
        levels: levels(),
    }
}

pub fn agree_request(
    rid: &str,
    agreement_id: &str,
    version: i32,
    etag: &str,
) -> AgreeAgreementVersionRequest {
    AgreeAgreementVersionRequest {
        request_id: rid.into(),
        agreement_id: agreement_id.into(),
        version,
        etag: etag.into(),
    }
}

/// New terms from `from`, the levels unchanged.
pub fn vary_request(
    rid: &str,
    agreement_id: &str,
    etag: &str,
    from: &str,
    lines: Vec<ServiceLine>,
) -> VaryAgreementRequest {
    VaryAgreementRequest {
        request_id: rid.into(),
        agreement_id: agreement_id.into(),
        etag: etag.into(),
        effective_from_date: from.into(),
        lines,
        levels: levels(),
    }
}

pub fn get_agreement_request(agreement_id: &str) -> GetAgreementRequest {
    GetAgreementRequest {
        agreement_id: agreement_id.into(),
    }
}

/// `q` thousandths of a unit of `line` in month `m`, the record id the request id.
pub fn usage(rid: &str, agreement: &str, line: &str, m: i32, q: i64) -> RecordUsageRequest {
    RecordUsageRequest {
        request_id: rid.into(),
        record: Some(UsageRecord {
            record_id: rid.into(),
            agreement_id: agreement.into(),
            line_code: line.into(),
            period: month(m),
            quantity_milli: q,
            ..Default::default()
        }),
    }
}

/// The IT fix rate achieved in a month.
pub fn it_result(
    rid: &str,
    agreement: &str,
    m: i32,
    value: f64,
) -> RecordServiceLevelResultRequest {
    RecordServiceLevelResultRequest {
        request_id: rid.into(),
        result: Some(ServiceLevelResult {
            agreement_id: agreement.into(),
            level_code: "IT-FIX-4H".into(),
            period: month(m),
            value,
            missed: false,
        }),
    }
}

pub fn run_request(rid: &str, council: &str, period: Option<Period>) -> RunBillingRequest {
    RunBillingRequest {
        request_id: rid.into(),
        supplier_council_id: council.into(),
        period,
    }
}

pub fn issue_request(rid: &str, invoice: &Invoice) -> IssueInvoiceRequest {
    IssueInvoiceRequest {
        request_id: rid.into(),
        invoice_id: invoice.invoice_id.clone(),
        etag: invoice.etag.clone(),
    }
}

pub fn get_invoice_request(invoice_id: &str) -> GetInvoiceRequest {
    GetInvoiceRequest {
        invoice_id: invoice_id.into(),
    }
}

/// A credit of `net` pence against one line, for two hours billed to the wrong ALMO.
pub fn credit_request(rid: &str, invoice: &str, line: i32, net: i64) -> CreateCreditNoteRequest {
    CreateCreditNoteRequest {
        request_id: rid.into(),
        invoice_id: invoice.into(),
        reason: "Two hours were billed to the wrong ALMO".into(),
        lines: vec![CreditLineRequest {
            invoice_line_number: line,
            net: gbp(net),
        }],
    }
}

/// The ALMO disputes the hours of legal work on a line.
pub fn dispute_request(rid: &str, invoice: &str, line: i32) -> DisputeInvoiceLineRequest {
    DisputeInvoiceLineRequest {
        request_id: rid.into(),
        invoice_id: invoice.into(),
        invoice_line_number: line,
        reason: "We only instructed four hours of legal work in April".into(),
    }
}

pub fn resolve_request(
    rid: &str,
    dispute: &Dispute,
    resolution: DisputeResolution,
    response: &str,
    credit: Option<i64>,
) -> ResolveDisputeRequest {
    ResolveDisputeRequest {
        request_id: rid.into(),
        dispute_id: dispute.dispute_id.clone(),
        etag: dispute.etag.clone(),
        resolution: resolution as i32,
        response: response.into(),
        credit_net: credit.and_then(gbp),
    }
}

pub fn feed_request(
    watermark: &str,
    customer_almo_id: &str,
    page_size: i32,
) -> ListInvoicesRequest {
    ListInvoicesRequest {
        watermark: watermark.into(),
        customer_almo_id: customer_almo_id.into(),
        page_size,
    }
}

/// Value for money of the demo agreement in a financial year.
pub fn demo_value_for_money(start_year: Option<i32>) -> GetValueForMoneyRequest {
    GetValueForMoneyRequest {
        agreement_id: almo_sla_charging::demo::AGREEMENT_ID.into(),
        financial_year: start_year.map(|start_year| FinancialYear { start_year }),
    }
}

// ---- Steps --------------------------------------------------------------------------------

/// An agreement drafted by the council's finance team, not yet agreed by either party.
pub async fn draft_agreement(
    c: &mut Client,
    rid: &str,
    council: &str,
    almo: &str,
    start: &str,
) -> Agreement {
    c.create_agreement(authed(
        create_request(rid, council, almo, start),
        council,
        Role::CouncilFinance,
    ))
    .await
    .unwrap()
    .into_inner()
    .agreement
    .unwrap()
}

/// An agreement drafted by the council and agreed by both parties.
pub async fn active_agreement(c: &mut Client, council: &str, almo: &str, start: &str) -> Agreement {
    let rid = format!("create-{almo}-{start}");
    let a = draft_agreement(c, &rid, council, almo, start).await;
    let mut etag = a.etag.clone();
    let mut out = None;
    for org in [council, almo] {
        let rid = format!("agree-{}-{org}", a.agreement_id);
        let agreed = c
            .agree_agreement_version(authed(
                agree_request(&rid, &a.agreement_id, 1, &etag),
                org,
                finance_role(org),
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        etag = agreed.etag.clone();
        out = Some(agreed);
    }
    out.unwrap()
}

/// Lambeth's finance team records usage; it must be accepted.
pub async fn record_for_lambeth(c: &mut Client, usage: RecordUsageRequest) -> RecordUsageResponse {
    c.record_usage(authed(
        usage,
        almo_testkit::demo::LAMBETH,
        Role::CouncilFinance,
    ))
    .await
    .unwrap()
    .into_inner()
}

/// A billing run by the council's finance team; it must succeed.
pub async fn run(
    c: &mut Client,
    rid: &str,
    council: &str,
    period: Option<Period>,
) -> RunBillingResponse {
    c.run_billing(authed(
        run_request(rid, council, period),
        council,
        Role::CouncilFinance,
    ))
    .await
    .unwrap()
    .into_inner()
}

/// The one draft a billing run of the council's one agreement makes.
pub async fn draft(c: &mut Client, rid: &str, council: &str, period: Option<Period>) -> Invoice {
    run(c, rid, council, period).await.invoices.remove(0)
}

/// The council's finance team issues the invoice as read.
pub async fn issue(c: &mut Client, invoice: &Invoice) -> Result<Invoice, tonic::Status> {
    let rid = format!("issue-{}-{}", invoice.invoice_id, invoice.etag);
    c.issue_invoice(authed(
        issue_request(&rid, invoice),
        &invoice.supplier_council_id,
        Role::CouncilFinance,
    ))
    .await
    .map(|r| r.into_inner().invoice.unwrap())
}

// ---- Reading answers ----------------------------------------------------------------------

/// The fields a refusal names, in order.
pub fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default()
}

/// A refusal's stable reason code.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|e| e.reason.clone())
        .unwrap_or_default()
}

pub fn pence(m: &Option<Money>) -> i64 {
    m.as_ref().unwrap().pence
}
