//! Organisations: who am I, reading the directory, registering councils and ALMOs.

use almo_auth::{OrgKind, Role, policy};
use almo_db::Begun;
use almo_proto::directory::{
    GetOrganisationRequest, GetOrganisationResponse, ListOrganisationsRequest,
    ListOrganisationsResponse, RegisterAlmoRequest, RegisterAlmoResponse, RegisterCouncilRequest,
    RegisterCouncilResponse, WhoAmIRequest, WhoAmIResponse,
};
use almo_server::access::{Joined, scope_of_row};
use almo_server::{AppError, Principal, Violations, caller, paging};
use chrono::Utc;
use tonic::Request;

use super::convert::{authority_type_from_proto, org_kind_from_proto, organisation_to_proto};
use super::hand_back::with_hand_back;
use super::{Directory, SERVICE_NAME};
use crate::domain::region::canonical_region;
use crate::domain::{AlmoDates, AuthorityType, authority_type_of, codes};
use crate::storage::{self, OrgFilter};
use crate::storage_reviews::{ROAD_COLUMNS, ROAD_JOINS, road_of};

/// Homes under management an ALMO may record.
pub(super) const STOCK_SIZES: std::ops::RangeInclusive<i32> = 1..=500_000;

pub(super) fn require_operator(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.is_operator() {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only the operator may {what}; {} is {}",
            p.org.id,
            p.org.kind.a()
        )))
    }
}

