//! A council takes its ALMO's management back mid-year, as it would through the suite: the road
//! recorded in the directory (seed 002), the end set after later days were already invoiced, and
//! every service's state afterwards — the SLA agreements ended and the next billing run crediting
//! the days after the end to the penny, and each service refusing what an ended ALMO can no longer
//! do. SQLite by default, PostgreSQL when ALMO_TEST_DATABASE_URL is set.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{self as dir};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{self as pi};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

type Sla = SlaChargingServiceClient<Channel>;
type Dir = DirectoryServiceClient<Channel>;

/// The human resources service: £36,500 a year, exempt from VAT: £100 a day in 2026/27.
const HR_FEE: i64 = 3_650_000;

fn gbp(pence: i64) -> Option<Money> {
    Some(Money {
        pence,
        currency_code: "GBP".into(),
    })
}

fn month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

fn reason(s: &tonic::Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn council<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilOfficer)
}

fn finance<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilFinance)
}

async fn active_agreement(c: &mut Sla) -> sla::Agreement {
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

async fn run(c: &mut Sla, rid: &str, m: i32) -> sla::RunBillingResponse {
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
async fn bill_and_issue(c: &mut Sla, m: i32) -> sla::Invoice {
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
async fn take_back(d: &mut Dir) {
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
        end_date: Some("2026-10-16".into()),
        ..Default::default()
    };
    d.update_almo_lifecycle(council(end)).await.unwrap();
}

#[tokio::test]
async fn a_council_takes_its_almo_back_mid_year_and_every_service_follows() {
    let app = TestApp::spawn(vec![
        almo_directory::mount(),
        almo_sla_charging::mount(),
        almo_pi_returns::mount(),
        almo_delivery_plan::mount(),
    ])
    .await
    .unwrap();
    // Lambeth Living's delivery plan, with an amendment the ALMO proposed still unanswered.
    almo_pi_returns::seed_catalogue(app.db.conn())
        .await
        .unwrap();
    almo_delivery_plan::demo::seed(&app.db).await.unwrap();
    let ch = app.channel().await;
    let mut plans = DeliveryPlanServiceClient::new(ch.clone());
    let plan_id = almo_delivery_plan::demo::PLAN_ID;
    let lister = plans.clone();
    let pending = || async {
        let mut plans = lister.clone();
        plans
            .list_amendments(council(dp::ListAmendmentsRequest {
                plan_id: plan_id.into(),
            }))
            .await
            .unwrap()
            .into_inner()
            .amendments
    };
    let proposed: Vec<String> = pending()
        .await
        .into_iter()
        .filter(|a| a.state == dp::AmendmentState::Proposed as i32)
        .map(|a| a.amendment_id)
        .collect();
    assert!(!proposed.is_empty());
    let (mut d, mut s) = (
        DirectoryServiceClient::new(ch.clone()),
        SlaChargingServiceClient::new(ch.clone()),
    );
    let mut p = PiReturnsServiceClient::new(ch);

    // October and November invoiced in full before the end was known.
    let agreement = active_agreement(&mut s).await;
    let october = bill_and_issue(&mut s, 7).await;
    let november = bill_and_issue(&mut s, 8).await;
    assert_eq!(october.gross.as_ref().unwrap().pence, 31 * HR_FEE / 365);
    assert_eq!(november.gross.as_ref().unwrap().pence, 30 * HR_FEE / 365);

    let mut watch = d
        .watch_lifecycle_events(council(dir::WatchLifecycleEventsRequest {
            after_event_id: "0".into(),
            almo_id: LAMBETH_LIVING.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    take_back(&mut d).await;

    // The council's system follows the hand-back to its end.
    let mut kinds = Vec::new();
    while kinds.last() != Some(&(dir::LifecycleEventKind::EndDateSet as i32)) {
        let e = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("events keep coming")
            .unwrap()
            .unwrap()
            .event
            .unwrap();
        kinds.push(e.kind);
    }
    use dir::LifecycleEventKind as K;
    assert_eq!(
        kinds,
        [
            K::OptionsReviewStarted,
            K::DepartmentNotified,
            K::OpinionTested,
            K::DecisionRecorded,
            K::EndDateSet
        ]
        .map(|k| k as i32)
    );

    // SLA charging ends the agreement on the ALMO's end (its consumer runs in the background).
    let mut ended = String::new();
    for _ in 0..100 {
        ended = s
            .get_agreement(finance(sla::GetAgreementRequest {
                agreement_id: agreement.agreement_id.clone(),
            }))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap()
            .end_date;
        if ended == "2026-10-16" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ended, "2026-10-16");

    // The delivery plan closes on the end, its last status kept; the pending amendment lapses.
    let mut status = dp::GetPlanStatusResponse::default();
    for _ in 0..100 {
        status = plans
            .get_plan_status(council(dp::GetPlanStatusRequest {
                plan_id: plan_id.into(),
            }))
            .await
            .unwrap()
            .into_inner();
        if !status.closed_date.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status.closed_date, "2026-10-16");
    assert!(status.closed_reason.contains("ended on 2026-10-16"));
    assert!(!status.targets.is_empty());
    // A closed plan takes no more amendments.
    let plan = status.plan.clone().unwrap();
    let err = plans
        .propose_amendment(council(dp::ProposeAmendmentRequest {
            request_id: "propose-after".into(),
            plan_id: plan_id.into(),
            etag: plan.etag.clone(),
            reason: "new relet targets".into(),
            effective_date: "2027-04-01".into(),
            content: plan.content.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "PLAN_CLOSED");
    assert!(
        err.message().contains("closed on 2026-10-16"),
        "{}",
        err.message()
    );
    for a in pending().await {
        if proposed.contains(&a.amendment_id) {
            assert_eq!(a.state, dp::AmendmentState::Withdrawn as i32);
            assert!(
                a.decision_note
                    .starts_with("lapsed: the ALMO ended on 2026-10-16")
            );
        }
    }

    // The next billing run (December) credits the days after the end: 17-31 October and all of
    // November, 45 days at £100, to the penny, against the invoices that billed them.
    let december = run(&mut s, "run-9", 9).await;
    assert!(december.invoices.is_empty(), "{december:?}");
    let credit_of = |invoice: &sla::Invoice| {
        let adj = december
            .adjustments
            .iter()
            .find(|a| a.original_invoice_id == invoice.invoice_id)
            .unwrap_or_else(|| panic!("{} adjusted: {december:?}", invoice.invoice_id));
        let note = adj.credit_note.as_ref().expect("a credit note");
        assert!(note.adjustment);
        assert!(
            note.reason.contains("after the ALMO's end on 2026-10-16"),
            "{}",
            note.reason
        );
        note.gross.as_ref().unwrap().pence
    };
    assert_eq!(credit_of(&october), 150_000);
    assert_eq!(credit_of(&november), 300_000);
    assert_eq!(december.adjustments.len(), 2);
    // A later run credits nothing more.
    assert!(run(&mut s, "run-10", 10).await.adjustments.is_empty());

    // Write-time refusals name the end: usage for November...
    let err = s
        .record_usage(finance(sla::RecordUsageRequest {
            request_id: "usage-nov".into(),
            record: Some(sla::UsageRecord {
                record_id: "usage-nov".into(),
                agreement_id: agreement.agreement_id.clone(),
                line_code: "LEGAL".into(),
                period: month(8),
                quantity_milli: 2_000,
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("2026-10-16"), "{}", err.message());
    // ...and a PI return of the ALMO for the year after.
    let err = p
        .create_return(authed(
            pi::CreateReturnRequest {
                request_id: "pi-2027".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: Some(Period {
                    year: Some(FinancialYear { start_year: 2027 }),
                    kind: PeriodKind::Year as i32,
                    number: 1,
                }),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("2026-10-16"), "{}", err.message());
    // The outstanding returns: 2026/27 holds the end, so both report for it; 2027/28 expects the
    // council alone.
    let expected = |year: i32| {
        let mut p = p.clone();
        async move {
            let mut ids: Vec<String> = p
                .list_outstanding_returns(council(pi::ListOutstandingReturnsRequest {
                    period: Some(Period {
                        year: Some(FinancialYear { start_year: year }),
                        kind: PeriodKind::Year as i32,
                        number: 1,
                    }),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner()
                .expected
                .into_iter()
                .map(|e| e.organisation_id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(expected(2026).await, [LAMBETH, LAMBETH_LIVING]);
    assert_eq!(expected(2027).await, [LAMBETH]);
}

/// Two replicas of the delivery-plan service on one database, both consuming the lifecycle
/// events: the plan closes once and each lapsed amendment is one event, not one per replica.
#[tokio::test]
async fn two_replicas_apply_the_end_once() {
    use almo_db::entity::dp_event;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let first = almo_testkit::TestDb::with_demo().await.unwrap();
    almo_pi_returns::seed_catalogue(first.db.conn())
        .await
        .unwrap();
    almo_delivery_plan::demo::seed(&first.db).await.unwrap();
    let second = first.another_pool().await.unwrap();
    let args = almo_testkit::default_args;
    let a = TestApp::spawn_on(
        args(),
        vec![almo_directory::mount(), almo_delivery_plan::mount()],
        first,
    )
    .await
    .unwrap();
    let b = TestApp::spawn_on(args(), vec![almo_delivery_plan::mount()], second)
        .await
        .unwrap();
    let plan_id = almo_delivery_plan::demo::PLAN_ID;
    let mut d = DirectoryServiceClient::new(a.channel().await);
    take_back(&mut d).await;
    let mut plans = DeliveryPlanServiceClient::new(b.channel().await);
    let mut closed = String::new();
    for _ in 0..100 {
        closed = plans
            .get_plan_status(council(dp::GetPlanStatusRequest {
                plan_id: plan_id.into(),
            }))
            .await
            .unwrap()
            .into_inner()
            .closed_date;
        if !closed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(closed, "2026-10-16");
    // Both replicas look again several times over.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let count = |kind: &'static str| {
        dp_event::Entity::find()
            .filter(dp_event::Column::PlanId.eq(plan_id))
            .filter(dp_event::Column::Kind.eq(kind))
            .filter(dp_event::Column::Summary.contains("2026-10-16"))
            .count(a.db.conn())
    };
    assert_eq!(count("status_changed").await.unwrap(), 1);
    assert_eq!(count("amendment_withdrawn").await.unwrap(), 1);
}
