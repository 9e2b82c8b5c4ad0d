//! Breaking changes between two OpenAPI 3.1 documents of one service: what a client written
//! against the old document would trip over if the new one were served.
//!
//! [`breaking_changes`] compares JSON documents, not Rust types, so it works on the document
//! committed to the repository as much as on the one a service serves. It reports, one
//! readable line each:
//!
//! - a removed path, a removed operation (method) on a kept path;
//! - a removed response status of a kept operation, a removed media type of a kept response;
//! - in a response body (any JSON media type, `$ref`s followed, nested objects, arrays and
//!   `allOf`/`oneOf`/`anyOf` looked through): a removed property, a property that was
//!   always present and may now be absent, a type the client did not expect, an enum value
//!   the client never saw;
//! - in a request body: a property that is newly required (or a new required property), a
//!   body that becomes required, a removed property when unknown ones are refused
//!   (`additionalProperties: false`), a type or an enum value no longer accepted;
//! - a parameter that is new and required, or that becomes required.
//!
//! Adding paths, operations, responses, optional request properties or response properties
//! is not breaking. The comparison is structural and deliberately simple: it does not
//! reason about `not`, `if`/`then`, pattern or length constraints.

use serde_json::{Map, Value};

use shape::Shape;

/// The HTTP methods an OpenAPI path item may hold, in the order they are reported.
const METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// How deep `$ref`s and nested schemas are followed; recursive schemas stop here.
const MAX_DEPTH: usize = 32;

/// Every change in `new` that breaks a client of `old`, one readable line each, in
/// document order. Empty when `new` is a compatible evolution of `old`.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let docs = Docs { old, new };
    let mut found = Vec::new();
    let empty = Map::new();
    let old_paths = old["paths"].as_object().unwrap_or(&empty);
    let new_paths = new["paths"].as_object().unwrap_or(&empty);
    for (path, old_item) in old_paths {
        let Some(new_item) = new_paths.get(path) else {
            found.push(format!("removed path {path}"));
            continue;
        };
        let old_item = resolve(old, old_item);
        let new_item = resolve(new, new_item);
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else {
                continue;
            };
            let operation = format!("{} {path}", method.to_uppercase());
            match new_item.get(method) {
                None => found.push(format!("removed operation {operation}")),
                Some(new_op) => {
                    let params = (old_item.get("parameters"), new_item.get("parameters"));
                    docs.operation(&operation, params, old_op, new_op, &mut found);
                }
            }
        }
    }
    found
}

/// Follows `$ref`s that point into the same document (`#/components/...`).
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) if pointer.starts_with('#') => match doc.pointer(&pointer[1..]) {
                Some(target) => value = target,
                None => return value,
            },
            _ => return value,
        }
    }
    value
}

fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Which way data flows through a schema: what a client must cope with differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The server writes it, the client reads it.
    Response,
    /// The client writes it, the server reads it.
    Request,
}

#[derive(Debug, Clone, Copy)]
struct Docs<'a> {
    old: &'a Value,
    new: &'a Value,
}

impl<'a> Docs<'a> {
    fn operation(
        self,
        operation: &str,
        (old_shared, new_shared): (Option<&'a Value>, Option<&'a Value>),
        old_op: &'a Value,
        new_op: &'a Value,
        found: &mut Vec<String>,
    ) {
        self.parameters(
            operation,
            [old_shared, old_op.get("parameters")],
            [new_shared, new_op.get("parameters")],
            found,
        );
        self.request_body(operation, old_op, new_op, found);
        let empty = Map::new();
        let old_responses = old_op["responses"].as_object().unwrap_or(&empty);
        let new_responses = new_op["responses"].as_object().unwrap_or(&empty);
        for (status, old_response) in old_responses {
            let Some(new_response) = new_responses.get(status) else {
                found.push(format!("{operation}: removed response {status}"));
                continue;
            };
            let old_content = resolve(self.old, old_response)["content"].as_object();
            let new_content = resolve(self.new, new_response)["content"].as_object();
            for (media_type, old_media) in old_content.into_iter().flatten() {
                let Some(new_media) = new_content.and_then(|content| content.get(media_type))
                else {
                    found.push(format!(
                        "{operation} {status}: no longer answers {media_type}"
                    ));
                    continue;
                };
                if is_json(media_type) {
                    self.schema(
                        Flow::Response,
                        &format!("{operation} {status} response"),
                        "",
                        (&old_media["schema"], &new_media["schema"]),
                        0,
                        found,
                    );
                }
            }
        }
    }

    fn parameters(
        self,
        operation: &str,
        old: [Option<&'a Value>; 2],
        new: [Option<&'a Value>; 2],
        found: &mut Vec<String>,
    ) {
        let list = |doc: &'a Value, lists: [Option<&'a Value>; 2]| -> Vec<&'a Value> {
            // Operation-level parameters override path-level ones of the same name and place.
            let mut all: Vec<&'a Value> = Vec::new();
            for parameter in lists
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
            {
                let parameter = resolve(doc, parameter);
                all.retain(|known| {
                    (known.get("name"), known.get("in"))
                        != (parameter.get("name"), parameter.get("in"))
                });
                all.push(parameter);
            }
            all
        };
        let old = list(self.old, old);
        for parameter in list(self.new, new) {
            let name = parameter["name"].as_str().unwrap_or("?");
            let place = parameter["in"].as_str().unwrap_or("?");
            let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
            let before = old.iter().find(|p| {
                p.get("name") == parameter.get("name") && p.get("in") == parameter.get("in")
            });
            match before {
                None if required(parameter) => found.push(format!(
                    "{operation}: new required {place} parameter {name}"
                )),
                Some(before) if required(parameter) && !required(before) => found.push(format!(
                    "{operation}: {place} parameter {name} is now required"
                )),
                Some(before) => self.schema(
                    Flow::Request,
                    &format!("{operation} {place} parameter {name}"),
                    "",
                    (&before["schema"], &parameter["schema"]),
                    0,
                    found,
                ),
                None => {}
            }
        }
    }

