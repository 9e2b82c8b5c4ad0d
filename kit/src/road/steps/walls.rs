//! State 4, walls up, and its way back: the foreign keys between owners go (kept for the
//! way back), each owner's tables move into its home schema, the contracts go.

use super::{Manifest, Service, Statement, ident, literal, owned_tables};

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

pub(super) fn walls_up(out: &mut Vec<Statement>, manifest: &Manifest) {
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

pub(super) fn walls_down(out: &mut Vec<Statement>, manifest: &Manifest) {
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
