//! `almo.directory.v1.DirectoryService`: decode -> check caller -> domain -> storage -> reply.

use almo_auth::{OrgKind, Role, policy};
use almo_db::Begun;
use almo_db::entity::{organisation, peer_group};
use almo_proto::directory::directory_service_server::DirectoryService;
use almo_proto::directory::{
    self as pb, CreatePeerGroupRequest, CreatePeerGroupResponse, GetOrganisationRequest,
    GetOrganisationResponse, ListOrganisationsRequest, ListOrganisationsResponse,
    ListPeerGroupsRequest, ListPeerGroupsResponse, RegisterAlmoRequest, RegisterAlmoResponse,
    RegisterCouncilRequest, RegisterCouncilResponse, UpdateAlmoLifecycleRequest,
    UpdateAlmoLifecycleResponse, WhoAmIRequest, WhoAmIResponse,
};
use almo_server::access::scope_of_row;
use almo_server::{AppError, Principal, ServiceContext, Violations, caller, paging};
use almo_server::{etag, timestamp as ts};
use chrono::{NaiveDate, Utc};
use tonic::{Request, Response, Status};

use crate::domain::region::canonical_region;
use crate::domain::{AlmoDates, AlmoStage, AuthorityType, authority_type_of, codes};
use crate::storage::{self, OrgFilter};

pub const SERVICE_NAME: &str = "almo.directory.v1.DirectoryService";

#[derive(Clone)]
pub struct Directory {
    ctx: ServiceContext,
}

impl Directory {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }

    async fn to_proto(
        &self,
        rows: Vec<organisation::Model>,
    ) -> Result<Vec<pb::Organisation>, AppError> {
        let councils: Vec<String> = rows
            .iter()
            .filter(|r| r.kind == OrgKind::Council.as_str())
            .map(|r| r.id.clone())
            .collect();
        let almos = storage::almo_ids_of(self.ctx.db.conn(), &councils).await?;
        let today = Utc::now().date_naive();
        Ok(rows
            .into_iter()
            .map(|r| {
                let ids = almos
                    .iter()
                    .filter(|(c, _)| *c == r.id)
                    .map(|(_, a)| a.clone())
                    .collect();
                organisation_to_proto(r, ids, today)
            })
            .collect())
    }
}

fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn dates_of(r: &organisation::Model) -> AlmoDates {
    AlmoDates {
        section27_consent: r.section27_consent_date,
        go_live: r.go_live_date,
        agreement_end: r.agreement_end_date,
        end: r.end_date,
    }
}

fn org_kind_to_proto(kind: &str) -> pb::OrganisationKind {
    match kind.parse::<OrgKind>() {
        Ok(OrgKind::Council) => pb::OrganisationKind::Council,
        Ok(OrgKind::Almo) => pb::OrganisationKind::Almo,
        Ok(OrgKind::Regulator) => pb::OrganisationKind::Regulator,
        Ok(OrgKind::Inspectorate) => pb::OrganisationKind::Inspectorate,
        Ok(OrgKind::Operator) => pb::OrganisationKind::Operator,
        Err(_) => pb::OrganisationKind::Unspecified,
    }
}

fn authority_type_to_proto(t: Option<&str>) -> pb::AuthorityType {
    match t.and_then(AuthorityType::parse) {
        Some(AuthorityType::LondonBorough) => pb::AuthorityType::LondonBorough,
        Some(AuthorityType::Metropolitan) => pb::AuthorityType::Metropolitan,
        Some(AuthorityType::Unitary) => pb::AuthorityType::Unitary,
        Some(AuthorityType::District) => pb::AuthorityType::District,
        None => pb::AuthorityType::Unspecified,
    }
}

fn authority_type_from_proto(t: pb::AuthorityType) -> Option<AuthorityType> {
    match t {
        pb::AuthorityType::Unspecified => None,
        pb::AuthorityType::LondonBorough => Some(AuthorityType::LondonBorough),
        pb::AuthorityType::Metropolitan => Some(AuthorityType::Metropolitan),
        pb::AuthorityType::Unitary => Some(AuthorityType::Unitary),
        pb::AuthorityType::District => Some(AuthorityType::District),
    }
}

