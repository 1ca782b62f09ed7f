//! An inspection from booking to published report, laid out inside 10 to 16 weeks from the team's
//! arrival on site (003 §113–117), with actual dates recorded in order, overdue stages flagged,
//! and a stage recorded after its window (or still unrecorded once it closed) late by so many days.

use chrono::NaiveDate;

use super::{add_weeks, on_site_week};

pub const MIN_SPAN_WEEKS: u32 = 10;
pub const MAX_SPAN_WEEKS: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Booked,
    OnSite,
    DraftReport,
    CommentsAndRoundTable,
    ScoreLetter,
    Published,
}

impl Stage {
    /// The stages that carry a date, in order.
    pub const DATED: [Stage; 5] = [
        Stage::OnSite,
        Stage::DraftReport,
        Stage::CommentsAndRoundTable,
        Stage::ScoreLetter,
        Stage::Published,
    ];

    /// Position among [`Stage::DATED`]; `None` for `Booked`.
    pub fn dated_index(self) -> Option<usize> {
        Stage::DATED.iter().position(|s| *s == self)
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Booked => "booked",
            Stage::OnSite => "on site",
            Stage::DraftReport => "draft report",
            Stage::CommentsAndRoundTable => "comments and round table",
            Stage::ScoreLetter => "score letter",
            Stage::Published => "published",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("an inspection takes 10 to 16 weeks from arrival on site (003 §113), not {0}")]
    SpanOutOfRange(u32),
    #[error("{stage} cannot be recorded before {earlier} is")]
    EarlierStageMissing {
        stage: &'static str,
        earlier: &'static str,
    },
    #[error("{stage} on {date} is before {earlier} on {earlier_date}")]
    OutOfOrder {
        stage: &'static str,
        date: NaiveDate,
        earlier: &'static str,
        earlier_date: NaiveDate,
    },
    #[error("{stage} was already recorded on {recorded}")]
    AlreadyRecorded {
        stage: &'static str,
        recorded: NaiveDate,
    },
    #[error("{stage} on {date} is in the future: record a stage when it has happened")]
    InFuture {
        stage: &'static str,
        date: NaiveDate,
    },
}

/// How long from arrival on site to publication: shorter when the previous score was good or
/// excellent with at least promising prospects (003 §102), longest for the largest stock.
pub fn default_span_weeks(stock_size: u32, previous_good_and_promising: bool) -> u32 {
    if previous_good_and_promising {
        MIN_SPAN_WEEKS
    } else if stock_size >= 40_000 {
        MAX_SPAN_WEEKS
    } else {
        12
    }
}

/// Planned dates of the five dated stages for an on-site start and a span of weeks. The score
/// letter comes several weeks before publication (003 §117); the draft and the round table fall
/// between, in proportion.
pub fn planned_dates(
    on_site: NaiveDate,
    span_weeks: u32,
) -> Result<[NaiveDate; 5], LifecycleError> {
    if !(MIN_SPAN_WEEKS..=MAX_SPAN_WEEKS).contains(&span_weeks) {
        return Err(LifecycleError::SpanOutOfRange(span_weeks));
    }
    let at = |tenths: u32| add_weeks(on_site, (span_weeks * tenths + 5) / 10);
    Ok([
        on_site,
        at(4),
        at(6),
        add_weeks(on_site, span_weeks - 3),
        add_weeks(on_site, span_weeks),
    ])
}

/// The latest stage with an actual date.
pub fn current_stage(actual: &[Option<NaiveDate>; 5]) -> Stage {
    Stage::DATED
        .iter()
        .zip(actual)
        .rev()
        .find(|(_, d)| d.is_some())
        .map(|(s, _)| *s)
        .unwrap_or(Stage::Booked)
}

/// Stages whose planned date has passed without an actual date.
pub fn overdue(
    planned: &[NaiveDate; 5],
    actual: &[Option<NaiveDate>; 5],
    today: NaiveDate,
) -> Vec<Stage> {
    Stage::DATED
        .iter()
        .zip(planned.iter().zip(actual))
        .filter(|(_, (p, a))| a.is_none() && **p < today)
        .map(|(s, _)| *s)
        .collect()
}

/// The last day of each dated stage's window inside the 10 to 16 weeks (003 §113–117, Table 7):
/// the on-site week's Friday for arrival on site; for the others the stage's planned date were the
/// inspection to take the longest span, 16 weeks (draft 6 weeks, round table 10, score letter 13,
/// publication 16). The booking's own planned dates may be earlier: missing them is overdue, not
/// late.
pub fn window_ends(on_site: NaiveDate) -> [NaiveDate; 5] {
    let longest = planned_dates(on_site, MAX_SPAN_WEEKS).expect("16 weeks is inside the span");
    [
        on_site_week(on_site).end,
        longest[1],
        longest[2],
        longest[3],
        longest[4],
    ]
}

/// A stage past its window: recorded after it, or not recorded and the window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Late {
    pub stage: Stage,
    pub window_end: NaiveDate,
    /// Days from the window's end to the actual date, or to today while not recorded.
    pub days: i64,
}

/// The stages of an inspection on site from `on_site` that are late on `today`, in order.
pub fn late_stages(
    on_site: NaiveDate,
    actual: &[Option<NaiveDate>; 5],
    today: NaiveDate,
) -> Vec<Late> {
    Stage::DATED
        .iter()
        .zip(window_ends(on_site).iter().zip(actual))
        .filter_map(|(stage, (end, a))| {
            let days = (a.unwrap_or(today) - *end).num_days();
            (days > 0).then_some(Late {
                stage: *stage,
                window_end: *end,
                days,
            })
        })
        .collect()
}

