//! Billing runs: draft (or redraft) every invoice of a council for a period.

use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::SlaCharging;
use super::access::require_supplier;
use super::convert::{billing_period, invoice_to_proto};
use crate::billing;

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
            let resp = pb::RunBillingResponse {
                invoices: out
                    .drafts
                    .iter()
                    .map(invoice_to_proto)
                    .collect::<Result<_, _>>()?,
                already_issued_agreement_ids: out.already_issued,
            };
            let target = format!("councils/{council}/billingRuns/{}", period.key());
            Ok((resp, target))
        })
        .await
    }
}
