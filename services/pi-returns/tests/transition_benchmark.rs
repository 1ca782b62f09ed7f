//! Benchmarks of the year of an ALMO's end (DOMAIN.md "An ALMO's life"): the authority stands on
//! its whole-year figure made from the parts (the ALMO's signed-off part to its end and the
//! council's own part after), never on the council's part alone, and no part-year figure is
//! compared with whole years. Leeds' example of `tests/transition_year.rs`: the authority
//! collected 145.4m of 150m of rent in 2007/08, 96.93%, where its own part after the end is 98%.

use almo_auth::Role;
use almo_db::entity::organisation;
use almo_proto::pi_returns::{self as pb, CompareManagementModelsRequest, ReviseReturnRequest};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

mod common;

use almo_testkit::end_almo;
use common::*;

const LEEDS: &str = "E08000035";
const ENE: &str = "LEEDS-ENE-HOMES";
const WNW: &str = "LEEDS-WNW-HOMES";
const CAROL: &str = "carol@E08000035";
/// Other metropolitan councils' rent collected in 2007/08, signed off.
const PEERS: [(&str, f64); 4] = [
    ("E08990001", 95.0),
    ("E08990002", 96.0),
    ("E08990003", 97.5),
    ("E08990004", 98.0),
];

/// The mandatory 2007/08 figures with rent collected (BVPI 66a) as `(numerator, denominator)`.
fn figures_2007(rent: (f64, f64)) -> Vec<pb::ValueInput> {
    let mut values = mandatory_2004();
    values.retain(|v| v.indicator_code != "BVPI 66a" && v.indicator_code != "BVPI 185");
    values.push(ratio("BVPI 66a", rent.0, rent.1));
    values.push(ratio("BVPI 185", 800.0, 1_000.0));
    values
}

/// `org`'s 2007/08 return with `values`, submitted by ann@org and signed off by Carol of Leeds.
async fn signed_off_2007(c: &mut Client, org: &str, values: Vec<pb::ValueInput>) -> pb::PiReturn {
    signed_off(c, org, 2007, values).await
}

/// `org`'s return for `y` with `values`, submitted by ann@org and signed off by Carol of Leeds.
async fn signed_off(
    c: &mut Client,
    org: &str,
    y: i32,
    values: Vec<pb::ValueInput>,
) -> pb::PiReturn {
    let ann = format!("ann@{org}");
    let r = create(c, org, &ann, y).await;
    let r = set(c, &r, &ann, values).await.unwrap();
    let r = submit(c, &r, &ann).await.unwrap();
    sign_off(c, &r, LEEDS, Role::CouncilOfficer, CAROL)
        .await
        .unwrap()
}

/// The four peers, loaded as a predecessor system's signed-off returns.
async fn load_peers(app: &almo_testkit::TestApp) {
    let conn = app.db.conn();
    organisation::Entity::insert_many(
        PEERS
            .iter()
            .map(|(id, _)| council_row(id, &format!("Council {id}"), "metropolitan", None)),
    )
    .exec_without_returning(conn)
    .await
    .unwrap();
    let ids: Vec<String> = PEERS.iter().map(|(o, _)| format!("{o}/2007")).collect();
    almo_db::entity::pi_return::Entity::insert_many(
        PEERS
            .iter()
            .map(|(o, _)| return_row(&format!("{o}/2007"), o, 2007, "signed_off")),
    )
    .exec_without_returning(conn)
    .await
    .unwrap();
    almo_db::entity::pi_return_value::Entity::insert_many(
        PEERS
            .iter()
            .map(|(o, v)| value_row(&format!("{o}/2007"), "BVPI 66a", *v)),
    )
    .exec_without_returning(conn)
    .await
    .unwrap();
    almo_pi_returns::benchmark_points::refresh_returns(conn, &ids)
        .await
        .unwrap();
}

async fn rent_2007(c: &mut Client) -> pb::GetBenchmarkResponse {
    get_benchmark(c, among("BVPI 66a", 2007, "metropolitan"), AS_REGULATOR)
        .await
        .unwrap()
}

fn position(b: &pb::GetBenchmarkResponse, org: &str) -> Option<f64> {
    b.positions
        .iter()
        .find(|p| p.organisation_id == org)
        .map(|p| p.value)
}

