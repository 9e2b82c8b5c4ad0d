//! What counts as breaking, case by case: each test changes one thing in a small document.
use super::breaking_changes;
use serde_json::{Value, json};

/// A document with one `GET /v1/things/{id}` answering a `Thing`, and a
/// `POST /v1/things` taking a `NewThing`; `edit` changes it before it is returned.
fn document(edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "things API", "version": "1" },
        "paths": {
            "/v1/things/{id}": {
                "get": {
                    "parameters": [
                        { "name": "id", "in": "path", "required": true,
                          "schema": { "type": "integer" } },
                        { "name": "fields", "in": "query", "required": false,
                          "schema": { "type": "string" } }
                    ],
                    "responses": {
                        "200": { "description": "the thing", "content": {
                            "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
                        "404": { "description": "none", "content": {
                            "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
                    }
                },
                "delete": { "responses": { "204": { "description": "gone" } } }
            },
            "/v1/things": {
                "post": {
                    "requestBody": { "required": true, "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/NewThing" } } } },
                    "responses": {
                        "201": { "description": "created", "content": {
                            "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } }
                    }
                }
            }
        },
        "components": { "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "status", "owner", "tags"],
                "properties": {
                    "id": { "type": "integer" },
                    "status": { "type": "string", "enum": ["new", "done"] },
                    "note": { "type": ["string", "null"] },
                    "owner": { "oneOf": [ { "type": "null" }, { "$ref": "#/components/schemas/Owner" } ] },
                    "tags": { "type": "array", "items": { "$ref": "#/components/schemas/Tag" } }
                }
            },
            "Owner": { "type": "object", "required": ["name"],
                       "properties": { "name": { "type": "string" }, "email": { "type": "string" } } },
            "Tag": { "type": "object", "required": ["label"],
                     "properties": { "label": { "type": "string" } } },
            "NewThing": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": false,
                "properties": {
                    "name": { "type": "string" },
                    "note": { "type": ["string", "null"] },
                    "kind": { "type": "string", "enum": ["a", "b"] }
                }
            },
            "Problem": { "type": "object", "required": ["type", "title", "status"],
                         "properties": { "type": { "type": "string" }, "title": { "type": "string" },
                                         "status": { "type": "integer" } } }
        } }
    });
    edit(&mut doc);
    doc
}

fn remove(value: &mut Value, pointer: &str, key: &str) {
    value
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .map(|object| object.remove(key))
        .unwrap_or_else(|| panic!("{pointer}/{key} is in the test document"));
}

fn changes(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    breaking_changes(&document(|_| {}), &document(edit))
}

#[test]
fn finds_nothing_between_a_document_and_itself() {
    assert_eq!(changes(|_| {}), Vec::<String>::new());
}

#[test]
fn reports_a_removed_path() {
    assert_eq!(
        changes(|doc| remove(doc, "/paths", "/v1/things")),
        ["removed path /v1/things"]
    );
}

#[test]
fn reports_a_removed_operation_on_a_kept_path() {
    assert_eq!(
        changes(|doc| remove(doc, "/paths/~1v1~1things~1{id}", "delete")),
        ["removed operation DELETE /v1/things/{id}"]
    );
}

#[test]
fn reports_a_removed_response_status() {
    assert_eq!(
        changes(|doc| remove(doc, "/paths/~1v1~1things~1{id}/get/responses", "404")),
        ["GET /v1/things/{id}: removed response 404"]
    );
}

#[test]
fn reports_a_removed_response_property_through_refs_in_every_response() {
    assert_eq!(
        changes(|doc| remove(doc, "/components/schemas/Thing/properties", "note")),
        [
            "GET /v1/things/{id} 200 response: removed property note",
            "POST /v1/things 201 response: removed property note",
        ]
    );
}

#[test]
fn reports_a_removed_property_nested_in_a_nullable_object_and_in_array_items() {
    let found = changes(|doc| {
        remove(doc, "/components/schemas/Owner/properties", "email");
        remove(doc, "/components/schemas/Tag/properties", "label");
    });
    assert!(
        found
            .contains(&"GET /v1/things/{id} 200 response: removed property owner.email".to_owned()),
        "{found:#?}"
    );
    assert!(
        found.contains(
            &"GET /v1/things/{id} 200 response: removed property tags[].label".to_owned()
        ),
        "{found:#?}"
    );
}

