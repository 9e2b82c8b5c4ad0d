//! SQL attribution: from one statement's text to the (schema, table, column) it reads and
//! writes. Parsing is `sqlparser`'s PostgreSQL dialect; name resolution (aliases, joins,
//! CTEs, subqueries, search_path) is [`resolve`]'s. This module knows no manifest and no
//! server: what it needs of the catalogue comes through [`Catalogue`].

mod resolve;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlparser::ast::{ObjectName, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// What the analysis may ask about tables. The manifest answers; so could a live
/// `information_schema`.
pub trait Catalogue {
    /// The columns of `schema.table`, when known.
    fn columns(&self, schema: &str, table: &str) -> Option<Vec<String>>;
    /// Whether `schema.table` is known to exist: decides where a search_path lands.
    fn has_table(&self, schema: &str, table: &str) -> bool;
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Read,
    Write,
}

/// One use of a table (column `None`: the table as a whole, e.g. a row count, a DELETE)
/// or of one of its columns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Access {
    pub schema: String,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub mode: Mode,
}

impl Access {
    pub fn qualified_table(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

/// What kind of statement it was: lint needs to tell an INSERT from an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    Ddl,
    Other,
}

/// The analysis of one statement text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// It touches tables. `unresolved` lists column references it could not place, e.g.
    /// an unqualified column in a join whose tables' columns are unknown.
    Tables {
        kind: Kind,
        accesses: BTreeSet<Access>,
        unresolved: Vec<String>,
    },
    /// It touches no table: BEGIN, SET, `SELECT 1`.
    NoTables,
    /// The parser did not understand it.
    Unparsed { reason: String },
}

/// Analyses `sql` (one or more statements, literal or with `$n` placeholders) run by
/// `role`, resolving unqualified tables through `search_path`.
pub fn analyse(
    sql: &str,
    catalogue: &dyn Catalogue,
    search_path: &[String],
    role: Option<&str>,
) -> Analysis {
    let statements = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(statements) => statements,
        Err(e) => {
            return Analysis::Unparsed {
                reason: e.to_string(),
            };
        }
    };
    let path: Vec<String> = search_path
        .iter()
        .filter_map(|schema| match (schema.as_str(), role) {
            ("$user", Some(role)) => Some(role.to_owned()),
            ("$user", None) => None,
            _ => Some(schema.clone()),
        })
        .collect();
    let mut resolver = resolve::Resolver::new(catalogue, &path);
    let mut kind = None;
    for statement in &statements {
        let this = resolver.statement(statement);
        kind = kind.or(this);
    }
    let (accesses, unresolved) = resolver.finish();
    match kind {
        Some(kind) if !accesses.is_empty() => Analysis::Tables {
            kind,
            accesses,
            unresolved,
        },
        _ => Analysis::NoTables,
    }
}

/// The kind of a parsed statement, for those the resolver walks.
fn kind_of(statement: &Statement) -> Kind {
    match statement {
        Statement::Query(_) => Kind::Select,
        Statement::Insert(_) => Kind::Insert,
        Statement::Update { .. } => Kind::Update,
        Statement::Delete(_) => Kind::Delete,
        Statement::CreateTable(_)
        | Statement::AlterTable { .. }
        | Statement::Drop { .. }
        | Statement::Truncate { .. }
        | Statement::CreateIndex(_) => Kind::Ddl,
        _ => Kind::Other,
    }
}

/// The lower-cased parts of a name, as Postgres folds unquoted identifiers.
pub fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|part| part.as_ident())
        .map(fold)
        .collect()
}

/// An identifier as Postgres sees it: unquoted ones fold to lower case.
pub fn fold(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

#[cfg(test)]
mod tests;
