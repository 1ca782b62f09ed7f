//! The demo directory that `almo up --demo` loads and the tests start from: councils of every
//! authority type, a council with two ALMOs (Leeds), ALMOs live, in shadow form and wound up,
//! the regulator, the inspectorate, the operator and a CIPFA peer group. Hackney Homes' end is a
//! hand-back with its road recorded (seed 002): the options review, the Department told, the test
//! of tenants' opinion and the decision. (Demo history is loaded as rows; the lifecycle outbox
//! holds only changes made through the service.)

use almo_auth::OrgKind;
use almo_db::Db;
use almo_db::entity::peer_group;
use chrono::{NaiveDate, Utc};
use sea_orm::DbErr;

use crate::domain::authority_type_of;
use crate::domain::hand_back::{Decision, Opinion, OpinionMethod, Review};
use crate::{storage, storage_reviews};

pub const OPERATOR: &str = "OPERATOR";
pub const REGULATOR: &str = "RSH";
pub const INSPECTORATE: &str = "HOUSING-INSPECTORATE";
pub const LAMBETH: &str = "E09000022";
pub const HARINGEY: &str = "E09000014";
pub const LEEDS: &str = "E08000035";
pub const LAMBETH_LIVING: &str = "LAMBETH-LIVING";
pub const HOMES_FOR_HARINGEY: &str = "HOMES-FOR-HARINGEY";
pub const LEEDS_ENE: &str = "LEEDS-ENE-HOMES";
pub const LEEDS_WNW: &str = "LEEDS-WNW-HOMES";

/// (ONS code, name, region)
pub const COUNCILS: &[(&str, &str, &str)] = &[
    (LAMBETH, "London Borough of Lambeth", "London"),
    (HARINGEY, "London Borough of Haringey", "London"),
    ("E09000012", "London Borough of Hackney", "London"),
    ("E09000028", "London Borough of Southwark", "London"),
    (LEEDS, "Leeds City Council", "Yorkshire and the Humber"),
    (
        "E08000019",
        "Sheffield City Council",
        "Yorkshire and the Humber",
    ),
    ("E08000003", "Manchester City Council", "North West"),
    ("E08000025", "Birmingham City Council", "West Midlands"),
    ("E06000018", "Nottingham City Council", "East Midlands"),
    ("E06000023", "Bristol City Council", "South West"),
    ("E06000021", "Stoke-on-Trent City Council", "West Midlands"),
    ("E07000178", "Oxford City Council", "South East"),
    ("E07000008", "Cambridge City Council", "East of England"),
    ("E07000117", "Burnley Borough Council", "North West"),
    ("E07000033", "Bolsover District Council", "East Midlands"),
];

/// (code, name, council, consent, go-live, agreement end, end, stock)
type AlmoRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    i32,
);

pub const ALMOS: &[AlmoRow] = &[
    (
        LAMBETH_LIVING,
        "Lambeth Living",
        LAMBETH,
        "2007-10-01",
        Some("2008-04-01"),
        Some("2028-03-31"),
        None,
        33_000,
    ),
    (
        HOMES_FOR_HARINGEY,
        "Homes for Haringey",
        HARINGEY,
        "2005-11-01",
        Some("2006-04-03"),
        Some("2026-04-02"),
        None,
        16_000,
    ),
    (
        "HACKNEY-HOMES",
        "Hackney Homes",
        "E09000012",
        "2005-10-01",
        Some("2006-04-01"),
        Some("2016-03-31"),
        Some("2016-03-31"),
        22_000,
    ),
    (
        LEEDS_ENE,
        "East North East Homes Leeds",
        LEEDS,
        "2006-12-01",
        Some("2007-04-01"),
        Some("2027-03-31"),
        None,
        20_000,
    ),
    (
        LEEDS_WNW,
        "West North West Homes Leeds",
        LEEDS,
        "2006-12-01",
        Some("2007-04-01"),
        Some("2027-03-31"),
        None,
        19_000,
    ),
    (
        "SHEFFIELD-HOMES",
        "Sheffield Homes",
        "E08000019",
        "2003-10-01",
        Some("2004-04-01"),
        Some("2024-03-31"),
        None,
        42_000,
    ),
    (
        "NOTTINGHAM-CITY-HOMES",
        "Nottingham City Homes",
        "E06000018",
        "2004-12-01",
        Some("2005-04-01"),
        Some("2025-03-31"),
        None,
        27_000,
    ),
    (
        "BOLSOVER-HOMES",
        "Bolsover Homes",
        "E07000033",
        "2026-09-01",
        None,
        None,
        None,
        5_000,
    ),
];

