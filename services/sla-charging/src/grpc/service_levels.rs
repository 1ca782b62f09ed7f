//! Service-level results: what the council achieved against each level in a period, which
//! decides the service credits on the period's invoice.

use almo_db::entity::sla_level_result;
use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::SlaCharging;
use super::access::{denied, require_supplier, visibility};
use super::convert::{billing_period, period_to_proto};
use crate::billing;
use crate::domain::service_credit::missed;
use crate::storage;

impl SlaCharging {
    pub(super) async fn record_service_level_result(
        &self,
        request: Request<pb::RecordServiceLevelResultRequest>,
    ) -> Result<pb::RecordServiceLevelResultResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let Some(res) = &r.result else {
            return Err(AppError::invalid("result", "required"));
        };
        let mut v = Violations::new();
        v.field("result.agreement_id", fields::id(&res.agreement_id));
        v.check(
            res.level_code.trim().is_empty(),
            "result.level_code",
            "required",
        );
        v.check(!res.value.is_finite(), "result.value", "must be a number");
        let period = billing_period(&mut v, "result.period", &res.period, false);
        v.into_result()?;
        let period = period.expect("checked");
        self.write(
            &p,
            "RecordServiceLevelResult",
            &r.request_id,
            r,
            async |txn| {
                let (a, versions) = storage::get_agreement(txn, res.agreement_id.trim())
                    .await?
                    .filter(|(a, _)| vis.sees_agreement(a))
                    .ok_or_else(|| denied(&p, &format!("agreement {:?}", res.agreement_id)))?;
                require_supplier(&p, &a.supplier_council_id)?;
                storage::lock_council(txn, &a.supplier_council_id).await?;
                let terms = billing::active_terms(&versions)?;
                let Some(level) = terms
                    .iter()
                    .rev()
                    .find_map(|(_, t)| t.level(res.level_code.trim()))
                    .cloned()
                else {
                    return Err(AppError::invalid(
                        "result.level_code",
                        format!(
                            "{:?} is not a service level of an active version of {}",
                            res.level_code, a.id
                        ),
                    ));
                };
                let keys = billing::overlapping_keys(&period);
                if storage::invoices_for_periods(txn, &a.id, &keys)
                    .await?
                    .iter()
                    .any(|i| i.status == "issued")
                {
                    return Err(AppError::failed_precondition(
                        "PERIOD_INVOICED",
                        format!(
                            "{} has been invoiced for {}; correct it with a credit note",
                            a.id,
                            period.label()
                        ),
                    ));
                }
                let result = sla_level_result::Model {
                    agreement_id: a.id.clone(),
                    level_code: level.code.clone(),
                    period_key: period.key(),
                    value: res.value,
                    recorded_at: Utc::now(),
                };
                storage::upsert_result(txn, result).await?;
                let resp = pb::RecordServiceLevelResultResponse {
                    result: Some(pb::ServiceLevelResult {
                        agreement_id: a.id.clone(),
                        level_code: level.code.clone(),
                        period: Some(period_to_proto(
                            period.fy_start_year,
                            period.kind,
                            period.number,
                        )),
                        value: res.value,
                        missed: missed(&level, res.value),
                    }),
                };
                let target = format!(
                    "slaAgreements/{}/results/{}/{}",
                    a.id,
                    level.code,
                    period.key()
                );
                Ok((resp, target))
            },
        )
        .await
    }
}
