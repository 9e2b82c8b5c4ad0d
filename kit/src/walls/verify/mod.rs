//! `kit walls verify`: the admin lists each service's objects; then each service logs in
//! as its runtime role, with its own password, and tries every other service's objects
//! (see [`probes`]), each try in a transaction rolled back. Postgres refusing a try for
//! lack of privilege (42501) is a wall that held; anything that gets through is open.

use sqlx::{Connection, Executor, PgConnection};

use super::{Passwords, WallsError, admin_options};
use crate::manifest::{Manifest, Service};

pub mod probes;
pub mod report;

use probes::{Attempt, Check};
pub use report::{Probe, Report, Status};

/// A table, view or sequence of a service.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    /// pg_class.relkind: r, p, v, m or S.
    pub kind: String,
    /// A column an INSERT or UPDATE may name (not generated).
    pub column: Option<String>,
}

/// A function of a service, with its argument types as SQL writes them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub arguments: Vec<String>,
}

/// What the admin found of one service.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub relations: Vec<Relation>,
    pub functions: Vec<Function>,
    /// Its schemas that exist.
    pub schemas: Vec<String>,
    /// Its roles that exist.
    pub roles: Vec<String>,
}

/// Logs in as every service and probes every other; the database of `admin` is where.
pub async fn verify(
    admin: &str,
    manifest: &Manifest,
    passwords: &Passwords,
) -> Result<Report, WallsError> {
    let options = admin_options(admin)?;
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(WallsError::Admin)?;
    let mut found = Vec::new();
    for service in &manifest.services {
        found.push(find(&mut conn, service).await.map_err(WallsError::Read)?);
    }
    let unowned = unowned_schemas(&mut conn, manifest)
        .await
        .map_err(WallsError::Read)?;
    let stat_statements = stat_statements_schema(&mut conn).await;
    let mut probes = Vec::new();
    for service in &manifest.services {
        let walls = &service.walls;
        let password = passwords.get(&service.name).ok_or(WallsError::NoPassword {
            service: service.name.clone(),
            role: walls.runtime_role.clone(),
            env: walls.password_env.clone(),
        })?;
        let login = options
            .clone()
            .username(&walls.runtime_role)
            .password(password)
            .application_name("kit-walls-verify");
        let mut prober =
            PgConnection::connect_with(&login)
                .await
                .map_err(|source| WallsError::Login {
                    service: service.name.clone(),
                    role: walls.runtime_role.clone(),
                    env: walls.password_env.clone(),
                    source,
                })?;
        let mut attempts = Vec::new();
        let mut skipped = Vec::new();
        for (target, target_found) in manifest.services.iter().zip(&found) {
            if target.name == service.name {
                continue;
            }
            attempts.extend(probes::against(&target.name, target_found));
            let (seen, skip) =
                observed(&mut conn, target, target_found, stat_statements.as_deref()).await;
            attempts.extend(seen);
            skipped.extend(skip);
        }
        attempts.extend(unowned.iter().map(|s| probes::create_in("shared", s)));
        attempts.push(probes::large_objects());
        for attempt in attempts {
            let (status, detail) = try_one(&mut prober, &attempt).await?;
            probes.push(Probe {
                service: service.name.clone(),
                target: attempt.target,
                wall: attempt.wall,
                object: attempt.object,
                status,
                detail,
            });
        }
        probes.extend(skipped.into_iter().map(|mut p: Probe| {
            p.service = service.name.clone();
            p
        }));
        let _ = prober.close().await;
    }
    let _ = conn.close().await;
    // Skipped probes were listed last; group each prober's lines by target again.
    probes.sort_by(|a, b| (&a.service, &a.target).cmp(&(&b.service, &b.target)));
    Ok(Report {
        version: report::VERSION,
        probes,
    })
}

/// Runs one attempt in a transaction that is always rolled back.
async fn try_one(
    conn: &mut PgConnection,
    attempt: &Attempt,
) -> Result<(Status, String), WallsError> {
    let mut tx = conn.begin().await.map_err(WallsError::Read)?;
    tx.execute("SET LOCAL lock_timeout = '2s'; SET LOCAL statement_timeout = '10s'")
        .await
        .map_err(WallsError::Read)?;
    let outcome = match attempt.check {
        Check::Runs => tx.execute(attempt.sql.as_str()).await.map(|_| 1),
        Check::Sees => {
            sqlx::query_scalar::<_, i64>(attempt.sql.as_str())
                .fetch_one(&mut *tx)
                .await
        }
    };
    tx.rollback().await.map_err(WallsError::Read)?;
    Ok(match outcome {
        Ok(0) => (Status::Held, "nothing visible".to_owned()),
        Ok(rows) if attempt.check == Check::Sees => (
            Status::Open,
            format!("{rows} rows visible: {}", attempt.sql),
        ),
        Ok(_) => (Status::Open, format!("got through: {}", attempt.sql)),
        Err(sqlx::Error::Database(err)) => {
            let code = err.code().unwrap_or_default().into_owned();
            let message = format!("{} ({code})", err.message());
            // Integrity, data and dependency errors come after the privilege check.
            if code == "42501" {
                (Status::Held, message)
            } else if code.starts_with("23") || code.starts_with("22") || code == "2BP01" {
                (
                    Status::Open,
                    format!("past the privilege check: {message}: {}", attempt.sql),
                )
            } else {
                (Status::Unclear, format!("{message}: {}", attempt.sql))
            }
        }
        Err(err) => return Err(WallsError::Read(err)),
    })
}

