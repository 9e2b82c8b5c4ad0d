//! A snapshot of every privilege a test's roles hold (roles named `..._<suffix>`, since
//! roles are cluster-wide and the server is shared) and of the database's schemas, default
//! privileges and large-object functions, as text: two snapshots compare with `==`.

use sqlx::{Connection, PgConnection};

/// Everything a privilege lives in, for the test's roles and database, as text.
pub async fn snapshot(admin: &str, suffix: &str) -> Vec<String> {
    let pattern = format!("%\\_{suffix}");
    let queries = [
        "SELECT format('%s %s %s %s %s %s', rolname, rolcanlogin, rolsuper, rolinherit, \
         rolconnlimit, rolconfig) FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1",
        "SELECT format('%s %s %s', nspname, nspowner::regrole, nspacl) FROM pg_namespace \
         ORDER BY 1",
        "SELECT format('%s %s %s %s', grantee, table_schema, table_name, privilege_type) \
         FROM information_schema.role_table_grants WHERE grantee LIKE $1 ORDER BY 1",
        "SELECT format('%s %s %s %s', defaclrole::regrole, defaclnamespace, defaclobjtype, \
         defaclacl) FROM pg_default_acl ORDER BY 1",
        "SELECT format('%s %s', datname, datacl) FROM pg_database \
         WHERE datname = current_database()",
        // A grant back to PUBLIC writes the default out, in another order: NULL and the
        // default are the same rights, and so are two orders of the same items.
        "SELECT format('%s %s', oid::regprocedure, (SELECT array_agg(a::text ORDER BY a::text) \
         FROM unnest(coalesce(proacl, acldefault('f', proowner))) a)) \
         FROM pg_proc WHERE proname LIKE 'lo\\_%' ORDER BY 1",
        "SELECT format('%s %s', roleid::regrole, member::regrole) FROM pg_auth_members \
         WHERE roleid::regrole::text LIKE $1 ORDER BY 1",
    ];
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("an admin connection");
    let mut out = Vec::new();
    for sql in queries {
        let query = sqlx::query_scalar::<_, String>(sql);
        let query = if sql.contains("$1") {
            query.bind(&pattern)
        } else {
            query
        };
        out.extend(query.fetch_all(&mut conn).await.expect("the catalogue"));
    }
    out
}
