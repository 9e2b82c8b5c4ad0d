//! `kit lint`: a migration against the statements other services were observed running.
//! A change is reported only when another service's statement touches what it changes,
//! with that statement, its calls and why it breaks; a change to what nobody else uses
//! stays quiet. [`changes`] reads the migration; this module finds who it hurts.
//!
//! Exit codes ([`Report::exit_code`]): 0 clean, 1 warnings only (meaning may change,
//! defaults, foreign keys, statements not understood), 2 at least one breaking change for
//! another service. The CLI uses 3 for input it cannot use (see `cli`).

pub mod changes;
pub mod render;

use serde::Serialize;

use crate::audit::{Audit, ObservedStatement};
use crate::manifest::{Manifest, Owner};
use crate::sql::{Kind, Mode};
use changes::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Breaking,
}

/// Which of another service's statements a change hurts.
#[derive(Debug, Clone)]
enum Who {
    Table,
    Column(String),
    InsertersWithout(String),
    Writers(Vec<String>),
    Readers(Vec<String>),
    /// Nobody can be named from the evidence (an enum's columns, an unparsed statement).
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consumer {
    pub service: String,
    pub statement: String,
    pub calls: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub statement: String,
    pub severity: Severity,
    pub table: Option<String>,
    pub why: String,
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        match self.findings.iter().map(|f| f.severity).max() {
            None => 0,
            Some(Severity::Warning) => 1,
            Some(Severity::Breaking) => 2,
        }
    }
}

/// Lints `sql` (the text of migration `file`).
pub fn lint(file: &str, sql: &str, manifest: &Manifest, audit: &Audit) -> Vec<Finding> {
    let mut findings = Vec::new();
    let policies = sql.to_ascii_lowercase().contains("create policy");
    for found in changes::changes(sql, manifest) {
        for change in &found.changes {
            let (table, mut rules) = rules(change);
            if policies && matches!(change, Change::EnableRls { .. }) {
                // The same migration writes a policy: whether it admits them is the question.
                rules = vec![(Severity::Warning, Who::Table, "row-level security, with a policy in this migration: their rows are now filtered by it (a superuser's or the table owner's are not); check that it admits their role".into())];
            }
            for (severity, who, why) in rules {
                let consumers = match (&table, &who) {
                    (_, Who::Unknown) | (None, _) => Vec::new(),
                    (Some(table), who) => consumers(table, who, manifest, audit),
                };
                if consumers.is_empty() && !matches!(who, Who::Unknown) {
                    continue;
                }
                findings.push(Finding {
                    file: file.to_owned(),
                    line: found.line,
                    statement: found.text.clone(),
                    severity,
                    table: table.clone(),
                    why,
                    consumers,
                });
            }
        }
    }
    findings
}

