//! The SQL of each step of the road, forward and back. A step is the difference between two
//! states, so each pair of steps (0→1 and 1→0, 1→2 and 2→1) grants and revokes the same
//! privileges: a round trip leaves the catalogue's privileges as they were. Identifiers go
//! through [`ident`]; the contract's SQL is the owner's and runs as written.

use super::{RoadError, State};
use crate::manifest::{Manifest, Owner, Service};
use crate::walls::plan::{Statement, create_role, ident, literal};

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

/// The tables `service` moves into its home schema at state 4: those it owns by name
/// outside a schema of its own, as (schema, table).
fn moving(manifest: &Manifest, service: &Service) -> Vec<(String, String)> {
    owned_tables(manifest, service)
        .into_iter()
        .filter_map(|t| {
            let (schema, table) = t.split_once('.')?;
            (!service.schemas.iter().any(|s| s == schema))
                .then(|| (schema.to_owned(), table.to_owned()))
        })
        .collect()
}

/// `ALTER ROLE .. IN DATABASE <this one> ..`, for a plan that does not know its database.
fn in_this_database(template: &str) -> String {
    format!(
        "DO $kit$ BEGIN EXECUTE format({}, current_database()); END $kit$",
        literal(template)
    )
}

/// The large-object functions: outside every schema, so no wall reaches what they store.
fn large_objects(verb: &str, to: &str) -> String {
    format!(
        "DO $kit$ DECLARE f regprocedure; BEGIN FOR f IN SELECT p.oid::regprocedure FROM pg_proc p \
         WHERE p.pronamespace = 'pg_catalog'::regnamespace \
         AND (p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite')) \
         AND p.proname NOT IN ('lo_import', 'lo_export') \
         LOOP EXECUTE format('{verb} EXECUTE ON FUNCTION %s {to} PUBLIC', f); END LOOP; END $kit$"
    )
}

/// The search path the owners' migrations and the admin find the moved tables on.
fn homes_path(manifest: &Manifest) -> String {
    let homes: Vec<String> = manifest
        .services
        .iter()
        .filter_map(|s| s.home_schema.as_deref())
        .map(ident)
        .collect();
    format!("\"$user\", public, {}", homes.join(", "))
}

/// Where state 4 keeps the foreign keys it drops between owners, for the way back.
const KEPT_KEYS: &str = "kit_road.foreign_keys";

/// `ARRAY[to_regclass(..), ..]` of `tables`, for a plan that runs before they move.
fn regclasses(tables: &[String]) -> String {
    let each: Vec<String> = tables
        .iter()
        .map(|t| format!("to_regclass({})", literal(t)))
        .collect();
    format!("ARRAY[{}]::regclass[]", each.join(", "))
}

/// State 4's first step: every foreign key from one owner's table to another's is dropped,
/// its definition kept in [`KEPT_KEYS`]. Such a key is a wall the walls do not remove: the
/// referenced owner cannot change its key (a type, a primary key) without the referencing
/// team, and a row of one team is checked against the other's table. From state 3 on, the
/// consumer checks through the owner's API instead.
fn foreign_keys_out(out: &mut Vec<Statement>, manifest: &Manifest) {
    let crossing: Vec<String> = manifest
        .services
        .iter()
        .map(|service| {
            let others: Vec<String> = manifest
                .services
                .iter()
                .filter(|o| o.name != service.name)
                .flat_map(|o| owned_tables(manifest, o))
                .collect();
            format!(
                "(c.conrelid = ANY({}) AND c.confrelid = ANY({}))",
                regclasses(&owned_tables(manifest, service)),
                regclasses(&others)
            )
        })
        .collect();
    if crossing.is_empty() {
        return;
    }
    out.push(Statement {
        why: "state 4: foreign keys between owners go (each team's API checks what they \
              checked); kept in kit_road.foreign_keys for the way back",
        sql: format!(
            "DO $kit$ DECLARE fk record; BEGIN \
             PERFORM set_config('search_path', 'pg_catalog', true); \
             CREATE SCHEMA kit_road; REVOKE ALL ON SCHEMA kit_road FROM PUBLIC; \
             CREATE TABLE {KEPT_KEYS} (on_table regclass NOT NULL, name text NOT NULL, definition text NOT NULL); \
             FOR fk IN SELECT c.conrelid::regclass AS on_table, c.conname, pg_get_constraintdef(c.oid) AS definition \
             FROM pg_constraint c WHERE c.contype = 'f' AND ({}) ORDER BY c.conname LOOP \
             INSERT INTO {KEPT_KEYS} VALUES (fk.on_table, fk.conname, fk.definition); \
             EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.on_table, fk.conname); \
             END LOOP; END $kit$",
            crossing.join(" OR ")
        ),
    });
}

