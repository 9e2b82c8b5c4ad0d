//! Whole responses: what two answers to the same request must share to be "the same
//! answer". The status, the headers a client acts on, and every field of the body (a
//! problem's too), or the whole XML document. Only a short, explicit list may differ, and
//! only between two requests that each create a resource: see [`ALLOWED_TO_DIFFER`].

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

/// The headers a client acts on: how to read the body, whether its copy is current, where
/// the new resource is, whether the answer is partial, whether the API is going away.
pub const HEADERS: [&str; 6] = [
    "content-type",
    "etag",
    "location",
    "warning",
    "deprecation",
    "sunset",
];

/// What may differ between the answers to two requests that each create a resource, and
/// nothing else: the generated id (the body's `id`, and the id inside any URL, e.g.
/// `Location` and `_links`), the creation time (`created_at`), and the new resource's
/// `ETag` (it is computed from the two).
pub const ALLOWED_TO_DIFFER: [&str; 4] = ["id", "created_at", "the id in URLs", "etag"];

/// What stands in for a value allowed to differ.
const GENERATED: &str = "<generated>";

/// A response as compared: `{"status", "headers", "body"}`, the body as JSON when it is
/// JSON and as text otherwise (XML), every header of [`HEADERS`] present.
pub fn response(status: u16, headers: &HeaderMap, text: &str) -> Value {
    let mut kept = Map::new();
    for name in HEADERS {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            kept.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    let body = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    json!({ "status": status, "headers": kept, "body": body })
}

/// Masks what [`ALLOWED_TO_DIFFER`] names in the answer to a request that created a
/// resource (201 with an `id`); anything else is left as it is.
pub fn mask_created(whole: &mut Value) {
    if whole["status"] != 201 {
        return;
    }
    let Some(id) = whole["body"]["id"].as_i64() else {
        return;
    };
    let body = &mut whole["body"];
    body["id"] = json!(GENERATED);
    if body.get("created_at").is_some() {
        body["created_at"] = json!(GENERATED);
    }
    if let Some(headers) = whole["headers"].as_object_mut()
        && headers.contains_key("etag")
    {
        headers.insert("etag".to_owned(), json!(GENERATED));
    }
    mask_id_in_urls(whole, id);
}

/// Replaces `/{id}` where it is a whole path segment, in every string.
fn mask_id_in_urls(value: &mut Value, id: i64) {
    match value {
        Value::String(text) => *text = replace_segment(text, &id.to_string()),
        Value::Array(items) => items.iter_mut().for_each(|v| mask_id_in_urls(v, id)),
        Value::Object(fields) => fields.values_mut().for_each(|v| mask_id_in_urls(v, id)),
        _ => {}
    }
}

fn replace_segment(text: &str, id: &str) -> String {
    let needle = format!("/{id}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let whole_segment = after.is_empty() || after.starts_with(['/', '?', '#', '"', '<']);
        out.push_str(&rest[..at]);
        out.push_str(if whole_segment { "/{id}" } else { &needle });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, LOCATION};

    use super::*;

    fn created(id: i64, at: &str) -> Value {
        let mut headers = HeaderMap::new();
        headers.insert(
            LOCATION,
            HeaderValue::from_str(&format!("/v1/orders/{id}"))
                .unwrap_or(HeaderValue::from_static("")),
        );
        headers.insert("etag", HeaderValue::from_static("\"abc\""));
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        let body = json!({
            "id": id, "customer_id": 1, "total": "42.50", "created_at": at,
            "_links": { "self": { "href": format!("/v1/orders/{id}") },
                        "customer": { "href": "/v1/customers/1" } }
        });
        let mut whole = response(201, &headers, &body.to_string());
        mask_created(&mut whole);
        whole
    }

    #[test]
    fn two_creations_differ_only_in_what_the_allow_list_names() {
        let first = created(101, "2026-01-01T00:00:00Z");
        let second = created(102, "2026-01-01T00:00:09Z");

        assert_eq!(first, second);
        assert_eq!(first["headers"]["location"], "/v1/orders/{id}");
        assert_eq!(
            first["body"]["_links"]["customer"]["href"],
            "/v1/customers/1"
        );
        assert!(first["headers"].get("x-request-id").is_none());
    }

    #[test]
    fn any_other_field_still_differs() {
        let first = created(101, "t");
        let mut second = created(102, "t");
        second["body"]["total"] = json!("4250");

        assert_ne!(first, second);
    }

    #[test]
    fn an_id_inside_a_longer_number_is_not_masked() {
        assert_eq!(replace_segment("/v1/orders/1011", "101"), "/v1/orders/1011");
        assert_eq!(
            replace_segment("/v1/orders/101?x", "101"),
            "/v1/orders/{id}?x"
        );
    }

    #[test]
    fn a_read_is_compared_whole() {
        let mut whole = response(200, &HeaderMap::new(), r#"{"id": 1, "created_at": "t"}"#);
        mask_created(&mut whole);

        assert_eq!(whole["body"]["id"], 1);
        assert_eq!(whole["body"]["created_at"], "t");
    }

    #[test]
    fn xml_is_kept_as_text() {
        let whole = response(200, &HeaderMap::new(), "<order><id>1</id></order>");

        assert_eq!(whole["body"], "<order><id>1</id></order>");
    }
}
