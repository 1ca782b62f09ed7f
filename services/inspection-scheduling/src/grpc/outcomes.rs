//! An inspection's outcome: stars, prospects for improvement and the date of the score letter
//! (003 §116), which decide Decent Homes funding.

use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::InspectionScheduling;
use super::access::require_inspectorate;
use super::convert::prospects_from_proto;
use super::write::{check_change, inspection_resource, record_stage};
use crate::domain::lifecycle::Stage;
use almo_fields as fields;

impl InspectionScheduling {
    pub(super) async fn record_outcome(
        &self,
        request: Request<pb::RecordOutcomeRequest>,
    ) -> Result<pb::RecordOutcomeResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = check_change(&mut v, &r.inspection_id, &r.etag);
        v.check(
            !(0..=3).contains(&r.stars),
            "stars",
            "0 (poor) to 3 (excellent)",
        );
        let prospects = prospects_from_proto(r.prospects);
        v.check(
            prospects.is_none(),
            "prospects",
            "required: poor, uncertain, promising or excellent",
        );
        let letter = v.field("score_letter_date", fields::date(&r.score_letter_date));
        v.into_result()?;
        let (prospects, letter) = (prospects.expect("validated"), letter.expect("validated"));
        require_inspectorate(&p, "record inspection outcomes")?;
        self.write(&p, "RecordOutcome", r, async |txn| {
            let recorded = (Stage::ScoreLetter, letter);
            let inspection = record_stage(txn, (id, &r.etag), recorded, |row| {
                row.stars = Some(r.stars);
                row.prospects = Some(prospects.as_str().into());
                row.score_letter_actual = Some(letter);
            })
            .await?;
            let resource = inspection_resource(&r.inspection_id);
            let inspection = Some(inspection);
            Ok((pb::RecordOutcomeResponse { inspection }, resource))
        })
        .await
    }
}
