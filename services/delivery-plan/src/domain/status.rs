//! The dashboard of one target: every period with a figure, judged against the year's target in
//! the plan version in force at the period's end, with the trend against the previous period of
//! the same kind. Rates (percent, days, ratios) are judged period by period against the year's
//! target; counts (homes made decent, repairs done) are flows, so the year's total so far is
//! judged against the year's target profiled to the end of the period.

use super::exception::{OffTrackRun, exception_due};
use super::period::Period;
use super::plan::{History, Unit};
use super::tolerance::{Rag, Trend, assess, trend};

/// A current figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub target_code: String,
    pub period: Period,
    pub actual: f64,
    pub forecast: Option<f64>,
    pub commentary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessed {
    pub period: Period,
    pub actual: f64,
    /// Counts: the year's total up to and including this period (same kind). Rates: `actual`.
    pub judged: f64,
    /// `None` when the version in force then has no such target or no target for that year.
    pub target: Option<f64>,
    pub rag: Option<Rag>,
    pub trend: Trend,
    pub forecast: Option<f64>,
    pub commentary: String,
}

/// Assesses the figures of target `code`, ordered by kind (months, then quarters) then period.
pub fn assess_target<'a>(
    history: &History,
    code: &str,
    figures: impl IntoIterator<Item = &'a Figure>,
) -> Vec<Assessed> {
    let mut figures: Vec<&Figure> = figures
        .into_iter()
        .filter(|f| f.target_code == code)
        .collect();
    figures.sort_by_key(|f| (f.period.kind, f.period.ordinal()));
    let mut out: Vec<Assessed> = Vec::with_capacity(figures.len());
    let mut year_to_date = 0.0;
    for f in figures {
        let same_year = out
            .last()
            .is_some_and(|a| a.period.kind == f.period.kind && a.period.year == f.period.year);
        year_to_date = if same_year {
            year_to_date + f.actual
        } else {
            f.actual
        };
        let version = history.governing(f.period.end_date());
        let target = version.content.target(code);
        let is_count = target.is_some_and(|t| t.unit == Unit::Count);
        let judged = if is_count { year_to_date } else { f.actual };
        let year_target = target.and_then(|t| t.yearly.get(&f.period.year).copied());
        let year_target = year_target.map(|v| {
            if is_count {
                v * f64::from(f.period.number) / f64::from(f.period.kind.per_year())
            } else {
                v
            }
        });
        let rag = match (target, year_target) {
            (Some(t), Some(v)) => Some(assess(v, judged, t.direction, &t.tolerance)),
            _ => None,
        };
        let direction = target
            .or_else(|| history.latest().content.target(code))
            .map(|t| t.direction);
        let previous = out
            .last()
            .filter(|a| a.period.kind == f.period.kind)
            .map(|a| a.actual);
        out.push(Assessed {
            period: f.period,
            actual: f.actual,
            judged,
            target: year_target,
            rag,
            trend: match direction {
                Some(d) => trend(previous, f.actual, d),
                None => Trend::First,
            },
            forecast: f.forecast,
            commentary: f.commentary.clone(),
        });
    }
    out
}

/// The status of the newest period with a figure (months before quarters ending the same day).
pub fn latest_status(assessed: &[Assessed]) -> Option<Rag> {
    assessed
        .iter()
        .max_by_key(|a| (a.period.end_date(), std::cmp::Reverse(a.period.kind)))
        .and_then(|a| a.rag)
}

