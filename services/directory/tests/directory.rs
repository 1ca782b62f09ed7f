//! The directory service as a client sees it: a real server on 127.0.0.1:0, a real gRPC client,
//! a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

use almo_auth::Role;
use almo_db::entity::{audit_log, idempotency_key};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{
    self as pb, CreatePeerGroupRequest, GetOrganisationRequest, ListOrganisationsRequest,
    RegisterAlmoRequest, RegisterCouncilRequest, UpdateAlmoLifecycleRequest, WhoAmIRequest,
};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use sea_orm::{EntityTrait, PaginatorTrait};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

async fn app() -> (TestApp, DirectoryServiceClient<Channel>) {
    let app = TestApp::spawn(vec![almo_directory::mount()]).await.unwrap();
    let client = DirectoryServiceClient::new(app.channel().await);
    (app, client)
}

fn almo_request(request_id: &str, almo_id: &str) -> RegisterAlmoRequest {
    RegisterAlmoRequest {
        request_id: request_id.into(),
        almo_id: almo_id.into(),
        name: "Lambeth North Homes".into(),
        council_id: LAMBETH.into(),
        section27_consent_date: "2025-06-01".into(),
        go_live_date: "2026-04-01".into(),
        agreement_end_date: "2036-03-31".into(),
        stock_size: 8000,
    }
}

