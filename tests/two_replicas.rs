//! Two replicas of the whole suite on one database, driven at once: what must hold when a
//! deployment runs several processes against one PostgreSQL (and, serialised, on SQLite).
//!
//! Each replica is a real server on 127.0.0.1:0 with every service mounted and its own connection
//! pool, as a second process would have; clients alternate between them.

use std::time::Duration;

use almo_auth::Role;
use almo_db::entity::{audit_log, dp_variance, insp_inspection, insp_inspector_week, sla_invoice};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{self as insp};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tonic::Code;
use tonic::transport::Channel;

/// Two servers, every service mounted on each, one database with the demo data of every service.
struct Replicas {
    a: TestApp,
    b: TestApp,
}

impl Replicas {
    async fn start() -> Self {
        let first = TestDb::new().await.unwrap();
        // The order `almo up --demo` loads it in.
        almo_pi_returns::seed_catalogue(first.db.conn())
            .await
            .unwrap();
        almo_directory::demo::seed(&first.db).await.unwrap();
        almo_delivery_plan::demo::seed(&first.db).await.unwrap();
        almo_pi_returns::demo::seed(&first.db).await.unwrap();
        almo_inspection_scheduling::demo::seed(&first.db)
            .await
            .unwrap();
        almo_sla_charging::demo::seed(&first.db).await.unwrap();
        let second = first.another_pool().await.unwrap();
        let a = TestApp::spawn_on(default_args(), mounts(), first)
            .await
            .unwrap();
        let b = TestApp::spawn_on(default_args(), mounts(), second)
            .await
            .unwrap();
        assert_ne!(a.addr, b.addr);
        Self { a, b }
    }

    /// A fresh connection to replica `n % 2`: A, B, A, B...
    async fn channel(&self, n: usize) -> Channel {
        if n.is_multiple_of(2) {
            self.a.channel().await
        } else {
            self.b.channel().await
        }
    }
}

fn mounts() -> Vec<almo_server::ServiceMount> {
    // The figures these tests send are for 2026/27 months after the demo's: both replicas read
    // today as a day after that year, so each is an actual for a period that has ended, whatever
    // day the tests run.
    let after_the_demo_year = chrono::NaiveDate::from_ymd_opt(2027, 4, 15).unwrap();
    vec![
        almo_directory::mount(),
        almo_delivery_plan::mount_with_clock(almo_delivery_plan::Clock::Fixed(after_the_demo_year)),
        almo_sla_charging::mount(),
        almo_pi_returns::mount(),
        almo_inspection_scheduling::mount(),
    ]
}

/// Retries a call refused as ABORTED (a lost race on a busy database, or the same request id in
/// flight elsewhere), as a client is told to; bounded so a livelock fails the test.
macro_rules! retry_aborted {
    ($call:expr) => {{
        let mut attempts = 0;
        loop {
            attempts += 1;
            match $call.await {
                Err(e) if e.code() == Code::Aborted && attempts < 50 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other,
            }
        }
    }};
}

fn sla_month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

fn run_billing(rid: &str, n: i32) -> tonic::Request<sla::RunBillingRequest> {
    authed(
        sla::RunBillingRequest {
            request_id: rid.into(),
            supplier_council_id: LAMBETH.into(),
            period: sla_month(n),
        },
        LAMBETH,
        Role::CouncilFinance,
    )
}

#[tokio::test]
async fn one_billing_run_sent_to_both_replicas_at_once_leaves_one_invoice() {
    let r = Replicas::start().await;
    // January 2027 (month 10): nothing billed for it yet.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        let mut c = SlaChargingServiceClient::new(r.channel(n).await);
        tasks.spawn(async move {
            retry_aborted!(c.run_billing(run_billing(&format!("run-m10-{n}"), 10)))
                .unwrap_or_else(|e| panic!("run {n}: {e:?}"))
                .into_inner()
                .invoices
                .into_iter()
                .map(|i| i.invoice_id)
                .collect::<Vec<_>>()
        });
    }
    let ids = tasks.join_all().await;
    assert!(ids.iter().all(|i| i.len() == 1), "{ids:?}");
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
    let invoices = sla_invoice::Entity::find()
        .filter(sla_invoice::Column::AgreementId.eq(almo_sla_charging::demo::AGREEMENT_ID))
        .filter(sla_invoice::Column::FyStartYear.eq(2026))
        .filter(sla_invoice::Column::PeriodNumber.eq(10))
        .all(r.a.db.conn())
        .await
        .unwrap();
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0].id, ids[0][0]);
}

