//! The dashboard of one target: every period with a figure, judged against the year's target in
//! the plan version in force at the period's end, with the trend against the previous period of
//! the same kind. Rates (percent, days, ratios) are judged period by period against the year's
//! target; counts (homes made decent, repairs done) are flows, so the year's total so far is
//! judged against the year's target profiled to the end of the period.

use chrono::NaiveDate;

use super::exception::{OffTrackRun, exception_due, trailing_off_track};
use super::period::{Period, PeriodKind};
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

/// A milestone of a target and how the target stood when a period reached its date.
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneAssessed {
    pub date: NaiveDate,
    pub target: f64,
    /// The period with a figure that contains the milestone's date (a month before a quarter);
    /// `None` until there is one.
    pub period: Option<Period>,
    /// Rates: that period's figure. Counts: the total of the series since the plan began, up to
    /// and including that period.
    pub judged: Option<f64>,
    pub rag: Option<Rag>,
}

/// The milestones of target `code`, each as set by the plan version in force on its date (an
/// amendment can move, change or drop them), in date order, judged once a period with a figure
/// reaches the date.
pub fn assess_milestones<'a>(
    history: &History,
    code: &str,
    figures: impl IntoIterator<Item = &'a Figure>,
) -> Vec<MilestoneAssessed> {
    let mut milestones: Vec<(NaiveDate, f64)> = history
        .versions
        .iter()
        .filter_map(|v| v.content.target(code))
        .flat_map(|t| t.milestones.iter())
        .filter(|m| {
            history
                .governing(m.date)
                .content
                .target(code)
                .is_some_and(|t| t.milestones.contains(m))
        })
        .map(|m| (m.date, m.value))
        .collect();
    milestones.sort_by_key(|m| m.0);
    milestones.dedup_by_key(|m| m.0);
    let figures: Vec<&Figure> = figures
        .into_iter()
        .filter(|f| f.target_code == code)
        .collect();
    milestones
        .into_iter()
        .map(|(date, value)| {
            let target = history.governing(date).content.target(code);
            let reached = [PeriodKind::Month, PeriodKind::Quarter]
                .into_iter()
                .find_map(|kind| {
                    figures
                        .iter()
                        .find(|f| f.period.kind == kind && f.period.contains(date))
                });
            let (period, judged, rag) = match (reached, target) {
                (Some(f), Some(t)) => {
                    let judged = if t.unit == Unit::Count {
                        figures
                            .iter()
                            .filter(|g| {
                                g.period.kind == f.period.kind
                                    && g.period.ordinal() <= f.period.ordinal()
                            })
                            .map(|g| g.actual)
                            .sum()
                    } else {
                        f.actual
                    };
                    (
                        Some(f.period),
                        Some(judged),
                        Some(assess(value, judged, t.direction, &t.tolerance)),
                    )
                }
                (Some(f), None) => (Some(f.period), Some(f.actual), None),
                _ => (None, None, None),
            };
            MilestoneAssessed {
                date,
                target: value,
                period,
                judged,
                rag,
            }
        })
        .collect()
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
    [
        series_of(assessed, PeriodKind::Month),
        series_of(assessed, PeriodKind::Quarter),
    ]
    .iter()
    .filter_map(|s| exception_due(s, threshold))
    .max_by_key(|r| r.length)
}

/// The off-track run ending at the newest period of `kind`, however short.
pub fn off_track_run(assessed: &[Assessed], kind: PeriodKind) -> Option<OffTrackRun> {
    trailing_off_track(&series_of(assessed, kind))
}

fn series_of(assessed: &[Assessed], kind: PeriodKind) -> Vec<(Period, Rag)> {
    assessed
        .iter()
        .filter(|a| a.period.kind == kind)
        .map(|a| (a.period, a.rag.unwrap_or(Rag::OnTrack)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::tests::{content, target};
    use crate::domain::plan::{Direction, Milestone, Version};

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

    fn milestone(date: &str, value: f64) -> Milestone {
        Milestone {
            date: date.parse().unwrap(),
            value,
        }
    }

    #[test]
    fn a_milestone_is_judged_when_a_period_reaches_its_date_by_the_version_then_in_force() {
        let mut v1 = content();
        v1.targets[0].milestones = vec![
            milestone("2026-06-15", 96.0),
            milestone("2026-11-30", 98.0),
            milestone("2027-06-30", 97.5),
        ];
        // From October the parties agreed November's milestone at 95 instead of 98.
        let mut v2 = v1.clone();
        v2.targets[0].milestones[1].value = 95.0;
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
            fig("BV66a", 2, 99.0),
            fig("BV66a", 3, 94.0),
            fig("BV66a", 8, 95.5),
        ];
        let m = assess_milestones(&h, "BV66a", &figures);
        let got: Vec<_> = m
            .iter()
            .map(|a| (a.target, a.period.map(|p| p.number), a.judged, a.rag))
            .collect();
        assert_eq!(
            got,
            vec![
                // June's figure (94) reaches 15 June: 2 short of 96, past amber (1), within red (3).
                (96.0, Some(3), Some(94.0), Some(Rag::AtRisk)),
                // November's milestone as amended (95), judged by November's figure.
                (95.0, Some(8), Some(95.5), Some(Rag::OnTrack)),
                // No figure yet for June 2027.
                (97.5, None, None, None),
            ]
        );
        // Before the amendment the same figure missed the 98 first agreed.
        let first_only = History {
            versions: vec![h.versions[0].clone()],
        };
        assert_eq!(
            assess_milestones(&first_only, "BV66a", &figures)[1].rag,
            Some(Rag::AtRisk)
        );
    }

    #[test]
    fn a_count_milestone_is_judged_on_the_total_since_the_plan_began() {
        let mut c = content();
        // LOCAL-DECENT: amber 1, red 3 (absolute).
        c.targets[1].milestones = vec![milestone("2027-04-30", 340.0)];
        let h = History {
            versions: vec![Version {
                number: 1,
                effective: "2026-04-01".parse().unwrap(),
                content: c,
            }],
        };
        let mut figures: Vec<Figure> = (1..=12).map(|m| fig("LOCAL-DECENT", m, 25.0)).collect();
        figures.push(Figure {
            period: Period::new(2027, PeriodKind::Month, 1).unwrap(),
            ..fig("LOCAL-DECENT", 1, 38.0)
        });
        let m = assess_milestones(&h, "LOCAL-DECENT", &figures);
        assert_eq!(m[0].judged, Some(338.0));
        assert_eq!(m[0].rag, Some(Rag::AtRisk));
    }
}
