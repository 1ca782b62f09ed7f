//! A return's life (DOMAIN.md §3): opened as a draft by the organisation's officer, submitted,
//! signed off by a second person or sent back for correction, revised after sign-off with a
//! reason; read by those who may.

use almo_auth::OrgKind;
use almo_db::Begun;
use std::collections::{BTreeMap, BTreeSet};

use almo_db::entity::{pi_return, pi_return_value};
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::PiReturns;
use super::access::require_officer;
use super::change::{Change, or_replay, target};
use super::convert::{
    parse_period, period_of, return_id_of, return_to_proto, status_of, survey_to_proto,
};
use super::part_year::{authority_figures, coverage_of, set_covers};
use crate::domain::catalogue;
use crate::domain::period::PeriodKind;
use crate::domain::survey::{self, Tenure};
use crate::domain::validation;
use crate::domain::workflow::{self, Status as ReturnStatus, WorkflowError};
use crate::storage;

impl PiReturns {
    pub(super) async fn create_return(
        &self,
        request: Request<pb::CreateReturnRequest>,
    ) -> Result<pb::CreateReturnResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let org_id = r.organisation_id.trim().to_string();
        v.check(org_id.is_empty(), "organisation_id", "required");
        let period = parse_period(&mut v, r.period.as_ref());
        v.into_result()?;
        let period = period.expect("checked above");
        let target_org = self.ctx.access.require_write(&p, &org_id).await?;
        require_officer(&p)?;
        if target_org.id != p.org.id {
            return Err(AppError::PermissionDenied(format!(
                "only {org_id}'s own officers open its returns"
            )));
        }
        if !matches!(target_org.kind, OrgKind::Council | OrgKind::Almo) {
            return Err(AppError::invalid(
                "organisation_id",
                "PI returns are made by councils and ALMOs",
            ));
        }
        let write = match self.begin(&p, "CreateReturn", &r.request_id, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        // A year or quarter starting after an ALMO's end is the council's to report.
        if let Some(org) = almo_db::entity::organisation::get(write.txn(), &org_id).await? {
            let what = format!("a return for {}", period.label());
            almo_server::almo_end::refuse_after_end(&org, period.start(), &what)?;
        }
        if let Some(existing) = storage::find_return(write.txn(), &org_id, &period).await? {
            return Err(AppError::AlreadyExists(format!(
                "{org_id} already has a return for {}: {}",
                period.label(),
                existing.id
            )));
        }
        let now = Utc::now();
        let row = pi_return::Model {
            id: return_id_of(&org_id, &period),
            organisation_id: org_id,
            year: period.year,
            period_kind: period.kind.as_str().into(),
            period_number: period.number,
            status: ReturnStatus::Draft.as_str().into(),
            deadline_date: period.deadline(),
            late: false,
            submitted_by: None,
            submitted_at: None,
            signed_off_by: None,
            signed_off_at: None,
            returned_reason: None,
            revision: 0,
            survey_sample_size: None,
            survey_method: None,
            created_by: p.caller.subject.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::insert_return(write.txn(), row.clone())
            .await
            .map_err(|e| match e.sql_err() {
                // Another replica opened the same return between our check and our insert.
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::AlreadyExists(format!(
                        "{} already has a return for {}",
                        row.organisation_id,
                        period.label()
                    ))
                }
                _ => AppError::from(e),
            })?;
        let target = target(&row.id);
        // In the period of an ALMO's end, the ALMO's return covers the days to its end and its
        // council's the days after.
        let covered = coverage_of(write.txn(), &row.organisation_id, &period).await?;
        let mut pr = return_to_proto(row, vec![], vec![]);
        set_covers(&mut pr, &covered.covers);
        let resp = pb::CreateReturnResponse {
            pi_return: Some(pr),
        };
        write.finish(&resp, &target).await?;
        Ok(resp)
    }

