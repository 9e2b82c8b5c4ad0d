//! The audit: from what a server observed (statements with their connection and call
//! counts) to who touches whose tables. Evidence comes from [`stat_statements`] or
//! [`log`]; [`render`] prints the result. This module owns the report's JSON shape,
//! which `kit lint` reads back: change it only with a new `version`.
//!
//! # JSON, version 1
//!
//! ```text
//! { "version": 1, "source": "stat-statements" | "log",
//!   "services": [ { "name", "connections": [{ "role", "application_name" }],
//!       "statements": [ { "text", "calls", "kind": "select|insert|update|delete|ddl|other",
//!           "accesses": [ { "schema", "table", "column"?, "mode": "read|write",
//!                           "owner": service | "shared" | "unknown", "cross": bool } ],
//!           "unresolved": [column…] } ],
//!       "tables": [ { "schema", "table", "owner", "cross", "reads", "writes",
//!                     "columns": [ { "name", "owner", "cross", "reads", "writes" } ] } ] } ],
//!   "unknown_connections": [ { "role", "application_name", "statements", "calls" } ],
//!   "unattributed": [ { "service"?, "text", "calls", "reason" } ],
//!   "coupling": { "total", "table_calls", "column_calls",
//!                 "edges": [ { "service", "owner", "schema", "table", "column"?, "mode", "calls" } ] },
//!   "totals": { "statements", "attributed", "no_tables", "system", "unattributed" } }
//! ```
//!
//! `reads`/`writes` are call counts. `coupling.total` = `table_calls` + `column_calls`:
//! every cross-ownership access of a statement (a table as a whole, and each column)
//! weighted by that statement's calls.

pub mod log;
mod model;
pub mod render;
pub use model::*;
pub mod stat_statements;

use std::collections::BTreeMap;

use crate::manifest::{Manifest, Owner};
use crate::sql::{self, Analysis, Mode};

/// Schemas of the system catalogue: a driver's lookups there are nobody's coupling.
fn is_system(schema: &str, table: &str) -> bool {
    schema == "pg_catalog"
        || schema == "information_schema"
        || schema.starts_with("pg_")
        || table.starts_with("pg_stat")
}

/// Attributes every observation to a service and its tables.
pub fn build(manifest: &Manifest, source: &str, observations: &[Observation]) -> Audit {
    // Same connection and same text: one statement, calls added up.
    let mut merged: BTreeMap<(Connection, String), u64> = BTreeMap::new();
    for o in observations {
        let connection = Connection {
            role: o.role.clone(),
            application_name: o.application_name.clone(),
        };
        *merged
            .entry((connection, o.text.trim().to_owned()))
            .or_default() += o.calls;
    }
    let mut audit = Audit {
        version: VERSION,
        source: source.to_owned(),
        services: manifest
            .services
            .iter()
            .map(|s| ServiceReport {
                name: s.name.clone(),
                connections: Vec::new(),
                statements: Vec::new(),
                tables: Vec::new(),
            })
            .collect(),
        unknown_connections: Vec::new(),
        unattributed: Vec::new(),
        coupling: Coupling::default(),
        totals: Totals::default(),
    };
    for ((connection, text), calls) in merged {
        audit.totals.statements += 1;
        let service = manifest.recognise(
            connection.role.as_deref(),
            connection.application_name.as_deref(),
        );
        let analysis = sql::analyse(
            &text,
            manifest,
            &manifest.search_path,
            connection.role.as_deref(),
        );
        let Some(index) =
            service.and_then(|name| audit.services.iter().position(|s| s.name == name))
        else {
            unknown(&mut audit, &connection, calls);
            count(&mut audit.totals, &analysis);
            let reason = match analysis {
                Analysis::NoTables => continue,
                Analysis::Unparsed { reason } => reason,
                Analysis::Tables { .. } => {
                    "no service of the manifest matches its connection".to_owned()
                }
            };
            audit.unattributed.push(Unattributed {
                service: None,
                text,
                calls,
                reason,
            });
            continue;
        };
        let name = audit.services[index].name.clone();
        if !audit.services[index].connections.contains(&connection) {
            audit.services[index].connections.push(connection);
        }
        let Analysis::Tables {
            kind,
            accesses,
            unresolved,
        } = analysis
        else {
            count(&mut audit.totals, &analysis);
            if let Analysis::Unparsed { reason } = analysis {
                audit.unattributed.push(Unattributed {
                    service: Some(name),
                    text,
                    calls,
                    reason,
                });
            }
            continue;
        };
        let accesses: Vec<ObservedAccess> = accesses
            .into_iter()
            .filter(|a| !is_system(&a.schema, &a.table))
            .map(|a| {
                let owner = manifest.owner(&a.qualified_table(), a.column.as_deref());
                let cross = matches!(&owner, Owner::Service(o) if *o != name);
                ObservedAccess {
                    owner: owner.label().to_owned(),
                    cross,
                    schema: a.schema,
                    table: a.table,
                    column: a.column,
                    mode: a.mode,
                }
            })
            .collect();
        if accesses.is_empty() {
            audit.totals.system += 1;
            continue;
        }
        audit.totals.attributed += 1;
        audit.services[index].statements.push(ObservedStatement {
            text,
            calls,
            kind,
            accesses,
            unresolved,
        });
    }
    for service in &mut audit.services {
        service
            .statements
            .sort_by(|a, b| b.calls.cmp(&a.calls).then(a.text.cmp(&b.text)));
        service.tables = table_uses(&service.statements);
    }
    audit.coupling = coupling(&audit.services);
    audit
}