#[tokio::test]
async fn call_without_token_is_unauthenticated() {
    let (_app, mut client) = app().await;
    let err = client
        .get_organisation(GetOrganisationRequest { id: LAMBETH.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn token_for_an_organisation_not_in_the_directory_is_unauthenticated() {
    let (_app, mut client) = app().await;
    let err = client
        .who_am_i(authed(WhoAmIRequest {}, "E09000099", Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn role_must_fit_the_kind_of_organisation() {
    let (_app, mut client) = app().await;
    // An ALMO role with a council's id.
    let err = client
        .who_am_i(authed(WhoAmIRequest {}, LAMBETH, Role::AlmoFinance))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn who_am_i_describes_the_caller() {
    let (_app, mut client) = app().await;
    let me = client
        .who_am_i(authed(WhoAmIRequest {}, LEEDS, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.role, "council_officer");
    let org = me.organisation.unwrap();
    assert_eq!(org.name, "Leeds City Council");
    let Some(pb::organisation::Details::Council(c)) = org.details else {
        panic!("a council")
    };
    assert_eq!(c.authority_type, pb::AuthorityType::Metropolitan as i32);
    // Leeds is the council with two ALMOs.
    assert_eq!(c.almo_ids.len(), 2);
}

#[tokio::test]
async fn almo_cannot_read_another_councils_almo() {
    let (_app, mut client) = app().await;
    let err = client
        .get_organisation(authed(
            GetOrganisationRequest {
                id: HOMES_FOR_HARINGEY.into(),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The same answer for an id that does not exist: existence is not leaked.
    let err = client
        .get_organisation(authed(
            GetOrganisationRequest {
                id: "NO-SUCH-ALMO".into(),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_directory_change_decides_the_very_next_read() {
    use almo_db::entity::organisation;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let (app, mut client) = app().await;
    let get = || {
        authed(
            GetOrganisationRequest {
                id: LAMBETH_LIVING.into(),
            },
            LAMBETH,
            Role::CouncilOfficer,
        )
    };
    // Read a few times first, so the reads' connections are open and their statement prepared.
    for _ in 0..4 {
        client.get_organisation(get()).await.unwrap();
    }
    // Another writer (another replica, say) moves the ALMO to another council: the next read
    // must be refused, with no stale answer from an earlier one.
    organisation::Entity::update_many()
        .col_expr(organisation::Column::CouncilId, Expr::value(HARINGEY))
        .filter(organisation::Column::Id.eq(LAMBETH_LIVING))
        .exec(app.db.conn())
        .await
        .unwrap();
    for _ in 0..4 {
        let err = client.get_organisation(get()).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}

#[tokio::test]
async fn almo_cannot_read_its_sibling_almo_but_sees_its_council() {
    let (_app, mut client) = app().await;
    let err = client
        .get_organisation(authed(
            GetOrganisationRequest {
                id: LEEDS_WNW.into(),
            },
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let council = client
        .get_organisation(authed(
            GetOrganisationRequest { id: LEEDS.into() },
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(council.id, LEEDS);
}

#[tokio::test]
async fn regulator_gets_not_found_for_unknown_ids() {
    let (_app, mut client) = app().await;
    let err = client
        .get_organisation(authed(
            GetOrganisationRequest {
                id: "E09000099".into(),
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn list_all(
    client: &mut DirectoryServiceClient<Channel>,
    org: &str,
    role: Role,
    mut req: ListOrganisationsRequest,
) -> Vec<pb::Organisation> {
    let mut out = Vec::new();
    loop {
        let page = client
            .list_organisations(authed(req.clone(), org, role))
            .await
            .unwrap()
            .into_inner();
        out.extend(page.organisations);
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn list_shows_a_council_only_itself_its_almos_and_the_national_bodies() {
    let (_app, mut client) = app().await;
    let ids: Vec<String> = list_all(&mut client, LEEDS, Role::CouncilOfficer, Default::default())
        .await
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        ids,
        vec![LEEDS, INSPECTORATE, LEEDS_ENE, REGULATOR, LEEDS_WNW]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
            .tap_sort()
    );
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

#[tokio::test]
async fn list_pages_through_everything_without_gaps_or_repeats() {
    let (_app, mut client) = app().await;
    let req = ListOrganisationsRequest {
        page_size: 4,
        ..Default::default()
    };
    let ids: Vec<String> = list_all(&mut client, REGULATOR, Role::Regulator, req)
        .await
        .into_iter()
        .map(|o| o.id)
        .collect();
    let expected = 3 + COUNCILS.len() + ALMOS.len();
    assert_eq!(ids.len(), expected);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "ordered by id, no repeats");
}

#[tokio::test]
async fn list_filters_by_authority_type_and_region() {
    let (_app, mut client) = app().await;
    let req = ListOrganisationsRequest {
        kind: pb::OrganisationKind::Council as i32,
        authority_type: pb::AuthorityType::District as i32,
        ..Default::default()
    };
    let districts = list_all(&mut client, REGULATOR, Role::Regulator, req).await;
    assert_eq!(districts.len(), 4);
    assert!(districts.iter().all(|o| o.id.starts_with("E07")));
    let req = ListOrganisationsRequest {
        region: "london".into(),
        kind: pb::OrganisationKind::Almo as i32,
        ..Default::default()
    };
    let london_almos = list_all(&mut client, REGULATOR, Role::Regulator, req).await;
    assert_eq!(london_almos.len(), 3);
    let err = client
        .list_organisations(authed(
            ListOrganisationsRequest {
                region: "Atlantis".into(),
                page_size: -1,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(fields, vec!["region", "page_size"]);
}

#[tokio::test]
async fn council_type_is_derived_from_the_ons_code() {
    let (_app, mut client) = app().await;
    let org = client
        .register_council(authed(
            RegisterCouncilRequest {
                request_id: "r1".into(),
                ons_code: "E06000015".into(),
                name: "Derby City Council".into(),
                region: "East Midlands".into(),
            },
            OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    let Some(pb::organisation::Details::Council(c)) = org.details else {
        panic!("a council")
    };
    assert_eq!(c.authority_type, pb::AuthorityType::Unitary as i32);
    assert_eq!(org.etag, "v1");
}

#[tokio::test]
async fn bad_council_fields_are_each_named() {
    let (_app, mut client) = app().await;
    let err = client
        .register_council(authed(
            RegisterCouncilRequest {
                request_id: "r1".into(),
                ons_code: "W06000015".into(),
                name: "".into(),
                region: "Wales".into(),
            },
            OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_error_details();
    let fields: Vec<&str> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, vec!["ons_code", "name", "region"]);
    assert_eq!(details.error_info().unwrap().reason, "INVALID_FIELD");
}

#[tokio::test]
async fn only_the_operator_registers_councils() {
    let (_app, mut client) = app().await;
    let err = client
        .register_council(authed(
            RegisterCouncilRequest {
                request_id: "r1".into(),
                ons_code: "E06000015".into(),
                name: "Derby City Council".into(),
                region: "East Midlands".into(),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn council_registers_its_own_almo_but_not_another_councils() {
    let (_app, mut client) = app().await;
    let ok = client
        .register_almo(authed(
            almo_request("r1", "LAMBETH-NORTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    let Some(pb::organisation::Details::Almo(a)) = ok.details else {
        panic!("an ALMO")
    };
    assert_eq!(a.council_id, LAMBETH);
    assert_eq!(a.stage, pb::AlmoStage::Live as i32);
    let err = client
        .register_almo(authed(
            almo_request("r2", "LAMBETH-SOUTH"),
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn retried_write_replays_the_first_answer_and_writes_once() {
    let (app, mut client) = app().await;
    let first = client
        .register_almo(authed(
            almo_request("retry-1", "LAMBETH-NORTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .register_almo(authed(
            almo_request("retry-1", "LAMBETH-NORTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first, again,
        "the replay is the first answer, timestamps and all"
    );
    let audits = audit_log::Entity::find()
        .count(app.db.conn())
        .await
        .unwrap();
    assert_eq!(audits, 1);
}

#[tokio::test]
async fn same_request_id_with_another_payload_is_refused() {
    let (app, mut client) = app().await;
    client
        .register_almo(authed(
            almo_request("dup-1", "LAMBETH-NORTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap();
    let err = client
        .register_almo(authed(
            almo_request("dup-1", "LAMBETH-SOUTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_error_details().error_info().unwrap().reason,
        "REQUEST_ID_REUSED"
    );
    assert_eq!(
        audit_log::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn refused_write_leaves_no_audit_row_and_no_request_id() {
    let (app, mut client) = app().await;
    // LAMBETH-LIVING exists: the write is refused after its request id was claimed.
    let err = client
        .register_almo(authed(
            almo_request("exists-1", LAMBETH_LIVING),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(
        audit_log::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        idempotency_key::Entity::find()
            .count(app.db.conn())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn write_without_request_id_is_refused() {
    let (_app, mut client) = app().await;
    let err = client
        .register_almo(authed(
            almo_request("", "LAMBETH-NORTH"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "request_id"
    );
}

#[tokio::test]
async fn stale_etag_is_aborted() {
    let (_app, mut client) = app().await;
    let get = |client: &mut DirectoryServiceClient<Channel>| {
        let mut c = client.clone();
        async move {
            c.get_organisation(authed(
                GetOrganisationRequest {
                    id: LAMBETH_LIVING.into(),
                },
                LAMBETH,
                Role::CouncilOfficer,
            ))
            .await
            .unwrap()
            .into_inner()
            .organisation
            .unwrap()
        }
    };
    let before = get(&mut client).await;
    let extend = |request_id: &str, etag: &str, end: &str| UpdateAlmoLifecycleRequest {
        request_id: request_id.into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag.into(),
        agreement_end_date: Some(end.into()),
        ..Default::default()
    };
    let updated = client
        .update_almo_lifecycle(authed(
            extend("u1", &before.etag, "2038-03-31"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    assert_ne!(updated.etag, before.etag);
    let err = client
        .update_almo_lifecycle(authed(
            extend("u2", &before.etag, "2040-03-31"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(get(&mut client).await.etag, updated.etag);
}

#[tokio::test]
async fn agreement_is_extended_not_shortened() {
    let (_app, mut client) = app().await;
    let err = client
        .update_almo_lifecycle(authed(
            UpdateAlmoLifecycleRequest {
                request_id: "u1".into(),
                almo_id: LAMBETH_LIVING.into(),
                etag: "v1".into(),
                agreement_end_date: Some("2020-03-31".into()),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "agreement_end_date"
    );
}

#[tokio::test]
async fn the_almo_itself_does_not_record_its_lifecycle() {
    let (_app, mut client) = app().await;
    let err = client
        .update_almo_lifecycle(authed(
            UpdateAlmoLifecycleRequest {
                request_id: "u1".into(),
                almo_id: LAMBETH_LIVING.into(),
                etag: "v1".into(),
                stock_size: Some(30_000),
                ..Default::default()
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn chosen_peer_group_must_be_justified() {
    let (_app, mut client) = app().await;
    let mut req = CreatePeerGroupRequest {
        request_id: "p1".into(),
        peer_group_id: "LAMBETH-INNER-LONDON".into(),
        name: "Inner London landlords".into(),
        kind: pb::PeerGroupKind::Chosen as i32,
        owner_organisation_id: LAMBETH.into(),
        justification: "".into(),
        member_ids: vec![HARINGEY.into(), "E09000012".into()],
    };
    let err = client
        .create_peer_group(authed(req.clone(), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    req.request_id = "p2".into();
    req.justification = "Inner London boroughs with similar stock age and deprivation".into();
    let group = client
        .create_peer_group(authed(req, LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner()
        .peer_group
        .unwrap();
    assert_eq!(group.member_ids, vec!["E09000012", HARINGEY]);
}

#[tokio::test]
async fn peer_groups_are_seen_by_their_owner_its_council_and_the_regulator_only() {
    let (_app, mut client) = app().await;
    // Lambeth Living chooses a group; Lambeth owns the demo CIPFA group.
    client
        .create_peer_group(authed(
            CreatePeerGroupRequest {
                request_id: "pg-1".into(),
                peer_group_id: "LL-INNER-LONDON".into(),
                name: "Inner London ALMOs".into(),
                kind: pb::PeerGroupKind::Chosen as i32,
                owner_organisation_id: LAMBETH_LIVING.into(),
                justification: "ALMOs managing inner London stock of a similar age".into(),
                member_ids: vec![HOMES_FOR_HARINGEY.into(), LEEDS_ENE.into()],
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap();
    let seen = |org: &'static str, role: Role| {
        let mut client = client.clone();
        async move {
            let mut ids: Vec<String> = client
                .list_peer_groups(authed(pb::ListPeerGroupsRequest::default(), org, role))
                .await
                .unwrap()
                .into_inner()
                .peer_groups
                .into_iter()
                .map(|g| g.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        seen(LAMBETH_LIVING, Role::AlmoOfficer).await,
        ["LL-INNER-LONDON"]
    );
    assert_eq!(
        seen(LAMBETH, Role::CouncilOfficer).await,
        ["CIPFA-LAMBETH", "LL-INNER-LONDON"]
    );
    assert_eq!(
        seen(REGULATOR, Role::Regulator).await,
        ["CIPFA-LAMBETH", "LL-INNER-LONDON"]
    );
    // A member, another council and another council's ALMO see neither.
    assert!(seen(HOMES_FOR_HARINGEY, Role::AlmoOfficer).await.is_empty());
    assert!(seen(HARINGEY, Role::CouncilOfficer).await.is_empty());
    assert!(seen(LEEDS_ENE, Role::AlmoOfficer).await.is_empty());
    // Naming another's group as the owner filter finds nothing either.
    let named = client
        .list_peer_groups(authed(
            pb::ListPeerGroupsRequest {
                owner_organisation_id: LAMBETH.into(),
                ..Default::default()
            },
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(named.peer_groups.is_empty());
}
