//! Demo data that `almo up --demo` loads after the demo directory: the inspectorate's staff (TIAs
//! among them who are tenants of demo ALMOs), readiness for a few ALMOs, Lambeth Living's
//! published 2-star inspection (its report published 17 weeks after arrival on site: a week past
//! the 16-week window, so late by 7 days) and Homes for Haringey's 1-star one with its
//! re-inspection date. Loading it again changes nothing.
//!
//! For the re-plan walk-through (README, "A re-plan after a drop-out"): LEAD-HUGHES and
//! LEAD-OKAFOR are away the whole of 2009/10 Q4 (January to March 2010), so Anita Patel is the
//! only lead free that quarter; Lambeth Living booked then with her cannot be placed again once
//! she drops out, every week ruled out by "no lead inspector available".

use almo_db::Db;
use almo_db::entity::{insp_inspector, insp_readiness, insp_unavailability};
use chrono::{NaiveDate, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::fee::{ROUNDS_1_AND_2, fee_estimate};
use crate::domain::team::InspectorRole;
use crate::storage;

pub const LAMBETH_LIVING: &str = "LAMBETH-LIVING";
pub const HOMES_FOR_HARINGEY: &str = "HOMES-FOR-HARINGEY";
/// Lambeth Living's published inspection: 2 stars, promising; published late (17 weeks on).
pub const LAMBETH_INSPECTION: &str = "LAMBETH-LIVING-2008-11-03";
/// Homes for Haringey's published inspection: 1 star, uncertain.
pub const HARINGEY_INSPECTION: &str = "HOMES-FOR-HARINGEY-2006-11-06";

/// (id, name, role, region, tenant of)
pub const INSPECTORS: &[(&str, &str, InspectorRole, &str, Option<&str>)] = &[
    (
        "LEAD-OKAFOR",
        "Grace Okafor",
        InspectorRole::Lead,
        "London",
        None,
    ),
    (
        "LEAD-HUGHES",
        "Owen Hughes",
        InspectorRole::Lead,
        "Yorkshire and the Humber",
        None,
    ),
    (
        "LEAD-PATEL",
        "Anita Patel",
        InspectorRole::Lead,
        "North West",
        None,
    ),
    (
        "INSP-BRENNAN",
        "Ciaran Brennan",
        InspectorRole::Inspector,
        "London",
        None,
    ),
    (
        "INSP-KOWALSKI",
        "Marta Kowalski",
        InspectorRole::Inspector,
        "West Midlands",
        None,
    ),
    (
        "INSP-ADEYEMI",
        "Tunde Adeyemi",
        InspectorRole::Inspector,
        "Yorkshire and the Humber",
        None,
    ),
    (
        "INSP-MORGAN",
        "Rhian Morgan",
        InspectorRole::Inspector,
        "South West",
        None,
    ),
    (
        "INSP-SINGH",
        "Harpreet Singh",
        InspectorRole::Inspector,
        "East Midlands",
        None,
    ),
    (
        "INSP-WALSH",
        "Siobhan Walsh",
        InspectorRole::Inspector,
        "North West",
        None,
    ),
    (
        "TIA-DUNCAN",
        "Ruth Duncan",
        InspectorRole::Tia,
        "London",
        Some(LAMBETH_LIVING),
    ),
    (
        "TIA-FERREIRA",
        "Paulo Ferreira",
        InspectorRole::Tia,
        "London",
        Some(HOMES_FOR_HARINGEY),
    ),
    (
        "TIA-GREEN",
        "Janet Green",
        InspectorRole::Tia,
        "Yorkshire and the Humber",
        Some("LEEDS-ENE-HOMES"),
    ),
    (
        "TIA-HALL",
        "Derek Hall",
        InspectorRole::Tia,
        "Yorkshire and the Humber",
        Some("E08000019"),
    ),
];

/// The only lead free in 2009/10 Q4 once these are away: LEAD-PATEL (the re-plan walk-through).
pub const REPLAN_LEAD: &str = "LEAD-PATEL";
/// The re-plan walk-through's quarter: financial year 2009/10, Q4 (January to March 2010).
pub const REPLAN_YEAR: i32 = 2009;
pub const REPLAN_QUARTER: i32 = 4;

/// (inspector, first day, last day, reason): leave added to the demo's staff, for the re-plan
/// walk-through. Only inspectors no test records leave for with etag v1.
const LEAVE: &[(&str, &str, &str, &str)] = &[
    ("LEAD-HUGHES", "2010-01-04", "2010-04-02", "secondment"),
    ("LEAD-OKAFOR", "2010-01-04", "2010-04-02", "study leave"),
];

fn date(s: &str) -> NaiveDate {
    s.parse().expect("demo dates are valid")
}

/// (ALMO, four Best Value review dates, blackouts, board meetings, round, funding needed by)
type ReadinessRow = (
    &'static str,
    [&'static str; 4],
    &'static [(&'static str, &'static str, &'static str)],
    &'static [&'static str],
    &'static str,
    &'static str,
);

const READINESS: &[ReadinessRow] = &[
    (
        LAMBETH_LIVING,
        ["2007-06-29", "2007-09-28", "2007-11-30", "2008-02-29"],
        &[("internal audit", "2008-10-13", "2008-10-17")],
        &["2008-11-05", "2009-01-14"],
        "round 6",
        "2009-01-31",
    ),
    (
        HOMES_FOR_HARINGEY,
        ["2005-09-30", "2005-12-16", "2006-03-31", "2006-06-30"],
        &[
            ("internal audit", "2007-09-10", "2007-09-14"),
            (
                "LA inspection of homelessness services",
                "2007-10-15",
                "2007-10-26",
            ),
        ],
        &["2007-09-19", "2007-10-31"],
        "round 5",
        "2008-01-31",
    ),
    (
        "SHEFFIELD-HOMES",
        ["2003-10-31", "2004-01-30", "", "2004-03-31"],
        &[("departmental audit", "2004-11-08", "2004-11-12")],
        &["2004-10-20"],
        "round 3",
        "2005-03-31",
    ),
];

