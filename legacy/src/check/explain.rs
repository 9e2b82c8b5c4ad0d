//! A broken statement's story, in the scenarios' words: what it does that the schema no
//! longer allows, and whose change that was. Only the database's own message, read against
//! the statement's text, decides which team's table the fault is in.

use std::collections::{BTreeMap, BTreeSet};

use super::Statement;
use super::report::{Break, list_or_none};

/// A statement's failure before it is explained.
#[derive(Debug)]
pub(super) struct Fault {
    pub(super) sqlstate: String,
    pub(super) message: String,
    /// For a 23502 found in the catalog: the table and its unfilled column.
    pub(super) missing: Option<(String, String)>,
}

/// The scenario-style story of a fault: what the statement does that the schema no longer
/// allows, and whose change that was. The other team is blamed only when the database's
/// message places the fault in its table.
pub(super) fn explain(
    statement: &Statement,
    fault: Fault,
    releases: &BTreeMap<&'static str, BTreeSet<String>>,
) -> Break {
    let who = format!("{}::{}", statement.service, statement.name);
    let said = format!("({}: {})", fault.sqlstate, fault.message);
    let verb = statement.verb();
    let located = if let Some((table, column)) = &fault.missing {
        Some((
            table.clone(),
            format!(
                "{who} writes {table} without {column}, which is now required (NOT NULL, no \
                 default): it would fail with 23502 (not-null violation) on column {column}."
            ),
        ))
    } else {
        match fault.sqlstate.as_str() {
            "42703" => undefined_column(&fault.message).and_then(|(qualifier, column)| {
                let table = table_of(&statement.sql, qualifier)?;
                Some((
                    table.to_owned(),
                    format!("{who} {verb} {table}.{column}, which no longer exists {said}."),
                ))
            }),
            "42P01" => fault.message.split('"').nth(1).map(|table| {
                (
                    table.to_owned(),
                    format!("{who} {verb} {table}, a table that no longer exists {said}."),
                )
            }),
            // `new row for relation "customers" violates check constraint "…"`.
            "23514" => {
                let mut quoted = fault.message.split('"').skip(1).step_by(2);
                quoted.next().zip(quoted.next()).map(|(table, constraint)| {
                    (
                        table.to_owned(),
                        format!(
                            "{who} {verb} {table}, whose check constraint {constraint} refuses \
                             the row it writes {said}."
                        ),
                    )
                })
            }
            _ => None,
        }
    };
    let in_other_table = located
        .as_ref()
        .is_some_and(|(table, _)| statement.reaches_into == Some(table.as_str()));
    let what = match located {
        Some((_, what)) => what,
        None => format!("{who} no longer prepares {said}."),
    };
    let shipped = |team: &str| match releases.get(team) {
        Some(ids) if !ids.is_empty() => format!("{team} shipped {}.", list_or_none(ids)),
        _ => format!("{team} has shipped no release."),
    };
    let why = if in_other_table {
        let team = statement.other_team();
        format!(
            "The {team} team changed its table; this statement was written against its old \
             shape and nobody told either team. {}",
            shipped(team)
        )
    } else {
        format!(
            "The {} service's own statement: its team's shape (kept by its releases) does not \
             cover this change to the schema. {}",
            statement.service,
            shipped(statement.service)
        )
    };
    Break {
        sqlstate: fault.sqlstate,
        message: fault.message,
        what,
        why,
    }
}

/// The qualifier (alias or relation) and the column of an undefined-column message:
/// `column c.email does not exist`, `column "email" of relation "customers" does not
/// exist`, `column "total" does not exist`.
fn undefined_column(message: &str) -> Option<(Option<&str>, &str)> {
    let rest = message.strip_prefix("column ")?;
    if let Some((column, relation)) = rest.split_once(" of relation ") {
        let relation = relation.strip_suffix(" does not exist")?;
        return Some((Some(relation.trim_matches('"')), column.trim_matches('"')));
    }
    let name = rest.strip_suffix(" does not exist")?;
    Some(match name.rsplit_once('.') {
        Some((qualifier, column)) => (Some(qualifier.trim_matches('"')), column.trim_matches('"')),
        None => (None, name.trim_matches('"')),
    })
}

