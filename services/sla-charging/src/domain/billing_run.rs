//! A billing run accounts for every agreement in scope (every agreement of the council whose
//! term overlaps the period): drafted, already issued, nothing to bill (why) or refused (why).
//! A council can then tell "nothing to bill" from "left out".

use chrono::NaiveDate;

use crate::domain::agreement::{Consent, Terms};
use crate::domain::period::BillingPeriod;
use crate::domain::proration::DaySpan;

/// What a billing run did with one agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A draft invoice was produced (or replaced).
    Drafted { invoice_id: String },
    /// An issued invoice already covers these days.
    AlreadyIssued { invoice_id: String },
    /// Nothing to bill, and why.
    NothingToBill { reason: String },
    /// The agreement cannot be billed, and why.
    Refused { reason: String },
}

/// Why an agreement with no active version is not billed: who has yet to agree its first draft.
pub fn not_agreed(first_draft: Option<(i32, Consent)>) -> Outcome {
    let reason = match first_draft {
        Some((version, consent)) => {
            let waiting: Vec<&str> = [
                (!consent.council).then_some("the council"),
                (!consent.almo).then_some("the ALMO"),
            ]
            .into_iter()
            .flatten()
            .collect();
            format!(
                "no version is agreed by both parties: version {version} awaits {}",
                waiting.join(" and ")
            )
        }
        None => "the agreement has no version".to_string(),
    };
    Outcome::Refused { reason }
}

/// Why an agreement in scope billed nothing for `period`. `term` is the agreement's term cut
/// short on the ALMO's end date (`None` when the ALMO ended before it started); `windows` are the
/// days each active version governs.
pub fn nothing_to_bill(
    period: &BillingPeriod,
    term: Option<DaySpan>,
    almo_end: Option<NaiveDate>,
    windows: &[(DaySpan, &Terms)],
) -> Outcome {
    let span = DaySpan::new(period.start(), period.end()).expect("a period");
    let label = period.label();
    let reason = match (term, almo_end) {
        (None, Some(end)) => format!("the ALMO ended on {end}, before the agreement started"),
        (Some(t), Some(end)) if t.intersect(&span).is_none() => {
            format!("the ALMO ended on {end}, before {label}")
        }
        _ => {
            let covering: Vec<&Terms> = windows
                .iter()
                .filter(|(w, _)| w.intersect(&span).is_some())
                .map(|(_, t)| *t)
                .collect();
            match (covering.last(), windows.first()) {
                (None, Some((first, _))) if first.first > span.last => format!(
                    "no agreed version is in effect in {label}: the first takes effect on {}",
                    first.first
                ),
                (None, _) => format!("no agreed version is in effect in {label}"),
                (Some(terms), _) => {
                    let codes: Vec<&str> = terms
                        .lines
                        .iter()
                        .filter(|l| l.basis.is_usage_based())
                        .map(|l| l.code.as_str())
                        .collect();
                    format!(
                        "no usage recorded in {label} for {} and no fixed fee",
                        codes.join(", ")
                    )
                }
            }
        }
    };
    Outcome::NothingToBill { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agreement::tests::legal_line;
    use crate::domain::period::PeriodKind;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn april() -> BillingPeriod {
        BillingPeriod::new(2026, PeriodKind::Month, 1).unwrap()
    }

    #[test]
    fn a_billing_run_says_why_an_agreement_was_not_billed() {
        let terms = Terms {
            lines: vec![legal_line()],
            levels: vec![],
        };
        let term = DaySpan::new(d("2026-04-01"), d("2029-03-31"));
        let w = [(term.unwrap(), &terms)];
        assert_eq!(
            nothing_to_bill(&april(), term, None, &w),
            Outcome::NothingToBill {
                reason: "no usage recorded in 2026/27 month 1 (April 2026) for LEGAL and no \
                         fixed fee"
                    .into()
            }
        );
        let later = [(
            DaySpan::new(d("2026-05-01"), d("2029-03-31")).unwrap(),
            &terms,
        )];
        assert_eq!(
            nothing_to_bill(&april(), term, None, &later),
            Outcome::NothingToBill {
                reason: "no agreed version is in effect in 2026/27 month 1 (April 2026): the \
                         first takes effect on 2026-05-01"
                    .into()
            }
        );
        let ended = DaySpan::new(d("2026-01-01"), d("2026-03-15"));
        assert_eq!(
            nothing_to_bill(&april(), ended, Some(d("2026-03-15")), &w),
            Outcome::NothingToBill {
                reason: "the ALMO ended on 2026-03-15, before 2026/27 month 1 (April 2026)".into()
            }
        );
        assert_eq!(
            not_agreed(Some((
                1,
                Consent {
                    council: true,
                    almo: false
                }
            ))),
            Outcome::Refused {
                reason: "no version is agreed by both parties: version 1 awaits the ALMO".into()
            }
        );
    }
}
