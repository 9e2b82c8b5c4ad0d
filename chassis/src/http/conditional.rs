//! Conditional requests: ETags from a resource's version, `If-None-Match` for cheap
//! re-reads (304) and `If-Match` for safe updates (412 when someone else changed it).

use axum::http::{HeaderMap, HeaderValue, header};

/// The strong ETag of a resource at `version`.
pub fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A strong ETag for a representation that is not one row's version (it joins several
/// sources): a hash of the bytes sent.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    HeaderValue::from_str(&format!("\"h{:016x}\"", hasher.finish()))
        .unwrap_or(HeaderValue::from_static("\"h0\""))
}

/// Whether `If-None-Match` already names `current` (weak comparison), so a 304 will do.
pub fn not_modified(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let current = current.to_str().unwrap_or_default();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == current)
}

/// The version `If-Match` requires, if any. `Err` when the header is not an ETag this
/// service could have issued.
pub fn required_version(headers: &HeaderMap) -> Result<Option<i32>, String> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| "If-Match is not ASCII".to_owned())?
        .trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| format!("If-Match {value} is not an ETag of this service"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn recognises_a_known_etag_among_several() {
        let current = etag(3);
        assert!(not_modified(
            &headers(header::IF_NONE_MATCH, "\"2\", W/\"3\""),
            &current
        ));
        assert!(!not_modified(
            &headers(header::IF_NONE_MATCH, "\"2\""),
            &current
        ));
        assert!(!not_modified(&HeaderMap::new(), &current));
    }

    #[test]
    fn reads_the_version_if_match_requires() {
        assert_eq!(
            required_version(&headers(header::IF_MATCH, "\"7\"")),
            Ok(Some(7))
        );
        assert_eq!(required_version(&headers(header::IF_MATCH, "*")), Ok(None));
        assert_eq!(required_version(&HeaderMap::new()), Ok(None));
        assert!(required_version(&headers(header::IF_MATCH, "7")).is_err());
    }
}
