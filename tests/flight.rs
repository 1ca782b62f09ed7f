//! Arrow Flight through the suite's mounts (as `almo up` composes them): each dataset read with
//! a Flight client over the bearer token shows exactly what the gRPC reads show to that caller.

use std::collections::BTreeSet;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{self as pi};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_proto::sla_charging::{self as sla};
use almo_sla_charging::pull::rows_of;
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args, token};
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_flight::{FlightClient, FlightDescriptor, Ticket};
use arrow_schema::DataType;
use futures::TryStreamExt;
use tonic::Code;
use tonic::transport::Channel;

/// The suite's services with their demo data, and the Flight endpoint carrying their datasets.
async fn suite() -> TestApp {
    let db = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_directory::demo::seed(&db.db).await.unwrap();
    almo_pi_returns::demo::seed(&db.db).await.unwrap();
    almo_sla_charging::demo::seed(&db.db).await.unwrap();
    almo_delivery_plan::demo::seed(&db.db).await.unwrap();
    TestApp::spawn_on(
        default_args(),
        vec![
            almo_directory::mount(),
            almo_delivery_plan::mount(),
            almo_sla_charging::mount(),
            almo_pi_returns::mount(),
            almo_flight::mount(vec![
                almo_pi_returns::flight_datasets,
                almo_sla_charging::flight_datasets,
                almo_delivery_plan::flight_datasets,
            ]),
        ],
        db,
    )
    .await
    .unwrap()
}

fn flight(channel: &Channel, org: &str, role: Role) -> FlightClient {
    let mut c = FlightClient::new(channel.clone());
    c.add_header("authorization", &format!("Bearer {}", token(org, role)))
        .unwrap();
    c
}

async fn read(c: &mut FlightClient, ticket: &str) -> Result<Vec<RecordBatch>, tonic::Status> {
    let stream = c
        .do_get(Ticket::new(ticket.to_string()))
        .await
        .map_err(status)?;
    stream.try_collect().await.map_err(status)
}

fn status(e: arrow_flight::error::FlightError) -> tonic::Status {
    match e {
        arrow_flight::error::FlightError::Tonic(s) => *s,
        other => panic!("not a gRPC status: {other}"),
    }
}

/// One figure: organisation, period, indicator, split, value.
type Figure = (String, String, String, String, String);

fn figures_of(batches: &[RecordBatch]) -> BTreeSet<Figure> {
    let mut out = BTreeSet::new();
    for b in batches {
        let s = |name: &str| b.column_by_name(name).unwrap().as_string::<i32>().clone();
        let (org, year, period, code, split) = (
            s("organisation_id"),
            s("year"),
            s("period"),
            s("indicator_code"),
            s("split"),
        );
        let value = b
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            out.insert((
                org.value(i).to_string(),
                format!("{} {}", year.value(i), period.value(i)),
                code.value(i).to_string(),
                split.value(i).to_string(),
                value.value(i).to_string(),
            ));
        }
    }
    out
}

