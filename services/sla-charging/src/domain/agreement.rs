//! An SLA between a council (the supplier) and one of its ALMOs (the customer): versioned terms
//! that take effect only when both parties have agreed them; a variation is a new version from a
//! date, and every earlier version stays readable.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::charging::{Account, ChargingBasis, VatTreatment};
use crate::domain::proration::DaySpan;

/// One service the council provides, and how it is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLine {
    /// Stable across versions (e.g. "LEGAL"): usage and results are recorded against it.
    pub code: String,
    /// What the service is, e.g. "Legal services".
    pub service: String,
    pub basis: ChargingBasis,
    /// Pence per unit of the basis; for a fixed fee, the annual fee.
    pub unit_price: i64,
    pub vat: VatTreatment,
    pub account: Account,
    /// What a unit costs elsewhere, in pence, for the support-services review (003 §110).
    pub benchmark_unit_cost: i64,
}

/// Which way a measure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// A service level the council promises on a line, and the credit when it misses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceLevel {
    /// Stable across versions (e.g. "IT-FIX-4H"): results are recorded against it.
    pub code: String,
    /// The line whose charge the credit reduces.
    pub line_code: String,
    /// What is measured, e.g. "% of P1 IT incidents fixed within 4 hours".
    pub measure: String,
    pub target: f64,
    pub direction: Direction,
    /// The credit when the level is missed, in basis points of the line's charge for the
    /// period (500 = 5%).
    pub credit_basis_points: i64,
}

/// What one version of an agreement says.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Terms {
    pub lines: Vec<ServiceLine>,
    pub levels: Vec<ServiceLevel>,
}

impl Terms {
    pub fn line(&self, code: &str) -> Option<&ServiceLine> {
        self.lines.iter().find(|l| l.code == code)
    }

    pub fn level(&self, code: &str) -> Option<&ServiceLevel> {
        self.levels.iter().find(|l| l.code == code)
    }

    /// Every problem with the terms, as (field, reason).
    pub fn violations(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if self.lines.is_empty() {
            v.push((
                "lines".into(),
                "an agreement needs at least one service line".into(),
            ));
        }
        for (i, l) in self.lines.iter().enumerate() {
            let f = |name: &str| format!("lines[{i}].{name}");
            if !valid_code(&l.code) {
                v.push((f("code"), "1-32 characters A-Z, 0-9 and '-'".into()));
            } else if self.lines[..i].iter().any(|o| o.code == l.code) {
                v.push((f("code"), format!("{} appears twice", l.code)));
            }
            if l.service.trim().is_empty() {
                v.push((f("service"), "required".into()));
            }
            if let ChargingBasis::PerUnit { unit } = &l.basis
                && unit.trim().is_empty()
            {
                v.push((
                    f("unit"),
                    "a per-unit line names its unit, e.g. \"hour of legal work\"".into(),
                ));
            }
            if !(0..=100_000_000_000).contains(&l.unit_price) {
                v.push((f("unit_price"), "pence, from 0 to £1bn".into()));
            }
            if l.benchmark_unit_cost < 0 {
                v.push((f("benchmark_unit_cost"), "must not be negative".into()));
            }
        }
        for (i, s) in self.levels.iter().enumerate() {
            let f = |name: &str| format!("levels[{i}].{name}");
            if !valid_code(&s.code) {
                v.push((f("code"), "1-32 characters A-Z, 0-9 and '-'".into()));
            } else if self.levels[..i].iter().any(|o| o.code == s.code) {
                v.push((f("code"), format!("{} appears twice", s.code)));
            }
            if self.line(&s.line_code).is_none() {
                v.push((
                    f("line_code"),
                    format!("{:?} is not a line of this agreement", s.line_code),
                ));
            }
            if s.measure.trim().is_empty() {
                v.push((f("measure"), "required".into()));
            }
            if !s.target.is_finite() {
                v.push((f("target"), "must be a number".into()));
            }
            if !(1..=10_000).contains(&s.credit_basis_points) {
                v.push((
                    f("credit_basis_points"),
                    "between 1 and 10000 (100% of the line's charge)".into(),
                ));
            }
        }
        v
    }
}

fn valid_code(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 32
        && c.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '-')
}

/// Where a version is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStatus {
    /// Written, waiting for one or both parties.
    Draft,
    /// Agreed by both parties: it governs billing from its effective date.
    Active,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(VersionStatus::Draft),
            "active" => Some(VersionStatus::Active),
            _ => None,
        }
    }
}

/// Which side of the agreement is agreeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Council,
    Almo,
}

/// Who has agreed a version so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Consent {
    pub council: bool,
    pub almo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error("this version is already active; vary the agreement with a new version instead")]
    AlreadyActive,
    #[error("this party has already agreed this version")]
    AlreadyAgreed,
    #[error("{0}")]
    BadVariation(String),
}

