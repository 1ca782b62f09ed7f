//! The PI returns service as a client sees it: a real server on 127.0.0.1:0, a real gRPC client,
//! a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

use almo_auth::{Role, TokenRequest};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{
    self as pb, CreateReturnRequest, GetBenchmarkRequest, GetIndicatorRequest, GetReturnRequest,
    ImportCatalogueRequest, ListIndicatorsRequest, QueryReturnsRequest, ReturnForCorrectionRequest,
    ReviseReturnRequest, SetValuesRequest, SignOffReturnRequest, SubmitReturnRequest, ValueInput,
};
use almo_testkit::{TestApp, authed};
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

const LAMBETH: &str = "E09000022";
const LAMBETH_LIVING: &str = "LAMBETH-LIVING";
const HOMES_FOR_HARINGEY: &str = "HOMES-FOR-HARINGEY";
const REGULATOR: &str = "RSH";
const OPERATOR: &str = "OPERATOR";

type Client = PiReturnsServiceClient<Channel>;

async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_pi_returns::mount()])
        .await
        .unwrap();
    almo_pi_returns::demo::seed(&app.db).await.unwrap();
    let client = PiReturnsServiceClient::new(app.channel().await);
    (app, client)
}

/// A request from a named person of `org` (the testkit's tokens are all `role@org`).
fn person<T>(msg: T, org: &str, role: Role, subject: &str) -> Request<T> {
    let token = almo_testkit::minter().mint(&TokenRequest {
        subject: subject.into(),
        organisation_id: org.into(),
        role,
        ttl_secs: 3600,
    });
    let mut req = Request::new(msg);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

fn year(y: i32) -> Option<FinancialYear> {
    Some(FinancialYear { start_year: y })
}

fn annual(y: i32) -> Option<Period> {
    Some(Period {
        year: year(y),
        kind: PeriodKind::Year as i32,
        number: 1,
    })
}

fn value(code: &str, v: f64) -> ValueInput {
    ValueInput {
        indicator_code: code.into(),
        value: Some(v),
        ..Default::default()
    }
}

fn split(code: &str, split: &str, v: f64) -> ValueInput {
    ValueInput {
        split: split.into(),
        ..value(code, v)
    }
}

/// Every indicator mandatory in 2004/05, with ordinary figures.
fn mandatory_2004() -> Vec<ValueInput> {
    vec![
        value("BVPI 63", 60.0),
        value("BVPI 66a", 97.5),
        value("BVPI 74", 80.0),
        split("BVPI 74", "bme", 76.0),
        split("BVPI 74", "non_bme", 81.0),
        value("BVPI 75", 65.0),
        split("BVPI 75", "bme", 60.0),
        split("BVPI 75", "non_bme", 66.0),
        value("BVPI 164", 1.0),
        value("BVPI 184a", 30.0),
        value("BVPI 184b", 10.0),
        value("BVPI 185", 85.0),
    ]
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

const ANN: &str = "ann.officer@LAMBETH-LIVING";
const BOB: &str = "bob.certifier@LAMBETH-LIVING";

/// The officer role of a council (an ONS code) or an ALMO.
fn officer(org: &str) -> Role {
    if org.starts_with('E') {
        Role::CouncilOfficer
    } else {
        Role::AlmoOfficer
    }
}

async fn create(client: &mut Client, org: &str, subject: &str, y: i32) -> pb::PiReturn {
    let role = officer(org);
    client
        .create_return(person(
            CreateReturnRequest {
                request_id: format!("create-{org}-{y}"),
                organisation_id: org.into(),
                period: annual(y),
            },
            org,
            role,
            subject,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap()
}

async fn set(
    client: &mut Client,
    r: &pb::PiReturn,
    subject: &str,
    values: Vec<ValueInput>,
) -> Result<pb::PiReturn, tonic::Status> {
    client
        .set_values(person(
            SetValuesRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values,
                survey: None,
            },
            &r.organisation_id,
            officer(&r.organisation_id),
            subject,
        ))
        .await
        .map(|r| r.into_inner().pi_return.unwrap())
}

async fn submit(
    client: &mut Client,
    r: &pb::PiReturn,
    subject: &str,
) -> Result<pb::PiReturn, tonic::Status> {
    client
        .submit_return(person(
            SubmitReturnRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
            },
            &r.organisation_id,
            officer(&r.organisation_id),
            subject,
        ))
        .await
        .map(|r| r.into_inner().pi_return.unwrap())
}

async fn sign_off(
    client: &mut Client,
    r: &pb::PiReturn,
    org: &str,
    role: Role,
    subject: &str,
) -> Result<pb::PiReturn, tonic::Status> {
    client
        .sign_off_return(person(
            SignOffReturnRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
            },
            org,
            role,
            subject,
        ))
        .await
        .map(|r| r.into_inner().pi_return.unwrap())
}

/// Lambeth Living's 2004/05 return, complete and submitted by Ann.
async fn submitted_2004(client: &mut Client) -> pb::PiReturn {
    let r = create(client, LAMBETH_LIVING, ANN, 2004).await;
    let r = set(client, &r, ANN, mandatory_2004()).await.unwrap();
    submit(client, &r, ANN).await.unwrap()
}

fn current(r: &pb::PiReturn, code: &str) -> f64 {
    r.values
        .iter()
        .find(|v| v.indicator_code == code && v.split.is_empty())
        .unwrap_or_else(|| panic!("{code} missing"))
        .value
}

#[tokio::test]
async fn demo_loads_once_however_often_it_runs() {
    let (app, _client) = app().await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = || async {
        (
            almo_db::entity::pi_return::Entity::find()
                .count(app.db.conn())
                .await
                .unwrap(),
            almo_db::entity::pi_return_value::Entity::find()
                .count(app.db.conn())
                .await
                .unwrap(),
        )
    };
    let before = count().await;
    assert_eq!(before, (16, 15 * 9 + 4));
    almo_pi_returns::demo::seed(&app.db).await.unwrap();
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn value_out_of_range_refused_with_the_field_named() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = set(
        &mut client,
        &r,
        ANN,
        vec![value("BVPI 66a", 97.0), value("BVPI 185", 104.0)],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["values[1].value"]);
    assert!(err.message().contains("out of range"), "{}", err.message());
    // Nothing of the refused request was recorded.
    let got = client
        .get_return(authed(
            GetReturnRequest {
                return_id: r.id.clone(),
                include_history: true,
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert!(got.values.is_empty());
    assert_eq!(got.etag, r.etag);
}

#[tokio::test]
async fn unknown_indicator_and_wrong_unit_refused_with_the_field_named() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let mut relet = value("old BVPI 68", 30.0);
    relet.unit = pb::Unit::Percent as i32;
    let err = set(
        &mut client,
        &r,
        ANN,
        vec![value("TP01", 80.0), relet, value("BVPI 66a", 96.123)],
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(&err),
        vec![
            "values[0].indicator_code",
            "values[1].unit",
            "values[2].value"
        ]
    );
}

#[tokio::test]
async fn ratio_recomputed_from_numerator_and_denominator() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let rent = ValueInput {
        indicator_code: "BVPI 66a".into(),
        numerator: Some(96_540_000.0),
        denominator: Some(100_000_000.0),
        ..Default::default()
    };
    let r = set(&mut client, &r, ANN, vec![rent.clone()]).await.unwrap();
    assert_eq!(current(&r, "BVPI 66a"), 96.54);
    let v = &r.values[0];
    assert_eq!(v.numerator, Some(96_540_000.0));
    assert_eq!(v.denominator, Some(100_000_000.0));
    // A stated figure that does not match its parts is refused, naming the figure.
    let wrong = ValueInput {
        value: Some(97.54),
        ..rent
    };
    let err = set(&mut client, &r, ANN, vec![wrong]).await.unwrap_err();
    assert_eq!(fields(&err), vec!["values[0].value"]);
    assert!(err.message().contains("96.54"), "{}", err.message());
}

#[tokio::test]
async fn warning_without_explanation_refused_with_explanation_accepted() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = set(&mut client, &r, ANN, vec![value("BVPI 66a", 85.0)])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["values[0].explanation"]);
    let mut explained = value("BVPI 66a", 85.0);
    explained.explanation = "Housing benefit backlog at the council, cleared in April.".into();
    let r = set(&mut client, &r, ANN, vec![explained]).await.unwrap();
    let v = &r.values[0];
    assert_eq!(v.value, 85.0);
    assert_eq!(v.warnings.len(), 1);
    assert!(v.warnings[0].contains("usual range"));
    assert!(v.explanation.contains("backlog"));
}

