//! What a Delivery Plan holds (DOMAIN.md §1, 003 §25, §51, §71, 000 §1.1.2, §7.3) and the rules a
//! plan must keep, and which version of a plan is in force on a date.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Violation;
use super::period::{year_end, year_start};

/// The least annual cost-effectiveness target a plan may set, percent a year (003 §51).
pub const MIN_COST_EFFECTIVENESS_PERCENT: f64 = 2.0;
/// The most of a year's capital allocation that may go to sustainability works (000 §1.1.2).
pub const MAX_SUSTAINABILITY_PERCENT: i64 = 5;
/// Periods off track in a row that raise an exception when the plan does not say.
pub const DEFAULT_EXCEPTION_AFTER: u32 = 2;
/// The longest span a plan may cover, in financial years (five-year targets, with room).
pub const MAX_SPAN_YEARS: i32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Pi,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Count,
    Days,
    Ratio,
}

impl Unit {
    /// Why `value` cannot be a figure in this unit, if it cannot.
    pub fn check(self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err("must be a finite number".into());
        }
        match self {
            Unit::Percent if !(0.0..=100.0).contains(&value) => {
                Err(format!("{value} is not a percentage between 0 and 100"))
            }
            Unit::Count if value < 0.0 || value.fract() != 0.0 => {
                Err(format!("{value} is not a whole number of 0 or more"))
            }
            Unit::Days | Unit::Ratio if value < 0.0 => Err(format!("{value} is below 0")),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToleranceKind {
    /// In the target's unit.
    Absolute,
    /// Percent of the target.
    Relative,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub kind: ToleranceKind,
    pub amber: f64,
    pub red: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub code: String,
    pub kind: TargetKind,
    pub name: String,
    pub unit: Unit,
    pub direction: Direction,
    pub baseline: f64,
    /// Financial year (start year) -> target.
    pub yearly: BTreeMap<i32, f64>,
    pub tolerance: Tolerance,
    /// Dated milestone targets inside the plan's span, in date order (five-year targets with
    /// milestone targets, 003 §71). For counts a milestone is the total since the plan began.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
}

/// A figure to reach by a date, on the way to a later year's target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    pub date: NaiveDate,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecentHomes {
    pub non_decent_at_baseline: i32,
    pub target_date: NaiveDate,
    /// Financial year -> homes planned to be made decent.
    pub planned: BTreeMap<i32, i32>,
    /// The target whose figures count homes made decent.
    pub progress_target_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapitalCategory {
    DecentHomes,
    Sustainability,
    EstateImprovement,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapitalLine {
    pub year: i32,
    pub category: CapitalCategory,
    pub pence: i64,
}

/// Everything a plan version says. An amendment proposes a whole new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanContent {
    pub targets: Vec<Target>,
    pub decent_homes: Option<DecentHomes>,
    pub capital: Vec<CapitalLine>,
    pub cost_effectiveness_percent: f64,
    pub delegated_functions: Vec<String>,
    pub exception_after: u32,
}

impl PlanContent {
    pub fn target(&self, code: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.code == code)
    }
}

/// The financial years a plan covers, first to last inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: i32,
    pub last: i32,
}

impl Span {
    pub fn contains_year(&self, year: i32) -> bool {
        (self.first..=self.last).contains(&year)
    }

    pub fn start(&self) -> NaiveDate {
        year_start(self.first)
    }

    pub fn end(&self) -> NaiveDate {
        year_end(self.last)
    }

    pub fn years(&self) -> impl Iterator<Item = i32> {
        self.first..=self.last
    }

    /// Why these years cannot be a plan's span, as (field, reason).
    pub fn violations(&self) -> Vec<Violation> {
        let mut v = Vec::new();
        if !(1990..=2100).contains(&self.first) {
            v.push((
                "first_year".into(),
                "a start year between 1990 and 2100".into(),
            ));
        }
        if self.last < self.first {
            v.push(("last_year".into(), "must not be before first_year".into()));
        } else if self.last - self.first >= MAX_SPAN_YEARS {
            v.push((
                "last_year".into(),
                format!("a plan covers at most {MAX_SPAN_YEARS} financial years"),
            ));
        }
        v
    }
}

/// Whether `code` could be an indicator code as the PI catalogue writes them (`TP01`,
/// `BVPI 66a`, `old BVPI 68`); whether it is one is the catalogue's to say (`catalogue.rs`).
pub fn is_pi_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code.trim() == code
        && code.chars().any(|c| c.is_ascii_digit())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
}