    fn request_body(
        self,
        operation: &str,
        old_op: &'a Value,
        new_op: &'a Value,
        found: &mut Vec<String>,
    ) {
        let Some(new_body) = new_op.get("requestBody").map(|b| resolve(self.new, b)) else {
            return;
        };
        let required = |body: &Value| body.get("required") == Some(&Value::Bool(true));
        let Some(old_body) = old_op.get("requestBody").map(|b| resolve(self.old, b)) else {
            if required(new_body) {
                found.push(format!("{operation}: new required request body"));
            }
            return;
        };
        if required(new_body) && !required(old_body) {
            found.push(format!("{operation}: request body is now required"));
        }
        let new_content = new_body["content"].as_object();
        for (media_type, old_media) in old_body["content"].as_object().into_iter().flatten() {
            let Some(new_media) = new_content.and_then(|content| content.get(media_type)) else {
                found.push(format!("{operation}: no longer accepts {media_type}"));
                continue;
            };
            if is_json(media_type) {
                self.schema(
                    Flow::Request,
                    &format!("{operation} request body"),
                    "",
                    (&old_media["schema"], &new_media["schema"]),
                    0,
                    found,
                );
            }
        }
    }

    /// Compares one schema of a body or parameter, and the schemas nested in it.
    fn schema(
        self,
        flow: Flow,
        place: &str,
        at: &str,
        (old, new): (&'a Value, &'a Value),
        depth: usize,
        found: &mut Vec<String>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let old = Shape::of(self.old, old, depth);
        let new = Shape::of(self.new, new, depth);
        let named = |name: &str| {
            if at.is_empty() {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            }
        };
        let this = if at.is_empty() { "the value" } else { at };
        // Values: a reader must know every one it gets, a writer may only send known ones.
        let (narrow, wide) = match flow {
            Flow::Response => (&old, &new),
            Flow::Request => (&new, &old),
        };
        if let (Some(narrow), Some(wide)) = (&narrow.types, &wide.types) {
            let extra: Vec<&str> = wide.difference(narrow).copied().collect();
            // An integer is a number; a reader of numbers can read integers.
            let extra: Vec<&str> = extra
                .into_iter()
                .filter(|t| !(*t == "integer" && narrow.contains("number")))
                .collect();
            if !extra.is_empty() && !narrow.is_empty() {
                found.push(match flow {
                    Flow::Response => format!("{place}: {this} may now be {}", extra.join(" or ")),
                    Flow::Request => {
                        format!("{place}: {this} may no longer be {}", extra.join(" or "))
                    }
                });
            }
        }
        match (&narrow.enum_values, &wide.enum_values) {
            (Some(narrow_values), Some(wide_values)) => {
                for value in wide_values {
                    if !narrow_values.contains(value) {
                        found.push(match flow {
                            Flow::Response => format!("{place}: {this} has the new value {value}"),
                            Flow::Request => format!("{place}: {this} no longer accepts {value}"),
                        });
                    }
                }
            }
            (Some(narrow_values), None) => {
                let listed: Vec<String> = narrow_values.iter().map(|v| v.to_string()).collect();
                found.push(match flow {
                    Flow::Response => format!(
                        "{place}: {this} is no longer limited to {}",
                        listed.join(", ")
                    ),
                    Flow::Request => {
                        format!("{place}: {this} is now limited to {}", listed.join(", "))
                    }
                });
            }
            _ => {}
        }
        for (name, old_property) in &old.properties {
            let path = named(name);
            let Some(new_property) = new.property(name) else {
                match flow {
                    Flow::Response => found.push(format!("{place}: removed property {path}")),
                    Flow::Request if new.closed => found.push(format!(
                        "{place}: removed property {path} (unknown properties are refused)"
                    )),
                    Flow::Request => {}
                }
                continue;
            };
            match flow {
                Flow::Response if old.required.contains(name) && !new.required.contains(name) => {
                    found.push(format!("{place}: property {path} may now be absent"));
                }
                Flow::Request if new.required.contains(name) && !old.required.contains(name) => {
                    found.push(format!("{place}: property {path} is now required"));
                }
                _ => {}
            }
            self.schema(
                flow,
                place,
                &path,
                (old_property, new_property),
                depth + 1,
                found,
            );
        }
        if flow == Flow::Request {
            for (name, _) in &new.properties {
                if old.property(name).is_none() && new.required.contains(name) {
                    found.push(format!("{place}: new required property {}", named(name)));
                }
            }
        }
        for old_items in &old.items {
            for new_items in &new.items {
                let path = format!("{at}[]");
                self.schema(flow, place, &path, (old_items, new_items), depth + 1, found);
            }
        }
    }
}

mod shape;
#[cfg(test)]
mod tests;
