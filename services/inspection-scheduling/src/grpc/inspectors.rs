//! The inspectorate's staff: leads, inspectors and tenant inspection advisers (003 §111), and
//! when each cannot be booked.

use almo_auth::OrgKind;
use almo_db::entity::insp_inspector;
use almo_directory::domain::region::canonical_region;
use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::access::require_inspectorate;
use super::convert::{inspector_to_proto, role_from_proto};
use super::write::{check_etag, updated};
use super::{InspectionScheduling, next_page};
use crate::domain::DateRange;
use crate::domain::team::InspectorRole;
use crate::storage;
use almo_fields as fields;

/// An inspector's id: `LEAD-OKAFOR`.
fn check_code(v: &mut Violations, field: &str, s: &str) {
    let ok = (2..=40).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    v.check(
        !ok,
        field,
        "2 to 40 capital letters, digits and hyphens, e.g. LEAD-OKAFOR",
    );
}

/// A new inspector's fields, checked: the role, the region and the landlord of a TIA.
fn new_inspector(
    r: &pb::CreateInspectorRequest,
) -> Result<(InspectorRole, &'static str), AppError> {
    let mut v = Violations::new();
    check_code(&mut v, "inspector_id", &r.inspector_id);
    let name = r.name.trim();
    v.check(
        name.is_empty() || name.chars().count() > 200,
        "name",
        "required, at most 200 characters",
    );
    let role = role_from_proto(r.role);
    v.check(
        role.is_none(),
        "role",
        "required: INSPECTOR_ROLE_LEAD, INSPECTOR_ROLE_INSPECTOR or INSPECTOR_ROLE_TIA",
    );
    let region = canonical_region(&r.region);
    v.check(
        region.is_none(),
        "region",
        format!("{:?} is not an English region (e.g. \"London\")", r.region),
    );
    let tenant_of = r.tenant_of_organisation_id.trim();
    match role {
        Some(InspectorRole::Tia) => v.check(
            tenant_of.is_empty(),
            "tenant_of_organisation_id",
            "required for a TIA: the landlord whose tenant they are (003 §111)",
        ),
        Some(_) => v.check(
            !tenant_of.is_empty(),
            "tenant_of_organisation_id",
            "only TIAs are tenants of a landlord here",
        ),
        None => {}
    }
    v.into_result()?;
    Ok((role.expect("validated"), region.expect("validated")))
}

impl InspectionScheduling {
    pub(super) async fn create_inspector(
        &self,
        request: Request<pb::CreateInspectorRequest>,
    ) -> Result<pb::CreateInspectorResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let (role, region) = new_inspector(r)?;
        let (name, tenant_of) = (r.name.trim(), r.tenant_of_organisation_id.trim());
        require_inspectorate(&p, "manage inspectors")?;
        self.write(&p, "CreateInspector", r, async |txn| {
            if !tenant_of.is_empty() {
                let landlord = storage::organisation(txn, tenant_of).await?;
                if !landlord.is_some_and(|o| o.kind == "council" || o.kind == "almo") {
                    return Err(AppError::invalid(
                        "tenant_of_organisation_id",
                        format!("{tenant_of} is not a council or ALMO in the directory"),
                    ));
                }
            }
            if storage::inspector(txn, &r.inspector_id).await?.is_some() {
                return Err(AppError::AlreadyExists(format!(
                    "inspector {} already exists",
                    r.inspector_id
                )));
            }
            let now = Utc::now();
            let row = insp_inspector::Model {
                id: r.inspector_id.clone(),
                name: name.to_string(),
                role: role.as_str().into(),
                region: region.into(),
                tenant_of: Some(tenant_of.to_string()).filter(|t| !t.is_empty()),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            storage::insert_inspector(txn, row).await?;
            let staff = storage::staff(txn, Some(std::slice::from_ref(&r.inspector_id))).await?;
            let inspector = staff.first().map(|m| inspector_to_proto(m, name));
            let resource = format!("inspectors/{}", r.inspector_id);
            Ok((pb::CreateInspectorResponse { inspector }, resource))
        })
        .await
    }

