//! Taking in variance records: each one is accepted, recognised as a correction, recognised as
//! a figure already held, or refused with its reason. A sender's record id names one figure (a
//! target in a period): sending it again unchanged changes nothing; sending it with another
//! figure corrects it, and the earlier figure stays in history. An actual is reported for a
//! period that has ended (DOMAIN.md §1): a record for a period not yet over is refused, naming
//! the period and the day it ends; the year's forecast it carries may look ahead, but only
//! beside an actual.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::period::Period;
use super::plan::{History, Span};

pub const MAX_SENDER_RECORD_ID_CHARS: usize = 100;
pub const MAX_COMMENTARY_CHARS: usize = 2000;

/// A record as received. The period was decoded by the caller; a bad one is refused here with
/// the rest of the record's faults.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub sender_record_id: String,
    pub target_code: String,
    pub period: Result<Period, String>,
    pub actual: f64,
    pub forecast: Option<f64>,
    pub commentary: String,
}

/// The current figure held under a sender record id.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub id: i64,
    pub revision: i32,
    pub target_code: String,
    pub period: Period,
    pub actual: f64,
    pub forecast: Option<f64>,
    pub commentary: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A new figure: revision 1.
    New,
    /// Replaces the held figure `supersedes`; this is `revision`.
    Correct {
        supersedes: i64,
        revision: i32,
    },
    /// Identical to the figure held: nothing to write.
    Unchanged,
    Refuse {
        field: &'static str,
        reason: String,
    },
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Decision {
    Decision::Refuse {
        field,
        reason: reason.into(),
    }
}

