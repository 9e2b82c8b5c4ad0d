//! The probes: for each object of another service, the statements that would touch it,
//! written so that they touch nothing even where they get through (zero rows, and the
//! caller rolls every one back). Only `nextval` cannot be undone: a sequence that lets a
//! stranger in loses one value, the one trace a probe can leave, and only through a hole.

use super::Found;
use crate::walls::plan::{ident, literal};

/// How a probe's outcome is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Open when the statement runs.
    Runs,
    /// Open when the statement's count is above zero (the rows are there but hidden).
    Sees,
}

/// One statement to try, and what it tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub target: String,
    pub wall: &'static str,
    pub object: String,
    pub sql: String,
    pub check: Check,
}

fn attempt(target: &str, wall: &'static str, object: String, sql: String) -> Attempt {
    Attempt {
        target: target.to_owned(),
        wall,
        object,
        sql,
        check: Check::Runs,
    }
}

/// Every probe of `target`'s objects as `found` lists them.
pub fn against(target: &str, found: &Found) -> Vec<Attempt> {
    let mut out = Vec::new();
    for relation in &found.relations {
        let name = format!("{}.{}", ident(&relation.schema), ident(&relation.name));
        let object = format!("{}.{}", relation.schema, relation.name);
        let mut probe = |wall, sql: String| out.push(attempt(target, wall, object.clone(), sql));
        match relation.kind.as_str() {
            "r" | "p" => {
                probe("select", format!("SELECT 1 FROM {name} LIMIT 1"));
                if let Some(column) = &relation.column {
                    let c = ident(column);
                    probe(
                        "insert",
                        format!("INSERT INTO {name} ({c}) SELECT NULL WHERE false"),
                    );
                    probe(
                        "update",
                        format!("UPDATE {name} SET {c} = NULL WHERE false"),
                    );
                }
                probe("delete", format!("DELETE FROM {name} WHERE false"));
                probe("truncate", format!("TRUNCATE {name} CASCADE"));
                probe(
                    "alter",
                    format!("ALTER TABLE {name} ADD COLUMN kit_walls_probe integer"),
                );
                probe("drop", format!("DROP TABLE {name} CASCADE"));
            }
            "v" | "m" => probe("view", format!("SELECT 1 FROM {name} LIMIT 1")),
            "S" => probe("sequence", format!("SELECT nextval({})", literal(&name))),
            _ => {}
        }
    }
    for function in &found.functions {
        // A sub-select per argument: never folded away before the privilege check, and
        // `WHERE false` keeps the body from running where the call is allowed.
        let arguments: Vec<String> = function
            .arguments
            .iter()
            .map(|t| format!("(SELECT NULL::{t})"))
            .collect();
        out.push(attempt(
            target,
            "function",
            format!(
                "{}.{}({})",
                function.schema,
                function.name,
                function.arguments.join(", ")
            ),
            format!(
                "SELECT {}.{}({}) WHERE false",
                ident(&function.schema),
                ident(&function.name),
                arguments.join(", ")
            ),
        ));
    }
    for schema in &found.schemas {
        out.push(create_in(target, schema));
    }
    for role in &found.roles {
        out.push(attempt(
            target,
            "set role",
            role.clone(),
            format!("SET LOCAL ROLE {}", ident(role)),
        ));
    }
    out
}

/// CREATE in `schema`.
pub fn create_in(target: &str, schema: &str) -> Attempt {
    attempt(
        target,
        "create",
        schema.to_owned(),
        format!("CREATE TABLE {}.kit_walls_probe ()", ident(schema)),
    )
}

/// Large objects live outside every schema: creating one is the probe.
pub fn large_objects() -> Attempt {
    attempt(
        "shared",
        "large objects",
        "lo_create".to_owned(),
        "SELECT lo_create(0)".to_owned(),
    )
}

/// The column statistics of `tables` that the prober can see (pg_stats shows a column's
/// values only to who may SELECT it).
pub fn pg_stats(target: &str, tables: &[(String, String)]) -> Attempt {
    let pairs: Vec<String> = tables
        .iter()
        .map(|(s, t)| format!("({}, {})", literal(s), literal(t)))
        .collect();
    Attempt {
        target: target.to_owned(),
        wall: "pg_stats",
        object: format!("{} tables' column values", tables.len()),
        sql: format!(
            "SELECT count(*) FROM pg_catalog.pg_stats \
             WHERE (schemaname::text, tablename::text) IN (VALUES {})",
            pairs.join(", ")
        ),
        check: Check::Sees,
    }
}

/// The statement texts of `roles` that the prober can read in pg_stat_statements (in
/// `schema`); a stranger sees `<insufficient privilege>` in their place.
pub fn statements(target: &str, schema: &str, roles: &[String]) -> Attempt {
    Attempt {
        target: target.to_owned(),
        wall: "pg_stat_statements",
        object: format!("statement texts of {}", roles.join(", ")),
        sql: statements_sql(schema, roles, true),
        check: Check::Sees,
    }
}

/// Counts `roles`' rows in pg_stat_statements; `readable` keeps only those whose text
/// shows.
pub fn statements_sql(schema: &str, roles: &[String], readable: bool) -> String {
    let roles: Vec<String> = roles.iter().map(|r| literal(r)).collect();
    let filter = if readable {
        " AND s.query IS DISTINCT FROM '<insufficient privilege>'"
    } else {
        ""
    };
    format!(
        "SELECT count(*) FROM {}.pg_stat_statements s \
         JOIN pg_catalog.pg_roles r ON r.oid = s.userid \
         WHERE r.rolname IN ({}){filter}",
        ident(schema),
        roles.join(", ")
    )
}