/// The median rent collected of the ALMO-managed councils in 2007/08.
async fn almo_managed_median(c: &mut Client) -> Option<f64> {
    let r = c
        .compare_management_models(by(
            CompareManagementModelsRequest {
                year: year(2007),
                indicator_code: "BVPI 66a".into(),
                ..Default::default()
            },
            AS_REGULATOR,
        ))
        .await
        .unwrap()
        .into_inner();
    let leeds = r.councils.iter().find(|a| a.council_id == LEEDS).unwrap();
    assert_eq!(leeds.model, pb::ManagementModel::Almo as i32, "{leeds:?}");
    r.measures[0].almo.as_ref().unwrap().median
}

#[tokio::test]
async fn hand_back_year_benchmarks_the_authoritys_whole_year_figure() {
    let (app, mut c) = app().await;
    load_peers(&app).await;
    end_almo(&app.db, ENE, "2007-10-16").await;
    // West North West all year; Leeds itself after the end; East North East to its end, not
    // yet signed off.
    signed_off_2007(&mut c, WNW, figures_2007((48_500_000.0, 50_000_000.0))).await;
    let own = create(&mut c, LEEDS, "dan@E08000035", 2007).await;
    // The change in non-decent homes over the year is not made from parts: Leeds reports it
    // for the whole year itself.
    let mut own_values = figures_2007((44_100_000.0, 45_000_000.0));
    own_values.retain(|v| v.indicator_code != "BVPI 184b");
    own_values.push(value("BVPI 184b", 12.0));
    let own = set(&mut c, &own, "dan@E08000035", own_values)
        .await
        .unwrap();
    let own = submit(&mut c, &own, "dan@E08000035").await.unwrap();
    let own = sign_off(&mut c, &own, LEEDS, Role::CouncilOfficer, CAROL)
        .await
        .unwrap();
    assert_eq!(current(&own, "BVPI 66a"), 98.0, "the council's own part");
    let ene_ann = format!("ann@{ENE}");
    let ene = create(&mut c, ENE, &ene_ann, 2007).await;
    let ene = set(
        &mut c,
        &ene,
        &ene_ann,
        figures_2007((52_800_000.0, 55_000_000.0)),
    )
    .await
    .unwrap();
    let ene = submit(&mut c, &ene, &ene_ann).await.unwrap();

    // Without East North East's part no whole-year figure can be made: Leeds is left out, not
    // compared on its part-year 98%. West North West, live all year, benchmarks on its own, as
    // an ALMO does whenever its council has no figure of its own.
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), None, "{:?}", b.positions);
    assert_eq!(position(&b, WNW), Some(97.0));
    assert_eq!(b.count, 5);
    // 95, 96, 97, 97.5, 98
    assert_eq!((b.q1, b.median, b.q3), (96.0, 97.0, 97.5));
    assert_eq!(almo_managed_median(&mut c).await, None);
    let change = get_benchmark(
        &mut c,
        among("BVPI 184b", 2007, "metropolitan"),
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(position(&change, LEEDS), Some(12.0), "not_combinable");

    // Both parts signed off: the authority's 96.93% counts, and the ALMO's part-year figure is
    // neither counted nor positioned.
    let ene = sign_off(&mut c, &ene, LEEDS, Role::CouncilOfficer, CAROL)
        .await
        .unwrap();
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), Some(96.93));
    assert_eq!(position(&b, ENE), None);
    assert_eq!(b.count, 5);
    assert_eq!(b.almos_represented_by_their_council, 1, "West North West");
    // 95, 96, 96.93, 97.5, 98: with the council's part (98) the median would be 97.5.
    assert_eq!((b.q1, b.median, b.q3), (96.0, 96.93, 97.5));
    let leeds = b.positions.iter().find(|p| p.organisation_id == LEEDS);
    assert_eq!(leeds.unwrap().quartile_band, 3);
    assert_eq!(almo_managed_median(&mut c).await, Some(96.93));

    // East North East's part revised: it awaits a new sign-off, and Leeds is left out meanwhile.
    let revised = c
        .revise_return(person(
            ReviseReturnRequest {
                request_id: "revise-ene".into(),
                return_id: ene.id.clone(),
                etag: ene.etag.clone(),
                reason: "Audit found arrears counted as collected.".into(),
                values: vec![ratio("BVPI 66a", 50_000_000.0, 55_000_000.0)],
            },
            ENE,
            Role::AlmoOfficer,
            &ene_ann,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(position(&rent_2007(&mut c).await, LEEDS), None);
    sign_off(&mut c, &revised, LEEDS, Role::CouncilOfficer, CAROL)
        .await
        .unwrap();
    // (50m + 48.5m + 44.1m) / 150m = 95.07%.
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), Some(95.07));
    assert_eq!((b.q1, b.median, b.q3), (95.07, 96.0, 97.5));
    assert_eq!(almo_managed_median(&mut c).await, Some(95.07));
}