/// Decides every record of a push, in order. `held` maps sender record ids to the current
/// figures of the plan; `today` is the date the push is decided on, in England.
pub fn classify(
    history: &History,
    span: Span,
    today: NaiveDate,
    held: &HashMap<String, Held>,
    records: &[Incoming],
) -> Vec<Decision> {
    // Which record id holds each (target, period): one figure per target and period.
    let mut slots: HashMap<(&str, Period), &str> = held
        .iter()
        .map(|(id, h)| ((h.target_code.as_str(), h.period), id.as_str()))
        .collect();
    let mut in_push: HashMap<&str, usize> = HashMap::new();
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r.sender_record_id.trim();
            if id.is_empty()
                || id.chars().count() > MAX_SENDER_RECORD_ID_CHARS
                || id.chars().any(char::is_control)
            {
                return refuse(
                    "sender_record_id",
                    format!("required, at most {MAX_SENDER_RECORD_ID_CHARS} printable characters"),
                );
            }
            if let Some(first) = in_push.get(id) {
                return refuse(
                    "sender_record_id",
                    format!("{id:?} already appears at index {first} of this push"),
                );
            }
            let period = match &r.period {
                Ok(p) => *p,
                Err(e) => return refuse("period", e.clone()),
            };
            if !span.contains_year(period.year) {
                return refuse(
                    "period",
                    format!(
                        "{} is outside the plan ({}/{:02} to {}/{:02})",
                        period.label(),
                        span.first,
                        (span.first + 1) % 100,
                        span.last,
                        (span.last + 1) % 100
                    ),
                );
            }
            if !period.has_ended(today) {
                return refuse(
                    "period",
                    format!(
                        "{} has not ended: it runs to {}, and an actual is reported once its period is over (today is {today})",
                        period.label(),
                        period.end_date()
                    ),
                );
            }
            let version = history.governing(period.end_date());
            let Some(target) = version.content.target(r.target_code.trim()) else {
                return refuse(
                    "target_code",
                    format!(
                        "{:?} is not a target of version {} of the plan, in force at the end of {}",
                        r.target_code,
                        version.number,
                        period.label()
                    ),
                );
            };
            if let Err(e) = target.unit.check(r.actual) {
                return refuse("actual", e);
            }
            if let Some(f) = r.forecast
                && let Err(e) = target.unit.check(f)
            {
                return refuse("forecast", e);
            }
            let commentary = r.commentary.trim();
            if commentary.chars().count() > MAX_COMMENTARY_CHARS {
                return refuse(
                    "commentary",
                    format!("at most {MAX_COMMENTARY_CHARS} characters"),
                );
            }
            let code = target.code.as_str();
            let decision = match held.get(id) {
                Some(h) if h.target_code != code || h.period != period => refuse(
                    "sender_record_id",
                    format!(
                        "{id:?} holds {} for {}: a correction keeps its target and period",
                        h.target_code,
                        h.period.label()
                    ),
                ),
                Some(h)
                    if h.actual == r.actual
                        && h.forecast == r.forecast
                        && h.commentary == commentary =>
                {
                    Decision::Unchanged
                }
                Some(h) => Decision::Correct {
                    supersedes: h.id,
                    revision: h.revision + 1,
                },
                None => match slots.get(&(code, period)) {
                    Some(other) => refuse(
                        "period",
                        format!(
                            "{code} for {} is already reported as record {other:?}; correct that record instead",
                            period.label()
                        ),
                    ),
                    None => Decision::New,
                },
            };
            if !matches!(decision, Decision::Refuse { .. }) {
                in_push.insert(id, i);
                slots.insert((code, period), id);
            }
            decision
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::PeriodKind;
    use crate::domain::plan::Version;
    use crate::domain::plan::tests::{SPAN, content};

    fn history() -> History {
        History {
            versions: vec![Version {
                number: 1,
                effective: "2026-04-01".parse().unwrap(),
                content: content(),
            }],
        }
    }

    /// A day after every period of the plan has ended.
    fn after_the_plan() -> NaiveDate {
        "2029-04-01".parse().unwrap()
    }

    fn rec(id: &str, code: &str, month: i32, actual: f64) -> Incoming {
        Incoming {
            sender_record_id: id.into(),
            target_code: code.into(),
            period: Period::new(2026, PeriodKind::Month, month),
            actual,
            forecast: None,
            commentary: String::new(),
        }
    }

    fn held_from(r: &Incoming, id: i64, revision: i32) -> Held {
        Held {
            id,
            revision,
            target_code: r.target_code.clone(),
            period: r.period.clone().unwrap(),
            actual: r.actual,
            forecast: r.forecast,
            commentary: r.commentary.clone(),
        }
    }

    #[test]
    fn repeated_push_changes_nothing() {
        let push = vec![rec("a", "BV66a", 1, 97.0), rec("b", "BV66a", 2, 96.0)];
        let first = classify(&history(), SPAN, after_the_plan(), &HashMap::new(), &push);
        assert_eq!(first, vec![Decision::New, Decision::New]);
        let held: HashMap<String, Held> = push
            .iter()
            .enumerate()
            .map(|(i, r)| (r.sender_record_id.clone(), held_from(r, i as i64 + 1, 1)))
            .collect();
        let again = classify(&history(), SPAN, after_the_plan(), &held, &push);
        assert_eq!(again, vec![Decision::Unchanged, Decision::Unchanged]);
    }

    #[test]
    fn corrected_figure_supersedes_and_keeps_history() {
        let first = rec("a", "BV66a", 1, 97.0);
        let held: HashMap<String, Held> = [("a".to_string(), held_from(&first, 7, 1))].into();
        let corrected = rec("a", "BV66a", 1, 95.5);
        assert_eq!(
            classify(&history(), SPAN, after_the_plan(), &held, &[corrected]),
            vec![Decision::Correct {
                supersedes: 7,
                revision: 2
            }]
        );
        // The same record id cannot move to another period.
        let moved = rec("a", "BV66a", 2, 95.5);
        assert!(matches!(
            &classify(&history(), SPAN, after_the_plan(), &held, &[moved])[0],
            Decision::Refuse {
                field: "sender_record_id",
                ..
            }
        ));
    }

    #[test]
    fn malformed_records_are_refused_with_the_field_at_fault() {
        let mut no_id = rec(" ", "BV66a", 1, 97.0);
        no_id.sender_record_id = " ".into();
        let unknown = rec("b", "BV999", 1, 97.0);
        let mut bad_period = rec("c", "BV66a", 1, 97.0);
        bad_period.period = Period::new(2026, PeriodKind::Month, 13);
        let mut outside = rec("d", "BV66a", 1, 97.0);
        outside.period = Period::new(2030, PeriodKind::Quarter, 1);
        let too_high = rec("e", "BV66a", 1, 101.0);
        let fractional_count = rec("f", "LOCAL-DECENT", 1, 2.5);
        let mut bad_forecast = rec("g", "BV66a", 3, 97.0);
        bad_forecast.forecast = Some(-1.0);
        let mut long = rec("h", "BV66a", 4, 97.0);
        long.commentary = "x".repeat(MAX_COMMENTARY_CHARS + 1);
        let fields: Vec<&str> = classify(
            &history(),
            SPAN,
            after_the_plan(),
            &HashMap::new(),
            &[
                no_id,
                unknown,
                bad_period,
                outside,
                too_high,
                fractional_count,
                bad_forecast,
                long,
            ],
        )
        .into_iter()
        .map(|d| match d {
            Decision::Refuse { field, .. } => field,
            other => panic!("expected a refusal, got {other:?}"),
        })
        .collect();
        assert_eq!(
            fields,
            vec![
                "sender_record_id",
                "target_code",
                "period",
                "period",
                "actual",
                "actual",
                "forecast",
                "commentary"
            ]
        );
    }

    #[test]
    fn one_figure_per_target_and_period() {
        let push = vec![
            rec("a", "BV66a", 1, 97.0),
            rec("b", "BV66a", 1, 96.0),
            rec("a", "BV66a", 1, 96.0),
        ];
        let d = classify(&history(), SPAN, after_the_plan(), &HashMap::new(), &push);
        assert_eq!(d[0], Decision::New);
        assert!(matches!(
            d[1],
            Decision::Refuse {
                field: "period",
                ..
            }
        ));
        assert!(matches!(
            d[2],
            Decision::Refuse {
                field: "sender_record_id",
                ..
            }
        ));
    }

    #[test]
    fn an_actual_for_a_period_not_yet_ended_is_refused_naming_the_period() {
        let push = vec![
            rec("oct", "BV66a", 7, 97.0),
            rec("nov", "BV66a", 8, 97.0),
            rec("dec", "BV66a", 9, 97.0),
        ];
        let on = |today: &str| {
            classify(
                &history(),
                SPAN,
                today.parse().unwrap(),
                &HashMap::new(),
                &push,
            )
        };
        // On the last day of November, October is over and November is not.
        let d = on("2026-11-30");
        assert_eq!(d[0], Decision::New);
        for (refused, label, end) in [
            (&d[1], "2026/27 M8", "2026-11-30"),
            (&d[2], "2026/27 M9", "2026-12-31"),
        ] {
            let Decision::Refuse { field, reason } = refused else {
                panic!("expected a refusal, got {refused:?}");
            };
            assert_eq!(*field, "period");
            assert!(
                reason.starts_with(&format!("{label} has not ended: it runs to {end}")),
                "{reason}"
            );
        }
        // The next day November's figure is due; a quarter waits for its third month to end.
        assert_eq!(on("2026-12-01")[..2], [Decision::New, Decision::New]);
        let mut q3 = rec("q3", "BV66a", 1, 97.0);
        q3.period = Period::new(2026, PeriodKind::Quarter, 3);
        q3.forecast = Some(98.0);
        let q3_on = |today: &str| {
            classify(
                &history(),
                SPAN,
                today.parse().unwrap(),
                &HashMap::new(),
                std::slice::from_ref(&q3),
            )
        };
        assert!(matches!(
            q3_on("2026-12-31")[0],
            Decision::Refuse {
                field: "period",
                ..
            }
        ));
        assert_eq!(q3_on("2027-01-01")[0], Decision::New);
    }
}
