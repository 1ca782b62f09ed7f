//! What a benchmark returns: [`Record`]s, one per figure, each beside its baseline from the same
//! run, with the aim it is held to; written as `report.json` and `report.md`.
//!
//! A bench builds its records like this:
//!
//! ```ignore
//! Record::new("GetOrganisation, authenticated / bare tonic echo", full.rate, "req/s")
//!     .baseline(echo.rate)
//!     .aim(Aim::RatioAtLeast(0.5))
//! ```
//!
//! The runner fills in `database` (`sqlite` or `postgresql`) for records that leave it empty.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

/// What a figure is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aim {
    /// No aim: the figure is reported for information.
    None,
    /// `value / baseline` at least this (a rate that should keep up with its baseline).
    RatioAtLeast(f64),
    /// `value / baseline` at most this (a time that should not grow past its baseline's).
    RatioAtMost(f64),
    /// `value` at least this, in the record's unit.
    AtLeast(f64),
    /// `value` at most this, in the record's unit (a latency budget).
    AtMost(f64),
}

impl Aim {
    fn describe(&self, unit: &str) -> String {
        match self {
            Aim::None => String::new(),
            Aim::RatioAtLeast(x) => format!("ratio ≥ {x}"),
            Aim::RatioAtMost(x) => format!("ratio ≤ {x}"),
            Aim::AtLeast(x) => format!("≥ {x} {unit}"),
            Aim::AtMost(x) => format!("≤ {x} {unit}"),
        }
    }

    fn met(&self, value: f64, ratio: Option<f64>) -> Option<bool> {
        match *self {
            Aim::None => None,
            Aim::RatioAtLeast(x) => ratio.map(|r| r >= x),
            Aim::RatioAtMost(x) => ratio.map(|r| r <= x),
            Aim::AtLeast(x) => Some(value >= x),
            Aim::AtMost(x) => Some(value <= x),
        }
    }
}

/// One figure of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// What was measured, e.g. `ExportReturns / plain SQL read, 100000 returns`.
    pub name: String,
    /// `sqlite` or `postgresql` (or `none` for a bench without a database).
    pub database: String,
    pub value: f64,
    /// The same work done the plainest way, in the same run and unit, if there is one.
    pub baseline: Option<f64>,
    /// `value / baseline`.
    pub ratio: Option<f64>,
    pub unit: String,
    /// The aim in words (`ratio ≥ 0.5`, `≤ 10 ms`), empty when there is none.
    pub aim: String,
    /// Whether the aim was met; `null` when there is no aim.
    pub met: Option<bool>,
    #[serde(skip)]
    aim_kind: Aim,
}

impl Record {
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        let unit = unit.into();
        Self {
            name: name.into(),
            database: String::new(),
            value,
            baseline: None,
            ratio: None,
            aim: String::new(),
            met: None,
            aim_kind: Aim::None,
            unit,
        }
    }

    /// The baseline's figure in the same unit; sets the ratio.
    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self.ratio = (baseline != 0.0).then(|| self.value / baseline);
        let aim = self.aim_kind;
        self.aim(aim)
    }

    pub fn aim(mut self, aim: Aim) -> Self {
        self.aim_kind = aim;
        self.aim = aim.describe(&self.unit);
        self.met = aim.met(self.value, self.ratio);
        self
    }

    /// Names the database, for a bench that knows better than the runner.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = database.into();
        self
    }
}

fn figure(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The records as a Markdown table.
pub fn markdown(records: &[Record]) -> String {
    let mut out = String::from(
        "| name | database | value | baseline | ratio | unit | aim | met |\n\
         |---|---|---:|---:|---:|---|---|---|\n",
    );
    for r in records {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name.replace('|', "\\|"),
            r.database,
            figure(r.value),
            r.baseline.map(figure).unwrap_or_default(),
            r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default(),
            r.unit,
            r.aim,
            match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        );
    }
    out
}

/// Writes `report.json` and `report.md` into `dir`.
pub fn write(dir: &Path, records: &[Record]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(records)? + "\n",
    )?;
    std::fs::write(dir.join("report.md"), markdown(records))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_aim_is_met_only_at_or_above_it() {
        let r = Record::new("x", 50.0, "req/s")
            .baseline(100.0)
            .aim(Aim::RatioAtLeast(0.5));
        assert_eq!(r.ratio, Some(0.5));
        assert_eq!(r.met, Some(true));
        let r = Record::new("x", 49.0, "req/s")
            .aim(Aim::RatioAtLeast(0.5))
            .baseline(100.0);
        assert_eq!(
            r.met,
            Some(false),
            "the aim is judged once the baseline is known"
        );
    }

    #[test]
    fn a_budget_aim_needs_no_baseline_and_no_aim_is_not_judged() {
        let r = Record::new("p99", 12.0, "ms").aim(Aim::AtMost(10.0));
        assert_eq!((r.ratio, r.met), (None, Some(false)));
        let r = Record::new("rows", 12.0, "rows/s");
        assert_eq!(r.met, None);
        let json = serde_json::to_value([r]).unwrap();
        let keys: Vec<_> = json[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys.len(),
            8,
            "name, database, value, baseline, ratio, unit, aim, met: {keys:?}"
        );
    }

    #[test]
    fn the_markdown_table_has_a_row_per_record() {
        let rows = [
            Record::new("a", 1.0, "s"),
            Record::new("b|c", 2.0, "s").aim(Aim::AtMost(1.0)),
        ];
        let md = markdown(&rows);
        assert_eq!(md.lines().count(), 4);
        assert!(md.contains("b\\|c") && md.contains("**no**"));
    }
}