    pub(super) async fn get_return(
        &self,
        request: Request<pb::GetReturnRequest>,
    ) -> Result<pb::GetReturnResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        if r.return_id.trim().is_empty() {
            return Err(AppError::invalid("return_id", "required"));
        }
        let row = self.readable_return(&p, r.return_id.trim()).await?;
        let conn = self.ctx.db.conn();
        let values = storage::current_values(conn, std::slice::from_ref(&row.id), None).await?;
        let history = if r.include_history {
            storage::history(conn, &row.id)
                .await?
                .into_iter()
                .filter(|v| !v.current)
                .collect()
        } else {
            Vec::new()
        };
        let surveys = storage::surveys_of(conn, std::slice::from_ref(&row.id)).await?;
        let period = period_of(&row)?;
        let covered = coverage_of(conn, &row.organisation_id, &period).await?;
        // A council's return for the period of its ALMO's end holds its own part: the
        // authority's figures for the whole period are made from the parts.
        let authority = if !covered.ended.is_empty() && !covered.almos.is_empty() {
            let defs = self.catalogue().await?;
            Some(authority_figures(conn, &defs, &row, &period, &covered).await?)
        } else {
            None
        };
        let mut pr = return_to_proto(row, values, history);
        pr.surveys = surveys.iter().map(survey_to_proto).collect();
        set_covers(&mut pr, &covered.covers);
        if let Some((figures, not_combined)) = authority {
            pr.authority_figures = figures;
            pr.authority_not_combined = not_combined;
        }
        Ok(pb::GetReturnResponse {
            pi_return: Some(pr),
        })
    }

    pub(super) async fn submit_return(
        &self,
        request: Request<pb::SubmitReturnRequest>,
    ) -> Result<pb::SubmitReturnResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let current = &c.row;
        let period = period_of(current)?;
        let now = Utc::now();
        // The window opens when the days the return covers are over: for an ALMO's return for
        // the period of its end, the day after its end.
        let covered = coverage_of(c.write.txn(), &current.organisation_id, &period).await?;
        if now.date_naive() <= covered.covers.to {
            return Err(WorkflowError::WindowNotOpen {
                opens_after: covered.covers.to.to_string(),
            }
            .into());
        }
        let values =
            storage::current_values(c.write.txn(), std::slice::from_ref(&current.id), None).await?;
        let present = storage::codes_present(&values);
        let required = catalogue::all_in_force(&c.defs, period.year)
            .into_iter()
            .filter(|d| d.reported_in(period.kind == PeriodKind::Quarter));
        let next = workflow::submit(status_of(&current.status)?, required, &present)?;
        let unexplained: Vec<String> = present
            .iter()
            .filter_map(|code| {
                let def = catalogue::in_force(&c.defs, code, period.year)?;
                let given: Vec<(&str, &str)> = values
                    .iter()
                    .filter(|v| &v.indicator_code == code)
                    .map(|v| (v.split.as_str(), v.explanation.as_str()))
                    .collect();
                validation::unexplained_missing_splits(def, &given)
            })
            .collect();
        if !unexplained.is_empty() {
            return Err(AppError::failed_precondition(
                "MISSING_SPLITS_UNEXPLAINED",
                unexplained.join("; "),
            ));
        }
        check_surveys(&c, &values, period.year).await?;
        let mut row = current.clone();
        row.status = next.as_str().into();
        // Lateness is that of the first submission: a correction asked for by the certifier
        // does not make an on-time return late.
        // Landlords too small to submit (the TSMs: fewer than 1,000 homes) publish and are never
        // chased, so never late either.
        if current.submitted_at.is_none() {
            let homes = storage::stock_size(c.write.txn(), &current.organisation_id).await?;
            let owes = catalogue::must_submit(
                &c.defs,
                period.year,
                period.kind == PeriodKind::Quarter,
                homes,
            );
            row.late = owes && period.late_on(now.date_naive());
        }
        row.submitted_by = Some(c.p.caller.subject.clone());
        row.submitted_at = Some(now);
        self.finish_change(c.write, row, now, |pr| pb::SubmitReturnResponse {
            pi_return: Some(pr),
        })
        .await
    }

    pub(super) async fn sign_off_return(
        &self,
        request: Request<pb::SignOffReturnRequest>,
    ) -> Result<pb::SignOffReturnResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let next = c.certified(workflow::sign_off)?;
        let mut row = c.row;
        let now = Utc::now();
        row.status = next.as_str().into();
        row.signed_off_by = Some(c.p.caller.subject.clone());
        row.signed_off_at = Some(now);
        almo_telemetry::metrics::returns_signed_off(1);
        self.finish_change(c.write, row, now, |pr| pb::SignOffReturnResponse {
            pi_return: Some(pr),
        })
        .await
    }

    pub(super) async fn return_for_correction(
        &self,
        request: Request<pb::ReturnForCorrectionRequest>,
    ) -> Result<pb::ReturnForCorrectionResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let next = c.certified(workflow::return_for_correction)?;
        let mut row = c.row;
        row.status = next.as_str().into();
        row.returned_reason = Some(request.get_ref().reason.trim().to_string());
        self.finish_change(c.write, row, Utc::now(), |pr| {
            pb::ReturnForCorrectionResponse {
                pi_return: Some(pr),
            }
        })
        .await
    }

    pub(super) async fn revise_return(
        &self,
        request: Request<pb::ReviseReturnRequest>,
    ) -> Result<pb::ReviseReturnResponse, AppError> {
        let c = or_replay!(self.begin_change(&request).await?);
        let r = request.get_ref();
        let mut row = c.row;
        let next = workflow::revise(status_of(&row.status)?)?;
        let values = self
            .validate_values(c.write.txn(), &c.defs, &row, &r.values, false)
            .await?;
        let now = Utc::now();
        storage::append_values(
            c.write.txn(),
            &row.id,
            values,
            &c.p.caller.subject,
            r.reason.trim(),
            now,
        )
        .await?;
        row.status = next.as_str().into();
        row.revision += 1;
        // The reviser is the submitter of the corrected return: someone else certifies it.
        row.submitted_by = Some(c.p.caller.subject.clone());
        row.submitted_at = Some(now);
        row.signed_off_by = None;
        row.signed_off_at = None;
        self.finish_change(c.write, row, now, |pr| pb::ReviseReturnResponse {
            pi_return: Some(pr),
        })
        .await
    }
}

