//! The stages of an inspection after booking (003 §113): on site, draft report, comments and
//! round table, publication, each recorded in order and never in the future.

use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::InspectionScheduling;
use super::access::require_inspectorate;
use super::write::{check_change, inspection_resource, record_stage};
use crate::domain::lifecycle::Stage;
use almo_fields as fields;

/// The stage a date is recorded for: the score letter comes with the outcome.
fn recordable_stage(v: &mut Violations, stage: i32) -> Option<Stage> {
    match pb::Stage::try_from(stage) {
        Ok(pb::Stage::OnSite) => Some(Stage::OnSite),
        Ok(pb::Stage::DraftReport) => Some(Stage::DraftReport),
        Ok(pb::Stage::CommentsAndRoundTable) => Some(Stage::CommentsAndRoundTable),
        Ok(pb::Stage::Published) => Some(Stage::Published),
        Ok(pb::Stage::ScoreLetter) => {
            v.add("stage", "the score letter is recorded with RecordOutcome");
            None
        }
        _ => {
            v.add(
                "stage",
                "STAGE_ON_SITE, STAGE_DRAFT_REPORT, STAGE_COMMENTS_AND_ROUND_TABLE or STAGE_PUBLISHED",
            );
            None
        }
    }
}

impl InspectionScheduling {
    pub(super) async fn record_stage_date(
        &self,
        request: Request<pb::RecordStageDateRequest>,
    ) -> Result<pb::RecordStageDateResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = check_change(&mut v, &r.inspection_id, &r.etag);
        let stage = recordable_stage(&mut v, r.stage);
        let date = v.field("actual_date", fields::date(&r.actual_date));
        v.into_result()?;
        let (stage, date) = (stage.expect("validated"), date.expect("validated"));
        require_inspectorate(&p, "record inspection stages")?;
        self.write(&p, "RecordStageDate", r, async |txn| {
            let recorded = (stage, date);
            let inspection = record_stage(txn, (id, &r.etag), recorded, |row| match stage {
                Stage::OnSite => row.on_site_actual = Some(date),
                Stage::DraftReport => row.draft_actual = Some(date),
                Stage::CommentsAndRoundTable => row.comments_actual = Some(date),
                Stage::Published => {
                    row.published_actual = Some(date);
                    // Published: the ALMO may be booked again (six months on, 003 §118).
                    row.open_almo_id = None;
                }
                Stage::Booked | Stage::ScoreLetter => unreachable!("refused above"),
            })
            .await?;
            let resource = inspection_resource(&r.inspection_id);
            let inspection = Some(inspection);
            Ok((pb::RecordStageDateResponse { inspection }, resource))
        })
        .await
    }
}