    pub(super) async fn record_unavailability(
        &self,
        request: Request<pb::RecordUnavailabilityRequest>,
    ) -> Result<pb::RecordUnavailabilityResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.inspector_id.trim().is_empty(), "inspector_id", "required");
        v.require_etag(&r.etag, "the inspector's etag as last read");
        let u = r.unavailability.clone().unwrap_or_default();
        let s = v.field("unavailability.start_date", fields::date(&u.start_date));
        let e = v.field("unavailability.end_date", fields::date(&u.end_date));
        let period = match (s, e) {
            (Some(s), Some(e)) => {
                let p = DateRange::new(s, e);
                v.check(p.is_none(), "unavailability.end_date", "before start_date");
                p
            }
            _ => None,
        };
        v.check(
            u.reason.chars().count() > 200,
            "unavailability.reason",
            "at most 200 characters",
        );
        v.into_result()?;
        let period = period.expect("validated");
        require_inspectorate(&p, "record inspectors' unavailability")?;
        self.write(&p, "RecordUnavailability", r, async |txn| {
            let resource = format!("inspectors/{}", r.inspector_id);
            let current = storage::inspector(txn, &r.inspector_id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no inspector {:?}", r.inspector_id)))?;
            check_etag(&r.etag, Some(current.version), &resource)?;
            // Unavailability over a week already booked would leave a booking that breaks a hard
            // rule unseen: refused, naming the bookings, until the re-plan is applied.
            let me = std::slice::from_ref(&current.id);
            let before = storage::staff(txn, Some(me)).await?;
            let clashes: Vec<String> = before
                .iter()
                .flat_map(|m| m.domain.booked.iter())
                .filter(|(week, _)| week.overlaps(&period))
                .map(|(week, id)| format!("inspection {id} (on site {week})"))
                .collect();
            if !clashes.is_empty() {
                return Err(AppError::failed_precondition(
                    "INSPECTOR_BOOKED",
                    format!(
                        "{} is booked on {} inside {period}: replace them on the booking \
                         (ReplaceTeamMember or MoveInspection) before recording the unavailability",
                        current.id,
                        clashes.join(", ")
                    ),
                ));
            }
            let (version, reason) = (current.version, u.reason.trim());
            let done = storage::add_unavailability(
                txn,
                me[0].as_str(),
                version,
                period,
                reason,
                Utc::now(),
            )
            .await?;
            updated(done, &resource)?;
            let staff = storage::staff(txn, Some(me)).await?;
            let inspector = staff.first().map(|m| inspector_to_proto(m, &current.name));
            Ok((pb::RecordUnavailabilityResponse { inspector }, resource))
        })
        .await
    }

    pub(super) async fn list_inspectors(
        &self,
        request: Request<pb::ListInspectorsRequest>,
    ) -> Result<pb::ListInspectorsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let role = if r.role == 0 {
            None
        } else {
            let role = role_from_proto(r.role);
            v.check(
                role.is_none(),
                "role",
                format!("{} is not an InspectorRole", r.role),
            );
            role
        };
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("page_token", fields::page_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        if !(p.org.kind == OrgKind::Inspectorate || p.is_operator()) {
            return Err(AppError::PermissionDenied(
                "the inspectorate's staff are listed to the inspectorate only".into(),
            ));
        }
        let conn = self.ctx.db.conn();
        let mut ids = storage::inspector_page(conn, role, after, size + 1).await?;
        let next_page_token = next_page(&mut ids, size, String::as_str);
        let staff = storage::staff(conn, Some(&ids)).await?;
        Ok(pb::ListInspectorsResponse {
            inspectors: staff
                .iter()
                .map(|m| inspector_to_proto(m, &m.row.name))
                .collect(),
            next_page_token,
        })
    }
}
