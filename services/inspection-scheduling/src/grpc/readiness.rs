//! An ALMO's readiness for inspection (003 §109): Best Value reviews, blackouts, board meetings
//! and when it needs the funding decision. The ALMO declares it; those who may see the ALMO read it.

use almo_auth::{OrgKind, Role};
use almo_db::entity::insp_readiness;
use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use chrono::{NaiveDate, Utc};
use tonic::Request;

use super::access::almo_row;
use super::convert::{bv_from_proto, readiness_to_proto};
use super::write::{check_etag, updated};
use super::{InspectionScheduling, required};
use crate::storage;
use almo_fields as fields;

/// A declaration's fields, checked.
struct Declaration {
    almo_id: String,
    reviews: [Option<NaiveDate>; 4],
    blackouts: Vec<(String, NaiveDate, NaiveDate)>,
    meetings: Vec<NaiveDate>,
    needed_by: Option<NaiveDate>,
}

fn declaration(r: &pb::DeclareReadinessRequest) -> Result<Declaration, AppError> {
    let almo_id = r.almo_id.trim().to_string();
    let mut v = Violations::new();
    v.check(almo_id.is_empty(), "almo_id", "required");
    let mut reviews: [Option<NaiveDate>; 4] = [None; 4];
    for (i, b) in r.best_value_reviews.iter().enumerate() {
        let field = format!("best_value_reviews[{i}]");
        match bv_from_proto(b.service) {
            None => v.add(
                format!("{field}.service"),
                "one of the four key services (003 §109)",
            ),
            Some(s) if reviews[s.index()].is_some() => v.add(
                format!("{field}.service"),
                format!("{} is listed twice", s.label()),
            ),
            Some(s) => {
                reviews[s.index()] = v.field(
                    &format!("{field}.completion_date"),
                    fields::date(&b.completion_date),
                );
            }
        }
    }
    let mut blackouts = Vec::new();
    for (i, b) in r.blackouts.iter().enumerate() {
        let field = format!("blackouts[{i}]");
        let label = b.label.trim();
        v.check(
            label.is_empty() || label.chars().count() > 100,
            &format!("{field}.label"),
            "required, at most 100 characters: what it is, e.g. \"internal audit\"",
        );
        let s = v.field(&format!("{field}.start_date"), fields::date(&b.start_date));
        let e = v.field(&format!("{field}.end_date"), fields::date(&b.end_date));
        if let (Some(s), Some(e)) = (s, e) {
            if e < s {
                v.add(format!("{field}.end_date"), "before start_date");
            } else {
                blackouts.push((label.to_string(), s, e));
            }
        }
    }
    let mut meetings = Vec::new();
    for (i, m) in r.board_meeting_dates.iter().enumerate() {
        let field = format!("board_meeting_dates[{i}]");
        if let Some(d) = v.field(&field, fields::date(m)) {
            if meetings.contains(&d) {
                v.add(field, "listed twice");
            } else {
                meetings.push(d);
            }
        }
    }
    v.check(
        r.funding_round.chars().count() > 50,
        "funding_round",
        "at most 50 characters",
    );
    let needed_by = v.field(
        "funding_needed_by_date",
        fields::optional_date(&r.funding_needed_by_date),
    );
    v.check(
        r.blackouts.len() > 100 || r.board_meeting_dates.len() > 100,
        "blackouts",
        "at most 100 blackouts and 100 board meetings",
    );
    v.into_result()?;
    Ok(Declaration {
        almo_id,
        reviews,
        blackouts,
        meetings,
        needed_by: needed_by.flatten(),
    })
}

impl InspectionScheduling {
    pub(super) async fn declare_readiness(
        &self,
        request: Request<pb::DeclareReadinessRequest>,
    ) -> Result<pb::DeclareReadinessResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let d = declaration(r)?;
        let almo_id = d.almo_id.as_str();
        // The ALMO declares its own readiness (000 §9.1: it tells the inspectors).
        if !(p.org.kind == OrgKind::Almo
            && p.org.id == almo_id
            && p.caller.role == Role::AlmoOfficer)
        {
            return Err(AppError::PermissionDenied(format!(
                "only {almo_id}'s own officers declare its readiness; {} ({}) may not",
                p.org.id, p.caller.role
            )));
        }
        self.write(&p, "DeclareReadiness", r, async |txn| {
            let almo = almo_row(txn, almo_id).await?;
            // An ended ALMO has no inspection to get ready for.
            let today = Utc::now().date_naive();
            almo_server::almo_end::refuse_after_end(&almo, today, "a readiness declaration")?;
            let current = storage::readiness(txn, almo_id).await?;
            let expected = current.row.as_ref().map(|c| c.version);
            let resource = format!("readiness/{almo_id}");
            check_etag(&r.etag, expected, &resource)?;
            let row = insp_readiness::Model {
                almo_id: almo_id.to_string(),
                bv_repairs_date: d.reviews[0],
                bv_capital_date: d.reviews[1],
                bv_rent_date: d.reviews[2],
                bv_estate_date: d.reviews[3],
                funding_round: r.funding_round.trim().to_string(),
                funding_needed_by_date: d.needed_by,
                version: expected.unwrap_or(0) + 1,
                updated_at: Utc::now(),
            };
            let done =
                storage::replace_readiness(txn, row, expected, &d.blackouts, &d.meetings).await?;
            updated(done, &resource)?;
            let stored = storage::readiness(txn, almo_id).await?;
            let readiness = Some(readiness_to_proto(&almo, &stored));
            Ok((pb::DeclareReadinessResponse { readiness }, resource))
        })
        .await
    }

    pub(super) async fn get_readiness(
        &self,
        request: Request<pb::GetReadinessRequest>,
    ) -> Result<pb::GetReadinessResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let almo_id = required("almo_id", &request.get_ref().almo_id)?;
        let almo = self.readable_almo(&p, almo_id).await?;
        let stored = storage::readiness(self.ctx.db.conn(), almo_id).await?;
        Ok(pb::GetReadinessResponse {
            readiness: Some(readiness_to_proto(&almo, &stored)),
        })
    }
}
