//! The year of an ALMO's end filed as parts (DOMAIN.md "An ALMO's life"; seed 002): the ALMO's
//! return covers the days to its end (its last day), its council's own return the days after,
//! and the authority's figure for the whole year is made from the parts by each indicator's
//! part-year rule — ratio of sums for what is counted over the year, the part covering 1 April
//! or 31 March for a stock on that day, and nothing for what cannot be made from parts.

use almo_auth::Role;
use almo_proto::pi_returns::{
    self as pb, CombineAlmoReturnsRequest, ListOutstandingReturnsRequest,
};
use chrono::{Datelike, Utc};
use sea_orm::{ActiveModelTrait, Set};
use tonic::Code;

mod common;

use almo_testkit::end_almo;
use common::*;

const LEEDS: &str = "E08000035";
const ENE: &str = "LEEDS-ENE-HOMES";
const WNW: &str = "LEEDS-WNW-HOMES";
const AS_LEEDS: Caller = (LEEDS, Role::CouncilOfficer);

/// The mandatory 2007/08 figures, the ratios among them given as `(numerator, denominator)`:
/// rent collected (BVPI 66a), repairs by appointment (185), non-decent homes at 1 April (184a)
/// and the SAP ratings of the homes (63).
fn figures_2007(
    rent: (f64, f64),
    repairs: (f64, f64),
    non_decent: f64,
    sap: f64,
) -> Vec<pb::ValueInput> {
    let mut values = mandatory_2004();
    values.retain(|v| {
        !["BVPI 66a", "BVPI 185", "BVPI 184a", "BVPI 63"].contains(&v.indicator_code.as_str())
    });
    values.push(ratio("BVPI 66a", rent.0, rent.1));
    values.push(ratio("BVPI 185", repairs.0, repairs.1));
    values.push(ratio("BVPI 184a", non_decent, 10_000.0));
    values.push(ratio("BVPI 63", sap * 10_000.0, 10_000.0));
    values
}

/// `almo`'s 2007/08 return with `values`, submitted by its officer and signed off by Leeds.
async fn signed_off_2007(c: &mut Client, almo: &str, values: Vec<pb::ValueInput>) -> pb::PiReturn {
    let ann = format!("ann@{almo}");
    let r = create(c, almo, &ann, 2007).await;
    let r = set(c, &r, &ann, values).await.unwrap();
    let r = submit(c, &r, &ann).await.unwrap();
    sign_off(c, &r, LEEDS, Role::CouncilOfficer, "carol@E08000035")
        .await
        .unwrap()
}

fn authority<'a>(r: &'a pb::PiReturn, code: &str) -> &'a pb::AuthorityFigure {
    r.authority_figures
        .iter()
        .find(|f| f.indicator_code == code && f.split.is_empty())
        .unwrap_or_else(|| panic!("{code} not in {:?}", r.authority_not_combined))
}

fn not_combined<'a>(r: &'a pb::PiReturn, code: &str) -> &'a str {
    r.authority_not_combined
        .iter()
        .find(|n| n.indicator_code == code && n.split.is_empty())
        .map(|n| n.reason.as_str())
        .unwrap_or_else(|| panic!("{code} combined"))
}

#[tokio::test]
async fn transition_year_almo_part_ends_on_its_last_day() {
    let (app, mut c) = app().await;
    // Opened before the end was recorded: what a return covers follows the directory.
    let almo = create(&mut c, LAMBETH_LIVING, ANN, 2016).await;
    assert_eq!(
        (almo.covers_from.as_str(), almo.covers_to.as_str()),
        ("2016-04-01", "2017-03-31")
    );
    end_almo(&app.db, LAMBETH_LIVING, "2016-10-16").await;
    let almo = get_return(&mut c, &almo.id, false, AS_LAMBETH_LIVING)
        .await
        .unwrap();
    assert_eq!(
        (almo.covers_from.as_str(), almo.covers_to.as_str()),
        ("2016-04-01", "2016-10-16")
    );
    // The council files the rest of the year, from the day after the end.
    let council = create(&mut c, LAMBETH, "dan@E09000022", 2016).await;
    assert_eq!(
        (council.covers_from.as_str(), council.covers_to.as_str()),
        ("2016-10-17", "2017-03-31")
    );
    let read = get_return(&mut c, &council.id, false, AS_LAMBETH)
        .await
        .unwrap();
    assert_eq!(read.covers_from, "2016-10-17");
    // The year before the end is the ALMO's whole; the year after, the council's whole.
    let before = create(&mut c, LAMBETH_LIVING, ANN, 2015).await;
    assert_eq!(
        (before.covers_from.as_str(), before.covers_to.as_str()),
        ("2015-04-01", "2016-03-31")
    );
    let after = create(&mut c, LAMBETH, "dan@E09000022", 2017).await;
    assert_eq!(
        (after.covers_from.as_str(), after.covers_to.as_str()),
        ("2017-04-01", "2018-03-31")
    );
}

