//! AIP-158 pagination: `page_size` (0 = the default) and an opaque `page_token` holding the
//! last key of the previous page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// The page size to use: 0 means the default; larger than the maximum is capped.
pub fn page_size(requested: i32) -> Result<u64, String> {
    match requested {
        n if n < 0 => Err("must not be negative".into()),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

/// The token for the page after the one ending at `last_key`.
pub fn next_page_token(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("k1:{last_key}"))
}

/// The key to continue after; empty means the first page.
pub fn page_token(token: &str) -> Result<Option<String>, String> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || "not a token this server issued".to_string();
    if token.len() > 4096 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("k1:")
        .map(|k| Some(k.to_string()))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(
            page_token(&next_page_token("E09000022")).unwrap().unwrap(),
            "E09000022"
        );
        assert_eq!(page_token("").unwrap(), None);
        assert!(page_token("not-a-token!").is_err());
        assert!(page_token(&URL_SAFE_NO_PAD.encode("x")).is_err());
        assert!(page_token(&"A".repeat(100_000)).is_err());
    }

    #[test]
    fn page_size_defaults_caps_and_refuses_negative() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }
}
