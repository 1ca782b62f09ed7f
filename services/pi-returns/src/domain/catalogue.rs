//! The indicator catalogue is data, versioned by financial year (DOMAIN.md §3): a definition
//! applies from its first year until its last (or until a later definition of the same code takes
//! over), so measures are added or redefined by importing a file, never by changing code.

use serde::{Deserialize, Serialize};

/// The seed catalogue shipped with the service: every indicator of DOMAIN.md §3.
pub const SEED_CATALOGUE: &str = include_str!("../../catalogue/indicators.json");

/// The format tag a catalogue file carries.
pub const CATALOGUE_FORMAT: &str = "almo.pi_returns.catalogue/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Days,
    SapPoints,
    Pounds,
    Count,
    PerThousand,
    YesNo,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Days => "days",
            Unit::SapPoints => "SAP points",
            Unit::Pounds => "pounds",
            Unit::Count => "count",
            Unit::PerThousand => "per 1,000",
            Unit::YesNo => "yes/no",
        }
    }
}

/// Which way is better. Context measures are never ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
    YesNo,
    Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// In every quarterly return and in the annual one.
    Quarterly,
    Annual,
}

/// How a council with several ALMOs combines their figures (003 §107).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combination {
    Sum,
    /// Summed numerators over summed denominators: never an average of percentages.
    Ratio,
    NotCombinable,
}

/// How an ALMO's figure for the part of a period up to its end and its council's for the rest
/// (the year of a hand-back, DOMAIN.md "An ALMO's life") make the authority's figure for the
/// whole period. Unset in the catalogue: `add` where the indicator combines, otherwise
/// `not_combinable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartYear {
    /// Counted over the period: the parts' figures add (a sum), or their numerators and
    /// denominators add (a ratio of sums).
    Add,
    /// A stock on the period's first day (BVPI 184a, at 1 April): the part covering that day.
    AtStart,
    /// A stock on the period's last day: the part covering that day (after a hand-back, the
    /// council's).
    AtEnd,
    /// A count over the period against the stock at its end (per 1,000 homes, cost per home):
    /// the numerators add, the denominator is that of the part covering the last day.
    OverEndStock,
    /// Not made from parts: the council reports the whole period itself.
    NotCombinable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub numerator: String,
    pub denominator: String,
    /// value = numerator / denominator * scale
    pub scale: f64,
}

/// One indicator's definition for a span of financial years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub code: String,
    pub title: String,
    /// Start year of the first financial year in force (2003 = 2003/04).
    pub from_year: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_year: Option<i32>,
    pub unit: Unit,
    pub direction: Direction,
    pub precision: u32,
    pub valid_min: f64,
    pub valid_max: f64,
    pub usual_min: f64,
    pub usual_max: f64,
    /// 0: no check against last year.
    #[serde(default)]
    pub max_change_on_last_year: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    #[serde(default)]
    pub splits: Vec<String>,
    pub frequency: Frequency,
    pub combination: Combination,
    /// How part-year figures make the period's (see [`PartYear`]); `None`: by `combination`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_year: Option<PartYear>,
    pub mandatory: bool,
    /// A perception measure: it comes from a tenant survey, whose sample size and method must
    /// be reported with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_tenant_survey: bool,
    /// Landlords with fewer homes than this publish the measure but do not submit it (the TSMs:
    /// 1,000, RSH); `None` when every organisation submits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_homes_to_submit: Option<u32>,
    #[serde(default)]
    pub source: String,
}

/// A catalogue file: `{"format": "almo.pi_returns.catalogue/1", "indicators": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogueFile {
    pub format: String,
    pub indicators: Vec<Definition>,
}

impl Definition {
    pub fn in_force(&self, year: i32) -> bool {
        self.from_year <= year && self.to_year.is_none_or(|t| year <= t)
    }

    /// How part-year figures make the whole period's: as the catalogue says, else `add` where
    /// the indicator combines and `not_combinable` where it does not.
    pub fn part_year(&self) -> PartYear {
        match (self.part_year, self.combination) {
            (Some(p), _) => p,
            (None, Combination::NotCombinable) => PartYear::NotCombinable,
            (None, _) => PartYear::Add,
        }
    }