impl Directory {
    pub(super) async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<WhoAmIResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let row = storage::get(self.ctx.db.conn(), &p.org.id)
            .await?
            .ok_or_else(|| AppError::PermissionDenied("organisation vanished".into()))?;
        let org = self.to_proto(vec![row]).await?.pop();
        Ok(WhoAmIResponse {
            subject: p.caller.subject,
            role: p.caller.role.to_string(),
            organisation: org,
        })
    }

    pub(super) async fn get_organisation(
        &self,
        request: Request<GetOrganisationRequest>,
    ) -> Result<GetOrganisationResponse, AppError> {
        let mut v = Violations::new();
        let id = v.field(
            "id",
            almo_fields::id(&request.get_ref().id).map(String::from),
        );
        v.into_result()?;
        let id = id.unwrap_or_default();
        // One statement: the caller's row and the entry's, with an ALMO's road to a hand-back.
        let road = Joined {
            columns: ROAD_COLUMNS,
            joins: ROAD_JOINS,
        };
        let (p, rows) = self
            .ctx
            .access
            .principal_with_joined(&caller(&request)?, &[&id], Some(road))
            .await?;
        let row = rows.into_iter().find(|(r, _)| r.id == id);
        let denied = || {
            AppError::PermissionDenied(format!(
                "{} ({}) may not see organisation {}",
                p.org.id,
                p.caller.role,
                almo_fields::quote(&id)
            ))
        };
        let (row, read) = match row {
            Some((r, read)) if policy::may_see_entry(&p.caller, &p.org, &scope_of_row(&r)?) => {
                (r, read)
            }
            Some(_) => return Err(denied()),
            None if p.reads_everyone() => {
                return Err(AppError::NotFound(format!(
                    "no organisation {}",
                    almo_fields::quote(&id)
                )));
            }
            None => return Err(denied()),
        };
        let org = if row.kind == OrgKind::Almo.as_str() {
            let road = road_of(&read)?;
            let org = organisation_to_proto(row, vec![], Utc::now().date_naive());
            Some(with_hand_back(org, Some(&road)))
        } else {
            self.to_proto(vec![row]).await?.pop()
        };
        Ok(GetOrganisationResponse { organisation: org })
    }

    pub(super) async fn list_organisations(
        &self,
        request: Request<ListOrganisationsRequest>,
    ) -> Result<ListOrganisationsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let kind = v.field("kind", org_kind_from_proto(r.kind)).flatten();
        let authority_type = v
            .field(
                "authority_type",
                authority_type_from_proto(r.authority_type),
            )
            .flatten()
            .map(AuthorityType::as_str);
        let region = if r.region.trim().is_empty() {
            None
        } else {
            let c = canonical_region(&r.region);
            v.check(
                c.is_none(),
                "region",
                format!("{} is not an English region", almo_fields::quote(&r.region)),
            );
            c
        };
        let size = v.field("page_size", almo_fields::page_size(r.page_size));
        let after = v.field("page_token", almo_fields::page_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let filter = OrgFilter {
            kind,
            authority_type,
            region,
            council_id: Some(r.council_id.trim().to_string()).filter(|c| !c.is_empty()),
        };
        let rows = storage::list(self.ctx.db.conn(), &p, &filter, after, size + 1).await?;
        let (rows, next_page_token) = paging::page(rows, size, |r| r.id.clone());
        Ok(ListOrganisationsResponse {
            organisations: self.to_proto(rows).await?,
            next_page_token,
        })
    }

    pub(super) async fn register_council(
        &self,
        request: Request<RegisterCouncilRequest>,
    ) -> Result<RegisterCouncilResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        require_operator(&p, "register councils")?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let ons = r.ons_code.trim().to_string();
        let ty = v.field("ons_code", authority_type_of(&ons));
        let name = v.field("name", almo_fields::name(&r.name));
        let region = canonical_region(&r.region);
        v.check(
            region.is_none(),
            "region",
            format!(
                "{} is not an English region (e.g. \"North West\")",
                almo_fields::quote(&r.region)
            ),
        );
        v.into_result()?;
        let ctx = p.call_context(SERVICE_NAME, "RegisterCouncil", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        if storage::get(write.txn(), &ons).await?.is_some() {
            return Err(AppError::AlreadyExists(format!(
                "council {ons} is already registered"
            )));
        }
        let mut row = storage::new_row(&ons, name.unwrap_or_default(), OrgKind::Council);
        row.authority_type = ty.map(|t| t.as_str().to_string());
        row.region = region.map(String::from);
        storage::insert(write.txn(), row.clone()).await?;
        let resp = RegisterCouncilResponse {
            organisation: Some(organisation_to_proto(row, vec![], Utc::now().date_naive())),
        };
        write.finish(&resp, &format!("organisations/{ons}")).await?;
        Ok(resp)
    }

    pub(super) async fn register_almo(
        &self,
        request: Request<RegisterAlmoRequest>,
    ) -> Result<RegisterAlmoResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council_id = v
            .field("council_id", almo_fields::id(&r.council_id))
            .unwrap_or_default()
            .to_string();
        v.field("almo_id", codes::check_almo_code(&r.almo_id));
        let name = v.field("name", almo_fields::name(&r.name));
        let mut date =
            |field: &str, s: &str| v.field(field, almo_fields::optional_date(s)).flatten();
        let section27_consent = date("section27_consent_date", &r.section27_consent_date);
        let go_live = date("go_live_date", &r.go_live_date);
        let agreement_end = date("agreement_end_date", &r.agreement_end_date);
        if r.section27_consent_date.trim().is_empty() {
            v.add(
                "section27_consent_date",
                "required: an ISO-8601 date such as 2003-11-01",
            );
        }
        let dates = AlmoDates {
            section27_consent,
            go_live,
            agreement_end,
            end: None,
        };
        for (field, reason) in dates.violations() {
            v.add(field, reason);
        }
        v.check(
            !STOCK_SIZES.contains(&r.stock_size),
            "stock_size",
            "homes under management: between 1 and 500000",
        );
        v.into_result()?;
        let council = self.ctx.access.require_write(&p, &council_id).await?;
        if council.kind != OrgKind::Council {
            return Err(AppError::invalid(
                "council_id",
                format!("{council_id} is not a council"),
            ));
        }
        if !(p.is_operator() || p.caller.role == Role::CouncilOfficer) {
            return Err(AppError::PermissionDenied(format!(
                "role {} may not register ALMOs",
                p.caller.role
            )));
        }
        let ctx = p.call_context(SERVICE_NAME, "RegisterAlmo", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        if storage::get(write.txn(), &r.almo_id).await?.is_some() {
            return Err(AppError::AlreadyExists(format!(
                "{} is already in the directory",
                r.almo_id
            )));
        }
        let parent = storage::get(write.txn(), &council_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("council {council_id}")))?;
        let mut row = storage::new_row(&r.almo_id, name.unwrap_or_default(), OrgKind::Almo);
        // An ALMO is benchmarked among authorities of its council's type and region.
        row.authority_type = parent.authority_type.clone();
        row.region = parent.region.clone();
        row.council_id = Some(council_id);
        row.section27_consent_date = dates.section27_consent;
        row.go_live_date = dates.go_live;
        row.agreement_end_date = dates.agreement_end;
        row.stock_size = Some(r.stock_size);
        storage::insert(write.txn(), row.clone()).await?;
        let resp = RegisterAlmoResponse {
            organisation: Some(organisation_to_proto(row, vec![], Utc::now().date_naive())),
        };
        write
            .finish(&resp, &format!("organisations/{}", r.almo_id))
            .await?;
        Ok(resp)
    }
}
