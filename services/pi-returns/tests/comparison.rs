//! ALMO-managed against in-house for a year: each council in its group by its ALMOs' dates, the
//! groups summarised, the difference's interval reproducible from its seed; and the demo's TSM
//! year, whose Lambeth Living draft is refused for its survey.

mod common;

use almo_db::entity::organisation;
use almo_proto::pi_returns::{self as pb, CompareManagementModelsRequest};
use sea_orm::{EntityTrait, Set};
use tonic::Code;

use common::*;

async fn compare(
    client: &mut Client,
    req: CompareManagementModelsRequest,
    caller: Caller<'_>,
) -> Result<pb::CompareManagementModelsResponse, tonic::Status> {
    client
        .compare_management_models(by(req, caller))
        .await
        .map(|r| r.into_inner())
}

fn of_year(y: i32, code: &str) -> CompareManagementModelsRequest {
    CompareManagementModelsRequest {
        year: year(y),
        indicator_code: code.into(),
        ..Default::default()
    }
}

fn model_of(r: &pb::CompareManagementModelsResponse, council: &str) -> pb::ManagementModel {
    let a = r
        .councils
        .iter()
        .find(|c| c.council_id == council)
        .unwrap_or_else(|| panic!("{council} not assigned"));
    pb::ManagementModel::try_from(a.model).unwrap()
}

/// An ALMO of `council` live from `go_live` to `end`, its last day.
fn almo_row(
    id: &str,
    council: &str,
    go_live: &str,
    end: Option<&str>,
) -> organisation::ActiveModel {
    let mut row = council_row(id, id, "district", Some("North West"));
    row.kind = Set("almo".into());
    row.council_id = Set(Some(council.into()));
    row.go_live_date = Set(Some(go_live.parse().unwrap()));
    row.end_date = Set(end.map(|e| e.parse().unwrap()));
    row.stock_size = Set(Some(6_000));
    row
}

#[tokio::test]
async fn each_council_is_in_its_group_for_the_year_including_mid_year_changes() {
    let (app, mut client) = app().await;
    let rows = vec![
        council_row("E07000801", "Late Start Council", "district", None),
        council_row("E07000802", "Early End Council", "district", None),
        council_row("E07000803", "Late End Council", "district", None),
        // Live from 1 October 2024: 182 of 365 days, not more than half.
        almo_row("LATE-START-HOMES", "E07000801", "2024-10-01", None),
        // Its last day 30 September 2024: managed 1 April to 30 September, 183 days.
        almo_row(
            "EARLY-END-HOMES",
            "E07000802",
            "2010-04-01",
            Some("2024-09-30"),
        ),
        // Its last day 29 September 2024: 182 days.
        almo_row(
            "LATE-END-HOMES",
            "E07000803",
            "2010-04-01",
            Some("2024-09-29"),
        ),
    ];
    for row in rows {
        organisation::Entity::insert(row)
            .exec_without_returning(app.db.conn())
            .await
            .unwrap();
    }
    let r = compare(&mut client, of_year(2024, "TP01"), AS_REGULATOR)
        .await
        .unwrap();
    use pb::ManagementModel::{Almo, InHouse};
    for (council, model) in [
        (LAMBETH, Almo),
        ("E09000014", Almo),    // Haringey
        ("E08000035", Almo),    // Leeds, two ALMOs
        ("E08000019", Almo),    // Sheffield: agreement ended, the ALMO did not
        ("E06000018", Almo),    // Nottingham
        ("E09000012", InHouse), // Hackney: wound up in 2016
        ("E07000033", InHouse), // Bolsover: a shadow ALMO, never live
        ("E08000003", InHouse), // Manchester: never had one
        ("E07000801", InHouse),
        ("E07000802", Almo),
        ("E07000803", InHouse),
    ] {
        assert_eq!(model_of(&r, council), model, "{council}");
    }
    let late_start = r
        .councils
        .iter()
        .find(|c| c.council_id == "E07000801")
        .unwrap();
    assert_eq!(
        (late_start.days_almo_managed, late_start.days_in_year),
        (182, 365)
    );
    assert_eq!(late_start.almo_ids, vec!["LATE-START-HOMES"]);
    let leeds = r
        .councils
        .iter()
        .find(|c| c.council_id == "E08000035")
        .unwrap();
    assert_eq!(leeds.almo_ids.len(), 2);
    // The same council, a year earlier, was in-house all year.
    let before = compare(&mut client, of_year(2023, "TP01"), AS_REGULATOR)
        .await
        .unwrap();
    assert_eq!(model_of(&before, "E07000802"), Almo);
    assert_eq!(model_of(&before, "E07000801"), InHouse);
    // The demo's signed-off 2024/25 returns: five ALMO-managed councils, ten in-house.
    let tp01 = &r.measures[0];
    let (almo, in_house) = (tp01.almo.unwrap(), tp01.in_house.unwrap());
    assert_eq!((almo.organisations, in_house.organisations), (5, 10));
    // Homes: Lambeth 33,000, Haringey 16,000, Leeds 39,000, Sheffield 42,000, Nottingham 27,000.
    assert_eq!(almo.homes, 157_000);
    assert!(almo.q1.unwrap() <= almo.median.unwrap() && almo.median.unwrap() <= almo.q3.unwrap());
    let diff = tp01.difference.unwrap();
    assert_eq!(
        diff,
        ((almo.weighted_mean.unwrap() - in_house.weighted_mean.unwrap()) * 100.0).round() / 100.0
    );
}

