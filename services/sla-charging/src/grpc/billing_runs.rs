//! Billing runs: draft (or redraft) every invoice of a council for a period.

use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::SlaCharging;
use super::access::{require_supplier, reread_invoice};
use super::convert::{billing_period, invoice_to_proto};
use crate::billing;
use crate::domain::billing_run::Outcome;

impl SlaCharging {
    pub(super) async fn run_billing(
        &self,
        request: Request<pb::RunBillingRequest>,
    ) -> Result<pb::RunBillingResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council = r.supplier_council_id.trim();
        v.check(council.is_empty(), "supplier_council_id", "required");
        let period = billing_period(&mut v, "period", &r.period, false);
        v.into_result()?;
        require_supplier(&p, council)?;
        let period = period.expect("checked");
        self.write(&p, "RunBilling", &r.request_id, r, async |txn| {
            let out = billing::run(txn, council, period, Utc::now()).await?;
            let mut adjustments = Vec::new();
            for adj in &out.adjustments {
                let credit_note = match &adj.credit_note_id {
                    Some(id) => {
                        let rows = reread_invoice(txn, &adj.original.id).await?;
                        invoice_to_proto(&rows)?
                            .credit_notes
                            .into_iter()
                            .find(|n| n.credit_note_id == *id)
                    }
                    None => None,
                };
                adjustments.push(pb::InvoiceAdjustment {
                    original_invoice_id: adj.original.id.clone(),
                    original_invoice_number: adj
                        .original
                        .invoice_number
                        .clone()
                        .unwrap_or_default(),
                    supplementary_invoice: adj
                        .supplementary
                        .as_ref()
                        .map(invoice_to_proto)
                        .transpose()?,
                    credit_note,
                });
            }
            let resp = pb::RunBillingResponse {
                adjustments,
                invoices: out
                    .drafts
                    .iter()
                    .map(invoice_to_proto)
                    .collect::<Result<_, _>>()?,
                already_issued_agreement_ids: out.already_issued,
                agreements: out
                    .agreements
                    .into_iter()
                    .map(|(agreement_id, customer_almo_id, outcome)| {
                        let (outcome, reason, invoice_id) = match outcome {
                            Outcome::Drafted { invoice_id } => {
                                (pb::BillingOutcome::Drafted, String::new(), invoice_id)
                            }
                            Outcome::AlreadyIssued { invoice_id } => (
                                pb::BillingOutcome::AlreadyIssued,
                                "an issued invoice already covers these days".to_string(),
                                invoice_id,
                            ),
                            Outcome::NothingToBill { reason } => {
                                (pb::BillingOutcome::NothingToBill, reason, String::new())
                            }
                            Outcome::Refused { reason } => {
                                (pb::BillingOutcome::Refused, reason, String::new())
                            }
                        };
                        pb::AgreementBillingOutcome {
                            agreement_id,
                            customer_almo_id,
                            outcome: outcome as i32,
                            reason,
                            invoice_id,
                        }
                    })
                    .collect(),
            };
            let target = format!("councils/{council}/billingRuns/{}", period.key());
            Ok((resp, target))
        })
        .await
    }
}