fn is_local_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && code.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// Every way `content` breaks the rules of a plan covering `span`, with field paths under
/// `prefix` (e.g. "content").
pub fn violations(content: &PlanContent, span: Span, prefix: &str) -> Vec<Violation> {
    let mut v: Vec<Violation> = Vec::new();
    let mut add = |field: String, reason: String| v.push((field, reason));
    if content.targets.is_empty() {
        add(
            format!("{prefix}.targets"),
            "a plan needs at least one target".into(),
        );
    }
    let mut codes = HashSet::new();
    for (i, t) in content.targets.iter().enumerate() {
        let f = |name: &str| format!("{prefix}.targets[{i}].{name}");
        let code_ok = match t.kind {
            TargetKind::Pi => is_pi_code(&t.code),
            TargetKind::Local => is_local_code(&t.code),
        };
        if !code_ok {
            let want = match t.kind {
                TargetKind::Pi => "an indicator code such as TP01 or BVPI 66a",
                TargetKind::Local => "a local code of capitals, digits and hyphens, at most 40",
            };
            add(f("code"), format!("{:?} is not {want}", t.code));
        } else if !codes.insert(t.code.as_str()) {
            add(f("code"), format!("{} appears twice in the plan", t.code));
        }
        let name = t.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            add(f("name"), "required, at most 200 characters".into());
        }
        if let Err(e) = t.unit.check(t.baseline) {
            add(f("baseline"), e);
        }
        for year in span.years() {
            if !t.yearly.contains_key(&year) {
                add(
                    f("yearly_targets"),
                    format!(
                        "no target for {year}/{:02}: one per year of the plan",
                        (year + 1) % 100
                    ),
                );
            }
        }
        for (year, value) in &t.yearly {
            if !span.contains_year(*year) {
                add(
                    f("yearly_targets"),
                    format!("{year} is outside the plan's years"),
                );
            } else if let Err(e) = t.unit.check(*value) {
                add(f("yearly_targets"), format!("{year}: {e}"));
            }
        }
        let mut previous: Option<NaiveDate> = None;
        for (j, m) in t.milestones.iter().enumerate() {
            let mf = |name: &str| f(&format!("milestones[{j}].{name}"));
            if m.date < span.start() || m.date > span.end() {
                add(
                    mf("date"),
                    format!(
                        "{} is outside the plan, which runs {} to {}",
                        m.date,
                        span.start(),
                        span.end()
                    ),
                );
            } else if previous.is_some_and(|p| m.date <= p) {
                add(
                    mf("date"),
                    format!(
                        "{} must come after the milestone before it: milestones in date order, one per date",
                        m.date
                    ),
                );
            }
            previous = Some(m.date);
            if let Err(e) = t.unit.check(m.value) {
                add(mf("value"), e);
            }
        }
        let tol = &t.tolerance;
        if !(tol.amber.is_finite() && tol.amber >= 0.0) {
            add(f("tolerance.amber"), "must be 0 or more".into());
        }
        if !(tol.red.is_finite() && tol.red >= tol.amber) {
            add(
                f("tolerance.red"),
                "must be at least the amber tolerance".into(),
            );
        }
        if tol.kind == ToleranceKind::Relative && tol.red > 100.0 {
            add(
                f("tolerance.red"),
                "a relative tolerance is at most 100 percent".into(),
            );
        }
    }
    if let Some(dh) = &content.decent_homes {
        let f = |name: &str| format!("{prefix}.decent_homes.{name}");
        if dh.non_decent_at_baseline < 0 {
            add(f("non_decent_at_baseline"), "must be 0 or more".into());
        }
        if dh.target_date <= span.start() {
            add(f("target_date"), "must fall after the plan starts".into());
        }
        for (year, count) in &dh.planned {
            if !span.contains_year(*year) {
                add(
                    f("planned_decent"),
                    format!("{year} is outside the plan's years"),
                );
            }
            if *count < 0 {
                add(f("planned_decent"), format!("{year}: must be 0 or more"));
            }
        }
        let planned: i64 = dh.planned.values().map(|c| i64::from(*c)).sum();
        if planned < i64::from(dh.non_decent_at_baseline) {
            add(
                f("planned_decent"),
                format!(
                    "plans {planned} homes but {} are non-decent: the trajectory must make every home decent",
                    dh.non_decent_at_baseline
                ),
            );
        }
        match content.target(&dh.progress_target_code) {
            Some(t) if t.unit == Unit::Count && t.direction == Direction::HigherIsBetter => {}
            Some(_) => add(
                f("progress_target_code"),
                "must name a target counting homes (unit COUNT, higher is better)".into(),
            ),
            None => add(
                f("progress_target_code"),
                format!("{:?} is not a target of the plan", dh.progress_target_code),
            ),
        }
    }
    let mut lines = HashSet::new();
    let mut by_year: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for (i, line) in content.capital.iter().enumerate() {
        let f = |name: &str| format!("{prefix}.capital_profile[{i}].{name}");
        if !span.contains_year(line.year) {
            add(
                f("year"),
                format!("{} is outside the plan's years", line.year),
            );
        }
        if line.pence < 0 {
            add(f("amount"), "must be 0 or more".into());
        }
        if !lines.insert((line.year, line.category)) {
            add(f("category"), "one line per year and category".into());
        }
        let e = by_year.entry(line.year).or_default();
        e.0 += line.pence;
        if line.category == CapitalCategory::Sustainability {
            e.1 += line.pence;
        }
    }
    for (year, (total, sustainability)) in by_year {
        if sustainability * 100 > total * MAX_SUSTAINABILITY_PERCENT {
            add(
                format!("{prefix}.capital_profile"),
                format!(
                    "{year}: sustainability works are {sustainability} of {total} pence, more than {MAX_SUSTAINABILITY_PERCENT}% of the year's allocation"
                ),
            );
        }
    }
    let ce = content.cost_effectiveness_percent;
    if !(ce.is_finite() && (MIN_COST_EFFECTIVENESS_PERCENT..=100.0).contains(&ce)) {
        add(
            format!("{prefix}.annual_cost_effectiveness_percent"),
            format!(
                "{ce} is below the {MIN_COST_EFFECTIVENESS_PERCENT}% a year every plan must aim for (003 §51)"
            ),
        );
    }
    if content.delegated_functions.is_empty() {
        add(
            format!("{prefix}.delegated_functions"),
            "the plan must say which functions are delegated".into(),
        );
    }
    let mut seen = HashSet::new();
    for (i, d) in content.delegated_functions.iter().enumerate() {
        let d = d.trim();
        if d.is_empty() || d.chars().count() > 200 {
            add(
                format!("{prefix}.delegated_functions[{i}]"),
                "required, at most 200 characters".into(),
            );
        } else if !seen.insert(d.to_lowercase()) {
            add(
                format!("{prefix}.delegated_functions[{i}]"),
                "listed twice".into(),
            );
        }
    }
    if !(1..=12).contains(&content.exception_after) {
        add(
            format!("{prefix}.exception_after_periods"),
            "between 1 and 12 periods (0 means the default, 2)".into(),
        );
    }
    v
}

