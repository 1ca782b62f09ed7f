//! The two judgements of an inspection and what follows from them (003 §27–31, §117–118; 004).

use chrono::NaiveDate;

use super::add_months;
use super::readiness::earliest_reinspection;

/// Stars needed to draw down Decent Homes funding: 2, "good" (003 §22, footnote II).
pub const FUNDING_STARS: u8 = 2;

/// Prospects for improvement, the second judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Prospects {
    Poor,
    Uncertain,
    Promising,
    Excellent,
}

impl Prospects {
    pub fn as_str(self) -> &'static str {
        match self {
            Prospects::Poor => "poor",
            Prospects::Uncertain => "uncertain",
            Prospects::Promising => "promising",
            Prospects::Excellent => "excellent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "poor" => Some(Prospects::Poor),
            "uncertain" => Some(Prospects::Uncertain),
            "promising" => Some(Prospects::Promising),
            "excellent" => Some(Prospects::Excellent),
            _ => None,
        }
    }
}

/// The name of a star rating (003 §27): poor, fair, good, excellent.
pub fn star_label(stars: u8) -> Option<&'static str> {
    ["poor", "fair", "good", "excellent"]
        .get(usize::from(stars))
        .copied()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// 0 to 3.
    pub stars: u8,
    pub prospects: Prospects,
    /// The letter confirming the score (003 §117).
    pub score_letter: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eligibility {
    pub eligible: bool,
    /// The date the ALMO qualifies: the score letter's (003 §117).
    pub effective_from: Option<NaiveDate>,
    /// Below 2 stars: publication + 6 months (003 §118, 004 §4).
    pub earliest_reinspection: Option<NaiveDate>,
    /// Below 2 stars: the ALMO goes onto the support framework (004 §5–7).
    pub support_framework: bool,
}

/// Whether the outcome qualifies the ALMO for Decent Homes funding, and from when; below 2 stars,
/// when it may be re-inspected (once the report's publication date is known).
pub fn eligibility(o: &Outcome, publication: Option<NaiveDate>) -> Eligibility {
    if o.stars >= FUNDING_STARS {
        Eligibility {
            eligible: true,
            effective_from: Some(o.score_letter),
            earliest_reinspection: None,
            support_framework: false,
        }
    } else {
        Eligibility {
            eligible: false,
            effective_from: None,
            earliest_reinspection: publication.map(earliest_reinspection),
            support_framework: true,
        }
    }
}

/// 004 §6: an ALMO that had not qualified within two years of its section 27 consent used to lose
/// its place on the programme; the deadline to watch.
pub fn qualifying_deadline(section27_consent: NaiveDate) -> NaiveDate {
    add_months(section27_consent, 24)
}

/// Whether the deadline was missed: qualified after it, or not qualified and it has passed.
pub fn deadline_missed(deadline: NaiveDate, e: &Eligibility, today: NaiveDate) -> bool {
    match e.effective_from {
        Some(qualified) => qualified > deadline,
        None => today > deadline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::tests::d;

    #[test]
    fn funding_eligibility_from_two_stars_on_the_score_letter_date() {
        // Table 7: result June 2004 (the letter), report July/August.
        let good = Outcome {
            stars: 2,
            prospects: Prospects::Promising,
            score_letter: d("2004-06-21"),
        };
        let e = eligibility(&good, Some(d("2004-08-02")));
        assert!(e.eligible);
        assert_eq!(e.effective_from, Some(d("2004-06-21")));
        assert_eq!(e.earliest_reinspection, None);
        assert!(!e.support_framework);
        assert_eq!(star_label(2), Some("good"));
        assert_eq!(star_label(4), None);
    }

    #[test]
    fn two_year_limit_from_section27_consent_to_qualifying() {
        let deadline = qualifying_deadline(d("2003-10-01"));
        assert_eq!(deadline, d("2005-10-01"));
        let good = Outcome {
            stars: 2,
            prospects: Prospects::Promising,
            score_letter: d("2004-06-21"),
        };
        let in_time = eligibility(&good, None);
        assert!(!deadline_missed(deadline, &in_time, d("2026-01-01")));
        let late = eligibility(
            &Outcome {
                score_letter: d("2005-11-01"),
                ..good
            },
            None,
        );
        assert!(deadline_missed(deadline, &late, d("2026-01-01")));
        let fair = eligibility(&Outcome { stars: 1, ..good }, None);
        assert!(!deadline_missed(deadline, &fair, d("2005-09-30")));
        assert!(deadline_missed(deadline, &fair, d("2005-10-02")));
    }

    #[test]
    fn below_two_stars_reinspection_six_months_after_publication_and_support_framework() {
        let fair = Outcome {
            stars: 1,
            prospects: Prospects::Uncertain,
            score_letter: d("2004-06-21"),
        };
        let e = eligibility(&fair, Some(d("2004-08-02")));
        assert!(!e.eligible);
        assert_eq!(e.effective_from, None);
        assert_eq!(e.earliest_reinspection, Some(d("2005-02-02")));
        assert!(e.support_framework);
        // Not yet published: no date to count from yet.
        assert_eq!(eligibility(&fair, None).earliest_reinspection, None);
    }
}