fn rules(change: &Change) -> (Option<String>, Vec<(Severity, Who, String)>) {
    use Severity::{Breaking, Warning};
    let status_like = |c: &String| {
        c == "status" || c == "state" || c == "kind" || c == "type" || c.ends_with("_status")
    };
    match change {
        Change::RenameTable { table } | Change::DropTable { table } => (
            Some(table.clone()),
            vec![(Breaking, Who::Table, format!("{table} will not exist under this name: their statement fails with 42P01 (undefined table)"))],
        ),
        Change::SetSchema { table } => (
            Some(table.clone()),
            vec![(Breaking, Who::Table, format!("{table} moves to another schema: their statement no longer finds it (42P01)"))],
        ),
        Change::EnableRls { table } => (
            Some(table.clone()),
            vec![(Breaking, Who::Table, "row-level security: without a policy for their role they see and change no rows, without any error".into())],
        ),
        Change::RenameColumn { table, column } | Change::DropColumn { table, column } => (
            Some(table.clone()),
            vec![(Breaking, Who::Column(column.clone()), format!("column {column} will not exist: their statement fails with 42703 (undefined column)"))],
        ),
        Change::TypeChanged { table, column } => (
            Some(table.clone()),
            vec![(Breaking, Who::Column(column.clone()), format!("{column} changes type (and its values with USING): their reads decode or compute something else, their writes may not cast"))],
        ),
        Change::SetNotNull { table, column } | Change::AddRequired { table, column } => (
            Some(table.clone()),
            vec![(Breaking, Who::InsertersWithout(column.clone()), format!("{column} becomes required and their INSERT does not set it: 23502 (not-null violation)"))],
        ),
        Change::AddCheck { table, columns, not_valid } => {
            let valid = if *not_valid { " (NOT VALID still checks every new write)" } else { "" };
            let mut rules = vec![(Breaking, Who::Writers(columns.clone()), format!("a new CHECK on {}{valid}: their writes may violate it (23514)", columns.join(", ")))];
            // An INSERT that leaves a column out writes its default (often NULL), which a
            // CHECK such as `IS NOT NULL` refuses: the writers of the other columns break too.
            rules.extend(columns.iter().map(|column| (Breaking, Who::InsertersWithout(column.clone()), format!("a new CHECK on {column}{valid}: their INSERT leaves {column} to its default, which the CHECK may refuse (23514)"))));
            let status: Vec<String> = columns.iter().filter(|c| status_like(c)).cloned().collect();
            if !status.is_empty() {
                rules.push((Warning, Who::Readers(status.clone()), format!("a CHECK on {} redefines its vocabulary: their filters on the old values may silently match nothing", status.join(", "))));
            }
            (Some(table.clone()), rules)
        }
        Change::DefaultChanged { table, column } => (
            Some(table.clone()),
            vec![(Warning, Who::InsertersWithout(column.clone()), format!("the default of {column} changes: rows they insert get the new value (or none)"))],
        ),
        Change::SoftDelete { table, column } => (
            Some(table.clone()),
            vec![(Warning, Who::Table, format!("meaning may change: rows are kept when deleted ({column}); their reads that ignore {column} count deleted rows as live"))],
        ),
        Change::Rewrite { table, columns } => (
            Some(table.clone()),
            vec![(Warning, Who::Readers(columns.clone()), format!("meaning may change: existing values of {} are rewritten (units, vocabulary); their reads keep the old assumptions", columns.join(", ")))],
        ),
        Change::DropForeignKey { table, name } => (
            Some(table.clone()),
            vec![(Warning, Who::Table, format!("foreign key {name} dropped: their reads can meet references to rows that no longer exist"))],
        ),
        Change::CascadeAdded { table } => (
            Some(table.clone()),
            vec![(Warning, Who::Table, "ON DELETE CASCADE: rows they read disappear when a referenced row is deleted".into())],
        ),
        Change::EnumChanged { type_name } => (
            None,
            vec![(Warning, Who::Unknown, format!("enum {type_name} changes its values: the audit cannot tell which columns use it; check their readers by hand"))],
        ),
        Change::Unparsed { reason } => (
            None,
            vec![(Warning, Who::Unknown, format!("not understood ({reason}): check it by hand"))],
        ),
    }
}

/// The other services' statements that `who` names on `table`.
fn consumers(table: &str, who: &Who, manifest: &Manifest, audit: &Audit) -> Vec<Consumer> {
    let owner = manifest.owner(table, None);
    let mut found = Vec::new();
    for service in &audit.services {
        if matches!(&owner, Owner::Service(o) if *o == service.name) {
            continue;
        }
        for statement in &service.statements {
            if touches(statement, table, who) {
                found.push(Consumer {
                    service: service.name.clone(),
                    statement: statement.text.clone(),
                    calls: statement.calls,
                });
            }
        }
    }
    found
}

fn touches(statement: &ObservedStatement, table: &str, who: &Who) -> bool {
    let on: Vec<_> = statement
        .accesses
        .iter()
        .filter(|a| format!("{}.{}", a.schema, a.table) == table)
        .collect();
    let has = |column: &str, mode: Option<Mode>| {
        on.iter()
            .any(|a| a.column.as_deref() == Some(column) && mode.is_none_or(|m| a.mode == m))
    };
    match who {
        Who::Table => !on.is_empty(),
        Who::Column(c) => has(c, None),
        Who::InsertersWithout(c) => {
            statement.kind == Kind::Insert
                && on
                    .iter()
                    .any(|a| a.column.is_none() && a.mode == Mode::Write)
                && !has(c, Some(Mode::Write))
        }
        Who::Writers(cs) => cs.iter().any(|c| has(c, Some(Mode::Write))),
        Who::Readers(cs) => cs.iter().any(|c| has(c, Some(Mode::Read))),
        Who::Unknown => false,
    }
}

#[cfg(test)]
mod tests;
