//! `kit walls`: make a manifest's ownership true in the database ([`plan`], [`apply`]) and
//! show that it holds ([`verify`]), by logging in as each service and trying to get at the
//! others' objects. It reads the manifest and talks to one server; it knows no service.
//!
//! Passwords: the plan never contains one. [`apply`] sets a runtime role's password when
//! its service's `password_env` variable is set (the CLI reads it), with the value quoted
//! by the server (`format('%L')`); without it the role keeps the password it has. Note
//! that a server logging DDL (`log_statement = ddl`) logs that statement with the
//! password in it: set passwords with psql's `\password` on such a server. [`verify`]
//! logs in with the same variables: a real login, so what LOGIN brings (CONNECT, limits,
//! settings) is tested too, which `SET ROLE` from a superuser would not.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::manifest::Manifest;

pub mod plan;
pub mod verify;

pub use plan::{Plan, PlanError, plan};
pub use verify::{Report, Status, verify};

/// Why walls could not be planned, applied or verified (not: a wall that is open).
#[derive(Debug, thiserror::Error)]
pub enum WallsError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("cannot connect to the database as the admin: {0}")]
    Admin(sqlx::Error),
    #[error("service `{service}`: cannot log in as `{role}`: {source}; check ${env}")]
    Login {
        service: String,
        role: String,
        env: String,
        source: sqlx::Error,
    },
    #[error("service `{service}`: no password for `{role}`: set ${env}")]
    NoPassword {
        service: String,
        role: String,
        env: String,
    },
    #[error("applying the walls failed, nothing was changed: {0}")]
    Apply(sqlx::Error),
    #[error("reading the database failed: {0}")]
    Read(sqlx::Error),
}

/// Runtime roles' passwords by service name. Never printed.
#[derive(Clone, Default)]
pub struct Passwords(BTreeMap<String, String>);

impl Passwords {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the password of `service`'s runtime role.
    pub fn with(mut self, service: &str, password: &str) -> Self {
        self.0.insert(service.to_owned(), password.to_owned());
        self
    }

    /// Each service's password from the variable its manifest entry names, where set.
    pub fn from_env(manifest: &Manifest) -> Self {
        let mut passwords = Self::new();
        for service in &manifest.services {
            if let Ok(value) = std::env::var(&service.walls.password_env) {
                passwords = passwords.with(&service.name, &value);
            }
        }
        passwords
    }

    pub(crate) fn get(&self, service: &str) -> Option<&str> {
        self.0.get(service).map(String::as_str)
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Parses the admin URL.
pub(crate) fn admin_options(url: &str) -> Result<PgConnectOptions, WallsError> {
    url.parse().map_err(WallsError::Admin)
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub statements: usize,
    /// Services whose runtime role got its password from the environment.
    pub passwords_set: Vec<String>,
}

/// Sets each runtime role's password that `passwords` holds, inside `conn`'s transaction;
/// returns the services whose password was set. The server quotes the password: it is
/// never spliced into SQL here. `walls apply` and `road apply` both use it.
pub(crate) async fn set_passwords(
    conn: &mut PgConnection,
    manifest: &Manifest,
    passwords: &Passwords,
) -> Result<Vec<String>, sqlx::Error> {
    let mut set = Vec::new();
    for service in &manifest.services {
        let Some(password) = passwords.get(&service.name) else {
            continue;
        };
        let sql: String = sqlx::query_scalar(
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', $1::text, $2::text)",
        )
        .bind(&service.walls.runtime_role)
        .bind(password)
        .fetch_one(&mut *conn)
        .await?;
        conn.execute(sql.as_str()).await?;
        set.push(service.name.clone());
    }
    Ok(set)
}

/// Runs the plan for `manifest` in the database of `admin`, in one transaction, and sets
/// the runtime passwords given. Running it again changes nothing.
pub async fn apply(
    admin: &str,
    manifest: &Manifest,
    passwords: &Passwords,
) -> Result<Applied, WallsError> {
    let plan = plan(manifest, None)?;
    let mut conn = PgConnection::connect_with(&admin_options(admin)?)
        .await
        .map_err(WallsError::Admin)?;
    let mut tx = conn.begin().await.map_err(WallsError::Apply)?;
    for statement in &plan.statements {
        tx.execute(statement.sql.as_str())
            .await
            .map_err(WallsError::Apply)?;
    }
    let passwords_set = set_passwords(&mut tx, manifest, passwords)
        .await
        .map_err(WallsError::Apply)?;
    tx.commit().await.map_err(WallsError::Apply)?;
    let _ = conn.close().await;
    Ok(Applied {
        statements: plan.statements.len(),
        passwords_set,
    })
}

#[cfg(test)]
mod tests;
