//! What the PI returns tests build again and again: the service with its demo data, the people
//! who call it, the requests they make and the rows a test loads directly.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use almo_auth::{Role, TokenRequest};
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{
    self as pb, CreateReturnRequest, GetBenchmarkRequest, GetIndicatorRequest, GetReturnRequest,
    ListIndicatorsRequest, QueryReturnsRequest, SetValuesRequest, SignOffReturnRequest,
    SubmitReturnRequest, ValueInput,
};
use almo_testkit::{TestApp, authed};
use chrono::{NaiveDate, Utc};
use sea_orm::Set;
use tonic::transport::Channel;
use tonic::{Request, Status};
use tonic_types::StatusExt;

pub const LAMBETH: &str = "E09000022";
pub const LAMBETH_LIVING: &str = "LAMBETH-LIVING";
pub const HOMES_FOR_HARINGEY: &str = "HOMES-FOR-HARINGEY";
pub const REGULATOR: &str = "RSH";
pub const OPERATOR: &str = "OPERATOR";

pub const ANN: &str = "ann.officer@LAMBETH-LIVING";
pub const BOB: &str = "bob.certifier@LAMBETH-LIVING";

pub type Client = PiReturnsServiceClient<Channel>;

/// Who calls: an organisation and a role (the testkit's token for them).
pub type Caller<'a> = (&'a str, Role);

pub const AS_REGULATOR: Caller = (REGULATOR, Role::Regulator);
pub const AS_OPERATOR: Caller = (OPERATOR, Role::Admin);
pub const AS_LAMBETH: Caller = (LAMBETH, Role::CouncilOfficer);
pub const AS_LAMBETH_LIVING: Caller = (LAMBETH_LIVING, Role::AlmoOfficer);
pub const AS_HOMES_FOR_HARINGEY: Caller = (HOMES_FOR_HARINGEY, Role::AlmoOfficer);

/// `msg` from `caller`.
pub fn by<T>(msg: T, (org, role): Caller) -> Request<T> {
    authed(msg, org, role)
}

/// The service on a fresh database with the demo data loaded.
pub async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_pi_returns::mount()])
        .await
        .unwrap();
    almo_pi_returns::demo::seed(&app.db).await.unwrap();
    let client = PiReturnsServiceClient::new(app.channel().await);
    (app, client)
}

