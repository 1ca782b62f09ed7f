//! What the hand-back tests share: Lambeth's road to taking Lambeth Living back (ending on
//! 16 October 2026), its SLA agreement and billing, and an inspection booked for the week after
//! the end. Each test file uses some of it.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{self as dir};
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{self as ins};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub type Sla = SlaChargingServiceClient<Channel>;
pub type Dir = DirectoryServiceClient<Channel>;
pub type Insp = InspectionSchedulingServiceClient<Channel>;

/// Lambeth Living's last day.
pub const END: &str = "2026-10-16";
/// The human resources service: £36,500 a year, exempt from VAT: £100 a day in 2026/27.
pub const HR_FEE: i64 = 3_650_000;
/// The Monday of the week after the end (16 October 2026 is a Friday).
pub const WEEK_AFTER_END: &str = "2026-10-19";
/// An inspection team for Lambeth Living that keeps every hard rule (its TIA rents from
/// Haringey, not Lambeth).
pub const LAMBETH_TEAM: &[&str] = &["LEAD-PATEL", "INSP-BRENNAN", "INSP-WALSH", "TIA-FERREIRA"];

pub fn gbp(pence: i64) -> Option<Money> {
    Some(Money {
        pence,
        currency_code: "GBP".into(),
    })
}

pub fn month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

pub fn reason(s: &tonic::Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

pub fn council<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilOfficer)
}

pub fn finance<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilFinance)
}

pub fn inspectorate<T>(m: T) -> tonic::Request<T> {
    authed(m, INSPECTORATE, Role::Inspectorate)
}

