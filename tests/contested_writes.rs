//! Contested writes: two callers change the same row at the same moment through two replicas on
//! one database (PostgreSQL when `ALMO_TEST_DATABASE_URL` is set, else one SQLite file). For
//! each pair, many rounds: exactly one wins, the other, whose etag the winner made stale, is
//! ABORTED with STALE_ETAG (never a FAILED_PRECONDITION about the state the winner left), and
//! PostgreSQL detects no deadlock (`pg_stat_database.deadlocks` does not move).

use std::time::Duration;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Rounds per pair: enough for the two calls to meet inside each other's transactions.
const ROUNDS: usize = 20;

struct Replicas {
    a: TestApp,
    b: TestApp,
    deadlocks_before: Option<i64>,
}

impl Replicas {
    async fn start() -> Self {
        let first = TestDb::new().await.unwrap();
        almo_pi_returns::seed_catalogue(first.db.conn())
            .await
            .unwrap();
        almo_directory::demo::seed(&first.db).await.unwrap();
        almo_delivery_plan::demo::seed(&first.db).await.unwrap();
        almo_sla_charging::demo::seed(&first.db).await.unwrap();
        let second = first.another_pool().await.unwrap();
        let deadlocks_before = deadlocks(&first.db).await;
        let a = TestApp::spawn_on(default_args(), mounts(), first)
            .await
            .unwrap();
        let b = TestApp::spawn_on(default_args(), mounts(), second)
            .await
            .unwrap();
        Self {
            a,
            b,
            deadlocks_before,
        }
    }

    async fn plans(
        &self,
    ) -> (
        DeliveryPlanServiceClient<Channel>,
        DeliveryPlanServiceClient<Channel>,
    ) {
        (
            DeliveryPlanServiceClient::new(self.a.channel().await),
            DeliveryPlanServiceClient::new(self.b.channel().await),
        )
    }

    async fn sla(
        &self,
    ) -> (
        SlaChargingServiceClient<Channel>,
        SlaChargingServiceClient<Channel>,
    ) {
        (
            SlaChargingServiceClient::new(self.a.channel().await),
            SlaChargingServiceClient::new(self.b.channel().await),
        )
    }

    /// PostgreSQL counted no deadlock in this database while the test ran.
    async fn assert_no_deadlock(&self) {
        let Some(before) = self.deadlocks_before else {
            return;
        };
        // A backend reports its counters when it goes idle, at most once a second.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = deadlocks(&self.a.db).await.expect("PostgreSQL");
        assert_eq!(
            after,
            before,
            "PostgreSQL detected {} deadlock(s)",
            after - before
        );
    }
}

fn mounts() -> Vec<almo_server::ServiceMount> {
    let after_the_demo_year = chrono::NaiveDate::from_ymd_opt(2027, 4, 15).unwrap();
    vec![
        almo_directory::mount(),
        almo_delivery_plan::mount_with_clock(almo_delivery_plan::Clock::Fixed(after_the_demo_year)),
        almo_sla_charging::mount(),
    ]
}

/// `pg_stat_database.deadlocks` of the test's database (None on SQLite).
async fn deadlocks(db: &almo_db::Db) -> Option<i64> {
    if db.backend() != almo_db::Backend::Postgres {
        return None;
    }
    let conn = db.conn();
    conn.execute_unprepared("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        ))
        .await
        .unwrap()
        .unwrap();
    Some(row.try_get_by_index::<i64>(0).unwrap())
}

fn reason(s: &Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// Of two calls made at once with the same etag, exactly one won and the other was told its
/// etag is stale. Returns which won (0 or 1).
fn one_wins<A, B>(
    round: usize,
    what: &str,
    first: &Result<A, Status>,
    second: &Result<B, Status>,
) -> usize {
    let lost = |e: &Status| {
        assert_eq!(
            (e.code(), reason(e).as_str()),
            (Code::Aborted, "STALE_ETAG"),
            "{what}, round {round}: the loser must be told its etag is stale: {e:?}"
        )
    };
    match (first, second) {
        (Ok(_), Err(e)) => {
            lost(e);
            0
        }
        (Err(e), Ok(_)) => {
            lost(e);
            1
        }
        (Ok(_), Ok(_)) => panic!("{what}, round {round}: both won"),
        (Err(a), Err(b)) => panic!("{what}, round {round}: both lost: {a:?} / {b:?}"),
    }
}

fn council<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilOfficer)
}

