//! Content negotiation: JSON by default, XML when the client asks for it, 406 for what no
//! service here can produce. Services build one JSON representation; the XML one is derived
//! from it by fixed rules, so the two cannot drift apart:
//!
//! - the resource is an element named by the service (`<order>`), each member a child
//!   element, an array's entries `<item>` elements, a null an empty element with `nil="true"`;
//! - `_links: {"self": {"href": ...}}` becomes `<link rel="self" href="..."/>`.
//!
//! [`negotiate`] does it for a whole router: it answers 406 before a handler runs, and turns
//! a successful JSON answer into XML after. Problems stay problem+json.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

use super::Problem;

/// A representation format this kit can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The first acceptable format in the client's `Accept` header (none means JSON);
    /// a 406 problem when it accepts neither.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, NotAcceptable> {
        let accept: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|range| {
                let range = range.trim();
                let refused = range
                    .split(';')
                    .skip(1)
                    .any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                (!refused).then(|| range.split(';').next().unwrap_or_default().trim())
            })
            .filter(|range| !range.is_empty())
            .collect();
        if accept.is_empty() {
            return Ok(Self::Json);
        }
        accept
            .iter()
            .find_map(|range| match *range {
                "application/json" | "application/*" | "*/*" => Some(Self::Json),
                "application/xml" | "text/xml" => Some(Self::Xml),
                other if other.starts_with("application/") && other.ends_with("+json") => {
                    Some(Self::Json)
                }
                _ => None,
            })
            .ok_or(NotAcceptable)
    }
}

/// The client accepts no format this service produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not acceptable")]
pub struct NotAcceptable;

impl NotAcceptable {
    /// The 406 problem.
    pub fn to_problem(self) -> Problem {
        Problem::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Not acceptable",
        )
        .detail("This resource is available as application/json or application/xml.")
    }
}

impl IntoResponse for NotAcceptable {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

/// Names the XML root element of what a method on a route answers with
/// (e.g. `GET /v1/orders/{id}` → `order`).
pub type RootOf = fn(&axum::http::Method, &str) -> &'static str;

/// Middleware for a router's representations; add it with `route_layer` so that the
/// matched route is known: `.route_layer(from_fn_with_state(root_of, negotiate))`.
pub async fn negotiate(
    axum::extract::State(root_of): axum::extract::State<RootOf>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let format = match Format::from_headers(request.headers()) {
        Ok(format) => format,
        Err(refused) => return refused.into_response(),
    };
    let root = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("resource", |path| root_of(request.method(), path.as_str()));
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if format == Format::Json || !is_json || !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let value: Value = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(err) => {
            tracing::error!(%err, "cannot read a representation to convert it");
            return Problem::internal().into_response();
        }
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    // Same state, other bytes: the XML form's validator is weak.
    if let Some(tag) = parts
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        && !tag.starts_with("W/")
        && let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}"))
    {
        parts.headers.insert(header::ETAG, weak);
    }
    Response::from_parts(parts, axum::body::Body::from(to_xml(root, &value)))
}

/// The XML form of a JSON representation, by the rules in this module's header.
pub fn to_xml(root: &str, value: &Value) -> String {
    let mut writer = Writer::new(Vec::new());
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    element(&mut writer, root, value);
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

fn element(writer: &mut Writer<Vec<u8>>, name: &str, value: &Value) {
    // Writing to a Vec cannot fail; the results are ignored on purpose.
    match value {
        Value::Null => {
            let _ = writer.write_event(Event::Empty(
                BytesStart::new(name).with_attributes([("nil", "true")]),
            ));
        }
        Value::Object(members) => {
            let _ = writer.write_event(Event::Start(BytesStart::new(name)));
            for (key, member) in members {
                if key == "_links" {
                    links(writer, member);
                } else {
                    element(writer, key, member);
                }
            }
            let _ = writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Value::Array(entries) => {
            let _ = writer.write_event(Event::Start(BytesStart::new(name)));
            for entry in entries {
                element(writer, "item", entry);
            }
            let _ = writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Value::String(text) => text_element(writer, name, text),
        other => text_element(writer, name, &other.to_string()),
    }
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) {
    let _ = writer.write_event(Event::Start(BytesStart::new(name)));
    let _ = writer.write_event(Event::Text(BytesText::new(text)));
    let _ = writer.write_event(Event::End(BytesEnd::new(name)));
}

fn links(writer: &mut Writer<Vec<u8>>, links: &Value) {
    let Value::Object(links) = links else { return };
    for (rel, link) in links {
        if let Some(href) = link["href"].as_str() {
            let start =
                BytesStart::new("link").with_attributes([("rel", rel.as_str()), ("href", href)]);
            let _ = writer.write_event(Event::Empty(start));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn picks_the_first_format_the_client_accepts() {
        assert_eq!(
            Format::from_headers(&HeaderMap::new()).unwrap(),
            Format::Json
        );
        assert_eq!(Format::from_headers(&accept("*/*")).unwrap(), Format::Json);
        assert_eq!(
            Format::from_headers(&accept("application/xml")).unwrap(),
            Format::Xml
        );
        assert_eq!(
            Format::from_headers(&accept("text/html, text/xml;q=0.9")).unwrap(),
            Format::Xml
        );
        assert_eq!(
            Format::from_headers(&accept("application/json;q=0, application/xml")).unwrap(),
            Format::Xml
        );
        assert_eq!(
            Format::from_headers(&accept("text/csv")),
            Err(NotAcceptable)
        );
    }

    #[test]
    fn writes_links_as_link_elements_and_nulls_as_nil() {
        let value = json!({
            "id": 1, "total": "9.50", "customer": null, "tags": ["a", "<b>"],
            "_links": { "self": { "href": "/v1/orders/1" } }
        });

        let xml = to_xml("order", &value);

        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(xml.contains("<order><id>1</id>"), "{xml}");
        assert!(xml.contains("<total>9.50</total>"), "{xml}");
        assert!(xml.contains("<customer nil=\"true\"/>"), "{xml}");
        assert!(
            xml.contains("<tags><item>a</item><item>&lt;b&gt;</item></tags>"),
            "{xml}"
        );
        assert!(
            xml.contains("<link rel=\"self\" href=\"/v1/orders/1\"/>"),
            "{xml}"
        );
        assert!(xml.ends_with("</order>"), "{xml}");
    }
}