#[test]
fn reports_a_removed_problem_member() {
    let found = changes(|doc| remove(doc, "/components/schemas/Problem/properties", "title"));
    assert_eq!(
        found,
        ["GET /v1/things/{id} 404 response: removed property title"]
    );
}

#[test]
fn reports_a_response_property_that_may_now_be_absent() {
    let found = changes(|doc| {
        doc["components"]["schemas"]["Thing"]["required"] = json!(["id", "status", "owner"])
    });
    assert_eq!(
        found,
        [
            "GET /v1/things/{id} 200 response: property tags may now be absent",
            "POST /v1/things 201 response: property tags may now be absent",
        ]
    );
}

#[test]
fn reports_a_request_property_that_becomes_required() {
    let found = changes(|doc| {
        doc["components"]["schemas"]["NewThing"]["required"] = json!(["name", "note"])
    });
    assert_eq!(
        found,
        ["POST /v1/things request body: property note is now required"]
    );
}

#[test]
fn reports_a_new_required_request_property() {
    let found = changes(|doc| {
        let new_thing = &mut doc["components"]["schemas"]["NewThing"];
        new_thing["properties"]["size"] = json!({ "type": "integer" });
        new_thing["required"] = json!(["name", "size"]);
    });
    assert_eq!(
        found,
        ["POST /v1/things request body: new required property size"]
    );
}

#[test]
fn reports_a_removed_request_property_when_unknown_ones_are_refused() {
    let found = changes(|doc| remove(doc, "/components/schemas/NewThing/properties", "note"));
    assert_eq!(
        found,
        ["POST /v1/things request body: removed property note (unknown properties are refused)"]
    );
}

#[test]
fn reports_a_new_required_parameter() {
    let found = changes(|doc| {
        doc["paths"]["/v1/things/{id}"]["get"]["parameters"][1]["required"] = json!(true);
    });
    assert_eq!(
        found,
        ["GET /v1/things/{id}: query parameter fields is now required"]
    );
}

#[test]
fn reports_enum_values_a_client_does_not_know_or_may_no_longer_send() {
    let found = changes(|doc| {
        let schemas = &mut doc["components"]["schemas"];
        schemas["Thing"]["properties"]["status"]["enum"] = json!(["new", "done", "lost"]);
        schemas["NewThing"]["properties"]["kind"]["enum"] = json!(["a"]);
    });
    assert_eq!(
        found,
        [
            "GET /v1/things/{id} 200 response: status has the new value \"lost\"",
            "POST /v1/things request body: kind no longer accepts \"b\"",
            "POST /v1/things 201 response: status has the new value \"lost\"",
        ]
    );
}

#[test]
fn reports_a_changed_type() {
    let found = changes(|doc| {
        doc["components"]["schemas"]["Tag"]["properties"]["label"] = json!({ "type": "integer" });
    });
    assert_eq!(
        found,
        [
            "GET /v1/things/{id} 200 response: tags[].label may now be integer",
            "POST /v1/things 201 response: tags[].label may now be integer",
        ]
    );
}

#[test]
fn adding_an_optional_field_a_response_field_or_a_path_is_not_breaking() {
    let found = changes(|doc| {
        let schemas = &mut doc["components"]["schemas"];
        schemas["NewThing"]["properties"]["colour"] = json!({ "type": "string" });
        schemas["Thing"]["properties"]["colour"] = json!({ "type": "string" });
        schemas["Thing"]["required"] = json!(["id", "status", "owner", "tags", "colour"]);
        schemas["NewThing"]["required"] = json!([]);
        doc["paths"]["/v1/things/{id}"]["patch"] =
            json!({ "responses": { "200": { "description": "ok" } } });
        doc["paths"]["/v1/other"] =
            json!({ "get": { "responses": { "200": { "description": "ok" } } } });
        doc["paths"]["/v1/things/{id}"]["get"]["responses"]["304"] =
            json!({ "description": "same" });
    });
    assert_eq!(found, Vec::<String>::new());
}
