//! Escalation: a target off track for N consecutive periods (per plan, default 2) raises an
//! exception. Consecutive means adjacent periods of the same kind: a month with no figure breaks
//! the run, as does any period on track or at risk. While the exception is unresolved it stays
//! the one exception of its target and keeps counting: each further off-track period in the same
//! run moves its last period on, so it says how long the target has now been off track.
//!
//! The ALMO answers an exception with an exception report (cause, recovery action, the date it
//! expects to be back on track); the council accepts the report, which closes the exception, or
//! escalates it (to the joint board or cabinet), and the ALMO then owes a revised report.

use super::period::Period;
use super::tolerance::Rag;

/// The run of off-track periods that ends at the newest period of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffTrackRun {
    pub first: Period,
    pub last: Period,
    pub length: u32,
}

/// The off-track run ending at the newest period of `series` (one target, one period kind,
/// oldest first), if the newest period is off track.
pub fn trailing_off_track(series: &[(Period, Rag)]) -> Option<OffTrackRun> {
    let (last, rag) = *series.last()?;
    if rag != Rag::OffTrack {
        return None;
    }
    let mut first = last;
    let mut length = 1;
    for (p, r) in series.iter().rev().skip(1) {
        if *r != Rag::OffTrack || !p.is_followed_by(&first) {
            break;
        }
        first = *p;
        length += 1;
    }
    Some(OffTrackRun {
        first,
        last,
        length,
    })
}

/// The run that raises an exception, if the series has reached `threshold` periods off track.
pub fn exception_due(series: &[(Period, Rag)], threshold: u32) -> Option<OffTrackRun> {
    trailing_off_track(series).filter(|run| run.length >= threshold)
}

/// The run an unresolved exception now reports, if it has moved on: `now` is the target's
/// current trailing off-track run of the exception's period kind. It has moved on when it still
/// holds the exception's first period (the same run, not a new one after a recovery) and has
/// reached a later period, or has been found to start earlier (a corrected figure).
pub fn continued(raised: OffTrackRun, now: Option<OffTrackRun>) -> Option<OffTrackRun> {
    let now = now?;
    let same_run = now.first.kind == raised.first.kind
        && now.first.ordinal() <= raised.first.ordinal()
        && raised.first.ordinal() <= now.last.ordinal();
    let grown = now.last.ordinal() > raised.last.ordinal() || now.length > raised.length;
    (same_run && grown).then_some(now)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionState {
    /// Raised; the ALMO owes a report.
    Open,
    /// The ALMO reported; the council decides.
    Answered,
    /// The council accepted the report: closed.
    Accepted,
    /// The council escalated it; the ALMO owes a revised report.
    Escalated,
}

impl ExceptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Open => "open",
            ExceptionState::Answered => "answered",
            ExceptionState::Accepted => "accepted",
            ExceptionState::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ExceptionState::Open,
            ExceptionState::Answered,
            ExceptionState::Accepted,
            ExceptionState::Escalated,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the exception still needs someone to act (at most one such per target).
    pub fn is_unresolved(self) -> bool {
        self != ExceptionState::Accepted
    }
}

/// The state after the ALMO reports, or why it may not now.
pub fn submit_report(state: ExceptionState) -> Result<ExceptionState, String> {
    match state {
        ExceptionState::Open | ExceptionState::Escalated => Ok(ExceptionState::Answered),
        ExceptionState::Answered => {
            Err("a report is already with the council for its decision".into())
        }
        ExceptionState::Accepted => Err("the exception is closed".into()),
    }
}

