//! The audit report's types: its JSON shape, version [`VERSION`] (see the parent module).

use serde::{Deserialize, Serialize};

use crate::sql::{Kind, Mode};

/// The JSON version this build writes and reads.
pub const VERSION: u32 = 1;

/// One statement text as the server saw it run on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub role: Option<String>,
    pub application_name: Option<String>,
    pub text: String,
    pub calls: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Audit {
    pub version: u32,
    pub source: String,
    pub services: Vec<ServiceReport>,
    pub unknown_connections: Vec<UnknownConnection>,
    pub unattributed: Vec<Unattributed>,
    pub coupling: Coupling,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceReport {
    pub name: String,
    pub connections: Vec<Connection>,
    pub statements: Vec<ObservedStatement>,
    pub tables: Vec<TableUse>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Connection {
    pub role: Option<String>,
    pub application_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObservedStatement {
    pub text: String,
    pub calls: u64,
    pub kind: Kind,
    pub accesses: Vec<ObservedAccess>,
    #[serde(default)]
    pub unresolved: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedAccess {
    pub schema: String,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub mode: Mode,
    pub owner: String,
    pub cross: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableUse {
    pub schema: String,
    pub table: String,
    pub owner: String,
    pub cross: bool,
    pub reads: u64,
    pub writes: u64,
    pub columns: Vec<ColumnUse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnUse {
    pub name: String,
    pub owner: String,
    pub cross: bool,
    pub reads: u64,
    pub writes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnknownConnection {
    pub role: Option<String>,
    pub application_name: Option<String>,
    pub statements: u64,
    pub calls: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unattributed {
    pub service: Option<String>,
    pub text: String,
    pub calls: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Coupling {
    pub total: u64,
    pub table_calls: u64,
    pub column_calls: u64,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Edge {
    pub service: String,
    pub owner: String,
    pub schema: String,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub mode: Mode,
    pub calls: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Distinct (connection, text) pairs observed.
    pub statements: u64,
    pub attributed: u64,
    /// Statements that touch no table: BEGIN, SET, `SELECT 1`.
    pub no_tables: u64,
    /// Statements that touch only the system catalogue (drivers' type lookups).
    pub system: u64,
    pub unattributed: u64,
}
