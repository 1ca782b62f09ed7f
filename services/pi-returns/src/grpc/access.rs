//! Who may read and change a return (DOMAIN.md §3): the organisation's own officers prepare it,
//! they or their council's officers certify it, the regulator and the inspectorate read it once
//! submitted, the operator reads everything.

use almo_auth::{OrgKind, Role};
use almo_db::entity::pi_return;
use almo_server::{AppError, Principal};

use super::PiReturns;
use crate::domain::workflow::Status as ReturnStatus;
use crate::storage::{self, Visibility};

/// Who must make a change of a return.
#[derive(Debug, Clone, Copy)]
pub(super) enum Changer {
    /// One of the organisation's own officers.
    Author,
    /// An officer of the organisation or of its council.
    Certifier,
    /// A council's own officer, on the council's own return (its combined figures, 003 §107).
    Council,
}

impl PiReturns {
    /// A return the caller may read: its organisation's own people and its council; the
    /// regulator and the inspectorate once it is no longer a draft; the operator.
    pub(super) async fn readable_return(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<pi_return::Model, AppError> {
        let not_found = || AppError::NotFound(format!("no PI return {}", almo_fields::quote(id)));
        let row = storage::get_return(self.ctx.db.conn(), id)
            .await?
            .ok_or_else(not_found)?;
        match p.org.kind {
            OrgKind::Operator => Ok(row),
            // A draft (or a return being reworked) is not yet a return as far as the regulator
            // is concerned.
            OrgKind::Regulator | OrgKind::Inspectorate => {
                if row.status == ReturnStatus::Submitted.as_str()
                    || row.status == ReturnStatus::SignedOff.as_str()
                {
                    Ok(row)
                } else {
                    Err(not_found())
                }
            }
            // Another organisation's return answers as one that does not exist: ids are
            // predictable (`ORG/YEAR/Y`), so "not yours" must not tell who has opened a return.
            OrgKind::Council | OrgKind::Almo => {
                match self.ctx.access.require_read(p, &row.organisation_id).await {
                    Ok(_) => Ok(row),
                    Err(AppError::PermissionDenied(_)) => Err(not_found()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Checks the caller before a change of the return `return_id`.
    pub(super) async fn require_changer(
        &self,
        p: &Principal,
        return_id: &str,
        who: Changer,
    ) -> Result<(), AppError> {
        match who {
            Changer::Author => self.require_author(p, return_id).await,
            Changer::Certifier => self.require_certifier(p, return_id).await,
            Changer::Council => {
                self.require_author(p, return_id).await?;
                if p.org.kind != OrgKind::Council {
                    return Err(AppError::invalid(
                        "return_id",
                        "combined figures are for a council's own return (003 §107)",
                    ));
                }
                Ok(())
            }
        }
    }

    /// The organisation's own officers write its returns.
    async fn require_author(&self, p: &Principal, return_id: &str) -> Result<(), AppError> {
        let row = self.readable_return(p, return_id).await?;
        require_officer(p)?;
        if p.org.id != row.organisation_id {
            return Err(AppError::PermissionDenied(format!(
                "only {}'s own officers write its returns",
                row.organisation_id
            )));
        }
        Ok(())
    }

    /// An officer of the organisation or of its council certifies.
    async fn require_certifier(&self, p: &Principal, return_id: &str) -> Result<(), AppError> {
        let row = self.readable_return(p, return_id).await?;
        require_officer(p)?;
        let target = self
            .ctx
            .access
            .require_write(p, &row.organisation_id)
            .await?;
        let own = p.org.id == target.id;
        let its_council = target.council_id.as_deref() == Some(p.org.id.as_str());
        if !(own || its_council) {
            return Err(AppError::PermissionDenied(format!(
                "only {}'s own officers or its council's certify its returns",
                row.organisation_id
            )));
        }
        Ok(())
    }
}

pub(super) fn require_officer(p: &Principal) -> Result<(), AppError> {
    match p.caller.role {
        Role::AlmoOfficer | Role::CouncilOfficer => Ok(()),
        other => Err(AppError::PermissionDenied(format!(
            "role {other} does not prepare or certify PI returns; an officer does"
        ))),
    }
}

/// Which returns the caller's lists show.
pub(super) fn visibility(p: &Principal) -> Visibility {
    match p.org.kind {
        OrgKind::Operator => Visibility::All,
        OrgKind::Regulator | OrgKind::Inspectorate => Visibility::AllButDrafts,
        OrgKind::Council => Visibility::CouncilAndAlmos(p.org.id.clone()),
        OrgKind::Almo => Visibility::Own(p.org.id.clone()),
    }
}

impl PiReturns {
    /// Whether the caller may benchmark within the peer group `owner` owns: whoever may see it
    /// in the directory's ListPeerGroups (its owner, the owner's council, the regulator and the
    /// operator). A chosen group is its owner's business, so one the caller may not see is
    /// answered as one that does not exist.
    pub(super) async fn sees_peer_group(
        &self,
        p: &Principal,
        owner: &str,
    ) -> Result<bool, AppError> {
        Ok(match p.org.kind {
            OrgKind::Regulator | OrgKind::Operator => true,
            OrgKind::Inspectorate => false,
            OrgKind::Almo => owner == p.org.id,
            OrgKind::Council => {
                owner == p.org.id
                    || self
                        .ctx
                        .access
                        .scope(owner)
                        .await?
                        .is_some_and(|o| o.council_id.as_deref() == Some(p.org.id.as_str()))
            }
        })
    }
}