#[tokio::test]
async fn an_almos_part_year_return_opens_the_day_after_its_end() {
    let (app, mut c) = app().await;
    let end = Utc::now().date_naive() - chrono::Days::new(5);
    let fy = if end.month() >= 4 {
        end.year()
    } else {
        end.year() - 1
    };
    end_almo(&app.db, LAMBETH_LIVING, &end.to_string()).await;
    let almo = create(&mut c, LAMBETH_LIVING, ANN, fy).await;
    assert_eq!(almo.covers_to, end.to_string());
    // Its days are over: submitting is held up by what is missing, not by the window.
    let err = submit(&mut c, &almo, ANN).await.unwrap_err();
    assert_eq!(
        reason(&err),
        "MANDATORY_INDICATORS_MISSING",
        "{}",
        err.message()
    );
    // The council's own part runs to 31 March: its window is not open yet.
    if Utc::now().date_naive() <= chrono::NaiveDate::from_ymd_opt(fy + 1, 3, 31).unwrap() {
        let council = create(&mut c, LAMBETH, "dan@E09000022", fy).await;
        let err = submit(&mut c, &council, "dan@E09000022").await.unwrap_err();
        assert_eq!(reason(&err), "WINDOW_NOT_OPEN");
        assert!(
            err.message().contains(&format!("{}-03-31", fy + 1)),
            "{}",
            err.message()
        );
    }
}

