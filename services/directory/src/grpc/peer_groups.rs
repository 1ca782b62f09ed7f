//! Benchmarking peer groups: CIPFA nearest neighbours (loaded by the operator) and groups an
//! organisation chooses and justifies (003 §75).

use almo_auth::OrgKind;
use almo_db::Begun;
use almo_db::entity::peer_group;
use almo_proto::directory::{
    self as pb, CreatePeerGroupRequest, CreatePeerGroupResponse, ListPeerGroupsRequest,
    ListPeerGroupsResponse,
};
use almo_server::{AppError, Principal, Violations, paging};
use chrono::Utc;
use tonic::Request;

use super::convert::{peer_group_kind_of, peer_group_to_proto};
use super::{Directory, SERVICE_NAME};
use crate::domain::codes;
use crate::storage;

impl Directory {
    /// Whose peer groups `p` may list (`None`: everyone's). A chosen group and its
    /// justification are its owner's business: the owner sees them, a council sees its ALMOs',
    /// the regulator (who benchmarks by them) and the operator see all; members do not.
    async fn peer_group_owners_visible_to(
        &self,
        p: &Principal,
    ) -> Result<Option<Vec<String>>, AppError> {
        Ok(match p.org.kind {
            OrgKind::Regulator | OrgKind::Operator => None,
            OrgKind::Council => {
                let mut owners = vec![p.org.id.clone()];
                let almos = storage::almo_ids_of(&self.ctx.db, &owners).await?;
                owners.extend(almos.into_iter().map(|(_, almo)| almo));
                Some(owners)
            }
            OrgKind::Almo => Some(vec![p.org.id.clone()]),
            OrgKind::Inspectorate => Some(Vec::new()),
        })
    }

    pub(super) async fn create_peer_group(
        &self,
        request: Request<CreatePeerGroupRequest>,
    ) -> Result<CreatePeerGroupResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.field(
            "peer_group_id",
            codes::check_peer_group_id(&r.peer_group_id),
        );
        v.field("name", almo_fields::name(&r.name));
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
            ));
        }
        if kind == pb::PeerGroupKind::CipfaNearestNeighbours && !p.is_operator() {
            return Err(AppError::PermissionDenied(
                "CIPFA nearest-neighbour groups are loaded by the operator; choose PEER_GROUP_KIND_CHOSEN".into(),
            ));
        }
        let ctx = p.call_context(SERVICE_NAME, "CreatePeerGroup", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        let mut v = Violations::new();
        for m in &members {
            match storage::get(write.txn(), m).await? {
                Some(row) if row.kind == "council" || row.kind == "almo" => {}
                Some(_) => v.add("member_ids", format!("{m} is not a council or an ALMO")),
                None => v.add("member_ids", format!("{m} is not in the directory")),
            }
        }
        v.into_result()?;
        if storage::get_peer_group(write.txn(), &r.peer_group_id)
            .await?
            .is_some()
        {
            return Err(AppError::AlreadyExists(format!(
                "peer group {} exists",
                r.peer_group_id
            )));
        }
        let group = peer_group::Model {
            id: r.peer_group_id.clone(),
            name: r.name.trim().to_string(),
            kind: peer_group_kind_of(kind).into(),
            owner_organisation_id: owner.id.clone(),
            justification: r.justification.trim().to_string(),
            created_at: Utc::now(),
        };
        storage::insert_peer_group(write.txn(), group.clone(), &members).await?;
        let resp = CreatePeerGroupResponse {
            peer_group: Some(peer_group_to_proto(group, members)),
        };
        write
            .finish(&resp, &format!("peerGroups/{}", r.peer_group_id))
            .await?;
        Ok(resp)
    }

    pub(super) async fn list_peer_groups(
        &self,
        request: Request<ListPeerGroupsRequest>,
    ) -> Result<ListPeerGroupsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let size = paging::page_size(r.page_size)?;
        let after = paging::decode_token(&r.page_token)?;
        let owner = Some(r.owner_organisation_id.trim()).filter(|o| !o.is_empty());
        let visible = self.peer_group_owners_visible_to(&p).await?;
        let rows = storage::list_peer_groups(
            self.ctx.db.conn(),
            owner,
            visible.as_deref(),
            after,
            size + 1,
        )
        .await?;
        let (rows, next_page_token) = paging::page(rows, size, |(g, _)| g.id.clone());
        Ok(ListPeerGroupsResponse {
            peer_groups: rows
                .into_iter()
                .map(|(g, m)| peer_group_to_proto(g, m))
                .collect(),
            next_page_token,
        })
    }
}
