//! ALMO-managed against in-house (DOMAIN.md §3): for a year, councils whose homes an ALMO
//! managed against councils managing in-house, measure by measure, with the difference's 95%
//! confidence interval and cost per home beside it. Only aggregates leave the service (and which
//! group each council is in, which is the directory's public record), so every caller may ask.

use std::collections::BTreeMap;

use almo_fields as fields;
use almo_proto::common;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::PiReturns;
use super::convert::{definition_to_proto, start_year};
use super::part_year::EndYear;
use crate::domain::catalogue::{self, Definition, Unit};
use crate::domain::management_model::{
    self as mm, AlmoSpan, COST_PER_HOME, DEFAULT_RESAMPLES, DEFAULT_SEED, Figure, Interval,
    MAX_RESAMPLES, Model, Summary, Verdict,
};
use crate::domain::validation::round_to;
use crate::storage::{self, Landlord, SignedOffFigure};

impl PiReturns {
    pub(super) async fn compare_management_models(
        &self,
        request: Request<pb::CompareManagementModelsRequest>,
    ) -> Result<pb::CompareManagementModelsResponse, AppError> {
        let _p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let year = v.field("year", start_year(r.year.as_ref()));
        v.check(
            !(0..=MAX_RESAMPLES as i32).contains(&r.resamples),
            "resamples",
            format!("0 for the default ({DEFAULT_RESAMPLES}), at most {MAX_RESAMPLES}"),
        );
        v.into_result()?;
        let year = year.expect("checked above");
        let resamples = match r.resamples {
            0 => DEFAULT_RESAMPLES,
            n => n as u32,
        };
        let seed = r.seed.unwrap_or(DEFAULT_SEED);
        let split = r.split.trim();
        let code = r.indicator_code.trim();
        let defs = self.catalogue().await?;
        let label = fields::financial_year_label(year);
        let measures: Vec<&Definition> = if code.is_empty() {
            catalogue::all_in_force(&defs, year)
                .into_iter()
                .filter(|d| d.code != COST_PER_HOME && d.unit != Unit::YesNo)
                .filter(|d| split.is_empty() || d.splits.iter().any(|s| s == split))
                .collect()
        } else {
            let def = catalogue::in_force(&defs, code, year).ok_or_else(|| {
                AppError::invalid(
                    "indicator_code",
                    format!("no indicator {code:?} is defined for {label}"),
                )
            })?;
            if !split.is_empty() && !def.splits.iter().any(|s| s == split) {
                return Err(AppError::invalid(
                    "split",
                    format!("{code} has no split {split:?}"),
                ));
            }
            vec![def]
        };
        let cost = catalogue::in_force(&defs, COST_PER_HOME, year);
        let conn = self.ctx.db.conn();
        let landlords = storage::landlords(conn).await?;
        let councils = assignments(&landlords, year);
        let codes: Vec<String> = measures.iter().map(|d| d.code.clone()).collect();
        let mut figures = storage::signed_off_figures(conn, &codes, split, year).await?;
        if let Some(c) = cost {
            figures.extend(
                storage::signed_off_figures(conn, std::slice::from_ref(&c.code), "", year).await?,
            );
        }
        // In the year of an ALMO's end its council stands on the authority's whole-year figure
        // and the ALMO's part-year figure is left out, as in GetBenchmark.
        let end_year = EndYear::read(conn, &defs, year).await?;
        figures.retain_mut(|f| {
            let Some(def) = measures
                .iter()
                .copied()
                .chain(cost)
                .find(|d| d.code == f.code)
            else {
                return true;
            };
            let split = if def.code == COST_PER_HOME { "" } else { split };
            match end_year.figure(def, split, &f.organisation_id, f.value) {
                Some(v) => {
                    f.value = v;
                    true
                }
                None => false,
            }
        });
        let mut return_ids: Vec<String> = figures.iter().map(|f| f.return_id.clone()).collect();
        return_ids.sort();
        return_ids.dedup();
        let mut survey_homes: BTreeMap<String, u32> = BTreeMap::new();
        for s in storage::surveys_of(conn, &return_ids).await? {
            if let Some(h) = s.relevant_homes {
                *survey_homes.entry(s.return_id).or_default() += h.max(0) as u32;
            }
        }
        let ctx = Figures {
            end_year: &end_year,
            landlords: &landlords,
            figures: &figures,
            survey_homes: &survey_homes,
        };
        let compare = |def: &Definition| {
            let (almo, in_house) = ctx.groups(&def.code, &councils);
            let interval = mm::bootstrap_difference(&almo, &in_house, seed, resamples);
            comparison_to_proto(
                def,
                &mm::summarise(&almo),
                &mm::summarise(&in_house),
                interval,
            )
        };
        Ok(pb::CompareManagementModelsResponse {
            year: Some(common::FinancialYear { start_year: year }),
            measures: measures.iter().map(|d| compare(d)).collect(),
            cost_per_home: cost.map(compare),
            councils: councils
                .iter()
                .map(|c| pb::ManagementAssignment {
                    council_id: c.council_id.clone(),
                    model: match c.model {
                        Model::Almo => pb::ManagementModel::Almo,
                        Model::InHouse => pb::ManagementModel::InHouse,
                    } as i32,
                    almo_ids: c.almo_ids.clone(),
                    days_almo_managed: c.days as i32,
                    days_in_year: c.days_in_year as i32,
                })
                .collect(),
            seed,
            resamples: resamples as i32,
            method: mm::method(year),
        })
    }
}

