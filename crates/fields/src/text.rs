//! Ids, names, free text and request ids: required or not, how long, which characters.

/// Longest id (an organisation code, a plan or invoice id), in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest name or title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free text (a justification, a reason, a note), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest request id, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// How much of an offending value an error quotes.
pub const QUOTE_CHARS: usize = 40;

/// `s` as `{:?}` quotes it, cut to [`QUOTE_CHARS`] characters with a count of the rest.
pub fn quote(s: &str) -> String {
    let n = s.chars().count();
    if n <= QUOTE_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(QUOTE_CHARS).collect();
        format!("{head:?}… ({} more characters)", n - QUOTE_CHARS)
    }
}

fn too_long(n: usize, max: usize) -> String {
    format!("at most {max} characters ({n} sent)")
}

/// A required identifier: trimmed, at most [`MAX_ID_CHARS`], no spaces or control characters.
pub fn id(s: &str) -> Result<&str, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("required".into());
    }
    let n = s.chars().count();
    if n > MAX_ID_CHARS {
        return Err(too_long(n, MAX_ID_CHARS));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "{} has spaces or control characters; an id has neither",
            quote(s)
        ));
    }
    Ok(s)
}

/// A required name or title: trimmed, at most [`MAX_NAME_CHARS`], no control characters.
pub fn name(s: &str) -> Result<&str, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("required".into());
    }
    let n = s.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(too_long(n, MAX_NAME_CHARS));
    }
    if s.chars().any(char::is_control) {
        return Err(format!(
            "{} has control characters; a name has none",
            quote(s)
        ));
    }
    Ok(s)
}

/// Free text, which may be empty: trimmed, at most `max_chars`, no control characters other
/// than line breaks and tabs.
pub fn text(s: &str, max_chars: usize) -> Result<&str, String> {
    let s = s.trim();
    let n = s.chars().count();
    if n > max_chars {
        return Err(too_long(n, max_chars));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("has control characters other than line breaks and tabs".into());
    }
    Ok(s)
}

/// A request id (AIP-155), as sent: at most [`MAX_REQUEST_ID_CHARS`], no spaces or control
/// characters. Empty passes here: the write path says it is required.
pub fn request_id(s: &str) -> Result<&str, String> {
    let n = s.chars().count();
    if n > MAX_REQUEST_ID_CHARS {
        return Err(too_long(n, MAX_REQUEST_ID_CHARS));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "{} has spaces or control characters; use a UUID",
            quote(s)
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_required_short_and_plain() {
        assert_eq!(id(" E09000022 ").unwrap(), "E09000022");
        assert!(id("").is_err());
        assert!(id("   ").is_err());
        assert!(id("E09 000022").is_err());
        assert!(id("E09\u{0}").is_err());
        assert!(id(&"x".repeat(MAX_ID_CHARS)).is_ok());
        assert!(id(&"x".repeat(MAX_ID_CHARS + 1)).is_err());
    }

    #[test]
    fn names_refuse_nul_and_escape_characters() {
        assert_eq!(name(" Hackney Homes ").unwrap(), "Hackney Homes");
        assert!(name("Hack\u{0}ney").is_err());
        assert!(name("Hack\u{1b}[31mney").is_err());
        assert!(name("").is_err());
        assert!(name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(name(&"é".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn free_text_keeps_line_breaks_and_refuses_other_control_characters() {
        assert_eq!(text("a\nb\tc", 10).unwrap(), "a\nb\tc");
        assert_eq!(text("", 10).unwrap(), "");
        assert!(text("a\u{7}b", 10).is_err());
        assert!(text(&"x".repeat(11), 10).is_err());
    }

    #[test]
    fn request_ids_are_bounded() {
        assert!(request_id("").is_ok());
        assert!(request_id("7d9c1b1e-8f57-4d4b-9b11-3a0f8f3f8c11").is_ok());
        assert!(request_id(&"r".repeat(100_000)).is_err());
        assert!(request_id("a b").is_err());
    }

    #[test]
    fn quotes_are_bounded_whatever_the_input() {
        assert_eq!(quote("abc"), "\"abc\"");
        let q = quote(&"x".repeat(1_000_000));
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(999960 more characters)"), "{q}");
    }
}
