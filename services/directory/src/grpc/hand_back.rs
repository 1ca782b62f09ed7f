//! The road to taking an ALMO's management back (seed 002): RecordOptionsReview, and the proto
//! form of the road.

use almo_auth::{OrgKind, Role};
use almo_db::entity::organisation;
use almo_db::{Begun, lifecycle};
use almo_proto::directory::{self as pb, RecordOptionsReviewRequest, RecordOptionsReviewResponse};
use almo_server::{AppError, Principal, Violations, etag};
use chrono::{NaiveDate, Utc};
use serde_json::json;
use tonic::Request;

use super::convert::organisation_to_proto;
use super::{Directory, SERVICE_NAME};
use crate::domain::hand_back::{
    Decision, Opinion, OpinionMethod, Refusal, Review, may_start_after,
};
use crate::storage;
use crate::storage_reviews::{self as reviews, HandBack};

fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(super) fn method_to_proto(m: Option<OpinionMethod>) -> pb::OpinionMethod {
    match m {
        Some(OpinionMethod::Ballot) => pb::OpinionMethod::Ballot,
        Some(OpinionMethod::FullSurvey) => pb::OpinionMethod::FullSurvey,
        Some(OpinionMethod::Other) => pb::OpinionMethod::Other,
        None => pb::OpinionMethod::Unspecified,
    }
}

/// The method a request names; `Ok(None)` for unspecified.
pub(super) fn method_from_proto(m: i32) -> Result<Option<OpinionMethod>, String> {
    match pb::OpinionMethod::try_from(m) {
        Ok(pb::OpinionMethod::Unspecified) => Ok(None),
        Ok(pb::OpinionMethod::Ballot) => Ok(Some(OpinionMethod::Ballot)),
        Ok(pb::OpinionMethod::FullSurvey) => Ok(Some(OpinionMethod::FullSurvey)),
        Ok(pb::OpinionMethod::Other) => Ok(Some(OpinionMethod::Other)),
        Err(_) => Err(format!("{m} is not an OpinionMethod")),
    }
}

pub(super) fn review_to_proto(r: &Review) -> pb::OptionsReview {
    pb::OptionsReview {
        review_no: r.review_no,
        started_date: r.started.to_string(),
        department_notified_date: date_str(r.department_notified),
        opinion: r.opinion.as_ref().map(|o| pb::OpinionTest {
            method: method_to_proto(Some(o.method)) as i32,
            note: o.note.clone(),
            opened_date: o.opened.to_string(),
            closed_date: o.closed.to_string(),
            eligible: o.eligible,
            responses: o.responses,
            in_favour: o.in_favour,
            turnout_permille: o.turnout_permille() as i32,
        }),
        decision: match r.decision.map(|(d, _)| d) {
            Some(Decision::TakeBack) => pb::HandBackDecision::TakeBack,
            Some(Decision::Retain) => pb::HandBackDecision::Retain,
            None => pb::HandBackDecision::Unspecified,
        } as i32,
        decision_date: date_str(r.decision.map(|(_, on)| on)),
    }
}

/// `org` with its road to a hand-back filled in (ALMOs only).
pub(super) fn with_hand_back(mut org: pb::Organisation, h: Option<&HandBack>) -> pb::Organisation {
    if let (Some(pb::organisation::Details::Almo(a)), Some(h)) = (org.details.as_mut(), h) {
        a.transfer_opinion_method = method_to_proto(h.transfer) as i32;
        a.latest_review = h.latest.as_ref().map(|r| Box::new(review_to_proto(r)));
    }
    org
}

/// A refusal of the road's rules as the error a client gets: every bad field at once, else the
/// first unmet precondition.
pub(super) fn refuse(refusals: Vec<Refusal>) -> Result<(), AppError> {
    let mut v = Violations::new();
    let mut precondition = None;
    for r in refusals {
        match r {
            Refusal::Field(f, reason) => v.add(f, reason),
            Refusal::Precondition(code, msg) => {
                precondition.get_or_insert(AppError::failed_precondition(code, msg));
            }
        }
    }
    v.into_result()?;
    precondition.map_or(Ok(()), Err)
}

/// The council decides its ALMO's life; the ALMO itself does not.
pub(super) async fn require_council_of(
    d: &Directory,
    p: &Principal,
    almo_id: &str,
) -> Result<(), AppError> {
    let target = d.ctx.access.require_write(p, almo_id).await?;
    if target.kind != OrgKind::Almo {
        return Err(AppError::invalid(
            "almo_id",
            format!("{almo_id} is not an ALMO"),
        ));
    }
    if !(p.is_operator() || p.caller.role == Role::CouncilOfficer) {
        return Err(AppError::PermissionDenied(
            "only the parent council's officers or the operator record an ALMO's lifecycle".into(),
        ));
    }
    Ok(())
}

fn opinion_from(v: &mut Violations, o: &pb::OpinionTest) -> Option<Opinion> {
    let method = match v.field("opinion.method", method_from_proto(o.method)) {
        Some(None) => {
            v.add("opinion.method", "required: ballot, full survey or other");
            None
        }
        m => m.flatten(),
    };
    let opened = v.field("opinion.opened_date", almo_fields::date(&o.opened_date));
    let closed = v.field("opinion.closed_date", almo_fields::date(&o.closed_date));
    Some(Opinion {
        method: method?,
        note: o.note.trim().to_string(),
        opened: opened?,
        closed: closed?,
        eligible: o.eligible,
        responses: o.responses,
        in_favour: o.in_favour,
    })
}

