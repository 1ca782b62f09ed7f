//! Decent Homes funding eligibility from an ALMO's latest outcome, and whether it missed the
//! qualifying deadline after its section 27 consent.

use almo_proto::inspection as pb;
use almo_server::AppError;
use chrono::Utc;
use tonic::Request;

use super::convert::eligibility_to_proto;
use super::{InspectionScheduling, required};
use crate::domain::outcome::{Eligibility, deadline_missed, qualifying_deadline};
use crate::storage;
use almo_fields as fields;

impl InspectionScheduling {
    pub(super) async fn get_funding_eligibility(
        &self,
        request: Request<pb::GetFundingEligibilityRequest>,
    ) -> Result<pb::GetFundingEligibilityResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let almo_id = required("almo_id", &request.get_ref().almo_id)?;
        let almo = self.readable_almo(&p, almo_id).await?;
        let latest = storage::latest_outcome(self.ctx.db.conn(), &almo.id).await?;
        let mut eligibility = latest
            .as_ref()
            .and_then(eligibility_to_proto)
            .unwrap_or_else(|| pb::FundingEligibility {
                almo_id: almo.id.clone(),
                ..Default::default()
            });
        if let Some(consent) = almo.section27_consent_date {
            let deadline = qualifying_deadline(consent);
            let e = Eligibility {
                eligible: eligibility.eligible,
                effective_from: fields::date(&eligibility.effective_from_date).ok(),
                earliest_reinspection: None,
                support_framework: eligibility.support_framework,
            };
            eligibility.qualifying_deadline_date = deadline.to_string();
            eligibility.qualifying_deadline_missed =
                deadline_missed(deadline, &e, Utc::now().date_naive());
        }
        Ok(pb::GetFundingEligibilityResponse {
            eligibility: Some(eligibility),
        })
    }
}
