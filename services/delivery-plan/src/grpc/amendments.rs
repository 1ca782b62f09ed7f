//! Amendments, made only by joint agreement: ProposeAmendment, then AgreeAmendment,
//! RejectAmendment or WithdrawAmendment; ListAmendments; and ReprofileCapital, the one change
//! either party makes alone (moving a year's capital between categories).

use almo_db::PendingWrite;
use almo_db::entity::{dp_amendment, dp_plan, dp_plan_version};
use almo_fields as fields;
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::DeliveryPlans;
use super::access::party_of;
use super::convert::{
    amendment_to_proto, capital_category, checked_content, decode_content, encode_content,
    plan_to_proto, span_of, year_of,
};
use super::write::{amendment_etag, check_etag, latest_for_change, new_id, plan_resource};
use crate::domain::amendment::{self, AmendmentState, Answer, AnswerRefusal, Party};
use crate::storage;

fn answer_refusal(e: AnswerRefusal) -> AppError {
    match e {
        AnswerRefusal::NotPending(_) => {
            AppError::failed_precondition("AMENDMENT_NOT_PENDING", e.to_string())
        }
        AnswerRefusal::OnlyTheOtherParty(_) | AnswerRefusal::OnlyTheProposer(_) => {
            AppError::PermissionDenied(e.to_string())
        }
    }
}

/// What a change to the plan sends: the plan's etag as read and a reason (returned trimmed).
fn check_change<'a>(v: &mut Violations, etag: &str, reason: &'a str) -> &'a str {
    v.require_etag(etag, "the plan's etag as last read");
    let reason = reason.trim();
    v.check(
        reason.is_empty() || reason.chars().count() > 2000,
        "reason",
        "required, at most 2000 characters",
    );
    reason
}

/// What AgreeAmendment, RejectAmendment and WithdrawAmendment share: they differ only in the
/// answer they give and the reply they make.
pub(super) trait AmendmentDecision: prost::Message + Sized {
    type Reply: prost::Message + Default;
    const METHOD: &'static str;
    const ANSWER: Answer;
    /// request_id, amendment_id, etag, note.
    fn fields(&self) -> [&str; 4];
    fn reply(amendment: pb::Amendment, plan: Option<pb::Plan>) -> Self::Reply;
}

macro_rules! amendment_decision {
    ($request:ty => $reply_type:ty, $method:literal, $answer:expr, |$a:ident, $p:pat_param| $reply:expr) => {
        impl AmendmentDecision for $request {
            type Reply = $reply_type;
            const METHOD: &'static str = $method;
            const ANSWER: Answer = $answer;
            fn fields(&self) -> [&str; 4] {
                [&self.request_id, &self.amendment_id, &self.etag, &self.note]
            }
            fn reply($a: pb::Amendment, $p: Option<pb::Plan>) -> $reply_type {
                $reply
            }
        }
    };
}

amendment_decision!(
    pb::AgreeAmendmentRequest => pb::AgreeAmendmentResponse,
    "AgreeAmendment",
    Answer::Agree,
    |amendment, plan| pb::AgreeAmendmentResponse {
        amendment: Some(amendment),
        plan,
    }
);
amendment_decision!(
    pb::RejectAmendmentRequest => pb::RejectAmendmentResponse,
    "RejectAmendment",
    Answer::Reject,
    |amendment, _plan| pb::RejectAmendmentResponse {
        amendment: Some(amendment),
    }
);
amendment_decision!(
    pb::WithdrawAmendmentRequest => pb::WithdrawAmendmentResponse,
    "WithdrawAmendment",
    Answer::Withdraw,
    |amendment, _plan| pb::WithdrawAmendmentResponse {
        amendment: Some(amendment),
    }
);

