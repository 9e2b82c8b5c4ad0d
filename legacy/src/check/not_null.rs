//! What a prepare cannot see: an INSERT that leaves out a column the table now requires.
//! Postgres accepts the statement and refuses only the row, at run time, with 23502; the
//! catalog tells it beforehand.

use sqlx::PgConnection;

/// The columns no INSERT may leave out: NOT NULL, with no default, not filled by identity
/// or generation.
const REQUIRED_COLUMNS: &str = "SELECT a.attname::text FROM pg_attribute a
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attnotnull AND a.attidentity = '' AND a.attgenerated = ''
       AND NOT EXISTS (SELECT 1 FROM pg_attrdef d
                       WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum)
     ORDER BY a.attnum";

/// For an INSERT, a required column it does not fill, as (table, column). A prepare
/// accepts such an INSERT; the not-null violation (23502) comes only when it runs.
pub(super) async fn missing_required_column(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let Some((table, columns)) = insert_target(sql) else {
        return Ok(None);
    };
    let required: Vec<String> = sqlx::query_scalar(REQUIRED_COLUMNS)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    Ok(required
        .into_iter()
        .find(|column| !columns.contains(&column.as_str()))
        .map(|column| (table.to_owned(), column)))
}

/// The table and columns of `INSERT INTO table (a, b, ...) ...`; `None` for any other
/// statement, and for an INSERT without a column list (none in this crate: a unit test
/// says so).
pub(super) fn insert_target(sql: &str) -> Option<(&str, Vec<&str>)> {
    let sql = sql.trim_start();
    let head = sql.get(..12)?;
    if !head.eq_ignore_ascii_case("INSERT INTO ") {
        return None;
    }
    let rest = &sql[12..];
    let (table, rest) = rest.split_once('(')?;
    let table = table.trim();
    if table.is_empty() || table.contains(char::is_whitespace) {
        return None;
    }
    let (columns, _) = rest.split_once(')')?;
    Some((table, columns.split(',').map(str::trim).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_columns_of_an_insert() {
        assert_eq!(
            insert_target("INSERT INTO customers (name, email, phone) VALUES ($1, $2, $3)"),
            Some(("customers", vec!["name", "email", "phone"]))
        );
        assert_eq!(
            insert_target("  insert into clients (a) SELECT 1"),
            Some(("clients", vec!["a"]))
        );
        assert_eq!(insert_target("INSERT INTO customers VALUES (1)"), None);
        assert_eq!(insert_target("SELECT 1"), None);
    }
}
