//! Reporting periods, their windows and deadlines. Returns are quarterly (a selection of PIs) or
//! annual (003 §69); the local-government year runs 1 April to 31 March.
//!
//! A return's window opens when its period ends. A quarterly return is due by the end of the
//! month after the quarter; an annual return by 30 June after the year (when the statutory
//! Best Value Performance Plans had to be published).

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    Quarter,
    Year,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "quarter" => Some(PeriodKind::Quarter),
            "year" => Some(PeriodKind::Year),
            _ => None,
        }
    }
}

impl From<PeriodKind> for almo_fields::PeriodKind {
    fn from(k: PeriodKind) -> Self {
        match k {
            PeriodKind::Quarter => almo_fields::PeriodKind::Quarter,
            PeriodKind::Year => almo_fields::PeriodKind::Year,
        }
    }
}

/// The days of a period a return covers: the whole period, or in the year (or quarter) of an
/// ALMO's end the part up to its end (the ALMO's) or the part after it (its council's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Coverage {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Coverage {
    /// Whether it covers the whole of `period`.
    pub fn is_whole(&self, period: &Period) -> bool {
        *self == period.whole()
    }
}

/// A quarter or a whole financial year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// Start year of the financial year.
    pub year: i32,
    pub kind: PeriodKind,
    /// 1-4 for quarters, 1 for the year.
    pub number: i32,
}

impl Period {
    /// A period, or why it is not one.
    pub fn new(year: i32, kind: PeriodKind, number: i32) -> Result<Self, String> {
        almo_fields::start_year(year)?;
        match kind {
            PeriodKind::Quarter if !(1..=4).contains(&number) => {
                Err("a quarter is numbered 1 to 4 (Q1 is April to June)".into())
            }
            PeriodKind::Year if number != 1 => Err("the whole year is number 1".into()),
            _ => Ok(Self { year, kind, number }),
        }
    }

    /// The first day of the period.
    pub fn start(&self) -> NaiveDate {
        let first = NaiveDate::from_ymd_opt(self.year, 4, 1).expect("1 April");
        match self.kind {
            PeriodKind::Year => first,
            PeriodKind::Quarter => first
                .checked_add_months(chrono::Months::new(3 * (self.number as u32 - 1)))
                .expect("in range"),
        }
    }

    /// The last day of the period.
    pub fn end(&self) -> NaiveDate {
        let (y, m, d) = match (self.kind, self.number) {
            (PeriodKind::Year, _) | (PeriodKind::Quarter, 4) => (self.year + 1, 3, 31),
            (PeriodKind::Quarter, 1) => (self.year, 6, 30),
            (PeriodKind::Quarter, 2) => (self.year, 9, 30),
            _ => (self.year, 12, 31),
        };
        NaiveDate::from_ymd_opt(y, m, d).expect("quarter ends are real dates")
    }

    /// The last day a return may be submitted on time.
    pub fn deadline(&self) -> NaiveDate {
        match self.kind {
            PeriodKind::Year => NaiveDate::from_ymd_opt(self.year + 1, 6, 30).expect("30 June"),
            PeriodKind::Quarter => {
                let end = self.end();
                let first_of_next = end + chrono::Days::new(1);
                let after = first_of_next
                    .checked_add_months(chrono::Months::new(1))
                    .expect("in range");
                NaiveDate::from_ymd_opt(after.year(), after.month(), 1).expect("first of month")
                    - chrono::Days::new(1)
            }
        }
    }

    /// Whether the window is open on `today`: the period must be over before it is reported.
    pub fn window_open(&self, today: NaiveDate) -> bool {
        today > self.end()
    }

    /// Whether a submission on `day` is late.
    pub fn late_on(&self, day: NaiveDate) -> bool {
        day > self.deadline()
    }

    /// The whole period.
    pub fn whole(&self) -> Coverage {
        Coverage {
            from: self.start(),
            to: self.end(),
        }
    }

    /// The days an ALMO whose last day is `end` reports on: the period up to its end (the
    /// period holding the end is its part-year), or the whole period.
    pub fn almo_part(&self, end: Option<NaiveDate>) -> Coverage {
        match end {
            Some(end) if (self.start()..self.end()).contains(&end) => Coverage {
                from: self.start(),
                to: end,
            },
            _ => self.whole(),
        }
    }