#[tokio::test]
async fn combined_transition_year_is_ratio_of_sums() {
    let (app, mut c) = app().await;
    end_almo(&app.db, ENE, "2007-10-16").await;
    // A third ALMO of Leeds in shadow form (never live) manages nothing and owes no part.
    let mut shadow = council_row(
        "LEEDS-SHADOW-HOMES",
        "Leeds Shadow Homes",
        "metropolitan",
        None,
    );
    shadow.kind = Set("almo".into());
    shadow.authority_type = Set(None);
    shadow.council_id = Set(Some(LEEDS.into()));
    shadow.end_date = Set(Some("2007-12-31".parse().unwrap()));
    shadow.insert(app.db.conn()).await.unwrap();
    // East North East to its end; West North West all year; Leeds itself after the end.
    let ene = signed_off_2007(
        &mut c,
        ENE,
        figures_2007(
            (52_800_000.0, 55_000_000.0),
            (800.0, 1_000.0),
            3_000.0,
            60.0,
        ),
    )
    .await;
    assert_eq!(ene.covers_to, "2007-10-16");
    let wnw_values = figures_2007(
        (48_500_000.0, 50_000_000.0),
        (900.0, 1_000.0),
        2_000.0,
        70.0,
    );
    let council = create(&mut c, LEEDS, "dan@E08000035", 2007).await;
    let own = figures_2007((44_100_000.0, 45_000_000.0), (450.0, 500.0), 2_500.0, 66.0);
    set(&mut c, &council, "dan@E08000035", own).await.unwrap();

    // West North West has not signed off: its part is missing, so nothing it reports combines.
    let read = get_return(&mut c, &council.id, false, AS_LEEDS)
        .await
        .unwrap();
    assert!(
        not_combined(&read, "BVPI 66a").contains(WNW),
        "{:?}",
        read.authority_not_combined
    );

    signed_off_2007(&mut c, WNW, wnw_values).await;
    let read = get_return(&mut c, &council.id, false, AS_LEEDS)
        .await
        .unwrap();
    assert_eq!(read.covers_from, "2007-10-17");
    // Rent collected over the year: (52.8m + 48.5m + 44.1m) / (55m + 50m + 45m) = 96.93%, not
    // the 97.0% average of the three parts' 96.0, 97.0 and 98.0.
    let rent = authority(&read, "BVPI 66a");
    assert_eq!(rent.value, 96.93);
    assert_eq!(rent.numerator, Some(145_400_000.0));
    assert_eq!(rent.denominator, Some(150_000_000.0));
    assert_eq!(rent.rule, pb::PartYear::Add as i32);
    let parts: Vec<(&str, &str, &str, bool)> = rent
        .parts
        .iter()
        .map(|p| {
            (
                p.organisation_id.as_str(),
                p.covers_from.as_str(),
                p.covers_to.as_str(),
                p.counted,
            )
        })
        .collect();
    assert_eq!(
        parts,
        vec![
            (ENE, "2007-04-01", "2007-10-16", true),
            (WNW, "2007-04-01", "2008-03-31", true),
            (LEEDS, "2007-10-17", "2008-03-31", true),
        ]
    );
    assert_eq!(rent.parts[0].return_id, ene.id);
    // Repairs by appointment: (800 + 900 + 450) / (1,000 + 1,000 + 500) = 86%.
    assert_eq!(authority(&read, "BVPI 185").value, 86.0);
    // Non-decent homes at 1 April: the ALMOs held all the homes that day, (3,000 + 2,000) /
    // 20,000; the council's figure is not counted.
    let non_decent = authority(&read, "BVPI 184a");
    assert_eq!(non_decent.value, 25.0);
    assert_eq!(non_decent.rule, pb::PartYear::AtStart as i32);
    assert_eq!(
        non_decent
            .parts
            .iter()
            .map(|p| p.counted)
            .collect::<Vec<_>>(),
        vec![true, true, false]
    );
    // The SAP rating of the homes at the year's end: West North West's and the council's,
    // (700,000 + 660,000) / 20,000 = 68; East North East's homes are the council's by then.
    let sap = authority(&read, "BVPI 63");
    assert_eq!(sap.value, 68.0);
    assert_eq!(sap.rule, pb::PartYear::AtEnd as i32);
    assert_eq!(
        sap.parts.iter().map(|p| p.counted).collect::<Vec<_>>(),
        vec![false, true, true]
    );
    // What cannot be made from parts is said, with why: the council reports it for the year.
    assert!(not_combined(&read, "BVPI 184b").contains("whole period"));
    assert!(not_combined(&read, "BVPI 164").contains("whole period"));
    // The catalogue says which rule an indicator follows.
    let def = indicator(&mut c, "BVPI 184a", 2007, AS_LEEDS)
        .await
        .unwrap();
    assert_eq!(def.part_year, pb::PartYear::AtStart as i32);

    // Combining onto the council's own part-year return is refused, naming the end.
    let err = c
        .combine_almo_returns(person(
            CombineAlmoReturnsRequest {
                request_id: "combine-part".into(),
                return_id: council.id.clone(),
                etag: read.etag.clone(),
            },
            LEEDS,
            Role::CouncilOfficer,
            "dan@E08000035",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "PART_YEAR");
    assert!(
        err.message().contains("ended on 2007-10-16"),
        "{}",
        err.message()
    );
    // Once the council's part is submitted the regulator reads the same authority figures.
    assert!(
        get_return(&mut c, &council.id, false, AS_REGULATOR)
            .await
            .is_err(),
        "a draft is not the regulator's to read"
    );
    let submitted = submit(&mut c, &read, "dan@E08000035").await.unwrap();
    let seen = get_return(&mut c, &submitted.id, false, AS_REGULATOR)
        .await
        .unwrap();
    assert_eq!(authority(&seen, "BVPI 66a").value, 96.93);
}

#[tokio::test]
async fn outstanding_list_expects_council_alone_after_the_end() {
    let (app, mut c) = app().await;
    end_almo(&app.db, LAMBETH_LIVING, "2016-10-16").await;
    let covers = |list: &[pb::ExpectedReturn], org: &str| {
        list.iter()
            .find(|e| e.organisation_id == org)
            .map(|e| (e.covers_from.clone(), e.covers_to.clone()))
    };
    // The year of the end: the ALMO to its end, the council after.
    let year = expected(&mut c, 2016, AS_LAMBETH).await;
    assert_eq!(
        covers(&year, LAMBETH_LIVING),
        Some(("2016-04-01".into(), "2016-10-16".into()))
    );
    assert_eq!(
        covers(&year, LAMBETH),
        Some(("2016-10-17".into(), "2017-03-31".into()))
    );
    // The year after: the council alone, for the whole year.
    let next = expected(&mut c, 2017, AS_LAMBETH).await;
    assert_eq!(covers(&next, LAMBETH_LIVING), None);
    assert_eq!(
        covers(&next, LAMBETH),
        Some(("2017-04-01".into(), "2018-03-31".into()))
    );
    // Quarters: the one holding the end is shared, the next is the council's alone.
    let list = |q| ListOutstandingReturnsRequest {
        period: quarter(2016, q),
        page_size: 100,
        page_token: String::new(),
    };
    let q3 = c
        .list_outstanding_returns(by(list(3), AS_LAMBETH))
        .await
        .unwrap()
        .into_inner()
        .expected;
    assert_eq!(
        covers(&q3, LAMBETH_LIVING),
        Some(("2016-10-01".into(), "2016-10-16".into()))
    );
    assert_eq!(
        covers(&q3, LAMBETH),
        Some(("2016-10-17".into(), "2016-12-31".into()))
    );
    let q4 = c
        .list_outstanding_returns(by(list(4), AS_LAMBETH))
        .await
        .unwrap()
        .into_inner()
        .expected;
    assert_eq!(covers(&q4, LAMBETH_LIVING), None);
    assert_eq!(
        covers(&q4, LAMBETH),
        Some(("2017-01-01".into(), "2017-03-31".into()))
    );
}

#[tokio::test]
async fn the_catalogue_says_how_part_years_make_the_year() {
    let (_app, mut c) = app().await;
    let import = |id: &str, d: pb::IndicatorDefinition| {
        almo_testkit::authed(
            pb::ImportCatalogueRequest {
                request_id: id.into(),
                indicators: vec![d],
            },
            OPERATOR,
            Role::Admin,
        )
    };
    // Homes not meeting the Decent Homes Standard is a stock at the year's end; rent collected
    // is unset in the catalogue, and adds as it combines.
    let rp01 = indicator(&mut c, "RP01", 2026, AS_LAMBETH).await.unwrap();
    assert_eq!(rp01.part_year, pb::PartYear::AtEnd as i32);
    let rent = indicator(&mut c, "BVPI 66a", 2007, AS_LAMBETH)
        .await
        .unwrap();
    assert_eq!(rent.part_year, pb::PartYear::Unspecified as i32);
    // A redefinition from 2026 taking its stock at 1 April instead.
    let mut redefined = rp01.clone();
    redefined.from_year = year(2026);
    redefined.part_year = pb::PartYear::AtStart as i32;
    let done = c
        .import_catalogue(import("p-1", redefined))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.added, 1);
    let read = indicator(&mut c, "RP01", 2026, AS_LAMBETH).await.unwrap();
    assert_eq!(read.part_year, pb::PartYear::AtStart as i32);
    assert_eq!(
        indicator(&mut c, "RP01", 2025, AS_LAMBETH)
            .await
            .unwrap()
            .part_year,
        pb::PartYear::AtEnd as i32
    );
    // A rule that is not one, or a count against the year-end stock without a ratio, is refused
    // naming the field.
    let mut unknown = rp01.clone();
    unknown.from_year = year(2027);
    unknown.part_year = 99;
    let err = c
        .import_catalogue(import("p-2", unknown))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["indicators[0].part_year"]);
    let mut no_ratio = rp01;
    no_ratio.from_year = year(2027);
    no_ratio.part_year = pb::PartYear::OverEndStock as i32;
    no_ratio.ratio = None;
    no_ratio.combination = pb::Combination::Sum as i32;
    let err = c
        .import_catalogue(import("p-3", no_ratio))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicators[0].part_year"]);
}
