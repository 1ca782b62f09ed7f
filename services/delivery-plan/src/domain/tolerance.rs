//! On track / at risk / off track: how far a figure falls short of its target, in the direction
//! that counts for that target, against the amber and red tolerances; and the trend against the
//! previous period.

use super::plan::{Direction, Tolerance, ToleranceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rag {
    /// Met, or short by no more than the amber tolerance.
    OnTrack,
    /// Short by more than the amber tolerance, by no more than the red.
    AtRisk,
    /// Short by more than the red tolerance.
    OffTrack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    First,
    Improving,
    Steady,
    Worsening,
}

/// How far `actual` falls short of `target`: positive when worse than the target, whichever
/// way is better for this measure.
pub fn shortfall(target: f64, actual: f64, direction: Direction) -> f64 {
    match direction {
        Direction::HigherIsBetter => target - actual,
        Direction::LowerIsBetter => actual - target,
    }
}

/// A tolerance in the target's unit.
fn allowance(tolerance_value: f64, kind: ToleranceKind, target: f64) -> f64 {
    match kind {
        ToleranceKind::Absolute => tolerance_value,
        ToleranceKind::Relative => target.abs() * tolerance_value / 100.0,
    }
}

/// The status of `actual` against `target`.
pub fn assess(target: f64, actual: f64, direction: Direction, tolerance: &Tolerance) -> Rag {
    let short = shortfall(target, actual, direction);
    // A hair of slack so that figures sitting exactly on a tolerance (after floating-point
    // arithmetic on relative tolerances) count as within it.
    let eps = 1e-9 * (1.0 + target.abs());
    if short > allowance(tolerance.red, tolerance.kind, target) + eps {
        Rag::OffTrack
    } else if short > allowance(tolerance.amber, tolerance.kind, target) + eps {
        Rag::AtRisk
    } else {
        Rag::OnTrack
    }
}

/// The trend from the previous period's figure to this one.
pub fn trend(previous: Option<f64>, actual: f64, direction: Direction) -> Trend {
    let Some(prev) = previous else {
        return Trend::First;
    };
    // Improvement is a smaller shortfall against any fixed target: compare shortfalls to zero.
    let better = shortfall(0.0, actual, direction) < shortfall(0.0, prev, direction);
    if (actual - prev).abs() <= 1e-9 * (1.0 + prev.abs()) {
        Trend::Steady
    } else if better {
        Trend::Improving
    } else {
        Trend::Worsening
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ABS: Tolerance = Tolerance {
        kind: ToleranceKind::Absolute,
        amber: 2.0,
        red: 5.0,
    };

    #[test]
    fn higher_is_better_targets_get_the_right_status() {
        let d = Direction::HigherIsBetter;
        assert_eq!(assess(95.0, 97.0, d, &ABS), Rag::OnTrack);
        assert_eq!(assess(95.0, 93.0, d, &ABS), Rag::OnTrack);
        assert_eq!(assess(95.0, 92.9, d, &ABS), Rag::AtRisk);
        assert_eq!(assess(95.0, 90.0, d, &ABS), Rag::AtRisk);
        assert_eq!(assess(95.0, 89.9, d, &ABS), Rag::OffTrack);
    }

    #[test]
    fn lower_is_better_targets_get_the_right_status() {
        // Days to relet an empty home: target 30 days.
        let d = Direction::LowerIsBetter;
        assert_eq!(assess(30.0, 20.0, d, &ABS), Rag::OnTrack);
        assert_eq!(assess(30.0, 32.0, d, &ABS), Rag::OnTrack);
        assert_eq!(assess(30.0, 33.0, d, &ABS), Rag::AtRisk);
        assert_eq!(assess(30.0, 35.0, d, &ABS), Rag::AtRisk);
        assert_eq!(assess(30.0, 36.0, d, &ABS), Rag::OffTrack);
        // Far better than target is on track, not "off".
        assert_eq!(assess(30.0, 0.0, d, &ABS), Rag::OnTrack);
    }

    #[test]
    fn relative_tolerances_scale_with_the_target() {
        let rel = Tolerance {
            kind: ToleranceKind::Relative,
            amber: 10.0,
            red: 20.0,
        };
        let d = Direction::LowerIsBetter;
        assert_eq!(assess(30.0, 33.0, d, &rel), Rag::OnTrack);
        assert_eq!(assess(30.0, 33.1, d, &rel), Rag::AtRisk);
        assert_eq!(assess(30.0, 36.0, d, &rel), Rag::AtRisk);
        assert_eq!(assess(30.0, 36.1, d, &rel), Rag::OffTrack);
    }

    #[test]
    fn trend_follows_the_direction() {
        assert_eq!(trend(None, 5.0, Direction::HigherIsBetter), Trend::First);
        assert_eq!(
            trend(Some(4.0), 5.0, Direction::HigherIsBetter),
            Trend::Improving
        );
        assert_eq!(
            trend(Some(4.0), 5.0, Direction::LowerIsBetter),
            Trend::Worsening
        );
        assert_eq!(
            trend(Some(6.0), 5.0, Direction::LowerIsBetter),
            Trend::Improving
        );
        assert_eq!(
            trend(Some(5.0), 5.0, Direction::LowerIsBetter),
            Trend::Steady
        );
    }

    fn rank(r: Rag) -> u8 {
        match r {
            Rag::OnTrack => 0,
            Rag::AtRisk => 1,
            Rag::OffTrack => 2,
        }
    }

    proptest! {
        /// A worse figure never gets a better status.
        #[test]
        fn status_never_improves_as_the_figure_worsens(
            target in 0.0f64..1000.0, a in 0.0f64..1000.0, b in 0.0f64..1000.0,
            amber in 0.0f64..50.0, extra in 0.0f64..50.0, lower in any::<bool>(), relative in any::<bool>()
        ) {
            let direction = if lower { Direction::LowerIsBetter } else { Direction::HigherIsBetter };
            let kind = if relative { ToleranceKind::Relative } else { ToleranceKind::Absolute };
            let tol = Tolerance { kind, amber, red: amber + extra };
            let (better, worse) = if shortfall(target, a, direction) <= shortfall(target, b, direction) { (a, b) } else { (b, a) };
            prop_assert!(rank(assess(target, better, direction, &tol)) <= rank(assess(target, worse, direction, &tol)));
        }
    }
}