/// Bumps the ALMO's version (its etag covers its road) inside the write; false if someone else
/// changed it first.
pub(super) async fn touch(
    conn: &impl sea_orm::ConnectionTrait,
    current: &organisation::Model,
) -> Result<Option<organisation::Model>, AppError> {
    let mut row = current.clone();
    row.version = current.version + 1;
    row.updated_at = Utc::now();
    Ok(
        storage::update_if_version(conn, row.clone(), current.version)
            .await?
            .then_some(row),
    )
}

impl Directory {
    pub(super) async fn record_options_review(
        &self,
        request: Request<RecordOptionsReviewRequest>,
    ) -> Result<RecordOptionsReviewResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.field("almo_id", almo_fields::id(&r.almo_id));
        v.require_etag(&r.etag, "the etag of the ALMO as last read");
        let start = v
            .field("start_date", almo_fields::optional_date(&r.start_date))
            .flatten();
        let notified = r
            .department_notified_date
            .as_deref()
            .and_then(|s| v.field("department_notified_date", almo_fields::date(s)));
        let opinion = r.opinion.as_ref().and_then(|o| opinion_from(&mut v, o));
        let decision = match pb::HandBackDecision::try_from(r.decision) {
            Ok(pb::HandBackDecision::Unspecified) => None,
            Ok(pb::HandBackDecision::TakeBack) => Some(Decision::TakeBack),
            Ok(pb::HandBackDecision::Retain) => Some(Decision::Retain),
            Err(_) => {
                v.add(
                    "decision",
                    format!("{} is not a HandBackDecision", r.decision),
                );
                None
            }
        };
        let decided_on = v
            .field(
                "decision_date",
                almo_fields::optional_date(&r.decision_date),
            )
            .flatten();
        v.check(
            decision.is_some() != decided_on.is_some()
                && pb::HandBackDecision::try_from(r.decision).is_ok(),
            if decision.is_some() {
                "decision_date"
            } else {
                "decision"
            },
            "a decision and its date are recorded together",
        );
        v.into_result()?;
        require_council_of(self, &p, &r.almo_id).await?;
        let ctx = p.call_context(SERVICE_NAME, "RecordOptionsReview", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        let resource = format!("organisations/{}", r.almo_id);
        let current = storage::get(write.txn(), &r.almo_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("ALMO {}", r.almo_id)))?;
        if etag(current.version) != r.etag.trim() {
            return Err(AppError::stale_etag(&resource));
        }
        let road = reviews::hand_back(write.txn(), &r.almo_id).await?;
        let (mut review, new) = match (start, road.latest.clone()) {
            (Some(started), last) => {
                refuse(may_start_after(last.as_ref()).err().into_iter().collect())?;
                let no = last.map_or(1, |l| l.review_no + 1);
                let review = Review {
                    review_no: no,
                    started,
                    department_notified: None,
                    opinion: None,
                    decision: None,
                };
                (review, true)
            }
            (None, Some(last)) if last.decision.is_none() => (last, false),
            (None, Some(last)) => {
                return Err(AppError::failed_precondition(
                    "REVIEW_DECIDED",
                    format!(
                        "options review {} of {} is decided; a decided review is not changed \
                         (start_date starts another after a decision to retain)",
                        last.review_no, r.almo_id
                    ),
                ));
            }
            (None, None) => {
                return Err(AppError::failed_precondition(
                    "NO_OPEN_REVIEW",
                    format!(
                        "{} has no options review; give start_date to start one",
                        r.almo_id
                    ),
                ));
            }
        };
        let before = review.clone();
        if notified.is_some() {
            review.department_notified = notified;
        }
        if opinion.is_some() {
            review.opinion = opinion;
        }
        if let (Some(d), Some(on)) = (decision, decided_on) {
            review.decision = Some((d, on));
        }
        refuse(review.violations(road.transfer))?;
        reviews::save_review(write.txn(), &r.almo_id, &review, new).await?;
        let row = touch(write.txn(), &current)
            .await?
            .ok_or_else(|| AppError::stale_etag(&resource))?;
        let council = current.council_id.as_deref();
        let no = review.review_no;
        let mut events = Vec::new();
        if new {
            events.push((
                lifecycle::kind::OPTIONS_REVIEW_STARTED,
                json!({"review_no": no, "started_date": review.started.to_string()}),
            ));
        }
        if review.department_notified != before.department_notified {
            events.push((
                lifecycle::kind::DEPARTMENT_NOTIFIED,
                json!({"review_no": no, "notified_date": date_str(review.department_notified)}),
            ));
        }
        if let Some(o) = review
            .opinion
            .as_ref()
            .filter(|_| review.opinion != before.opinion)
        {
            events.push((
                lifecycle::kind::OPINION_TESTED,
                json!({
                    "review_no": no,
                    "method": o.method.as_str(),
                    "opened_date": o.opened.to_string(),
                    "closed_date": o.closed.to_string(),
                    "eligible": o.eligible,
                    "responses": o.responses,
                    "in_favour": o.in_favour,
                }),
            ));
        }
        if let Some((d, on)) = review
            .decision
            .filter(|_| review.decision != before.decision)
        {
            events.push((
                lifecycle::kind::DECISION_RECORDED,
                json!({"review_no": no, "decision": d.as_str(), "decision_date": on.to_string()}),
            ));
        }
        for (kind, payload) in events {
            lifecycle::append(write.txn(), &r.almo_id, council, kind, &payload).await?;
        }
        let hand_back = HandBack {
            transfer: road.transfer,
            latest: Some(review.clone()),
        };
        let org = organisation_to_proto(row, vec![], Utc::now().date_naive());
        let resp = RecordOptionsReviewResponse {
            organisation: Some(with_hand_back(org, Some(&hand_back))),
            review: Some(review_to_proto(&review)),
        };
        write.finish(&resp, &resource).await?;
        Ok(resp)
    }
}