/// Perception measures come from a tenant survey of their tenure (the `lcho` figures from the
/// low-cost home ownership survey, the others from the low-cost rental one), described with the
/// return, whose precision reaches the band of its relevant homes (domain/survey.rs).
async fn check_surveys(
    c: &Change,
    values: &[pi_return_value::Model],
    year: i32,
) -> Result<(), AppError> {
    let mut by_tenure: BTreeMap<Tenure, BTreeSet<&str>> = BTreeMap::new();
    for v in values {
        if catalogue::in_force(&c.defs, &v.indicator_code, year)
            .is_some_and(|d| d.from_tenant_survey)
        {
            by_tenure
                .entry(Tenure::of_split(&v.split))
                .or_default()
                .insert(v.indicator_code.as_str());
        }
    }
    if by_tenure.is_empty() {
        return Ok(());
    }
    let surveys = storage::surveys_of(c.write.txn(), std::slice::from_ref(&c.row.id)).await?;
    let mut shortfalls = Vec::new();
    for (tenure, codes) in &by_tenure {
        let codes = codes.iter().copied().collect::<Vec<_>>().join(", ");
        let survey = surveys.iter().find(|s| s.tenure == tenure.as_str());
        let Some(homes) = survey.and_then(|s| s.relevant_homes) else {
            return Err(AppError::failed_precondition(
                "SURVEY_NOT_DESCRIBED",
                format!(
                    "{codes} ({}) come from a tenant survey: give its relevant homes, responses \
                     and method (SetValues surveys) before submitting",
                    tenure.label()
                ),
            ));
        };
        let survey = survey.expect("found above");
        let sample = survey::Sample {
            relevant_homes: homes.max(0) as u32,
            responses: survey.responses.max(0) as u32,
        };
        if let Err(short) = survey::check(*tenure, sample) {
            shortfalls.push(format!("{codes}: {short}"));
        }
    }
    if shortfalls.is_empty() {
        Ok(())
    } else {
        Err(AppError::failed_precondition(
            "SURVEY_PRECISION_NOT_MET",
            format!(
                "perception measures cannot be submitted from a survey short of its precision \
                 (RSH tenant survey requirements): {}",
                shortfalls.join("; ")
            ),
        ))
    }
}
