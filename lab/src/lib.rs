//! The lab bench: what only the demonstrator and the tests need, never a service. Where
//! Postgres comes from ([`postgres`]), fresh databases copied from templates
//! ([`databases`]), the test harness ([`harness`]), the scenario
//! catalogue ([`scenario`]), the seed ([`seed`]), the OpenAPI contract diff ([`openapi`]),
//! both pairs started one way ([`pairs`]), the cross-ownership flows observed over HTTP
//! ([`flows`]), the impact matrix ([`matrix`]) with its load while a release ships
//! ([`during`]), the soak under faults ([`soak`]), the
//! benchmark of both pairs ([`bench`]) and the command lines of the `legacy`,
//! `migrated` and `kit` binaries ([`cli`]).

pub mod bench;
pub mod cli;
pub mod databases;
pub mod during;
pub mod flows;
pub mod harness;
pub mod matrix;
pub mod openapi;
pub mod pairs;
pub mod postgres;
pub mod road;
pub mod scenario;
pub mod seed;
pub mod soak;

/// An error and its causes in one line, each said once: sqlx's database error repeats the
/// server's message as its own source.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Postgres's DETAIL of an error in the chain, when it gave one: which object holds on to
/// what. (Not its HINT: for a dependency that is "use CASCADE", which would drop another
/// team's object.)
pub fn server_detail(err: &anyhow::Error) -> Option<String> {
    let db = sqlx_error(err)?
        .as_database_error()?
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    db.detail().map(str::to_owned)
}

/// The database error in `err`'s chain, if there is one.
pub fn sqlx_error(err: &anyhow::Error) -> Option<&sqlx::Error> {
    err.chain().find_map(|e| e.downcast_ref::<sqlx::Error>())
}

/// `n thing` or `n things`.
pub fn count(n: usize, thing: &str, things: &str) -> String {
    format!("{n} {}", if n == 1 { thing } else { things })
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_says_each_cause_once() {
        let err = anyhow::anyhow!("cannot drop constraint x")
            .context("error returned from database: cannot drop constraint x")
            .context("shipping uuid-ids");
        assert_eq!(
            super::one_line(&err),
            "shipping uuid-ids: error returned from database: cannot drop constraint x"
        );
    }
}
