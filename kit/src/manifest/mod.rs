//! The ownership manifest (`ownership.toml`): which services share the database, how each
//! is recognised on a connection, and what each owns. It also serves as the catalogue of
//! known columns, so the SQL analysis can place an unqualified column in a join. This
//! module reads and validates the file; it knows nothing of any live server.
//!
//! # Format
//!
//! ```toml
//! # Schemas tried, in order, for a table named without one ("$user" is the login role).
//! search_path = ["$user", "public"]
//!
//! [[service]]
//! name = "orders"
//! # How a connection is recognised: its login role and/or its application_name. Both
//! # lists may be given; a connection matches when one of them names it and the other
//! # does not contradict it. At least one list must be non-empty.
//! roles = ["orders_svc", "orders_owner"]
//! application_names = ["migrated-orders"]
//! # What it owns: every table of these schemas, these tables ("schema.table"), and
//! # these columns ("schema.table.column", for a column inside a table it does not own).
//! schemas = ["orders"]
//! tables = []
//! columns = []
//! # For `kit road` (optional): the schema its tables (as `tables` names them) move into
//! # at state 4, walls up. A service whose tables already live in `schemas` needs none.
//! home_schema = "orders_home"
//! # For `kit walls` (all optional, see [`walls`]): its roles, where its login's password
//! # comes from, and the limits on that login.
//! owner_role = "orders_owner"
//! runtime_role = "orders_svc"
//! password_env = "ORDERS_DB_PASSWORD"
//! [service.limits]
//! statement_timeout = "10s"
//! # For `kit road` (optional, see [`contract`]): what it publishes for the others.
//! [service.contract]
//! schema = "orders_api"
//! sql = "CREATE VIEW orders_api.order_v1 AS SELECT id, customer_id FROM orders.orders"
//!
//! # The catalogue: the columns of each table the analysis should know. A table listed
//! # with `shared = true` belongs to nobody: using it is never a cross-ownership access.
//! [[table]]
//! name = "orders.orders"
//! columns = ["id", "customer_id", "status", "total", "created_at"]
//! ```
//!
//! Unknown keys are errors, and every error names the line it is about.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub mod contract;
pub mod walls;
pub use contract::Contract;
pub use walls::{Limits, Walls};

/// Why a manifest cannot be used. Each message says which line to fix.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read the manifest: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Who owns a table or a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Service(String),
    /// Declared `shared = true`: every service may use it.
    Shared,
    /// Not in the manifest.
    Unknown,
}

impl Owner {
    /// The label the reports use: the service's name, `shared` or `unknown`.
    pub fn label(&self) -> &str {
        match self {
            Owner::Service(name) => name,
            Owner::Shared => "shared",
            Owner::Unknown => "unknown",
        }
    }
}

/// A validated manifest.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub search_path: Vec<String>,
    pub services: Vec<Service>,
    /// `schema.table` → its catalogue entry.
    tables: BTreeMap<String, TableEntry>,
}