fn almo<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH_LIVING, Role::AlmoOfficer)
}

fn finance<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilFinance)
}

fn almo_finance<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH_LIVING, Role::AlmoFinance)
}

/// The ALMO proposes the plan's current content again as an amendment: its id and etag.
async fn propose(c: &mut DeliveryPlanServiceClient<Channel>, rid: &str) -> (String, String) {
    let plan = c
        .get_plan(council(dp::GetPlanRequest {
            plan_id: almo_delivery_plan::demo::PLAN_ID.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let a = c
        .propose_amendment(almo(dp::ProposeAmendmentRequest {
            request_id: rid.into(),
            plan_id: plan.plan_id.clone(),
            etag: plan.etag.clone(),
            reason: "Contested: the same targets again".into(),
            effective_date: plan.effective_date.clone(),
            content: plan.content.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .amendment
        .unwrap();
    (a.amendment_id, a.etag)
}

#[tokio::test]
async fn agreeing_and_rejecting_one_amendment_at_once_one_wins_the_other_is_stale() {
    let r = Replicas::start().await;
    let (mut a, b) = r.plans().await;
    let mut wins = [0, 0];
    for round in 0..ROUNDS {
        let (id, etag) = propose(&mut a, &format!("ar-propose-{round}")).await;
        let agree = council(dp::AgreeAmendmentRequest {
            request_id: format!("ar-agree-{round}"),
            amendment_id: id.clone(),
            etag: etag.clone(),
            note: String::new(),
        });
        let reject = council(dp::RejectAmendmentRequest {
            request_id: format!("ar-reject-{round}"),
            amendment_id: id.clone(),
            etag: etag.clone(),
            note: "Not this year".into(),
        });
        let (mut ca, mut cb) = (a.clone(), b.clone());
        let agree = async move { ca.agree_amendment(agree).await };
        let reject = async move { cb.reject_amendment(reject).await };
        let (agreed, rejected) = tokio::join!(agree, reject);
        wins[one_wins(round, "agree/reject", &agreed, &rejected)] += 1;
    }
    r.assert_no_deadlock().await;
    // Both orders happen over the rounds on PostgreSQL; on SQLite whichever queues first wins.
    assert_eq!(wins[0] + wins[1], ROUNDS);
}

#[tokio::test]
async fn agreeing_and_withdrawing_one_amendment_at_once_one_wins_the_other_is_stale() {
    let r = Replicas::start().await;
    let (mut a, b) = r.plans().await;
    for round in 0..ROUNDS {
        let (id, etag) = propose(&mut a, &format!("aw-propose-{round}")).await;
        let agree = council(dp::AgreeAmendmentRequest {
            request_id: format!("aw-agree-{round}"),
            amendment_id: id.clone(),
            etag: etag.clone(),
            note: String::new(),
        });
        let withdraw = almo(dp::WithdrawAmendmentRequest {
            request_id: format!("aw-withdraw-{round}"),
            amendment_id: id.clone(),
            etag: etag.clone(),
            note: "Overtaken".into(),
        });
        let (mut ca, mut cb) = (a.clone(), b.clone());
        let agree = async move { ca.agree_amendment(agree).await };
        let withdraw = async move { cb.withdraw_amendment(withdraw).await };
        let (agreed, withdrawn) = tokio::join!(agree, withdraw);
        one_wins(round, "agree/withdraw", &agreed, &withdrawn);
    }
    r.assert_no_deadlock().await;
}

fn month(n: i32) -> Option<Period> {
    Some(Period {
        year: Some(FinancialYear { start_year: 2026 }),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

/// A new agreement with the demo agreement's terms, agreed by both parties: its id.
async fn agreed_agreement(c: &mut SlaChargingServiceClient<Channel>, round: usize) -> String {
    let demo = c
        .get_agreement(finance(sla::GetAgreementRequest {
            agreement_id: almo_sla_charging::demo::AGREEMENT_ID.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    let v1 = demo.versions[0].clone();
    let created = c
        .create_agreement(finance(sla::CreateAgreementRequest {
            request_id: format!("create-{round}"),
            supplier_council_id: LAMBETH.into(),
            customer_almo_id: LAMBETH_LIVING.into(),
            title: format!("Contested services {round}"),
            start_date: demo.start_date.clone(),
            end_date: demo.end_date.clone(),
            lines: v1.lines,
            levels: v1.levels,
        }))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    let mut etag = created.etag;
    for (who, req) in [("council", 0), ("almo", 1)] {
        let m = sla::AgreeAgreementVersionRequest {
            request_id: format!("agree-{round}-{who}"),
            agreement_id: created.agreement_id.clone(),
            version: 1,
            etag: etag.clone(),
        };
        let request = if req == 0 {
            finance(m)
        } else {
            almo_finance(m)
        };
        etag = c
            .agree_agreement_version(request)
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap()
            .etag;
    }
    created.agreement_id
}

#[tokio::test]
async fn issuing_one_draft_twice_at_once_issues_it_once_the_other_is_stale() {
    let r = Replicas::start().await;
    let (mut a, b) = r.sla().await;
    let mut numbers = Vec::new();
    for round in 0..ROUNDS {
        let agreement = agreed_agreement(&mut a, round).await;
        let run = a
            .run_billing(finance(sla::RunBillingRequest {
                request_id: format!("issue-run-{round}"),
                supplier_council_id: LAMBETH.into(),
                period: month(1 + (round % 9) as i32),
            }))
            .await
            .unwrap()
            .into_inner();
        let draft = run
            .invoices
            .into_iter()
            .find(|i| i.agreement_id == agreement)
            .expect("the new agreement's draft");
        let issue = |c: &SlaChargingServiceClient<Channel>, who: &str| {
            let mut c = c.clone();
            let m = finance(sla::IssueInvoiceRequest {
                request_id: format!("issue-{round}-{who}"),
                invoice_id: draft.invoice_id.clone(),
                etag: draft.etag.clone(),
            });
            async move { c.issue_invoice(m).await }
        };
        let (first, second) = tokio::join!(issue(&a, "a"), issue(&b, "b"));
        let won = one_wins(round, "issue/issue", &first, &second);
        let issued = [first, second].into_iter().nth(won).unwrap().unwrap();
        numbers.push(issued.into_inner().invoice.unwrap().invoice_number);
    }
    r.assert_no_deadlock().await;
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), ROUNDS, "every winner took its own number");
}

#[tokio::test]
async fn two_billing_runs_of_one_period_at_once_both_finish_one_after_the_other() {
    let r = Replicas::start().await;
    let (a, b) = r.sla().await;
    for round in 0..ROUNDS {
        let run = |c: &SlaChargingServiceClient<Channel>, who: &str| {
            let mut c = c.clone();
            let m = finance(sla::RunBillingRequest {
                request_id: format!("run-{round}-{who}"),
                supplier_council_id: LAMBETH.into(),
                period: month(10 + (round % 3) as i32),
            });
            async move { c.run_billing(m).await }
        };
        let (first, second) = tokio::join!(run(&a, "a"), run(&b, "b"));
        // A billing run takes no etag: both redraft, queued on the council's lock, so the
        // one that ran second replaced the first's draft (the next etag).
        let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
        let draft = |r: &sla::RunBillingResponse| {
            r.invoices
                .iter()
                .find(|i| i.agreement_id == almo_sla_charging::demo::AGREEMENT_ID)
                .map(|i| (i.invoice_id.clone(), i.etag.clone()))
                .expect("the demo agreement's draft")
        };
        let (d1, d2) = (draft(&first), draft(&second));
        assert_eq!(
            d1.0, d2.0,
            "round {round}: one draft per agreement and period"
        );
        assert_ne!(d1.1, d2.1, "round {round}: the runs were serialised");
    }
    r.assert_no_deadlock().await;
}

#[tokio::test]
async fn two_variations_of_one_agreement_at_once_one_wins_the_other_is_stale() {
    let r = Replicas::start().await;
    let (mut a, b) = r.sla().await;
    let agreement = agreed_agreement(&mut a, 0).await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    for round in 0..ROUNDS {
        let now = a
            .get_agreement(finance(sla::GetAgreementRequest {
                agreement_id: agreement.clone(),
            }))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        let terms = now.versions.last().unwrap().clone();
        let from = (start + chrono::Days::new(7 * round as u64)).to_string();
        let vary = |c: &SlaChargingServiceClient<Channel>, who: &str| {
            let mut c = c.clone();
            let m = finance(sla::VaryAgreementRequest {
                request_id: format!("vary-{round}-{who}"),
                agreement_id: agreement.clone(),
                etag: now.etag.clone(),
                effective_from_date: from.clone(),
                lines: terms.lines.clone(),
                levels: terms.levels.clone(),
            });
            async move { c.vary_agreement(m).await }
        };
        let (first, second) = tokio::join!(vary(&a, "a"), vary(&b, "b"));
        let won = one_wins(round, "variation/variation", &first, &second);
        let varied = [first, second]
            .into_iter()
            .nth(won)
            .unwrap()
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        // Both parties agree the draft, so the next round can vary it again.
        let version = varied.versions.last().unwrap().version;
        let mut etag = varied.etag;
        for (who, by_council) in [("council", true), ("almo", false)] {
            let m = sla::AgreeAgreementVersionRequest {
                request_id: format!("vary-agree-{round}-{who}"),
                agreement_id: agreement.clone(),
                version,
                etag: etag.clone(),
            };
            let request = if by_council {
                finance(m)
            } else {
                almo_finance(m)
            };
            etag = a
                .agree_agreement_version(request)
                .await
                .unwrap()
                .into_inner()
                .agreement
                .unwrap()
                .etag;
        }
    }
    r.assert_no_deadlock().await;
}

#[tokio::test]
async fn crediting_and_rejecting_one_dispute_at_once_one_wins_the_other_is_stale() {
    let r = Replicas::start().await;
    let (mut a, b) = r.sla().await;
    let invoice = issued_invoice(&mut a, 0, "dispute").await;
    let line = invoice
        .lines
        .iter()
        .find(|l| l.net.as_ref().is_some_and(|n| n.pence > ROUNDS as i64))
        .expect("a line with something to credit")
        .line_number;
    let mut credits_won = 0;
    for round in 0..ROUNDS {
        let d = a
            .dispute_invoice_line(almo_finance(sla::DisputeInvoiceLineRequest {
                request_id: format!("dispute-{round}"),
                invoice_id: invoice.invoice_id.clone(),
                invoice_line_number: line,
                reason: "The hours were not instructed".into(),
            }))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap();
        let resolve = |c: &SlaChargingServiceClient<Channel>, who: &str, credit: bool| {
            let mut c = c.clone();
            let m = finance(sla::ResolveDisputeRequest {
                request_id: format!("resolve-{round}-{who}"),
                dispute_id: d.dispute_id.clone(),
                etag: d.etag.clone(),
                resolution: if credit {
                    sla::DisputeResolution::Credit
                } else {
                    sla::DisputeResolution::Reject
                } as i32,
                response: "Answered in writing to the ALMO".into(),
                credit_net: credit.then(|| almo_proto::common::Money {
                    pence: 1,
                    currency_code: "GBP".into(),
                }),
            });
            async move { c.resolve_dispute(m).await }
        };
        // Each replica credits in turn while the other rejects.
        let credit_on_a = round % 2 == 0;
        let (first, second) = tokio::join!(
            resolve(&a, "a", credit_on_a),
            resolve(&b, "b", !credit_on_a)
        );
        let won = one_wins(round, "credit/reject", &first, &second);
        if (won == 0) == credit_on_a {
            credits_won += 1;
        }
    }
    // Only the winning credits stand: a losing credit left no credit note behind.
    let after = invoice_now(&mut a, &invoice.invoice_id).await;
    assert_eq!(after.credit_notes.len(), credits_won);
    r.assert_no_deadlock().await;
}

/// A new agreement's invoice for February, issued: the invoice.
async fn issued_invoice(
    c: &mut SlaChargingServiceClient<Channel>,
    round: usize,
    tag: &str,
) -> sla::Invoice {
    let agreement = agreed_agreement(c, round).await;
    let run = c
        .run_billing(finance(sla::RunBillingRequest {
            request_id: format!("{tag}-run"),
            supplier_council_id: LAMBETH.into(),
            period: month(2),
        }))
        .await
        .unwrap()
        .into_inner();
    let draft = run
        .invoices
        .into_iter()
        .find(|i| i.agreement_id == agreement)
        .expect("the new agreement's draft");
    c.issue_invoice(finance(sla::IssueInvoiceRequest {
        request_id: format!("{tag}-issue"),
        invoice_id: draft.invoice_id.clone(),
        etag: draft.etag.clone(),
    }))
    .await
    .unwrap()
    .into_inner()
    .invoice
    .unwrap()
}

/// The invoice as it stands now, read by its council's finance officer.
async fn invoice_now(c: &mut SlaChargingServiceClient<Channel>, id: &str) -> sla::Invoice {
    c.get_invoice(finance(sla::GetInvoiceRequest {
        invoice_id: id.to_string(),
    }))
    .await
    .unwrap()
    .into_inner()
    .invoice
    .unwrap()
}

fn pence(p: i64) -> Option<almo_proto::common::Money> {
    Some(almo_proto::common::Money {
        pence: p,
        currency_code: "GBP".into(),
    })
}

/// Net credited so far on line `line` of `invoice`.
fn credited_net(invoice: &sla::Invoice, line: i32) -> i64 {
    invoice
        .credit_notes
        .iter()
        .flat_map(|n| &n.lines)
        .filter(|l| l.invoice_line_number == line)
        .map(|l| l.net.as_ref().map_or(0, |m| m.pence))
        .sum()
}

#[tokio::test]
async fn two_credits_of_one_line_at_once_never_credit_more_than_the_line() {
    let r = Replicas::start().await;
    let (mut a, b) = r.sla().await;
    let invoice = issued_invoice(&mut a, 0, "credit").await;
    let (line, charged) = invoice
        .lines
        .iter()
        .map(|l| (l.line_number, l.net.as_ref().map_or(0, |m| m.pence)))
        .max_by_key(|(_, net)| *net)
        .expect("a line");
    assert!(charged >= 1 << 10, "a line with something to credit");
    let mut credited = 0;
    for round in 0..ROUNDS.min(10) {
        // Each credits more than half of what is left: both together would over-credit the line.
        let left = charged - credited;
        let each = left / 2 + 1;
        let credit = |c: &SlaChargingServiceClient<Channel>, who: &str| {
            let mut c = c.clone();
            let m = finance(sla::CreateCreditNoteRequest {
                request_id: format!("credit-{round}-{who}"),
                invoice_id: invoice.invoice_id.clone(),
                reason: "Hours charged twice".into(),
                lines: vec![sla::CreditLineRequest {
                    invoice_line_number: line,
                    net: pence(each),
                }],
            });
            async move { c.create_credit_note(m).await }
        };
        let (first, second) = tokio::join!(credit(&a, "a"), credit(&b, "b"));
        // The loser is refused as a second credit made afterwards is: the net is too much.
        let lost = |e: &Status| {
            let fields: Vec<String> = e
                .get_details_bad_request()
                .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            assert_eq!(
                (e.code(), fields),
                (Code::InvalidArgument, vec!["lines[0].net".to_string()]),
                "round {round}: the second credit over-credits the line: {e:?}"
            );
        };
        match (&first, &second) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => lost(e),
            (Ok(_), Ok(_)) => panic!("round {round}: both credits of {each} of {left} stored"),
            (Err(x), Err(y)) => panic!("round {round}: both refused: {x:?} / {y:?}"),
        }
        credited += each;
        let after = invoice_now(&mut a, &invoice.invoice_id).await;
        assert_eq!(credited_net(&after, line), credited, "round {round}");
        assert!(credited <= charged);
    }
    r.assert_no_deadlock().await;
}

#[tokio::test]
async fn two_disputes_of_one_line_at_once_leave_one_open() {
    let r = Replicas::start().await;
    let (mut a, b) = r.sla().await;
    let invoice = issued_invoice(&mut a, 0, "dispute").await;
    let line = invoice.lines[0].line_number;
    let open = |c: &SlaChargingServiceClient<Channel>| {
        let mut c = c.clone();
        let invoice_id = invoice.invoice_id.clone();
        async move {
            let all = c
                .list_disputes(almo_finance(sla::ListDisputesRequest {
                    status: sla::DisputeStatus::Open as i32,
                    page_size: 100,
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner()
                .disputes;
            all.into_iter()
                .filter(|d| d.invoice_id == invoice_id && d.invoice_line_number == line)
                .collect::<Vec<_>>()
        }
    };
    for round in 0..ROUNDS {
        let dispute = |c: &SlaChargingServiceClient<Channel>, who: &str| {
            let mut c = c.clone();
            let m = almo_finance(sla::DisputeInvoiceLineRequest {
                request_id: format!("dispute-{round}-{who}"),
                invoice_id: invoice.invoice_id.clone(),
                invoice_line_number: line,
                reason: "The hours were not instructed".into(),
            });
            async move { c.dispute_invoice_line(m).await }
        };
        let (first, second) = tokio::join!(dispute(&a, "a"), dispute(&b, "b"));
        // The loser is refused as a second dispute made afterwards is.
        let lost = |e: &Status| {
            assert_eq!(
                (e.code(), reason(e).as_str()),
                (Code::FailedPrecondition, "ALREADY_DISPUTED"),
                "round {round}: the line already has an open dispute: {e:?}"
            );
        };
        match (&first, &second) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => lost(e),
            (Ok(_), Ok(_)) => panic!("round {round}: both disputes stored"),
            (Err(x), Err(y)) => panic!("round {round}: both refused: {x:?} / {y:?}"),
        }
        let open_now = open(&a).await;
        assert_eq!(
            open_now.len(),
            1,
            "round {round}: one open dispute per line"
        );
        // Rejected, so that the line may be disputed again next round.
        let d = &open_now[0];
        a.resolve_dispute(finance(sla::ResolveDisputeRequest {
            request_id: format!("reject-{round}"),
            dispute_id: d.dispute_id.clone(),
            etag: d.etag.clone(),
            resolution: sla::DisputeResolution::Reject as i32,
            response: "The hours are in the timesheet".into(),
            credit_net: None,
        }))
        .await
        .unwrap();
    }
    r.assert_no_deadlock().await;
}