/// The table of `sql` that a message's qualifier (an alias or a table name) points at; with
/// no qualifier, the statement's only table. `None` when the text does not say.
fn table_of<'a>(sql: &'a str, qualifier: Option<&str>) -> Option<&'a str> {
    let tables = tables_named(sql);
    match qualifier {
        Some(q) => tables
            .iter()
            .find(|(table, alias)| *table == q || *alias == Some(q))
            .map(|(table, _)| *table),
        None => match tables.as_slice() {
            [(table, _)] => Some(table),
            _ => None,
        },
    }
}

/// The tables a statement names, each with its alias: `FROM orders o LEFT JOIN customers c`
/// gives `orders` as `o` and `customers` as `c`. Enough for this crate's SQL, not a parser.
fn tables_named(sql: &str) -> Vec<(&str, Option<&str>)> {
    const BEFORE_A_TABLE: [&str; 4] = ["FROM", "JOIN", "INTO", "UPDATE"];
    const NOT_AN_ALIAS: [&str; 14] = [
        "WHERE",
        "ON",
        "LEFT",
        "RIGHT",
        "INNER",
        "JOIN",
        "SET",
        "VALUES",
        "ORDER",
        "GROUP",
        "LIMIT",
        "FOR",
        "RETURNING",
        "USING",
    ];
    let is = |token: &str, words: &[&str]| words.iter().any(|w| token.eq_ignore_ascii_case(w));
    let tokens: Vec<&str> = sql.split_whitespace().collect();
    let mut tables: Vec<(&str, Option<&str>)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Some(&table) = tokens.get(i + 1) else {
            continue;
        };
        let identifier = |t: &str| t.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !is(token, &BEFORE_A_TABLE) || !identifier(table) {
            continue;
        }
        let alias = match tokens.get(i + 2) {
            Some(&word) if word.eq_ignore_ascii_case("AS") => tokens.get(i + 3).copied(),
            other => other.copied(),
        }
        .filter(|alias| identifier(alias) && !is(alias, &NOT_AN_ALIAS));
        if !tables.iter().any(|(t, _)| *t == table) {
            tables.push((table, alias));
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_column_in_an_undefined_column_message() {
        assert_eq!(
            undefined_column("column c.email does not exist"),
            Some((Some("c"), "email"))
        );
        assert_eq!(
            undefined_column("column \"email\" of relation \"customers\" does not exist"),
            Some((Some("customers"), "email"))
        );
        assert_eq!(
            undefined_column("column \"name\" does not exist"),
            Some((None, "name"))
        );
        assert_eq!(
            undefined_column("relation \"customers\" does not exist"),
            None
        );
    }

    #[test]
    fn places_a_missing_column_in_the_table_the_message_points_at() {
        let join = "SELECT o.id, c.email AS customer_email
            FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = $1";
        assert_eq!(table_of(join, Some("c")), Some("customers"));
        assert_eq!(table_of(join, Some("o")), Some("orders"));
        // Unqualified, in a join: the text does not say, so nobody is blamed.
        assert_eq!(table_of(join, None), None);
        let one =
            "SELECT count(*) FILTER (WHERE status IN ('NEW')) FROM orders WHERE customer_id = $1";
        assert_eq!(table_of(one, None), Some("orders"));
        let insert = "INSERT INTO customers (name, email) VALUES ($1, $2) RETURNING id";
        assert_eq!(tables_named(insert), [("customers", None)]);
        let update = "UPDATE clients SET phone = $2 WHERE id = $1 AND TRUE FOR UPDATE";
        assert_eq!(tables_named(update), [("clients", None)]);
    }
}