/// The pg_stats and pg_stat_statements probes of `target`, where the admin sees something
/// to hide; a probe with nothing to find is listed as skipped, with why.
async fn observed(
    admin: &mut PgConnection,
    target: &Service,
    found: &Found,
    stat_statements: Option<&str>,
) -> (Vec<Attempt>, Vec<Probe>) {
    let (mut attempts, mut skipped) = (Vec::new(), Vec::new());
    let skip = |wall, detail: String| Probe {
        service: String::new(),
        target: target.name.clone(),
        wall,
        object: String::new(),
        status: Status::Skipped,
        detail,
    };
    let tables: Vec<(String, String)> = found
        .relations
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "r" | "p" | "m"))
        .map(|r| (r.schema.clone(), r.name.clone()))
        .collect();
    let probe = probes::pg_stats(&target.name, &tables);
    match sqlx::query_scalar::<_, i64>(probe.sql.as_str())
        .fetch_one(&mut *admin)
        .await
    {
        Ok(n) if n > 0 && !tables.is_empty() => attempts.push(probe),
        _ => skipped.push(skip(
            "pg_stats",
            "no column statistics yet (ANALYZE, then verify again)".to_owned(),
        )),
    }
    let mut roles = vec![target.walls.owner_role.clone()];
    if target.walls.runtime_role != target.walls.owner_role {
        roles.push(target.walls.runtime_role.clone());
    }
    let Some(schema) = stat_statements else {
        skipped.push(skip(
            "pg_stat_statements",
            "the extension is not in this database".to_owned(),
        ));
        return (attempts, skipped);
    };
    let sql = probes::statements_sql(schema, &roles, false);
    match sqlx::query_scalar::<_, i64>(sql.as_str())
        .fetch_one(&mut *admin)
        .await
    {
        Ok(n) if n > 0 => attempts.push(probes::statements(&target.name, schema, &roles)),
        Ok(_) => skipped.push(skip(
            "pg_stat_statements",
            format!("no statement of {} recorded yet", roles.join(", ")),
        )),
        Err(err) => skipped.push(skip("pg_stat_statements", format!("unreadable: {err}"))),
    }
    (attempts, skipped)
}

async fn find(conn: &mut PgConnection, service: &Service) -> Result<Found, sqlx::Error> {
    // The schema its tables move into on the road's state 4 is its own too.
    let schemas = owned(service);
    let relations = sqlx::query_as::<_, Relation>(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind, \
           (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
              AND NOT a.attisdropped AND a.attidentity <> 'a' AND a.attgenerated = '' \
            ORDER BY a.attnum LIMIT 1) AS column \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND (n.nspname = ANY($1) \
           OR n.nspname || '.' || c.relname = ANY($2) \
           OR c.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid \
              JOIN pg_namespace tn ON tn.oid = t.relnamespace \
              WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
                AND d.deptype IN ('a', 'i') AND tn.nspname || '.' || t.relname = ANY($2))) \
         ORDER BY 1, 2",
    )
    .bind(&schemas)
    .bind(&service.tables)
    .fetch_all(&mut *conn)
    .await?;
    // Polymorphic arguments have no NULL to pass; such functions are left out.
    let functions = sqlx::query_as::<_, Function>(
        "SELECT n.nspname::text AS schema, p.proname::text AS name, \
           ARRAY(SELECT format_type(u.t, NULL) FROM unnest(p.proargtypes::oid[]) \
                 WITH ORDINALITY u(t, i) ORDER BY u.i) AS arguments \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind = 'f' AND n.nspname = ANY($1) AND NOT EXISTS ( \
           SELECT FROM unnest(p.proargtypes::oid[]) u(t) JOIN pg_type y ON y.oid = u.t \
           WHERE y.typtype = 'p') \
         ORDER BY 1, 2",
    )
    .bind(&schemas)
    .fetch_all(&mut *conn)
    .await?;
    let schemas = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1) ORDER BY 1",
    )
    .bind(&schemas)
    .fetch_all(&mut *conn)
    .await?;
    let roles =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1")
            .bind([&service.walls.owner_role, &service.walls.runtime_role])
            .fetch_all(&mut *conn)
            .await?;
    Ok(Found {
        relations,
        functions,
        schemas,
        roles,
    })
}

/// The schemas `service` owns: its own, and its home on the road's state 4.
fn owned(service: &Service) -> Vec<String> {
    let mut schemas = service.schemas.clone();
    schemas.extend(service.home_schema.iter().cloned());
    schemas
}

/// Schemas no service owns (`public`, for one): nobody should create anything there.
async fn unowned_schemas(
    conn: &mut PgConnection,
    manifest: &Manifest,
) -> Result<Vec<String>, sqlx::Error> {
    let owned: Vec<String> = manifest.services.iter().flat_map(owned).collect();
    sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' \
         AND nspname <> 'information_schema' AND NOT nspname = ANY($1) ORDER BY 1",
    )
    .bind(owned)
    .fetch_all(conn)
    .await
}

/// The schema pg_stat_statements is installed in, if it is in this database.
async fn stat_statements_schema(conn: &mut PgConnection) -> Option<String> {
    sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n \
         ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
    )
    .fetch_optional(conn)
    .await
    .ok()
    .flatten()
}