#[tokio::test]
async fn mandatory_indicators_missing_block_submission() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let mut some = mandatory_2004();
    some.retain(|v| v.indicator_code != "BVPI 185" && v.indicator_code != "BVPI 74");
    let r = set(&mut client, &r, ANN, some).await.unwrap();
    let err = submit(&mut client, &r, ANN).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "MANDATORY_INDICATORS_MISSING");
    assert!(err.message().contains("BVPI 185") && err.message().contains("BVPI 74"));
    let r = set(
        &mut client,
        &r,
        ANN,
        vec![value("BVPI 185", 85.0), value("BVPI 74", 80.0)],
    )
    .await
    .unwrap();
    // Satisfaction without its BME / non-BME split is a warning that needs explaining.
    let err = submit(&mut client, &r, ANN).await.unwrap_err();
    assert_eq!(reason(&err), "MISSING_SPLITS_UNEXPLAINED");
    assert!(err.message().contains("bme"), "{}", err.message());
    let mut explained = value("BVPI 74", 80.0);
    explained.explanation = "The 2004 survey did not record ethnicity; fixed for 2005.".into();
    let r = set(&mut client, &r, ANN, vec![explained]).await.unwrap();
    let r = submit(&mut client, &r, ANN).await.unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(r.submitted_by, ANN);
    // 2004/05 closed long ago: the submission is recorded as late.
    assert!(r.late);
    assert_eq!(r.deadline_date, "2005-06-30");
}

#[tokio::test]
async fn submitter_cannot_sign_off_their_own_return() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, ANN)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "CERTIFIER_IS_SUBMITTER");
    // A second person at the ALMO may certify it; so may its council.
    let signed = sign_off(
        &mut client,
        &r,
        LAMBETH,
        Role::CouncilOfficer,
        "cath@E09000022",
    )
    .await
    .unwrap();
    assert_eq!(signed.status, pb::ReturnStatus::SignedOff as i32);
    assert_eq!(signed.signed_off_by, "cath@E09000022");
    assert!(signed.sign_off_time.is_some());
    // Signed off means no more edits: corrections are revisions.
    let err = set(&mut client, &signed, ANN, vec![value("BVPI 66a", 98.0)])
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATUS");
}

