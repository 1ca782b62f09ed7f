//! Escalation: a target off track for N consecutive periods (per plan, default 2) raises an
//! exception. Consecutive means adjacent periods of the same kind: a month with no figure breaks
//! the run, as does any period on track or at risk.
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
}
