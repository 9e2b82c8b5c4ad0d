//! The SQL that makes a manifest's walls true: per service a NOLOGIN owner role that owns
//! its schemas and a LOGIN runtime role with DML on them and nothing else; PUBLIC loses the
//! database, the `public` schema, every service schema and the large-object functions; the
//! runtime role's settings bound what it can take from the others. Every statement can run
//! again and change nothing. No password is ever part of it: [`super::apply`] sets those.
//!
//! Every identifier goes through [`ident`] and every literal through [`literal`]; nothing
//! from the manifest is written into SQL any other way.

use crate::manifest::{Manifest, Service};

/// Why a manifest cannot be walled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "service `{service}` owns tables or columns outside a schema of its own ({what}): \
         walls are per schema; move them into a schema the service owns first"
    )]
    NotBySchema { service: String, what: String },
    #[error(
        "services `{0}` and `{1}` share the role `{2}`: a wall needs a role of its own per \
         service (set owner_role / runtime_role)"
    )]
    SharedRole(String, String, String),
    #[error("service `{0}` owns no schema: give it `schemas`")]
    NoSchema(String),
}

/// One statement of the plan, with the reason it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub why: &'static str,
    pub sql: String,
}

/// The plan: statements in the order they must run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub statements: Vec<Statement>,
}

impl Plan {
    fn push(&mut self, why: &'static str, sql: String) {
        self.statements.push(Statement { why, sql });
    }

    /// The plan as a psql script: one transaction, each statement under its reason.
    pub fn to_sql(&self, manifest: &Manifest) -> String {
        let mut out = String::from(
            "-- kit walls plan: run as a superuser (temp_file_limit and role attributes need one).\n\
             -- Passwords are not here: `kit walls apply` sets each runtime role's from the\n\
             -- variable its service names (password_env), or set them in psql:\n",
        );
        for service in &manifest.services {
            out.push_str(&format!(
                "--   \\password {}   (kit walls apply reads ${})\n",
                ident(&service.walls.runtime_role),
                service.walls.password_env
            ));
        }
        out.push_str("BEGIN;\n");
        let mut last = "";
        for statement in &self.statements {
            if statement.why != last {
                out.push_str(&format!("\n-- {}\n", statement.why));
                last = statement.why;
            }
            out.push_str(&statement.sql);
            out.push_str(";\n");
        }
        out.push_str("\nCOMMIT;\n");
        out
    }
}

/// The plan for `manifest` on the database named `database`, or, without a name, on the
/// one the statements run in (found with `current_database()` when they run).
pub fn plan(manifest: &Manifest, database: Option<&str>) -> Result<Plan, PlanError> {
    check(manifest)?;
    let mut plan = Plan::default();
    for service in &manifest.services {
        roles(&mut plan, service);
    }
    for service in &manifest.services {
        schemas(&mut plan, service);
    }
    closed_database(&mut plan, manifest, database);
    Ok(plan)
}

fn check(manifest: &Manifest) -> Result<(), PlanError> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for service in &manifest.services {
        if let Some(what) = service.tables.first().or(service.columns.first()) {
            return Err(PlanError::NotBySchema {
                service: service.name.clone(),
                what: what.clone(),
            });
        }
        if service.schemas.is_empty() {
            return Err(PlanError::NoSchema(service.name.clone()));
        }
        for role in [&service.walls.owner_role, &service.walls.runtime_role] {
            if let Some((other, _)) = seen.iter().find(|(_, r)| r == role) {
                return Err(PlanError::SharedRole(
                    other.to_string(),
                    service.name.clone(),
                    role.clone(),
                ));
            }
            seen.push((&service.name, role));
        }
    }
    Ok(())
}

fn roles(plan: &mut Plan, service: &Service) {
    let walls = &service.walls;
    let (owner, runtime) = (ident(&walls.owner_role), ident(&walls.runtime_role));
    let why = "roles: an owner that cannot log in, a login that owns nothing";
    plan.push(why, create_role(&walls.owner_role, "NOLOGIN"));
    plan.push(why, create_role(&walls.runtime_role, "LOGIN"));
    const PLAIN: &str = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";
    plan.push(why, format!("ALTER ROLE {owner} WITH NOLOGIN {PLAIN}"));
    plan.push(
        why,
        format!(
            "ALTER ROLE {runtime} WITH LOGIN {PLAIN} CONNECTION LIMIT {}",
            walls.limits.connection_limit
        ),
    );
    // The admin that runs the plan (and later the owner's migrations, with SET ROLE) must
    // be a member of the owner role to give it schemas and default privileges.
    plan.push(why, format!("GRANT {owner} TO CURRENT_USER"));
    let why = "limits: what one service's login can take from the others";
    for (parameter, value) in walls.limits.settings() {
        plan.push(
            why,
            format!("ALTER ROLE {runtime} SET {parameter} = {}", literal(value)),
        );
    }
}

