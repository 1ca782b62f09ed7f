//! AIP-158 pagination: `page_size` (0 = default) and an opaque `page_token` holding the last key.

use crate::AppError;

pub use almo_fields::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The page size to use: 0 means the default; larger than the maximum is capped.
pub fn page_size(requested: i32) -> Result<u64, AppError> {
    almo_fields::page_size(requested).map_err(|reason| AppError::invalid("page_size", reason))
}

/// Encodes the last key of a page into the next page token.
pub fn encode_token(last_key: &str) -> String {
    almo_fields::next_page_token(last_key)
}

/// Decodes a page token into the key to continue after; empty means the first page.
pub fn decode_token(token: &str) -> Result<Option<String>, AppError> {
    almo_fields::page_token(token).map_err(|reason| AppError::invalid("page_token", reason))
}

/// One page of `rows`, read with one row more than `size` to learn whether another page
/// follows: the rows to return and the token for the next page (empty on the last).
pub fn page<T>(mut rows: Vec<T>, size: u64, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
    if rows.len() as u64 > size {
        rows.truncate(size as usize);
        let token = rows
            .last()
            .map(|r| encode_token(&key(r)))
            .unwrap_or_default();
        (rows, token)
    } else {
        (rows, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    fn a_page_says_whether_another_follows() {
        let (rows, next) = page(vec![1, 2, 3], 2, |r| r.to_string());
        assert_eq!(rows, [1, 2]);
        assert_eq!(decode_token(&next).unwrap().as_deref(), Some("2"));
        let (rows, next) = page(vec![1, 2], 2, |r| r.to_string());
        assert_eq!(rows, [1, 2]);
        assert_eq!(next, "");
    }

    #[test]
    fn page_size_defaults_caps_and_refuses_negative() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }
}
