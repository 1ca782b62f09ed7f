//! A council takes its ALMO's management back mid-year, as it would through the suite: the road
//! recorded in the directory (seed 002), the end set after later days were already invoiced and
//! an inspection booked for the week after it, and every service's state afterwards — the SLA
//! agreements ended and the next billing run crediting the days after the end to the penny, the
//! delivery plan closed, the booking cancelled as ALMO_ENDED and kept, and each service refusing
//! what an ended ALMO can no longer do, naming the end. SQLite by default, PostgreSQL when
//! ALMO_TEST_DATABASE_URL is set.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{self as dir};
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{self as ins};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{self as pi};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tokio_stream::StreamExt;
use tonic::Code;

#[path = "hand_back/common.rs"]
mod common;

use common::*;

#[tokio::test]
async fn a_council_takes_its_almo_back_mid_year_and_every_service_follows() {
    let app = TestApp::spawn(vec![
        almo_directory::mount(),
        almo_sla_charging::mount(),
        almo_pi_returns::mount(),
        almo_delivery_plan::mount(),
        almo_inspection_scheduling::mount(),
    ])
    .await
    .unwrap();
    // Lambeth Living's delivery plan, with an amendment the ALMO proposed still unanswered; the
    // inspectorate's staff and Lambeth Living's readiness.
    almo_pi_returns::seed_catalogue(app.db.conn())
        .await
        .unwrap();
    almo_delivery_plan::demo::seed(&app.db).await.unwrap();
    almo_inspection_scheduling::demo::seed(&app.db)
        .await
        .unwrap();
    let ch = app.channel().await;
    let mut inspections = InspectionSchedulingServiceClient::new(ch.clone());
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
    // And the inspectorate has booked Lambeth Living for the week after what will be its end.
    let booked = book_week_after_end(&mut inspections).await;
    assert_eq!(booked.status, ins::InspectionStatus::Booked as i32);

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
    let id = agreement.agreement_id.clone();
    let ended = eventually(
        || {
            let (mut s, id) = (s.clone(), id.clone());
            async move { get_agreement(&mut s, &id).await }
        },
        |a| a.end_date == END,
    )
    .await;
    assert_eq!(ended.end_date, END);

    // The delivery plan closes on the end, its last status kept; the pending amendment lapses.
    let status = eventually(
        || {
            let mut plans = plans.clone();
            async move {
                plans
                    .get_plan_status(council(dp::GetPlanStatusRequest {
                        plan_id: plan_id.into(),
                    }))
                    .await
                    .unwrap()
                    .into_inner()
            }
        },
        |s| !s.closed_date.is_empty(),
    )
    .await;
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

    // A closed plan's last statuses stay readable, and an actual for November, after the end, is
    // refused naming it.
    assert!(
        status.targets.iter().any(|t| !t.periods.is_empty()),
        "{status:?}"
    );
    let err = plans
        .record_variance(council(dp::RecordVarianceRequest {
            request_id: "nov-actual".into(),
            plan_id: plan_id.into(),
            record: Some(dp::VarianceRecord {
                sender_record_id: "LBH-2026-M08-LOCAL-RELET".into(),
                target_code: "LOCAL-RELET".into(),
                period: month(8),
                actual: 36.0,
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2026-10-16"),
        "{}",
        err.message()
    );

    // The booking for the week after the end is cancelled as ALMO_ENDED, attributed to the council,
    // and kept: the council reads it, and lists it among Lambeth Living's cancelled inspections.
    let cancelled = eventually(
        || {
            let (mut c, id) = (inspections.clone(), booked.inspection_id.clone());
            async move { get_inspection(&mut c, &id).await }
        },
        |i| i.status == ins::InspectionStatus::Cancelled as i32,
    )
    .await;
    assert_eq!(cancelled.status, ins::InspectionStatus::Cancelled as i32);
    let why = cancelled.cancellation.clone().unwrap();
    assert!(
        why.reason
            .starts_with("ALMO_ENDED: the ALMO ended on 2026-10-16"),
        "{}",
        why.reason
    );
    assert_eq!(why.cancelled_by_organisation_id, LAMBETH);
    let listed = inspections
        .list_inspections(council(ins::ListInspectionsRequest {
            almo_id: LAMBETH_LIVING.into(),
            statuses: vec![ins::InspectionStatus::Cancelled as i32],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = listed
        .inspections
        .iter()
        .map(|i| i.inspection_id.as_str())
        .collect();
    assert_eq!(ids, [booked.inspection_id.as_str()]);
    // Its team cannot be recorded on site after the end, nor the ALMO declare readiness again.
    let err = inspections
        .record_stage_date(inspectorate(ins::RecordStageDateRequest {
            request_id: "on-site-after-end".into(),
            inspection_id: booked.inspection_id.clone(),
            stage: ins::Stage::OnSite as i32,
            actual_date: WEEK_AFTER_END.into(),
            etag: cancelled.etag.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2026-10-16"),
        "{}",
        err.message()
    );
    let err = inspections
        .declare_readiness(authed(
            ins::DeclareReadinessRequest {
                request_id: "ready-after-end".into(),
                almo_id: LAMBETH_LIVING.into(),
                best_value_reviews: [
                    ins::BestValueService::RepairsAndMaintenance,
                    ins::BestValueService::CapitalProgrammeDelivery,
                    ins::BestValueService::RentCollection,
                    ins::BestValueService::EstateManagement,
                ]
                .map(|service| ins::BestValueReview {
                    service: service as i32,
                    completion_date: "2026-03-31".into(),
                })
                .to_vec(),
                funding_round: "round 9".into(),
                funding_needed_by_date: "2027-03-31".into(),
                ..Default::default()
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2026-10-16"),
        "{}",
        err.message()
    );

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
    pi_transition_year(&mut p).await;
}

/// PI returns for 2026/27, the year of the end, filed as parts: Lambeth Living's return covers
/// the days to its end and opens for submission once they are over; Lambeth's own covers the
/// rest of the year; the authority's figure is made from the two once the ALMO's part is signed
/// off, as a ratio of sums.
async fn pi_transition_year(p: &mut PiReturnsServiceClient<tonic::transport::Channel>) {
    let year_2026 = || {
        Some(Period {
            year: Some(FinancialYear { start_year: 2026 }),
            kind: PeriodKind::Year as i32,
            number: 1,
        })
    };
    let mut parts = Vec::new();
    for (org, role, satisfied) in [
        (LAMBETH_LIVING, Role::AlmoOfficer, 712.0),
        (LAMBETH, Role::CouncilOfficer, 300.0),
    ] {
        let r = p
            .create_return(authed(
                pi::CreateReturnRequest {
                    request_id: format!("pi-2026-{org}"),
                    organisation_id: org.into(),
                    period: year_2026(),
                },
                org,
                role,
            ))
            .await
            .unwrap()
            .into_inner()
            .pi_return
            .unwrap();
        let r = p
            .set_values(authed(
                pi::SetValuesRequest {
                    request_id: format!("pi-2026-{org}-tp01"),
                    return_id: r.id.clone(),
                    etag: r.etag.clone(),
                    values: vec![pi::ValueInput {
                        indicator_code: "TP01".into(),
                        numerator: Some(satisfied),
                        denominator: Some(if org == LAMBETH { 500.0 } else { 1_000.0 }),
                        ..Default::default()
                    }],
                    survey: None,
                },
                org,
                role,
            ))
            .await
            .unwrap()
            .into_inner()
            .pi_return
            .unwrap();
        parts.push(r);
    }
    let covers: Vec<(&str, &str)> = parts
        .iter()
        .map(|r| (r.covers_from.as_str(), r.covers_to.as_str()))
        .collect();
    assert_eq!(
        covers,
        [("2026-04-01", "2026-10-16"), ("2026-10-17", "2027-03-31")]
    );
    let authority = |p: &mut PiReturnsServiceClient<tonic::transport::Channel>| {
        let mut p = p.clone();
        async move {
            p.get_return(council(pi::GetReturnRequest {
                return_id: format!("{LAMBETH}/2026/Y"),
                include_history: false,
            }))
            .await
            .unwrap()
            .into_inner()
            .pi_return
            .unwrap()
        }
    };
    let waiting = authority(p).await;
    let waiting = waiting
        .authority_not_combined
        .iter()
        .find(|n| n.indicator_code == "TP01")
        .expect("TP01 waits for the ALMO's part");
    assert!(
        waiting.reason.contains(LAMBETH_LIVING),
        "{}",
        waiting.reason
    );

    // Lambeth Living completes its part (every measure of the year, and its tenant survey) and
    // submits it in December: its days are over, it does not wait for 31 March.
    fn as_almo<T>(m: T) -> tonic::Request<T> {
        authed(m, LAMBETH_LIVING, Role::AlmoOfficer)
    }
    let indicators = p
        .list_indicators(council(pi::ListIndicatorsRequest {
            year: Some(FinancialYear { start_year: 2026 }),
            page_size: 100,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .indicators;
    let note = "Headline figures for the part of the year to the end only.";
    let values = indicators
        .iter()
        .filter(|d| d.code != "TP01")
        .map(|d| pi::ValueInput {
            indicator_code: d.code.clone(),
            value: Some(((d.usual_min + d.usual_max) / 2.0).round()),
            explanation: note.into(),
            ..Default::default()
        })
        .chain([pi::ValueInput {
            indicator_code: "TP01".into(),
            numerator: Some(712.0),
            denominator: Some(1_000.0),
            explanation: note.into(),
            ..Default::default()
        }])
        .collect();
    let mut almo_part = parts[0].clone();
    for (i, (values, survey)) in [
        (values, None),
        (
            vec![],
            Some(pi::TenantSurvey {
                sample_size: 2_200,
                method: pi::SurveyMethod::Mixed as i32,
                tenure: pi::Tenure::LowCostRental as i32,
                relevant_homes: 33_000,
                fieldwork_start_date: "2026-06-01".into(),
                fieldwork_end_date: "2026-07-31".into(),
                weighted: true,
                ..Default::default()
            }),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        almo_part = p
            .set_values(as_almo(pi::SetValuesRequest {
                request_id: format!("pi-2026-complete-{i}"),
                return_id: almo_part.id.clone(),
                etag: almo_part.etag.clone(),
                values,
                survey,
            }))
            .await
            .unwrap()
            .into_inner()
            .pi_return
            .unwrap();
    }
    let submitted = p
        .submit_return(as_almo(pi::SubmitReturnRequest {
            request_id: "pi-2026-submit".into(),
            return_id: almo_part.id.clone(),
            etag: almo_part.etag.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    p.sign_off_return(council(pi::SignOffReturnRequest {
        request_id: "pi-2026-sign-off".into(),
        return_id: submitted.id.clone(),
        etag: submitted.etag.clone(),
    }))
    .await
    .unwrap();
    // The authority's overall satisfaction for the year: (712 + 300) / (1,000 + 500) = 67.5%,
    // not 65.6%, the average of the ALMO's 71.2 and the council's 60.0.
    let read = authority(p).await;
    let tp01 = read
        .authority_figures
        .iter()
        .find(|f| f.indicator_code == "TP01" && f.split.is_empty())
        .expect("TP01 made from the parts");
    assert_eq!(tp01.value, 67.5);
    assert_eq!(
        (tp01.numerator, tp01.denominator),
        (Some(1_012.0), Some(1_500.0))
    );
    assert_eq!(
        tp01.parts
            .iter()
            .map(|p| (p.organisation_id.as_str(), p.counted))
            .collect::<Vec<_>>(),
        [(LAMBETH_LIVING, true), (LAMBETH, true)]
    );
}