fn date(s: &str) -> NaiveDate {
    s.parse().expect("demo dates are valid")
}

/// Loads the demo directory; entries already present are left as they are.
pub async fn seed(db: &Db) -> Result<(), DbErr> {
    let txn = db.begin_write().await?;
    let mut rows = vec![
        storage::new_row(OPERATOR, "almo-exchange operator", OrgKind::Operator),
        storage::new_row(REGULATOR, "Regulator of Social Housing", OrgKind::Regulator),
        storage::new_row(
            INSPECTORATE,
            "Housing Inspectorate (Audit Commission)",
            OrgKind::Inspectorate,
        ),
    ];
    for (ons, name, region) in COUNCILS {
        let mut r = storage::new_row(ons, name, OrgKind::Council);
        r.authority_type = Some(authority_type_of(ons).expect("demo codes").as_str().into());
        r.region = Some((*region).into());
        rows.push(r);
    }
    for (code, name, council, consent, live, agreement_end, end, stock) in ALMOS {
        let parent = rows
            .iter()
            .find(|r| r.id == *council)
            .expect("demo ALMOs have demo councils")
            .clone();
        let mut r = storage::new_row(code, name, OrgKind::Almo);
        r.council_id = Some((*council).into());
        r.authority_type = parent.authority_type;
        r.region = parent.region;
        r.section27_consent_date = Some(date(consent));
        r.go_live_date = live.map(date);
        r.agreement_end_date = agreement_end.map(date);
        r.end_date = end.map(date);
        r.stock_size = Some(*stock);
        rows.push(r);
    }
    for r in rows {
        if storage::get(&txn, &r.id).await?.is_none() {
            storage::insert(&txn, r).await?;
        }
    }
    seed_hackney_hand_back(&txn).await?;
    if storage::get_peer_group(&txn, "CIPFA-LAMBETH")
        .await?
        .is_none()
    {
        storage::insert_peer_group(
            &txn,
            peer_group::Model {
                id: "CIPFA-LAMBETH".into(),
                name: "CIPFA nearest neighbours: Lambeth".into(),
                kind: "cipfa_nearest_neighbours".into(),
                owner_organisation_id: LAMBETH.into(),
                justification: "CIPFA nearest-neighbour model".into(),
                created_at: Utc::now(),
            },
            &["E09000012".into(), HARINGEY.into(), "E09000028".into()],
        )
        .await?;
    }
    txn.commit().await
}

pub const HACKNEY_HOMES: &str = "HACKNEY-HOMES";

/// Hackney Homes' road back in-house: the transfer of 2006 tested by a full survey, so the
/// council could choose its method (002 §13); a review from January 2015, the Department told
/// that month, a full survey in the summer, the decision in November, its last day 31 March 2016 (the council managing from 1 April).
async fn seed_hackney_hand_back(txn: &impl sea_orm::ConnectionTrait) -> Result<(), DbErr> {
    let road = storage_reviews::hand_back(txn, HACKNEY_HOMES).await?;
    if road.latest.is_some() {
        return Ok(());
    }
    storage_reviews::set_transfer(txn, HACKNEY_HOMES, OpinionMethod::FullSurvey).await?;
    let review = Review {
        review_no: 1,
        started: date("2015-01-12"),
        department_notified: Some(date("2015-01-26")),
        opinion: Some(Opinion {
            method: OpinionMethod::FullSurvey,
            note: "survey of every tenant household, overseen by an independent tenants' adviser"
                .into(),
            opened: date("2015-06-01"),
            closed: date("2015-07-31"),
            eligible: 22_000,
            responses: 8_360,
            in_favour: 5_520,
        }),
        decision: Some((Decision::TakeBack, date("2015-11-18"))),
    };
    debug_assert!(
        review
            .violations(Some(OpinionMethod::FullSurvey))
            .is_empty()
    );
    storage_reviews::save_review(txn, HACKNEY_HOMES, &review, true).await
}
