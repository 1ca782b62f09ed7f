//! Today's date as a council in England reads it: the calendar date in Europe/London (GMT in
//! winter, BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
//! October, the UK rule since 1981). A period has ended when this date is past its last day, so
//! April's figure may be sent from the first minute of 1 May in London, not an hour later.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid date");
    let last = first_of_next.pred_opt().expect("valid date");
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// Whether British Summer Time is in force at `now`.
pub fn is_bst(now: DateTime<Utc>) -> bool {
    let year = now.year();
    let at_one = |d: NaiveDate| d.and_hms_opt(1, 0, 0).expect("valid time").and_utc();
    let starts = at_one(last_sunday(year, 3));
    let ends = at_one(last_sunday(year, 10));
    (starts..ends).contains(&now)
}

/// The date in London at `now`.
pub fn london_date(now: DateTime<Utc>) -> NaiveDate {
    if is_bst(now) {
        (now + Duration::hours(1)).date_naive()
    } else {
        now.date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn summer_time_runs_from_the_last_sunday_of_march_to_the_last_sunday_of_october() {
        // 2026: BST from 29 March to 25 October, each at 01:00 UTC.
        assert!(!is_bst(at("2026-03-29T00:59:59Z")));
        assert!(is_bst(at("2026-03-29T01:00:00Z")));
        assert!(is_bst(at("2026-10-25T00:59:59Z")));
        assert!(!is_bst(at("2026-10-25T01:00:00Z")));
    }

    #[test]
    fn in_summer_london_turns_the_date_an_hour_before_utc() {
        // 23:30 UTC on 30 April is 00:30 on 1 May in London: April has ended there.
        assert_eq!(london_date(at("2026-04-30T23:30:00Z")), d("2026-05-01"));
        assert_eq!(london_date(at("2026-04-30T22:59:00Z")), d("2026-04-30"));
        // In winter London is on UTC.
        assert_eq!(london_date(at("2026-11-30T23:30:00Z")), d("2026-11-30"));
        assert_eq!(london_date(at("2027-01-31T23:59:59Z")), d("2027-01-31"));
        // Summer time has begun by the year's end: 2026/27 is over in London at 23:00 UTC.
        assert_eq!(london_date(at("2027-03-31T23:00:00Z")), d("2027-04-01"));
    }
}
