//! Delivery plans: one row per RPC (see the module documentation of `access_matrix.rs`).

use almo_proto::delivery_plan as dp;

use crate::harness::{Row, first, row};
use crate::world::*;

pub fn rows() -> Vec<Row> {
    vec![
        row!(
            "DeliveryPlanService/CreatePlan",
            "* pd/pd/pd  CO ae/pd/pd",
            |c, s| c.dp.create_plan(plan_request(rid(), &s.council, &s.almo))
        ),
        row!(
            "DeliveryPlanService/GetPlan",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.dp.get_plan(dp::GetPlanRequest {
                plan_id: s.plan,
                ..Default::default()
            })
        ),
        row!("DeliveryPlanService/ListPlans", "* ok/ok/ok", |c, s| c
            .dp
            .list_plans(dp::ListPlansRequest {
                almo_id: s.almo,
                ..Default::default()
            })),
        row!(
            "DeliveryPlanService/ListPlanVersions",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .dp
                .list_plan_versions(dp::ListPlanVersionsRequest { plan_id: s.plan })
        ),
        row!(
            "DeliveryPlanService/ProposeAmendment",
            "* pd/pd/pd  CO ab/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.propose_amendment(dp::ProposeAmendmentRequest {
                request_id: rid(),
                plan_id: s.plan,
                etag: STALE.into(),
                reason: "checked against the source figures".into(),
                effective_date: "2027-04-01".into(),
                content: Some(plan_content()),
            })
        ),
        row!(
            "DeliveryPlanService/AgreeAmendment",
            "* pd/pd/pd  CO ab/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.agree_amendment(dp::AgreeAmendmentRequest {
                request_id: rid(),
                amendment_id: s.amendment,
                etag: STALE.into(),
                note: "agreed".into(),
            })
        ),
        row!(
            "DeliveryPlanService/RejectAmendment",
            "* pd/pd/pd  CO ab/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.reject_amendment(dp::RejectAmendmentRequest {
                request_id: rid(),
                amendment_id: s.amendment,
                etag: STALE.into(),
                note: "not agreed".into(),
            })
        ),
        row!(
            "DeliveryPlanService/WithdrawAmendment",
            "* pd/pd/pd  CO ab/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.withdraw_amendment(dp::WithdrawAmendmentRequest {
                request_id: rid(),
                amendment_id: s.amendment,
                etag: STALE.into(),
                note: "withdrawn".into(),
            })
        ),
        row!(
            "DeliveryPlanService/ReprofileCapital",
            "* pd/pd/pd  CO ab/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.reprofile_capital(dp::ReprofileCapitalRequest {
                request_id: rid(),
                plan_id: s.plan,
                etag: STALE.into(),
                year: fy(2026),
                lines: vec![
                    dp::CapitalShare {
                        category: dp::CapitalCategory::DecentHomes as i32,
                        amount: gbp(1_950_000_000),
                    },
                    dp::CapitalShare {
                        category: dp::CapitalCategory::Sustainability as i32,
                        amount: gbp(50_000_000),
                    },
                ],
                reason: "checked against the source figures".into(),
                effective_date: String::new(),
            })
        ),
        row!(
            "DeliveryPlanService/ListAmendments",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .dp
                .list_amendments(dp::ListAmendmentsRequest { plan_id: s.plan })
        ),
        row!(
            "DeliveryPlanService/RecordVariance",
            "* pd/pd/pd  CO ok/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.dp.record_variance(dp::RecordVarianceRequest {
                request_id: rid(),
                plan_id: s.plan,
                record: Some(variance("matrix-q3", 3, 97.5)),
            })
        ),
        row!(
            "DeliveryPlanService/PushVariances",
            "* pd/pd/pd  CO ok/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c
                .dp
                .push_variances(tokio_stream::iter(vec![dp::PushVariancesRequest {
                    request_id: rid(),
                    plan_id: s.plan,
                    records: vec![variance("matrix-q4", 4, 97.5)],
                }]))
        ),
        row!(
            "DeliveryPlanService/ListVarianceHistory",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.dp.list_variance_history(dp::ListVarianceHistoryRequest {
                plan_id: s.plan,
                sender_record_id: "q1".into(),
            })
        ),
        row!(
            "DeliveryPlanService/GetPlanStatus",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .dp
                .get_plan_status(dp::GetPlanStatusRequest { plan_id: s.plan })
        ),
        row!(
            "DeliveryPlanService/ListExceptions",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.dp.list_exceptions(dp::ListExceptionsRequest {
                plan_id: s.plan,
                ..Default::default()
            })
        ),
        row!(
            "DeliveryPlanService/SubmitExceptionReport",
            "* pd/pd/pd  AO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c
                .dp
                .submit_exception_report(dp::SubmitExceptionReportRequest {
                    request_id: rid(),
                    exception_id: s.exception,
                    etag: STALE.into(),
                    cause: "contractor".into(),
                    recovery_action: "new contractor".into(),
                    recovery_date: "2031-03-31".into(),
                })
        ),
        row!(
            "DeliveryPlanService/DecideExceptionReport",
            "* pd/pd/pd  CO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c
                .dp
                .decide_exception_report(dp::DecideExceptionReportRequest {
                    request_id: rid(),
                    exception_id: s.exception,
                    etag: STALE.into(),
                    decision: dp::ExceptionDecision::Accept as i32,
                    note: "accepted".into(),
                })
        ),
        row!(
            "DeliveryPlanService/WatchPlanEvents",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| {
                first(c.dp.watch_plan_events(dp::WatchPlanEventsRequest {
                    plan_id: s.plan,
                    after_cursor: String::new(),
                }))
            }
        ),
    ]
}
