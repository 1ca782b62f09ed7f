//! Who may read and change what: the directory's ALMOs, inspections by their ALMO, and the
//! inspectorate's own work.

use almo_auth::{OrgKind, Role};
use almo_db::entity::{insp_inspection, organisation};
use almo_server::{AppError, Principal};

use super::InspectionScheduling;
use crate::storage;

impl InspectionScheduling {
    /// The ALMO's directory entry, once the caller may read its data.
    pub(super) async fn readable_almo(
        &self,
        p: &Principal,
        almo_id: &str,
    ) -> Result<organisation::Model, AppError> {
        self.ctx.access.require_read(p, almo_id).await?;
        almo_row(self.ctx.db.conn(), almo_id).await
    }

    /// An inspection the caller may see; one it may not see is PERMISSION_DENIED whether or not
    /// it exists.
    pub(super) async fn readable_inspection(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<insp_inspection::Model, AppError> {
        let unseen = || {
            AppError::PermissionDenied(format!(
                "{} ({}) may not see inspection {id:?}",
                p.org.id, p.caller.role
            ))
        };
        let row = storage::inspection(self.ctx.db.conn(), id).await?;
        match row {
            // Refused in the words used for one that does not exist: naming the ALMO would
            // tell the caller whose inspection the id is.
            Some(r) => match self.ctx.access.require_read(p, &r.almo_id).await {
                Ok(_) => Ok(r),
                Err(AppError::PermissionDenied(_)) => Err(unseen()),
                Err(e) => Err(e),
            },
            None if p.reads_everyone() => Err(AppError::NotFound(format!("no inspection {id:?}"))),
            None => Err(unseen()),
        }
    }
}

/// The directory entry of `almo_id`, refused when it is missing or not an ALMO.
pub(super) async fn almo_row(
    conn: &impl sea_orm::ConnectionTrait,
    almo_id: &str,
) -> Result<organisation::Model, AppError> {
    let row = storage::organisation(conn, almo_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("ALMO {almo_id:?}")))?;
    if row.kind != OrgKind::Almo.as_str() {
        return Err(AppError::invalid(
            "almo_id",
            format!("{almo_id} is not an ALMO"),
        ));
    }
    Ok(row)
}

/// Only the Housing Inspectorate's own staff may `what`.
pub(super) fn require_inspectorate(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.org.kind == OrgKind::Inspectorate && p.caller.role == Role::Inspectorate {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only the Housing Inspectorate may {what}; {} is {}",
            p.org.id,
            p.org.kind.a()
        )))
    }
}