/// Re-profiles one year's capital spend: the year's lines are replaced by `lines`, which must
/// add up to the same allocation (000 §7.3: spend may be re-profiled within the annual
/// framework). Moving spend between years changes a year's allocation and needs an amendment.
pub fn reprofile(
    content: &PlanContent,
    year: i32,
    lines: &[(CapitalCategory, i64)],
) -> Result<PlanContent, Violation> {
    let before: i64 = content
        .capital
        .iter()
        .filter(|l| l.year == year)
        .map(|l| l.pence)
        .sum();
    let after: i64 = lines.iter().map(|(_, p)| *p).sum();
    if before != after {
        return Err((
            "lines".into(),
            format!(
                "the year's allocation was {before} pence and would be {after}: moving spend between years needs an amendment"
            ),
        ));
    }
    let mut next = content.clone();
    next.capital.retain(|l| l.year != year);
    next.capital
        .extend(lines.iter().map(|(category, pence)| CapitalLine {
            year,
            category: *category,
            pence: *pence,
        }));
    next.capital.sort_by_key(|l| (l.year, l.category));
    Ok(next)
}

/// One recorded version of a plan.
#[derive(Debug, Clone)]
pub struct Version {
    pub number: i32,
    pub effective: NaiveDate,
    pub content: PlanContent,
}

/// All versions of a plan, oldest first. Effective dates never go backwards (amendments are
/// refused otherwise), so the version in force on a date is the newest one effective by then.
#[derive(Debug, Clone)]
pub struct History {
    pub versions: Vec<Version>,
}

impl History {
    /// The version in force on `date`; `None` before the plan took effect.
    pub fn in_force_on(&self, date: NaiveDate) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.effective <= date)
    }

    /// The version whose targets judge a figure for a period ending on `date`: the one in force
    /// then, or the first version for periods before the plan took effect.
    pub fn governing(&self, date: NaiveDate) -> &Version {
        self.in_force_on(date)
            .or_else(|| self.versions.first())
            .expect("a plan has at least one version")
    }

    pub fn latest(&self) -> &Version {
        self.versions
            .last()
            .expect("a plan has at least one version")
    }
}

/// Why an amendment cannot take effect on `effective`.
pub fn effective_date_violation(
    effective: NaiveDate,
    latest_effective: NaiveDate,
    span: Span,
) -> Option<String> {
    if effective < latest_effective {
        Some(format!(
            "must not be before {latest_effective}, when the current version took effect"
        ))
    } else if effective > span.end() {
        Some(format!(
            "must fall within the plan, which ends {}",
            span.end()
        ))
    } else {
        None
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