    /// The days a council reports on itself when its ALMOs' last days are `ends`: from the day
    /// after the latest end within the period (it manages those homes from then), or the whole
    /// period.
    pub fn council_part(&self, ends: &[NaiveDate]) -> Coverage {
        let within = ends
            .iter()
            .filter(|e| (self.start()..self.end()).contains(*e))
            .max();
        match within {
            Some(end) => Coverage {
                from: end.succ_opt().expect("a day follows"),
                to: self.end(),
            },
            None => self.whole(),
        }
    }

    /// "2003/04 Q2" or "2003/04".
    pub fn label(&self) -> String {
        let fy = almo_fields::financial_year_label(self.year);
        match self.kind {
            PeriodKind::Year => fy,
            PeriodKind::Quarter => format!("{fy} Q{}", self.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn quarters_end_with_the_local_government_year() {
        let q = |n| Period::new(2003, PeriodKind::Quarter, n).unwrap().end();
        assert_eq!(q(1), d("2003-06-30"));
        assert_eq!(q(2), d("2003-09-30"));
        assert_eq!(q(3), d("2003-12-31"));
        assert_eq!(q(4), d("2004-03-31"));
        assert_eq!(
            Period::new(2003, PeriodKind::Quarter, 4).unwrap().start(),
            d("2004-01-01")
        );
        assert_eq!(
            Period::new(2003, PeriodKind::Year, 1).unwrap().start(),
            d("2003-04-01")
        );
        assert!(Period::new(2003, PeriodKind::Quarter, 5).is_err());
        assert!(Period::new(2003, PeriodKind::Year, 2).is_err());
    }

    #[test]
    fn quarterly_return_due_a_month_after_the_quarter_annual_by_30_june() {
        let q3 = Period::new(2003, PeriodKind::Quarter, 3).unwrap();
        assert_eq!(q3.deadline(), d("2004-01-31"));
        let q4 = Period::new(2003, PeriodKind::Quarter, 4).unwrap();
        assert_eq!(q4.deadline(), d("2004-04-30"));
        let y = Period::new(2003, PeriodKind::Year, 1).unwrap();
        assert_eq!(y.deadline(), d("2004-06-30"));
        assert!(!y.late_on(d("2004-06-30")));
        assert!(y.late_on(d("2004-07-01")));
    }

    #[test]
    fn transition_year_almo_part_ends_on_its_last_day_and_the_council_takes_the_rest() {
        let y = Period::new(2016, PeriodKind::Year, 1).unwrap();
        let end = d("2016-10-16");
        let almo = y.almo_part(Some(end));
        assert_eq!((almo.from, almo.to), (d("2016-04-01"), end));
        let council = y.council_part(&[end]);
        assert_eq!(
            (council.from, council.to),
            (d("2016-10-17"), d("2017-03-31"))
        );
        assert!(!almo.is_whole(&y) && !council.is_whole(&y));
        // The two parts meet: every day of the year is someone's, once.
        assert_eq!(almo.to.succ_opt(), Some(council.from));
        // An end on the period's last day, before it or after it leaves the period whole.
        for other in ["2017-03-31", "2016-03-31", "2017-04-01"] {
            assert!(y.almo_part(Some(d(other))).is_whole(&y), "{other}");
            assert!(y.council_part(&[d(other)]).is_whole(&y), "{other}");
        }
        assert!(y.almo_part(None).is_whole(&y));
        // An end on the first day: the ALMO's part is that one day.
        assert_eq!(y.almo_part(Some(d("2016-04-01"))).to, d("2016-04-01"));
        // Quarters too: Q3 holds the end, Q2 is the ALMO's whole.
        let q3 = Period::new(2016, PeriodKind::Quarter, 3).unwrap();
        assert_eq!(q3.council_part(&[end]).from, d("2016-10-17"));
        let q2 = Period::new(2016, PeriodKind::Quarter, 2).unwrap();
        assert!(q2.almo_part(Some(end)).is_whole(&q2));
        // Two ALMOs ending in the year: the council reports alone after the later end.
        assert_eq!(
            y.council_part(&[d("2016-06-30"), end]).from,
            d("2016-10-17")
        );
    }

    #[test]
    fn window_opens_when_the_period_is_over() {
        let y = Period::new(2003, PeriodKind::Year, 1).unwrap();
        assert!(!y.window_open(d("2004-03-31")));
        assert!(y.window_open(d("2004-04-01")));
        assert_eq!(y.label(), "2003/04");
    }
}
