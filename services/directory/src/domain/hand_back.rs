//! The road to taking an ALMO's management back in-house (seed 002): an options review, the
//! Department told as soon as possible (§15), a test of tenants' opinion at least as rigorous as
//! the one that created the ALMO (§9, §12-14), and the council's decision. No Secretary of State
//! consent is needed to take management back (§7), so the directory asks for none; and a test of
//! opinion is "not the be all and end all" (§15), so its result informs the decision without
//! binding it.

use chrono::NaiveDate;

/// How tenants' opinion was tested (002 §10, §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpinionMethod {
    Ballot,
    FullSurvey,
    /// Another locally appropriate, comprehensive method; what it was is recorded beside it.
    Other,
}

impl OpinionMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            OpinionMethod::Ballot => "ballot",
            OpinionMethod::FullSurvey => "full_survey",
            OpinionMethod::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ballot" => Some(OpinionMethod::Ballot),
            "full_survey" => Some(OpinionMethod::FullSurvey),
            "other" => Some(OpinionMethod::Other),
            _ => None,
        }
    }
}

/// The council's decision at the end of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Management comes back in-house; the ALMO's end date may then be set.
    TakeBack,
    /// The ALMO carries on; a later review may start.
    Retain,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::TakeBack => "take_back",
            Decision::Retain => "retain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "take_back" => Some(Decision::TakeBack),
            "retain" => Some(Decision::Retain),
            _ => None,
        }
    }
}

/// A test of tenants' opinion and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opinion {
    pub method: OpinionMethod,
    /// Required for `Other`: what the method was.
    pub note: String,
    pub opened: NaiveDate,
    pub closed: NaiveDate,
    /// Tenants who could take part.
    pub eligible: i32,
    /// Tenants who did.
    pub responses: i32,
    /// Of those, in favour of taking management back.
    pub in_favour: i32,
}

impl Opinion {
    /// Responses as a share of those eligible, in tenths of a per cent (rounded half up).
    pub fn turnout_permille(&self) -> i64 {
        if self.eligible <= 0 {
            return 0;
        }
        (i64::from(self.responses) * 1000 * 2 + i64::from(self.eligible))
            / (2 * i64::from(self.eligible))
    }
}

/// One options review of an ALMO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub review_no: i32,
    pub started: NaiveDate,
    pub department_notified: Option<NaiveDate>,
    pub opinion: Option<Opinion>,
    pub decision: Option<(Decision, NaiveDate)>,
}

