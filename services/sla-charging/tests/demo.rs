//! The demo SLA data loads on top of the demo directory, loads twice without change, and reads
//! as ALMO finance would see it.

use almo_auth::Role;
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::*;
use almo_testkit::{TestApp, authed};

#[tokio::test]
async fn demo_loads_idempotently_with_issued_invoices_a_service_credit_a_credit_note_and_a_dispute()
{
    let app = TestApp::spawn(vec![almo_sla_charging::mount()])
        .await
        .unwrap();
    almo_sla_charging::demo::seed(&app.db).await.unwrap();
    almo_sla_charging::demo::seed(&app.db).await.unwrap();
    let mut c = SlaChargingServiceClient::new(app.channel().await);
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
            GetAgreementRequest {
                agreement_id: almo_sla_charging::demo::AGREEMENT_ID.into(),
            },
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
