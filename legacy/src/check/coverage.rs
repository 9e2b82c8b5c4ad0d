//! For each service's `db.rs` tests: proof that the check's statements are the code's.

use super::Statement;
use super::not_null::insert_target;

/// For each service's `db.rs` tests: every query in `source` (the file's text) runs a
/// statement that `listed` holds, and takes its SQL from a named function or const, never
/// from a literal that the list could miss.
pub(crate) fn assert_lists_every_query(source: &str, listed: &[Statement]) {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let queries: Vec<&str> = code
        .match_indices("sqlx::query")
        .map(|(at, _)| &code[at..])
        .collect();
    for query in &queries {
        let argument = query
            .split_once('(')
            .map(|(_, rest)| rest.trim_start())
            .unwrap_or_default();
        assert!(
            !argument.starts_with('"') && !argument.starts_with("&format!"),
            "SQL written inline, where the check cannot see it: {}",
            query.lines().next().unwrap_or_default()
        );
    }
    let functions: Vec<&str> = code
        .match_indices("pub async fn ")
        .filter_map(|(at, found)| code[at + found.len()..].split(['(', '<']).next())
        .collect();
    assert_eq!(listed.len(), queries.len(), "one statement per query");
    for function in &functions {
        assert!(
            listed
                .iter()
                .any(|s| s.name == *function || s.name.starts_with(&format!("{function} ("))),
            "{function} runs SQL that the check does not prepare"
        );
    }
    for statement in listed {
        assert!(
            functions
                .iter()
                .any(|f| statement.name.split(" (").next() == Some(f)),
            "{} is no function of db.rs",
            statement.name
        );
        if statement
            .sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("INSERT")
        {
            assert!(insert_target(&statement.sql).is_some(), "{}", statement.sql);
        }
    }
}
