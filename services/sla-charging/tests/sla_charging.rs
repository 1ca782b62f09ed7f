//! The SLA charging service as a client sees it: a real server on 127.0.0.1:0, real gRPC
//! clients, a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

use almo_auth::Role;
use almo_db::entity::sla_invoice;
use almo_proto::common::Money;
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::*;
use almo_testkit::authed;
use almo_testkit::demo::*;
use sea_orm::{EntityTrait, PaginatorTrait};
use tonic::Code;

mod common;

use common::*;

#[tokio::test]
async fn agreement_is_active_only_once_both_parties_agree_and_a_stale_etag_is_refused() {
    let (_app, mut c) = app().await;
    let a = draft_agreement(&mut c, "c1", LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    assert_eq!(a.versions[0].status, VersionStatus::Draft as i32);
    assert_eq!(a.versions[0].lines[0].unit_name, "hour of legal work");
    assert_eq!(a.versions[0].lines[1].unit_name, "user-month");
    let agree = |rid: &str, etag: &str| agree_request(rid, &a.agreement_id, 1, etag);
    let by_council = c
        .agree_agreement_version(authed(agree("a1", &a.etag), LAMBETH, Role::CouncilFinance))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert_eq!(by_council.versions[0].status, VersionStatus::Draft as i32);
    assert!(by_council.versions[0].council_agreed);
    // The ALMO agreeing against the etag it read before the council agreed: ABORTED.
    let stale = c
        .agree_agreement_version(authed(
            agree("a2", &a.etag),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "STALE_ETAG");
    // An ALMO officer does not sign for the ALMO.
    let officer = c
        .agree_agreement_version(authed(
            agree("a3", &by_council.etag),
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(officer.code(), Code::PermissionDenied);
    let active = c
        .agree_agreement_version(authed(
            agree("a4", &by_council.etag),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert_eq!(active.versions[0].status, VersionStatus::Active as i32);
    // Agreeing an active version again is refused.
    let again = c
        .agree_agreement_version(authed(
            agree("a5", &active.etag),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn bad_fields_are_named_in_the_bad_request() {
    let (_app, mut c) = app().await;
    let mut r = create_request("bad", LAMBETH, LAMBETH_LIVING, "2026-04-01");
    r.end_date = "2026-03-01".into();
    r.lines[0].unit_name = String::new();
    r.lines[1].account = Account::Unspecified as i32;
    r.lines[2].unit_price = Some(Money {
        pence: 100,
        currency_code: "EUR".into(),
    });
    r.levels[0].line_code = "NOPE".into();
    let err = c
        .create_agreement(authed(r, LAMBETH, Role::CouncilFinance))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "end_date",
            "lines[1].account",
            "lines[2].unit_price",
            "lines[0].unit",
            "levels[0].line_code"
        ]
    );
    // An ALMO of another council is not this council's customer.
    let err = c
        .create_agreement(authed(
            create_request("other", LAMBETH, HOMES_FOR_HARINGEY, "2026-04-01"),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["customer_almo_id"]);
    // An ALMO wound up in 2016 takes no new SLA.
    let err = c
        .create_agreement(authed(
            create_request("hackney", "E09000012", "HACKNEY-HOMES", "2026-04-01"),
            "E09000012",
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2016-")
            && err.message().contains("an agreement starting (2026-04-01)"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn only_the_supplying_council_finance_and_the_customer_almo_see_sla_data() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let get = |org: &str, role: Role| authed(get_agreement_request(&a.agreement_id), org, role);
    assert!(
        c.get_agreement(get(LAMBETH, Role::CouncilFinance))
            .await
            .is_ok()
    );
    assert!(
        c.get_agreement(get(LAMBETH_LIVING, Role::AlmoOfficer))
            .await
            .is_ok()
    );
    for (org, role) in [
        (REGULATOR, Role::Regulator),
        (INSPECTORATE, Role::Inspectorate),
        (OPERATOR, Role::Admin),
        (LAMBETH, Role::CouncilOfficer),
        (HARINGEY, Role::CouncilFinance),
        (HOMES_FOR_HARINGEY, Role::AlmoFinance),
    ] {
        let err = c.get_agreement(get(org, role)).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org} {role}");
    }
    // Lists are filtered: another council's finance team lists nothing of Lambeth's.
    let listed = c
        .list_agreements(authed(
            ListAgreementsRequest::default(),
            HARINGEY,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.agreements.is_empty());
    let listed = c
        .list_agreements(authed(
            ListAgreementsRequest::default(),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.agreements.len(), 1);
    let err = c
        .list_agreements(authed(
            ListAgreementsRequest::default(),
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The ALMO does not write usage.
    let err = c
        .record_usage(authed(
            usage("u", &a.agreement_id, "LEGAL", 1, 1000),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn usage_is_idempotent_by_record_id_and_corrections_supersede() {
    let (app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let id = a.agreement_id.clone();
    let first = c
        .record_usage(authed(
            usage("legal-apr-1", &id, "LEGAL", 1, 10_000),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.already_recorded);
    // The same record under another request id: stored once.
    let mut again = usage("legal-apr-1", &id, "LEGAL", 1, 10_000);
    again.request_id = "retry-from-another-system".into();
    let again = c
        .record_usage(authed(again, LAMBETH, Role::CouncilFinance))
        .await
        .unwrap()
        .into_inner();
    assert!(again.already_recorded);
    // The same record id with other usage is refused.
    let mut clash = usage("legal-apr-1", &id, "LEGAL", 1, 12_000);
    clash.request_id = "clash".into();
    let err = c
        .record_usage(authed(clash, LAMBETH, Role::CouncilFinance))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["record.record_id"]);
    // The same request id with another payload is refused.
    let err = c
        .record_usage(authed(
            usage("legal-apr-1", &id, "LEGAL", 1, 9_000),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    // A correction supersedes: 10 hours becomes 7.5 hours.
    let mut fix = usage("legal-apr-1-fix", &id, "LEGAL", 1, 7_500);
    fix.record.as_mut().unwrap().corrects_record_id = "legal-apr-1".into();
    record_for_lambeth(&mut c, fix).await;
    // A fixed fee takes no usage; a quarter is not a usage period.
    let mut bad = usage("hr", &id, "HR", 1, 1_000);
    bad.record.as_mut().unwrap().period = quarter(1);
    let err = c
        .record_usage(authed(bad, LAMBETH, Role::CouncilFinance))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["record.period.kind", "record.line_code"]);
    let out = run(&mut c, "run-apr", LAMBETH, month(1)).await;
    let legal = out.invoices[0]
        .lines
        .iter()
        .find(|l| l.line_code == "LEGAL")
        .unwrap();
    assert_eq!(legal.quantity_milli, 7_500);
    assert_eq!(pence(&legal.net), 71_250);
    // History is kept: both records are stored.
    let stored = almo_db::entity::sla_usage::Entity::find()
        .count(app.db.conn())
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn bulk_usage_streams_many_records_in_one_write() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let msgs: Vec<BulkRecordUsageRequest> = (0..3)
        .map(|m| BulkRecordUsageRequest {
            request_id: "bulk-1".into(),
            records: (0..700)
                .map(|i| UsageRecord {
                    record_id: format!("it-{m}-{i}"),
                    agreement_id: a.agreement_id.clone(),
                    line_code: "IT".into(),
                    period: month(2),
                    quantity_milli: 1_000,
                    ..Default::default()
                })
                .collect(),
        })
        .collect();
    let resp = c
        .bulk_record_usage(authed(
            tokio_stream::iter(msgs.clone()),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((resp.recorded, resp.already_recorded), (2_100, 0));
    // The retried stream replays its first answer.
    let replay = c
        .bulk_record_usage(authed(
            tokio_stream::iter(msgs.clone()),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.recorded, 2_100);
    // Sent again under a new request id, every record is already there.
    let again: Vec<_> = msgs
        .into_iter()
        .map(|mut m| {
            m.request_id = "bulk-2".into();
            m
        })
        .collect();
    let resp = c
        .bulk_record_usage(authed(
            tokio_stream::iter(again),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((resp.recorded, resp.already_recorded), (0, 2_100));
    let out = run(&mut c, "run-may", LAMBETH, month(2)).await;
    let it = out.invoices[0]
        .lines
        .iter()
        .find(|l| l.line_code == "IT")
        .unwrap();
    assert_eq!(pence(&it.net), 2_100 * 1_850);
}

#[tokio::test]
async fn rerun_billing_creates_no_duplicate_invoice() {
    let (app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("l1", &a.agreement_id, "LEGAL", 1, 2_000)).await;
    let first = run(&mut c, "r1", LAMBETH, month(1)).await;
    assert_eq!(first.invoices.len(), 1);
    record_for_lambeth(&mut c, usage("l2", &a.agreement_id, "LEGAL", 1, 1_000)).await;
    let second = run(&mut c, "r2", LAMBETH, month(1)).await;
    assert_eq!(second.invoices.len(), 1);
    assert_eq!(second.invoices[0].invoice_id, first.invoices[0].invoice_id);
    assert_ne!(second.invoices[0].etag, first.invoices[0].etag);
    let legal = |i: &Invoice| pence(&i.lines.iter().find(|l| l.line_code == "LEGAL").unwrap().net);
    assert_eq!(legal(&first.invoices[0]), 19_000);
    assert_eq!(legal(&second.invoices[0]), 28_500);
    let count = sla_invoice::Entity::find()
        .count(app.db.conn())
        .await
        .unwrap();
    assert_eq!(count, 1);
    // Issuing the first run's draft, reviewed before the re-run, is a stale etag.
    let err = issue(&mut c, &first.invoices[0]).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // Once issued, a re-run leaves it alone and drafts nothing new for those days: not for the
    // month, not for its quarter.
    issue(&mut c, &second.invoices[0]).await.unwrap();
    let third = run(&mut c, "r3", LAMBETH, month(1)).await;
    assert!(third.invoices.is_empty());
    assert_eq!(third.already_issued_agreement_ids, vec![a.agreement_id]);
    let q = run(&mut c, "r4", LAMBETH, quarter(1)).await;
    assert!(q.invoices.is_empty());
    assert_eq!(
        sla_invoice::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn service_credit_applied_when_a_level_is_missed() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("it", &a.agreement_id, "IT", 1, 120_000)).await;
    let result = c
        .record_service_level_result(authed(
            it_result("res", &a.agreement_id, 1, 91.5),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert!(result.missed);
    let inv = draft(&mut c, "run", LAMBETH, month(1)).await;
    let credit = inv
        .lines
        .iter()
        .find(|l| l.kind == LineKind::ServiceCredit as i32)
        .unwrap();
    assert_eq!(credit.line_code, "IT");
    assert_eq!((pence(&credit.net), pence(&credit.vat)), (-11_100, -2_220));
    let hra = inv
        .account_totals
        .iter()
        .find(|t| t.account == Account::Hra as i32)
        .unwrap();
    assert_eq!(pence(&hra.net), 222_000 - 11_100);
    let gf = inv
        .account_totals
        .iter()
        .find(|t| t.account == Account::GeneralFund as i32)
        .unwrap();
    assert_eq!(pence(&gf.net), 300_000); // HR: 30 days of £36,500 a year
    assert_eq!(pence(&inv.net), pence(&hra.net) + pence(&gf.net));
    assert_eq!(pence(&inv.gross), pence(&hra.gross) + pence(&gf.gross));
}

#[tokio::test]
async fn fixed_fee_prorated_on_a_mid_period_start() {
    let (_app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-16").await;
    let inv = draft(&mut c, "run", LAMBETH, month(1)).await;
    assert_eq!(inv.lines.len(), 1);
    assert_eq!(inv.lines[0].kind, LineKind::FixedFee as i32);
    assert_eq!(inv.lines[0].quantity_milli, 15_000);
    assert_eq!(pence(&inv.lines[0].net), 150_000); // 15 days at £100 a day
    assert_eq!(inv.period_label, "2026/27 month 1 (April 2026)");
}

#[tokio::test]
async fn a_variation_takes_effect_from_its_date_once_both_agree() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let mut new_lines = lines();
    new_lines[2].unit_price = gbp(7_300_000); // HR doubles from 16 April
    let varied = c
        .vary_agreement(authed(
            vary_request("vary", &a.agreement_id, &a.etag, "2026-04-16", new_lines),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert_eq!(varied.versions.len(), 2);
    // While the variation is a draft, billing follows version 1.
    let inv = draft(&mut c, "r1", LAMBETH, month(1)).await;
    assert_eq!(pence(&inv.net), 300_000);
    let mut etag = varied.etag.clone();
    for org in [LAMBETH, LAMBETH_LIVING] {
        etag = c
            .agree_agreement_version(authed(
                agree_request(&format!("agree2-{org}"), &a.agreement_id, 2, &etag),
                org,
                finance_role(org),
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap()
            .etag;
    }
    let inv = draft(&mut c, "r2", LAMBETH, month(1)).await;
    let fees: Vec<(i64, i64)> = inv
        .lines
        .iter()
        .map(|l| (l.quantity_milli, pence(&l.net)))
        .collect();
    assert_eq!(fees, [(15_000, 150_000), (15_000, 300_000)]);
    // A variation dated before the version it varies is refused.
    let err = c
        .vary_agreement(authed(
            vary_request("vary-back", &a.agreement_id, &etag, "2026-04-10", lines()),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["effective_from_date"]);
}

#[tokio::test]
async fn issued_invoice_is_immutable_every_attempt_refused() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let draft = draft(&mut c, "run", LAMBETH, month(1)).await;
    // The ALMO cannot issue, nor see the draft.
    let err = c
        .get_invoice(authed(
            get_invoice_request(&draft.invoice_id),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let issued = issue(&mut c, &draft).await.unwrap();
    assert_eq!(issued.status, InvoiceStatus::Issued as i32);
    assert_eq!(issued.invoice_number, "SLA-E09000022-000001");
    // Issuing again (new request id, current etag): refused.
    let err = issue(&mut c, &issued).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INVOICE_ISSUED");
    // Usage and results for the invoiced month: refused.
    let err = c
        .record_usage(authed(
            usage("late", &a.agreement_id, "LEGAL", 1, 1_000),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "PERIOD_INVOICED");
    let err = c
        .record_service_level_result(authed(
            it_result("late-res", &a.agreement_id, 1, 10.0),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "PERIOD_INVOICED");
    // A re-run does not touch it.
    run(&mut c, "rerun", LAMBETH, month(1)).await;
    let now = c
        .get_invoice(authed(
            get_invoice_request(&draft.invoice_id),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    assert_eq!(now, issued);
}

#[tokio::test]
async fn invoice_numbers_are_gapless_under_concurrent_issuing() {
    let (app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let mut drafts = Vec::new();
    for m in 1..=6 {
        drafts.extend(
            run(&mut c, &format!("run-{m}"), LAMBETH, month(m))
                .await
                .invoices,
        );
    }
    assert_eq!(drafts.len(), 6);
    let mut tasks = tokio::task::JoinSet::new();
    for d in drafts {
        let mut client = SlaChargingServiceClient::new(app.channel().await);
        tasks.spawn(async move {
            loop {
                // A conflict on a busy database is ABORTED and retried, as a client would.
                match issue(&mut client, &d).await {
                    Ok(i) => return i.invoice_number,
                    Err(e) if e.code() == Code::Aborted && reason(&e) == "CONFLICT" => continue,
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
    }
    let mut numbers = tasks.join_all().await;
    numbers.sort();
    let expected: Vec<String> = (1..=6).map(|n| format!("SLA-E09000022-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn watermark_pull_returns_every_issued_invoice_exactly_once_across_pages_and_repulls() {
    let (_app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let mut issued = Vec::new();
    for m in 1..=5 {
        let d = draft(&mut c, &format!("run-{m}"), LAMBETH, month(m)).await;
        if m != 3 {
            issued.push(issue(&mut c, &d).await.unwrap().invoice_id);
        }
    }
    let pull = |c: &mut Client, watermark: String| {
        let mut c = c.clone();
        async move {
            c.list_invoices(authed(
                feed_request(&watermark, "", 3),
                LAMBETH_LIVING,
                Role::AlmoFinance,
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    let p1 = pull(&mut c, String::new()).await;
    assert_eq!(p1.entries.len(), 3);
    assert!(p1.has_more);
    let p2 = pull(&mut c, p1.watermark.clone()).await;
    assert_eq!(p2.entries.len(), 1);
    assert!(!p2.has_more);
    let got: Vec<String> = p1
        .entries
        .iter()
        .chain(&p2.entries)
        .map(|e| e.invoice.as_ref().unwrap().invoice_id.clone())
        .collect();
    assert_eq!(got, issued);
    // A re-pull from the last watermark: nothing new, same watermark.
    let p3 = pull(&mut c, p2.watermark.clone()).await;
    assert!(p3.entries.is_empty());
    assert_eq!(p3.watermark, p2.watermark);
    // Issue the held-back draft: the next pull returns it, and only it.
    let d = draft(&mut c, "run-3b", LAMBETH, month(3)).await;
    let late = issue(&mut c, &d).await.unwrap();
    let p4 = pull(&mut c, p2.watermark.clone()).await;
    assert_eq!(p4.entries.len(), 1);
    assert_eq!(
        p4.entries[0].invoice.as_ref().unwrap().invoice_id,
        late.invoice_id
    );
    assert_eq!(p4.entries[0].kind, FeedEventKind::InvoiceIssued as i32);
    let err = c
        .list_invoices(authed(
            feed_request("yesterday", "", 0),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["watermark"]);
}

#[tokio::test]
async fn an_almo_cannot_read_another_almos_invoice() {
    let (_app, mut c) = app().await;
    active_agreement(&mut c, LEEDS, LEEDS_ENE, "2026-04-01").await;
    active_agreement(&mut c, LEEDS, LEEDS_WNW, "2026-04-01").await;
    let drafts = run(&mut c, "run", LEEDS, month(1)).await.invoices;
    assert_eq!(drafts.len(), 2);
    for d in &drafts {
        issue(&mut c, d).await.unwrap();
    }
    let ene = drafts
        .iter()
        .find(|d| d.customer_almo_id == LEEDS_ENE)
        .unwrap();
    let err = c
        .get_invoice(authed(
            get_invoice_request(&ene.invoice_id),
            LEEDS_WNW,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Its pull holds only its own invoice, and it cannot ask for its sibling's.
    let mine = c
        .list_invoices(authed(
            ListInvoicesRequest::default(),
            LEEDS_WNW,
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.entries.len(), 1);
    assert_eq!(
        mine.entries[0].invoice.as_ref().unwrap().customer_almo_id,
        LEEDS_WNW
    );
    let err = c
        .list_invoices(authed(
            feed_request("", LEEDS_ENE, 0),
            LEEDS_WNW,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Invoice numbers are per council: Leeds starts at 1 too.
    let numbers: Vec<String> = c
        .list_invoices(authed(
            ListInvoicesRequest::default(),
            LEEDS,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .entries
        .into_iter()
        .map(|e| e.invoice.unwrap().invoice_number)
        .collect();
    assert_eq!(numbers, ["SLA-E08000035-000001", "SLA-E08000035-000002"]);
}

#[tokio::test]
async fn credit_note_cannot_exceed_the_line() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("l", &a.agreement_id, "LEGAL", 1, 7_500)).await;
    let draft = draft(&mut c, "run", LAMBETH, month(1)).await;
    let credit = |rid: &str, invoice: &str, line: i32, net: i64| {
        authed(
            credit_request(rid, invoice, line, net),
            LAMBETH,
            Role::CouncilFinance,
        )
    };
    // A draft is not credited: it is re-run.
    let err = c
        .create_credit_note(credit("cn0", &draft.invoice_id, 2, 100))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INVOICE_NOT_ISSUED");
    let inv = issue(&mut c, &draft).await.unwrap();
    let legal = inv.lines.iter().find(|l| l.line_code == "LEGAL").unwrap();
    assert_eq!(pence(&legal.net), 71_250);
    let cn = c
        .create_credit_note(credit("cn1", &inv.invoice_id, legal.line_number, 19_000))
        .await
        .unwrap()
        .into_inner();
    let note = cn.credit_note.unwrap();
    assert_eq!(note.credit_note_number, "SLA-CN-E09000022-000001");
    assert_eq!(pence(&note.gross), 22_800);
    // The invoice itself is unchanged; the credit note sits beside it.
    let after = cn.invoice.unwrap();
    assert_eq!(after.lines, inv.lines);
    assert_eq!(after.credit_notes.len(), 1);
    let err = c
        .create_credit_note(credit("cn2", &inv.invoice_id, legal.line_number, 52_251))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["lines[0].net"]);
    assert!(err.message().contains("52250"), "{}", err.message());
    c.create_credit_note(credit("cn3", &inv.invoice_id, legal.line_number, 52_250))
        .await
        .unwrap();
    // The ALMO's pull shows the credit notes as events after the invoice.
    let feed = c
        .list_invoices(authed(
            ListInvoicesRequest::default(),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<i32> = feed.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            FeedEventKind::InvoiceIssued as i32,
            FeedEventKind::CreditNoteIssued as i32,
            FeedEventKind::CreditNoteIssued as i32
        ]
    );
    // The ALMO cannot raise a credit note.
    let mut req = credit("cn4", &inv.invoice_id, legal.line_number, 1);
    let auth = authed((), LAMBETH_LIVING, Role::AlmoFinance);
    req.metadata_mut().insert(
        "authorization",
        auth.metadata().get("authorization").unwrap().clone(),
    );
    assert_eq!(
        c.create_credit_note(req).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn a_repeated_request_id_replays_the_first_answer() {
    let (app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let first = run(&mut c, "same", LAMBETH, month(1)).await;
    let again = run(&mut c, "same", LAMBETH, month(1)).await;
    assert_eq!(first, again);
    assert_eq!(
        sla_invoice::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        1
    );
    let err = c
        .run_billing(authed(
            run_request("same", LAMBETH, month(2)),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn almo_disputes_a_line_and_the_council_resolves_it_by_rejection_or_credit() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("l", &a.agreement_id, "LEGAL", 1, 10_000)).await;
    let draft = draft(&mut c, "run", LAMBETH, month(1)).await;
    let inv = issue(&mut c, &draft).await.unwrap();
    let legal = inv
        .lines
        .iter()
        .find(|l| l.line_code == "LEGAL")
        .unwrap()
        .line_number;
    let dispute = |rid: &str, org: &str, role: Role| {
        authed(dispute_request(rid, &inv.invoice_id, legal), org, role)
    };
    for (org, role) in [
        (LAMBETH_LIVING, Role::AlmoOfficer),
        (LAMBETH, Role::CouncilFinance),
        (HOMES_FOR_HARINGEY, Role::AlmoFinance),
    ] {
        let err = c
            .dispute_invoice_line(dispute("d0", org, role))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
    }
    let d = c
        .dispute_invoice_line(dispute("d1", LAMBETH_LIVING, Role::AlmoFinance))
        .await
        .unwrap()
        .into_inner()
        .dispute
        .unwrap();
    assert_eq!(d.status, DisputeStatus::Open as i32);
    let err = c
        .dispute_invoice_line(dispute("d2", LAMBETH_LIVING, Role::AlmoFinance))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_DISPUTED");
    let resolve = |rid: &str,
                   dispute: &Dispute,
                   resolution: DisputeResolution,
                   response: &str,
                   credit: Option<i64>| {
        authed(
            resolve_request(rid, dispute, resolution, response, credit),
            LAMBETH,
            Role::CouncilFinance,
        )
    };
    let err = c
        .resolve_dispute(resolve("r0", &d, DisputeResolution::Reject, "no", None))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["response"]);
    // More than the line charged cannot be credited (£950.00 net).
    let err = c
        .resolve_dispute(resolve(
            "r1",
            &d,
            DisputeResolution::Credit,
            "Six hours were not instructed",
            Some(95_001),
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["credit_net"]);
    let done = c
        .resolve_dispute(resolve(
            "r2",
            &d,
            DisputeResolution::Credit,
            "Six hours were not instructed",
            Some(57_000),
        ))
        .await
        .unwrap()
        .into_inner();
    let resolved = done.dispute.unwrap();
    assert_eq!(resolved.status, DisputeStatus::Credited as i32);
    let note = done.credit_note.unwrap();
    assert_eq!(resolved.credit_note_id, note.credit_note_id);
    assert_eq!(pence(&note.gross), 68_400);
    // Resolved once: a second answer is refused.
    let err = c
        .resolve_dispute(resolve(
            "r3",
            &resolved,
            DisputeResolution::Reject,
            "On reflection, no",
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "DISPUTE_RESOLVED");
    // The line can be disputed again, and this time rejected in writing.
    let d2 = c
        .dispute_invoice_line(dispute("d3", LAMBETH_LIVING, Role::AlmoFinance))
        .await
        .unwrap()
        .into_inner()
        .dispute
        .unwrap();
    let rejected = c
        .resolve_dispute(resolve(
            "r4",
            &d2,
            DisputeResolution::Reject,
            "The four hours are on the signed timesheet",
            None,
        ))
        .await
        .unwrap()
        .into_inner()
        .dispute
        .unwrap();
    assert_eq!(rejected.status, DisputeStatus::Rejected as i32);
    assert!(rejected.credit_note_id.is_empty());
    // Lists are filtered by who may see them.
    let list = |org: &str, role: Role| authed(ListDisputesRequest::default(), org, role);
    let mine = c
        .list_disputes(list(LAMBETH_LIVING, Role::AlmoOfficer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.disputes.len(), 2);
    assert_eq!(mine.disputes[0].dispute_id, d.dispute_id);
    let theirs = c
        .list_disputes(list(HARINGEY, Role::CouncilFinance))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.disputes.is_empty());
    let err = c
        .list_disputes(list(REGULATOR, Role::Regulator))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn another_council_cannot_bill_issue_or_record_for_lambeth() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let draft = draft(&mut c, "run", LAMBETH, month(1)).await;
    let err = c
        .run_billing(authed(
            run_request("h-run", LAMBETH, month(1)),
            HARINGEY,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .issue_invoice(authed(
            issue_request("h-issue", &draft),
            HARINGEY,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .record_usage(authed(
            usage("h-u", &a.agreement_id, "LEGAL", 1, 1_000),
            HARINGEY,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Lambeth's own council officers are not its finance team.
    let err = c
        .run_billing(authed(
            run_request("o-run", LAMBETH, month(1)),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A year is not a billing period.
    let err = c
        .run_billing(authed(
            run_request("y-run", LAMBETH, year()),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["period.kind"]);
}

#[tokio::test]
async fn sla_ends_with_a_final_prorated_period_when_the_almo_is_wound_up() {
    use almo_db::entity::organisation;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let (app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::EndDate,
            Expr::value("2026-04-10".parse::<chrono::NaiveDate>().unwrap()),
        )
        .filter(organisation::Column::Id.eq(LAMBETH_LIVING))
        .exec(app.db.conn())
        .await
        .unwrap();
    let april = draft(&mut c, "apr", LAMBETH, month(1)).await;
    assert_eq!(april.lines.len(), 1);
    assert_eq!(april.lines[0].quantity_milli, 10_000);
    assert_eq!(pence(&april.lines[0].net), 100_000); // 10 days at £100
    assert!(
        run(&mut c, "may", LAMBETH, month(2))
            .await
            .invoices
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_billing_runs_of_one_period_leave_one_invoice() {
    let (app, mut c) = app().await;
    active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..4 {
        let mut client = SlaChargingServiceClient::new(app.channel().await);
        tasks.spawn(async move {
            loop {
                let req = authed(
                    run_request(&format!("concurrent-{n}"), LAMBETH, month(1)),
                    LAMBETH,
                    Role::CouncilFinance,
                );
                match client.run_billing(req).await {
                    Ok(r) => return r.into_inner().invoices.len(),
                    Err(e) if e.code() == Code::Aborted => continue,
                    Err(e) => panic!("{e:?}"),
                }
            }
        });
    }
    assert_eq!(tasks.join_all().await, [1, 1, 1, 1]);
    assert_eq!(
        sla_invoice::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        1
    );
    // Every run is attributable: one audit row each.
    let runs = almo_db::entity::audit_log::Entity::find()
        .all(app.db.conn())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.method.ends_with("/RunBilling"))
        .inspect(|a| assert_eq!(a.target, "councils/E09000022/billingRuns/2026-M01"))
        .count();
    assert_eq!(runs, 4);
}