#[tokio::test]
async fn an_end_moved_in_the_directory_moves_the_benchmark_at_once() {
    let (app, mut c) = app().await;
    load_peers(&app).await;
    // Leeds and both ALMOs file whole years; then East North East's end is recorded for
    // 16 October after all were signed off: Leeds' return now holds its part from 17 October.
    signed_off_2007(&mut c, WNW, figures_2007((48_500_000.0, 50_000_000.0))).await;
    signed_off_2007(&mut c, ENE, figures_2007((52_800_000.0, 55_000_000.0))).await;
    let own = create(&mut c, LEEDS, "dan@E08000035", 2007).await;
    let own = set(
        &mut c,
        &own,
        "dan@E08000035",
        figures_2007((44_100_000.0, 45_000_000.0)),
    )
    .await
    .unwrap();
    let own = submit(&mut c, &own, "dan@E08000035").await.unwrap();
    sign_off(&mut c, &own, LEEDS, Role::CouncilOfficer, CAROL)
        .await
        .unwrap();
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), Some(98.0));
    assert_eq!(position(&b, ENE), Some(96.0));

    end_almo(&app.db, ENE, "2007-10-16").await;
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), Some(96.93));
    assert_eq!(position(&b, ENE), None);
    // Moved to the year's last day, East North East managed the whole year: no part-year.
    end_almo(&app.db, ENE, "2008-03-31").await;
    let b = rent_2007(&mut c).await;
    assert_eq!(position(&b, LEEDS), Some(98.0));
    assert_eq!(position(&b, ENE), Some(96.0));
}

#[tokio::test]
async fn the_year_after_a_hand_back_compares_with_the_authoritys_figure() {
    let (app, mut c) = app().await;
    // Both ALMOs live from 1 April 2006; East North East ended in 2006/07, and in 2007/08
    // Leeds reports for its homes itself.
    organisation::Entity::update_many()
        .col_expr(
            organisation::Column::GoLiveDate,
            Expr::value(Some(chrono::NaiveDate::from_ymd_opt(2006, 4, 1).unwrap())),
        )
        .filter(organisation::Column::Id.is_in([ENE, WNW]))
        .exec(app.db.conn())
        .await
        .unwrap();
    end_almo(&app.db, ENE, "2006-10-16").await;
    signed_off(
        &mut c,
        ENE,
        2006,
        figures_2007((52_800_000.0, 55_000_000.0)),
    )
    .await;
    signed_off(
        &mut c,
        WNW,
        2006,
        figures_2007((48_500_000.0, 50_000_000.0)),
    )
    .await;
    signed_off(
        &mut c,
        LEEDS,
        2006,
        figures_2007((44_100_000.0, 45_000_000.0)),
    )
    .await;
    signed_off(
        &mut c,
        LEEDS,
        2007,
        figures_2007((97_000_000.0, 100_000_000.0)),
    )
    .await;
    let b = rent_2007(&mut c).await;
    let leeds = b
        .positions
        .iter()
        .find(|p| p.organisation_id == LEEDS)
        .unwrap();
    assert_eq!(leeds.value, 97.0);
    // 2006/07: (52.8m + 48.5m + 44.1m) / 150m = 96.93%, not the council's part's 98%.
    assert_eq!(leeds.prior_year_value, Some(96.93));
    assert_eq!(leeds.change_on_prior_year, Some(0.07));
}
