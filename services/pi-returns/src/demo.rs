//! Demo data for `almo up --demo` and the tests: the shipped indicator catalogue and signed-off
//! 2001/02 annual returns for every council of the demo directory (three or four of each
//! authority type), built so that the benchmarking reproduces the upper quartiles of 003 Table 6
//! exactly; plus Lambeth Living's
//! 2024/25 draft of Tenant Satisfaction Measures, which the regulator must not see, complete but
//! for a tenant survey short of its precision band (33,000 rented homes need ±2 points; 1,800
//! responses give ±2.2), so its submission is refused; and the signed-off 2024/25 TSM returns
//! of all fifteen councils, with their surveys and cost per home, for the comparison of
//! ALMO-managed councils (Lambeth, Haringey, Leeds, Sheffield, Nottingham) with in-house ones.

use almo_db::Db;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use chrono::{NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::domain::validation::round_to;
use crate::storage;

/// The financial year of 003 Table 6.
pub const TABLE6_YEAR: i32 = 2001;

/// 003 Table 6, upper quartiles 2001/02: (indicator, precision, lower is better,
/// [London boroughs, metropolitan, unitary, district]).
pub const TABLE6: &[(&str, u32, bool, [f64; 4])] = &[
    ("BVPI 66a", 2, false, [96.2, 96.8, 96.8, 98.6]),
    ("old BVPI 69", 1, true, [1.4, 2.6, 1.3, 0.9]),
    ("old BVPI 68", 0, true, [36.0, 43.0, 37.0, 26.0]),
    ("old BVPI 72", 0, false, [95.0, 95.0, 96.0, 96.0]),
    ("old BVPI 73", 0, true, [12.0, 17.0, 13.0, 13.0]),
];

/// The authority types in Table 6's column order.
pub const TYPES: [&str; 4] = ["london_borough", "metropolitan", "unitary", "district"];

/// The Table 6 figure of the `k`-th of `n` councils of a type (sorted ascending), for indicator
/// `row`: the figures are evenly spaced so that linear interpolation at the upper-quartile rank
/// h = (n - 1) p (p = 0.75 when higher is better, 0.25 when lower is better) lands exactly on the
/// published figure. The spacing is a multiple of 4 units of the last decimal, so every figure
/// keeps the indicator's precision whatever the fraction of h.
pub fn table6_value(row: usize, type_index: usize, k: usize, n: usize) -> f64 {
    let (_, precision, lower, uq) = TABLE6[row];
    let p = if lower { 0.25 } else { 0.75 };
    let h = (n as f64 - 1.0) * p;
    let step = if precision == 0 { 4.0 } else { 0.4 };
    round_to(uq[type_index] + step * (k as f64 - h), precision)
}

/// Loads the demo; what is already there is left as it is.
pub async fn seed(db: &Db) -> Result<(), DbErr> {
    storage::seed_catalogue(db.conn()).await?;
    let txn = db.begin_write().await?;
    let now = Utc::now();
    let mut councils: Vec<(String, Option<String>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::AuthorityType)
        .filter(organisation::Column::Kind.eq("council"))
        .into_tuple()
        .all(&txn)
        .await?;
    councils.sort();
    let submitted = Utc.with_ymd_and_hms(2002, 6, 14, 10, 0, 0).unwrap();
    let signed = Utc.with_ymd_and_hms(2002, 6, 24, 15, 30, 0).unwrap();
    let mut returns = Vec::new();
    let mut values = Vec::new();
    for (t, ty) in TYPES.iter().enumerate() {
        let of_type: Vec<&String> = councils
            .iter()
            .filter(|(_, at)| at.as_deref() == Some(*ty))
            .map(|(id, _)| id)
            .collect();
        let n = of_type.len();
        if n < 2 {
            continue;
        }
        for (i, org) in of_type.into_iter().enumerate() {
            let id = format!("{org}/{TABLE6_YEAR}/Y");
            if storage::get_return(&txn, &id).await?.is_some() {
                continue;
            }
            returns.push(pi_return::ActiveModel {
                id: Set(id.clone()),
                organisation_id: Set(org.clone()),
                year: Set(TABLE6_YEAR),
                period_kind: Set("year".into()),
                period_number: Set(1),
                status: Set("signed_off".into()),
                deadline_date: Set(NaiveDate::from_ymd_opt(2002, 6, 30).unwrap()),
                late: Set(false),
                submitted_by: Set(Some(format!("pi.officer@{org}"))),
                submitted_at: Set(Some(submitted)),
                signed_off_by: Set(Some(format!("certifier@{org}"))),
                signed_off_at: Set(Some(signed)),
                returned_reason: Set(None),
                revision: Set(0),
                survey_sample_size: Set(None),
                survey_method: Set(None),
                created_by: Set(format!("pi.officer@{org}")),
                version: Set(3),
                created_at: Set(submitted),
                updated_at: Set(signed),
            });
            let mut figure = |code: &str, v: f64| {
                values.push(pi_return_value::ActiveModel {
                    return_id: Set(id.clone()),
                    indicator_code: Set(code.to_string()),
                    split: Set(String::new()),
                    sequence: Set(1),
                    value: Set(v),
                    numerator: Set(None),
                    denominator: Set(None),
                    warnings: Set(String::new()),
                    explanation: Set(String::new()),
                    revision_reason: Set(String::new()),
                    changed_by: Set(format!("pi.officer@{org}")),
                    changed_at: Set(submitted),
                    current: Set(true),
                    ..Default::default()
                });
            };
            for (row, (code, ..)) in TABLE6.iter().enumerate() {
                // A different order per indicator (1 and n - 1 are coprime to n, so each is a
                // permutation), so no council is best at everything.
                let step = if row % 2 == 0 { 1 } else { n - 1 };
                let k = (i * step + row) % n;
                figure(code, table6_value(row, t, k, n));
            }
            // The other indicators mandatory in 2001/02.
            figure("BVPI 63", (45 + (i * 7 + t * 3) % 20) as f64);
            figure("BVPI 74", (70 + (i * 5 + t) % 20) as f64);
            figure("BVPI 75", (55 + (i * 3 + t * 2) % 25) as f64);
            figure("BVPI 164", if (i + t) % 4 == 0 { 0.0 } else { 1.0 });
        }
    }
    if !returns.is_empty() {
        for chunk in returns.chunks(500) {
            pi_return::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        storage::insert_values(&txn, values).await?;
        storage::benchmark_points::refresh_returns(&txn, &ids_of(&returns)).await?;
    }
    // A draft in progress: Lambeth Living's 2024/25 Tenant Satisfaction Measures, visible to
    // Lambeth Living and Lambeth, never to the regulator.
    let draft_id = "LAMBETH-LIVING/2024/Y";
    if organisation::Entity::find_by_id("LAMBETH-LIVING".to_string())
        .one(&txn)
        .await?
        .is_some()
        && storage::get_return(&txn, draft_id).await?.is_none()
    {
        pi_return::Entity::insert(pi_return::ActiveModel {
            id: Set(draft_id.into()),
            organisation_id: Set("LAMBETH-LIVING".into()),
            year: Set(2024),
            period_kind: Set("year".into()),
            period_number: Set(1),
            status: Set("draft".into()),
            deadline_date: Set(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()),
            late: Set(false),
            submitted_by: Set(None),
            submitted_at: Set(None),
            signed_off_by: Set(None),
            signed_off_at: Set(None),
            returned_reason: Set(None),
            revision: Set(0),
            survey_sample_size: Set(Some(1_800)),
            survey_method: Set(Some("postal".into())),
            created_by: Set("almo_officer@LAMBETH-LIVING".into()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let tsm =
            |code: &str, split: &str, v: f64, n: Option<(f64, f64)>| pi_return_value::ActiveModel {
                return_id: Set(draft_id.into()),
                indicator_code: Set(code.into()),
                split: Set(split.into()),
                sequence: Set(1),
                value: Set(v),
                numerator: Set(n.map(|x| x.0)),
                denominator: Set(n.map(|x| x.1)),
                warnings: Set(String::new()),
                explanation: Set(String::new()),
                revision_reason: Set(String::new()),
                changed_by: Set("almo_officer@LAMBETH-LIVING".into()),
                changed_at: Set(now),
                current: Set(true),
                ..Default::default()
            };
        let mut draft = vec![
            tsm("TP01", "lcra", 71.3, Some((1426.0, 2000.0))),
            tsm("TP02", "lcra", 68.0, Some((1156.0, 1700.0))),
            tsm("BS01", "lcra", 99.62, Some((32874.0, 33000.0))),
            tsm("RP01", "lcra", 4.5, Some((1485.0, 33000.0))),
        ];
        // The other measures, each at the middle of its usual range (low-cost rental where
        // the measure has that split), explained: Lambeth Living has no shared owners.
        let defs = crate::domain::catalogue::seed();
        for def in crate::domain::catalogue::all_in_force(&defs, 2024) {
            if ["TP01", "TP02", "BS01", "RP01"].contains(&def.code.as_str())
                || def.min_homes_to_submit.is_none()
            {
                continue;
            }
            let split = if def.splits.iter().any(|s| s == "lcra") {
                "lcra"
            } else {
                ""
            };
            let v = round_to((def.usual_min + def.usual_max) / 2.0, def.precision);
            draft.push(tsm(&def.code, split, v, None));
        }
        for v in &mut draft {
            v.explanation = Set(
                "Low-cost rental only: Lambeth Living manages no shared ownership homes.".into(),
            );
        }
        storage::insert_values(&txn, draft).await?;
        // Its survey: 1,800 answers from 33,000 rented homes is ±2.2 points, short of the ±2
        // the 25,000-or-more band requires, so the draft cannot be submitted as it stands.
        almo_db::entity::pi_return_survey::Entity::insert(
            almo_db::entity::pi_return_survey::ActiveModel {
                return_id: Set(draft_id.into()),
                tenure: Set("lcra".into()),
                relevant_homes: Set(Some(33_000)),
                responses: Set(1_800),
                method: Set("postal".into()),
                fieldwork_start: Set(NaiveDate::from_ymd_opt(2024, 10, 1)),
                fieldwork_end: Set(NaiveDate::from_ymd_opt(2024, 12, 20)),
                weighted: Set(false),
                updated_at: Set(now),
            },
        )
        .exec_without_returning(&txn)
        .await?;
    }
    seed_tsm_year(&txn, &councils).await?;
    txn.commit().await
}

/// The TSM year of the demo.
pub const TSM_YEAR: i32 = 2024;

/// The demo's homes of each council in the TSM year: where an ALMO manages them, its stock;
/// otherwise a spread of sizes.
fn demo_homes(txn_almos: &[(String, Option<String>, Option<i32>)], council: &str, i: usize) -> u32 {
    let almo: i32 = txn_almos
        .iter()
        .filter(|(_, c, _)| c.as_deref() == Some(council))
        .filter_map(|(_, _, stock)| *stock)
        .sum();
    if almo > 0 {
        almo as u32
    } else {
        4_000 + ((i as u32 * 7_919) % 36_000)
    }
}

/// Signed-off 2024/25 TSM returns for every council of the demo directory, with a survey that
/// meets its band, every measure at a figure spread around the middle of its usual range
/// (ALMO-managed councils a little better on most), and cost per home.
async fn seed_tsm_year(
    txn: &sea_orm::DatabaseTransaction,
    councils: &[(String, Option<String>)],
) -> Result<(), DbErr> {
    use crate::domain::catalogue::{self, Direction, Unit};
    use crate::domain::management_model::{self as mm, AlmoSpan, COST_PER_HOME, Model};
    use crate::domain::survey;
    use almo_db::entity::pi_return_survey;

    let defs = catalogue::seed();
    let almos: Vec<(String, Option<String>, Option<i32>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::CouncilId)
        .column(organisation::Column::StockSize)
        .filter(organisation::Column::Kind.eq("almo"))
        .into_tuple()
        .all(txn)
        .await?;
    let spans: Vec<(String, Option<String>, AlmoSpan)> = organisation::Entity::find()
        .filter(organisation::Column::Kind.eq("almo"))
        .all(txn)
        .await?
        .into_iter()
        .map(|o| {
            (
                o.id,
                o.council_id,
                AlmoSpan {
                    go_live: o.go_live_date,
                    end: o.end_date,
                },
            )
        })
        .collect();
    let submitted = Utc.with_ymd_and_hms(2025, 6, 16, 10, 0, 0).unwrap();
    let signed = Utc.with_ymd_and_hms(2025, 6, 26, 15, 0, 0).unwrap();
    let mut returns = Vec::new();
    let mut values = Vec::new();
    let mut surveys = Vec::new();
    for (i, (org, _)) in councils.iter().enumerate() {
        let id = format!("{org}/{TSM_YEAR}/Y");
        if storage::get_return(txn, &id).await?.is_some() {
            continue;
        }
        let own: Vec<AlmoSpan> = spans
            .iter()
            .filter(|(_, c, _)| c.as_deref() == Some(org.as_str()))
            .map(|(_, _, s)| *s)
            .collect();
        let almo_managed = mm::assign(&own, TSM_YEAR).0 == Model::Almo;
        let homes = demo_homes(&almos, org, i);
        let responses = survey::responses_needed(homes) + 40 + (i as u32 * 13) % 200;
        returns.push(pi_return::ActiveModel {
            id: Set(id.clone()),
            organisation_id: Set(org.clone()),
            year: Set(TSM_YEAR),
            period_kind: Set("year".into()),
            period_number: Set(1),
            status: Set("signed_off".into()),
            deadline_date: Set(NaiveDate::from_ymd_opt(TSM_YEAR + 1, 6, 30).unwrap()),
            late: Set(false),
            submitted_by: Set(Some(format!("tsm.officer@{org}"))),
            submitted_at: Set(Some(submitted)),
            signed_off_by: Set(Some(format!("certifier@{org}"))),
            signed_off_at: Set(Some(signed)),
            returned_reason: Set(None),
            revision: Set(0),
            survey_sample_size: Set(Some(responses as i32)),
            survey_method: Set(Some("mixed".into())),
            created_by: Set(format!("tsm.officer@{org}")),
            version: Set(3),
            created_at: Set(submitted),
            updated_at: Set(signed),
        });
        surveys.push(pi_return_survey::ActiveModel {
            return_id: Set(id.clone()),
            tenure: Set(survey::Tenure::LowCostRental.as_str().into()),
            relevant_homes: Set(Some(homes as i32)),
            responses: Set(responses as i32),
            method: Set("mixed".into()),
            fieldwork_start: Set(NaiveDate::from_ymd_opt(2024, 9, 2)),
            fieldwork_end: Set(NaiveDate::from_ymd_opt(2024, 11, 29)),
            weighted: Set(i % 2 == 0),
            updated_at: Set(signed),
        });
        for (k, def) in catalogue::all_in_force(&defs, TSM_YEAR)
            .into_iter()
            .enumerate()
        {
            if def.unit == Unit::YesNo {
                continue;
            }
            let mid = (def.usual_min + def.usual_max) / 2.0;
            let spread = (def.usual_max - def.usual_min) / 10.0;
            let wobble = ((i * 7 + k * 3) % 11) as f64 - 5.0;
            let better = match def.direction {
                Direction::Higher | Direction::YesNo => 1.0,
                Direction::Lower => -1.0,
                Direction::Context => 0.0,
            };
            // ALMO-managed councils do better on most measures, not all (every fourth is even).
            let lift = if almo_managed && k % 4 != 3 { 1.2 } else { 0.0 };
            let mut v = mid + spread * (wobble / 5.0 + lift * better);
            if def.code == COST_PER_HOME {
                v = 4_600.0 + 90.0 * wobble + if almo_managed { 120.0 } else { 0.0 };
            }
            let v = round_to(v.clamp(def.usual_min, def.usual_max), def.precision);
            values.push(pi_return_value::ActiveModel {
                return_id: Set(id.clone()),
                indicator_code: Set(def.code.clone()),
                split: Set(String::new()),
                sequence: Set(1),
                value: Set(v),
                numerator: Set(None),
                denominator: Set(None),
                warnings: Set(String::new()),
                explanation: Set(String::new()),
                revision_reason: Set(String::new()),
                changed_by: Set(format!("tsm.officer@{org}")),
                changed_at: Set(submitted),
                current: Set(true),
                ..Default::default()
            });
        }
    }
    if !returns.is_empty() {
        let ids = ids_of(&returns);
        pi_return::Entity::insert_many(returns)
            .exec_without_returning(txn)
            .await?;
        storage::insert_values(txn, values).await?;
        storage::benchmark_points::refresh_returns(txn, &ids).await?;
        pi_return_survey::Entity::insert_many(surveys)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The ids of returns about to be written.
fn ids_of(returns: &[pi_return::ActiveModel]) -> Vec<String> {
    returns
        .iter()
        .filter_map(|r| r.id.try_as_ref().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quartile;

    #[test]
    fn demo_figures_reproduce_the_table6_upper_quartiles() {
        for (row, (code, precision, lower, uq)) in TABLE6.iter().enumerate() {
            for (t, expected) in uq.iter().enumerate() {
                for n in 2..=5 {
                    let v: Vec<f64> = (0..n).map(|k| table6_value(row, t, k, n)).collect();
                    for x in &v {
                        assert!(*x >= 0.0 && *x <= 120.0, "{code} {x}");
                    }
                    let q = quartile::rounded(&quartile::quartiles(&v).unwrap(), precision + 1);
                    let dir = if *lower {
                        crate::domain::catalogue::Direction::Lower
                    } else {
                        crate::domain::catalogue::Direction::Higher
                    };
                    assert_eq!(
                        quartile::upper_quartile(&q, dir),
                        Some(*expected),
                        "{code} type {t} n {n}"
                    );
                }
            }
        }
    }
}