#[tokio::test]
async fn invoices_issued_through_both_replicas_at_once_are_numbered_without_gaps() {
    let r = Replicas::start().await;
    let mut c = SlaChargingServiceClient::new(r.a.channel().await);
    // July to December 2026: six drafts beside the demo's issued April and May.
    let mut drafts = Vec::new();
    for m in 4..=9 {
        drafts.extend(
            c.run_billing(run_billing(&format!("draft-{m}"), m))
                .await
                .unwrap()
                .into_inner()
                .invoices,
        );
    }
    assert_eq!(drafts.len(), 6);
    let mut tasks = tokio::task::JoinSet::new();
    for (n, d) in drafts.into_iter().enumerate() {
        let mut c = SlaChargingServiceClient::new(r.channel(n).await);
        tasks.spawn(async move {
            let req = || {
                authed(
                    sla::IssueInvoiceRequest {
                        request_id: format!("issue-{}", d.invoice_id),
                        invoice_id: d.invoice_id.clone(),
                        etag: d.etag.clone(),
                    },
                    LAMBETH,
                    Role::CouncilFinance,
                )
            };
            retry_aborted!(c.issue_invoice(req()))
                .unwrap_or_else(|e| panic!("issuing {}: {e:?}", d.invoice_id))
                .into_inner()
                .invoice
                .unwrap()
                .invoice_number
        });
    }
    let mut answered = tasks.join_all().await;
    answered.sort();
    // Every Lambeth invoice ever issued, demo ones included: 1..=N, each once.
    let mut stored: Vec<String> = sla_invoice::Entity::find()
        .filter(sla_invoice::Column::SupplierCouncilId.eq(LAMBETH))
        .all(r.b.db.conn())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|i| i.invoice_number)
        .collect();
    stored.sort();
    let expected: Vec<String> = (1..=stored.len())
        .map(|n| format!("SLA-{LAMBETH}-{n:06}"))
        .collect();
    assert_eq!(stored, expected, "gapless and unique");
    assert_eq!(stored.len(), 8, "the demo's two and these six");
    assert!(answered.iter().all(|n| stored.contains(n)), "{answered:?}");
    let mut unique = answered.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6, "{answered:?}");
}

fn booking(
    rid: &str,
    almo: &str,
    monday: &str,
    team: &[&str],
) -> tonic::Request<insp::BookInspectionRequest> {
    authed(
        insp::BookInspectionRequest {
            request_id: rid.into(),
            almo_id: almo.into(),
            on_site_start_date: monday.into(),
            team_inspector_ids: team.iter().map(|t| t.to_string()).collect(),
            span_weeks: 0,
        },
        INSPECTORATE,
        Role::Inspectorate,
    )
}

/// Leeds ENE or WNW declares ready for an inspection in autumn 2007.
fn readiness(almo: &str) -> tonic::Request<insp::DeclareReadinessRequest> {
    let review = |service: insp::BestValueService, date: &str| insp::BestValueReview {
        service: service as i32,
        completion_date: date.into(),
    };
    authed(
        insp::DeclareReadinessRequest {
            request_id: format!("ready-{almo}"),
            almo_id: almo.into(),
            best_value_reviews: vec![
                review(insp::BestValueService::RepairsAndMaintenance, "2006-11-30"),
                review(
                    insp::BestValueService::CapitalProgrammeDelivery,
                    "2007-02-28",
                ),
                review(insp::BestValueService::RentCollection, "2007-10-10"),
                review(insp::BestValueService::EstateManagement, "2007-03-30"),
            ],
            blackouts: vec![],
            board_meeting_dates: vec![],
            funding_round: "round 5".into(),
            funding_needed_by_date: "2008-01-31".into(),
            etag: String::new(),
        },
        almo,
        Role::AlmoOfficer,
    )
}

