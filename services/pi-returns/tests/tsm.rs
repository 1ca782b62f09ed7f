//! The Tenant Satisfaction Measures as the regulator uses them: the tenant survey's precision
//! checked against its band, low-cost rental and low-cost home ownership apart, and landlords
//! with fewer than 1,000 homes never chased.

mod common;

use almo_auth::Role;
use almo_db::entity::organisation;
use almo_pi_returns::domain::survey::responses_needed;
use almo_proto::pi_returns::{self as pb, SetValuesRequest, ValueInput};
use sea_orm::{EntityTrait, Set};

use common::*;

const HAL: &str = "hal@HOMES-FOR-HARINGEY";

/// Every measure in force for 2024/25 at the middle of its usual range, with `extra` values;
/// the missing splits are explained.
async fn tsm_values(client: &mut Client, extra: Vec<ValueInput>) -> Vec<ValueInput> {
    let defs = all_indicators(client, 2024, 0, AS_REGULATOR).await;
    let mut values: Vec<ValueInput> = defs
        .iter()
        .map(|d| ValueInput {
            indicator_code: d.code.clone(),
            value: Some(((d.usual_min + d.usual_max) / 2.0).round()),
            explanation: "Headline figures only; no separate (a)/(b) figures kept.".into(),
            ..Default::default()
        })
        .collect();
    values.extend(extra);
    values
}

/// `org`'s 2024/25 return with every measure (and `extra`), opened and filled by `subject`.
async fn tsm_return(
    client: &mut Client,
    org: &str,
    subject: &str,
    extra: Vec<ValueInput>,
) -> pb::PiReturn {
    let r = create(client, org, subject, 2024).await;
    let values = tsm_values(client, extra).await;
    set(client, &r, subject, values).await.unwrap()
}

fn survey(tenure: pb::Tenure, relevant_homes: i32, responses: i32) -> pb::TenantSurvey {
    pb::TenantSurvey {
        sample_size: responses,
        method: pb::SurveyMethod::Mixed as i32,
        tenure: tenure as i32,
        relevant_homes,
        fieldwork_start_date: "2024-09-02".into(),
        fieldwork_end_date: "2024-11-29".into(),
        weighted: true,
        ..Default::default()
    }
}

async fn describe(
    client: &mut Client,
    r: &pb::PiReturn,
    subject: &str,
    s: pb::TenantSurvey,
) -> Result<pb::PiReturn, tonic::Status> {
    client
        .set_values(person(
            SetValuesRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                return_id: r.id.clone(),
                etag: r.etag.clone(),
                values: vec![],
                survey: Some(s),
            },
            &r.organisation_id,
            officer(&r.organisation_id),
            subject,
        ))
        .await
        .map(|r| r.into_inner().pi_return.unwrap())
}

#[tokio::test]
async fn survey_exactly_at_its_band_submits_and_just_outside_is_refused_naming_the_figures() {
    let (_app, mut client) = app().await;
    let r = tsm_return(&mut client, HOMES_FOR_HARINGEY, HAL, vec![]).await;
    // 10,000 relevant homes: the ±3 band. One response short of ±3.0 is ±3.1.
    let n = responses_needed(10_000) as i32;
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostRental, 10_000, n - 1),
    )
    .await
    .unwrap();
    let s = &r.surveys[0];
    assert_eq!((s.achieved_margin, s.required_margin), (3.1, 3.0));
    assert!(!s.meets_required_precision);
    assert_eq!(s.responses_needed, n);
    let err = submit(&mut client, &r, HAL).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&err), "SURVEY_PRECISION_NOT_MET");
    let m = err.message();
    assert!(m.contains("TP01"), "{m}");
    assert!(m.contains("low-cost rental"), "{m}");
    assert!(m.contains("achieves ±3.1"), "{m}");
    assert!(m.contains("require ±3.0"), "{m}");
    assert!(m.contains(&format!("{n} responses or more")), "{m}");
    // Exactly at the required margin: submitted.
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostRental, 10_000, n),
    )
    .await
    .unwrap();
    assert_eq!(r.surveys.len(), 1, "the survey of a tenure is replaced");
    assert_eq!(r.surveys[0].achieved_margin, 3.0);
    let r = submit(&mut client, &r, HAL).await.unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
    let read = get_return(&mut client, &r.id, false, AS_REGULATOR)
        .await
        .unwrap();
    let s = &read.surveys[0];
    assert_eq!(s.fieldwork_start_date, "2024-09-02");
    assert!(s.weighted && s.meets_required_precision);
}

#[tokio::test]
async fn finite_population_correction_554_responses_from_7271_homes_is_four_points() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, HOMES_FOR_HARINGEY, HAL, 2024).await;
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostRental, 7_271, 554),
    )
    .await
    .unwrap();
    let s = &r.surveys[0];
    assert_eq!(s.achieved_margin, 4.0);
    assert_eq!(s.required_margin, 4.0);
    assert!(s.meets_required_precision);
    // The legacy single-survey view still shows it.
    assert_eq!(r.survey.as_ref().unwrap().sample_size, 554);
}

