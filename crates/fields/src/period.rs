//! Reporting periods within a financial year: months (April = 1), quarters (Q1 Apr–Jun) and
//! the year.

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    fn count(self) -> i32 {
        match self {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
            PeriodKind::Year => 1,
        }
    }
}

/// The number of a period of `kind`: 1–12 for months, 1–4 for quarters, 1 for the year.
pub fn period_number(kind: PeriodKind, number: i32) -> Result<u32, String> {
    if (1..=kind.count()).contains(&number) {
        Ok(number as u32)
    } else {
        Err(match kind {
            PeriodKind::Month => format!("month {number} is not 1 (April) to 12 (March)"),
            PeriodKind::Quarter => format!("quarter {number} is not 1 to 4"),
            PeriodKind::Year => format!("the year is period 1, not {number}"),
        })
    }
}

/// A period as written in files and on the command line: `M1`..`M12`, `Q1`..`Q4`, `Y` or
/// `YEAR` (any case).
pub fn period_label(s: &str) -> Result<(PeriodKind, u32), String> {
    let t = s.trim();
    let bad = || format!("{} is not a period: M1..M12, Q1..Q4 or Y", crate::quote(t));
    let upper = t.to_ascii_uppercase();
    if upper == "Y" || upper == "YEAR" {
        return Ok((PeriodKind::Year, 1));
    }
    let (kind, digits) = match upper.as_bytes().first() {
        Some(b'M') => (PeriodKind::Month, &upper[1..]),
        Some(b'Q') => (PeriodKind::Quarter, &upper[1..]),
        _ => return Err(bad()),
    };
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i32 = digits.parse().map_err(|_| bad())?;
    Ok((kind, period_number(kind, n)?))
}

/// `M3`, `Q2`, `Y`.
pub fn period_text(kind: PeriodKind, number: u32) -> String {
    match kind {
        PeriodKind::Month => format!("M{number}"),
        PeriodKind::Quarter => format!("Q{number}"),
        PeriodKind::Year => "Y".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_numbers_fit_their_kind() {
        assert_eq!(period_number(PeriodKind::Month, 12).unwrap(), 12);
        assert!(period_number(PeriodKind::Month, 13).is_err());
        assert!(period_number(PeriodKind::Quarter, 0).is_err());
        assert!(period_number(PeriodKind::Quarter, 5).is_err());
        assert!(period_number(PeriodKind::Year, 2).is_err());
    }

    #[test]
    fn period_labels_round_trip_and_typos_are_refused() {
        for (kind, n) in [
            (PeriodKind::Month, 1),
            (PeriodKind::Month, 12),
            (PeriodKind::Quarter, 4),
            (PeriodKind::Year, 1),
        ] {
            assert_eq!(period_label(&period_text(kind, n)).unwrap(), (kind, n));
        }
        assert_eq!(period_label("q3").unwrap(), (PeriodKind::Quarter, 3));
        assert_eq!(period_label("year").unwrap(), (PeriodKind::Year, 1));
        for typo in ["M13", "Q5", "Q0", "M", "X1", "M1.5", "M-1", "Q01x", ""] {
            assert!(period_label(typo).is_err(), "{typo}");
        }
    }
}