/// A council's group for the year.
struct Assignment {
    council_id: String,
    model: Model,
    almo_ids: Vec<String>,
    days: u32,
    days_in_year: u32,
}

fn span(l: &Landlord) -> AlmoSpan {
    AlmoSpan {
        go_live: l.go_live,
        end: l.end,
    }
}

fn assignments(landlords: &[Landlord], year: i32) -> Vec<Assignment> {
    landlords
        .iter()
        .filter(|l| l.is_council)
        .map(|c| {
            let almos: Vec<&Landlord> = landlords
                .iter()
                .filter(|a| !a.is_council && a.council_id.as_deref() == Some(c.id.as_str()))
                .collect();
            let spans: Vec<AlmoSpan> = almos.iter().map(|a| span(a)).collect();
            let (model, days, days_in_year) = mm::assign(&spans, year);
            Assignment {
                council_id: c.id.clone(),
                model,
                almo_ids: almos
                    .iter()
                    .filter(|a| mm::days_managed(&[span(a)], year).0 > 0)
                    .map(|a| a.id.clone())
                    .collect(),
                days,
                days_in_year,
            }
        })
        .collect()
}

struct Figures<'a> {
    end_year: &'a EndYear,
    landlords: &'a [Landlord],
    figures: &'a [SignedOffFigure],
    survey_homes: &'a BTreeMap<String, u32>,
}

impl Figures<'_> {
    /// `org`'s figure of `code` with its homes: the relevant homes of the return's surveys,
    /// else the directory's stock.
    fn of(&self, org: &str, code: &str) -> Option<Figure> {
        let f = self
            .figures
            .iter()
            .find(|f| f.organisation_id == org && f.code == code)?;
        let stock = self
            .landlords
            .iter()
            .find(|l| l.id == org)
            .and_then(|l| l.stock)
            .and_then(|s| u32::try_from(s).ok());
        Some(Figure {
            value: f.value,
            homes: self.survey_homes.get(&f.return_id).copied().or(stock),
        })
    }

    /// A council's figure: its own return's (its combined figures stand for the authority,
    /// 003 §107), else its ALMOs' weighted by their homes. In the year of a hand-back its
    /// return's figure is the authority's made from the parts ([`EndYear`]); where none could
    /// be made the council is left out, as its ALMOs' figures do not cover its own part.
    fn council(&self, council: &str, code: &str) -> Option<Figure> {
        if let Some(own) = self.of(council, code) {
            return Some(own);
        }
        if self.end_year.hands_back(council) {
            return None;
        }
        let almos: Vec<Figure> = self
            .landlords
            .iter()
            .filter(|a| !a.is_council && a.council_id.as_deref() == Some(council))
            .filter_map(|a| self.of(&a.id, code))
            .collect();
        match almos.as_slice() {
            [] => None,
            [one] => Some(*one),
            several => {
                let homes: u32 = several.iter().filter_map(|f| f.homes).sum();
                let value = mm::weighted_mean(several).unwrap_or_else(|| {
                    several.iter().map(|f| f.value).sum::<f64>() / several.len() as f64
                });
                Some(Figure {
                    value,
                    homes: (homes > 0).then_some(homes),
                })
            }
        }
    }

    fn groups(&self, code: &str, councils: &[Assignment]) -> (Vec<Figure>, Vec<Figure>) {
        let mut almo = Vec::new();
        let mut in_house = Vec::new();
        for c in councils {
            if let Some(f) = self.council(&c.council_id, code) {
                match c.model {
                    Model::Almo => almo.push(f),
                    Model::InHouse => in_house.push(f),
                }
            }
        }
        (almo, in_house)
    }
}

fn summary_to_proto(s: &Summary, places: u32) -> pb::GroupSummary {
    let r = |x: f64| round_to(x, places);
    pb::GroupSummary {
        organisations: s.organisations as i32,
        homes: s.homes as i64,
        q1: s.quartiles.as_ref().map(|q| r(q.q1)),
        median: s.quartiles.as_ref().map(|q| r(q.median)),
        q3: s.quartiles.as_ref().map(|q| r(q.q3)),
        weighted_mean: s.weighted_mean.map(r),
    }
}

fn comparison_to_proto(
    def: &Definition,
    almo: &Summary,
    in_house: &Summary,
    interval: Option<Interval>,
) -> pb::MeasureComparison {
    // One decimal place more than the indicator, as the benchmark's quartiles.
    let places = def.precision + 1;
    let r = |x: f64| round_to(x, places);
    let difference = interval.map(|i| i.difference).or_else(|| {
        almo.weighted_mean
            .zip(in_house.weighted_mean)
            .map(|(a, b)| a - b)
    });
    pb::MeasureComparison {
        indicator: Some(definition_to_proto(def)),
        almo: Some(summary_to_proto(almo, places)),
        in_house: Some(summary_to_proto(in_house, places)),
        difference: difference.map(r),
        difference_lower: interval.map(|i| r(i.lower)),
        difference_upper: interval.map(|i| r(i.upper)),
        verdict: match mm::verdict(interval.as_ref(), def.direction) {
            Verdict::AlmoBetter => pb::DifferenceVerdict::AlmoBetter,
            Verdict::InHouseBetter => pb::DifferenceVerdict::InHouseBetter,
            Verdict::NoClearDifference => pb::DifferenceVerdict::NoClearDifference,
            Verdict::NotRanked => pb::DifferenceVerdict::NotRanked,
            Verdict::TooFew => pb::DifferenceVerdict::TooFew,
        } as i32,
    }
}