/// One service as the manifest declares it.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub name: String,
    pub roles: Vec<String>,
    pub application_names: Vec<String>,
    pub schemas: Vec<String>,
    pub tables: Vec<String>,
    pub columns: Vec<String>,
    /// Its roles and limits, for `kit walls`.
    pub walls: Walls,
    /// What it publishes for the others, for `kit road`.
    pub contract: Option<Contract>,
    /// The schema its tables move into at the road's state 4 (walls up), for `kit road`.
    pub home_schema: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct TableEntry {
    columns: Vec<String>,
    shared: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    search_path: Option<Vec<String>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    #[serde(default)]
    table: Vec<Spanned<RawTable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    application_names: Vec<String>,
    #[serde(default)]
    schemas: Vec<String>,
    #[serde(default)]
    tables: Vec<Spanned<String>>,
    #[serde(default)]
    columns: Vec<Spanned<String>>,
    owner_role: Option<Spanned<String>>,
    runtime_role: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    limits: Option<walls::RawLimits>,
    contract: Option<contract::RawContract>,
    home_schema: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Spanned<String>,
    #[serde(default)]
    columns: Vec<String>,
    #[serde(default)]
    shared: bool,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Validates manifest `text`; `path` only names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Self, ManifestError> {
        let invalid = |span: Option<Range<usize>>, message: String| ManifestError::Invalid {
            path: path.to_owned(),
            line: span.map_or(1, |span| line_of(text, span.start)),
            message,
        };
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().to_owned()))?;
        let mut manifest = Manifest {
            search_path: raw
                .search_path
                .unwrap_or_else(|| vec!["$user".to_owned(), "public".to_owned()]),
            ..Manifest::default()
        };
        for entry in raw.table {
            let (span, table) = (entry.span(), entry.into_inner());
            let name = table.name.get_ref().to_lowercase();
            if name.split('.').count() != 2 {
                return Err(invalid(
                    Some(table.name.span()),
                    format!("table `{name}`: write it as schema.table"),
                ));
            }
            let entry = TableEntry {
                columns: table.columns.iter().map(|c| c.to_lowercase()).collect(),
                shared: table.shared,
            };
            if manifest.tables.insert(name.clone(), entry).is_some() {
                return Err(invalid(
                    Some(span),
                    format!("table `{name}` is listed twice"),
                ));
            }
        }
        for entry in raw.service {
            let (span, raw_service) = (entry.span(), entry.into_inner());
            let service = manifest.validate_service(raw_service, span, &invalid)?;
            manifest.services.push(service);
        }
        Ok(manifest)
    }

    fn validate_service(
        &self,
        raw: RawService,
        span: Range<usize>,
        invalid: &dyn Fn(Option<Range<usize>>, String) -> ManifestError,
    ) -> Result<Service, ManifestError> {
        let name = raw.name.get_ref().clone();
        if name.is_empty() || name == "shared" || name == "unknown" {
            return Err(invalid(
                Some(raw.name.span()),
                format!("service name `{name}` is reserved or empty: choose another"),
            ));
        }
        if self.services.iter().any(|s| s.name == name) {
            return Err(invalid(
                Some(raw.name.span()),
                format!("service `{name}` is declared twice"),
            ));
        }
        if raw.roles.is_empty() && raw.application_names.is_empty() {
            return Err(invalid(
                Some(span),
                format!(
                    "service `{name}` cannot be recognised: give it `roles` or `application_names`"
                ),
            ));
        }
        let mut tables = Vec::new();
        for table in &raw.tables {
            let qualified = table.get_ref().to_lowercase();
            if qualified.split('.').count() != 2 {
                return Err(invalid(
                    Some(table.span()),
                    format!("table `{qualified}`: write it as schema.table"),
                ));
            }
            if let Some(other) = self.services.iter().find(|s| s.tables.contains(&qualified)) {
                return Err(invalid(
                    Some(table.span()),
                    format!("table `{qualified}` is already owned by `{}`", other.name),
                ));
            }
            tables.push(qualified);
        }
        let mut columns = Vec::new();
        for column in &raw.columns {
            let qualified = column.get_ref().to_lowercase();
            if qualified.split('.').count() != 3 {
                return Err(invalid(
                    Some(column.span()),
                    format!("column `{qualified}`: write it as schema.table.column"),
                ));
            }
            columns.push(qualified);
        }
        let walls = walls::RawWalls {
            owner_role: raw.owner_role,
            runtime_role: raw.runtime_role,
            password_env: raw.password_env,
            limits: raw.limits,
        }
        .validate(&name, invalid)?;
        let schemas: Vec<String> = raw.schemas.iter().map(|s| s.to_lowercase()).collect();
        let contract = raw
            .contract
            .map(|c| c.validate(&schemas, invalid))
            .transpose()?;
        if let Some(c) = &contract {
            let taken = self.services.iter().find(|s| {
                s.schemas.contains(&c.schema)
                    || s.contract.as_ref().is_some_and(|o| o.schema == c.schema)
            });
            if let Some(other) = taken {
                return Err(invalid(
                    Some(span),
                    format!(
                        "service `{name}`: contract schema `{}` is already `{}`'s",
                        c.schema, other.name
                    ),
                ));
            }
        }
        let home_schema = match raw.home_schema {
            None => None,
            Some(home) => {
                let schema = home.get_ref().to_lowercase();
                let clash = self
                    .services
                    .iter()
                    .find(|s| {
                        s.home_schema.as_ref() == Some(&schema)
                            || s.contract.as_ref().is_some_and(|c| c.schema == schema)
                    })
                    .map(|s| s.name.clone())
                    .or_else(|| {
                        contract
                            .as_ref()
                            .filter(|c| c.schema == schema)
                            .map(|_| name.clone())
                    });
                if schema.is_empty() || schema.starts_with("pg_") || schema == "public" {
                    return Err(invalid(
                        Some(home.span()),
                        format!(
                            "home_schema `{schema}`: name a schema of the service's own, not public or pg_*"
                        ),
                    ));
                }
                if let Some(other) = clash {
                    return Err(invalid(
                        Some(home.span()),
                        format!(
                            "home_schema `{schema}` is already `{other}`'s home or contract schema"
                        ),
                    ));
                }
                Some(schema)
            }
        };
        Ok(Service {
            walls,
            contract,
            home_schema,
            name,
            roles: raw.roles,
            application_names: raw.application_names,
            schemas,
            tables,
            columns,
        })
    }

    /// Who owns `schema.table` (as `qualified`), or one of its columns. A column declared
    /// by a service wins over its table's owner, and a table over its schema's.
    pub fn owner(&self, qualified: &str, column: Option<&str>) -> Owner {
        if let Some(column) = column {
            let key = format!("{qualified}.{column}");
            if let Some(s) = self.services.iter().find(|s| s.columns.contains(&key)) {
                return Owner::Service(s.name.clone());
            }
        }
        if self.tables.get(qualified).is_some_and(|t| t.shared) {
            return Owner::Shared;
        }
        if let Some(s) = self
            .services
            .iter()
            .find(|s| s.tables.iter().any(|t| t == qualified))
        {
            return Owner::Service(s.name.clone());
        }
        let schema = qualified.split('.').next().unwrap_or_default();
        match self.services.iter().find(|s| {
            s.schemas.iter().any(|x| x == schema) || s.home_schema.as_deref() == Some(schema)
        }) {
            Some(s) => Owner::Service(s.name.clone()),
            None => Owner::Unknown,
        }
    }

    /// Every table the catalogue lists (`schema.table`), shared or not.
    pub fn catalogue_tables(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// The service a connection belongs to: one whose roles or application names name it,
    /// with nothing contradicting. None when no service, or more than one, matches.
    pub fn recognise(&self, role: Option<&str>, application_name: Option<&str>) -> Option<&str> {
        let fits = |list: &[String], value: Option<&str>| match value {
            Some(value) if !list.is_empty() => Some(list.iter().any(|x| x == value)),
            _ => None,
        };
        let mut matches = self.services.iter().filter(|s| {
            let by_role = fits(&s.roles, role);
            let by_app = fits(&s.application_names, application_name);
            let named = by_role == Some(true) || by_app == Some(true);
            named && by_role != Some(false) && by_app != Some(false)
        });
        match (matches.next(), matches.next()) {
            (Some(one), None) => Some(&one.name),
            _ => None,
        }
    }
}

impl crate::sql::Catalogue for Manifest {
    fn columns(&self, schema: &str, table: &str) -> Option<Vec<String>> {
        let entry = self.tables.get(&format!("{schema}.{table}"))?;
        (!entry.columns.is_empty()).then(|| entry.columns.clone())
    }

    fn has_table(&self, schema: &str, table: &str) -> bool {
        let qualified = format!("{schema}.{table}");
        self.tables.contains_key(&qualified)
            || self.services.iter().any(|s| s.tables.contains(&qualified))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests;