/// (id, ALMO, council, on site, team, actual dates, stars, prospects)
type InspectionRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    [&'static str; 5],
    i32,
    &'static str,
);

const INSPECTIONS: &[InspectionRow] = &[
    (
        LAMBETH_INSPECTION,
        LAMBETH_LIVING,
        "E09000022",
        "2008-11-03",
        &[
            "LEAD-HUGHES",
            "INSP-KOWALSKI",
            "INSP-BRENNAN",
            "INSP-MORGAN",
            "TIA-GREEN",
        ],
        [
            "2008-11-03",
            "2008-12-08",
            "2008-12-22",
            "2009-01-05",
            // 17 weeks after arrival on site: a week past the 16-week window (003 §113).
            "2009-03-02",
        ],
        2,
        "promising",
    ),
    (
        HARINGEY_INSPECTION,
        HOMES_FOR_HARINGEY,
        "E09000014",
        "2006-11-06",
        &["LEAD-OKAFOR", "INSP-WALSH", "INSP-SINGH", "TIA-DUNCAN"],
        [
            "2006-11-06",
            "2006-12-11",
            "2007-01-08",
            "2007-01-15",
            "2007-02-05",
        ],
        1,
        "uncertain",
    ),
];

fn opt(s: &str) -> Option<NaiveDate> {
    (!s.is_empty()).then(|| date(s))
}

/// Loads the demo data; what is already there is left as it is.
pub async fn seed(db: &Db) -> Result<(), DbErr> {
    let txn = db.begin_write().await?;
    let now = Utc::now();
    for (id, name, role, region, tenant_of) in INSPECTORS {
        if storage::inspector(&txn, id).await?.is_none() {
            storage::insert_inspector(
                &txn,
                insp_inspector::Model {
                    id: (*id).into(),
                    name: (*name).into(),
                    role: role.as_str().into(),
                    region: (*region).into(),
                    tenant_of: tenant_of.map(Into::into),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
        }
    }
    // Leave, so a search shows "unavailable".
    if let Some(okafor) = storage::inspector(&txn, "LEAD-OKAFOR").await?
        && okafor.version == 1
    {
        let leave = crate::domain::DateRange::new(date("2007-08-20"), date("2007-08-31"))
            .expect("demo leave");
        storage::add_unavailability(&txn, "LEAD-OKAFOR", 1, leave, "annual leave", now).await?;
    }
    for (who, start, end, reason) in LEAVE {
        let (start, end) = (date(start), date(end));
        let there = insp_unavailability::Entity::find()
            .filter(insp_unavailability::Column::InspectorId.eq(*who))
            .filter(insp_unavailability::Column::StartDate.eq(start))
            .count(&txn)
            .await?
            > 0;
        if there {
            continue;
        }
        if let Some(row) = storage::inspector(&txn, who).await? {
            let period = crate::domain::DateRange::new(start, end).expect("demo leave");
            storage::add_unavailability(&txn, who, row.version, period, reason, now).await?;
        }
    }
    for (almo, bv, blackouts, meetings, round, needed) in READINESS {
        if storage::readiness(&txn, almo).await?.row.is_some() {
            continue;
        }
        let row = insp_readiness::Model {
            almo_id: (*almo).into(),
            bv_repairs_date: opt(bv[0]),
            bv_capital_date: opt(bv[1]),
            bv_rent_date: opt(bv[2]),
            bv_estate_date: opt(bv[3]),
            funding_round: (*round).into(),
            funding_needed_by_date: opt(needed),
            version: 1,
            updated_at: now,
        };
        let blackouts: Vec<(String, NaiveDate, NaiveDate)> = blackouts
            .iter()
            .map(|(l, s, e)| ((*l).into(), date(s), date(e)))
            .collect();
        let meetings: Vec<NaiveDate> = meetings.iter().map(|m| date(m)).collect();
        storage::replace_readiness(&txn, row, None, &blackouts, &meetings).await?;
    }
    for (id, almo, council, on_site, team, actual, stars, prospects) in INSPECTIONS {
        if storage::inspection(&txn, id).await?.is_some() {
            continue;
        }
        let org = storage::organisation(&txn, almo).await?;
        let stock = org
            .and_then(|o| o.stock_size)
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        let fee = fee_estimate(stock, None, ROUNDS_1_AND_2);
        let mut row = storage::booking_row(id, (almo, council), date(on_site), 13, fee, now);
        // Every demo inspection is published: none is its ALMO's open booking.
        row.open_almo_id = None;
        row.on_site_actual = opt(actual[0]);
        row.draft_actual = opt(actual[1]);
        row.comments_actual = opt(actual[2]);
        row.score_letter_actual = opt(actual[3]);
        row.published_actual = opt(actual[4]);
        row.stars = Some(*stars);
        row.prospects = Some((*prospects).into());
        let members: Vec<(String, InspectorRole)> = team
            .iter()
            .map(|m| {
                let role = INSPECTORS
                    .iter()
                    .find(|i| i.0 == *m)
                    .map(|i| i.2)
                    .expect("demo team members are demo inspectors");
                ((*m).into(), role)
            })
            .collect();
        storage::insert_inspection(&txn, row, &members).await?;
    }
    txn.commit().await
}