/// Reads with `read` until `done` holds of what it gives, for up to 20 seconds (a consumer runs
/// in the background); returns the last reading either way, for the caller to assert on.
pub async fn eventually<T, F, Fut>(mut read: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    for _ in 0..200 {
        let v = read().await;
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    read().await
}

/// Lambeth's central services to Lambeth Living, April 2026 to March 2029, agreed by both.
pub async fn active_agreement(c: &mut Sla) -> sla::Agreement {
    let a = c
        .create_agreement(finance(sla::CreateAgreementRequest {
            request_id: "create".into(),
            supplier_council_id: LAMBETH.into(),
            customer_almo_id: LAMBETH_LIVING.into(),
            title: "Central services 2026-2029".into(),
            start_date: "2026-04-01".into(),
            end_date: "2029-03-31".into(),
            lines: vec![
                sla::ServiceLine {
                    code: "HR".into(),
                    service: "Human resources".into(),
                    basis: sla::ChargingBasis::FixedAnnualFee as i32,
                    unit_name: String::new(),
                    unit_price: gbp(HR_FEE),
                    vat_treatment: sla::VatTreatment::Exempt as i32,
                    account: sla::Account::GeneralFund as i32,
                    benchmark_unit_cost: gbp(3_400_000),
                },
                sla::ServiceLine {
                    code: "LEGAL".into(),
                    service: "Legal services".into(),
                    basis: sla::ChargingBasis::PerUnit as i32,
                    unit_name: "hour of legal work".into(),
                    unit_price: gbp(9_500),
                    vat_treatment: sla::VatTreatment::Standard as i32,
                    account: sla::Account::Hra as i32,
                    benchmark_unit_cost: gbp(8_800),
                },
            ],
            levels: vec![],
        }))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    let mut etag = a.etag.clone();
    let mut out = a;
    for (org, role) in [
        (LAMBETH, Role::CouncilFinance),
        (LAMBETH_LIVING, Role::AlmoFinance),
    ] {
        out = c
            .agree_agreement_version(authed(
                sla::AgreeAgreementVersionRequest {
                    request_id: format!("agree-{org}"),
                    agreement_id: out.agreement_id.clone(),
                    version: 1,
                    etag: etag.clone(),
                },
                org,
                role,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        etag = out.etag.clone();
    }
    out
}

pub async fn get_agreement(c: &mut Sla, id: &str) -> sla::Agreement {
    c.get_agreement(finance(sla::GetAgreementRequest {
        agreement_id: id.into(),
    }))
    .await
    .unwrap()
    .into_inner()
    .agreement
    .unwrap()
}

pub async fn run(c: &mut Sla, rid: &str, m: i32) -> sla::RunBillingResponse {
    c.run_billing(finance(sla::RunBillingRequest {
        request_id: rid.into(),
        supplier_council_id: LAMBETH.into(),
        period: month(m),
    }))
    .await
    .unwrap()
    .into_inner()
}

/// Bills month `m` and issues its invoice; returns the issued invoice.
pub async fn bill_and_issue(c: &mut Sla, m: i32) -> sla::Invoice {
    let draft = run(c, &format!("run-{m}"), m).await.invoices.remove(0);
    c.issue_invoice(finance(sla::IssueInvoiceRequest {
        request_id: format!("issue-{m}"),
        invoice_id: draft.invoice_id.clone(),
        etag: draft.etag.clone(),
    }))
    .await
    .unwrap()
    .into_inner()
    .invoice
    .unwrap()
}

/// Lambeth Living inspected in the week after its end, booked by the inspectorate before the
/// end is known (the demo holds its readiness).
pub async fn book_week_after_end(c: &mut Insp) -> ins::Inspection {
    c.book_inspection(inspectorate(ins::BookInspectionRequest {
        request_id: "book-after-end".into(),
        almo_id: LAMBETH_LIVING.into(),
        on_site_start_date: WEEK_AFTER_END.into(),
        team_inspector_ids: LAMBETH_TEAM.iter().map(|t| t.to_string()).collect(),
        span_weeks: 0,
    }))
    .await
    .unwrap()
    .into_inner()
    .inspection
    .unwrap()
}

pub async fn get_inspection(c: &mut Insp, id: &str) -> ins::Inspection {
    c.get_inspection(council(ins::GetInspectionRequest {
        inspection_id: id.into(),
    }))
    .await
    .unwrap()
    .into_inner()
    .inspection
    .unwrap()
}

async fn etag(d: &mut Dir) -> String {
    d.get_organisation(council(dir::GetOrganisationRequest {
        id: LAMBETH_LIVING.into(),
    }))
    .await
    .unwrap()
    .into_inner()
    .organisation
    .unwrap()
    .etag
}

async fn step(d: &mut Dir, rid: &str, f: impl FnOnce(&mut dir::RecordOptionsReviewRequest)) {
    let mut r = dir::RecordOptionsReviewRequest {
        request_id: rid.into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag(d).await,
        ..Default::default()
    };
    f(&mut r);
    d.record_options_review(council(r)).await.unwrap();
}

/// Lambeth's road to taking management back: the transfer was balloted, so a ballot; decided
/// on 1 September 2026, ending on 16 October 2026.
pub async fn take_back(d: &mut Dir) {
    let transfer = dir::UpdateAlmoLifecycleRequest {
        request_id: "transfer".into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag(d).await,
        transfer_opinion_method: dir::OpinionMethod::Ballot as i32,
        ..Default::default()
    };
    d.update_almo_lifecycle(council(transfer)).await.unwrap();
    step(d, "start", |r| r.start_date = "2026-01-12".into()).await;
    step(d, "notify", |r| {
        r.department_notified_date = Some("2026-01-19".into())
    })
    .await;
    step(d, "ballot", |r| {
        r.opinion = Some(dir::OpinionTest {
            method: dir::OpinionMethod::Ballot as i32,
            opened_date: "2026-06-01".into(),
            closed_date: "2026-06-30".into(),
            eligible: 33_000,
            responses: 17_160,
            in_favour: 11_100,
            ..Default::default()
        })
    })
    .await;
    step(d, "decide", |r| {
        r.decision = dir::HandBackDecision::TakeBack as i32;
        r.decision_date = "2026-09-01".into();
    })
    .await;
    let end = dir::UpdateAlmoLifecycleRequest {
        request_id: "end".into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag(d).await,
        end_date: Some(END.into()),
        ..Default::default()
    };
    d.update_almo_lifecycle(council(end)).await.unwrap();
}