/// Counts a statement no service's table list takes.
fn count(totals: &mut Totals, analysis: &Analysis) {
    match analysis {
        Analysis::NoTables => totals.no_tables += 1,
        Analysis::Unparsed { .. } => totals.unattributed += 1,
        Analysis::Tables { .. } => totals.unattributed += 1,
    }
}

fn unknown(audit: &mut Audit, connection: &Connection, calls: u64) {
    let found = audit
        .unknown_connections
        .iter_mut()
        .find(|u| u.role == connection.role && u.application_name == connection.application_name);
    match found {
        Some(u) => {
            u.statements += 1;
            u.calls += calls;
        }
        None => audit.unknown_connections.push(UnknownConnection {
            role: connection.role.clone(),
            application_name: connection.application_name.clone(),
            statements: 1,
            calls,
        }),
    }
}

fn table_uses(statements: &[ObservedStatement]) -> Vec<TableUse> {
    let mut tables: BTreeMap<(String, String), TableUse> = BTreeMap::new();
    for statement in statements {
        for a in &statement.accesses {
            let entry = tables
                .entry((a.schema.clone(), a.table.clone()))
                .or_insert_with(|| TableUse {
                    schema: a.schema.clone(),
                    table: a.table.clone(),
                    owner: String::new(),
                    cross: false,
                    reads: 0,
                    writes: 0,
                    columns: Vec::new(),
                });
            let (reads, writes) = match a.mode {
                Mode::Read => (statement.calls, 0),
                Mode::Write => (0, statement.calls),
            };
            match &a.column {
                None => {
                    entry.owner = a.owner.clone();
                    entry.cross = a.cross;
                    entry.reads += reads;
                    entry.writes += writes;
                }
                Some(name) => {
                    let column = match entry.columns.iter().position(|c| c.name == *name) {
                        Some(i) => &mut entry.columns[i],
                        None => {
                            entry.columns.push(ColumnUse {
                                name: name.clone(),
                                owner: a.owner.clone(),
                                cross: a.cross,
                                reads: 0,
                                writes: 0,
                            });
                            let last = entry.columns.len() - 1;
                            &mut entry.columns[last]
                        }
                    };
                    column.reads += reads;
                    column.writes += writes;
                }
            }
        }
    }
    let mut tables: Vec<TableUse> = tables.into_values().collect();
    for table in &mut tables {
        table.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    tables
}

/// (service, owner, schema, table, column, mode): one edge of the coupling figure.
type EdgeKey = (String, String, String, String, Option<String>, Mode);

fn coupling(services: &[ServiceReport]) -> Coupling {
    let mut edges: BTreeMap<EdgeKey, u64> = BTreeMap::new();
    for service in services {
        for statement in &service.statements {
            for a in statement.accesses.iter().filter(|a| a.cross) {
                let key = (
                    service.name.clone(),
                    a.owner.clone(),
                    a.schema.clone(),
                    a.table.clone(),
                    a.column.clone(),
                    a.mode,
                );
                *edges.entry(key).or_default() += statement.calls;
            }
        }
    }
    let mut coupling = Coupling::default();
    for ((service, owner, schema, table, column, mode), calls) in edges {
        match column {
            Some(_) => coupling.column_calls += calls,
            None => coupling.table_calls += calls,
        }
        coupling.edges.push(Edge {
            service,
            owner,
            schema,
            table,
            column,
            mode,
            calls,
        });
    }
    coupling.total = coupling.table_calls + coupling.column_calls;
    coupling
}

#[cfg(test)]
mod tests;