/// One party agrees a draft; with both, the version becomes active.
pub fn agree(
    status: VersionStatus,
    consent: Consent,
    party: Party,
) -> Result<(VersionStatus, Consent), AgreementError> {
    if status == VersionStatus::Active {
        return Err(AgreementError::AlreadyActive);
    }
    let mut next = consent;
    let already = match party {
        Party::Council => std::mem::replace(&mut next.council, true),
        Party::Almo => std::mem::replace(&mut next.almo, true),
    };
    if already {
        return Err(AgreementError::AlreadyAgreed);
    }
    let status = if next.council && next.almo {
        VersionStatus::Active
    } else {
        VersionStatus::Draft
    };
    Ok((status, next))
}

/// A variation takes effect from a date after the version it varies, inside the term.
pub fn check_variation(
    term: DaySpan,
    latest_effective_from: NaiveDate,
    effective_from: NaiveDate,
) -> Result<(), AgreementError> {
    if effective_from <= latest_effective_from {
        return Err(AgreementError::BadVariation(format!(
            "a variation takes effect after the version it varies (from {latest_effective_from})"
        )));
    }
    if effective_from > term.last {
        return Err(AgreementError::BadVariation(format!(
            "the agreement ends on {}",
            term.last
        )));
    }
    Ok(())
}

/// The days each active version governs: from its effective date to the day before the next
/// version's, clipped to the agreement's term. `versions` are (effective_from, terms), in any
/// order.
pub fn windows<'a>(
    term: DaySpan,
    versions: &[(NaiveDate, &'a Terms)],
) -> Vec<(DaySpan, &'a Terms)> {
    let mut sorted: Vec<_> = versions.to_vec();
    sorted.sort_by_key(|(from, _)| *from);
    let mut out = Vec::new();
    for (i, (from, terms)) in sorted.iter().enumerate() {
        let last = match sorted.get(i + 1) {
            Some((next, _)) => next.pred_opt().expect("a date after 0001"),
            None => term.last,
        };
        if let Some(span) = DaySpan::new(*from, last).and_then(|s| s.intersect(&term)) {
            out.push((span, *terms));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub(crate) fn legal_line() -> ServiceLine {
        ServiceLine {
            code: "LEGAL".into(),
            service: "Legal services".into(),
            basis: ChargingBasis::PerUnit {
                unit: "hour of legal work".into(),
            },
            unit_price: 9_500,
            vat: VatTreatment::Standard,
            account: Account::Hra,
            benchmark_unit_cost: 8_800,
        }
    }

    #[test]
    fn agreement_becomes_active_only_when_both_parties_agree() {
        let (s, c) = agree(VersionStatus::Draft, Consent::default(), Party::Council).unwrap();
        assert_eq!(s, VersionStatus::Draft);
        assert_eq!(
            agree(s, c, Party::Council).unwrap_err(),
            AgreementError::AlreadyAgreed
        );
        let (s, c) = agree(s, c, Party::Almo).unwrap();
        assert_eq!(s, VersionStatus::Active);
        assert!(c.council && c.almo);
        assert_eq!(
            agree(s, c, Party::Almo).unwrap_err(),
            AgreementError::AlreadyActive
        );
    }

    #[test]
    fn variation_takes_effect_after_the_version_it_varies_and_inside_the_term() {
        let term = DaySpan::new(d("2026-04-01"), d("2029-03-31")).unwrap();
        assert!(check_variation(term, d("2026-04-01"), d("2026-10-01")).is_ok());
        assert!(check_variation(term, d("2026-04-01"), d("2026-04-01")).is_err());
        assert!(check_variation(term, d("2026-04-01"), d("2029-04-01")).is_err());
    }

    #[test]
    fn a_variation_ends_the_previous_version_the_day_before() {
        let term = DaySpan::new(d("2026-04-01"), d("2029-03-31")).unwrap();
        let v1 = Terms::default();
        let v2 = Terms {
            lines: vec![legal_line()],
            levels: vec![],
        };
        let w = windows(term, &[(d("2026-10-01"), &v2), (d("2026-04-01"), &v1)]);
        assert_eq!(w.len(), 2);
        assert_eq!(
            w[0].0,
            DaySpan::new(d("2026-04-01"), d("2026-09-30")).unwrap()
        );
        assert_eq!(
            w[1].0,
            DaySpan::new(d("2026-10-01"), d("2029-03-31")).unwrap()
        );
        assert_eq!(w[1].1.lines.len(), 1);
    }

    #[test]
    fn terms_name_every_bad_field() {
        let mut bad = legal_line();
        bad.basis = ChargingBasis::PerUnit { unit: " ".into() };
        bad.unit_price = -1;
        let terms = Terms {
            lines: vec![bad, legal_line()],
            levels: vec![ServiceLevel {
                code: "X".into(),
                line_code: "NOPE".into(),
                measure: "m".into(),
                target: 95.0,
                direction: Direction::HigherIsBetter,
                credit_basis_points: 0,
            }],
        };
        let fields: Vec<String> = terms.violations().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "lines[0].unit",
                "lines[0].unit_price",
                "lines[1].code",
                "levels[0].line_code",
                "levels[0].credit_basis_points"
            ]
        );
    }
}
