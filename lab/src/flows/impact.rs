//! How a flow's answer after a release compares with its answer before: unaffected, loud,
//! silent, or a contract change (v1 the same, a newer version published beside it).

use serde_json::Value;

use super::Answer;
use crate::scenario::Outcome;

/// How a flow's answer after a release compares with its answer before.
#[derive(Debug, Clone, PartialEq)]
pub enum Impact {
    Unaffected,
    /// A server error: the status and problem type, and the error the service logged.
    Loud {
        error: String,
        sqlstate: Option<String>,
    },
    /// A different answer without a server error: what it was and what it became.
    Silent {
        expected: String,
        observed: String,
    },
    /// The v1 answer is the same, whole, and the owner published a newer version of the
    /// resource beside it: what the newer version answered before, and answers now.
    ContractChange {
        published: String,
    },
}

impl Impact {
    pub fn outcome(&self) -> Outcome {
        match self {
            Impact::Unaffected => Outcome::Unaffected,
            Impact::Loud { .. } => Outcome::Loud,
            Impact::Silent { .. } => Outcome::Silent,
            Impact::ContractChange { .. } => Outcome::ContractChange,
        }
    }

    /// The impact in a line: the error, or expected versus observed.
    pub fn detail(&self) -> String {
        match self {
            Impact::Unaffected => String::new(),
            Impact::Loud { error, .. } => error.clone(),
            Impact::Silent { expected, observed } => {
                format!("expected {expected}; observed {observed}")
            }
            Impact::ContractChange { published } => published.clone(),
        }
    }
}

/// Compares a flow's answers before and after: equal is unaffected, a 5xx is loud, any
/// other difference is silent; equal, with a newer version published beside it, is a
/// contract change.
pub fn impact(before: &Answer, after: &Answer) -> Impact {
    if before.value == after.value && before.whole == after.whole {
        if before.versions == after.versions {
            return Impact::Unaffected;
        }
        let request = after.versions["request"]
            .as_str()
            .unwrap_or("the newer version");
        if after.versions["status"] == 200 && before.versions["status"] != 200 {
            return Impact::ContractChange {
                published: format!(
                    "v1 answers as before, whole; {request} was {}, now {}: {}",
                    summary(&before.versions),
                    summary(&after.versions),
                    after.versions["body"]
                ),
            };
        }
        // The newer version changed some other way: withdrawn, failing, different.
        return Impact::Silent {
            expected: format!("{request} {}", summary(&before.versions)),
            observed: format!("{request} {}", summary(&after.versions)),
        };
    }
    if before.value == after.value {
        // The business fields held, but the whole response did not: a header, a link,
        // a field outside the projection, the XML.
        let mut changes = Vec::new();
        diff("", &before.whole, &after.whole, &mut changes);
        let (expected, observed): (Vec<_>, Vec<_>) = changes.into_iter().unzip();
        return Impact::Silent {
            expected: expected.join(", "),
            observed: observed.join(", "),
        };
    }
    if after.status() >= 500 {
        let logged = after
            .logged
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let problem = after.value["type"].as_str().unwrap_or("no problem type");
        let error = if logged.is_empty() {
            format!("HTTP {} {problem}", after.status())
        } else {
            format!("HTTP {} {problem}; logged {logged}", after.status())
        };
        return Impact::Loud {
            error,
            sqlstate: after.sqlstate().map(str::to_owned),
        };
    }
    let (expected, observed) = if before.status() == after.status() {
        let mut changes = Vec::new();
        diff(
            "",
            &before.value["body"],
            &after.value["body"],
            &mut changes,
        );
        changes.into_iter().unzip::<_, _, Vec<_>, Vec<_>>()
    } else {
        (vec![summary(&before.value)], vec![summary(&after.value)])
    };
    Impact::Silent {
        expected: expected.join(", "),
        observed: observed.join(", "),
    }
}

/// "HTTP 409 /problems/customer-has-open-orders", or "HTTP 201".
fn summary(value: &Value) -> String {
    match value["type"].as_str() {
        Some(problem) => format!("HTTP {} {problem}", value["status"]),
        None => format!("HTTP {}", value["status"]),
    }
}

/// The leaves that differ between `a` and `b`, as "path value" pairs.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff(
                    &path,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (a, b)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), a, b, out);
            }
        }
        _ if a != b => {
            let name = if path.is_empty() { "body" } else { path };
            out.push((format!("{name} {a}"), format!("{name} {b}")));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(value: Value) -> Answer {
        Answer {
            value,
            logged: Vec::new(),
            degraded: false,
            whole: Value::Null,
            versions: Value::Null,
        }
    }

    #[test]
    fn equal_answers_are_unaffected() {
        let a = answer(json!({ "status": 200, "body": { "n": 1 } }));
        assert_eq!(impact(&a, &a.clone()), Impact::Unaffected);
    }

    #[test]
    fn a_server_error_is_loud_and_carries_what_was_logged() {
        let before = answer(json!({ "status": 200, "body": { "n": 1 } }));
        let mut after = answer(json!({ "status": 500, "type": "/problems/internal" }));
        after.logged.push(chassis::telemetry::LoggedError {
            message: "request failed".into(),
            error: Some("column c.email does not exist".into()),
            sqlstate: Some("42703".into()),
        });
        let Impact::Loud { error, sqlstate } = impact(&before, &after) else {
            panic!("not loud");
        };
        assert_eq!(sqlstate.as_deref(), Some("42703"));
        assert_eq!(
            error,
            "HTTP 500 /problems/internal; logged SQLSTATE 42703: column c.email does not exist"
        );
    }

    #[test]
    fn a_changed_value_is_silent_and_names_the_field() {
        let before = answer(json!({ "status": 200, "body": { "count": 3, "name": "Ada" } }));
        let after = answer(json!({ "status": 200, "body": { "count": 0, "name": "Ada" } }));
        assert_eq!(
            impact(&before, &after),
            Impact::Silent {
                expected: "count 3".into(),
                observed: "count 0".into()
            }
        );
    }

    #[test]
    fn a_change_outside_the_projection_is_silent_and_names_it() {
        let mut before = answer(json!({ "status": 200, "body": { "name": "Ada" } }));
        before.whole = json!({ "headers": { "etag": "\"1\"" }, "body": { "phone": "1" } });
        let mut after = before.clone();
        after.whole["body"]["phone"] = json!(null);

        assert_eq!(
            impact(&before, &after),
            Impact::Silent {
                expected: "body.phone \"1\"".into(),
                observed: "body.phone null".into()
            }
        );
    }

    #[test]
    fn a_changed_status_below_500_is_silent() {
        let before = answer(json!({ "status": 409, "type": "/problems/customer-has-open-orders" }));
        let after = answer(json!({ "status": 204, "body": null }));
        assert_eq!(
            impact(&before, &after).detail(),
            "expected HTTP 409 /problems/customer-has-open-orders; observed HTTP 204"
        );
    }
}
