//! SLA charging: one row per RPC (see the module documentation of `access_matrix.rs`).

use almo_proto::sla_charging as sla;

use crate::harness::{Row, first, row};
use crate::world::*;

pub fn rows() -> Vec<Row> {
    vec![
        row!(
            "SlaChargingService/CreateAgreement",
            "* pd/pd/pd  CF ok/pd/pd",
            |c, s| c.sla.create_agreement(sla::CreateAgreementRequest {
                request_id: rid(),
                supplier_council_id: s.sla_council,
                customer_almo_id: s.sla_almo,
                title: "Matrix services".into(),
                start_date: "2027-04-01".into(),
                end_date: "2028-03-31".into(),
                lines: vec![sla_line()],
                levels: vec![],
            })
        ),
        row!(
            "SlaChargingService/AgreeAgreementVersion",
            "* pd/pd/pd  CF ab/pd/pd  AF ab/pd/pd",
            |c, s| c
                .sla
                .agree_agreement_version(sla::AgreeAgreementVersionRequest {
                    request_id: rid(),
                    agreement_id: s.agreement,
                    version: 1,
                    etag: STALE.into(),
                })
        ),
        row!(
            "SlaChargingService/VaryAgreement",
            "* pd/pd/pd  CF ab/pd/pd",
            |c, s| c.sla.vary_agreement(sla::VaryAgreementRequest {
                request_id: rid(),
                agreement_id: s.agreement,
                etag: STALE.into(),
                effective_from_date: "2026-10-01".into(),
                lines: vec![sla_line()],
                levels: vec![],
            })
        ),
        row!(
            "SlaChargingService/GetAgreement",
            "* pd/pd/pd  CF ok/pd/pd  AO ok/pd/pd  AF ok/pd/pd",
            |c, s| c.sla.get_agreement(sla::GetAgreementRequest {
                agreement_id: s.agreement
            })
        ),
        row!(
            "SlaChargingService/ListAgreements",
            "* pd/pd/pd  CF ok/ok/ok  AO ok/ok/ok  AF ok/ok/ok",
            |c, s| c.sla.list_agreements(sla::ListAgreementsRequest {
                customer_almo_id: s.sla_almo,
                ..Default::default()
            })
        ),
        row!(
            "SlaChargingService/RecordUsage",
            "* pd/pd/pd  CF ok/pd/pd",
            |c, s| c.sla.record_usage(sla::RecordUsageRequest {
                request_id: rid(),
                record: Some(usage(&s.agreement)),
            })
        ),
        row!(
            "SlaChargingService/BulkRecordUsage",
            "* pd/pd/pd  CF ok/pd/pd",
            |c, s| c
                .sla
                .bulk_record_usage(tokio_stream::iter(vec![sla::BulkRecordUsageRequest {
                    request_id: rid(),
                    records: vec![usage(&s.agreement)],
                }]))
        ),
        row!(
            "SlaChargingService/RecordServiceLevelResult",
            "* pd/pd/pd  CF ok/pd/pd",
            |c, s| c
                .sla
                .record_service_level_result(sla::RecordServiceLevelResultRequest {
                    request_id: rid(),
                    result: Some(sla::ServiceLevelResult {
                        agreement_id: s.agreement,
                        level_code: "IT-FIX-4H".into(),
                        period: month(2027, 3),
                        value: 90.0,
                        missed: false,
                    }),
                })
        ),
        row!(
            "SlaChargingService/RunBilling",
            "* pd/pd/pd  CF ok/pd/pd",
            |c, s| c.sla.run_billing(sla::RunBillingRequest {
                request_id: rid(),
                supplier_council_id: s.sla_council,
                period: month(2027, 3),
            })
        ),
        row!(
            "SlaChargingService/IssueInvoice",
            "* pd/pd/pd  CF ab/pd/pd",
            |c, s| c.sla.issue_invoice(sla::IssueInvoiceRequest {
                request_id: rid(),
                invoice_id: s.draft_invoice,
                etag: STALE.into(),
            })
        ),
        row!(
            "SlaChargingService/GetInvoice",
            "* pd/pd/pd  CF ok/pd/pd  AO ok/pd/pd  AF ok/pd/pd",
            |c, s| c.sla.get_invoice(sla::GetInvoiceRequest {
                invoice_id: s.invoice
            })
        ),
        row!(
            "SlaChargingService/ListInvoices",
            "* pd/pd/pd  CF ok/pd/pd  AO ok/pd/pd  AF ok/pd/pd",
            |c, s| c.sla.list_invoices(sla::ListInvoicesRequest {
                customer_almo_id: s.sla_almo,
                ..Default::default()
            })
        ),
        row!(
            "SlaChargingService/ExportInvoices",
            "* pd/pd/pd  CF ok/pd/pd  AO ok/pd/pd  AF ok/pd/pd",
            |c, s| first(c.sla.export_invoices(sla::ExportInvoicesRequest {
                watermark: String::new(),
                customer_almo_id: s.sla_almo,
            }))
        ),
        row!(
            "SlaChargingService/CreateCreditNote",
            "* pd/pd/pd  CF ia/pd/pd",
            |c, s| c.sla.create_credit_note(sla::CreateCreditNoteRequest {
                request_id: rid(),
                invoice_id: s.invoice,
                reason: "checked against the source figures".into(),
                // More than any line: refused after the caller is let in.
                lines: vec![sla::CreditLineRequest {
                    invoice_line_number: 1,
                    net: gbp(100_000_000_000),
                }],
            })
        ),
        row!(
            "SlaChargingService/DisputeInvoiceLine",
            "* pd/pd/pd  AF ia/pd/pd",
            |c, s| c.sla.dispute_invoice_line(sla::DisputeInvoiceLineRequest {
                request_id: rid(),
                invoice_id: s.invoice,
                invoice_line_number: 99,
                reason: "checked against the source figures".into(),
            })
        ),
        row!(
            "SlaChargingService/ResolveDispute",
            "* pd/pd/pd  CF ab/pd/pd",
            |c, s| c.sla.resolve_dispute(sla::ResolveDisputeRequest {
                request_id: rid(),
                dispute_id: s.dispute,
                etag: STALE.into(),
                resolution: sla::DisputeResolution::Reject as i32,
                response: "as agreed".into(),
                credit_net: None,
            })
        ),
        row!(
            "SlaChargingService/ListDisputes",
            "* pd/-/-  CF ok/-/-  AO ok/-/-  AF ok/-/-",
            |c, _s| c.sla.list_disputes(sla::ListDisputesRequest::default())
        ),
        row!(
            "SlaChargingService/GetValueForMoney",
            "* pd/pd/pd  CF ok/pd/pd  AO ok/pd/pd  AF ok/pd/pd",
            |c, s| c.sla.get_value_for_money(sla::GetValueForMoneyRequest {
                agreement_id: s.agreement,
                financial_year: fy(2026),
            })
        ),
    ]
}
