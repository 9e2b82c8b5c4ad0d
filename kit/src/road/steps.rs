//! The SQL of each step of the road, forward and back. A step is the difference between two
//! states, so each pair of steps (0→1 and 1→0, 1→2 and 2→1) grants and revokes the same
//! privileges: a round trip leaves the catalogue's privileges as they were. Identifiers go
//! through [`ident`]; the contract's SQL is the owner's and runs as written.

use super::{RoadError, State};
use crate::manifest::{Manifest, Owner, Service};
use crate::walls::plan::{Statement, create_role, ident, literal};

mod walls;
use walls::{walls_down, walls_up};

/// DML: what a service's login gets on each table at state 1, as the shared login had it.
const DML: &str = "SELECT, INSERT, UPDATE, DELETE";

/// The statements that move a database from `from` to `to`, one step after the other.
pub fn plan(manifest: &Manifest, from: State, to: State) -> Result<Vec<Statement>, RoadError> {
    check(manifest, from.max(to))?;
    let mut out = Vec::new();
    let mut at = from;
    while at != to {
        match (at, at < to) {
            (State::SharedLogin, true) => logins_up(&mut out, manifest),
            (State::LoginPerService, true) => contracts_up(&mut out, manifest),
            (State::LoginPerService, false) => logins_down(&mut out, manifest),
            (State::Contract, true) => api_up(&mut out, manifest),
            (State::Contract, false) => contracts_down(&mut out, manifest),
            (State::Api, true) => walls_up(&mut out, manifest),
            (State::Api, false) => api_down(&mut out, manifest),
            (State::Walls, false) => walls_down(&mut out, manifest),
            // Below 0 and above 4 there is no road: `at` never gets there.
            (State::SharedLogin, false) | (State::Walls, true) => break,
        }
        let next = if at < to {
            at.number() + 1
        } else {
            at.number() - 1
        };
        let Some(next) = State::numbered(next) else {
            break;
        };
        at = next;
    }
    Ok(out)
}

fn check(manifest: &Manifest, highest: State) -> Result<(), RoadError> {
    for (i, service) in manifest.services.iter().enumerate() {
        let role = &service.walls.runtime_role;
        if let Some(other) = manifest.services[..i]
            .iter()
            .find(|o| &o.walls.runtime_role == role)
        {
            return Err(RoadError::SharedRole {
                service: service.name.clone(),
                other: other.name.clone(),
                role: role.clone(),
            });
        }
        if highest >= State::Contract && service.contract.is_none() {
            return Err(RoadError::NoContract(service.name.clone()));
        }
        let by_name = owned_tables(manifest, service).into_iter().any(|t| {
            !service
                .schemas
                .iter()
                .any(|s| t.starts_with(&format!("{s}.")))
        });
        if highest >= State::Walls && by_name && service.home_schema.is_none() {
            return Err(RoadError::NoHome(service.name.clone()));
        }
    }
    Ok(())
}

