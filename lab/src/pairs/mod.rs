//! Both pairs, started one way everywhere ([`legacy::start`], [`migrated::start`]): by the
//! binaries, the matrix, the walkthrough's tooling and the tests; and each pair's template
//! database ([`template`]), for `crate::databases` to copy.

pub mod legacy;
pub mod migrated;
mod serving;

pub use serving::{Listeners, Running, Serving};

use anyhow::Context as _;
use chassis::DatabaseUrl;
use chassis::releases::Applied;

use crate::databases::Template;
use crate::scenario::{Pair, Scenario};

/// Passwords of the migrated runtime roles: the `migrated` binary's own flags and
/// environment. Roles belong to the server, not to a database, and bootstrap sets their
/// passwords: a run on a server that `migrated` also uses must give the same ones, or the
/// pair it runs loses its logins.
pub use migrated::Secrets as Passwords;

/// Starts `pair` on `database` (admin credentials; the migrated services log in with their
/// own roles), which must hold that pair's schema, on free loopback ports. `calls` is how
/// patient the migrated services are with each other (the legacy pair makes no calls).
pub async fn start(
    pair: Pair,
    database: &DatabaseUrl,
    passwords: &Passwords,
    calls: &migrated::Calls,
) -> anyhow::Result<Running> {
    let listeners = Listeners::loopback().await?;
    match pair {
        Pair::Legacy => legacy::start(database, listeners),
        Pair::Migrated => migrated::start(database, passwords, listeners, calls),
    }
}

/// Ships `scenario` to `pair`'s database as its owner would: the legacy migration on the
/// shared schema, or the migrated one as the owning team's role.
pub async fn ship(
    pair: Pair,
    database: &DatabaseUrl,
    scenario: &Scenario,
) -> anyhow::Result<Applied> {
    let applied = match pair {
        Pair::Legacy => legacy::ship(database, scenario).await,
        Pair::Migrated => migrated::ship(database, scenario).await,
    };
    applied.with_context(|| format!("shipping {} to the {pair:?} pair", scenario.id))
}

pub fn pair_name(pair: Pair) -> &'static str {
    match pair {
        Pair::Legacy => "legacy",
        Pair::Migrated => "migrated",
    }
}

/// `pair`'s template: migrated and seeded once, copied for each run.
pub fn template(pair: Pair, passwords: &Passwords) -> Template {
    match pair {
        Pair::Legacy => legacy::template(),
        Pair::Migrated => migrated::template(passwords.clone()),
    }
}
