//! `almo plan create --file plan.json`: a Delivery Plan written as a JSON file, for a council
//! to create version 1 of the plan it agreed with its ALMO. The server checks every rule and
//! names the field at fault (`content.targets[3].unit`, ...); this only reads the file.
//!
//! `docs/plan.example.json` (the README shows it):
//!
//! ```json
//! {
//!   "council_id": "E09000022",
//!   "almo_id": "LAMBETH-LIVING",
//!   "title": "Lambeth Living Delivery Plan 2029-2034",
//!   "first_year": "2029/30",
//!   "last_year": "2033/34",
//!   "effective_date": "2029-04-01",
//!   "targets": [
//!     { "code": "TP01", "kind": "pi", "name": "Overall satisfaction", "baseline": 68,
//!       "yearly": { "2029": 70, "2030": 72, "2031": 74, "2032": 76, "2033": 78 },
//!       "tolerance": { "kind": "absolute", "amber": 1, "red": 3 },
//!       "milestones": [ { "date": "2031-09-30", "value": 73 } ] },
//!     { "code": "LOCAL-RELET", "kind": "local", "name": "Average days to relet",
//!       "unit": "days", "direction": "lower_is_better", "baseline": 38,
//!       "yearly": { "2029": 30, "2030": 28, "2031": 26, "2032": 25, "2033": 25 },
//!       "tolerance": { "kind": "relative", "amber": 10, "red": 20 } },
//!     { "code": "LOCAL-DECENT", "kind": "local", "name": "Homes made decent",
//!       "unit": "count", "direction": "higher_is_better",
//!       "yearly": { "2029": 600, "2030": 600, "2031": 600, "2032": 600, "2033": 600 },
//!       "tolerance": { "kind": "absolute", "amber": 25, "red": 75 },
//!       "milestones": [ { "date": "2031-09-30", "value": 1500 } ] }
//!   ],
//!   "decent_homes": { "non_decent_at_baseline": 3000, "target_date": "2034-03-31",
//!     "planned": { "2029": 600, "2030": 600, "2031": 600, "2032": 600, "2033": 600 },
//!     "progress_target_code": "LOCAL-DECENT" },
//!   "capital": [ { "year": "2029", "category": "decent_homes", "pence": 1900000000 },
//!                { "year": "2029", "category": "sustainability", "pence": 100000000 } ],
//!   "annual_cost_effectiveness_percent": 2.5,
//!   "delegated_functions": [ "Responsive and planned repairs", "Lettings" ],
//!   "exception_after_periods": 2
//! }
//! ```
//!
//! Years are financial years, `2029` or `"2029/30"`, as numbers or strings (map keys are
//! strings). `kind` is `pi` or `local`; `unit` `percent`, `count`, `days` or `ratio`;
//! `direction` `higher_is_better` or `lower_is_better` — a PI target may leave both out and
//! takes the indicator catalogue's. `tolerance.kind` is `absolute` (in the unit) or `relative`
//! (percent of the target). Milestones are dated figures inside the plan's years, in date order.
//! Capital `category` is `decent_homes`, `sustainability`, `estate_improvement` or `other`,
//! in pence. `effective_date`, `decent_homes`, `capital`, `milestones`, `baseline` and
//! `exception_after_periods` (default 2) may be left out; `request_id` too (a new one per run).

use std::collections::BTreeMap;

use almo_fields as fields;
use almo_proto::common::{FinancialYear, Money};
use almo_proto::delivery_plan as pb;
use anyhow::{Context, bail};
use serde::Deserialize;

/// A financial year as a file may write it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Year {
    Number(i32),
    Text(String),
}

fn year(y: &Year) -> anyhow::Result<Option<FinancialYear>> {
    let start_year = match y {
        Year::Number(n) => fields::start_year(*n).map_err(anyhow::Error::msg)?,
        Year::Text(s) => parse_year(s)?,
    };
    Ok(Some(FinancialYear { start_year }))
}