/// Checks that `stage` may be recorded as having happened on `date`: the earlier stages first,
/// in date order, once, and not in the future.
pub fn check_record(
    actual: &[Option<NaiveDate>; 5],
    stage: Stage,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), LifecycleError> {
    let i = stage.dated_index().expect("only dated stages are recorded");
    if let Some(recorded) = actual[i] {
        return Err(LifecycleError::AlreadyRecorded {
            stage: stage.label(),
            recorded,
        });
    }
    if date > today {
        return Err(LifecycleError::InFuture {
            stage: stage.label(),
            date,
        });
    }
    if i > 0 {
        let earlier = Stage::DATED[i - 1];
        match actual[i - 1] {
            None => {
                return Err(LifecycleError::EarlierStageMissing {
                    stage: stage.label(),
                    earlier: earlier.label(),
                });
            }
            Some(earlier_date) if date < earlier_date => {
                return Err(LifecycleError::OutOfOrder {
                    stage: stage.label(),
                    date,
                    earlier: earlier.label(),
                    earlier_date,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::tests::d;
    use proptest::prelude::*;

    #[test]
    fn lifecycle_planned_inside_ten_to_sixteen_weeks() {
        // Table 7: on site May 2004, result June, report July/August.
        let p = planned_dates(d("2004-05-03"), 12).unwrap();
        assert_eq!(
            p,
            [
                d("2004-05-03"),
                d("2004-06-07"),
                d("2004-06-21"),
                d("2004-07-05"),
                d("2004-07-26"),
            ]
        );
        assert_eq!(
            planned_dates(d("2004-05-03"), 9),
            Err(LifecycleError::SpanOutOfRange(9))
        );
        assert_eq!(
            planned_dates(d("2004-05-03"), 17),
            Err(LifecycleError::SpanOutOfRange(17))
        );
        assert_eq!(default_span_weeks(33_000, false), 12);
        assert_eq!(default_span_weeks(42_000, false), 16);
        assert_eq!(default_span_weeks(42_000, true), 10);
    }

    proptest! {
        #[test]
        fn planned_stages_are_in_order_and_end_inside_the_span(
            span in MIN_SPAN_WEEKS..=MAX_SPAN_WEEKS,
            offset in 0u32..5000,
        ) {
            let start = add_weeks(d("2003-01-06"), offset);
            let p = planned_dates(start, span).unwrap();
            for w in p.windows(2) {
                prop_assert!(w[0] < w[1]);
            }
            let weeks = (p[4] - p[0]).num_days() / 7;
            prop_assert!((10..=16).contains(&weeks));
        }
    }

    #[test]
    fn a_stage_recorded_after_its_window_is_late_by_how_much() {
        let on_site = d("2004-05-03");
        assert_eq!(
            window_ends(on_site),
            [
                d("2004-05-07"),
                d("2004-06-14"),
                d("2004-07-12"),
                d("2004-08-02"),
                d("2004-08-23"),
            ]
        );
        // Table 7's example, every stage on time, publication 16 weeks on: nothing late.
        let mut actual = [
            Some(d("2004-05-03")),
            Some(d("2004-06-07")),
            Some(d("2004-06-21")),
            Some(d("2004-07-05")),
            Some(d("2004-08-23")),
        ];
        assert_eq!(late_stages(on_site, &actual, d("2005-01-01")), vec![]);
        // Published 17 weeks after arrival: a week past the 16-week end.
        actual[4] = Some(add_weeks(on_site, 17));
        assert_eq!(
            late_stages(on_site, &actual, d("2005-01-01")),
            vec![Late {
                stage: Stage::Published,
                window_end: d("2004-08-23"),
                days: 7,
            }]
        );
        // Arrival recorded the Monday after the booked week; the draft not yet recorded on
        // 20 June, six days after its window closed.
        let actual = [Some(d("2004-05-10")), None, None, None, None];
        assert_eq!(
            late_stages(on_site, &actual, d("2004-06-20")),
            vec![
                Late {
                    stage: Stage::OnSite,
                    window_end: d("2004-05-07"),
                    days: 3,
                },
                Late {
                    stage: Stage::DraftReport,
                    window_end: d("2004-06-14"),
                    days: 6,
                },
            ]
        );
    }

    #[test]
    fn stages_recorded_in_order_and_overdue_flagged() {
        let planned = planned_dates(d("2004-05-03"), 12).unwrap();
        let mut actual = [None; 5];
        let today = d("2004-06-25");
        // The draft cannot come before arrival on site is recorded.
        assert!(matches!(
            check_record(&actual, Stage::DraftReport, d("2004-06-01"), today),
            Err(LifecycleError::EarlierStageMissing { .. })
        ));
        check_record(&actual, Stage::OnSite, d("2004-05-03"), today).unwrap();
        actual[0] = Some(d("2004-05-03"));
        assert!(matches!(
            check_record(&actual, Stage::DraftReport, d("2004-05-01"), today),
            Err(LifecycleError::OutOfOrder { .. })
        ));
        assert!(matches!(
            check_record(&actual, Stage::DraftReport, d("2004-07-01"), today),
            Err(LifecycleError::InFuture { .. })
        ));
        assert!(matches!(
            check_record(&actual, Stage::OnSite, d("2004-05-04"), today),
            Err(LifecycleError::AlreadyRecorded { .. })
        ));
        assert_eq!(current_stage(&actual), Stage::OnSite);
        // On 25 June the draft (planned 7 June) and the round table (21 June) are overdue.
        assert_eq!(
            overdue(&planned, &actual, today),
            vec![Stage::DraftReport, Stage::CommentsAndRoundTable]
        );
    }
}
