//! The Decent Homes countdown ("how to really 'countdown' the decency programme", 000 §7.3):
//! homes still non-decent, the rate needed to finish by the target date against the rate
//! achieved so far, and when the programme will finish at that rate.

use chrono::{Duration, NaiveDate};

const DAYS_PER_YEAR: f64 = 365.25;

#[derive(Debug, Clone, PartialEq)]
pub struct Countdown {
    pub non_decent_at_baseline: i32,
    pub made_decent: i64,
    pub still_non_decent: i64,
    pub target_date: NaiveDate,
    pub as_of: NaiveDate,
    /// Homes a year from `as_of` to finish by the target date (all that remain, when the target
    /// date has passed).
    pub rate_needed_per_year: f64,
    /// Homes a year since the programme started.
    pub rate_achieved_per_year: f64,
    /// `None` when nothing has been achieved, so no date can be forecast.
    pub forecast_completion: Option<NaiveDate>,
    pub behind_schedule: bool,
}

/// The countdown of a programme that started on `start` with `baseline` non-decent homes, when
/// `made_decent` homes have been made decent by `as_of`.
pub fn countdown(
    baseline: i32,
    start: NaiveDate,
    target_date: NaiveDate,
    made_decent: i64,
    as_of: NaiveDate,
) -> Countdown {
    let remaining = (i64::from(baseline) - made_decent).max(0);
    let elapsed_days = (as_of - start).num_days();
    let elapsed_years = elapsed_days as f64 / DAYS_PER_YEAR;
    let rate_achieved = if elapsed_years > 0.0 {
        made_decent as f64 / elapsed_years
    } else {
        0.0
    };
    let years_left = (target_date - as_of).num_days() as f64 / DAYS_PER_YEAR;
    let rate_needed = if remaining == 0 {
        0.0
    } else if years_left > 0.0 {
        remaining as f64 / years_left
    } else {
        remaining as f64
    };
    let forecast = if remaining == 0 {
        Some(as_of)
    } else if made_decent > 0 && elapsed_days > 0 {
        // At the pace so far, in whole days (integer arithmetic: no rounding drift).
        let days = (remaining * elapsed_days + made_decent - 1) / made_decent;
        as_of.checked_add_signed(Duration::days(days))
    } else {
        None
    };
    let behind = remaining > 0 && forecast.is_none_or(|f| f > target_date);
    Countdown {
        non_decent_at_baseline: baseline,
        made_decent,
        still_non_decent: remaining,
        target_date,
        as_of,
        rate_needed_per_year: rate_needed,
        rate_achieved_per_year: rate_achieved,
        forecast_completion: forecast,
        behind_schedule: behind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn countdown_forecast_date() {
        // 4,000 non-decent homes from 1 April 2026, all to be decent by 31 March 2030. Two years
        // in (731 days), 1,000 done: 500 a year achieved; 3,000 left need 1,500 a year over
        // the 729 days remaining; at 500 a year they take six more years.
        let c = countdown(
            4000,
            d("2026-04-01"),
            d("2030-03-31"),
            1000,
            d("2028-04-01"),
        );
        assert_eq!(c.still_non_decent, 3000);
        assert!((c.rate_achieved_per_year - 1000.0 / (731.0 / 365.25)).abs() < 1e-9);
        assert!((c.rate_needed_per_year - 3000.0 / (729.0 / 365.25)).abs() < 1e-9);
        // 3,000 homes at 1,000 per 731 days: 2,193 days after 1 April 2028.
        assert_eq!(c.forecast_completion, Some(d("2034-04-03")));
        assert!(c.behind_schedule);
    }

    #[test]
    fn a_programme_on_pace_is_not_behind() {
        let c = countdown(1000, d("2026-04-01"), d("2030-03-31"), 600, d("2028-04-01"));
        assert!(c.forecast_completion.unwrap() <= d("2030-03-31"));
        assert!(!c.behind_schedule);
    }

    #[test]
    fn nothing_achieved_means_no_forecast_and_behind() {
        let c = countdown(1000, d("2026-04-01"), d("2030-03-31"), 0, d("2026-04-01"));
        assert_eq!(c.forecast_completion, None);
        assert!(c.behind_schedule);
        assert_eq!(c.rate_achieved_per_year, 0.0);
    }

    #[test]
    fn a_finished_programme_is_done_on_the_day() {
        let c = countdown(
            1000,
            d("2026-04-01"),
            d("2030-03-31"),
            1200,
            d("2029-04-01"),
        );
        assert_eq!(c.still_non_decent, 0);
        assert_eq!(c.forecast_completion, Some(d("2029-04-01")));
        assert!(!c.behind_schedule);
    }
}