/// A financial year as people write it, `2029` or `2029/30`: as strict as the server.
fn parse_year(s: &str) -> anyhow::Result<i32> {
    fields::financial_year(s).map_err(|reason| anyhow::anyhow!("year: {reason}"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Pi,
    Local,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Percent,
    Count,
    Days,
    Ratio,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ToleranceKind {
    Absolute,
    Relative,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Category {
    DecentHomes,
    Sustainability,
    EstateImprovement,
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tolerance {
    kind: ToleranceKind,
    amber: f64,
    red: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Milestone {
    date: String,
    value: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    code: String,
    kind: Kind,
    name: String,
    unit: Option<Unit>,
    direction: Option<Direction>,
    #[serde(default)]
    baseline: f64,
    yearly: BTreeMap<String, f64>,
    tolerance: Tolerance,
    #[serde(default)]
    milestones: Vec<Milestone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecentHomes {
    non_decent_at_baseline: i32,
    target_date: String,
    planned: BTreeMap<String, i32>,
    progress_target_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapitalLine {
    year: Year,
    category: Category,
    pence: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    request_id: String,
    council_id: String,
    almo_id: String,
    title: String,
    first_year: Year,
    last_year: Year,
    #[serde(default)]
    effective_date: String,
    targets: Vec<Target>,
    decent_homes: Option<DecentHomes>,
    #[serde(default)]
    capital: Vec<CapitalLine>,
    annual_cost_effectiveness_percent: f64,
    delegated_functions: Vec<String>,
    #[serde(default)]
    exception_after_periods: i32,
}

fn target(t: Target) -> anyhow::Result<pb::Target> {
    let yearly_targets = t
        .yearly
        .iter()
        .map(|(y, value)| {
            Ok(pb::YearTarget {
                year: Some(FinancialYear {
                    start_year: parse_year(y).with_context(|| format!("target {}", t.code))?,
                }),
                value: *value,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(pb::Target {
        kind: match t.kind {
            Kind::Pi => pb::TargetKind::Pi,
            Kind::Local => pb::TargetKind::Local,
        } as i32,
        name: t.name,
        unit: match t.unit {
            None => pb::Unit::Unspecified,
            Some(Unit::Percent) => pb::Unit::Percent,
            Some(Unit::Count) => pb::Unit::Count,
            Some(Unit::Days) => pb::Unit::Days,
            Some(Unit::Ratio) => pb::Unit::Ratio,
        } as i32,
        direction: match t.direction {
            None => pb::Direction::Unspecified,
            Some(Direction::HigherIsBetter) => pb::Direction::HigherIsBetter,
            Some(Direction::LowerIsBetter) => pb::Direction::LowerIsBetter,
        } as i32,
        baseline: t.baseline,
        yearly_targets,
        tolerance: Some(pb::Tolerance {
            kind: match t.tolerance.kind {
                ToleranceKind::Absolute => pb::ToleranceKind::Absolute,
                ToleranceKind::Relative => pb::ToleranceKind::Relative,
            } as i32,
            amber: t.tolerance.amber,
            red: t.tolerance.red,
        }),
        milestones: t
            .milestones
            .into_iter()
            .map(|m| pb::MilestoneTarget {
                date: m.date,
                value: m.value,
            })
            .collect(),
        code: t.code,
    })
}

/// Reads a plan file into the CreatePlan request it stands for.
pub fn create_request(text: &str) -> anyhow::Result<pb::CreatePlanRequest> {
    let f: PlanFile = serde_json::from_str(text).context("reading the plan file")?;
    if f.targets.is_empty() {
        bail!("the plan file has no targets");
    }
    let decent_homes = f
        .decent_homes
        .map(|dh| {
            Ok::<_, anyhow::Error>(pb::DecentHomesProgramme {
                non_decent_at_baseline: dh.non_decent_at_baseline,
                target_date: dh.target_date,
                planned_decent: dh
                    .planned
                    .iter()
                    .map(|(y, count)| {
                        Ok(pb::YearCount {
                            year: Some(FinancialYear {
                                start_year: parse_year(y)?,
                            }),
                            count: *count,
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                progress_target_code: dh.progress_target_code,
            })
        })
        .transpose()?;
    let capital_profile = f
        .capital
        .iter()
        .map(|l| {
            Ok(pb::CapitalLine {
                year: year(&l.year)?,
                category: match l.category {
                    Category::DecentHomes => pb::CapitalCategory::DecentHomes,
                    Category::Sustainability => pb::CapitalCategory::Sustainability,
                    Category::EstateImprovement => pb::CapitalCategory::EstateImprovement,
                    Category::Other => pb::CapitalCategory::Other,
                } as i32,
                amount: Some(Money {
                    pence: l.pence,
                    currency_code: "GBP".into(),
                }),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(pb::CreatePlanRequest {
        request_id: if f.request_id.is_empty() {
            format!("cli-{}", uuid::Uuid::new_v4())
        } else {
            f.request_id
        },
        council_id: f.council_id,
        almo_id: f.almo_id,
        title: f.title,
        first_year: year(&f.first_year)?,
        last_year: year(&f.last_year)?,
        effective_date: f.effective_date,
        content: Some(pb::PlanContent {
            targets: f
                .targets
                .into_iter()
                .map(target)
                .collect::<anyhow::Result<_>>()?,
            decent_homes,
            capital_profile,
            annual_cost_effectiveness_percent: f.annual_cost_effectiveness_percent,
            delegated_functions: f.delegated_functions,
            exception_after_periods: f.exception_after_periods,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the README and this module show.
    fn example() -> &'static str {
        include_str!("../docs/plan.example.json")
    }

    #[test]
    fn the_documented_plan_file_reads_as_a_create_plan_request() {
        let r = create_request(example()).unwrap();
        assert_eq!(
            (r.council_id.as_str(), r.almo_id.as_str()),
            ("E09000022", "LAMBETH-LIVING")
        );
        assert_eq!(r.first_year.unwrap().start_year, 2029);
        assert_eq!(r.last_year.unwrap().start_year, 2033);
        let c = r.content.unwrap();
        let tp01 = &c.targets[0];
        assert_eq!(tp01.kind(), pb::TargetKind::Pi);
        // Left to the catalogue.
        assert_eq!(tp01.unit(), pb::Unit::Unspecified);
        assert_eq!(tp01.direction(), pb::Direction::Unspecified);
        assert_eq!(tp01.yearly_targets.len(), 5);
        assert_eq!(tp01.milestones[0].date, "2031-09-30");
        assert_eq!(c.targets[1].direction(), pb::Direction::LowerIsBetter);
        assert_eq!(c.decent_homes.unwrap().planned_decent.len(), 5);
        assert_eq!(
            c.capital_profile[1].amount.as_ref().unwrap().pence,
            100_000_000
        );
        assert!(r.request_id.starts_with("cli-"));
    }

    #[test]
    fn a_plan_file_with_an_unknown_field_or_word_is_refused() {
        let bad = example().replace("\"baseline\": 68", "\"baseline\": 68, \"target\": 1");
        assert!(create_request(&bad).is_err());
        let bad = example().replace("\"days\"", "\"weeks\"");
        assert!(create_request(&bad).is_err());
        let bad = example().replace("\"2029\": 30", "\"year one\": 30");
        assert!(format!("{:#}", create_request(&bad).unwrap_err()).contains("year one"));
    }
}