/// A request from a named person of `org` (the testkit's tokens are all `role@org`).
pub fn person<T>(msg: T, org: &str, role: Role, subject: &str) -> Request<T> {
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

/// The officer role of a council (an ONS code) or an ALMO.
pub fn officer(org: &str) -> Role {
    if org.starts_with('E') {
        Role::CouncilOfficer
    } else {
        Role::AlmoOfficer
    }
}

// ---------------------------------------------------------------- periods and values

pub fn year(y: i32) -> Option<FinancialYear> {
    Some(FinancialYear { start_year: y })
}

pub fn annual(y: i32) -> Option<Period> {
    Some(Period {
        year: year(y),
        kind: PeriodKind::Year as i32,
        number: 1,
    })
}

pub fn quarter(y: i32, number: i32) -> Option<Period> {
    Some(Period {
        year: year(y),
        kind: PeriodKind::Quarter as i32,
        number,
    })
}

pub fn value(code: &str, v: f64) -> ValueInput {
    ValueInput {
        indicator_code: code.into(),
        value: Some(v),
        ..Default::default()
    }
}

pub fn split(code: &str, split: &str, v: f64) -> ValueInput {
    ValueInput {
        split: split.into(),
        ..value(code, v)
    }
}

pub fn ratio(code: &str, n: f64, d: f64) -> ValueInput {
    ValueInput {
        indicator_code: code.into(),
        numerator: Some(n),
        denominator: Some(d),
        ..Default::default()
    }
}

/// Every indicator mandatory in 2004/05, with ordinary figures.
pub fn mandatory_2004() -> Vec<ValueInput> {
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

/// The current whole-figure value of `code` on a return.
pub fn current(r: &pb::PiReturn, code: &str) -> f64 {
    r.values
        .iter()
        .find(|v| v.indicator_code == code && v.split.is_empty())
        .unwrap_or_else(|| panic!("{code} missing"))
        .value
}

// ---------------------------------------------------------------- refusals

/// The fields a refusal names.
pub fn fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The stable reason of a refusal.
pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- a return's life

/// `org`'s annual return for `y`, opened by `subject`.
pub async fn create(client: &mut Client, org: &str, subject: &str, y: i32) -> pb::PiReturn {
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

pub async fn set(
    client: &mut Client,
    r: &pb::PiReturn,
    subject: &str,
    values: Vec<ValueInput>,
) -> Result<pb::PiReturn, Status> {
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

pub async fn submit(
    client: &mut Client,
    r: &pb::PiReturn,
    subject: &str,
) -> Result<pb::PiReturn, Status> {
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

pub async fn sign_off(
    client: &mut Client,
    r: &pb::PiReturn,
    org: &str,
    role: Role,
    subject: &str,
) -> Result<pb::PiReturn, Status> {
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
pub async fn submitted_2004(client: &mut Client) -> pb::PiReturn {
    let r = create(client, LAMBETH_LIVING, ANN, 2004).await;
    let r = set(client, &r, ANN, mandatory_2004()).await.unwrap();
    submit(client, &r, ANN).await.unwrap()
}

/// An ALMO's complete 2007/08 return, submitted by ann@ALMO.
pub async fn almo_2007(client: &mut Client, almo: &str, rent: (f64, f64)) -> pb::PiReturn {
    let ann = format!("ann@{almo}");
    let r = create(client, almo, &ann, 2007).await;
    let mut values = mandatory_2004();
    values.retain(|v| v.indicator_code != "BVPI 66a" && v.indicator_code != "BVPI 185");
    values.push(ratio("BVPI 66a", rent.0, rent.1));
    values.push(ratio("BVPI 185", 800.0, 1000.0));
    let r = set(client, &r, &ann, values).await.unwrap();
    submit(client, &r, &ann).await.unwrap()
}

// ---------------------------------------------------------------- reads

/// A return as `caller` reads it, with its earlier values when `history`.
pub async fn get_return(
    client: &mut Client,
    return_id: &str,
    history: bool,
    caller: Caller<'_>,
) -> Result<pb::PiReturn, Status> {
    client
        .get_return(by(
            GetReturnRequest {
                return_id: return_id.into(),
                include_history: history,
            },
            caller,
        ))
        .await
        .map(|r| r.into_inner().pi_return.unwrap())
}

pub async fn query(
    client: &mut Client,
    req: QueryReturnsRequest,
    caller: Caller<'_>,
) -> Result<pb::QueryReturnsResponse, Status> {
    client
        .query_returns(by(req, caller))
        .await
        .map(|r| r.into_inner())
}

/// Every return of `org` the caller may see.
pub fn returns_of(org: &str) -> QueryReturnsRequest {
    QueryReturnsRequest {
        organisation_id: org.into(),
        ..Default::default()
    }
}

/// Every page of a query, following the page tokens from the first page.
pub async fn query_pages(
    client: &mut Client,
    req: QueryReturnsRequest,
    caller: Caller<'_>,
) -> Vec<pb::QueryReturnsResponse> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = query(
            client,
            QueryReturnsRequest {
                page_token: token.clone(),
                ..req.clone()
            },
            caller,
        )
        .await
        .unwrap();
        token = page.next_page_token.clone();
        pages.push(page);
        if token.is_empty() {
            return pages;
        }
    }
}

/// Every definition in force in `y`, `page_size` at a time.
pub async fn all_indicators(
    client: &mut Client,
    y: i32,
    page_size: i32,
    caller: Caller<'_>,
) -> Vec<pb::IndicatorDefinition> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_indicators(by(
                ListIndicatorsRequest {
                    year: year(y),
                    page_size,
                    page_token: token.clone(),
                },
                caller,
            ))
            .await
            .unwrap()
            .into_inner();
        all.extend(page.indicators);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// The definition of `code` in force in `y`.
pub async fn indicator(
    client: &mut Client,
    code: &str,
    y: i32,
    caller: Caller<'_>,
) -> Result<pb::IndicatorDefinition, Status> {
    client
        .get_indicator(by(
            GetIndicatorRequest {
                code: code.into(),
                year: year(y),
            },
            caller,
        ))
        .await
        .map(|r| r.into_inner().indicator.unwrap())
}

/// A benchmark of `code` in `y` across an authority type.
pub fn among(code: &str, y: i32, authority_type: &str) -> GetBenchmarkRequest {
    GetBenchmarkRequest {
        indicator_code: code.into(),
        year: year(y),
        authority_type: authority_type.into(),
        ..Default::default()
    }
}

pub async fn get_benchmark(
    client: &mut Client,
    req: GetBenchmarkRequest,
    caller: Caller<'_>,
) -> Result<pb::GetBenchmarkResponse, Status> {
    client
        .get_benchmark(by(req, caller))
        .await
        .map(|r| r.into_inner())
}

/// The 2001/02 benchmark of `code` among authorities of type `ty`, as the regulator sees it.
pub async fn benchmark(client: &mut Client, code: &str, ty: &str) -> pb::GetBenchmarkResponse {
    get_benchmark(client, among(code, 2001, ty), AS_REGULATOR)
        .await
        .unwrap()
}

/// The whole export `req` gives `caller`; every batch must tell the size of the whole.
pub async fn export(
    client: &mut Client,
    req: pb::ExportReturnsRequest,
    caller: Caller<'_>,
) -> Vec<pb::PiReturn> {
    let mut stream = client
        .export_returns(by(req, caller))
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

/// Who is expected to report for the year `y`, as `caller` sees it, every page.
pub async fn expected(client: &mut Client, y: i32, caller: Caller<'_>) -> Vec<pb::ExpectedReturn> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_outstanding_returns(by(
                pb::ListOutstandingReturnsRequest {
                    period: annual(y),
                    page_size: 10,
                    page_token: token.clone(),
                },
                caller,
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

// ---------------------------------------------------------------- rows loaded directly

/// A council of `authority_type` in the directory.
pub fn council_row(
    id: &str,
    name: &str,
    authority_type: &str,
    region: Option<&str>,
) -> organisation::ActiveModel {
    let now = Utc::now();
    organisation::ActiveModel {
        id: Set(id.into()),
        name: Set(name.into()),
        kind: Set("council".into()),
        authority_type: Set(Some(authority_type.into())),
        region: Set(region.map(String::from)),
        council_id: Set(None),
        section27_consent_date: Set(None),
        go_live_date: Set(None),
        agreement_end_date: Set(None),
        end_date: Set(None),
        stock_size: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// `org`'s annual return for `year` in `status`, submitted by its officer (and signed off by its
/// certifier when `status` is `signed_off`).
pub fn return_row(id: &str, org: &str, year: i32, status: &str) -> pi_return::ActiveModel {
    let now = Utc::now();
    let signed_off = status == "signed_off";
    pi_return::ActiveModel {
        id: Set(id.into()),
        organisation_id: Set(org.into()),
        year: Set(year),
        period_kind: Set("year".into()),
        period_number: Set(1),
        status: Set(status.into()),
        deadline_date: Set(NaiveDate::from_ymd_opt(year + 1, 6, 30).unwrap()),
        late: Set(false),
        submitted_by: Set(Some(format!("officer@{org}"))),
        submitted_at: Set(Some(now)),
        signed_off_by: Set(signed_off.then(|| format!("certifier@{org}"))),
        signed_off_at: Set(signed_off.then_some(now)),
        returned_reason: Set(None),
        revision: Set(0),
        survey_sample_size: Set(None),
        survey_method: Set(None),
        created_by: Set(format!("officer@{org}")),
        version: Set(3),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The current whole figure of `code` on a return.
pub fn value_row(return_id: &str, code: &str, value: f64) -> pi_return_value::ActiveModel {
    pi_return_value::ActiveModel {
        return_id: Set(return_id.into()),
        indicator_code: Set(code.into()),
        split: Set(String::new()),
        sequence: Set(1),
        value: Set(value),
        numerator: Set(None),
        denominator: Set(None),
        warnings: Set(String::new()),
        explanation: Set(String::new()),
        revision_reason: Set(String::new()),
        changed_by: Set("loader@test".into()),
        changed_at: Set(Utc::now()),
        current: Set(true),
        ..Default::default()
    }
}