#[tokio::test]
async fn another_council_and_other_roles_cannot_certify() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = sign_off(
        &mut client,
        &r,
        "E09000014",
        Role::CouncilOfficer,
        "x@E09000014",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoFinance, BOB)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = sign_off(&mut client, &r, REGULATOR, Role::Regulator, "analyst@RSH")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn returned_for_correction_then_resubmitted_and_signed_off() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let returned = client
        .return_for_correction(person(
            ReturnForCorrectionRequest {
                request_id: "back-1".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                reason: "BVPI 66a excludes the garage rents; recompute it.".into(),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            BOB,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(returned.status, pb::ReturnStatus::Returned as i32);
    assert!(returned.returned_reason.contains("garage"));
    // While it is being reworked the regulator does not see it.
    let err = client
        .get_return(authed(
            GetReturnRequest {
                return_id: r.id.clone(),
                include_history: false,
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let fixed = set(&mut client, &returned, ANN, vec![value("BVPI 66a", 97.1)])
        .await
        .unwrap();
    let again = submit(&mut client, &fixed, ANN).await.unwrap();
    let signed = sign_off(&mut client, &again, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    assert_eq!(signed.status, pb::ReturnStatus::SignedOff as i32);
    assert_eq!(current(&signed, "BVPI 66a"), 97.1);
}

#[tokio::test]
async fn revision_keeps_the_earlier_value_visible() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let signed = sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    // A revision needs its reason.
    let err = client
        .revise_return(person(
            ReviseReturnRequest {
                request_id: "rev-0".into(),
                return_id: signed.id.clone(),
                etag: signed.etag.clone(),
                reason: String::new(),
                values: vec![value("BVPI 66a", 96.9)],
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["reason"]);
    let revised = client
        .revise_return(person(
            ReviseReturnRequest {
                request_id: "rev-1".into(),
                return_id: signed.id.clone(),
                etag: signed.etag.clone(),
                reason: "Audit found arrears written off twice".into(),
                values: vec![value("BVPI 66a", 96.9)],
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(revised.revision, 1);
    // The corrected return goes back to a certifier.
    assert_eq!(revised.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(current(&revised, "BVPI 66a"), 96.9);
    let full = client
        .get_return(authed(
            GetReturnRequest {
                return_id: signed.id.clone(),
                include_history: true,
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    let earlier: Vec<_> = full
        .history
        .iter()
        .filter(|v| v.indicator_code == "BVPI 66a")
        .collect();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0].value, 97.5);
    assert!(!earlier[0].current);
    assert_eq!(earlier[0].changed_by, ANN);
    assert_eq!(earlier[0].sequence, 1);
    assert!(earlier[0].change_time.is_some());
    let now = full
        .values
        .iter()
        .find(|v| v.indicator_code == "BVPI 66a")
        .unwrap();
    assert_eq!(now.sequence, 2);
    assert_eq!(now.revision_reason, "Audit found arrears written off twice");
    // The reviser cannot certify the revision; the other officer can.
    let err = sign_off(&mut client, &full, LAMBETH_LIVING, Role::AlmoOfficer, ANN)
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CERTIFIER_IS_SUBMITTER");
    sign_off(&mut client, &full, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
}

#[tokio::test]
async fn stale_etag_is_aborted_and_repeated_request_id_replays() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let req = SetValuesRequest {
        request_id: "same-id".into(),
        return_id: r.id.clone(),
        etag: r.etag.clone(),
        values: vec![value("BVPI 66a", 97.0)],
        survey: None,
    };
    let first = client
        .set_values(person(req.clone(), LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .set_values(person(req.clone(), LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    // The replay wrote nothing: one entry only.
    let got = client
        .get_return(authed(
            GetReturnRequest {
                return_id: r.id.clone(),
                include_history: true,
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(got.values.len(), 1);
    assert!(got.history.is_empty());
    // Same id, other payload: refused.
    let mut other = req.clone();
    other.values = vec![value("BVPI 66a", 98.0)];
    let err = client
        .set_values(person(other, LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    // The old etag is stale now.
    let mut stale = req;
    stale.request_id = "new-id".into();
    let err = client
        .set_values(person(stale, LAMBETH_LIVING, Role::AlmoOfficer, ANN))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
}

#[tokio::test]
async fn only_the_organisations_own_officers_write_its_returns() {
    let (_app, mut client) = app().await;
    // Another council's ALMO, the parent council, finance staff and the regulator may not open
    // Lambeth Living's return.
    for (org, role) in [
        (HOMES_FOR_HARINGEY, Role::AlmoOfficer),
        (LAMBETH, Role::CouncilOfficer),
        (LAMBETH_LIVING, Role::AlmoFinance),
        (REGULATOR, Role::Regulator),
    ] {
        let err = client
            .create_return(authed(
                CreateReturnRequest {
                    request_id: format!("c-{org}-{role}"),
                    organisation_id: LAMBETH_LIVING.into(),
                    period: annual(2004),
                },
                org,
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org} {role}");
    }
    let err = client
        .create_return(authed(
            CreateReturnRequest {
                request_id: "bad".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: Some(Period {
                    year: year(2004),
                    kind: PeriodKind::Quarter as i32,
                    number: 5,
                }),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["period.number"]);
    // One return per organisation and period.
    create(&mut client, LAMBETH_LIVING, ANN, 2004).await;
    let err = client
        .create_return(person(
            CreateReturnRequest {
                request_id: "second".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: annual(2004),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn drafts_invisible_to_the_regulator() {
    let (_app, mut client) = app().await;
    // The demo's Lambeth Living 2024/25 draft.
    let draft = "LAMBETH-LIVING/2024/Y";
    let err = client
        .get_return(authed(
            GetReturnRequest {
                return_id: draft.into(),
                include_history: false,
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let listed = client
        .query_returns(authed(
            QueryReturnsRequest {
                organisation_id: LAMBETH_LIVING.into(),
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.pi_returns.is_empty());
    let drafts = client
        .query_returns(authed(
            QueryReturnsRequest {
                status: pb::ReturnStatus::Draft as i32,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(drafts.pi_returns.is_empty());
    // Its own council sees the draft, values and all.
    let seen_by_council = client
        .get_return(authed(
            GetReturnRequest {
                return_id: draft.into(),
                include_history: false,
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(seen_by_council.values.len(), 4);
    // Once submitted, the regulator reads it, values and all.
    let r = submitted_2004(&mut client).await;
    let seen = client
        .get_return(authed(
            GetReturnRequest {
                return_id: r.id.clone(),
                include_history: false,
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(current(&seen, "BVPI 66a"), 97.5);
}

#[tokio::test]
async fn almo_cannot_read_anothers_named_values() {
    let (_app, mut client) = app().await;
    let r = submitted_2004(&mut client).await;
    let err = client
        .get_return(authed(
            GetReturnRequest {
                return_id: r.id.clone(),
                include_history: false,
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let listed = client
        .query_returns(authed(
            QueryReturnsRequest {
                organisation_id: LAMBETH_LIVING.into(),
                ..Default::default()
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.pi_returns.is_empty());
    let everything = client
        .query_returns(authed(
            QueryReturnsRequest::default(),
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(everything.pi_returns.is_empty());
    // In benchmarking an ALMO sees the quartiles of everyone but no one's name.
    let bench = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "BVPI 66a".into(),
                year: year(2001),
                authority_type: "london_borough".into(),
                ..Default::default()
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bench.count, 4);
    assert!(bench.positions.is_empty());
    // A council sees its own position only; the regulator every one.
    let council = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "BVPI 66a".into(),
                year: year(2001),
                authority_type: "london_borough".into(),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    let named: Vec<_> = council
        .positions
        .iter()
        .map(|p| p.organisation_id.as_str())
        .collect();
    assert_eq!(named, vec![LAMBETH]);
    let regulator = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "BVPI 66a".into(),
                year: year(2001),
                authority_type: "london_borough".into(),
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(regulator.positions.len(), 4);
}

async fn benchmark(client: &mut Client, code: &str, ty: &str) -> pb::GetBenchmarkResponse {
    client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: code.into(),
                year: year(2001),
                authority_type: ty.into(),
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn demo_reproduces_the_table6_upper_quartiles() {
    let (_app, mut client) = app().await;
    // 003 Table 6, 2001/02 upper quartiles.
    let table6: [(&str, [f64; 4]); 5] = [
        ("BVPI 66a", [96.2, 96.8, 96.8, 98.6]),
        ("old BVPI 69", [1.4, 2.6, 1.3, 0.9]),
        ("old BVPI 68", [36.0, 43.0, 37.0, 26.0]),
        ("old BVPI 72", [95.0, 95.0, 96.0, 96.0]),
        ("old BVPI 73", [12.0, 17.0, 13.0, 13.0]),
    ];
    // The demo directory's councils: four London boroughs, four metropolitan, three unitary,
    // four districts.
    let types = [
        ("london_borough", 4),
        ("metropolitan", 4),
        ("unitary", 3),
        ("district", 4),
    ];
    for (code, uqs) in table6 {
        for ((ty, n), uq) in types.iter().zip(uqs) {
            let b = benchmark(&mut client, code, ty).await;
            assert_eq!(b.count, *n, "{code} {ty}");
            assert_eq!(b.upper_quartile, Some(uq), "{code} {ty}");
            assert!(b.method.contains("linear interpolation"));
        }
    }
}

#[tokio::test]
async fn lower_is_better_upper_quartile_is_the_25th_percentile() {
    let (_app, mut client) = app().await;
    let relets = benchmark(&mut client, "old BVPI 68", "metropolitan").await;
    assert_eq!(
        relets.indicator.unwrap().direction,
        pb::Direction::Lower as i32
    );
    assert_eq!(relets.upper_quartile, Some(relets.q1));
    assert_eq!(relets.q1, 43.0);
    assert!(relets.q3 > relets.q1);
    // Those at or under the 25th percentile are in the upper quartile; the highest are last.
    for p in &relets.positions {
        let expected = if p.value <= relets.q1 {
            pb::Verdict::UpperQuartile
        } else if p.value > relets.q3 {
            pb::Verdict::LowerQuartile
        } else if p.value < relets.median {
            pb::Verdict::AboveMedian
        } else {
            pb::Verdict::BelowMedian
        };
        assert_eq!(p.verdict, expected as i32, "{p:?}");
    }
    let rent = benchmark(&mut client, "BVPI 66a", "metropolitan").await;
    assert_eq!(rent.upper_quartile, Some(rent.q3));
}

#[tokio::test]
async fn only_signed_off_values_count_in_benchmarking() {
    let (_app, mut client) = app().await;
    // Nobody has a 2002/03 return yet. Lambeth Living is benchmarked among London boroughs (its
    // council's type), and Lambeth has no return of its own to stand for it.
    let bench = |client: &mut Client| {
        let mut c = client.clone();
        async move {
            c.get_benchmark(authed(
                GetBenchmarkRequest {
                    indicator_code: "BVPI 66a".into(),
                    year: year(2002),
                    authority_type: "london_borough".into(),
                    ..Default::default()
                },
                REGULATOR,
                Role::Regulator,
            ))
            .await
        }
    };
    let r = create(&mut client, LAMBETH_LIVING, ANN, 2002).await;
    let r = set(&mut client, &r, ANN, mandatory_2004()).await.unwrap();
    let r = submit(&mut client, &r, ANN).await.unwrap();
    let err = bench(&mut client).await.unwrap_err();
    assert_eq!(reason(&err), "NO_SIGNED_OFF_VALUES");
    sign_off(&mut client, &r, LAMBETH_LIVING, Role::AlmoOfficer, BOB)
        .await
        .unwrap();
    let after = bench(&mut client).await.unwrap().into_inner();
    assert_eq!(after.count, 1);
    assert_eq!(after.almos_represented_by_their_council, 0);
    let own = &after.positions[0];
    assert_eq!(own.organisation_id, LAMBETH_LIVING);
    assert_eq!(own.value, 97.5);
    assert_eq!(own.verdict, pb::Verdict::UpperQuartile as i32);
}

#[tokio::test]
async fn benchmark_by_peer_group_and_refusals() {
    let (_app, mut client) = app().await;
    let peers = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "old BVPI 73".into(),
                year: year(2001),
                peer_group_id: "CIPFA-LAMBETH".into(),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    // Lambeth and its three CIPFA nearest neighbours.
    assert_eq!(peers.count, 4);
    let err = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "old BVPI 73".into(),
                year: year(2001),
                authority_type: "county".into(),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["authority_type"]);
    let err = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "TP01".into(),
                year: year(2001),
                authority_type: "district".into(),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicator_code"]);
    // Context measures: quartiles, no verdict.
    let none = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "LIB076".into(),
                year: year(2004),
                authority_type: "district".into(),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&none), "NO_SIGNED_OFF_VALUES");
}

#[tokio::test]
async fn regulator_queries_by_type_year_and_status_paginated() {
    let (_app, mut client) = app().await;
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .query_returns(authed(
                QueryReturnsRequest {
                    indicator_code: "old BVPI 68".into(),
                    year: year(2001),
                    period_kind: PeriodKind::Year as i32,
                    authority_type: "district".into(),
                    status: pb::ReturnStatus::SignedOff as i32,
                    page_size: 3,
                    page_token: token.clone(),
                    ..Default::default()
                },
                REGULATOR,
                Role::Regulator,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.pi_returns.len() <= 3);
        for r in &page.pi_returns {
            assert!(r.organisation_id.starts_with("E07"));
            // Only the asked-for indicator's values.
            assert_eq!(r.values.len(), 1);
            assert_eq!(r.values[0].indicator_code, "old BVPI 68");
            ids.push(r.id.clone());
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids.len(), 4);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids);
    let london = client
        .query_returns(authed(
            QueryReturnsRequest {
                region: "South West".into(),
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner();
    let orgs: Vec<_> = london
        .pi_returns
        .iter()
        .map(|r| r.organisation_id.as_str())
        .collect();
    assert_eq!(orgs, vec!["E06000023"]);
    let err = client
        .query_returns(authed(
            QueryReturnsRequest {
                authority_type: "shire".into(),
                page_size: -1,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["authority_type", "page_size"]);
}

#[tokio::test]
async fn catalogue_lists_every_tsm_and_reads_the_definition_in_force() {
    let (_app, mut client) = app().await;
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_indicators(authed(
                ListIndicatorsRequest {
                    year: year(2024),
                    page_size: 10,
                    page_token: token.clone(),
                },
                HOMES_FOR_HARINGEY,
                Role::AlmoOfficer,
            ))
            .await
            .unwrap()
            .into_inner();
        all.extend(page.indicators);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(all.len(), 22);
    assert!(all.iter().any(|d| d.code == "NM01"
        && d.direction == pb::Direction::Context as i32
        && d.splits == vec!["a_all", "b_hate_incidents"]));
    let relets = |y| GetIndicatorRequest {
        code: "old BVPI 68".into(),
        year: year(y),
    };
    let national = client
        .get_indicator(authed(relets(2001), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert!(national.mandatory);
    let local = client
        .get_indicator(authed(relets(2003), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert!(!local.mandatory);
    assert_eq!(local.combination, pb::Combination::Ratio as i32);
    let err = client
        .get_indicator(authed(relets(2030), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn new_definitions_are_imported_as_data_by_the_operator_only() {
    let (_app, mut client) = app().await;
    let mut tp01 = client
        .get_indicator(authed(
            GetIndicatorRequest {
                code: "TP01".into(),
                year: year(2024),
            },
            OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    tp01.from_year = year(2026);
    tp01.usual_min = 50.0;
    tp01.title = "Overall satisfaction (2026 definition)".into();
    let import = |request_id: &str, d: pb::IndicatorDefinition| ImportCatalogueRequest {
        request_id: request_id.into(),
        indicators: vec![d],
    };
    let err = client
        .import_catalogue(authed(
            import("i-0", tp01.clone()),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let done = client
        .import_catalogue(authed(import("i-1", tp01.clone()), OPERATOR, Role::Admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((done.added, done.unchanged), (1, 0));
    let read = |y| GetIndicatorRequest {
        code: "TP01".into(),
        year: year(y),
    };
    let old = client
        .get_indicator(authed(read(2025), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!(old.usual_min, 30.0);
    let new = client
        .get_indicator(authed(read(2026), LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!(new.usual_min, 50.0);
    // The same definition again is left alone; a different one for the same year is refused.
    let again = client
        .import_catalogue(authed(import("i-2", tp01.clone()), OPERATOR, Role::Admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.added, again.unchanged), (0, 1));
    let mut changed = tp01.clone();
    changed.usual_min = 60.0;
    let err = client
        .import_catalogue(authed(import("i-3", changed), OPERATOR, Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    let mut bad = tp01;
    bad.unit = pb::Unit::Unspecified as i32;
    bad.valid_max = -1.0;
    let err = client
        .import_catalogue(authed(import("i-4", bad), OPERATOR, Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicators[0].unit"]);
}

fn ratio(code: &str, n: f64, d: f64) -> ValueInput {
    ValueInput {
        indicator_code: code.into(),
        numerator: Some(n),
        denominator: Some(d),
        ..Default::default()
    }
}

/// An ALMO's complete 2007/08 return, submitted by ann@ALMO.
async fn almo_2007(client: &mut Client, almo: &str, rent: (f64, f64)) -> pb::PiReturn {
    let ann = format!("ann@{almo}");
    let r = create(client, almo, &ann, 2007).await;
    let mut values = mandatory_2004();
    values.retain(|v| v.indicator_code != "BVPI 66a" && v.indicator_code != "BVPI 185");
    values.push(ratio("BVPI 66a", rent.0, rent.1));
    values.push(ratio("BVPI 185", 800.0, 1000.0));
    let r = set(client, &r, &ann, values).await.unwrap();
    submit(client, &r, &ann).await.unwrap()
}

#[tokio::test]
async fn combined_return_equals_the_combination_rule_applied_to_the_almos_signed_off_figures() {
    let (_app, mut client) = app().await;
    let leeds = "E08000035";
    let ene = almo_2007(
        &mut client,
        "LEEDS-ENE-HOMES",
        (95_000_000.0, 100_000_000.0),
    )
    .await;
    let wnw = almo_2007(&mut client, "LEEDS-WNW-HOMES", (9_900_000.0, 10_000_000.0)).await;
    sign_off(
        &mut client,
        &ene,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    let council = create(&mut client, leeds, "dan@E08000035", 2007).await;
    let combine = |r: &pb::PiReturn, id: &str| {
        person(
            pb::CombineAlmoReturnsRequest {
                request_id: id.into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
            },
            leeds,
            Role::CouncilOfficer,
            "dan@E08000035",
        )
    };
    // Not until every ALMO's return is signed off.
    let err = client
        .combine_almo_returns(combine(&council, "comb-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_RETURNS_NOT_SIGNED_OFF");
    assert!(err.message().contains("LEEDS-WNW-HOMES"));
    sign_off(
        &mut client,
        &wnw,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    let out = client
        .combine_almo_returns(combine(&council, "comb-2"))
        .await
        .unwrap()
        .into_inner();
    let combined = out.pi_return.unwrap();
    assert_eq!(out.almo_return_ids.len(), 2);
    // Rent collected: (95.0m + 9.9m) / (100m + 10m) = 95.36%, not the 97% average of the two.
    assert_eq!(current(&combined, "BVPI 66a"), 95.36);
    let rent = combined
        .values
        .iter()
        .find(|v| v.indicator_code == "BVPI 66a")
        .unwrap();
    assert_eq!(rent.numerator, Some(104_900_000.0));
    assert_eq!(rent.denominator, Some(110_000_000.0));
    assert_eq!(current(&combined, "BVPI 185"), 80.0);
    let left: Vec<&str> = out
        .not_combined
        .iter()
        .map(|n| n.indicator_code.as_str())
        .collect();
    // Not combinable, or given without numerator and denominator: the council reports them.
    for code in ["BVPI 164", "BVPI 184b", "BVPI 63"] {
        assert!(left.contains(&code), "{code} in {left:?}");
    }
    assert!(!left.contains(&"BVPI 66a"));
    // The council completes what it reports itself, submits, and another officer signs off.
    let mut own = mandatory_2004();
    own.retain(|v| v.indicator_code != "BVPI 66a" && v.indicator_code != "BVPI 185");
    let complete = set(&mut client, &combined, "dan@E08000035", own)
        .await
        .unwrap();
    let submitted = submit(&mut client, &complete, "dan@E08000035")
        .await
        .unwrap();
    sign_off(
        &mut client,
        &submitted,
        leeds,
        Role::CouncilOfficer,
        "carol@E08000035",
    )
    .await
    .unwrap();
    // Leeds counts once among metropolitan authorities; each ALMO is still positioned.
    let b = client
        .get_benchmark(authed(
            GetBenchmarkRequest {
                indicator_code: "BVPI 66a".into(),
                year: year(2007),
                authority_type: "metropolitan".into(),
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.count, 1);
    assert_eq!(b.almos_represented_by_their_council, 2);
    assert_eq!(b.q3, 95.36);
    assert_eq!(b.positions.len(), 3);
    // An ALMO has no combined return.
    let err = client
        .combine_almo_returns(person(
            pb::CombineAlmoReturnsRequest {
                request_id: "comb-almo".into(),
                return_id: ene.id.clone(),
                etag: ene.etag.clone(),
            },
            "LEEDS-ENE-HOMES",
            Role::AlmoOfficer,
            "ann@LEEDS-ENE-HOMES",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

async fn export(
    client: &mut Client,
    req: pb::ExportReturnsRequest,
    org: &str,
    role: Role,
) -> Vec<pb::PiReturn> {
    let mut stream = client
        .export_returns(authed(req, org, role))
        .await
        .unwrap()
        .into_inner();
    let mut all = Vec::new();
    let mut totals = Vec::new();
    while let Some(batch) = stream.message().await.unwrap() {
        totals.push(batch.total_returns);
        all.extend(batch.pi_returns);
    }
    // Every batch tells the size of the whole export.
    assert!(
        totals.iter().all(|t| *t as usize == all.len()),
        "{totals:?}"
    );
    all
}

#[tokio::test]
async fn export_streams_only_what_the_caller_may_see() {
    let (_app, mut client) = app().await;
    let everything = export(
        &mut client,
        pb::ExportReturnsRequest::default(),
        REGULATOR,
        Role::Regulator,
    )
    .await;
    // The 15 signed-off 2001/02 returns; not Lambeth Living's draft.
    assert_eq!(everything.len(), 15);
    assert!(everything.iter().all(|r| r.values.len() == 9));
    assert!(
        !everything
            .iter()
            .any(|r| r.organisation_id == LAMBETH_LIVING)
    );
    let relets = export(
        &mut client,
        pb::ExportReturnsRequest {
            indicator_code: "old BVPI 68".into(),
            authority_type: "unitary".into(),
            ..Default::default()
        },
        REGULATOR,
        Role::Regulator,
    )
    .await;
    assert_eq!(relets.len(), 3);
    assert!(relets.iter().all(|r| r.values.len() == 1));
    let mine = export(
        &mut client,
        pb::ExportReturnsRequest::default(),
        HOMES_FOR_HARINGEY,
        Role::AlmoOfficer,
    )
    .await;
    assert!(mine.is_empty());
    let err = client
        .export_returns(authed(
            pb::ExportReturnsRequest {
                status: 99,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["status"]);
}

async fn expected(client: &mut Client, y: i32, org: &str, role: Role) -> Vec<pb::ExpectedReturn> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_outstanding_returns(authed(
                pb::ListOutstandingReturnsRequest {
                    period: annual(y),
                    page_size: 10,
                    page_token: token.clone(),
                },
                org,
                role,
            ))
            .await
            .unwrap()
            .into_inner();
        all.extend(page.expected);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    all
}

#[tokio::test]
async fn outstanding_and_late_returns_for_a_period() {
    let (_app, mut client) = app().await;
    // 2001/02: every council reported, and no ALMO was live yet.
    let y2001 = expected(&mut client, 2001, REGULATOR, Role::Regulator).await;
    assert_eq!(y2001.len(), 15);
    assert!(
        y2001
            .iter()
            .all(|e| e.state == pb::ReturnState::SignedOff as i32 && !e.late)
    );
    // 2008/09: Lambeth Living went live in April 2008; nothing is in, all overdue.
    let lambeth = expected(&mut client, 2008, LAMBETH, Role::CouncilOfficer).await;
    let orgs: Vec<&str> = lambeth.iter().map(|e| e.organisation_id.as_str()).collect();
    assert_eq!(orgs, vec![LAMBETH, LAMBETH_LIVING]);
    assert!(
        lambeth
            .iter()
            .all(|e| e.state == pb::ReturnState::Overdue as i32)
    );
    let draft = create(&mut client, LAMBETH_LIVING, ANN, 2008).await;
    let council_view = expected(&mut client, 2008, LAMBETH, Role::CouncilOfficer).await;
    assert_eq!(council_view[1].return_id, draft.id);
    let regulator_view = expected(&mut client, 2008, REGULATOR, Role::Regulator).await;
    let ll = regulator_view
        .iter()
        .find(|e| e.organisation_id == LAMBETH_LIVING)
        .unwrap();
    assert_eq!(ll.state, pb::ReturnState::Overdue as i32);
    assert!(ll.return_id.is_empty(), "the regulator does not see drafts");
    // An ALMO sees only itself.
    let own = expected(&mut client, 2008, HOMES_FOR_HARINGEY, Role::AlmoOfficer).await;
    assert_eq!(own.len(), 1);
}

#[tokio::test]
async fn quarterly_return_carries_the_quarterly_indicators_only() {
    let (_app, mut client) = app().await;
    let q1 = client
        .create_return(person(
            CreateReturnRequest {
                request_id: "q1".into(),
                organisation_id: LAMBETH_LIVING.into(),
                period: Some(Period {
                    year: year(2004),
                    kind: PeriodKind::Quarter as i32,
                    number: 1,
                }),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
            ANN,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(q1.id, "LAMBETH-LIVING/2004/Q1");
    // Q1 (April to June 2004) is due by the end of July.
    assert_eq!(q1.deadline_date, "2004-07-31");
    let err = set(&mut client, &q1, ANN, vec![value("BVPI 63", 60.0)])
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["values[0].indicator_code"]);
    assert!(err.message().contains("annually"), "{}", err.message());
    let q1 = set(&mut client, &q1, ANN, vec![value("BVPI 66a", 96.0)])
        .await
        .unwrap();
    let err = submit(&mut client, &q1, ANN).await.unwrap_err();
    assert_eq!(reason(&err), "MANDATORY_INDICATORS_MISSING");
    assert!(err.message().contains("BVPI 185"));
    assert!(!err.message().contains("BVPI 63"), "{}", err.message());
    let q1 = set(&mut client, &q1, ANN, vec![value("BVPI 185", 84.0)])
        .await
        .unwrap();
    let q1 = submit(&mut client, &q1, ANN).await.unwrap();
    assert_eq!(q1.status, pb::ReturnStatus::Submitted as i32);
}

#[tokio::test]
async fn perception_measures_need_their_tenant_survey_described() {
    let (_app, mut client) = app().await;
    let tsms = client
        .list_indicators(authed(
            ListIndicatorsRequest {
                year: year(2024),
                ..Default::default()
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .indicators;
    assert_eq!(tsms.iter().filter(|d| d.from_tenant_survey).count(), 12);
    let r = create(
        &mut client,
        HOMES_FOR_HARINGEY,
        "hal@HOMES-FOR-HARINGEY",
        2024,
    )
    .await;
    // Every TSM, each at the middle of its usual range; the landlord has no low-cost home
    // ownership and keeps no (a)/(b) split, which it explains.
    let values = tsms
        .iter()
        .map(|d| ValueInput {
            indicator_code: d.code.clone(),
            value: Some(((d.usual_min + d.usual_max) / 2.0).round()),
            explanation: "Low-cost rental only; no separate (a)/(b) or LCHO figures kept.".into(),
            ..Default::default()
        })
        .collect();
    let r = set(&mut client, &r, "hal@HOMES-FOR-HARINGEY", values)
        .await
        .unwrap();
    let err = submit(&mut client, &r, "hal@HOMES-FOR-HARINGEY")
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SURVEY_NOT_DESCRIBED");
    assert!(err.message().contains("TP01"), "{}", err.message());
    // A survey with no method and no answers is refused, naming both fields.
    let bad = client
        .set_values(person(
            SetValuesRequest {
                request_id: "survey-bad".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values: vec![],
                survey: Some(pb::TenantSurvey {
                    sample_size: 0,
                    method: 0,
                }),
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            "hal@HOMES-FOR-HARINGEY",
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), vec!["survey.method", "survey.sample_size"]);
    let r = client
        .set_values(person(
            SetValuesRequest {
                request_id: "survey".into(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values: vec![],
                survey: Some(pb::TenantSurvey {
                    sample_size: 1_250,
                    method: pb::SurveyMethod::Mixed as i32,
                }),
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            "hal@HOMES-FOR-HARINGEY",
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(r.survey.as_ref().unwrap().sample_size, 1_250);
    let r = submit(&mut client, &r, "hal@HOMES-FOR-HARINGEY")
        .await
        .unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
    assert_eq!(r.survey.unwrap().method, pb::SurveyMethod::Mixed as i32);
}

/// `n` councils `{prefix}{i:05}` with a return each for 2010/11 in `status`: every third with no
/// value, the others with two (stored in reverse order of code), and an earlier year's return
/// whose values must not leak into the export.
async fn bulk_returns(db: &almo_db::Db, prefix: &str, range: std::ops::Range<usize>, status: &str) {
    use almo_db::entity::{organisation, pi_return, pi_return_value};
    use sea_orm::{EntityTrait, Set};
    let now = chrono::Utc::now();
    let ids: Vec<String> = range.map(|i| format!("{prefix}{i:05}")).collect();
    for chunk in ids.chunks(200) {
        organisation::Entity::insert_many(chunk.iter().map(|id| organisation::ActiveModel {
            id: Set(id.clone()),
            name: Set(format!("Bulk {id}")),
            kind: Set("council".into()),
            authority_type: Set(Some("district".into())),
            region: Set(None),
            council_id: Set(None),
            section27_consent_date: Set(None),
            go_live_date: Set(None),
            agreement_end_date: Set(None),
            end_date: Set(None),
            stock_size: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(db.conn())
        .await
        .unwrap();
        let ret = |id: &String, year: i32| pi_return::ActiveModel {
            id: Set(format!("{id}/{year}/Y")),
            organisation_id: Set(id.clone()),
            year: Set(year),
            period_kind: Set("year".into()),
            period_number: Set(1),
            status: Set(status.into()),
            deadline_date: Set(chrono::NaiveDate::from_ymd_opt(year + 1, 6, 30).unwrap()),
            late: Set(false),
            submitted_by: Set(Some("officer".into())),
            submitted_at: Set(Some(now)),
            signed_off_by: Set(None),
            signed_off_at: Set(None),
            returned_reason: Set(None),
            revision: Set(0),
            survey_sample_size: Set(None),
            survey_method: Set(None),
            created_by: Set("officer".into()),
            version: Set(2),
            created_at: Set(now),
            updated_at: Set(now),
        };
        pi_return::Entity::insert_many(chunk.iter().flat_map(|id| [ret(id, 2009), ret(id, 2010)]))
            .exec_without_returning(db.conn())
            .await
            .unwrap();
        let value = |return_id: String, code: &str, v: f64| pi_return_value::ActiveModel {
            return_id: Set(return_id),
            indicator_code: Set(code.into()),
            split: Set(String::new()),
            sequence: Set(1),
            value: Set(v),
            numerator: Set(None),
            denominator: Set(None),
            warnings: Set("above the usual range\n".into()),
            explanation: Set(String::new()),
            revision_reason: Set(String::new()),
            changed_by: Set("officer".into()),
            changed_at: Set(now),
            current: Set(true),
            ..Default::default()
        };
        pi_return_value::Entity::insert_many(
            chunk
                .iter()
                .map(|id| (id[prefix.len()..].parse::<usize>().unwrap(), id))
                .filter(|(i, _)| i % 3 != 0)
                .flat_map(|(i, id)| {
                    [
                        value(format!("{id}/2010/Y"), "old BVPI 68", 20.0 + i as f64),
                        value(format!("{id}/2010/Y"), "BVPI 66a", 97.0),
                        value(format!("{id}/2009/Y"), "BVPI 63", 55.0),
                    ]
                }),
        )
        .exec_without_returning(db.conn())
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn export_across_pages_sends_each_return_once_in_order_while_returns_are_added() {
    let (app, mut client) = app().await;
    bulk_returns(&app.db, "E07M", 0..1200, "submitted").await;
    // Drafts: never exported to the regulator.
    bulk_returns(&app.db, "E07D", 0..30, "draft").await;
    let req = pb::ExportReturnsRequest {
        year: year(2010),
        ..Default::default()
    };
    let mut stream = client
        .export_returns(authed(req.clone(), REGULATOR, Role::Regulator))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.total_returns, 1200);
    assert_eq!(first.pi_returns.len(), 500);
    // Returns added while the export runs, before the cursor and after it: the export reads
    // ahead of the client, so the later ones may or may not be sent; nothing is sent twice and
    // nothing there at the start is missed.
    bulk_returns(&app.db, "E07A", 0..10, "submitted").await;
    bulk_returns(&app.db, "E07Z", 0..10, "submitted").await;
    let mut sizes = vec![first.pi_returns.len()];
    let mut all = first.pi_returns;
    while let Some(batch) = stream.message().await.unwrap() {
        assert_eq!(batch.total_returns, 1200);
        sizes.push(batch.pi_returns.len());
        all.extend(batch.pi_returns);
    }
    assert!(
        sizes[..sizes.len() - 1].iter().all(|n| *n == 500),
        "{sizes:?}"
    );
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order, once each"
    );
    let expected: Vec<String> = (0..1200).map(|i| format!("E07M{i:05}/2010/Y")).collect();
    assert_eq!(ids[..1200], expected);
    assert!(
        ids[1200..].iter().all(|id| id.starts_with("E07Z")),
        "{:?}",
        &ids[1200..]
    );
    all.truncate(1200);
    // Values: the 2010 return's own, by indicator code; none of the earlier year's.
    for (i, r) in all.iter().enumerate() {
        let codes: Vec<&str> = r.values.iter().map(|v| v.indicator_code.as_str()).collect();
        if i % 3 == 0 {
            assert!(codes.is_empty(), "{}: {codes:?}", r.id);
        } else {
            assert_eq!(codes, ["BVPI 66a", "old BVPI 68"], "{}", r.id);
            assert_eq!(r.values[0].warnings, ["above the usual range"]);
        }
    }
    // The same messages as QueryReturns gives, page by page.
    let mut queried = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .query_returns(authed(
                QueryReturnsRequest {
                    year: year(2010),
                    page_size: 100,
                    page_token: token.clone(),
                    ..Default::default()
                },
                REGULATOR,
                Role::Regulator,
            ))
            .await
            .unwrap()
            .into_inner();
        queried.extend(page.pi_returns);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let queried: Vec<_> = queried
        .into_iter()
        .filter(|r| r.id.starts_with("E07M"))
        .collect();
    assert_eq!(all, queried);
    // An indicator filter: only the returns carrying it, and only that value.
    let relets = export(
        &mut client,
        pb::ExportReturnsRequest {
            indicator_code: "old BVPI 68".into(),
            ..req
        },
        REGULATOR,
        Role::Regulator,
    )
    .await;
    assert_eq!(relets.len(), 800 + 20 - 4 - 4);
    assert!(
        relets
            .iter()
            .all(|r| r.values.len() == 1 && r.values[0].indicator_code == "old BVPI 68")
    );
}
