//! Who may see and change SLA data. It is narrower than the general rules: only the supplying
//! council's finance team and the customer ALMO see it. The regulator, the inspectorate, the
//! operator and council officers do not. A row the caller may not see and a row that does not
//! exist are refused alike.

use almo_auth::{OrgKind, Role};
use almo_server::{AppError, Principal};
use sea_orm::ConnectionTrait;

use crate::storage::{self, AgreementRows, InvoiceRows, Visibility};

pub(super) fn visibility(p: &Principal) -> Result<Visibility, AppError> {
    match (p.org.kind, p.caller.role) {
        (OrgKind::Council, Role::CouncilFinance) => Ok(Visibility::Supplier(p.org.id.clone())),
        (OrgKind::Almo, Role::AlmoFinance | Role::AlmoOfficer) => {
            Ok(Visibility::Customer(p.org.id.clone()))
        }
        _ => Err(AppError::PermissionDenied(format!(
            "SLA agreements and invoices are seen only by the supplying council's finance team \
             and the customer ALMO; {} ({}) is neither",
            p.org.id, p.caller.role
        ))),
    }
}

/// The caller is council finance of `council_id`.
pub(super) fn require_supplier(p: &Principal, council_id: &str) -> Result<(), AppError> {
    match visibility(p)? {
        Visibility::Supplier(c) if c == council_id => Ok(()),
        _ => Err(AppError::PermissionDenied(format!(
            "only council finance of {council_id} may write its SLA data; the caller is {} ({})",
            p.org.id, p.caller.role
        ))),
    }
}

pub(super) fn denied(p: &Principal, what: &str) -> AppError {
    AppError::PermissionDenied(format!(
        "{} ({}) may not see {what}",
        p.org.id, p.caller.role
    ))
}

/// The agreement `id` with its versions, if the caller sees it.
pub(super) async fn visible_agreement(
    conn: &impl ConnectionTrait,
    p: &Principal,
    vis: &Visibility,
    id: &str,
) -> Result<AgreementRows, AppError> {
    storage::get_agreement(conn, id.trim())
        .await?
        .filter(|(a, _)| vis.sees_agreement(a))
        .ok_or_else(|| denied(p, &format!("agreement {id:?}")))
}

/// The invoice `id` with its lines and credit notes, if the caller sees it.
pub(super) async fn visible_invoice(
    conn: &impl ConnectionTrait,
    p: &Principal,
    vis: &Visibility,
    id: &str,
) -> Result<InvoiceRows, AppError> {
    storage::get_invoice(conn, id)
        .await?
        .filter(|i| vis.sees_invoice(&i.invoice))
        .ok_or_else(|| denied(p, &format!("invoice {id:?}")))
}

/// The invoice `id` as this write has just left it.
pub(super) async fn reread_invoice(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<InvoiceRows, AppError> {
    storage::get_invoice(conn, id)
        .await?
        .ok_or_else(|| AppError::Internal("invoice vanished".into()))
}