#[tokio::test]
async fn lcra_and_lcho_surveys_checked_separately() {
    let (_app, mut client) = app().await;
    let lcho = ValueInput {
        split: "lcho".into(),
        ..value("TP01", 70.0)
    };
    let r = tsm_return(&mut client, HOMES_FOR_HARINGEY, HAL, vec![lcho]).await;
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostRental, 15_000, 1_500),
    )
    .await
    .unwrap();
    // The rental survey does not stand for the home ownership figure.
    let err = submit(&mut client, &r, HAL).await.unwrap_err();
    assert_eq!(reason(&err), "SURVEY_NOT_DESCRIBED");
    assert!(
        err.message().contains("TP01 (low-cost home ownership)"),
        "{}",
        err.message()
    );
    // 1,200 shared owners: the ±5 band, counted apart from the 15,000 rented homes (which
    // together would be in the ±3 band).
    let n = responses_needed(1_200) as i32;
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostHomeOwnership, 1_200, n - 1),
    )
    .await
    .unwrap();
    let err = submit(&mut client, &r, HAL).await.unwrap_err();
    assert_eq!(reason(&err), "SURVEY_PRECISION_NOT_MET");
    let m = err.message();
    assert!(m.contains("low-cost home ownership survey"), "{m}");
    assert!(m.contains("require ±5.0"), "{m}");
    assert!(!m.contains("low-cost rental survey"), "{m}");
    let r = describe(
        &mut client,
        &r,
        HAL,
        survey(pb::Tenure::LowCostHomeOwnership, 1_200, n),
    )
    .await
    .unwrap();
    assert_eq!(r.surveys.len(), 2);
    let r = submit(&mut client, &r, HAL).await.unwrap();
    assert_eq!(r.status, pb::ReturnStatus::Submitted as i32);
}

#[tokio::test]
async fn survey_with_bad_fields_refused_naming_each() {
    let (_app, mut client) = app().await;
    let r = create(&mut client, HOMES_FOR_HARINGEY, HAL, 2024).await;
    let mut s = survey(pb::Tenure::LowCostRental, 500, 600);
    s.fieldwork_start_date = "2024-12-01".into();
    s.fieldwork_end_date = "2024-11-01".into();
    let err = describe(&mut client, &r, HAL, s).await.unwrap_err();
    assert_eq!(
        fields(&err),
        vec!["survey.sample_size", "survey.fieldwork_end_date"]
    );
    let mut s = survey(pb::Tenure::LowCostRental, -3, 100);
    s.tenure = 9;
    s.fieldwork_start_date = "1 Sept".into();
    let err = describe(&mut client, &r, HAL, s).await.unwrap_err();
    assert_eq!(
        fields(&err),
        vec![
            "survey.tenure",
            "survey.relevant_homes",
            "survey.fieldwork_start_date"
        ]
    );
}

/// A council of `homes` homes, with no ALMO.
async fn council_with_homes(app: &almo_testkit::TestApp, id: &str, homes: i32) {
    let mut row = council_row(id, "Small Borough Council", "district", Some("North West"));
    row.stock_size = Set(Some(homes));
    organisation::Entity::insert(row)
        .exec_without_returning(app.db.conn())
        .await
        .unwrap();
}

#[tokio::test]
async fn small_landlord_never_outstanding_or_late_for_tsms() {
    let (app, mut client) = app().await;
    council_with_homes(&app, "E07000901", 999).await;
    council_with_homes(&app, "E07000902", 1_000).await;
    let listed = |e: &[pb::ExpectedReturn], org: &str| e.iter().any(|x| x.organisation_id == org);
    // 2024/25 is a TSM year: 999 homes publish but do not submit; 1,000 homes submit.
    let tsm_year = expected(&mut client, 2024, AS_REGULATOR).await;
    assert!(!listed(&tsm_year, "E07000901"));
    assert!(listed(&tsm_year, "E07000902"));
    assert!(tsm_year.iter().any(|e| e.organisation_id == "E07000902"
        && e.state == pb::ReturnState::Overdue as i32));
    // Nor does the council itself see itself chased.
    let own = expected(&mut client, 2024, ("E07000901", Role::CouncilOfficer)).await;
    assert!(own.is_empty(), "{own:?}");
    // The BVPIs of 2003/04 were owed by every authority, whatever its size.
    let bvpi_year = expected(&mut client, 2003, AS_REGULATOR).await;
    assert!(listed(&bvpi_year, "E07000901"));
    // A small landlord that submits anyway, long after the deadline, is not late.
    let sam = "sam@E07000901";
    let r = tsm_return(&mut client, "E07000901", sam, vec![]).await;
    let r = describe(
        &mut client,
        &r,
        sam,
        survey(pb::Tenure::LowCostRental, 999, 500),
    )
    .await
    .unwrap();
    let r = submit(&mut client, &r, sam).await.unwrap();
    assert!(!r.late);
    // The 1,000-home council's late submission is late.
    let tom = "tom@E07000902";
    let r = tsm_return(&mut client, "E07000902", tom, vec![]).await;
    let r = describe(
        &mut client,
        &r,
        tom,
        survey(pb::Tenure::LowCostRental, 1_000, 500),
    )
    .await
    .unwrap();
    let r = submit(&mut client, &r, tom).await.unwrap();
    assert!(r.late);
}