/// The state after the council accepts (`accept`) or escalates the report, or why it may not.
pub fn decide_report(state: ExceptionState, accept: bool) -> Result<ExceptionState, String> {
    match (state, accept) {
        (ExceptionState::Answered, true) => Ok(ExceptionState::Accepted),
        (ExceptionState::Answered, false) => Ok(ExceptionState::Escalated),
        (ExceptionState::Accepted, _) => Err("the exception is closed".into()),
        _ => Err("the ALMO has not yet reported on this exception".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::PeriodKind;

    #[test]
    fn the_council_decides_only_on_a_report_and_escalation_asks_for_another() {
        use ExceptionState::*;
        assert!(decide_report(Open, true).is_err());
        assert_eq!(submit_report(Open), Ok(Answered));
        assert!(submit_report(Answered).is_err());
        assert_eq!(decide_report(Answered, false), Ok(Escalated));
        assert_eq!(submit_report(Escalated), Ok(Answered));
        assert_eq!(decide_report(Answered, true), Ok(Accepted));
        assert!(submit_report(Accepted).is_err());
        assert!(decide_report(Accepted, true).is_err());
        assert!(!Accepted.is_unresolved() && Escalated.is_unresolved());
    }

    fn q(year: i32, n: i32) -> Period {
        Period::new(year, PeriodKind::Quarter, n).unwrap()
    }

    #[test]
    fn exception_raised_after_n_consecutive_off_track_periods_and_not_before() {
        use Rag::*;
        let mut series = vec![(q(2026, 1), OnTrack), (q(2026, 2), OffTrack)];
        assert_eq!(
            exception_due(&series, 2),
            None,
            "one period off track is not yet an exception"
        );
        series.push((q(2026, 3), OffTrack));
        let run = exception_due(&series, 2).expect("two in a row");
        assert_eq!(
            (run.first, run.last, run.length),
            (q(2026, 2), q(2026, 3), 2)
        );
        assert_eq!(
            exception_due(&series, 3),
            None,
            "a plan asking for three waits for three"
        );
        series.push((q(2026, 4), OffTrack));
        assert_eq!(exception_due(&series, 3).unwrap().length, 3);
    }

    #[test]
    fn at_risk_or_a_missing_period_breaks_the_run() {
        use Rag::*;
        let series = vec![
            (q(2026, 1), OffTrack),
            (q(2026, 2), AtRisk),
            (q(2026, 3), OffTrack),
        ];
        assert_eq!(exception_due(&series, 2), None);
        let gap = vec![(q(2026, 1), OffTrack), (q(2026, 3), OffTrack)];
        assert_eq!(exception_due(&gap, 2), None);
        let across_years = vec![(q(2026, 4), OffTrack), (q(2027, 1), OffTrack)];
        assert_eq!(exception_due(&across_years, 2).unwrap().length, 2);
    }

    #[test]
    fn a_recovered_target_raises_nothing() {
        use Rag::*;
        let series = vec![
            (q(2026, 1), OffTrack),
            (q(2026, 2), OffTrack),
            (q(2026, 3), OnTrack),
        ];
        assert_eq!(exception_due(&series, 2), None);
    }

    fn m(n: i32) -> Period {
        Period::new(2026, PeriodKind::Month, n).unwrap()
    }

    fn run(first: i32, last: i32) -> OffTrackRun {
        OffTrackRun {
            first: m(first),
            last: m(last),
            length: (last - first + 1) as u32,
        }
    }

    #[test]
    fn an_open_exception_counts_every_period_it_has_run() {
        use Rag::*;
        let raised = run(1, 2);
        let mut series = vec![(m(1), OffTrack), (m(2), OffTrack)];
        assert_eq!(
            continued(raised, trailing_off_track(&series)),
            None,
            "nothing new yet"
        );
        series.push((m(3), OffTrack));
        assert_eq!(
            continued(raised, trailing_off_track(&series)),
            Some(run(1, 3))
        );
        series.push((m(4), OffTrack));
        let now = continued(raised, trailing_off_track(&series)).unwrap();
        assert_eq!((now.first, now.last, now.length), (m(1), m(4), 4));
        // Counting on from what it said last time changes nothing more.
        assert_eq!(continued(now, trailing_off_track(&series)), None);
    }

    #[test]
    fn a_recovery_ends_the_count_and_a_new_run_is_not_the_same_exception() {
        use Rag::*;
        let raised = run(1, 2);
        let recovered = vec![(m(1), OffTrack), (m(2), OffTrack), (m(3), OnTrack)];
        assert_eq!(continued(raised, trailing_off_track(&recovered)), None);
        let again = vec![
            (m(1), OffTrack),
            (m(2), OffTrack),
            (m(3), AtRisk),
            (m(4), OffTrack),
            (m(5), OffTrack),
        ];
        assert_eq!(continued(raised, trailing_off_track(&again)), None);
        // A corrected figure that puts the month before off track lengthens the same run.
        assert_eq!(continued(run(2, 3), Some(run(1, 3))), Some(run(1, 3)));
    }
}