/// The proto form of a directory row; `almo_ids` are a council's ALMOs.
pub fn organisation_to_proto(
    r: organisation::Model,
    almo_ids: Vec<String>,
    today: NaiveDate,
) -> pb::Organisation {
    let kind = org_kind_to_proto(&r.kind);
    let details = match kind {
        pb::OrganisationKind::Council => Some(pb::organisation::Details::Council(pb::Council {
            ons_code: r.id.clone(),
            authority_type: authority_type_to_proto(r.authority_type.as_deref()) as i32,
            region: r.region.clone().unwrap_or_default(),
            almo_ids,
        })),
        pb::OrganisationKind::Almo => {
            let stage = match dates_of(&r).stage_on(today) {
                AlmoStage::Shadow => pb::AlmoStage::Shadow,
                AlmoStage::Live => pb::AlmoStage::Live,
                AlmoStage::Ended => pb::AlmoStage::Ended,
            };
            Some(pb::organisation::Details::Almo(pb::Almo {
                council_id: r.council_id.clone().unwrap_or_default(),
                section27_consent_date: date_str(r.section27_consent_date),
                go_live_date: date_str(r.go_live_date),
                agreement_end_date: date_str(r.agreement_end_date),
                end_date: date_str(r.end_date),
                stock_size: r.stock_size.unwrap_or_default(),
                stage: stage as i32,
            }))
        }
        _ => None,
    };
    pb::Organisation {
        id: r.id,
        name: r.name,
        kind: kind as i32,
        details,
        etag: etag(r.version),
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
    }
}

/// Parses an ISO date field; empty is `None` when the field is optional.
fn parse_date(v: &mut Violations, field: &str, s: &str, required: bool) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        if required {
            v.add(field, "required: an ISO-8601 date such as 2003-11-01");
        }
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                format!("{s:?} is not an ISO-8601 date such as 2003-11-01"),
            );
            None
        }
    }
}

fn check_name(v: &mut Violations, name: &str) {
    let n = name.trim();
    v.check(n.is_empty(), "name", "required");
    v.check(n.chars().count() > 200, "name", "at most 200 characters");
}

fn require_operator(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.is_operator() {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only the operator may {what}; {} is a {}",
            p.org.id, p.org.kind
        )))
    }
}

