//! Who may see and change what: a plan is seen by its council, its ALMO and those who read
//! everyone's; it is changed by the officers of its two parties.

use almo_auth::{OrgKind, Role};
use almo_db::entity::{dp_amendment, dp_exception, dp_plan};
use almo_server::{AppError, Principal};

use super::DeliveryPlans;
use crate::domain::amendment::Party;
use crate::storage::{self, Visibility};

pub(super) fn visibility(p: &Principal) -> Visibility {
    match p.org.kind {
        OrgKind::Council => Visibility::Council(p.org.id.clone()),
        OrgKind::Almo => Visibility::Almo(p.org.id.clone()),
        OrgKind::Regulator | OrgKind::Inspectorate | OrgKind::Operator => Visibility::All,
    }
}

/// The answer for a `what` (`exception`, `amendment`) that is not there: NOT_FOUND only for
/// those who read everyone's; PERMISSION_DENIED for the others, as if it were someone else's.
fn unseen(p: &Principal, what: &str, id: &str) -> AppError {
    match visibility(p) {
        Visibility::All => AppError::NotFound(format!("no {what} {id:?}")),
        _ => AppError::PermissionDenied(format!("{} may not see {what} {id:?}", p.org.id)),
    }
}

/// A refusal to see the plan of a `what` that exists, said as for one that does not: naming the
/// plan would tell the caller whose the id is.
fn unseen_as(e: AppError, p: &Principal, what: &str, id: &str) -> AppError {
    match e {
        AppError::PermissionDenied(_) => unseen(p, what, id),
        e => e,
    }
}

/// The caller's side of the plan, for the calls only the parties make: the council's officers
/// for the council, the ALMO's officers for the ALMO.
pub(super) fn party_of(p: &Principal, plan: &dp_plan::Model) -> Result<Party, AppError> {
    let party = if p.org.id == plan.council_id && p.caller.role == Role::CouncilOfficer {
        Party::Council
    } else if p.org.id == plan.almo_id && p.caller.role == Role::AlmoOfficer {
        Party::Almo
    } else {
        return Err(AppError::PermissionDenied(format!(
            "only officers of {} or {} act on plan {} ({} is {})",
            plan.council_id, plan.almo_id, plan.id, p.org.id, p.caller.role
        )));
    };
    Ok(party)
}

/// The council writes its plans and their variances; nobody else does.
pub(super) fn require_council_officer(
    p: &Principal,
    council_id: &str,
    what: &str,
) -> Result<(), AppError> {
    if p.org.id == council_id && p.caller.role == Role::CouncilOfficer {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only officers of council {council_id} may {what}; {} is {} of {}",
            p.caller.subject, p.caller.role, p.org.id
        )))
    }
}

impl DeliveryPlans {
    /// The plan, if the caller may see it. A plan the caller may not see is PERMISSION_DENIED
    /// whether or not it exists; NOT_FOUND only for those who read everyone's.
    pub(super) async fn visible_plan(
        &self,
        p: &Principal,
        plan_id: &str,
    ) -> Result<dp_plan::Model, AppError> {
        let plan_id = plan_id.trim();
        if plan_id.is_empty() {
            return Err(AppError::invalid("plan_id", "required"));
        }
        let plan = storage::get_plan(self.ctx.db.conn(), plan_id).await?;
        let vis = visibility(p);
        match plan {
            Some(plan) if vis.allows(&plan) => Ok(plan),
            None if matches!(vis, Visibility::All) => {
                Err(AppError::NotFound(format!("no plan {plan_id:?}")))
            }
            _ => Err(AppError::PermissionDenied(format!(
                "{} ({}) may not see plan {plan_id:?}",
                p.org.id, p.caller.role
            ))),
        }
    }

    /// The exception and its plan, if the caller may see them.
    pub(super) async fn visible_exception(
        &self,
        p: &Principal,
        exception_id: &str,
    ) -> Result<(dp_exception::Model, dp_plan::Model), AppError> {
        let found = storage::get_exception(self.ctx.db.conn(), exception_id.trim()).await?;
        let e = found.ok_or_else(|| unseen(p, "exception", exception_id))?;
        let plan = self
            .visible_plan(p, &e.plan_id)
            .await
            .map_err(|e| unseen_as(e, p, "exception", exception_id))?;
        Ok((e, plan))
    }

    /// The amendment and its plan, if the caller may see them.
    pub(super) async fn visible_amendment(
        &self,
        p: &Principal,
        amendment_id: &str,
    ) -> Result<(dp_amendment::Model, dp_plan::Model), AppError> {
        let amendment_id = amendment_id.trim();
        let found = storage::get_amendment(self.ctx.db.conn(), amendment_id).await?;
        let a = found.ok_or_else(|| unseen(p, "amendment", amendment_id))?;
        let plan = self
            .visible_plan(p, &a.plan_id)
            .await
            .map_err(|e| unseen_as(e, p, "amendment", amendment_id))?;
        Ok((a, plan))
    }
}
