//! Evidence from the server log: one shared login, services told apart by the
//! application_name each sets. Reads Postgres's plain `stderr` log format (also what
//! `logging_collector` writes to `*.log`) when the server runs with
//!
//! ```text
//! log_line_prefix = '%m [%p] db=%d app=%a user=%u '   # `app=%a user=%u ` is what this
//!                                                  # needs; `db=%d` lets one database be read
//! log_statement = 'all'                         # or log_min_duration_statement = 0
//! ```
//!
//! Counted lines are `statement: …` (simple protocol) and `execute <name>: …` (extended
//! protocol, what sqlx and most drivers use), with or without a `duration: … ms` in front;
//! `parse`/`bind` lines of the same execution are not counted again. Continuation lines
//! (a tab in front) belong to the statement above. This module reads text; it opens no
//! file and no connection.

use super::Observation;

/// Every statement execution the log text shows, one observation per execution.
pub fn parse(text: &str) -> Vec<Observation> {
    parse_where(text, |_| true)
}

/// Like [`parse`], but only the executions in `database`: the prefix must name it with
/// `db=%d` before `app=` (a line without `db=` is not kept). A server that many databases
/// share writes one log; this is how one database's traffic is read from it.
pub fn parse_database(text: &str, database: &str) -> Vec<Observation> {
    parse_where(text, |db| db == Some(database))
}

fn parse_where(text: &str, keep: impl Fn(Option<&str>) -> bool) -> Vec<Observation> {
    let mut found = Vec::new();
    let mut current: Option<Observation> = None;
    for line in text.lines() {
        if let Some(continued) = line.strip_prefix('\t') {
            if let Some(o) = current.as_mut() {
                o.text.push('\n');
                o.text.push_str(continued);
            }
            continue;
        }
        found.extend(current.take());
        current = parse_line(line).and_then(|(db, o)| keep(db).then_some(o));
    }
    found.extend(current);
    found
}

/// One log line's statement, with the database and the connection its prefix names.
fn parse_line(line: &str) -> Option<(Option<&str>, Observation)> {
    let start = line
        .find(" app=")
        .map(|i| i + 1)
        .or_else(|| line.starts_with("app=").then_some(0))?;
    let prefix = &line[..start];
    let database = prefix
        .find(" db=")
        .map(|i| i + 1)
        .or_else(|| prefix.starts_with("db=").then_some(0))
        .and_then(|i| prefix[i + "db=".len()..].split(' ').next());
    let rest = &line[start + "app=".len()..];
    let (app, rest) = rest.split_once(" user=")?;
    let (user, message) = rest.split_once(' ')?;
    let message = message.trim_start().strip_prefix("LOG:")?.trim_start();
    let message = match message.strip_prefix("duration:") {
        Some(timed) => timed.split_once(" ms")?.1.trim_start(),
        None => message,
    };
    let text = if let Some(text) = message.strip_prefix("statement: ") {
        text
    } else if let Some(named) = message.strip_prefix("execute ") {
        named.split_once(": ")?.1
    } else {
        return None;
    };
    let known = |value: &str| (!value.is_empty() && value != "[unknown]").then(|| value.to_owned());
    Some((
        database,
        Observation {
            role: known(user),
            application_name: known(app),
            text: text.to_owned(),
            calls: 1,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2025-01-10 10:00:00.001 UTC [41] app=legacy-orders user=postgres LOG:  execute sqlx_s_3: SELECT status FROM customers WHERE id = $1 FOR SHARE
2025-01-10 10:00:00.001 UTC [41] app=legacy-orders user=postgres DETAIL:  parameters: $1 = '7'
2025-01-10 10:00:00.002 UTC [42] app=legacy-customers user=postgres LOG:  statement: BEGIN
2025-01-10 10:00:00.003 UTC [42] app=legacy-customers user=postgres LOG:  duration: 0.412 ms  execute sqlx_s_1: SELECT count(*) FROM orders
\tWHERE customer_id = $1 AND status IN ('NEW', 'PAID')
2025-01-10 10:00:00.004 UTC [42] app=legacy-customers user=postgres LOG:  duration: 0.100 ms  parse sqlx_s_9: SELECT 1
2025-01-10 10:00:00.005 UTC [43] app= user=postgres LOG:  statement: SELECT 1
2025-01-10 10:00:00.006 UTC [44] app=psql user=postgres ERROR:  relation \"nope\" does not exist
2025-01-10 10:00:00.006 UTC [44] app=psql user=postgres STATEMENT:  SELECT * FROM nope
";

    #[test]
    fn statements_and_executions_are_read_with_their_application_name() {
        let found = parse(LOG);
        let apps: Vec<_> = found
            .iter()
            .map(|o| o.application_name.as_deref())
            .collect();
        assert_eq!(
            apps,
            [
                Some("legacy-orders"),
                Some("legacy-customers"),
                Some("legacy-customers"),
                None
            ]
        );
        assert_eq!(
            found[0].text,
            "SELECT status FROM customers WHERE id = $1 FOR SHARE"
        );
        assert_eq!(found[0].role.as_deref(), Some("postgres"));
    }

    #[test]
    fn a_statement_continued_on_tabbed_lines_is_read_whole() {
        let found = parse(LOG);
        assert_eq!(
            found[2].text,
            "SELECT count(*) FROM orders\nWHERE customer_id = $1 AND status IN ('NEW', 'PAID')"
        );
    }

    #[test]
    fn parse_and_bind_lines_errors_and_details_are_not_counted() {
        let found = parse(LOG);
        assert_eq!(found.len(), 4);
        assert!(found.iter().all(|o| !o.text.contains("nope")));
    }

    #[test]
    fn one_databases_lines_are_read_from_a_shared_servers_log() {
        let log = "\
2025-01-10 10:00:00.001 UTC [41] db=t_1 app=legacy-orders user=postgres LOG:  statement: SELECT 1 FROM orders
2025-01-10 10:00:00.002 UTC [42] db=t_2 app=legacy-orders user=postgres LOG:  statement: SELECT 2 FROM orders
\tWHERE true
2025-01-10 10:00:00.003 UTC [43] db=t_1 app=legacy-customers user=postgres LOG:  statement: SELECT 3 FROM customers
";
        let texts = |found: Vec<Observation>| -> Vec<String> {
            found.into_iter().map(|o| o.text).collect()
        };
        assert_eq!(
            texts(parse_database(log, "t_1")),
            ["SELECT 1 FROM orders", "SELECT 3 FROM customers"]
        );
        assert_eq!(
            texts(parse_database(log, "t_2")),
            ["SELECT 2 FROM orders\nWHERE true"]
        );
        assert_eq!(parse(log).len(), 3);
        assert!(
            parse_database(LOG, "t_1").is_empty(),
            "no db= in the prefix"
        );
    }

    #[test]
    fn lines_without_the_documented_prefix_are_ignored() {
        assert!(parse("2025-01-10 LOG:  statement: SELECT 1\n").is_empty());
    }
}