#[tonic::async_trait]
impl DirectoryService for Directory {
    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let row = storage::get(self.ctx.db.conn(), &p.org.id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::PermissionDenied("organisation vanished".into()))?;
        let org = self.to_proto(vec![row]).await?.pop();
        Ok(Response::new(WhoAmIResponse {
            subject: p.caller.subject,
            role: p.caller.role.to_string(),
            organisation: org,
        }))
    }

    async fn get_organisation(
        &self,
        request: Request<GetOrganisationRequest>,
    ) -> Result<Response<GetOrganisationResponse>, Status> {
        let id = request.get_ref().id.trim().to_string();
        if id.is_empty() {
            return Err(AppError::invalid("id", "required").into());
        }
        let (p, rows) = self
            .ctx
            .access
            .principal_with_rows(&caller(&request)?, &[&id])
            .await?;
        let row = rows.into_iter().find(|r| r.id == id);
        let denied = || {
            AppError::PermissionDenied(format!(
                "{} ({}) may not see organisation {id:?}",
                p.org.id, p.caller.role
            ))
        };
        let row = match row {
            Some(r) if policy::may_see_entry(&p.caller, &p.org, &scope_of_row(&r)?) => r,
            Some(_) => return Err(denied().into()),
            None if p.reads_everyone() => {
                return Err(AppError::NotFound(format!("no organisation {id:?}")).into());
            }
            None => return Err(denied().into()),
        };
        let org = self.to_proto(vec![row]).await?.pop();
        Ok(Response::new(GetOrganisationResponse { organisation: org }))
    }

    async fn list_organisations(
        &self,
        request: Request<ListOrganisationsRequest>,
    ) -> Result<Response<ListOrganisationsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let kind = match pb::OrganisationKind::try_from(r.kind) {
            Ok(pb::OrganisationKind::Unspecified) => None,
            Ok(pb::OrganisationKind::Council) => Some(OrgKind::Council),
            Ok(pb::OrganisationKind::Almo) => Some(OrgKind::Almo),
            Ok(pb::OrganisationKind::Regulator) => Some(OrgKind::Regulator),
            Ok(pb::OrganisationKind::Inspectorate) => Some(OrgKind::Inspectorate),
            Ok(pb::OrganisationKind::Operator) => Some(OrgKind::Operator),
            Err(_) => {
                v.add("kind", format!("{} is not an OrganisationKind", r.kind));
                None
            }
        };
        let authority_type = match pb::AuthorityType::try_from(r.authority_type) {
            Ok(t) => authority_type_from_proto(t).map(AuthorityType::as_str),
            Err(_) => {
                v.add(
                    "authority_type",
                    format!("{} is not an AuthorityType", r.authority_type),
                );
                None
            }
        };
        let region = if r.region.trim().is_empty() {
            None
        } else {
            let c = canonical_region(&r.region);
            v.check(
                c.is_none(),
                "region",
                format!("{:?} is not an English region", r.region),
            );
            c
        };
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
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
        let mut rows = storage::list(self.ctx.db.conn(), &p, &filter, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| paging::encode_token(&r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListOrganisationsResponse {
            organisations: self.to_proto(rows).await?,
            next_page_token,
        }))
    }

    async fn register_council(
        &self,
        request: Request<RegisterCouncilRequest>,
    ) -> Result<Response<RegisterCouncilResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        require_operator(&p, "register councils")?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let ons = r.ons_code.trim().to_string();
        let ty = authority_type_of(&ons);
        if let Err(e) = &ty {
            v.add("ons_code", e.clone());
        }
        check_name(&mut v, &r.name);
        let region = canonical_region(&r.region);
        v.check(
            region.is_none(),
            "region",
            format!(
                "{:?} is not an English region (e.g. \"North West\")",
                r.region
            ),
        );
        v.into_result()?;
        let ctx = p.call_context(SERVICE_NAME, "RegisterCouncil", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        if storage::get(write.txn(), &ons)
            .await
            .map_err(AppError::from)?
            .is_some()
        {
            return Err(
                AppError::AlreadyExists(format!("council {ons} is already registered")).into(),
            );
        }
        let now = Utc::now();
        let row = organisation::Model {
            id: ons.clone(),
            name: r.name.trim().to_string(),
            kind: OrgKind::Council.as_str().into(),
            authority_type: ty.ok().map(|t| t.as_str().to_string()),
            region: region.map(String::from),
            council_id: None,
            section27_consent_date: None,
            go_live_date: None,
            agreement_end_date: None,
            end_date: None,
            stock_size: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::insert(write.txn(), row.clone())
            .await
            .map_err(AppError::from)?;
        let resp = RegisterCouncilResponse {
            organisation: Some(organisation_to_proto(row, vec![], now.date_naive())),
        };
        write
            .finish(&resp, &format!("organisations/{ons}"))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn register_almo(
        &self,
        request: Request<RegisterAlmoRequest>,
    ) -> Result<Response<RegisterAlmoResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let council_id = r.council_id.trim().to_string();
        let mut v = Violations::new();
        v.check(council_id.is_empty(), "council_id", "required");
        if let Err(e) = codes::check_almo_code(&r.almo_id) {
            v.add("almo_id", e);
        }
        check_name(&mut v, &r.name);
        let dates = AlmoDates {
            section27_consent: parse_date(
                &mut v,
                "section27_consent_date",
                &r.section27_consent_date,
                true,
            ),
            go_live: parse_date(&mut v, "go_live_date", &r.go_live_date, false),
            agreement_end: parse_date(&mut v, "agreement_end_date", &r.agreement_end_date, false),
            end: None,
        };
        for (field, reason) in dates.violations() {
            v.add(field, reason);
        }
        v.check(
            !(1..=500_000).contains(&r.stock_size),
            "stock_size",
            "homes under management: between 1 and 500000",
        );
        v.into_result()?;
        let council = self.ctx.access.require_write(&p, &council_id).await?;
        if council.kind != OrgKind::Council {
            return Err(
                AppError::invalid("council_id", format!("{council_id} is not a council")).into(),
            );
        }
        if !(p.is_operator() || p.caller.role == Role::CouncilOfficer) {
            return Err(AppError::PermissionDenied(format!(
                "role {} may not register ALMOs",
                p.caller.role
            ))
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "RegisterAlmo", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        if storage::get(write.txn(), &r.almo_id)
            .await
            .map_err(AppError::from)?
            .is_some()
        {
            return Err(AppError::AlreadyExists(format!(
                "{} is already in the directory",
                r.almo_id
            ))
            .into());
        }
        let parent = storage::get(write.txn(), &council_id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound(format!("council {council_id}")))?;
        let now = Utc::now();
        let row = organisation::Model {
            id: r.almo_id.clone(),
            name: r.name.trim().to_string(),
            kind: OrgKind::Almo.as_str().into(),
            // An ALMO is benchmarked among authorities of its council's type and region.
            authority_type: parent.authority_type.clone(),
            region: parent.region.clone(),
            council_id: Some(council_id),
            section27_consent_date: dates.section27_consent,
            go_live_date: dates.go_live,
            agreement_end_date: dates.agreement_end,
            end_date: None,
            stock_size: Some(r.stock_size),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::insert(write.txn(), row.clone())
            .await
            .map_err(AppError::from)?;
        let resp = RegisterAlmoResponse {
            organisation: Some(organisation_to_proto(row, vec![], now.date_naive())),
        };
        write
            .finish(&resp, &format!("organisations/{}", r.almo_id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn update_almo_lifecycle(
        &self,
        request: Request<UpdateAlmoLifecycleRequest>,
    ) -> Result<Response<UpdateAlmoLifecycleResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.almo_id.trim().is_empty(), "almo_id", "required");
        v.require_etag(&r.etag, "the etag of the ALMO as last read");
        if let Some(name) = &r.name {
            check_name(&mut v, name);
        }
        let go_live = r
            .go_live_date
            .as_deref()
            .map(|s| parse_date(&mut v, "go_live_date", s, true));
        let agreement_end = r
            .agreement_end_date
            .as_deref()
            .map(|s| parse_date(&mut v, "agreement_end_date", s, true));
        let end = r
            .end_date
            .as_deref()
            .map(|s| parse_date(&mut v, "end_date", s, true));
        if let Some(stock) = r.stock_size {
            v.check(
                !(1..=500_000).contains(&stock),
                "stock_size",
                "between 1 and 500000",
            );
        }
        v.into_result()?;
        let target = self.ctx.access.require_write(&p, &r.almo_id).await?;
        if target.kind != OrgKind::Almo {
            return Err(
                AppError::invalid("almo_id", format!("{} is not an ALMO", r.almo_id)).into(),
            );
        }
        // The council decides its ALMO's life; the ALMO itself does not.
        if !(p.is_operator() || p.caller.role == Role::CouncilOfficer) {
            return Err(AppError::PermissionDenied(
                "only the parent council's officers or the operator record an ALMO's lifecycle"
                    .into(),
            )
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "UpdateAlmoLifecycle", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let current = storage::get(write.txn(), &r.almo_id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound(format!("ALMO {}", r.almo_id)))?;
        if etag(current.version) != r.etag.trim() {
            return Err(AppError::stale_etag(&format!("organisations/{}", r.almo_id)).into());
        }
        let old = dates_of(&current);
        let mut next = old;
        if let Some(d) = go_live {
            next.go_live = d;
        }
        if let Some(d) = agreement_end {
            next.agreement_end = d;
        }
        if let Some(d) = end {
            next.end = d;
        }
        let today = Utc::now().date_naive();
        let mut v = Violations::new();
        for (field, reason) in old.change_violations(&next, today) {
            v.add(field, reason);
        }
        v.into_result()?;
        let now = Utc::now();
        let mut row = current.clone();
        row.go_live_date = next.go_live;
        row.agreement_end_date = next.agreement_end;
        row.end_date = next.end;
        if let Some(stock) = r.stock_size {
            row.stock_size = Some(stock);
        }
        if let Some(name) = &r.name {
            row.name = name.trim().to_string();
        }
        row.version = current.version + 1;
        row.updated_at = now;
        if !storage::update_if_version(write.txn(), row.clone(), current.version)
            .await
            .map_err(AppError::from)?
        {
            return Err(AppError::stale_etag(&format!("organisations/{}", r.almo_id)).into());
        }
        let resp = UpdateAlmoLifecycleResponse {
            organisation: Some(organisation_to_proto(row, vec![], today)),
        };
        write
            .finish(&resp, &format!("organisations/{}", r.almo_id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn create_peer_group(
        &self,
        request: Request<CreatePeerGroupRequest>,
    ) -> Result<Response<CreatePeerGroupResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        if let Err(e) = codes::check_peer_group_id(&r.peer_group_id) {
            v.add("peer_group_id", e);
        }
        check_name(&mut v, &r.name);
        let kind = pb::PeerGroupKind::try_from(r.kind).unwrap_or(pb::PeerGroupKind::Unspecified);
        v.check(
            kind == pb::PeerGroupKind::Unspecified,
            "kind",
            "required: PEER_GROUP_KIND_CIPFA_NEAREST_NEIGHBOURS or PEER_GROUP_KIND_CHOSEN",
        );
        v.check(
            r.owner_organisation_id.trim().is_empty(),
            "owner_organisation_id",
            "required",
        );
        if kind == pb::PeerGroupKind::Chosen {
            v.check(
                r.justification.trim().chars().count() < 20,
                "justification",
                "a chosen peer group must be justified (003 §75): at least 20 characters",
            );
        }
        let mut members: Vec<String> = r.member_ids.iter().map(|m| m.trim().to_string()).collect();
        members.sort();
        let before = members.len();
        members.dedup();
        v.check(
            members.len() != before,
            "member_ids",
            "lists a member twice",
        );
        v.check(
            members.len() < 2,
            "member_ids",
            "a peer group needs at least two members",
        );
        v.check(
            members.contains(&r.owner_organisation_id),
            "member_ids",
            "must not include the owner: it is compared with its peers",
        );
        v.into_result()?;
        let owner = self
            .ctx
            .access
            .require_write(&p, &r.owner_organisation_id)
            .await?;
        if !matches!(owner.kind, OrgKind::Council | OrgKind::Almo) {
            return Err(AppError::invalid(
                "owner_organisation_id",
                "peer groups are for councils and ALMOs",
            )
            .into());
        }
        if kind == pb::PeerGroupKind::CipfaNearestNeighbours && !p.is_operator() {
            return Err(AppError::PermissionDenied(
                "CIPFA nearest-neighbour groups are loaded by the operator; choose PEER_GROUP_KIND_CHOSEN".into(),
            )
            .into());
        }
        let ctx = p.call_context(SERVICE_NAME, "CreatePeerGroup", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let mut v = Violations::new();
        for m in &members {
            match storage::get(write.txn(), m).await.map_err(AppError::from)? {
                Some(row) if row.kind == "council" || row.kind == "almo" => {}
                Some(_) => v.add("member_ids", format!("{m} is not a council or an ALMO")),
                None => v.add("member_ids", format!("{m} is not in the directory")),
            }
        }
        v.into_result()?;
        if storage::get_peer_group(write.txn(), &r.peer_group_id)
            .await
            .map_err(AppError::from)?
            .is_some()
        {
            return Err(
                AppError::AlreadyExists(format!("peer group {} exists", r.peer_group_id)).into(),
            );
        }
        let now = Utc::now();
        let group = peer_group::Model {
            id: r.peer_group_id.clone(),
            name: r.name.trim().to_string(),
            kind: match kind {
                pb::PeerGroupKind::CipfaNearestNeighbours => "cipfa_nearest_neighbours",
                _ => "chosen",
            }
            .into(),
            owner_organisation_id: owner.id.clone(),
            justification: r.justification.trim().to_string(),
            created_at: now,
        };
        storage::insert_peer_group(write.txn(), group.clone(), &members)
            .await
            .map_err(AppError::from)?;
        let resp = CreatePeerGroupResponse {
            peer_group: Some(peer_group_to_proto(group, members)),
        };
        write
            .finish(&resp, &format!("peerGroups/{}", r.peer_group_id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn list_peer_groups(
        &self,
        request: Request<ListPeerGroupsRequest>,
    ) -> Result<Response<ListPeerGroupsResponse>, Status> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let size = paging::page_size(r.page_size)?;
        let after = paging::decode_token(&r.page_token)?;
        let owner = Some(r.owner_organisation_id.trim()).filter(|o| !o.is_empty());
        let mut rows = storage::list_peer_groups(self.ctx.db.conn(), owner, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|(g, _)| paging::encode_token(&g.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(ListPeerGroupsResponse {
            peer_groups: rows
                .into_iter()
                .map(|(g, m)| peer_group_to_proto(g, m))
                .collect(),
            next_page_token,
        }))
    }
}

fn peer_group_to_proto(g: peer_group::Model, members: Vec<String>) -> pb::PeerGroup {
    pb::PeerGroup {
        id: g.id,
        name: g.name,
        kind: match g.kind.as_str() {
            "cipfa_nearest_neighbours" => pb::PeerGroupKind::CipfaNearestNeighbours,
            _ => pb::PeerGroupKind::Chosen,
        } as i32,
        owner_organisation_id: g.owner_organisation_id,
        justification: g.justification,
        member_ids: members,
        create_time: Some(ts(g.created_at)),
    }
}
