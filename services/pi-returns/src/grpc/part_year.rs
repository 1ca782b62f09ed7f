//! The year (or quarter) of an ALMO's end, filed as parts (DOMAIN.md "An ALMO's life"): the
//! ALMO's return covers the days up to its end, its council's own return the days after, and
//! the authority's figure for the whole period is made from the parts by each indicator's
//! part-year rule (`domain::combination::combine_part_years`). Who covers which days is read
//! from the directory when it is asked, so an end recorded after a return was opened changes
//! what the return covers at once, on every replica.

use std::collections::{BTreeMap, BTreeSet};

use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::pi_returns as pb;
use almo_server::AppError;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::convert::part_year_to_proto;
use crate::domain::catalogue::{self, Definition, PartYear};
use crate::domain::combination::{self, Part, TimedPart};
use crate::domain::period::{Coverage, Period, PeriodKind};
use crate::domain::workflow::Status as ReturnStatus;
use crate::storage;

/// The days of a period an organisation reports on, and the ALMOs that ended within it (the
/// organisation itself, or a council's ALMOs).
#[derive(Debug, Clone)]
pub(super) struct Covered {
    pub covers: Coverage,
    pub ended: Vec<organisation::Model>,
    /// A council's ALMOs live at some time in the period (empty for an ALMO).
    pub almos: Vec<organisation::Model>,
}