/// `schema.table` as an identifier.
fn table(qualified: &str) -> String {
    qualified
        .split('.')
        .map(ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// Every table the manifest knows: the catalogue's and the ones a service names.
fn known_tables(manifest: &Manifest) -> Vec<String> {
    let mut tables: Vec<String> = manifest.catalogue_tables().map(str::to_owned).collect();
    for service in &manifest.services {
        tables.extend(service.tables.iter().cloned());
    }
    tables.sort();
    tables.dedup();
    tables
}

/// The tables `owner` owns by name (its own list, and the catalogue's it owns by schema).
pub(super) fn owned_tables(manifest: &Manifest, owner: &Service) -> Vec<String> {
    known_tables(manifest)
        .into_iter()
        .filter(|t| manifest.owner(t, None) == Owner::Service(owner.name.clone()))
        .collect()
}

/// The schemas the manifest's tables live in, and the services' own.
fn schemas(manifest: &Manifest) -> Vec<String> {
    let mut schemas: Vec<String> = known_tables(manifest)
        .iter()
        .filter_map(|t| t.split('.').next().map(str::to_owned))
        .chain(manifest.services.iter().flat_map(|s| s.schemas.clone()))
        .collect();
    schemas.sort();
    schemas.dedup();
    schemas
}

fn logins_up(out: &mut Vec<Statement>, manifest: &Manifest) {
    for service in &manifest.services {
        let role = &service.walls.runtime_role;
        let r = ident(role);
        let why = "state 1: a login per service";
        out.push(Statement {
            why,
            sql: create_role(role, "LOGIN"),
        });
        out.push(Statement {
            why,
            sql: format!("ALTER ROLE {r} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"),
        });
        dml(
            out,
            manifest,
            service,
            "GRANT",
            "TO",
            "state 1: the rights the shared login had",
        );
    }
}

fn logins_down(out: &mut Vec<Statement>, manifest: &Manifest) {
    for service in &manifest.services {
        dml(
            out,
            manifest,
            service,
            "REVOKE",
            "FROM",
            "back to state 0: the login's rights go",
        );
        out.push(Statement {
            why: "back to state 0: the login goes; the shared login serves every service again",
            sql: format!("DROP ROLE IF EXISTS {}", ident(&service.walls.runtime_role)),
        });
    }
}

/// Grants (or revokes) `service`'s login DML on every known table and every table of the
/// services' schemas, with USAGE on their schemas.
fn dml(
    out: &mut Vec<Statement>,
    manifest: &Manifest,
    service: &Service,
    verb: &str,
    to: &str,
    why: &'static str,
) {
    let r = ident(&service.walls.runtime_role);
    for schema in schemas(manifest) {
        let sql = format!("{verb} USAGE ON SCHEMA {} {to} {r}", ident(&schema));
        out.push(Statement { why, sql });
    }
    for t in known_tables(manifest) {
        let sql = format!("{verb} {DML} ON TABLE {} {to} {r}", table(&t));
        out.push(Statement { why, sql });
    }
    for schema in manifest.services.iter().flat_map(|s| &s.schemas) {
        let s = ident(schema);
        for sql in [
            format!("{verb} {DML} ON ALL TABLES IN SCHEMA {s} {to} {r}"),
            format!("{verb} USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} {to} {r}"),
        ] {
            out.push(Statement { why, sql });
        }
    }
}

/// The other services: the consumers of `owner`'s contract.
fn consumers<'a>(manifest: &'a Manifest, owner: &'a Service) -> impl Iterator<Item = &'a Service> {
    manifest
        .services
        .iter()
        .filter(move |s| s.name != owner.name)
}

fn contracts_up(out: &mut Vec<Statement>, manifest: &Manifest) {
    for owner in &manifest.services {
        let Some(contract) = &owner.contract else {
            continue;
        };
        let c = ident(&contract.schema);
        let why = "state 2: the owner publishes its contract";
        out.push(Statement {
            why,
            sql: format!("CREATE SCHEMA {c}"),
        });
        out.push(Statement {
            why,
            sql: contract.sql.trim_end_matches(';').to_owned(),
        });
        // Functions are executable by PUBLIC unless revoked: only the consumers may call.
        out.push(Statement {
            why,
            sql: format!("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {c} FROM PUBLIC"),
        });
        for consumer in consumers(manifest, owner) {
            let r = ident(&consumer.walls.runtime_role);
            let why = "state 2: the consumers use the contract";
            for sql in [
                format!("GRANT USAGE ON SCHEMA {c} TO {r}"),
                format!("GRANT SELECT ON ALL TABLES IN SCHEMA {c} TO {r}"),
                format!("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {c} TO {r}"),
            ] {
                out.push(Statement { why, sql });
            }
            cross(
                out,
                manifest,
                owner,
                consumer,
                "REVOKE",
                "FROM",
                "state 2: and nothing else of the owner's",
            );
        }
    }
}

fn contracts_down(out: &mut Vec<Statement>, manifest: &Manifest) {
    for owner in &manifest.services {
        let Some(contract) = &owner.contract else {
            continue;
        };
        for consumer in consumers(manifest, owner) {
            let why = "back to state 1: the consumers' rights on the owner's tables return";
            cross(out, manifest, owner, consumer, "GRANT", "TO", why);
        }
        out.push(Statement {
            why: "back to state 1: the contract goes",
            sql: format!("DROP SCHEMA {} CASCADE", ident(&contract.schema)),
        });
    }
}

/// Grants (or revokes) `consumer`'s DML on `owner`'s tables, and USAGE on its schemas.
fn cross(
    out: &mut Vec<Statement>,
    manifest: &Manifest,
    owner: &Service,
    consumer: &Service,
    verb: &str,
    to: &str,
    why: &'static str,
) {
    let r = ident(&consumer.walls.runtime_role);
    for t in owned_tables(manifest, owner) {
        let sql = format!("{verb} {DML} ON TABLE {} {to} {r}", table(&t));
        out.push(Statement { why, sql });
    }
    for schema in &owner.schemas {
        let s = ident(schema);
        for sql in [
            format!("{verb} {DML} ON ALL TABLES IN SCHEMA {s} {to} {r}"),
            format!("{verb} USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} {to} {r}"),
            format!("{verb} USAGE ON SCHEMA {s} {to} {r}"),
        ] {
            out.push(Statement { why, sql });
        }
    }
}

/// The grants each consumer holds on an owner's contract at state 2, given or taken.
fn contract_grants(
    out: &mut Vec<Statement>,
    manifest: &Manifest,
    verb: &str,
    to: &str,
    why: &'static str,
) {
    for owner in &manifest.services {
        let Some(contract) = &owner.contract else {
            continue;
        };
        let c = ident(&contract.schema);
        for consumer in consumers(manifest, owner) {
            let r = ident(&consumer.walls.runtime_role);
            for sql in [
                format!("{verb} USAGE ON SCHEMA {c} {to} {r}"),
                format!("{verb} SELECT ON ALL TABLES IN SCHEMA {c} {to} {r}"),
                format!("{verb} EXECUTE ON ALL FUNCTIONS IN SCHEMA {c} {to} {r}"),
            ] {
                out.push(Statement { why, sql });
            }
        }
    }
}

fn api_up(out: &mut Vec<Statement>, manifest: &Manifest) {
    let why = "state 3: each consumer calls the owner's API; its contract grants go";
    contract_grants(out, manifest, "REVOKE", "FROM", why);
}

fn api_down(out: &mut Vec<Statement>, manifest: &Manifest) {
    let why = "back to state 2: the consumers use the contract again";
    contract_grants(out, manifest, "GRANT", "TO", why);
}
