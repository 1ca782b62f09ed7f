//! The demo SLA data loads on top of the demo directory, loads twice without change, and reads
//! as ALMO finance would see it.

use almo_auth::Role;
use almo_proto::sla_charging::*;
use almo_testkit::authed;
use tonic_types::StatusExt;

mod common;

use common::{demo_app, demo_value_for_money, get_agreement_request};

#[tokio::test]
async fn demo_loads_idempotently_with_issued_invoices_a_service_credit_a_credit_note_and_a_dispute()
{
    let (app, mut c) = demo_app().await;
    // Loading it again changes nothing.
    almo_sla_charging::demo::seed(&app.db).await.unwrap();
    let feed = c
        .list_invoices(authed(
            ListInvoicesRequest::default(),
            "LAMBETH-LIVING",
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
            FeedEventKind::InvoiceIssued as i32,
            FeedEventKind::CreditNoteIssued as i32
        ]
    );
    // The export streams the same feed, and nothing after its last watermark.
    let mut export = c
        .export_invoices(authed(
            ExportInvoicesRequest::default(),
            "LAMBETH-LIVING",
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    let mut watermark = String::new();
    while let Some(batch) = export.message().await.unwrap() {
        exported.extend(batch.entries);
        watermark = batch.watermark;
    }
    assert_eq!(exported, feed.entries);
    assert_eq!(watermark, feed.watermark);
    let mut rest = c
        .export_invoices(authed(
            ExportInvoicesRequest {
                watermark,
                ..Default::default()
            },
            "LAMBETH-LIVING",
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(rest.message().await.unwrap().is_none());
    let err = c
        .export_invoices(authed(
            ExportInvoicesRequest::default(),
            "RSH",
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let may = feed.entries[1].invoice.as_ref().unwrap();
    assert_eq!(may.invoice_number, "SLA-E09000022-000002");
    assert!(
        may.lines
            .iter()
            .any(|l| l.kind == LineKind::ServiceCredit as i32 && l.line_code == "IT")
    );
    let open = c
        .list_disputes(authed(
            ListDisputesRequest {
                status: DisputeStatus::Open as i32,
                ..Default::default()
            },
            "LAMBETH-LIVING",
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.disputes.len(), 1);
    assert_eq!(open.disputes[0].invoice_id, may.invoice_id);
    let bases: Vec<i32> = c
        .get_agreement(authed(
            get_agreement_request(almo_sla_charging::demo::AGREEMENT_ID),
            "E09000022",
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap()
        .versions[0]
        .lines
        .iter()
        .map(|l| l.basis)
        .collect();
    for basis in [
        ChargingBasis::FixedAnnualFee,
        ChargingBasis::PerUnit,
        ChargingBasis::PerUser,
        ChargingBasis::PerFte,
    ] {
        assert!(bases.contains(&(basis as i32)));
    }
}

#[tokio::test]
async fn value_for_money_compares_actual_unit_costs_with_benchmarks_and_flags_the_review() {
    let (_app, mut c) = demo_app().await;
    let vfm = c
        .get_value_for_money(authed(
            demo_value_for_money(Some(2026)),
            "LAMBETH-LIVING",
            Role::AlmoFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    let legal = vfm.lines.iter().find(|l| l.line_code == "LEGAL").unwrap();
    // April and May are issued: 80.5 hours at £95, less the £190 credit note.
    assert_eq!(legal.units_milli, 80_500);
    assert_eq!(legal.net_paid.as_ref().unwrap().pence, 764_750 - 19_000);
    assert_eq!(legal.actual_unit_cost.as_ref().unwrap().pence, 9_264);
    assert_eq!(legal.variance_basis_points, 527);
    assert!(legal.above_benchmark);
    let hr = vfm.lines.iter().find(|l| l.line_code == "HR").unwrap();
    assert_eq!(hr.unit_name, "year");
    assert_eq!(hr.units_milli, 167); // 61 of 365 days
    // Lambeth Living went live in April 2008; this agreement is no review within 12 months.
    assert_eq!(vfm.go_live_date, "2008-04-01");
    assert_eq!(vfm.review_status, ReviewStatus::Overdue as i32);
    assert_eq!(vfm.review_date, "2009-04-01");
    let err = c
        .get_value_for_money(authed(
            demo_value_for_money(None),
            "LAMBETH-LIVING",
            Role::AlmoFinance,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        err.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "financial_year"
    );
    let err = c
        .get_value_for_money(authed(
            demo_value_for_money(Some(2026)),
            "RSH",
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}

#[tokio::test]
async fn the_demo_billing_run_reports_every_leeds_agreement_and_adjusts_april_for_the_back_dated_variation()
 {
    use almo_sla_charging::demo::*;
    let (app, mut c) = demo_app().await;
    almo_sla_charging::demo::seed(&app.db).await.unwrap();
    let run = c
        .run_billing(authed(
            common::run_request("demo-leeds-may", LEEDS, common::month(2)),
            LEEDS,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    let report: Vec<(&str, &str, i32, &str, &str)> = run
        .agreements
        .iter()
        .map(|a| {
            (
                a.agreement_id.as_str(),
                a.customer_almo_id.as_str(),
                a.outcome,
                a.reason.as_str(),
                a.invoice_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        report,
        [
            (
                LEEDS_ENE_AGREEMENT_ID,
                LEEDS_ENE,
                BillingOutcome::Drafted as i32,
                "",
                "sla-leeds-ene-2026.2026-M02"
            ),
            (
                LEEDS_WNW_AGREEMENT_ID,
                LEEDS_WNW,
                BillingOutcome::NothingToBill as i32,
                "no usage recorded in 2026/27 month 2 (May 2026) for LEGAL and no fixed fee",
                ""
            ),
            (
                LEEDS_WNW_PAYROLL_AGREEMENT_ID,
                LEEDS_WNW,
                BillingOutcome::Refused as i32,
                "no version is agreed by both parties: version 1 awaits the ALMO",
                ""
            ),
        ]
    );
    // May is billed at the varied prices: 66 users at £21.00, 14 hours at £90.
    let may = &run.invoices[0];
    assert_eq!(may.net.as_ref().unwrap().pence, 138_600 + 126_000);
    // April (SLA-E08000035-000001) was billed 64 users at £18.50 and 20.5 hours at £95; from 16
    // April the terms are £21.00 and £90: a supplementary invoice for the rise, a credit note for
    // the cut, both against April's invoice, which does not change.
    assert_eq!(run.adjustments.len(), 1);
    let adj = &run.adjustments[0];
    assert_eq!(adj.original_invoice_id, "sla-leeds-ene-2026.2026-M01");
    assert_eq!(adj.original_invoice_number, "SLA-E08000035-000001");
    let sup = adj.supplementary_invoice.as_ref().unwrap();
    assert_eq!(sup.adjusts_invoice_id, adj.original_invoice_id);
    assert_eq!(sup.status, InvoiceStatus::Draft as i32);
    assert_eq!(sup.lines.len(), 1);
    assert_eq!(sup.lines[0].line_code, "IT");
    assert_eq!(sup.net.as_ref().unwrap().pence, 16_000);
    assert_eq!(sup.vat.as_ref().unwrap().pence, 3_200);
    let note = adj.credit_note.as_ref().unwrap();
    assert!(note.adjustment);
    assert_eq!(note.invoice_id, adj.original_invoice_id);
    assert_eq!(note.credit_note_number, "SLA-CN-E08000035-000001");
    assert_eq!(note.gross.as_ref().unwrap().pence, 10_250 + 2_050);
    // A second run adjusts nothing more than the supplementary draft it replaces.
    let again = c
        .run_billing(authed(
            common::run_request("demo-leeds-may-again", LEEDS, common::month(2)),
            LEEDS,
            Role::CouncilFinance,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.adjustments.len(), 1);
    assert!(again.adjustments[0].credit_note.is_none());
    assert_eq!(
        again.adjustments[0]
            .supplementary_invoice
            .as_ref()
            .unwrap()
            .net
            .as_ref()
            .unwrap()
            .pence,
        16_000
    );
}