/// The off-track run that calls for an exception on this target, if any: the longest over the
/// monthly and the quarterly series.
pub fn exception_run(assessed: &[Assessed], threshold: u32) -> Option<OffTrackRun> {
    let series = |monthly: bool| -> Vec<(Period, Rag)> {
        assessed
            .iter()
            .filter(|a| (a.period.kind == super::period::PeriodKind::Month) == monthly)
            .map(|a| (a.period, a.rag.unwrap_or(Rag::OnTrack)))
            .collect()
    };
    [series(true), series(false)]
        .iter()
        .filter_map(|s| exception_due(s, threshold))
        .max_by_key(|r| r.length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::PeriodKind;
    use crate::domain::plan::tests::{content, target};
    use crate::domain::plan::{Direction, Version};

    fn fig(code: &str, month: i32, actual: f64) -> Figure {
        Figure {
            target_code: code.into(),
            period: Period::new(2026, PeriodKind::Month, month).unwrap(),
            actual,
            forecast: None,
            commentary: String::new(),
        }
    }

    #[test]
    fn each_period_is_judged_by_the_version_in_force_at_its_end() {
        let v1 = content();
        let mut v2 = content();
        // From October the council and ALMO agreed a lower target for 2026/27.
        v2.targets[0] = target(
            "BV66a",
            Direction::HigherIsBetter,
            &[(2026, 90.0), (2027, 98.0)],
        );
        let h = History {
            versions: vec![
                Version {
                    number: 1,
                    effective: "2026-04-01".parse().unwrap(),
                    content: v1,
                },
                Version {
                    number: 2,
                    effective: "2026-10-01".parse().unwrap(),
                    content: v2,
                },
            ],
        };
        let figures = vec![
            fig("BV66a", 7, 90.0),
            fig("BV66a", 6, 91.0),
            fig("LOCAL-DECENT", 6, 10.0),
        ];
        let a = assess_target(&h, "BV66a", &figures);
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].period.number, a[0].target, a[0].rag),
            (6, Some(97.0), Some(Rag::OffTrack))
        );
        assert_eq!(
            (a[1].period.number, a[1].target, a[1].rag),
            (7, Some(90.0), Some(Rag::OnTrack))
        );
        assert_eq!(a[0].trend, Trend::First);
        assert_eq!(a[1].trend, Trend::Worsening);
    }

    #[test]
    fn counts_are_judged_year_to_date_against_the_profiled_target() {
        // LOCAL-DECENT: 300 homes in 2026/27, amber 1, red 3 (absolute).
        let h = History {
            versions: vec![Version {
                number: 1,
                effective: "2026-04-01".parse().unwrap(),
                content: content(),
            }],
        };
        let figures = vec![
            fig("LOCAL-DECENT", 1, 25.0),
            fig("LOCAL-DECENT", 2, 20.0),
            fig("LOCAL-DECENT", 3, 30.0),
        ];
        let a = assess_target(&h, "LOCAL-DECENT", &figures);
        assert_eq!(
            a.iter().map(|x| x.judged).collect::<Vec<_>>(),
            vec![25.0, 45.0, 75.0]
        );
        assert_eq!(
            a.iter().map(|x| x.target.unwrap()).collect::<Vec<_>>(),
            vec![25.0, 50.0, 75.0]
        );
        assert_eq!(
            a.iter().map(|x| x.rag.unwrap()).collect::<Vec<_>>(),
            vec![Rag::OnTrack, Rag::OffTrack, Rag::OnTrack]
        );
    }

    #[test]
    fn lower_is_better_targets_trend_and_escalate_the_right_way() {
        let mut c = content();
        c.targets[0] = target(
            "LOCAL-RELET",
            Direction::LowerIsBetter,
            &[(2026, 30.0), (2027, 30.0)],
        );
        c.targets[0].unit = crate::domain::plan::Unit::Days;
        let h = History {
            versions: vec![Version {
                number: 1,
                effective: "2026-04-01".parse().unwrap(),
                content: c,
            }],
        };
        let figures = vec![
            fig("LOCAL-RELET", 1, 40.0),
            fig("LOCAL-RELET", 2, 36.0),
            fig("LOCAL-RELET", 3, 25.0),
        ];
        let a = assess_target(&h, "LOCAL-RELET", &figures);
        let rags: Vec<_> = a.iter().map(|x| x.rag.unwrap()).collect();
        assert_eq!(rags, vec![Rag::OffTrack, Rag::OffTrack, Rag::OnTrack]);
        assert_eq!(a[1].trend, Trend::Improving);
        assert_eq!(exception_run(&a, 2), None, "recovered in June");
        assert_eq!(exception_run(&a[..2], 2).unwrap().length, 2);
    }
}
