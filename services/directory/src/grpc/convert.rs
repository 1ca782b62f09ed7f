//! Directory rows and domain types <-> the contracts' messages.

use almo_auth::OrgKind;
use almo_db::entity::{organisation, peer_group};
use almo_proto::directory as pb;
use almo_server::{AppError, etag, timestamp as ts};
use chrono::{NaiveDate, Utc};

use super::Directory;
use super::hand_back::with_hand_back;
use crate::domain::{AlmoDates, AlmoStage, AuthorityType};
use crate::{storage, storage_reviews};

impl Directory {
    /// The proto form of `rows`, each council with its ALMOs' ids and each ALMO with its road to
    /// a hand-back: a statement for each of the two, only when such a row is there, both on
    /// `Db::read_all` (on SQLite its held connections, so a `GetOrganisation` of an ALMO is the
    /// access check's hand-off and one more).
    pub(super) async fn to_proto(
        &self,
        rows: Vec<organisation::Model>,
    ) -> Result<Vec<pb::Organisation>, AppError> {
        let councils: Vec<String> = rows
            .iter()
            .filter(|r| r.kind == OrgKind::Council.as_str())
            .map(|r| r.id.clone())
            .collect();
        let almos = storage::almo_ids_of(&self.ctx.db, &councils).await?;
        let almo_rows: Vec<String> = rows
            .iter()
            .filter(|r| r.kind == OrgKind::Almo.as_str())
            .map(|r| r.id.clone())
            .collect();
        let roads = storage_reviews::hand_back_of(&self.ctx.db, &almo_rows).await?;
        let today = Utc::now().date_naive();
        Ok(rows
            .into_iter()
            .map(|r| {
                let ids = almos
                    .iter()
                    .filter(|(c, _)| *c == r.id)
                    .map(|(_, a)| a.clone())
                    .collect();
                let road = roads.get(&r.id);
                with_hand_back(organisation_to_proto(r, ids, today), road)
            })
            .collect())
    }
}

fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(super) fn dates_of(r: &organisation::Model) -> AlmoDates {
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

/// The kind a `ListOrganisations` filter names; `None` for all kinds.
pub(super) fn org_kind_from_proto(kind: i32) -> Result<Option<OrgKind>, String> {
    match pb::OrganisationKind::try_from(kind) {
        Ok(pb::OrganisationKind::Unspecified) => Ok(None),
        Ok(pb::OrganisationKind::Council) => Ok(Some(OrgKind::Council)),
        Ok(pb::OrganisationKind::Almo) => Ok(Some(OrgKind::Almo)),
        Ok(pb::OrganisationKind::Regulator) => Ok(Some(OrgKind::Regulator)),
        Ok(pb::OrganisationKind::Inspectorate) => Ok(Some(OrgKind::Inspectorate)),
        Ok(pb::OrganisationKind::Operator) => Ok(Some(OrgKind::Operator)),
        Err(_) => Err(format!("{kind} is not an OrganisationKind")),
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

/// The authority type a filter names; `None` for all types.
pub(super) fn authority_type_from_proto(t: i32) -> Result<Option<AuthorityType>, String> {
    match pb::AuthorityType::try_from(t) {
        Ok(pb::AuthorityType::Unspecified) => Ok(None),
        Ok(pb::AuthorityType::LondonBorough) => Ok(Some(AuthorityType::LondonBorough)),
        Ok(pb::AuthorityType::Metropolitan) => Ok(Some(AuthorityType::Metropolitan)),
        Ok(pb::AuthorityType::Unitary) => Ok(Some(AuthorityType::Unitary)),
        Ok(pb::AuthorityType::District) => Ok(Some(AuthorityType::District)),
        Err(_) => Err(format!("{t} is not an AuthorityType")),
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
                transfer_opinion_method: 0,
                latest_review: None,
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

pub(super) fn peer_group_kind_of(kind: pb::PeerGroupKind) -> &'static str {
    match kind {
        pb::PeerGroupKind::CipfaNearestNeighbours => "cipfa_nearest_neighbours",
        _ => "chosen",
    }
}

pub(super) fn peer_group_to_proto(g: peer_group::Model, members: Vec<String>) -> pb::PeerGroup {
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