impl DeliveryPlans {
    pub(super) async fn propose_amendment(
        &self,
        request: Request<pb::ProposeAmendmentRequest>,
    ) -> Result<pb::ProposeAmendmentResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let reason = check_change(&mut v, &r.etag, &r.reason);
        let effective = v.field("effective_date", fields::date(&r.effective_date));
        v.check(r.plan_id.trim().is_empty(), "plan_id", "required");
        let plan = if r.plan_id.trim().is_empty() {
            None
        } else {
            Some(self.visible_plan(&p, &r.plan_id).await?)
        };
        let catalogue = self.pi_catalogue(r.content.as_ref()).await?;
        let content = checked_content(
            &mut v,
            "content",
            r.content.as_ref(),
            plan.as_ref().map(span_of),
            &catalogue,
        );
        v.into_result()?;
        let (Some(plan), Some(effective), Some(content)) = (plan, effective, content) else {
            unreachable!("violations were reported above")
        };
        self.write_once(&p, "ProposeAmendment", &r.request_id, r, async |write| {
            let party = party_of(&p, &plan)?;
            let txn = write.txn();
            let (plan, latest) = latest_for_change(txn, &plan, &r.etag).await?;
            // A closed plan (its ALMO ended) takes no more amendments.
            if let Some(c) = crate::lifecycle::closure_of(txn, &plan.id).await? {
                let why = format!("plan {} closed on {}: {}", plan.id, c.closed_on, c.reason);
                return Err(AppError::failed_precondition("PLAN_CLOSED", why));
            }
            if let Some(reason) = crate::domain::plan::effective_date_violation(
                effective,
                latest.effective_date,
                span_of(&plan),
            ) {
                return Err(AppError::invalid("effective_date", reason));
            }
            let now = Utc::now();
            let a = dp_amendment::Model {
                id: new_id("AMD", now),
                plan_id: plan.id.clone(),
                base_version: latest.version,
                proposed_by: party.as_str().into(),
                proposer_organisation_id: p.org.id.clone(),
                reason: reason.to_string(),
                effective_date: effective,
                content: encode_content(&content),
                state: AmendmentState::Proposed.as_str().into(),
                decided_by_organisation_id: None,
                decision_note: String::new(),
                resulting_version: None,
                row_version: 1,
                created_at: now,
                updated_at: now,
            };
            let summary = format!("{party} proposes, from {effective}: {reason}");
            let event = storage::event(&plan.id, "amendment_proposed", &a.id, summary, now);
            storage::insert_events(txn, vec![event]).await?;
            storage::insert_amendment(txn, a.clone()).await?;
            let resp = pb::ProposeAmendmentResponse {
                amendment: Some(amendment_to_proto(&a)?),
            };
            Ok((resp, format!("amendments/{}", a.id)))
        })
        .await
    }

    /// Agrees, rejects or withdraws an amendment for the caller's party. Agreement makes the
    /// amendment's content the plan's next version, provided the plan has not moved on since
    /// the amendment was proposed.
    pub(super) async fn decide_amendment<D: AmendmentDecision>(
        &self,
        request: Request<D>,
    ) -> Result<D::Reply, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let [request_id, amendment_id, etag, note] = r.fields();
        let mut v = Violations::new();
        v.check(amendment_id.trim().is_empty(), "amendment_id", "required");
        v.require_etag(etag, "the amendment's etag as last read");
        v.check(
            D::ANSWER == Answer::Reject && note.trim().is_empty(),
            "note",
            "required: say why the amendment is rejected",
        );
        v.check(
            note.chars().count() > 2000,
            "note",
            "at most 2000 characters",
        );
        v.into_result()?;
        self.write_once(&p, D::METHOD, request_id, r, async |write| {
            let (seen, plan) = self.visible_amendment(&p, amendment_id).await?;
            let party = party_of(&p, &plan)?;
            let resource = format!("amendments/{}", seen.id);
            let txn = write.txn();
            // Plan, then amendment (almo_db::lock); then the etag, then the state, both as the
            // amendment now stands: a caller who lost a race to a decision is told STALE_ETAG.
            storage::lock_plan(txn, &plan.id).await?;
            let current = storage::lock_amendment(txn, &seen.id)
                .await?
                .ok_or_else(|| AppError::Internal(format!("amendment {} vanished", seen.id)))?;
            check_etag(etag, &amendment_etag(current.row_version), &resource)?;
            let proposer = Party::parse(&current.proposed_by).ok_or_else(|| {
                AppError::Internal(format!(
                    "amendment {}: party {:?}",
                    current.id, current.proposed_by
                ))
            })?;
            let state = AmendmentState::parse(&current.state).ok_or_else(|| {
                AppError::Internal(format!(
                    "amendment {}: state {:?}",
                    current.id, current.state
                ))
            })?;
            let next =
                amendment::answer(state, proposer, party, D::ANSWER).map_err(answer_refusal)?;
            let plan = storage::get_plan(txn, &plan.id)
                .await?
                .ok_or_else(|| AppError::Internal(format!("plan {} vanished", plan.id)))?;
            let now = Utc::now();
            let mut updated = current.clone();
            let plan_reply = if next == AmendmentState::Agreed {
                let (plan_now, version) = agree(write, &plan, &current, now).await?;
                updated.resulting_version = Some(version.version);
                Some(plan_to_proto(&plan_now, &version)?)
            } else {
                None
            };
            updated.state = next.as_str().into();
            updated.decided_by_organisation_id = Some(p.org.id.clone());
            updated.decision_note = note.trim().to_string();
            updated.row_version = current.row_version + 1;
            updated.updated_at = now;
            if !storage::update_amendment_if(txn, &updated, current.row_version).await? {
                return Err(AppError::stale_etag(&resource));
            }
            let summary = match next {
                AmendmentState::Agreed => format!(
                    "{party} agreed: version {} from {}",
                    updated.resulting_version.unwrap_or_default(),
                    updated.effective_date
                ),
                _ => format!("{party}: {}", updated.decision_note),
            };
            let kind = format!("amendment_{}", next.as_str());
            let event = storage::event(&plan.id, &kind, &updated.id, summary, now);
            storage::insert_events(txn, vec![event]).await?;
            let resp = D::reply(amendment_to_proto(&updated)?, plan_reply);
            Ok((resp, resource))
        })
        .await
    }

    pub(super) async fn list_amendments(
        &self,
        request: Request<pb::ListAmendmentsRequest>,
    ) -> Result<pb::ListAmendmentsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let amendments = storage::list_amendments(self.ctx.db.conn(), &plan.id)
            .await?
            .iter()
            .map(amendment_to_proto)
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(pb::ListAmendmentsResponse { amendments })
    }

    pub(super) async fn reprofile_capital(
        &self,
        request: Request<pb::ReprofileCapitalRequest>,
    ) -> Result<pb::ReprofileCapitalResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let reason = check_change(&mut v, &r.etag, &r.reason);
        let year = year_of(&mut v, "year", r.year.as_ref());
        let effective = v
            .field("effective_date", fields::optional_date(&r.effective_date))
            .flatten();
        let mut lines = Vec::new();
        for (i, line) in r.lines.iter().enumerate() {
            let Some(category) = capital_category(line.category) else {
                v.add(
                    format!("lines[{i}].category"),
                    "required: a CAPITAL_CATEGORY_...",
                );
                continue;
            };
            match &line.amount {
                Some(m) if m.currency_code.is_empty() || m.currency_code == "GBP" => {
                    lines.push((category, m.pence))
                }
                _ => v.add(format!("lines[{i}].amount"), "required, in GBP"),
            }
        }
        v.check(
            r.lines.is_empty(),
            "lines",
            "required: the year's spend by category",
        );
        v.into_result()?;
        let year = year.expect("checked above");
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        self.write_once(&p, "ReprofileCapital", &r.request_id, r, async |write| {
            let party = party_of(&p, &plan)?;
            let resource = plan_resource(&plan);
            let txn = write.txn();
            let (plan, latest) = latest_for_change(txn, &plan, &r.etag).await?;
            if !span_of(&plan).contains_year(year) {
                return Err(AppError::invalid(
                    "year",
                    format!("{year} is outside the plan's years"),
                ));
            }
            let now = Utc::now();
            let effective =
                effective.unwrap_or_else(|| now.date_naive().max(latest.effective_date));
            if let Some(why) = crate::domain::plan::effective_date_violation(
                effective,
                latest.effective_date,
                span_of(&plan),
            ) {
                return Err(AppError::invalid("effective_date", why));
            }
            let content = decode_content(&latest.content, &plan.id)?;
            let next = crate::domain::plan::reprofile(&content, year, &lines)
                .map_err(|(field, reason)| AppError::invalid(field, reason))?;
            let mut bad = Violations::new();
            // The only rule a re-profile can break is the sustainability cap: report it on
            // `lines`.
            for (_, reason) in crate::domain::plan::violations(&next, span_of(&plan), "content") {
                bad.add("lines", reason);
            }
            bad.into_result()?;
            let next_version = latest.version + 1;
            if !storage::advance_plan(txn, &plan.id, latest.version, next_version, now).await? {
                return Err(AppError::stale_etag(&resource));
            }
            let note = format!(
                "Capital re-profiled within {} by {party}: {reason}",
                fields::financial_year_label(year)
            );
            let version = dp_plan_version::Model {
                plan_id: plan.id.clone(),
                version: next_version,
                effective_date: effective,
                amendment_id: None,
                note: note.clone(),
                content: encode_content(&next),
                created_at: now,
            };
            storage::insert_version(txn, version.clone()).await?;
            let event = storage::event(&plan.id, "capital_reprofiled", &plan.id, note, now);
            storage::insert_events(txn, vec![event]).await?;
            let mut plan_now = plan.clone();
            plan_now.latest_version = next_version;
            let resp = pb::ReprofileCapitalResponse {
                plan: Some(plan_to_proto(&plan_now, &version)?),
            };
            Ok((resp, resource))
        })
        .await
    }
}

/// Makes an agreed amendment's content the plan's next version, provided the plan has not
/// moved on since the amendment was proposed: the plan as it now stands and the new version.
async fn agree(
    write: &PendingWrite,
    plan: &dp_plan::Model,
    amendment: &dp_amendment::Model,
    now: chrono::DateTime<Utc>,
) -> Result<(dp_plan::Model, dp_plan_version::Model), AppError> {
    let txn = write.txn();
    let next_version = amendment.base_version + 1;
    if !storage::advance_plan(txn, &plan.id, amendment.base_version, next_version, now).await? {
        return Err(AppError::Aborted {
            reason: "STALE_ETAG",
            message: format!(
                "plan {} has a newer version than the one this amendment was proposed against; propose it again against the current version",
                plan.id
            ),
        });
    }
    let version = dp_plan_version::Model {
        plan_id: plan.id.clone(),
        version: next_version,
        effective_date: amendment.effective_date,
        amendment_id: Some(amendment.id.clone()),
        note: String::new(),
        content: amendment.content.clone(),
        created_at: now,
    };
    storage::insert_version(txn, version.clone()).await?;
    let mut plan_now = plan.clone();
    plan_now.latest_version = next_version;
    plan_now.updated_at = now;
    Ok((plan_now, version))
}
