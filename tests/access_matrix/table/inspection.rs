//! Inspection scheduling: one row per RPC (see the module documentation of `access_matrix.rs`).

use almo_proto::common::{Period, PeriodKind};
use almo_proto::inspection as insp;

use crate::harness::{Row, row};
use crate::world::*;

pub fn rows() -> Vec<Row> {
    vec![
        row!(
            "InspectionSchedulingService/DeclareReadiness",
            "* pd/pd/pd  AO ab/pd/pd",
            |c, s| c.insp.declare_readiness(insp::DeclareReadinessRequest {
                request_id: rid(),
                almo_id: s.almo,
                funding_round: "Round 3".into(),
                etag: STALE.into(),
                ..Default::default()
            })
        ),
        row!(
            "InspectionSchedulingService/GetReadiness",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .insp
                .get_readiness(insp::GetReadinessRequest { almo_id: s.almo })
        ),
        row!(
            "InspectionSchedulingService/CreateInspector",
            "* pd/-/-  IN ok/-/-",
            |c, _s| c.insp.create_inspector(insp::CreateInspectorRequest {
                request_id: rid(),
                inspector_id: format!("INSP-MATRIX-{}", rid_n()),
                name: "Matrix Inspector".into(),
                role: insp::InspectorRole::Inspector as i32,
                region: "London".into(),
                tenant_of_organisation_id: String::new(),
            })
        ),
        row!(
            "InspectionSchedulingService/RecordUnavailability",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c
                .insp
                .record_unavailability(insp::RecordUnavailabilityRequest {
                    request_id: rid(),
                    inspector_id: s.inspector,
                    unavailability: Some(insp::Unavailability {
                        start_date: "2031-01-06".into(),
                        end_date: "2031-01-10".into(),
                        reason: "leave".into(),
                    }),
                    etag: STALE.into(),
                })
        ),
        row!(
            "InspectionSchedulingService/ListInspectors",
            "* pd/-/-  IN ok/-/-  AD ok/-/-",
            |c, _s| c
                .insp
                .list_inspectors(insp::ListInspectorsRequest::default())
        ),
        row!(
            "InspectionSchedulingService/FindSlots",
            "* pd/pd/pd  IN ok/ok/nf",
            |c, s| c.insp.find_slots(insp::FindSlotsRequest {
                almo_id: s.almo,
                window_start_date: "2031-01-06".into(),
                window_end_date: "2031-03-31".into(),
                max_slots: 1,
            })
        ),
        row!(
            "InspectionSchedulingService/ProposeProgramme",
            "* pd/pd/pd  IN ok/ok/ia",
            |c, s| c.insp.propose_programme(insp::ProposeProgrammeRequest {
                quarter: Some(Period {
                    year: fy(2030),
                    kind: PeriodKind::Quarter as i32,
                    number: 4,
                }),
                almo_ids: vec![s.almo],
                seed: 1,
                max_steps: 10,
                ..Default::default()
            })
        ),
        row!(
            "InspectionSchedulingService/ExportCalendar",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.insp.export_calendar(insp::ExportCalendarRequest {
                owner: Some(insp::export_calendar_request::Owner::AlmoId(s.almo)),
            })
        ),
        row!(
            "InspectionSchedulingService/BookInspection",
            "* pd/pd/pd  IN fp/fp/nf",
            |c, s| c.insp.book_inspection(insp::BookInspectionRequest {
                request_id: rid(),
                almo_id: s.almo,
                on_site_start_date: "2031-01-06".into(),
                // A lead alone: refused after the caller is let in.
                team_inspector_ids: vec!["LEAD-HUGHES".into()],
                span_weeks: 0,
            })
        ),
        row!(
            "InspectionSchedulingService/ReplaceTeamMember",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c.insp.replace_team_member(insp::ReplaceTeamMemberRequest {
                request_id: rid(),
                inspection_id: s.inspection,
                leaving_inspector_id: "LEAD-HUGHES".into(),
                joining_inspector_id: "LEAD-OKAFOR".into(),
                etag: STALE.into(),
            })
        ),
        row!(
            "InspectionSchedulingService/MoveInspection",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c.insp.move_inspection(insp::MoveInspectionRequest {
                request_id: rid(),
                inspection_id: s.inspection,
                on_site_start_date: "2031-01-06".into(),
                team_inspector_ids: vec![],
                etag: STALE.into(),
            })
        ),
        row!(
            "InspectionSchedulingService/CancelInspection",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c.insp.cancel_inspection(insp::CancelInspectionRequest {
                request_id: rid(),
                inspection_id: s.inspection,
                etag: STALE.into(),
                reason: "checked against the source figures".into(),
            })
        ),
        row!(
            "InspectionSchedulingService/RecordStageDate",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c.insp.record_stage_date(insp::RecordStageDateRequest {
                request_id: rid(),
                inspection_id: s.inspection,
                stage: insp::Stage::DraftReport as i32,
                actual_date: "2008-12-08".into(),
                etag: STALE.into(),
            })
        ),
        row!(
            "InspectionSchedulingService/RecordOutcome",
            "* pd/pd/pd  IN ab/ab/nf",
            |c, s| c.insp.record_outcome(insp::RecordOutcomeRequest {
                request_id: rid(),
                inspection_id: s.inspection,
                stars: 2,
                prospects: insp::Prospects::Promising as i32,
                score_letter_date: "2009-01-05".into(),
                etag: STALE.into(),
            })
        ),
        row!(
            "InspectionSchedulingService/GetInspection",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.insp.get_inspection(insp::GetInspectionRequest {
                inspection_id: s.inspection
            })
        ),
        row!(
            "InspectionSchedulingService/ListInspections",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c.insp.list_inspections(insp::ListInspectionsRequest {
                almo_id: s.almo,
                ..Default::default()
            })
        ),
        row!(
            "InspectionSchedulingService/GetFundingEligibility",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .insp
                .get_funding_eligibility(insp::GetFundingEligibilityRequest { almo_id: s.almo })
        ),
    ]
}
