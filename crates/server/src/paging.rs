//! AIP-158 pagination: `page_size` (0 = default) and an opaque `page_token` holding the last key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::AppError;

pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// The page size to use: 0 means the default; larger than the maximum is capped.
pub fn page_size(requested: i32) -> Result<u64, AppError> {
    match requested {
        n if n < 0 => Err(AppError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

/// Encodes the last key of a page into the next page token.
pub fn encode_token(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("k1:{last_key}"))
}

/// Decodes a page token into the key to continue after; empty means the first page.
pub fn decode_token(token: &str) -> Result<Option<String>, AppError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || AppError::invalid("page_token", "not a token this server issued");
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
            decode_token(&encode_token("E09000022")).unwrap().unwrap(),
            "E09000022"
        );
        assert_eq!(decode_token("").unwrap(), None);
        assert!(decode_token("not-a-token!").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("x")).is_err());
    }

    #[test]
    fn page_size_defaults_caps_and_refuses_negative() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }
}