/// What QueryReturns shows `org` for `year` (and an organisation filter), as figures.
async fn queried(
    channel: &Channel,
    org: &str,
    role: Role,
    year: i32,
    organisation: &str,
) -> BTreeSet<Figure> {
    let mut c = PiReturnsServiceClient::new(channel.clone());
    let mut out = BTreeSet::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .query_returns(authed(
                pi::QueryReturnsRequest {
                    year: Some(FinancialYear { start_year: year }),
                    organisation_id: organisation.into(),
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                org,
                role,
            ))
            .await
            .unwrap()
            .into_inner();
        for r in page.pi_returns {
            let p = r.period.unwrap();
            let period = if p.kind == PeriodKind::Quarter as i32 {
                format!("Q{}", p.number)
            } else {
                "Y".to_string()
            };
            for v in r.values {
                out.insert((
                    r.organisation_id.clone(),
                    format!("{} {period}", almo_fields::financial_year_label(year)),
                    v.indicator_code,
                    v.split,
                    v.value.to_string(),
                ));
            }
        }
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

fn by<T>(msg: T) -> tonic::Request<T> {
    authed(msg, LAMBETH_LIVING, Role::AlmoOfficer)
}

/// A draft annual return of Lambeth Living for the Table 6 year, with one figure.
async fn lambeth_living_draft(channel: &Channel) {
    let mut c = PiReturnsServiceClient::new(channel.clone());
    let r = c
        .create_return(by(pi::CreateReturnRequest {
            request_id: "flight-draft".into(),
            organisation_id: LAMBETH_LIVING.into(),
            period: Some(Period {
                year: Some(FinancialYear {
                    start_year: almo_pi_returns::demo::TABLE6_YEAR,
                }),
                kind: PeriodKind::Year as i32,
                number: 1,
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    c.set_values(by(pi::SetValuesRequest {
        request_id: "flight-draft-values".into(),
        return_id: r.id,
        etag: r.etag,
        values: vec![pi::ValueInput {
            indicator_code: "BVPI 66a".into(),
            value: Some(97.5),
            ..Default::default()
        }],
        survey: None,
    }))
    .await
    .unwrap();
}

const YEAR_TICKET: &str = r#"{"dataset": "pi.values", "year": "2001/02"}"#;

#[tokio::test]
async fn pi_values_show_each_caller_what_query_returns_shows() {
    let app = suite().await;
    let channel = app.channel().await;
    lambeth_living_draft(&channel).await;
    let year = almo_pi_returns::demo::TABLE6_YEAR;
    for (org, role) in [
        (REGULATOR, Role::Regulator),
        (LAMBETH, Role::CouncilOfficer),
        (LAMBETH_LIVING, Role::AlmoOfficer),
        (HOMES_FOR_HARINGEY, Role::AlmoOfficer),
    ] {
        let batches = read(&mut flight(&channel, org, role), YEAR_TICKET)
            .await
            .unwrap();
        let grpc = queried(&channel, org, role, year, "").await;
        assert_eq!(figures_of(&batches), grpc, "{org}");
        let orgs: BTreeSet<String> = grpc.iter().map(|f| f.0.clone()).collect();
        match role {
            // A draft never leaves for the regulator: Lambeth Living's is its own.
            Role::Regulator => {
                assert!(orgs.len() > 4, "{orgs:?}");
                assert!(!orgs.contains(LAMBETH_LIVING));
            }
            Role::AlmoOfficer if org == LAMBETH_LIVING => {
                assert_eq!(orgs, BTreeSet::from([LAMBETH_LIVING.to_string()]));
            }
            Role::AlmoOfficer => assert!(orgs.is_empty(), "{orgs:?}"),
            _ => assert!(orgs.contains(LAMBETH_LIVING) && orgs.contains(LAMBETH)),
        }
    }
}

#[tokio::test]
async fn another_organisations_filter_gives_what_the_query_gives() {
    let app = suite().await;
    let channel = app.channel().await;
    let ticket = format!(r#"{{"dataset": "pi.values", "organisation": "{HARINGEY}"}}"#);
    let mut own = flight(&channel, LAMBETH_LIVING, Role::AlmoOfficer);
    assert!(figures_of(&read(&mut own, &ticket).await.unwrap()).is_empty());
    let year = almo_pi_returns::demo::TABLE6_YEAR;
    assert!(
        queried(&channel, LAMBETH_LIVING, Role::AlmoOfficer, year, HARINGEY)
            .await
            .is_empty()
    );
    let mut regulator = flight(&channel, REGULATOR, Role::Regulator);
    let seen = figures_of(&read(&mut regulator, &ticket).await.unwrap());
    assert!(!seen.is_empty() && seen.iter().all(|f| f.0 == HARINGEY));
}

#[tokio::test]
async fn flight_info_counts_the_rows_do_get_streams() {
    let app = suite().await;
    let channel = app.channel().await;
    let mut c = flight(&channel, REGULATOR, Role::Regulator);
    let listed: Vec<_> = c
        .list_flights(bytes::Bytes::new())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<String> = listed
        .iter()
        .map(|i| String::from_utf8(i.flight_descriptor.clone().unwrap().cmd.to_vec()).unwrap())
        .collect();
    assert!(
        names.contains(&r#"{"dataset":"pi.values"}"#.to_string()),
        "{names:?}"
    );
    let info = c
        .get_flight_info(FlightDescriptor::new_cmd(YEAR_TICKET.to_string()))
        .await
        .unwrap();
    let schema = info.clone().try_decode_schema().unwrap();
    assert!(schema.field_with_name("signed_off_at").is_ok());
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let batches: Vec<RecordBatch> = c.do_get(ticket).await.unwrap().try_collect().await.unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!(rows > 0);
    assert_eq!(info.total_records, rows as i64);
    assert_eq!(batches[0].schema().as_ref(), &schema);
}

#[tokio::test]
async fn a_bad_ticket_names_the_key_or_field() {
    let app = suite().await;
    let channel = app.channel().await;
    let mut c = flight(&channel, REGULATOR, Role::Regulator);
    for (ticket, field) in [
        (r#"{"dataset": "pi.values", "colour": "red"}"#, "colour"),
        (r#"{"dataset": "pi.values", "year": "2024/26"}"#, "year"),
        (
            r#"{"dataset": "pi.values", "authority_type": "county"}"#,
            "authority_type",
        ),
        (r#"{"year": "2024/25"}"#, "dataset"),
        ("pi.values", "ticket"),
    ] {
        let e = read(&mut c, ticket).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{ticket}: {e:?}");
        let details = tonic_types::StatusExt::get_error_details(&e);
        let violations = details.bad_request().unwrap().field_violations.clone();
        assert_eq!(violations[0].field, field, "{ticket}");
    }
    let e = read(&mut c, r#"{"dataset": "pi.nothing"}"#)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let mut anonymous = FlightClient::new(channel.clone());
    let e = read(&mut anonymous, YEAR_TICKET).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}

/// Every cell of `batches` as text (dates as ISO dates), row by row.
fn ledger_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    // Without a time-zone database arrow cannot print "UTC": the microseconds.
                    DataType::Timestamp(..) => c
                        .as_primitive::<TimestampMicrosecondType>()
                        .value(i)
                        .to_string(),
                    _ => arrow_cast::display::array_value_to_string(c, i).unwrap(),
                })
                .collect();
            out.push(row);
        }
    }
    out
}

/// The ledger rows ExportInvoices gives `org` (after `since`, for one ALMO), as the pull writes
/// them; or the refusal.
async fn exported(
    channel: &Channel,
    org: &str,
    role: Role,
    since: &str,
    almo: &str,
) -> Result<Vec<Vec<String>>, tonic::Status> {
    let mut c = SlaChargingServiceClient::new(channel.clone());
    let mut stream = c
        .export_invoices(authed(
            sla::ExportInvoicesRequest {
                watermark: since.into(),
                customer_almo_id: almo.into(),
            },
            org,
            role,
        ))
        .await?
        .into_inner();
    let mut rows = Vec::new();
    while let Some(batch) = stream.message().await? {
        for e in &batch.entries {
            rows.extend(rows_of(e).into_iter().map(|r| r.to_vec()));
        }
    }
    Ok(rows)
}

#[tokio::test]
async fn invoice_lines_are_the_pull_rows_each_finance_team_may_see() {
    use almo_sla_charging::demo::{LEEDS, LEEDS_ENE, LEEDS_WNW};
    let app = suite().await;
    let channel = app.channel().await;
    for (org, role, since, almo) in [
        (LEEDS, Role::CouncilFinance, "", ""),
        (LEEDS, Role::CouncilFinance, "", LEEDS_WNW),
        (LEEDS_ENE, Role::AlmoFinance, "", ""),
        (LEEDS, Role::CouncilFinance, "1", ""),
        (LAMBETH_LIVING, Role::AlmoFinance, "", ""),
    ] {
        let ticket = format!(
            r#"{{"dataset": "sla.invoice_lines", "since": "{since}", "organisation": "{almo}"}}"#
        );
        let mut c = flight(&channel, org, role);
        let flown = ledger_rows(&read(&mut c, &ticket).await.unwrap());
        let pulled = exported(&channel, org, role, since, almo).await.unwrap();
        assert!(since == "1" || !pulled.is_empty(), "{org} {since} {almo}");
        assert_eq!(flown, pulled, "{org} {since} {almo}");
    }
    // Another ALMO's lines: refused exactly as ExportInvoices refuses them.
    let ticket = format!(r#"{{"dataset": "sla.invoice_lines", "organisation": "{LEEDS_WNW}"}}"#);
    let e = read(&mut flight(&channel, LEEDS_ENE, Role::AlmoFinance), &ticket)
        .await
        .unwrap_err();
    let grpc = exported(&channel, LEEDS_ENE, Role::AlmoFinance, "", LEEDS_WNW)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), grpc.code()),
        (Code::PermissionDenied, Code::PermissionDenied)
    );
    // The regulator reads no invoices: not listed, and refused.
    let mut regulator = flight(&channel, REGULATOR, Role::Regulator);
    let listed: Vec<_> = regulator
        .list_flights(bytes::Bytes::new())
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(listed.iter().all(|i| {
        !String::from_utf8_lossy(&i.flight_descriptor.as_ref().unwrap().cmd).contains("sla.")
    }));
    let e = read(&mut regulator, r#"{"dataset": "sla.invoice_lines"}"#)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = read(
        &mut flight(&channel, LEEDS, Role::CouncilFinance),
        r#"{"dataset": "sla.invoice_lines", "since": "-3"}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn variances_are_the_history_of_the_plans_the_caller_may_see() {
    use almo_delivery_plan::demo::PLAN_ID;
    let app = suite().await;
    let channel = app.channel().await;
    let ticket = r#"{"dataset": "delivery_plan.variances"}"#;
    let own = read(&mut flight(&channel, LAMBETH, Role::CouncilOfficer), ticket)
        .await
        .unwrap();
    let rows = ledger_rows(&own);
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r[0] == PLAN_ID && r[1] == LAMBETH && r[2] == LAMBETH_LIVING)
    );
    let almo = ledger_rows(
        &read(
            &mut flight(&channel, LAMBETH_LIVING, Role::AlmoOfficer),
            ticket,
        )
        .await
        .unwrap(),
    );
    assert_eq!(almo, rows);
    // Each record's revisions are what ListVarianceHistory gives.
    let mut c = DeliveryPlanServiceClient::new(channel.clone());
    let records: BTreeSet<&String> = rows.iter().map(|r| &r[3]).collect();
    for record in records {
        let history = c
            .list_variance_history(authed(
                dp::ListVarianceHistoryRequest {
                    plan_id: PLAN_ID.into(),
                    sender_record_id: record.clone(),
                },
                LAMBETH,
                Role::CouncilOfficer,
            ))
            .await
            .unwrap()
            .into_inner()
            .variances;
        let flown: Vec<(String, f64, bool)> = rows
            .iter()
            .filter(|r| &r[3] == record)
            .map(|r| (r[4].clone(), r[9].parse::<f64>().unwrap(), r[5] == "true"))
            .collect();
        let grpc: Vec<(String, f64, bool)> = history
            .iter()
            .map(|v| {
                (
                    v.revision.to_string(),
                    v.record.as_ref().unwrap().actual,
                    v.superseded,
                )
            })
            .collect();
        assert_eq!(flown, grpc, "{record}");
    }
    // Another council sees none of it, and naming the plan is refused as GetPlan refuses it.
    let mut other = flight(&channel, HARINGEY, Role::CouncilOfficer);
    assert!(ledger_rows(&read(&mut other, ticket).await.unwrap()).is_empty());
    let named = format!(r#"{{"dataset": "delivery_plan.variances", "plan": "{PLAN_ID}"}}"#);
    let e = read(&mut other, &named).await.unwrap_err();
    let grpc = c
        .get_plan(authed(
            dp::GetPlanRequest {
                plan_id: PLAN_ID.into(),
                ..Default::default()
            },
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), grpc.code());
    assert_eq!(e.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn benchmarks_are_what_get_benchmark_answers() {
    let app = suite().await;
    let channel = app.channel().await;
    let year = almo_pi_returns::demo::TABLE6_YEAR;
    let mut c = flight(&channel, LAMBETH, Role::CouncilOfficer);
    let batches = read(&mut c, r#"{"dataset": "pi.benchmarks", "year": "2001/02"}"#)
        .await
        .unwrap();
    let rows = ledger_rows(&batches);
    // Table 6: five indicators, each across the four authority types.
    assert!(rows.len() >= 20, "{rows:?}");
    let mut pi = PiReturnsServiceClient::new(channel.clone());
    for r in &rows {
        assert_eq!(
            (r[1].as_str(), r[2].as_str()),
            ("2001/02", "authority_type")
        );
        let answer = pi
            .get_benchmark(authed(
                pi::GetBenchmarkRequest {
                    indicator_code: r[0].clone(),
                    year: Some(FinancialYear { start_year: year }),
                    authority_type: r[3].clone(),
                    ..Default::default()
                },
                LAMBETH,
                Role::CouncilOfficer,
            ))
            .await
            .unwrap()
            .into_inner();
        let flown: Vec<f64> = r[4..8].iter().map(|x| x.parse().unwrap()).collect();
        let grpc = vec![answer.count as f64, answer.q1, answer.median, answer.q3];
        assert_eq!(flown, grpc, "{r:?}");
    }
    let e = read(&mut c, r#"{"dataset": "pi.benchmarks"}"#)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}
