//! The directory: one row per RPC (see the module documentation of `access_matrix.rs`).

use almo_proto::directory as dir;

use crate::harness::{Row, first, row};
use crate::world::*;

pub fn rows() -> Vec<Row> {
    vec![
        row!("DirectoryService/WhoAmI", "* ok/-/-", |c, _s| c
            .dir
            .who_am_i(dir::WhoAmIRequest {})),
        row!(
            "DirectoryService/GetOrganisation",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| c
                .dir
                .get_organisation(dir::GetOrganisationRequest { id: s.almo })
        ),
        row!(
            "DirectoryService/ListOrganisations",
            "* ok/ok/ok",
            |c, s| c.dir.list_organisations(dir::ListOrganisationsRequest {
                council_id: s.council,
                ..Default::default()
            })
        ),
        row!(
            "DirectoryService/RegisterCouncil",
            "* pd/-/-  AD ok/-/-",
            |c, _s| c.dir.register_council(dir::RegisterCouncilRequest {
                request_id: rid(),
                ons_code: "E07000001".into(),
                name: "Matrix District".into(),
                region: "London".into(),
            })
        ),
        row!(
            "DirectoryService/RegisterAlmo",
            "* pd/pd/pd  CO ok/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD ok/ok/nf",
            |c, s| c.dir.register_almo(dir::RegisterAlmoRequest {
                request_id: rid(),
                almo_id: format!("MATRIX-{}", rid_n()),
                name: "Matrix Homes".into(),
                council_id: s.council,
                section27_consent_date: "2004-01-01".into(),
                go_live_date: String::new(),
                agreement_end_date: String::new(),
                stock_size: 1000,
            })
        ),
        row!(
            "DirectoryService/UpdateAlmoLifecycle",
            "* pd/pd/pd  CO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD ab/ab/nf",
            |c, s| c
                .dir
                .update_almo_lifecycle(dir::UpdateAlmoLifecycleRequest {
                    request_id: rid(),
                    almo_id: s.almo,
                    etag: STALE.into(),
                    stock_size: Some(1000),
                    ..Default::default()
                })
        ),
        row!(
            "DirectoryService/CreatePeerGroup",
            "* pd/pd/pd  CO ok/pd/pd  CF ok/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD ok/ok/nf",
            |c, s| c.dir.create_peer_group(dir::CreatePeerGroupRequest {
                request_id: rid(),
                peer_group_id: format!("PG-{}", rid_n()),
                name: "Matrix peers".into(),
                kind: dir::PeerGroupKind::Chosen as i32,
                owner_organisation_id: s.council,
                justification: "similar stock, deprivation and tenure mix".into(),
                member_ids: vec!["E08000019".into(), "E08000025".into()],
            })
        ),
        row!("DirectoryService/ListPeerGroups", "* ok/ok/ok", |c, s| c
            .dir
            .list_peer_groups(dir::ListPeerGroupsRequest {
                owner_organisation_id: s.council,
                ..Default::default()
            })),
        row!(
            "DirectoryService/RecordOptionsReview",
            "* pd/pd/pd  CO ab/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD ab/ab/nf",
            |c, s| c
                .dir
                .record_options_review(dir::RecordOptionsReviewRequest {
                    request_id: rid(),
                    almo_id: s.almo,
                    etag: STALE.into(),
                    start_date: "2031-01-06".into(),
                    ..Default::default()
                })
        ),
        row!(
            "DirectoryService/WatchLifecycleEvents",
            "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
            |c, s| first(
                c.dir
                    .watch_lifecycle_events(dir::WatchLifecycleEventsRequest {
                        after_event_id: "0".into(),
                        almo_id: s.almo,
                    })
            )
        ),
    ]
}
