//! Schema ownership, enforced by Postgres rather than by convention.
//!
//! Each owner gets a schema, a NOLOGIN owner role that owns it and runs its migrations,
//! and a LOGIN runtime role with DML on that schema and nothing else. PUBLIC gets nothing:
//! not the database, not the `public` schema, not the large-object functions. Default
//! privileges keep tables that later migrations create covered, except an owner's history
//! ([`HISTORY_TABLES`]), which its runtime role may read but not write. Each runtime role is
//! bounded ([`RUNTIME_LIMITS`]) so that one service cannot starve the other of the shared
//! server. This module writes the grants and checks them; it knows no service's tables.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

use crate::config::DatabaseUrl;
use crate::migrate::MigrateError;

/// What a runtime role may take from the shared server: a connection limit and settings
/// that bound a statement, an idle transaction, a lock wait and temporary files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeLimits {
    /// The role's `CONNECTION LIMIT`: its pool (10) twice, for a deploy's overlap.
    pub connection_limit: u32,
    /// `ALTER ROLE … SET` parameters and their values.
    pub settings: [(&'static str, &'static str); 4],
}

/// The limits every runtime role gets. The same values as `kit walls plan`'s defaults
/// (`kit::manifest::Limits::default`), written here because the chassis must not depend
/// on the kit: a statement, an idle transaction and a lock wait bounded well above an HTTP
/// request's budget, and a runaway sort kept off the shared disk. The idle-in-transaction
/// timeout also ends a transaction that a cancelled request left open.
pub const RUNTIME_LIMITS: RuntimeLimits = RuntimeLimits {
    connection_limit: 20,
    settings: [
        ("statement_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
        ("lock_timeout", "5s"),
        ("temp_file_limit", "1GB"),
    ],
};

/// Tables in each owner's schema that record its history: the migrations applied
/// (refinery's, see [`migrate`]) and the releases shipped. The owner writes them; its
/// runtime role only reads them (a service that wrote its own release id would claim a
/// schema it does not have).
pub const HISTORY_TABLES: [&str; 2] = ["refinery_schema_history", "schema_releases"];

/// One owning service's place in the database.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The schema it owns, e.g. `customers`.
    pub schema: &'static str,
    /// Its second, private schema, e.g. `customers_shape`: the views and functions that
    /// present its tables in the shape its queries expect, replaced by each release. Walled
    /// off like `schema`.
    pub shape_schema: &'static str,
    /// NOLOGIN role that owns the schema and runs its migrations.
    pub owner_role: &'static str,
    /// LOGIN role the running service connects as.
    pub runtime_role: &'static str,
    /// The runtime role's password; `Debug` shows it redacted.
    pub runtime_password: SecretString,
}

impl Owner {
    /// Where the running service connects: the admin URL's server, its own login.
    pub fn runtime_url(&self, admin: &DatabaseUrl) -> DatabaseUrl {
        admin.with_credentials(self.runtime_role, &self.runtime_password)
    }

    /// The statements that create the roles and the schema and fence them off; safe to
    /// run again. Roles are cluster-wide; everything else belongs to the current database.
    pub fn bootstrap_sql(&self) -> Vec<String> {
        let (schema, owner, runtime) = (self.schema, self.owner_role, self.runtime_role);
        let password = self.runtime_password.expose_secret().replace('\'', "''");
        let mut statements = vec![
            create_role(owner, "NOLOGIN"),
            create_role(runtime, "LOGIN"),
            format!(
                "ALTER ROLE {runtime} WITH LOGIN PASSWORD '{password}' CONNECTION LIMIT {}",
                RUNTIME_LIMITS.connection_limit
            ),
            // Lets the admin connection SET ROLE to the owner to run its migrations.
            format!("GRANT {owner} TO CURRENT_USER"),
        ];
        for schema in [schema, self.shape_schema] {
            statements.extend([
                format!("CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}"),
                format!("REVOKE ALL ON SCHEMA {schema} FROM PUBLIC"),
                format!("GRANT USAGE ON SCHEMA {schema} TO {runtime}"),
                format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {runtime}"
                ),
                format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {runtime}"),
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}"
                ),
                format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {runtime}"
                ),
            ]);
        }
        statements.extend(RUNTIME_LIMITS.settings.iter().map(|(parameter, value)| {
            // temp_file_limit needs a superuser; an admin that is not one leaves it unset
            // rather than failing the whole bootstrap.
            format!(
                "DO $$ BEGIN ALTER ROLE {runtime} SET {parameter} = '{value}'; \
                 EXCEPTION WHEN insufficient_privilege THEN \
                 RAISE WARNING 'cannot set {parameter} on {runtime}: not a superuser'; END $$"
            )
        }));
        statements
    }

    /// The statements that leave the owner's history tables read-only to its runtime role
    /// (default privileges gave it DML on them when the migrations created them); tables
    /// not there yet are skipped. Run after the migrations.
    pub fn history_sql(&self) -> Vec<String> {
        let (schema, runtime) = (self.schema, self.runtime_role);
        HISTORY_TABLES
            .iter()
            .map(|table| {
                format!(
                    "DO $$ BEGIN IF to_regclass('{schema}.{table}') IS NOT NULL THEN \
                     REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.{table} FROM {runtime}; \
                     GRANT SELECT ON {schema}.{table} TO {runtime}; END IF; END $$"
                )
            })
            .collect()
    }
}