/// Why a step on the road is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A field is wrong in itself or against the other dates: INVALID_ARGUMENT.
    Field(&'static str, String),
    /// The road is not in a state for this step: FAILED_PRECONDITION with a reason code.
    Precondition(&'static str, String),
}

impl Review {
    /// Every rule the review must keep, given how the transfer to the ALMO was tested.
    pub fn violations(&self, transfer: Option<OpinionMethod>) -> Vec<Refusal> {
        let mut out = Vec::new();
        if let Some(n) = self.department_notified
            && n < self.started
        {
            out.push(Refusal::Field(
                "department_notified_date",
                format!("{n} is before the review started on {}", self.started),
            ));
        }
        if let Some(o) = &self.opinion {
            out.extend(opinion_violations(o, self.started, transfer));
        }
        if let Some((decision, on)) = self.decision {
            if on < self.started {
                out.push(Refusal::Field(
                    "decision_date",
                    format!("{on} is before the review started on {}", self.started),
                ));
            }
            if decision == Decision::TakeBack {
                match &self.opinion {
                    None => out.push(Refusal::Precondition(
                        "OPINION_NOT_TESTED",
                        "taking management back needs a test of tenants' opinion first (002 §9, \
                         §14); record it as opinion"
                            .into(),
                    )),
                    Some(o) if on < o.closed => out.push(Refusal::Field(
                        "decision_date",
                        format!(
                            "{on} is before the test of tenants' opinion closed on {}",
                            o.closed
                        ),
                    )),
                    Some(_) => {}
                }
                if self.department_notified.is_none() {
                    out.push(Refusal::Precondition(
                        "DEPARTMENT_NOT_NOTIFIED",
                        "the Department must be told of the options review (002 §15) before \
                         management is taken back; record department_notified_date"
                            .into(),
                    ));
                }
            }
        }
        out
    }
}

fn opinion_violations(
    o: &Opinion,
    started: NaiveDate,
    transfer: Option<OpinionMethod>,
) -> Vec<Refusal> {
    let mut out = Vec::new();
    match transfer {
        None => out.push(Refusal::Precondition(
            "TRANSFER_OPINION_UNKNOWN",
            "how tenants' opinion was tested on the transfer to the ALMO is not recorded, so \
             whether a ballot is required cannot be told (002 §12); record \
             transfer_opinion_method first"
                .into(),
        )),
        Some(OpinionMethod::Ballot) if o.method != OpinionMethod::Ballot => {
            out.push(Refusal::Precondition(
                "BALLOT_REQUIRED",
                format!(
                    "the transfer to the ALMO was tested by ballot, so taking management back \
                     must be tested by ballot too (002 §12), not by {}",
                    o.method.as_str()
                ),
            ))
        }
        Some(_) => {}
    }
    if o.method == OpinionMethod::Other && o.note.trim().is_empty() {
        out.push(Refusal::Field(
            "opinion.note",
            "say what the other comprehensive method was (002 §14)".into(),
        ));
    }
    if o.opened < started {
        out.push(Refusal::Field(
            "opinion.opened_date",
            format!("{} is before the review started on {started}", o.opened),
        ));
    }
    if o.closed < o.opened {
        out.push(Refusal::Field(
            "opinion.closed_date",
            format!("{} is before it opened on {}", o.closed, o.opened),
        ));
    }
    if o.eligible <= 0 {
        out.push(Refusal::Field(
            "opinion.eligible",
            "at least one tenant must have been able to take part".into(),
        ));
    }
    if o.responses < 0 || o.responses > o.eligible {
        out.push(Refusal::Field(
            "opinion.responses",
            format!(
                "{} is not between 0 and the {} eligible",
                o.responses, o.eligible
            ),
        ));
    }
    if o.in_favour < 0 || o.in_favour > o.responses {
        out.push(Refusal::Field(
            "opinion.in_favour",
            format!(
                "{} is not between 0 and the {} responses",
                o.in_favour, o.responses
            ),
        ));
    }
    out
}

/// Whether a new review may start after `last` (the ALMO's latest, if any).
pub fn may_start_after(last: Option<&Review>) -> Result<(), Refusal> {
    match last.map(|r| r.decision) {
        None => Ok(()),
        Some(Some((Decision::Retain, _))) => Ok(()),
        Some(None) => Err(Refusal::Precondition(
            "REVIEW_OPEN",
            "the ALMO's last options review has no decision yet; record its steps instead of \
             starting another"
                .into(),
        )),
        Some(Some((Decision::TakeBack, on))) => Err(Refusal::Precondition(
            "REVIEW_DECIDED",
            format!("management was decided to be taken back on {on}; no review follows"),
        )),
    }
}

/// Whether an end date may be set, given the ALMO's latest review: it needs a recorded decision
/// to take management back, and is on or after that decision. It may lie in the future.
pub fn end_allowed(end: NaiveDate, last: Option<&Review>) -> Result<(), Refusal> {
    match last.and_then(|r| r.decision) {
        Some((Decision::TakeBack, on)) if end < on => Err(Refusal::Field(
            "end_date",
            format!("{end} is before the decision to take management back on {on}"),
        )),
        Some((Decision::TakeBack, _)) => Ok(()),
        _ => Err(Refusal::Precondition(
            "NO_HAND_BACK_DECISION",
            "an ALMO's end needs a recorded decision to take management back; record the \
             options review and its decision (RecordOptionsReview) first"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn opinion(method: OpinionMethod) -> Opinion {
        Opinion {
            method,
            note: String::new(),
            opened: d("2015-06-01"),
            closed: d("2015-06-30"),
            eligible: 20_000,
            responses: 9_123,
            in_favour: 6_000,
        }
    }

    fn review() -> Review {
        Review {
            review_no: 1,
            started: d("2015-01-05"),
            department_notified: Some(d("2015-01-20")),
            opinion: Some(opinion(OpinionMethod::Ballot)),
            decision: Some((Decision::TakeBack, d("2015-07-15"))),
        }
    }

    fn reasons(v: &[Refusal]) -> Vec<&str> {
        v.iter()
            .map(|r| match r {
                Refusal::Field(f, _) => *f,
                Refusal::Precondition(c, _) => *c,
            })
            .collect()
    }

    #[test]
    fn a_balloted_transfer_needs_a_ballot_to_come_back() {
        let mut r = review();
        r.opinion = Some(opinion(OpinionMethod::FullSurvey));
        assert_eq!(
            reasons(&r.violations(Some(OpinionMethod::Ballot))),
            ["BALLOT_REQUIRED"]
        );
        assert!(r.violations(Some(OpinionMethod::FullSurvey)).is_empty());
    }

    #[test]
    fn without_a_ballot_on_transfer_a_survey_or_other_method_will_do() {
        let mut r = review();
        r.opinion = Some(opinion(OpinionMethod::Other));
        assert_eq!(
            reasons(&r.violations(Some(OpinionMethod::FullSurvey))),
            ["opinion.note"]
        );
        r.opinion.as_mut().unwrap().note = "door-to-door survey of every household".into();
        assert!(r.violations(Some(OpinionMethod::FullSurvey)).is_empty());
    }

    #[test]
    fn the_transfer_method_must_be_known_to_judge_the_test() {
        assert_eq!(
            reasons(&review().violations(None)),
            ["TRANSFER_OPINION_UNKNOWN"]
        );
    }

    #[test]
    fn taking_back_needs_the_test_and_the_department_told() {
        let mut r = review();
        r.opinion = None;
        r.department_notified = None;
        assert_eq!(
            reasons(&r.violations(Some(OpinionMethod::Ballot))),
            ["OPINION_NOT_TESTED", "DEPARTMENT_NOT_NOTIFIED"]
        );
        // Keeping the ALMO needs neither.
        r.decision = Some((Decision::Retain, d("2015-03-01")));
        assert!(r.violations(Some(OpinionMethod::Ballot)).is_empty());
    }

    #[test]
    fn the_dates_follow_the_road() {
        let mut r = review();
        r.department_notified = Some(d("2014-12-01"));
        r.decision = Some((Decision::TakeBack, d("2015-06-15")));
        assert_eq!(
            reasons(&r.violations(Some(OpinionMethod::Ballot))),
            ["department_notified_date", "decision_date"]
        );
    }

    #[test]
    fn turnout_and_result_are_counts_that_fit_together() {
        let mut r = review();
        let o = r.opinion.as_mut().unwrap();
        assert_eq!(o.turnout_permille(), 456);
        o.responses = 20_001;
        o.in_favour = 20_002;
        assert_eq!(
            reasons(&r.violations(Some(OpinionMethod::Ballot))),
            ["opinion.responses", "opinion.in_favour"]
        );
    }

    #[test]
    fn a_minority_in_favour_does_not_bind_the_council() {
        let mut r = review();
        r.opinion.as_mut().unwrap().in_favour = 10;
        assert!(r.violations(Some(OpinionMethod::Ballot)).is_empty());
    }

    #[test]
    fn an_end_needs_a_decision_to_take_back_and_may_be_in_advance() {
        let r = review();
        assert!(end_allowed(d("2030-04-01"), Some(&r)).is_ok());
        assert!(matches!(
            end_allowed(d("2015-07-01"), Some(&r)),
            Err(Refusal::Field("end_date", _))
        ));
        assert!(matches!(
            end_allowed(d("2016-04-01"), None),
            Err(Refusal::Precondition("NO_HAND_BACK_DECISION", _))
        ));
        let mut kept = r.clone();
        kept.decision = Some((Decision::Retain, d("2015-07-15")));
        assert!(end_allowed(d("2016-04-01"), Some(&kept)).is_err());
    }

    #[test]
    fn a_new_review_follows_only_a_decision_to_retain() {
        let mut r = review();
        assert!(may_start_after(None).is_ok());
        assert!(may_start_after(Some(&r)).is_err());
        r.decision = None;
        assert!(may_start_after(Some(&r)).is_err());
        r.decision = Some((Decision::Retain, d("2015-07-15")));
        assert!(may_start_after(Some(&r)).is_ok());
    }
}