#[tokio::test]
async fn interval_reproducible_from_its_seed() {
    let (_app, mut client) = app().await;
    let ask = |seed| CompareManagementModelsRequest {
        seed: Some(seed),
        resamples: 1_000,
        ..of_year(2024, "")
    };
    let one = compare(&mut client, ask(7), AS_REGULATOR).await.unwrap();
    let again = compare(&mut client, ask(7), AS_LAMBETH_LIVING)
        .await
        .unwrap();
    assert_eq!(
        one, again,
        "the same seed on the same data gives the same answer"
    );
    assert_eq!((one.seed, one.resamples), (7, 1_000));
    let other = compare(&mut client, ask(8), AS_REGULATOR).await.unwrap();
    assert_ne!(
        one.measures
            .iter()
            .map(|m| m.difference_lower)
            .collect::<Vec<_>>(),
        other
            .measures
            .iter()
            .map(|m| m.difference_lower)
            .collect::<Vec<_>>()
    );
    // Every measure in force but yes/no ones, cost per home apart.
    assert_eq!(one.measures.len(), 22);
    for m in &one.measures {
        let code = &m.indicator.as_ref().unwrap().code;
        let (lo, d, hi) = (
            m.difference_lower.unwrap(),
            m.difference.unwrap(),
            m.difference_upper.unwrap(),
        );
        assert!(lo <= d && d <= hi, "{code}: {lo} {d} {hi}");
        let verdict = pb::DifferenceVerdict::try_from(m.verdict).unwrap();
        let dir = m.indicator.as_ref().unwrap().direction;
        if dir == pb::Direction::Context as i32 {
            assert_eq!(verdict, pb::DifferenceVerdict::NotRanked, "{code}");
        } else if lo > 0.0 && dir == pb::Direction::Higher as i32 {
            assert_eq!(verdict, pb::DifferenceVerdict::AlmoBetter, "{code}");
        } else if lo <= 0.0 && hi >= 0.0 {
            assert_eq!(verdict, pb::DifferenceVerdict::NoClearDifference, "{code}");
        }
    }
    let cost = one.cost_per_home.unwrap();
    assert_eq!(cost.indicator.unwrap().code, "VFM05");
    assert_eq!(cost.verdict, pb::DifferenceVerdict::NotRanked as i32);
    assert_eq!(cost.almo.unwrap().organisations, 5);
    // Without a seed, the default seed is used and stated.
    let default = compare(&mut client, of_year(2024, "TP01"), AS_REGULATOR)
        .await
        .unwrap();
    assert_ne!(default.seed, 0);
    assert_eq!(default.resamples, 2_000);
    assert!(
        default.method.contains("more than half"),
        "{}",
        default.method
    );
}

#[tokio::test]
async fn comparison_refuses_bad_fields_naming_them() {
    let (_app, mut client) = app().await;
    let err = compare(
        &mut client,
        CompareManagementModelsRequest {
            resamples: 50_000,
            ..Default::default()
        },
        AS_REGULATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), vec!["year", "resamples"]);
    let err = compare(&mut client, of_year(2024, "BVPI 66a"), AS_REGULATOR)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), vec!["indicator_code"]);
    let err = compare(
        &mut client,
        CompareManagementModelsRequest {
            split: "bme".into(),
            ..of_year(2024, "TP01")
        },
        AS_REGULATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&err), vec!["split"]);
}

#[tokio::test]
async fn demo_draft_whose_survey_misses_its_band_is_refused() {
    let (_app, mut client) = app().await;
    let draft = get_return(
        &mut client,
        "LAMBETH-LIVING/2024/Y",
        false,
        AS_LAMBETH_LIVING,
    )
    .await
    .unwrap();
    let s = &draft.surveys[0];
    assert_eq!((s.relevant_homes, s.sample_size), (33_000, 1_800));
    assert_eq!((s.achieved_margin, s.required_margin), (2.2, 2.0));
    let err = submit(&mut client, &draft, ANN).await.unwrap_err();
    assert_eq!(reason(&err), "SURVEY_PRECISION_NOT_MET");
    assert!(err.message().contains("achieves ±2.2"), "{}", err.message());
    assert!(err.message().contains("require ±2.0"), "{}", err.message());
}
