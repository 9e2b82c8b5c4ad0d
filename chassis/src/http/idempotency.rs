//! The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): what a
//! well-formed key is. Remembering keys and replaying their first answer is each service's
//! own business, in its own tables.

use axum::http::HeaderMap;

/// The header that makes an order POST safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's key, if it sent one: 1 to 200 visible ASCII characters or spaces, as the
/// OpenAPI documents say. `Err` (a message for a 400) for anything else, a tab included,
/// which `HeaderValue::to_str` lets through.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if (1..=200).contains(&bytes.len()) && bytes.iter().all(|b| (b' '..=b'~').contains(b)) {
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    } else {
        Err("Idempotency-Key must be 1 to 200 visible ASCII characters".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key(value: &[u8]) -> Result<Option<String>, String> {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        idempotency_key(&headers)
    }

    #[test]
    fn takes_visible_ascii_and_refuses_tabs_and_other_bytes() {
        assert_eq!(idempotency_key(&HeaderMap::new()), Ok(None));
        assert_eq!(key(b"checkout 7f3a"), Ok(Some("checkout 7f3a".to_owned())));
        assert!(key(&[b'k'; 200]).is_ok());
        for bad in [&b"a\tb"[..], &[b'k'; 201], "é".as_bytes()] {
            assert!(key(bad).is_err(), "{bad:?}");
        }
    }
}