    /// Whether a return for a period of `quarterly`/annual kind must or may carry it.
    pub fn reported_in(&self, quarterly_return: bool) -> bool {
        !quarterly_return || self.frequency == Frequency::Quarterly
    }

    /// What is wrong with the definition itself, as (field, reason): a definition that cannot be
    /// validated against is refused at import.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let code = self.code.trim();
        if code.is_empty() || code.len() > 40 {
            p.push(("code", "required, at most 40 characters".into()));
        }
        if self.title.trim().is_empty() {
            p.push(("title", "required".into()));
        }
        if let Err(why) = almo_fields::start_year(self.from_year) {
            p.push(("from_year", why));
        }
        if let Some(t) = self.to_year
            && t < self.from_year
        {
            p.push(("to_year", "must not be before from_year".into()));
        }
        if self.precision > 6 {
            p.push(("precision", "at most 6 decimal places".into()));
        }
        let ordered = [
            self.valid_min,
            self.usual_min,
            self.usual_max,
            self.valid_max,
        ];
        if ordered.iter().any(|v| !v.is_finite()) || ordered.windows(2).any(|w| w[0] > w[1]) {
            p.push((
                "valid_min",
                "need valid_min <= usual_min <= usual_max <= valid_max".into(),
            ));
        }
        if !(self.max_change_on_last_year >= 0.0 && self.max_change_on_last_year.is_finite()) {
            p.push(("max_change_on_last_year", "zero or more".into()));
        }
        if (self.unit == Unit::YesNo) != (self.direction == Direction::YesNo) {
            p.push((
                "direction",
                "a yes/no unit goes with the yes/no direction, and only with it".into(),
            ));
        }
        if let Some(r) = &self.ratio
            && !(r.scale > 0.0 && r.scale.is_finite())
        {
            p.push(("ratio.scale", "must be positive".into()));
        }
        if self.combination == Combination::Ratio && self.ratio.is_none() {
            p.push((
                "combination",
                "combining by ratio needs the ratio's numerator and denominator".into(),
            ));
        }
        if self.part_year == Some(PartYear::OverEndStock) && self.ratio.is_none() {
            p.push((
                "part_year",
                "a count over the period against the stock at its end needs a ratio".into(),
            ));
        }
        let mut splits = self.splits.clone();
        splits.sort();
        splits.dedup();
        if splits.len() != self.splits.len() || splits.iter().any(|s| s.trim().is_empty()) {
            p.push(("splits", "distinct, non-empty names".into()));
        }
        p
    }
}

/// Parses a catalogue file.
pub fn parse_catalogue(text: &str) -> Result<Vec<Definition>, String> {
    let file: CatalogueFile =
        serde_json::from_str(text).map_err(|e| format!("not a catalogue file: {e}"))?;
    if file.format != CATALOGUE_FORMAT {
        return Err(format!(
            "format {:?} is not {CATALOGUE_FORMAT:?}",
            file.format
        ));
    }
    Ok(file.indicators)
}

/// The seed catalogue.
pub fn seed() -> Vec<Definition> {
    parse_catalogue(SEED_CATALOGUE).expect("the shipped catalogue parses")
}

/// The definition of `code` in force for `year`: of those whose span covers the year, the one
/// that starts latest (a redefinition for a year overrides an open-ended earlier one).
pub fn in_force<'a>(defs: &'a [Definition], code: &str, year: i32) -> Option<&'a Definition> {
    defs.iter()
        .filter(|d| d.code == code && d.in_force(year))
        .max_by_key(|d| d.from_year)
}

/// The fewest homes an organisation must have to owe a return for a period of `year`: where
/// every mandatory indicator reported in the period is submitted only by landlords of some size
/// (the TSMs: 1,000 homes), the smallest of those sizes; `None` when some mandatory indicator is
/// owed by everyone.
pub fn homes_to_submit(defs: &[Definition], year: i32, quarterly_return: bool) -> Option<u32> {
    let owed: Vec<&Definition> = all_in_force(defs, year)
        .into_iter()
        .filter(|d| d.mandatory && d.reported_in(quarterly_return))
        .collect();
    if owed.is_empty() {
        return None;
    }
    owed.iter()
        .map(|d| d.min_homes_to_submit)
        .collect::<Option<Vec<u32>>>()?
        .into_iter()
        .min()
}

