//! An ALMO's life (DOMAIN.md "An ALMO's life"): section 27 consent, go-live, a management
//! agreement with a term that may be extended, and perhaps an end when management is taken back.

use chrono::NaiveDate;

/// Where an ALMO is in its life on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlmoStage {
    /// Consent given, not yet managing homes.
    Shadow,
    Live,
    /// Wound up: its records stay readable, the council reports for the homes.
    Ended,
}

/// The dates the directory keeps for an ALMO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlmoDates {
    pub section27_consent: Option<NaiveDate>,
    pub go_live: Option<NaiveDate>,
    pub agreement_end: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl AlmoDates {
    /// The stage on `today`.
    pub fn stage_on(&self, today: NaiveDate) -> AlmoStage {
        match (self.go_live, self.end) {
            (_, Some(end)) if end <= today => AlmoStage::Ended,
            (Some(live), _) if live <= today => AlmoStage::Live,
            _ => AlmoStage::Shadow,
        }
    }

    /// Every ordering rule the dates must keep, as (field, reason) pairs.
    pub fn violations(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let (Some(consent), Some(live)) = (self.section27_consent, self.go_live)
            && live < consent
        {
            v.push((
                "go_live_date",
                format!("{live} is before the section 27 consent of {consent}"),
            ));
        }
        if let (Some(live), Some(agreement_end)) = (self.go_live, self.agreement_end)
            && agreement_end <= live
        {
            v.push((
                "agreement_end_date",
                format!("{agreement_end} is not after go-live on {live}"),
            ));
        }
        if let Some(end) = self.end {
            match self.go_live {
                None => v.push((
                    "end_date",
                    "an ALMO that never went live cannot be wound up; record go_live_date first"
                        .to_string(),
                )),
                Some(live) if end <= live => {
                    v.push(("end_date", format!("{end} is not after go-live on {live}")))
                }
                Some(_) => {}
            }
        }
        v
    }

    /// Checks a change from `self` to `next`: besides the ordering rules, a recorded go-live or
    /// end is history and is not moved once it has passed, and an agreement is extended, not cut
    /// short (an early end is a winding-up, recorded as `end_date`).
    pub fn change_violations(
        &self,
        next: &AlmoDates,
        today: NaiveDate,
    ) -> Vec<(&'static str, String)> {
        let mut v = next.violations();
        if let Some(live) = self.go_live
            && live <= today
            && next.go_live != self.go_live
        {
            v.push((
                "go_live_date",
                format!("the ALMO went live on {live}; a past go-live date is not changed"),
            ));
        }
        if let Some(end) = self.end
            && end <= today
            && next.end != self.end
        {
            v.push((
                "end_date",
                format!("the ALMO ended on {end}; a past end is not changed"),
            ));
        }
        if let (Some(old), Some(new)) = (self.agreement_end, next.agreement_end)
            && new < old
        {
            v.push((
                "agreement_end_date",
                format!(
                    "{new} would shorten the agreement ending {old}; an agreement is extended, \
                     and ended early by recording end_date"
                ),
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dates() -> AlmoDates {
        AlmoDates {
            section27_consent: Some(d("2003-06-01")),
            go_live: Some(d("2003-11-01")),
            agreement_end: Some(d("2013-10-31")),
            end: None,
        }
    }

    #[test]
    fn stage_follows_go_live_and_end() {
        let mut a = dates();
        assert_eq!(a.stage_on(d("2003-10-31")), AlmoStage::Shadow);
        assert_eq!(a.stage_on(d("2003-11-01")), AlmoStage::Live);
        a.end = Some(d("2012-03-31"));
        assert_eq!(a.stage_on(d("2012-03-30")), AlmoStage::Live);
        assert_eq!(a.stage_on(d("2012-03-31")), AlmoStage::Ended);
    }

    #[test]
    fn go_live_not_before_section27_consent() {
        let mut a = dates();
        a.go_live = Some(d("2003-05-01"));
        assert_eq!(a.violations()[0].0, "go_live_date");
    }

    #[test]
    fn an_almo_that_never_went_live_cannot_end() {
        let a = AlmoDates {
            section27_consent: Some(d("2003-06-01")),
            end: Some(d("2004-01-01")),
            ..Default::default()
        };
        assert_eq!(a.violations()[0].0, "end_date");
    }

    #[test]
    fn agreement_is_extended_not_shortened() {
        let a = dates();
        let mut longer = a;
        longer.agreement_end = Some(d("2023-10-31"));
        assert!(a.change_violations(&longer, d("2013-01-01")).is_empty());
        let mut shorter = a;
        shorter.agreement_end = Some(d("2008-10-31"));
        assert_eq!(
            a.change_violations(&shorter, d("2005-01-01"))[0].0,
            "agreement_end_date"
        );
    }

    #[test]
    fn a_past_go_live_is_history() {
        let a = dates();
        let mut moved = a;
        moved.go_live = Some(d("2003-12-01"));
        assert_eq!(
            a.change_violations(&moved, d("2004-01-01"))[0].0,
            "go_live_date"
        );
        // Before it has happened, a planned go-live may still move.
        assert!(a.change_violations(&moved, d("2003-09-01")).is_empty());
    }
}