impl Covered {
    /// "Lambeth Living (LAMBETH-LIVING) ended on 2016-10-16".
    pub fn ends(&self) -> String {
        self.ended
            .iter()
            .map(|a| {
                let end = a.end_date.map(|e| e.to_string()).unwrap_or_default();
                format!("{} ({}) ended on {end}", a.name, a.id)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The directory rows of `ids` and of the ALMOs of those that are councils.
pub(super) async fn directory_for(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<organisation::Model>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(organisation::Entity::find()
        .filter(
            Condition::any()
                .add(organisation::Column::Id.is_in(ids.iter().cloned()))
                .add(organisation::Column::CouncilId.is_in(ids.iter().cloned())),
        )
        .all(conn)
        .await?)
}

/// What `org_id` covers of `period`, from the directory rows `rows` (see [`directory_for`]).
pub(super) fn covered(period: &Period, org_id: &str, rows: &[organisation::Model]) -> Covered {
    let whole = Covered {
        covers: period.whole(),
        ended: Vec::new(),
        almos: Vec::new(),
    };
    let Some(org) = rows.iter().find(|r| r.id == org_id) else {
        return whole;
    };
    let within = |a: &organisation::Model| {
        a.end_date
            .is_some_and(|e| (period.start()..period.end()).contains(&e))
    };
    match org.kind.as_str() {
        "almo" => Covered {
            covers: period.almo_part(org.end_date),
            ended: within(org).then(|| org.clone()).into_iter().collect(),
            almos: Vec::new(),
        },
        "council" => {
            let almos: Vec<organisation::Model> = rows
                .iter()
                .filter(|a| a.kind == "almo" && a.council_id.as_deref() == Some(org_id))
                // Live at some time in the period, as the outstanding list counts them (an
                // ALMO in shadow form, not yet live, manages nothing).
                .filter(|a| a.go_live_date.is_some_and(|g| g <= period.end()))
                .filter(|a| a.end_date.is_none_or(|e| e >= period.start()))
                .cloned()
                .collect();
            let ends: Vec<_> = almos.iter().filter_map(|a| a.end_date).collect();
            Covered {
                covers: period.council_part(&ends),
                ended: almos.iter().filter(|a| within(a)).cloned().collect(),
                almos,
            }
        }
        _ => whole,
    }
}

/// What `org_id` covers of `period`, read from the directory.
pub(super) async fn coverage_of(
    conn: &impl ConnectionTrait,
    org_id: &str,
    period: &Period,
) -> Result<Covered, AppError> {
    let rows = directory_for(conn, &[org_id.to_string()]).await?;
    Ok(covered(period, org_id, &rows))
}

/// Fills the days `pr` covers.
pub(super) fn set_covers(pr: &mut pb::PiReturn, covers: &Coverage) {
    pr.covers_from = covers.from.to_string();
    pr.covers_to = covers.to.to_string();
}

/// The refusal of CombineAlmoReturns on a council's return covering part of its period.
pub(super) fn combine_refusal(council: &str, period: &Period, c: &Covered) -> AppError {
    AppError::failed_precondition(
        "PART_YEAR",
        format!(
            "{}: {council}'s return for {} covers {} to {}, its own figures for the days after \
             the end; the authority's figures for the whole period are made from the parts \
             when the return is read (GetReturn authority_figures), not combined onto it",
            c.ends(),
            period.label(),
            c.covers.from,
            c.covers.to
        ),
    )
}

/// The authority's figures for the whole of `period`, made from the signed-off returns of the
/// council's ALMOs (each covering up to its end) and the council's own current figures on
/// `council_return` (covering from the day after), indicator by indicator and split by split;
/// and those that cannot be made, with why.
pub(super) async fn authority_figures(
    conn: &impl ConnectionTrait,
    defs: &[Definition],
    council_return: &pi_return::Model,
    period: &Period,
    council: &Covered,
) -> Result<(Vec<pb::AuthorityFigure>, Vec<pb::NotCombined>), AppError> {
    let almo_ids: Vec<String> = council.almos.iter().map(|a| a.id.clone()).collect();
    let signed: Vec<pi_return::Model> = storage::returns_for_period(conn, &almo_ids, period)
        .await?
        .into_iter()
        .filter(|r| r.status == ReturnStatus::SignedOff.as_str())
        .collect();
    // Each contributor: organisation, its return (if signed off, or the council's own), days.
    let mut contributors: Vec<(String, Option<&pi_return::Model>, Coverage)> = council
        .almos
        .iter()
        .map(|a| {
            let ret = signed.iter().find(|r| r.organisation_id == a.id);
            (a.id.clone(), ret, period.almo_part(a.end_date))
        })
        .collect();
    contributors.push((
        council_return.organisation_id.clone(),
        Some(council_return),
        council.covers,
    ));
    let ids: Vec<String> = contributors
        .iter()
        .filter_map(|(_, r, _)| r.map(|r| r.id.clone()))
        .collect();
    let values = storage::current_values(conn, &ids, None).await?;
    let keys: BTreeSet<(&str, &str)> = values
        .iter()
        .map(|v| (v.indicator_code.as_str(), v.split.as_str()))
        .collect();
    let find = |ret: Option<&pi_return::Model>, code: &str, split: &str| {
        let ret = ret?;
        values
            .iter()
            .find(|v| v.return_id == ret.id && v.indicator_code == code && v.split == split)
    };
    let mut figures = Vec::new();
    let mut not_combined = Vec::new();
    for (code, split) in keys {
        let Some(def) = catalogue::in_force(defs, code, period.year) else {
            continue;
        };
        let parts: Vec<(String, Option<TimedPart>)> = contributors
            .iter()
            .map(|(org, ret, covers)| {
                let part = find(*ret, code, split).map(|v| timed(org, v, *covers));
                (org.clone(), part)
            })
            .collect();
        match combination::combine_part_years(def, &parts, period.start(), period.end()) {
            Ok((c, counted)) => {
                let returns: BTreeMap<&str, &str> = contributors
                    .iter()
                    .filter_map(|(o, r, _)| r.map(|r| (o.as_str(), r.id.as_str())))
                    .collect();
                figures.push(pb::AuthorityFigure {
                    indicator_code: code.into(),
                    split: split.into(),
                    value: c.value,
                    numerator: c.numerator,
                    denominator: c.denominator,
                    rule: part_year_to_proto(def.part_year()) as i32,
                    parts: parts
                        .iter()
                        .filter_map(|(_, p)| p.as_ref())
                        .zip(counted)
                        .map(|(t, counted)| pb::FigurePart {
                            organisation_id: t.part.organisation_id.clone(),
                            return_id: returns
                                .get(t.part.organisation_id.as_str())
                                .map(|r| r.to_string())
                                .unwrap_or_default(),
                            covers_from: t.covers.from.to_string(),
                            covers_to: t.covers.to.to_string(),
                            value: t.part.value,
                            numerator: t.part.numerator,
                            denominator: t.part.denominator,
                            counted,
                        })
                        .collect(),
                })
            }
            Err(reason) => not_combined.push(pb::NotCombined {
                indicator_code: code.into(),
                split: split.into(),
                reason,
            }),
        }
    }
    Ok((figures, not_combined))
}

fn timed(org: &str, v: &pi_return_value::Model, covers: Coverage) -> TimedPart {
    TimedPart {
        part: Part {
            organisation_id: org.to_string(),
            value: v.value,
            numerator: v.numerator,
            denominator: v.denominator,
        },
        covers,
    }
}

/// The year of an ALMO's end as benchmarking sees it (`GetBenchmark`,
/// `CompareManagementModels`): the authority stands on its whole-year figure made from the
/// parts, never on the council's part, and no part-year figure is compared with whole years.
/// Made when it is read, from the directory and the returns as they stand, so a change of either
/// part or an end recorded or moved in the directory counts at once with nothing to refresh.
#[derive(Debug, Default)]
pub(super) struct EndYear {
    /// ALMOs that ended within the year: their part-year figures are left out.
    ended: BTreeSet<String>,
    /// Their councils.
    councils: BTreeSet<String>,
    /// Those councils with a signed-off return for the year: the authority's figures by
    /// (indicator, split), those that could be made.
    authority: BTreeMap<String, BTreeMap<(String, String), f64>>,
}

impl EndYear {
    /// The ALMOs that ended within `year` and the authority figures of their councils.
    pub async fn read(
        conn: &impl ConnectionTrait,
        defs: &[Definition],
        year: i32,
    ) -> Result<Self, AppError> {
        let period = Period::new(year, PeriodKind::Year, 1).map_err(AppError::Internal)?;
        // Ending on the year's last day leaves no part to the council (as `covered`).
        let ended: Vec<organisation::Model> = organisation::Entity::find()
            .filter(organisation::Column::Kind.eq("almo"))
            .filter(organisation::Column::EndDate.gte(period.start()))
            .filter(organisation::Column::EndDate.lt(period.end()))
            .all(conn)
            .await?;
        let mut out = Self {
            ended: ended.iter().map(|a| a.id.clone()).collect(),
            councils: ended.iter().filter_map(|a| a.council_id.clone()).collect(),
            authority: BTreeMap::new(),
        };
        let councils: Vec<String> = out.councils.iter().cloned().collect();
        let rows = directory_for(conn, &councils).await?;
        for ret in storage::returns_for_period(conn, &councils, &period).await? {
            if ret.status != ReturnStatus::SignedOff.as_str() {
                continue;
            }
            let council = covered(&period, &ret.organisation_id, &rows);
            let (figures, _) = authority_figures(conn, defs, &ret, &period, &council).await?;
            out.authority.insert(
                ret.organisation_id.clone(),
                figures
                    .into_iter()
                    .map(|f| ((f.indicator_code, f.split), f.value))
                    .collect(),
            );
        }
        Ok(out)
    }

    /// The figure that stands for `org` in the year, given its own return's `own`: an ended
    /// ALMO's part, none; its council's, the authority's whole-year figure, else its own where
    /// the council reports the whole year itself (`not_combinable`), else none.
    pub fn figure(&self, def: &Definition, split: &str, org: &str, own: f64) -> Option<f64> {
        if self.ended.contains(org) {
            return None;
        }
        let Some(figures) = self.authority.get(org) else {
            return Some(own);
        };
        figures
            .get(&(def.code.clone(), split.to_string()))
            .copied()
            .or((def.part_year() == PartYear::NotCombinable).then_some(own))
    }

    /// Whether `council` handed back its homes in the year (an ALMO of its ended within it).
    pub fn hands_back(&self, council: &str) -> bool {
        self.councils.contains(council)
    }

    /// `values` (organisation, own figure) as they stand for the authorities in the year.
    pub fn apply(
        &self,
        def: &Definition,
        split: &str,
        values: Vec<(String, f64)>,
    ) -> Vec<(String, f64)> {
        if self.ended.is_empty() {
            return values;
        }
        values
            .into_iter()
            .filter_map(|(o, v)| self.figure(def, split, &o, v).map(|v| (o, v)))
            .collect()
    }
}
