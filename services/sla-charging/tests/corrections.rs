//! The SLA charging corrections (issue 13): credit notes capped at what was paid, billing runs
//! that account for every agreement, back-dated variations settled by an adjustment. Through the
//! real gRPC API on 127.0.0.1:0, on SQLite (or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

use almo_auth::Role;
use almo_proto::sla_charging::*;
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::Code;

mod common;

use common::*;

/// A credit of `net` on line `line` of `invoice`, by Lambeth's finance team.
fn credit(
    rid: &str,
    invoice: &str,
    line: i32,
    net: i64,
) -> tonic::Request<CreateCreditNoteRequest> {
    authed(
        credit_request(rid, invoice, line, net),
        LAMBETH,
        Role::CouncilFinance,
    )
}

fn message(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| f.description.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn credit_note_never_refunds_more_than_was_paid_for_the_line() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("it", &a.agreement_id, "IT", 1, 120_000)).await;
    c.record_service_level_result(authed(
        it_result("res", &a.agreement_id, 1, 91.5),
        LAMBETH,
        Role::CouncilFinance,
    ))
    .await
    .unwrap();
    let d = draft(&mut c, "run", LAMBETH, month(1)).await;
    let inv = issue(&mut c, &d).await.unwrap();
    let it = inv
        .lines
        .iter()
        .find(|l| l.line_code == "IT" && l.kind == LineKind::Usage as i32)
        .unwrap();
    let service_credit = inv
        .lines
        .iter()
        .find(|l| l.kind == LineKind::ServiceCredit as i32)
        .unwrap();
    // £2,220.00 charged, a £111.00 service credit already given: £2,109.00 was paid.
    assert_eq!((pence(&it.net), pence(&it.vat)), (222_000, 44_400));
    assert_eq!(
        (pence(&service_credit.net), pence(&service_credit.vat)),
        (-11_100, -2_220)
    );
    let n = it.line_number;
    let err = c
        .create_credit_note(credit("cn-all", &inv.invoice_id, n, 222_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["lines[0].net"]);
    assert_eq!(
        message(&err),
        format!(
            "at most 210900 pence remain creditable on line {n} (IT): charged 222000, less \
             service credits 11100, less earlier credit notes 0"
        )
    );
    // The service credit line itself is not a charge to refund.
    let err = c
        .create_credit_note(credit(
            "cn-sc",
            &inv.invoice_id,
            service_credit.line_number,
            1,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["lines[0].net"]);
    // Earlier credit notes count too.
    c.create_credit_note(credit("cn1", &inv.invoice_id, n, 200_000))
        .await
        .unwrap();
    let err = c
        .create_credit_note(credit("cn2", &inv.invoice_id, n, 10_901))
        .await
        .unwrap_err();
    assert!(
        message(&err).starts_with("at most 10900 pence remain creditable on line"),
        "{}",
        message(&err)
    );
    let after = c
        .create_credit_note(credit("cn3", &inv.invoice_id, n, 10_900))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    // Refunded in all: exactly what was paid, net and VAT; the line stands at zero.
    let (net, vat) = after
        .credit_notes
        .iter()
        .flat_map(|cn| &cn.lines)
        .fold((0, 0), |(n, v), l| (n + pence(&l.net), v + pence(&l.vat)));
    assert_eq!((net, vat), (210_900, 42_180));
    let err = c
        .create_credit_note(credit("cn4", &inv.invoice_id, n, 1))
        .await
        .unwrap_err();
    assert!(
        message(&err).starts_with("at most 0 pence"),
        "{}",
        message(&err)
    );
}

/// Version 1 of an agreement with Lambeth Living charging `lines` only, drafted by the council.
async fn draft_with_lines(c: &mut Client, rid: &str, lines: Vec<ServiceLine>) -> Agreement {
    let mut req = create_request(rid, LAMBETH, LAMBETH_LIVING, "2026-04-01");
    req.title = format!("Agreement {rid}");
    req.lines = lines;
    req.levels = Vec::new();
    c.create_agreement(authed(req, LAMBETH, Role::CouncilFinance))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap()
}

/// Both parties agree version 1.
async fn agree_both(c: &mut Client, a: &Agreement) -> Agreement {
    let mut a = a.clone();
    for org in [LAMBETH, LAMBETH_LIVING] {
        a = c
            .agree_agreement_version(authed(
                agree_request(
                    &format!("agree-{}-{org}", a.agreement_id),
                    &a.agreement_id,
                    1,
                    &a.etag,
                ),
                org,
                finance_role(org),
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
    }
    a
}

fn outcome_of(r: &RunBillingResponse, agreement_id: &str) -> (BillingOutcome, String, String) {
    let o = r
        .agreements
        .iter()
        .find(|o| o.agreement_id == agreement_id)
        .unwrap_or_else(|| panic!("{agreement_id} is not in the run's report"));
    (o.outcome(), o.reason.clone(), o.invoice_id.clone())
}

#[tokio::test]
async fn a_billing_run_reports_every_agreement_in_scope() {
    let (_app, mut c) = app().await;
    // Fees: HR's fixed fee bills every month.
    let fees = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    // Legal only, by the hour, and no hours recorded.
    let legal = draft_with_lines(&mut c, "legal", vec![lines()[0].clone()]).await;
    let legal = agree_both(&mut c, &legal).await;
    // Not yet agreed by the ALMO.
    let pending = draft_with_lines(&mut c, "pending", vec![lines()[2].clone()]).await;
    c.agree_agreement_version(authed(
        agree_request("agree-pending", &pending.agreement_id, 1, &pending.etag),
        LAMBETH,
        Role::CouncilFinance,
    ))
    .await
    .unwrap();
    // Another council's agreement is out of scope.
    active_agreement(&mut c, HARINGEY, HOMES_FOR_HARINGEY, "2026-04-01").await;

    let first = run(&mut c, "run-apr", LAMBETH, month(1)).await;
    assert_eq!(first.agreements.len(), 3, "{:?}", first.agreements);
    let (o, reason, drafted) = outcome_of(&first, &fees.agreement_id);
    assert_eq!((o, reason.as_str()), (BillingOutcome::Drafted, ""));
    assert_eq!(first.invoices.len(), 1);
    assert_eq!(drafted, first.invoices[0].invoice_id);
    assert_eq!(
        outcome_of(&first, &legal.agreement_id),
        (
            BillingOutcome::NothingToBill,
            "no usage recorded in 2026/27 month 1 (April 2026) for LEGAL and no fixed fee".into(),
            String::new()
        )
    );
    assert_eq!(
        outcome_of(&first, &pending.agreement_id),
        (
            BillingOutcome::Refused,
            "no version is agreed by both parties: version 1 awaits the ALMO".into(),
            String::new()
        )
    );

    // Issue April; a second run of April leaves it alone and says so.
    issue(&mut c, &first.invoices[0]).await.unwrap();
    let again = run(&mut c, "run-apr-2", LAMBETH, month(1)).await;
    assert!(again.invoices.is_empty());
    assert_eq!(again.agreements.len(), 3);
    let (o, reason, invoice) = outcome_of(&again, &fees.agreement_id);
    assert_eq!(o, BillingOutcome::AlreadyIssued);
    assert_eq!(invoice, drafted);
    assert!(reason.contains("already"), "{reason}");
    assert_eq!(again.already_issued_agreement_ids, vec![fees.agreement_id]);
    // The report is in agreement id order.
    let ids: Vec<&str> = again
        .agreements
        .iter()
        .map(|o| o.agreement_id.as_str())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    // The ALMO may not run billing.
    let err = c
        .run_billing(authed(
            run_request("run-almo", LAMBETH, month(1)),
            LAMBETH_LIVING,
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_back_dated_variation_is_adjusted_on_the_next_billing_run() {
    let (_app, mut c) = app().await;
    let a = active_agreement(&mut c, LAMBETH, LAMBETH_LIVING, "2026-04-01").await;
    record_for_lambeth(&mut c, usage("it", &a.agreement_id, "IT", 1, 120_000)).await;
    let d = draft(&mut c, "run-apr", LAMBETH, month(1)).await;
    let april = issue(&mut c, &d).await.unwrap();
    // HR £36,500 -> £73,000 a year and IT £18.50 -> £17.00 a user, from 16 April.
    let mut new_lines = lines();
    new_lines[2].unit_price = gbp(7_300_000);
    new_lines[1].unit_price = gbp(1_700);
    let varied = c
        .vary_agreement(authed(
            vary_request("vary", &a.agreement_id, &a.etag, "2026-04-16", new_lines),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    // The reply names the issued invoice it will adjust.
    let named: Vec<_> = varied
        .will_adjust
        .iter()
        .map(|w| {
            (
                w.invoice_id.as_str(),
                w.invoice_number.as_str(),
                w.period_label.as_str(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [(
            april.invoice_id.as_str(),
            april.invoice_number.as_str(),
            "2026/27 month 1 (April 2026)"
        )]
    );
    let mut etag = varied.agreement.unwrap().etag;
    let mut agreed = None;
    for org in [LAMBETH, LAMBETH_LIVING] {
        let r = c
            .agree_agreement_version(authed(
                agree_request(&format!("agree2-{org}"), &a.agreement_id, 2, &etag),
                org,
                finance_role(org),
            ))
            .await
            .unwrap()
            .into_inner();
        etag = r.agreement.as_ref().unwrap().etag.clone();
        agreed = Some(r);
    }
    assert_eq!(agreed.unwrap().will_adjust.len(), 1);

    // The next run (May) adjusts April: HR rises, IT falls.
    let may = run(&mut c, "run-may", LAMBETH, month(2)).await;
    assert_eq!(may.adjustments.len(), 1);
    let adj = &may.adjustments[0];
    assert_eq!(adj.original_invoice_id, april.invoice_id);
    assert_eq!(adj.original_invoice_number, april.invoice_number);
    // HR: April was 300,000; now 15 days at £100 + 15 days at £200 = 450,000 (exempt).
    let sup = adj.supplementary_invoice.as_ref().unwrap();
    assert_eq!(sup.adjusts_invoice_id, april.invoice_id);
    assert_eq!(sup.status, InvoiceStatus::Draft as i32);
    let sup_lines: Vec<_> = sup
        .lines
        .iter()
        .map(|l| (l.line_code.as_str(), pence(&l.net), pence(&l.vat)))
        .collect();
    assert_eq!(sup_lines, [("HR", 150_000, 0)]);
    // IT: usage is priced by the version in effect on 30 April: 120 × £17.00 = 2,040.00, so
    // 180.00 (and 36.00 VAT) comes back on a credit note referencing April's invoice.
    let note = adj.credit_note.as_ref().unwrap();
    assert!(note.adjustment);
    assert_eq!(note.invoice_id, april.invoice_id);
    let (n, v) = note
        .lines
        .iter()
        .fold((0, 0), |(n, v), l| (n + pence(&l.net), v + pence(&l.vat)));
    assert_eq!((n, v), (18_000, 3_600));
    assert!(
        note.reason.contains(&april.invoice_number),
        "{}",
        note.reason
    );
    // The original never changed.
    let now = c
        .get_invoice(authed(
            get_invoice_request(&april.invoice_id),
            LAMBETH,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .invoice
        .unwrap();
    assert_eq!(now.lines, april.lines);

    // Issued, the supplementary settles it: the next run adjusts nothing more, to the penny.
    issue(&mut c, sup).await.unwrap();
    let again = run(&mut c, "run-may-2", LAMBETH, month(2)).await;
    assert!(again.adjustments.is_empty(), "{:?}", again.adjustments);
    // Replaying the run's request id replays its answer.
    let replay = run(&mut c, "run-may", LAMBETH, month(2)).await;
    assert_eq!(replay.adjustments.len(), 1);
}
