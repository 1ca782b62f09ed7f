//! Refusals made before a handler runs carry the same `google.rpc.ErrorInfo` as every other
//! error (README "Errors"): a missing, malformed, expired or badly signed bearer token is
//! UNAUTHENTICATED with a reason of its own, on the services' gRPC and on Arrow Flight alike; the
//! Flight endpoint's own refusals carry theirs.

use almo_auth::{Minter, Role, TokenRequest};
use almo_proto::directory::WhoAmIRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_server::error::ERROR_DOMAIN;
use almo_server::{DEV_ISSUER, DEV_SECRET};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, default_args, token};
use arrow_flight::error::FlightError;
use arrow_flight::{FlightClient, FlightData, Ticket};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The directory and the Flight endpoint with the PI returns' datasets, on the demo directory.
async fn suite() -> TestApp {
    let db = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_directory::demo::seed(&db.db).await.unwrap();
    TestApp::spawn_on(
        default_args(),
        vec![
            almo_directory::mount(),
            almo_pi_returns::mount(),
            almo_flight::mount(vec![almo_pi_returns::flight_datasets]),
        ],
        db,
    )
    .await
    .unwrap()
}

/// The code and the `ErrorInfo` reason of a refusal, checking its domain.
fn refusal(s: &Status) -> (Code, String) {
    let details = s.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo on {s:?}"));
    assert_eq!(info.domain, ERROR_DOMAIN, "{s:?}");
    (s.code(), info.reason.clone())
}

/// WhoAmI with `authorization` set to `header` (none when `None`): its refusal.
async fn who_am_i(channel: &Channel, header: Option<String>) -> Status {
    let mut req = tonic::Request::new(WhoAmIRequest {});
    if let Some(h) = header {
        req.metadata_mut()
            .insert("authorization", h.parse().unwrap());
    }
    DirectoryServiceClient::new(channel.clone())
        .who_am_i(req)
        .await
        .unwrap_err()
}

fn unauthenticated(reason: &str) -> (Code, String) {
    (Code::Unauthenticated, reason.to_string())
}

/// A token minted with the suite's issuer and audience that expired an hour ago (the server's
/// leeway is a minute).
fn expired_token() -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "sub": "council_officer@E09000022",
        "org": LAMBETH,
        "role": "council_officer",
        "iss": DEV_ISSUER,
        "aud": "almo-exchange",
        "iat": now - 7200,
        "exp": now - 3600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(DEV_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A well-formed token signed with a secret the server does not hold.
fn forged_token() -> String {
    Minter::new(
        b"a-secret-of-some-other-deployment-entirely",
        DEV_ISSUER,
        "almo-exchange",
    )
    .mint(&TokenRequest {
        subject: "council_officer@E09000022".into(),
        organisation_id: LAMBETH.into(),
        role: Role::CouncilOfficer,
        ttl_secs: 3600,
    })
}

#[tokio::test]
async fn each_refused_token_names_its_reason_in_error_info() {
    let app = suite().await;
    let channel = app.channel().await;
    let cases = [
        (None, "TOKEN_MISSING"),
        (Some("Basic dXNlcjpwYXNz".to_string()), "TOKEN_MALFORMED"),
        (Some("Bearer not-a-jwt".to_string()), "TOKEN_MALFORMED"),
        (Some(format!("Bearer {}", expired_token())), "TOKEN_EXPIRED"),
        (Some(format!("Bearer {}", forged_token())), "TOKEN_INVALID"),
    ];
    for (header, reason) in cases {
        let s = who_am_i(&channel, header.clone()).await;
        assert_eq!(refusal(&s), unauthenticated(reason), "{header:?}: {s:?}");
    }
    // The same call with a good token is served: the refusals were the tokens'.
    let mut req = tonic::Request::new(WhoAmIRequest {});
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", token(LAMBETH, Role::CouncilOfficer))
            .parse()
            .unwrap(),
    );
    DirectoryServiceClient::new(channel)
        .who_am_i(req)
        .await
        .unwrap();
}

fn flight_status(e: FlightError) -> Status {
    match e {
        FlightError::Tonic(s) => *s,
        other => panic!("not a gRPC status: {other}"),
    }
}

const TICKET: &str = r#"{"dataset": "pi.values", "year": "2024/25"}"#;

#[tokio::test]
async fn flight_refusals_carry_error_info() {
    let app = suite().await;
    let channel = app.channel().await;
    // No token, and an expired one: refused before the Flight service runs.
    let mut anonymous = FlightClient::new(channel.clone());
    let s = flight_status(anonymous.do_get(Ticket::new(TICKET)).await.unwrap_err());
    assert_eq!(refusal(&s), unauthenticated("TOKEN_MISSING"), "{s:?}");
    let mut expired = FlightClient::new(channel.clone());
    expired
        .add_header("authorization", &format!("Bearer {}", expired_token()))
        .unwrap();
    let s = flight_status(expired.do_get(Ticket::new(TICKET)).await.unwrap_err());
    assert_eq!(refusal(&s), unauthenticated("TOKEN_EXPIRED"), "{s:?}");
    // The Flight service's own refusals.
    let mut c = FlightClient::new(channel);
    c.add_header(
        "authorization",
        &format!("Bearer {}", token(LAMBETH, Role::CouncilOfficer)),
    )
    .unwrap();
    let s = flight_status(
        c.do_get(Ticket::new(r#"{"dataset": "pi.nothing"}"#))
            .await
            .unwrap_err(),
    );
    assert_eq!(refusal(&s), (Code::NotFound, "NOT_FOUND".into()), "{s:?}");
    let put = c
        .do_put(futures::stream::iter([Ok(FlightData::default())]))
        .await;
    let s = match put {
        Err(e) => flight_status(e),
        Ok(mut results) => {
            use futures::StreamExt;
            flight_status(results.next().await.unwrap().unwrap_err())
        }
    };
    assert_eq!(
        refusal(&s),
        (Code::Unimplemented, "NOT_SERVED".into()),
        "{s:?}"
    );
}