fn create_role(role: &str, login: &str) -> String {
    // Two bootstraps at once may both find the role missing; the loser's error is harmless.
    format!(
        "DO $$ BEGIN CREATE ROLE {role} {login}; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
}

/// The statements that close the current database to everyone but the owners' runtime
/// roles. Database privileges are not copied by `CREATE DATABASE ... TEMPLATE`, so a copy
/// needs them again.
pub fn database_sql(database: &str, owners: &[Owner]) -> Vec<String> {
    let runtimes: Vec<&str> = owners.iter().map(|o| o.runtime_role).collect();
    vec![
        format!("REVOKE ALL ON DATABASE \"{database}\" FROM PUBLIC"),
        format!(
            "GRANT CONNECT ON DATABASE \"{database}\" TO {}",
            runtimes.join(", ")
        ),
        "REVOKE ALL ON SCHEMA public FROM PUBLIC".to_owned(),
        // Large objects live outside every schema, where no wall reaches: any login could
        // store data there. lo_import/lo_export are superuser-only already.
        "DO $$ DECLARE f regprocedure; BEGIN FOR f IN SELECT p.oid::regprocedure FROM pg_proc p \
         WHERE p.pronamespace = 'pg_catalog'::regnamespace \
         AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite')) \
         LOOP EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f); END LOOP; END $$"
            .to_owned(),
    ]
}

/// Creates (or confirms) every owner's roles and schema and closes the database, as the
/// admin at `admin`.
pub async fn bootstrap(admin: &DatabaseUrl, owners: &[Owner]) -> Result<(), sqlx::Error> {
    // `ALTER ROLE ... PASSWORD` cannot take a bound parameter, so the password is in the
    // statement's text: keep sqlx from logging statements on this connection.
    let options = admin.connect_options()?.disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await?;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut conn)
        .await?;
    let statements = owners
        .iter()
        .flat_map(Owner::bootstrap_sql)
        .chain(database_sql(&database, owners));
    for statement in statements {
        conn.execute(statement.as_str()).await?;
    }
    conn.close().await
}

/// Leaves every owner's history tables read-only to its runtime role; run after the
/// migrations (see [`Owner::history_sql`]).
pub async fn seal_histories(admin: &DatabaseUrl, owners: &[Owner]) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(&admin.connect_options()?).await?;
    for statement in owners.iter().flat_map(Owner::history_sql) {
        conn.execute(statement.as_str()).await?;
    }
    conn.close().await
}

/// Closes a database (a copy of a bootstrapped template) again; see [`database_sql`].
pub async fn secure_database(admin: &DatabaseUrl, owners: &[Owner]) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(&admin.connect_options()?).await?;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut conn)
        .await?;
    for statement in database_sql(&database, owners) {
        conn.execute(statement.as_str()).await?;
    }
    conn.close().await
}

/// Applies an owner's pending migrations as its owner role, keeping the history in the
/// owner's own schema (`{schema}.refinery_schema_history`); returns how many it applied.
pub async fn migrate(
    admin: &DatabaseUrl,
    schema: &str,
    owner_role: &str,
    mut runner: refinery_core::Runner,
) -> Result<usize, MigrateError> {
    runner.set_migration_table_name(format!("{schema}.refinery_schema_history"));
    let report = crate::migrate::run(admin, runner, Some(owner_role)).await?;
    Ok(report.applied_migrations().len())
}