fn reason(s: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn one_inspector_booked_for_the_same_week_through_both_replicas_is_booked_once() {
    let r = Replicas::start().await;
    let mut a = InspectionSchedulingServiceClient::new(r.a.channel().await);
    let mut b = InspectionSchedulingServiceClient::new(r.b.channel().await);
    a.declare_readiness(readiness(LEEDS_ENE)).await.unwrap();
    b.declare_readiness(readiness(LEEDS_WNW)).await.unwrap();

    // LEAD-PATEL for the week of 22 October 2007, for two ALMOs, through A and B at once.
    let (ra, rb) = tokio::join!(
        async {
            retry_aborted!(a.book_inspection(booking(
                "race-ene",
                LEEDS_ENE,
                "2007-10-22",
                &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH", "TIA-HALL"],
            )))
        },
        async {
            retry_aborted!(b.book_inspection(booking(
                "race-wnw",
                LEEDS_WNW,
                "2007-10-22",
                &["LEAD-PATEL", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
            )))
        },
    );
    let results = [ra.map(|_| ()), rb.map(|_| ())];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        ["INSPECTOR_DOUBLE_BOOKED", "BOOKING_CONFLICT"].contains(&reason(&err).as_str()),
        "{err:?}"
    );
    let patel = insp_inspector_week::Entity::find()
        .filter(insp_inspector_week::Column::InspectorId.eq("LEAD-PATEL"))
        .count(r.a.db.conn())
        .await
        .unwrap();
    assert_eq!(patel, 1);

    // One open inspection per ALMO: whichever ALMO got the week is booked again for another week
    // with a wholly different team, through both replicas at once; at most one more may stand,
    // and here none, since the ALMO already has one open.
    let leeds = [LEEDS_ENE, LEEDS_WNW];
    let mut open = Vec::new();
    for almo in leeds {
        open.push(
            insp_inspection::Entity::find()
                .filter(insp_inspection::Column::AlmoId.eq(almo))
                .count(r.a.db.conn())
                .await
                .unwrap(),
        );
    }
    assert_eq!(open.iter().sum::<u64>(), 1, "{open:?}");
    // The ALMO without an inspection: two bookings for it, different weeks and teams, at once.
    let free = leeds[open.iter().position(|n| *n == 0).unwrap()];
    let (ra, rb) = tokio::join!(
        async {
            retry_aborted!(a.book_inspection(booking(
                "twice-a",
                free,
                "2007-11-05",
                &["LEAD-HUGHES", "INSP-BRENNAN", "INSP-SINGH", "TIA-GREEN"],
            )))
        },
        async {
            retry_aborted!(b.book_inspection(booking(
                "twice-b",
                free,
                "2007-11-12",
                &[
                    "LEAD-OKAFOR",
                    "INSP-KOWALSKI",
                    "INSP-ADEYEMI",
                    "TIA-FERREIRA"
                ],
            )))
        },
    );
    let results = [ra.map(|_| ()), rb.map(|_| ())];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let for_free = insp_inspection::Entity::find()
        .filter(insp_inspection::Column::AlmoId.eq(free))
        .count(r.b.db.conn())
        .await
        .unwrap();
    assert_eq!(for_free, 1);
}

fn dp_month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

fn variance(
    rid: &str,
    sender_id: &str,
    m: i32,
    actual: f64,
) -> tonic::Request<dp::RecordVarianceRequest> {
    authed(
        dp::RecordVarianceRequest {
            request_id: rid.into(),
            plan_id: almo_delivery_plan::demo::PLAN_ID.into(),
            record: Some(dp::VarianceRecord {
                sender_record_id: sender_id.into(),
                target_code: "LOCAL-RENT".into(),
                period: dp_month(m),
                actual,
                forecast: None,
                commentary: String::new(),
            }),
        },
        LAMBETH,
        Role::CouncilOfficer,
    )
}

fn watch(cursor: &str) -> tonic::Request<dp::WatchPlanEventsRequest> {
    authed(
        dp::WatchPlanEventsRequest {
            plan_id: almo_delivery_plan::demo::PLAN_ID.into(),
            after_cursor: cursor.into(),
        },
        LAMBETH_LIVING,
        Role::AlmoOfficer,
    )
}

async fn next_event(stream: &mut tonic::Streaming<dp::WatchPlanEventsResponse>) -> dp::PlanEvent {
    tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("an event arrives within 15 s")
        .unwrap()
        .expect("the stream is open")
        .event
        .unwrap()
}

#[tokio::test]
async fn a_plan_event_written_through_one_replica_reaches_a_watcher_on_the_other() {
    let r = Replicas::start().await;
    let mut on_a = DeliveryPlanServiceClient::new(r.a.channel().await);
    let mut on_b = DeliveryPlanServiceClient::new(r.b.channel().await);
    let mut stream = on_b
        .watch_plan_events(watch(""))
        .await
        .unwrap()
        .into_inner();
    // November 2026 (month 8), through A.
    on_a.record_variance(variance("nov-rent", "LBH-2026-M08-LOCAL-RENT", 8, 97.1))
        .await
        .unwrap();
    let first = next_event(&mut stream).await;
    assert_eq!(
        first.kind,
        dp::PlanEventKind::VariancesRecorded as i32,
        "{first:?}"
    );
    drop(stream);
    // Written through A while nobody watches; B resumes from the cursor and gets it, and only it.
    on_a.record_variance(variance("dec-rent", "LBH-2026-M09-LOCAL-RENT", 9, 97.4))
        .await
        .unwrap();
    let mut resumed = on_b
        .watch_plan_events(watch(&first.cursor))
        .await
        .unwrap()
        .into_inner();
    let second = next_event(&mut resumed).await;
    assert_eq!(
        second.kind,
        dp::PlanEventKind::VariancesRecorded as i32,
        "{second:?}"
    );
    assert_ne!(second.cursor, first.cursor);
    // And a watcher on A sees what is written through B.
    let mut on_a_stream = on_a
        .watch_plan_events(watch(&second.cursor))
        .await
        .unwrap()
        .into_inner();
    on_b.record_variance(variance("jan-rent", "LBH-2026-M10-LOCAL-RENT", 10, 97.6))
        .await
        .unwrap();
    let third = next_event(&mut on_a_stream).await;
    assert_eq!(
        third.kind,
        dp::PlanEventKind::VariancesRecorded as i32,
        "{third:?}"
    );
}

#[tokio::test]
async fn a_retried_write_sent_to_both_replicas_is_applied_once() {
    let r = Replicas::start().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..4 {
        let mut c = DeliveryPlanServiceClient::new(r.channel(n).await);
        tasks.spawn(async move {
            retry_aborted!(c.record_variance(variance(
                "retried-nov-relet",
                "LBH-2026-M08-LOCAL-RELET",
                8,
                36.0
            )))
            .unwrap_or_else(|e| panic!("attempt {n}: {e:?}"))
            .into_inner()
        });
    }
    let answers = tasks.join_all().await;
    // Every attempt gets the first answer: accepted, not "unchanged" or "corrected".
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    assert_eq!(answers[0].outcome, dp::RecordOutcome::Accepted as i32);
    let rows = dp_variance::Entity::find()
        .filter(dp_variance::Column::SenderRecordId.eq("LBH-2026-M08-LOCAL-RELET"))
        .count(r.a.db.conn())
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::RequestId.eq("retried-nov-relet"))
        .count(r.b.db.conn())
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

/// Two writers who read the same etag change one record through different replicas at once:
/// one wins, the other is ABORTED and must re-read; never both applied, never a lost update.
#[tokio::test]
async fn writers_with_the_same_etag_on_both_replicas_one_wins_the_other_is_aborted() {
    use almo_proto::directory::directory_service_client::DirectoryServiceClient;
    use almo_proto::directory::{GetOrganisationRequest, UpdateAlmoLifecycleRequest};
    use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
    use almo_proto::pi_returns::{GetReturnRequest, SetValuesRequest, ValueInput};
    let r = Replicas::start().await;

    // The directory: Lambeth Living's stock, from the etag both read.
    let mut a = DirectoryServiceClient::new(r.a.channel().await);
    let mut b = DirectoryServiceClient::new(r.b.channel().await);
    let get = || {
        authed(
            GetOrganisationRequest {
                id: LAMBETH_LIVING.into(),
            },
            LAMBETH,
            Role::CouncilOfficer,
        )
    };
    let read = a.get_organisation(get()).await.unwrap().into_inner();
    let etag = read.organisation.unwrap().etag;
    let update = |rid: &str, stock: i32| {
        authed(
            UpdateAlmoLifecycleRequest {
                request_id: rid.into(),
                almo_id: LAMBETH_LIVING.into(),
                etag: etag.clone(),
                stock_size: Some(stock),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        )
    };
    let (ra, rb) = tokio::join!(
        a.update_almo_lifecycle(update("stock-a", 33_101)),
        b.update_almo_lifecycle(update("stock-b", 33_202)),
    );
    let winner = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
            assert_eq!(e.code(), Code::Aborted, "{e:?}");
            if ra.is_ok() { 33_101 } else { 33_202 }
        }
        other => panic!("exactly one update must stand: {other:?}"),
    };
    let stored = almo_db::entity::organisation::Entity::find_by_id(LAMBETH_LIVING.to_string())
        .one(r.b.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.stock_size, Some(winner));
    assert_ne!(
        b.get_organisation(get())
            .await
            .unwrap()
            .into_inner()
            .organisation
            .unwrap()
            .etag,
        etag
    );

    // PI returns: Lambeth Living's draft 2024/25 return, one figure, from the etag both read.
    let mut a = PiReturnsServiceClient::new(r.a.channel().await);
    let mut b = PiReturnsServiceClient::new(r.b.channel().await);
    let return_id = "LAMBETH-LIVING/2024/Y";
    let get = || {
        authed(
            GetReturnRequest {
                return_id: return_id.into(),
                include_history: false,
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        )
    };
    let etag = a
        .get_return(get())
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap()
        .etag;
    let set = |rid: &str, numerator: f64| {
        authed(
            SetValuesRequest {
                request_id: rid.into(),
                return_id: return_id.into(),
                etag: etag.clone(),
                values: vec![ValueInput {
                    indicator_code: "TP01".into(),
                    split: "lcra".into(),
                    numerator: Some(numerator),
                    denominator: Some(2000.0),
                    ..Default::default()
                }],
                survey: None,
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        )
    };
    let (ra, rb) = tokio::join!(
        a.set_values(set("tp01-a", 1440.0)),
        b.set_values(set("tp01-b", 1460.0)),
    );
    let winner = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => {
            assert_eq!(e.code(), Code::Aborted, "{e:?}");
            if ra.is_ok() { 1440.0 } else { 1460.0 }
        }
        other => panic!("exactly one change must stand: {other:?}"),
    };
    let now = b
        .get_return(get())
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    let tp01: Vec<_> = now
        .values
        .iter()
        .filter(|v| v.indicator_code == "TP01" && v.split == "lcra")
        .collect();
    assert_eq!(tp01.len(), 1, "{tp01:?}");
    assert_eq!(tp01[0].numerator, Some(winner), "{tp01:?}");
}

/// The same period's figures pushed through both replicas at once (a sender re-running its push
/// against a load balancer, under a new request id): each sender record is held once.
#[tokio::test]
async fn the_same_variance_push_through_both_replicas_holds_each_record_once() {
    let r = Replicas::start().await;
    let records: Vec<dp::VarianceRecord> = (8..=12)
        .flat_map(|m| {
            ["LOCAL-RENT", "LOCAL-RELET", "LOCAL-DECENT"].map(|code| dp::VarianceRecord {
                sender_record_id: format!("PUSH-2026-M{m:02}-{code}"),
                target_code: code.into(),
                period: dp_month(m),
                actual: 50.0 + f64::from(m),
                forecast: None,
                commentary: String::new(),
            })
        })
        .collect();
    let push = |rid: &str| {
        let messages: Vec<dp::PushVariancesRequest> = records
            .chunks(4)
            .enumerate()
            .map(|(i, chunk)| dp::PushVariancesRequest {
                request_id: if i == 0 { rid.into() } else { String::new() },
                plan_id: if i == 0 {
                    almo_delivery_plan::demo::PLAN_ID.into()
                } else {
                    String::new()
                },
                records: chunk.to_vec(),
            })
            .collect();
        authed(tokio_stream::iter(messages), LAMBETH, Role::CouncilOfficer)
    };
    let mut a = DeliveryPlanServiceClient::new(r.a.channel().await);
    let mut b = DeliveryPlanServiceClient::new(r.b.channel().await);
    let (ra, rb) = tokio::join!(
        async { retry_aborted!(a.push_variances(push("push-a"))) },
        async { retry_aborted!(b.push_variances(push("push-b"))) },
    );
    let (ra, rb) = (ra.unwrap().into_inner(), rb.unwrap().into_inner());
    for p in [&ra, &rb] {
        assert_eq!(p.received, 15, "{p:?}");
        assert_eq!(p.refused, 0, "{p:?}");
        assert_eq!(p.corrected, 0, "{p:?}");
    }
    assert_eq!(ra.accepted + rb.accepted, 15, "{ra:?} {rb:?}");
    assert_eq!(ra.unchanged + rb.unchanged, 15, "{ra:?} {rb:?}");
    let rows = dp_variance::Entity::find()
        .filter(dp_variance::Column::SenderRecordId.starts_with("PUSH-2026-"))
        .all(r.a.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 15, "one row per sender record");
    assert!(
        rows.iter()
            .all(|v| v.revision == rows[0].revision && !v.superseded)
    );
}