/// Whether an organisation of `homes` (unknown: it owes) owes a return for a period of `year`.
pub fn must_submit(
    defs: &[Definition],
    year: i32,
    quarterly_return: bool,
    homes: Option<i32>,
) -> bool {
    match (homes_to_submit(defs, year, quarterly_return), homes) {
        (Some(min), Some(h)) => i64::from(h) >= i64::from(min),
        _ => true,
    }
}

/// Every indicator in force for `year`, one definition per code, by code.
pub fn all_in_force(defs: &[Definition], year: i32) -> Vec<&Definition> {
    let mut codes: Vec<&str> = defs.iter().map(|d| d.code.as_str()).collect();
    codes.sort();
    codes.dedup();
    codes
        .into_iter()
        .filter_map(|c| in_force(defs, c, year))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_catalogue_holds_every_indicator_of_the_domain() {
        let defs = seed();
        for code in [
            "BVPI 63",
            "BVPI 66a",
            "BVPI 74",
            "BVPI 75",
            "BVPI 164",
            "BVPI 184a",
            "BVPI 184b",
            "BVPI 185",
            "old BVPI 68",
            "old BVPI 69",
            "old BVPI 72",
            "old BVPI 73",
            "LIB076",
            "LIB079",
            "LIB052",
        ] {
            assert!(defs.iter().any(|d| d.code == code), "{code} missing");
        }
        let in_force_2024 = all_in_force(&defs, 2024);
        let tsms: Vec<_> = in_force_2024
            .iter()
            .filter(|d| d.min_homes_to_submit == Some(1_000))
            .collect();
        assert_eq!(tsms.len(), 22, "the 22 TSMs are in force for 2024/25");
        // Cost per home (VfM metric 5) sits beside them, as context.
        let cost = in_force(&defs, "VFM05", 2024).unwrap();
        assert_eq!(cost.direction, Direction::Context);
        assert_eq!(in_force_2024.len(), 23);
        for d in &defs {
            assert!(d.problems().is_empty(), "{}: {:?}", d.code, d.problems());
        }
    }

    #[test]
    fn definition_in_force_is_the_latest_one_covering_the_year() {
        let defs = seed();
        // Old BVPI 68 was a national (mandatory) BVPI to 2001/02, then a local indicator.
        assert!(in_force(&defs, "old BVPI 68", 2001).unwrap().mandatory);
        assert!(!in_force(&defs, "old BVPI 68", 2003).unwrap().mandatory);
        assert!(in_force(&defs, "BVPI 184a", 2001).is_none());
        assert!(in_force(&defs, "TP01", 2003).is_none());
        let mut redefined = in_force(&defs, "TP01", 2024).unwrap().clone();
        redefined.from_year = 2026;
        redefined.usual_min = 50.0;
        let mut with = defs.clone();
        with.push(redefined);
        assert_eq!(in_force(&with, "TP01", 2025).unwrap().usual_min, 30.0);
        assert_eq!(in_force(&with, "TP01", 2027).unwrap().usual_min, 50.0);
    }

    #[test]
    fn small_landlords_owe_no_tsm_return() {
        let defs = seed();
        // 2024/25: the TSMs (from 1,000 homes) and cost per home (everyone, not mandatory).
        // Cost per home is owed by everyone, so the VfM figure alone would make small landlords
        // owe a return: it is not mandatory, and what is owed is what is mandatory.
        assert_eq!(homes_to_submit(&defs, 2024, false), Some(1_000));
        assert!(!must_submit(&defs, 2024, false, Some(999)));
        assert!(must_submit(&defs, 2024, false, Some(1_000)));
        assert!(must_submit(&defs, 2024, false, None));
        // 2003/04: the BVPIs are owed by every authority.
        assert_eq!(homes_to_submit(&defs, 2003, false), None);
        assert!(must_submit(&defs, 2003, false, Some(500)));
    }

    #[test]
    fn incoherent_definition_is_refused_naming_the_field() {
        let mut d = in_force(&seed(), "BVPI 66a", 2003).unwrap().clone();
        d.usual_min = 130.0;
        d.combination = Combination::Ratio;
        d.ratio = None;
        let fields: Vec<_> = d.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["valid_min", "combination"]);
    }
}
