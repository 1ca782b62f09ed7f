//! The shapes of the identifiers people type: ALMO codes and peer-group ids.

/// An ALMO code: 3 to 32 characters of upper-case letters, digits and hyphens, starting with a
/// letter (e.g. `LAMBETH-LIVING`).
pub fn check_almo_code(code: &str) -> Result<(), String> {
    check_code(code, 3, 32, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'
    })
    .map_err(|e| format!("{e}; use upper-case letters, digits and hyphens, e.g. LAMBETH-LIVING"))
}

/// A peer-group id: 3 to 64 characters of letters, digits and hyphens, starting with a letter.
pub fn check_peer_group_id(id: &str) -> Result<(), String> {
    check_code(id, 3, 64, |c| c.is_ascii_alphanumeric() || c == '-')
        .map_err(|e| format!("{e}; use letters, digits and hyphens"))
}

fn check_code(s: &str, min: usize, max: usize, ok: impl Fn(char) -> bool) -> Result<(), String> {
    if s.len() < min || s.len() > max {
        return Err(format!("must be {min} to {max} characters"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must start with a letter".into());
    }
    if let Some(bad) = s.chars().find(|c| !ok(*c)) {
        return Err(format!("{bad:?} is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almo_codes_are_upper_case_letters_digits_and_hyphens() {
        assert!(check_almo_code("LAMBETH-LIVING").is_ok());
        assert!(check_almo_code("H4H").is_ok());
        assert!(check_almo_code("lambeth").is_err());
        assert!(check_almo_code("AB").is_err());
        assert!(check_almo_code("1ABC").is_err());
        assert!(check_almo_code("ABC DEF").is_err());
    }
}