fn schemas(plan: &mut Plan, service: &Service) {
    let walls = &service.walls;
    let (owner, runtime) = (ident(&walls.owner_role), ident(&walls.runtime_role));
    for schema in &service.schemas {
        let s = ident(schema);
        let why = "schemas: owned by the owner role, closed to PUBLIC";
        plan.push(
            why,
            format!("CREATE SCHEMA IF NOT EXISTS {s} AUTHORIZATION {owner}"),
        );
        plan.push(why, format!("ALTER SCHEMA {s} OWNER TO {owner}"));
        plan.push(why, format!("REVOKE ALL ON SCHEMA {s} FROM PUBLIC"));
        let why = "grants: the runtime role uses its own schema's objects, and nothing more";
        plan.push(why, format!("GRANT USAGE ON SCHEMA {s} TO {runtime}"));
        plan.push(
            why,
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {runtime}"
            ),
        );
        plan.push(
            why,
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {runtime}"),
        );
        // Functions are executable by PUBLIC unless revoked, one by one.
        plan.push(
            why,
            format!("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC"),
        );
        plan.push(
            why,
            format!("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} TO {runtime}"),
        );
        let why = "default privileges: what the owner creates later is covered too";
        let default = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {s}");
        plan.push(
            why,
            format!("{default} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}"),
        );
        plan.push(
            why,
            format!("{default} GRANT USAGE, SELECT ON SEQUENCES TO {runtime}"),
        );
        plan.push(
            why,
            format!("{default} GRANT EXECUTE ON FUNCTIONS TO {runtime}"),
        );
    }
    // A per-schema default can only add; PUBLIC's EXECUTE is taken away role-wide.
    plan.push(
        "default privileges: what the owner creates later is covered too",
        format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"
        ),
    );
}

fn closed_database(plan: &mut Plan, manifest: &Manifest, database: Option<&str>) {
    let runtimes: Vec<String> = manifest
        .services
        .iter()
        .map(|s| ident(&s.walls.runtime_role))
        .collect();
    let why = "the database: CONNECT for the runtime roles only; no TEMP, no CREATE for PUBLIC";
    let grantees = runtimes.join(", ");
    match database {
        Some(name) => {
            let db = ident(name);
            plan.push(why, format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"));
            plan.push(why, format!("GRANT CONNECT ON DATABASE {db} TO {grantees}"));
        }
        None => {
            // format() reads % in the role names as placeholders unless doubled.
            let templates = [
                "REVOKE ALL ON DATABASE %I FROM PUBLIC".to_owned(),
                format!(
                    "GRANT CONNECT ON DATABASE %I TO {}",
                    grantees.replace('%', "%%")
                ),
            ];
            for template in templates {
                plan.push(
                    why,
                    do_block(&format!(
                        "EXECUTE format({}, current_database());",
                        literal(&template)
                    )),
                );
            }
        }
    }
    let why = "the public schema: nobody's, so nobody uses it";
    plan.push(why, "REVOKE ALL ON SCHEMA public FROM PUBLIC".to_owned());
    // lo_import/lo_export (server files) are superuser-only already; the rest let any
    // login store data outside every schema, where no wall reaches.
    plan.push(
        "large objects: outside every schema, so closed to all",
        do_block(
            "DECLARE f regprocedure; BEGIN FOR f IN SELECT p.oid::regprocedure FROM pg_proc p \
             WHERE p.pronamespace = 'pg_catalog'::regnamespace \
             AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite')) \
             LOOP EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f); END LOOP; END",
        ),
    );
}

/// Creates `role` unless it exists. Two runs at once may both find it missing; the loser's
/// error is the harmless one, so it is swallowed.
pub(crate) fn create_role(role: &str, login: &str) -> String {
    do_block(&format!(
        "BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN CREATE ROLE {} {login}; END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END",
        literal(role),
        ident(role)
    ))
}

/// `DO $tag$ body $tag$`, with a tag the body does not contain. A body that is already
/// a block (`BEGIN ...` / `DECLARE ...`) is kept; anything else is wrapped in one.
fn do_block(body: &str) -> String {
    let body = if body.starts_with("BEGIN") || body.starts_with("DECLARE") {
        body.to_owned()
    } else {
        format!("BEGIN {body} END")
    };
    let mut tag = String::from("$kit$");
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$kit{n}$");
    }
    format!("DO {tag} {body} {tag}")
}

/// An identifier as Postgres's `quote_ident` would write it, always quoted: names that
/// need no quotes keep their meaning, and names that need them are safe.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal, `quote_literal`-style. With standard_conforming_strings (on since
/// Postgres 9.1) a backslash is an ordinary character, so doubling quotes suffices.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
