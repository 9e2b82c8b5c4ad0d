//! Which state a database is in, read from the catalogue each time: which runtime logins
//! exist, which contract schemas, and what each login may do to the other services' tables.
//! Nothing records the state, so nothing can drift from it.

use sqlx::{Connection, PgConnection};

use super::steps::owned_tables;
use super::{RoadError, State};
use crate::manifest::Manifest;

/// The state the database at `admin` is in, or [`RoadError::Between`] with what is half done.
pub async fn status(admin: &str, manifest: &Manifest) -> Result<State, RoadError> {
    let mut conn = PgConnection::connect(admin)
        .await
        .map_err(RoadError::Admin)?;
    let found = read(&mut conn, manifest).await.map_err(RoadError::Read);
    let _ = conn.close().await;
    found?.state()
}

/// What the catalogue says, per service.
#[derive(Debug, Default)]
struct Found {
    logins: Vec<(String, bool)>,
    contracts: Vec<(String, bool)>,
    /// Per consumer of an existing contract: whether it may use the contract schema.
    contract_usage: Vec<bool>,
    /// Per service with a home schema: whether it exists.
    homes: Vec<(String, bool)>,
    /// (consumer, owner's table, how many of SELECT/INSERT/UPDATE/DELETE it holds).
    cross: Vec<(String, String, i64)>,
}

async fn read(conn: &mut PgConnection, manifest: &Manifest) -> Result<Found, sqlx::Error> {
    let mut found = Found::default();
    for service in &manifest.services {
        let role = &service.walls.runtime_role;
        let login: Option<bool> =
            sqlx::query_scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1")
                .bind(role)
                .fetch_optional(&mut *conn)
                .await?;
        found.logins.push((role.clone(), login.unwrap_or(false)));
        if let Some(contract) = &service.contract {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regnamespace(quote_ident($1)) IS NOT NULL")
                    .bind(&contract.schema)
                    .fetch_one(&mut *conn)
                    .await?;
            found.contracts.push((contract.schema.clone(), exists));
        }
        if let Some(home) = &service.home_schema {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regnamespace(quote_ident($1)) IS NOT NULL")
                    .bind(home)
                    .fetch_one(&mut *conn)
                    .await?;
            found.homes.push((home.clone(), exists));
        }
    }
    if found.logins.iter().any(|(_, login)| !login) {
        return Ok(found);
    }
    for owner in &manifest.services {
        let mut tables = owned_tables(manifest, owner);
        let mut schemas = owner.schemas.clone();
        schemas.extend(owner.home_schema.iter().cloned());
        let in_schemas: Vec<String> = sqlx::query_scalar(
            "SELECT format('%s.%s', schemaname, tablename) FROM pg_tables WHERE schemaname = ANY($1)",
        )
        .bind(&schemas)
        .fetch_all(&mut *conn)
        .await?;
        tables.extend(in_schemas);
        for consumer in manifest.services.iter().filter(|s| s.name != owner.name) {
            if let Some(contract) = &owner.contract {
                let usage: Option<bool> = sqlx::query_scalar(
                    "SELECT has_schema_privilege($1, to_regnamespace(quote_ident($2)), 'USAGE') \
                     WHERE to_regnamespace(quote_ident($2)) IS NOT NULL",
                )
                .bind(&consumer.walls.runtime_role)
                .bind(&contract.schema)
                .fetch_optional(&mut *conn)
                .await?;
                found.contract_usage.extend(usage);
            }
            for table in &tables {
                // A table its owner renamed or dropped is no longer there to be granted.
                let held: Option<i64> = sqlx::query_scalar(
                    "SELECT count(*) FILTER (WHERE has_table_privilege($1, to_regclass($2), p))
                     FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p
                     HAVING to_regclass($2) IS NOT NULL",
                )
                .bind(&consumer.walls.runtime_role)
                .bind(table)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(held) = held {
                    found
                        .cross
                        .push((consumer.name.clone(), table.clone(), held));
                }
            }
        }
    }
    Ok(found)
}

impl Found {
    fn state(&self) -> Result<State, RoadError> {
        let logins = self.logins.iter().filter(|(_, login)| *login).count();
        if logins == 0 {
            return Ok(State::SharedLogin);
        }
        if logins < self.logins.len() {
            let missing: Vec<&str> = self
                .logins
                .iter()
                .filter(|(_, login)| !login)
                .map(|(role, _)| role.as_str())
                .collect();
            return Err(RoadError::Between(format!(
                "some logins exist, not {}",
                missing.join(", ")
            )));
        }
        let contracts = self.contracts.iter().filter(|(_, exists)| *exists).count();
        let all_dml = self.cross.iter().all(|(_, _, held)| *held == 4);
        let none = self.cross.iter().all(|(_, _, held)| *held == 0);
        let expected_contracts = self.contracts.len();
        let homes = self.homes.iter().filter(|(_, exists)| *exists).count();
        let usage = self.contract_usage.iter().filter(|u| **u).count();
        if homes > 0 {
            return if homes == self.homes.len() && contracts == 0 && none {
                Ok(State::Walls)
            } else {
                let missing: Vec<&str> = (self.homes.iter().chain(&self.contracts))
                    .filter(|(_, exists)| !exists)
                    .map(|(s, _)| s.as_str())
                    .collect();
                Err(RoadError::Between(format!(
                    "{homes} of {} home schemas and {contracts} of {expected_contracts} contract schemas exist (not: {}){}",
                    self.homes.len(),
                    missing.join(", "),
                    if none {
                        ""
                    } else {
                        "; a consumer still holds grants on an owner's tables"
                    }
                )))
            };
        }
        match (contracts, all_dml, none) {
            (0, true, _) => Ok(State::LoginPerService),
            (n, _, true)
                if n == expected_contracts && n > 0 && usage == self.contract_usage.len() =>
            {
                Ok(State::Contract)
            }
            (n, _, true) if n == expected_contracts && n > 0 && usage == 0 => Ok(State::Api),
            _ => {
                let partial: Vec<String> = self
                    .cross
                    .iter()
                    .filter(|(_, _, held)| !matches!(held, 0 | 4))
                    .map(|(who, table, held)| format!("{who} holds {held} of 4 on {table}"))
                    .collect();
                Err(RoadError::Between(format!(
                    "{contracts} of {expected_contracts} contract schemas exist; {}",
                    if partial.is_empty() {
                        "the consumers' grants do not match either state".to_owned()
                    } else {
                        partial.join(", ")
                    }
                )))
            }
        }
    }
}