/// The way back from state 4's first step: each kept foreign key returns, and is validated;
/// a row written at state 4 that refers to a row gone leaves it `NOT VALID`, with a warning
/// that says how to finish. A key that cannot return at all (an owner changed the key it
/// referred to, e.g. its type) refuses the way back, naming it.
fn foreign_keys_back(out: &mut Vec<Statement>) {
    out.push(Statement {
        why: "back to state 3: the foreign keys between owners return",
        sql: format!(
            "DO $kit$ DECLARE fk record; BEGIN \
             IF to_regclass('{KEPT_KEYS}') IS NULL THEN RETURN; END IF; \
             FOR fk IN SELECT * FROM {KEPT_KEYS} ORDER BY name LOOP \
             BEGIN EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', fk.on_table, fk.name, fk.definition); \
             EXCEPTION WHEN OTHERS THEN RAISE EXCEPTION \
             'the foreign key % on % (%) cannot come back: %. An owner changed what it refers to at state 4: change it back, or stay at state 4', \
             fk.name, fk.on_table, fk.definition, SQLERRM; END; \
             BEGIN EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', fk.on_table, fk.name); \
             EXCEPTION WHEN foreign_key_violation THEN RAISE WARNING \
             'kit road: % on % is back NOT VALID: rows written at state 4 refer to rows that are gone; fix them, then VALIDATE CONSTRAINT %', \
             fk.name, fk.on_table, fk.name; END; \
             END LOOP; DROP SCHEMA kit_road CASCADE; END $kit$"
        ),
    });
}

fn walls_up(out: &mut Vec<Statement>, manifest: &Manifest) {
    foreign_keys_out(out, manifest);
    for service in &manifest.services {
        let Some(home) = &service.home_schema else {
            continue;
        };
        let (h, r) = (ident(home), ident(&service.walls.runtime_role));
        let why = "state 4: each owner's tables move into its home schema, reached by it alone";
        for sql in [
            format!("CREATE SCHEMA {h}"),
            format!("REVOKE ALL ON SCHEMA {h} FROM PUBLIC"),
            format!("GRANT USAGE ON SCHEMA {h} TO {r}"),
        ] {
            out.push(Statement { why, sql });
        }
        for (schema, t) in moving(manifest, service) {
            let sql = format!(
                "ALTER TABLE {}.{} SET SCHEMA {h}",
                ident(&schema),
                ident(&t)
            );
            out.push(Statement { why, sql });
        }
        // The service's unqualified SQL finds its tables where they moved, unchanged.
        let template = format!(
            "ALTER ROLE {} IN DATABASE %I SET search_path = {}, public",
            r.replace('%', "%%"),
            h.replace('%', "%%")
        );
        out.push(Statement {
            why: "state 4: each service's login looks in its home schema first",
            sql: in_this_database(&template),
        });
    }
    out.push(Statement {
        why: "state 4: the owners' migrations, run as the tables' owner, find them too",
        sql: in_this_database(&format!(
            "ALTER DATABASE %I SET search_path = {}",
            homes_path(manifest).replace('%', "%%")
        )),
    });
    for service in &manifest.services {
        if let Some(contract) = &service.contract {
            out.push(Statement {
                why: "state 4: the contracts go; the API is the only way in",
                sql: format!("DROP SCHEMA {} CASCADE", ident(&contract.schema)),
            });
        }
    }
    out.push(Statement {
        why: "state 4: large objects, outside every schema, closed to all",
        sql: large_objects("REVOKE", "FROM"),
    });
}

fn walls_down(out: &mut Vec<Statement>, manifest: &Manifest) {
    for service in &manifest.services {
        let Some(home) = &service.home_schema else {
            continue;
        };
        let moved = moving(manifest, service);
        let names: Vec<String> = moved.iter().map(|(_, t)| literal(t)).collect();
        // Only what state 4 moved in can go back: anything else the owner made there
        // (a table renamed or added) has no place at state 3.
        out.push(Statement {
            why: "back to state 3: only the tables state 4 moved can move back",
            sql: format!(
                "DO $kit$ DECLARE extra text; BEGIN \
                 SELECT string_agg(c.relname, ', ' ORDER BY c.relname) INTO extra FROM pg_class c \
                 WHERE c.relnamespace = to_regnamespace({home_literal}) \
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> ALL (ARRAY[{names}]::text[]); \
                 IF extra IS NOT NULL THEN RAISE EXCEPTION 'schema % holds % besides the tables state 4 moved there: move or drop them, or stay at state 4', {home_literal}, extra; END IF; END $kit$",
                home_literal = literal(home),
                names = names.join(", "),
            ),
        });
        let h = ident(home);
        let why = "back to state 3: the tables return where the contracts expect them";
        for (schema, t) in &moved {
            let sql = format!("ALTER TABLE {h}.{} SET SCHEMA {}", ident(t), ident(schema));
            out.push(Statement { why, sql });
        }
        out.push(Statement {
            why,
            sql: format!("DROP SCHEMA {h}"),
        });
        let template = format!(
            "ALTER ROLE {} IN DATABASE %I RESET search_path",
            ident(&service.walls.runtime_role).replace('%', "%%")
        );
        out.push(Statement {
            why,
            sql: in_this_database(&template),
        });
    }
    out.push(Statement {
        why: "back to state 3: the database's search path as it was",
        sql: in_this_database("ALTER DATABASE %I RESET search_path"),
    });
    for owner in &manifest.services {
        let Some(contract) = &owner.contract else {
            continue;
        };
        let c = ident(&contract.schema);
        let why = "back to state 3: the contracts return, granted to nobody yet";
        for sql in [
            format!("CREATE SCHEMA {c}"),
            contract.sql.trim_end_matches(';').to_owned(),
            format!("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {c} FROM PUBLIC"),
        ] {
            out.push(Statement { why, sql });
        }
    }
    out.push(Statement {
        why: "back to state 3: large objects open as Postgres has them",
        sql: large_objects("GRANT", "TO"),
    });
    foreign_keys_back(out);
}
