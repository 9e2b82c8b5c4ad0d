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

/// What `If-Match` asks of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No header, or `*`: whatever the current version.
    Any,
    /// Only this version, named by an ETag this service issued.
    Version(i32),
    /// An ETag this service never issues (or a header that is no ETag at all): it matches
    /// no version, so the update is refused with 412 like any other mismatch (RFC 9110
    /// §13.1.1), never applied and never a 400 of another kind.
    Never,
}

/// Reads `If-Match`.
pub fn if_match(headers: &HeaderMap) -> IfMatch {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return IfMatch::Any;
    };
    let Ok(value) = value.to_str().map(str::trim) else {
        return IfMatch::Never;
    };
    if value == "*" {
        return IfMatch::Any;
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .map_or(IfMatch::Never, IfMatch::Version)
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
            if_match(&headers(header::IF_MATCH, "\"7\"")),
            IfMatch::Version(7)
        );
        assert_eq!(if_match(&headers(header::IF_MATCH, "*")), IfMatch::Any);
        assert_eq!(if_match(&HeaderMap::new()), IfMatch::Any);
        for foreign in ["7", "\"h1\"", "W/\"7\"", "\"99999999999\""] {
            assert_eq!(
                if_match(&headers(header::IF_MATCH, foreign)),
                IfMatch::Never,
                "{foreign}"
            );
        }
    }
}
