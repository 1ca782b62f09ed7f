//! Money as integer pence, and plain numbers.

use crate::text::quote;

/// The largest amount accepted, in pence: £10 billion, far beyond any charge between a council
/// and its ALMO, and far inside `i64`.
const MAX_PENCE: i64 = 1_000_000_000_000;

/// An amount in pounds as people write it — `1162.50`, `1,162.50`, `£1162.5`, `-58.13`, `12` —
/// as integer pence. More than two decimal places is refused rather than rounded.
pub fn pence(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let bad = || format!("{} is not an amount in pounds such as 1162.50", quote(t));
    let (negative, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let rest = rest.strip_prefix('£').unwrap_or(rest);
    let (whole, frac) = match rest.split_once('.') {
        Some((w, f)) => (w, f),
        None => (rest, ""),
    };
    // Thousands separators only between groups of three digits.
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if digits.is_empty()
        || !grouped_ok
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (rest.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    if frac.len() > 2 {
        return Err(format!(
            "{} has more than two decimal places; amounts are in pence",
            quote(t)
        ));
    }
    if digits.len() > 15 {
        return Err(format!("{} is larger than any amount accepted", quote(t)));
    }
    let pounds: i64 = digits.parse().map_err(|_| bad())?;
    let frac_pence: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse::<i64>().map_err(|_| bad())?,
    };
    let p = pounds * 100 + frac_pence;
    if p > MAX_PENCE {
        return Err(format!("{} is larger than any amount accepted", quote(t)));
    }
    Ok(if negative { -p } else { p })
}

/// Pence as pounds with two decimals: 116250 -> `1162.50`, -5813 -> `-58.13`.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let a = pence.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A finite decimal number.
pub fn number(s: &str) -> Result<f64, String> {
    let t = s.trim();
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{} is not a number", quote(t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_read_as_people_write_them() {
        assert_eq!(pence("1162.50").unwrap(), 116_250);
        assert_eq!(pence("1,162.50").unwrap(), 116_250);
        assert_eq!(pence("£1162.5").unwrap(), 116_250);
        assert_eq!(pence("-58.13").unwrap(), -5_813);
        assert_eq!(pence("12").unwrap(), 1_200);
        assert_eq!(pence("0.07").unwrap(), 7);
        for bad in [
            "",
            "£",
            "1.234",
            "1,16.50",
            ",162",
            "12.",
            "1e3",
            "NaN",
            "--1",
            "1 000",
            "£-5",
            "99999999999999999",
        ] {
            assert!(pence(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_finite() {
        assert_eq!(number(" 2.5 ").unwrap(), 2.5);
        assert!(number("inf").is_err());
        assert!(number("NaN").is_err());
        assert!(number("x").is_err());
    }

    proptest! {
        #[test]
        fn pounds_and_pence_round_trip(p in -MAX_PENCE..=MAX_PENCE) {
            prop_assert_eq!(pence(&pounds(p)).unwrap(), p);
        }
    }
}
