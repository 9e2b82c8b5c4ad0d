//! `kit road`: move a running shared database through numbered states, each a real
//! configuration of every service, forward and back one step at a time. The state is read
//! from the catalogue ([`status`]), never stored; [`plan`] is the SQL between two states and
//! [`apply`] runs it in one transaction. It knows the manifest and one server, no service.
//!
//! 0. one shared login (as found);
//! 1. one login per service ([`crate::manifest::Walls::runtime_role`]), with the DML the
//!    shared login had on every table the manifest knows: the audit can tell them apart;
//! 2. each owner's contract ([`crate::manifest::Contract`]) published in a schema of its
//!    own, the other services granted it, and their grants on the owner's tables revoked;
//! 3. the API: each consumer calls the owner over HTTP (the services' per-flow switch, with
//!    its compare mode run at state 2 first); the consumers' grants on the contracts go;
//! 4. walls up: each owner's tables move into its `home_schema` (its login finds them there
//!    by its search path), the contracts go, large objects close: `kit walls verify` holds
//!    every wall. Back to 3 only when the home schemas hold nothing but what 4 moved.
//!
//! The contract's objects are created by whoever runs [`apply`]: at states 0 to 2 that must
//! be the tables' owner (the shared login), so that a view reads, and a SECURITY DEFINER
//! function writes, with the owner's rights and not the consumer's.

mod command;
mod status;
mod steps;

pub use command::RoadCommand;
pub(crate) use command::run;
pub use status::status;
pub use steps::plan;

use sqlx::{Connection, Executor, PgConnection};

use crate::manifest::Manifest;
use crate::walls::Passwords;
use crate::walls::plan::Statement;

/// The services restart after a step: a login's search path and grants are read when it
/// connects.
///
/// A state of the road.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    SharedLogin = 0,
    LoginPerService = 1,
    Contract = 2,
    Api = 3,
    Walls = 4,
}

impl State {
    pub const ALL: [State; 5] = [
        State::SharedLogin,
        State::LoginPerService,
        State::Contract,
        State::Api,
        State::Walls,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The state numbered `n`.
    pub fn numbered(n: u8) -> Option<State> {
        State::ALL.get(usize::from(n)).copied()
    }

    /// What the state is, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            State::SharedLogin => "one shared login for every service",
            State::LoginPerService => "a login per service, with the shared login's rights",
            State::Contract => {
                "each owner's contract in the database; no grants on another's tables"
            }
            State::Api => {
                "the consumer calls the owner's API, switched per flow, with a compare mode"
            }
            State::Walls => "walls up: only the owner reaches its schema",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.number(), self.describe())
    }
}

/// Why the road cannot be planned, read or taken (a database between states included).
#[derive(Debug, thiserror::Error)]
pub enum RoadError {
    #[error(
        "service `{service}` logs in as `{role}`, as {other} does: state 1 needs a runtime_role of its own per service"
    )]
    SharedRole {
        service: String,
        other: String,
        role: String,
    },
    #[error(
        "service `{0}` publishes no contract ([service.contract]): at state 2 the others could no longer read its data"
    )]
    NoContract(String),
    #[error(
        "service `{0}` owns tables outside a schema of its own and names no home_schema: state 4 needs one to move them into"
    )]
    NoHome(String),
    #[error(
        "the database is between states: {0}; move it with `kit road apply --to` a state it was in"
    )]
    Between(String),
    #[error("cannot connect to the database as the admin: {0}")]
    Admin(sqlx::Error),
    #[error("reading the catalogue failed: {0}")]
    Read(sqlx::Error),
    #[error("the step failed and nothing was changed: {0}")]
    Apply(sqlx::Error),
    /// One statement of the step failed: which one, by its reason, and what the server said.
    #[error("the step failed at \"{why}\", and nothing was changed: {error}")]
    Statement {
        why: &'static str,
        error: sqlx::Error,
    },
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub from: State,
    pub to: State,
    pub statements: usize,
    /// Services whose runtime role got its password from the environment.
    pub passwords_set: Vec<String>,
}

/// Moves the database of `admin` from the state it is in to `to`, in one transaction, and
/// sets the runtime passwords given for the roles it creates.
pub async fn apply(
    admin: &str,
    manifest: &Manifest,
    passwords: &Passwords,
    to: State,
) -> Result<Applied, RoadError> {
    let from = status(admin, manifest).await?;
    let statements = plan(manifest, from, to)?;
    let mut conn = PgConnection::connect(admin)
        .await
        .map_err(RoadError::Admin)?;
    let mut tx = conn.begin().await.map_err(RoadError::Apply)?;
    for statement in &statements {
        tx.execute(statement.sql.as_str())
            .await
            .map_err(|error| RoadError::Statement {
                why: statement.why,
                error,
            })?;
    }
    let mut passwords_set = Vec::new();
    if from < State::LoginPerService && to >= State::LoginPerService {
        passwords_set = crate::walls::set_passwords(&mut tx, manifest, passwords)
            .await
            .map_err(RoadError::Apply)?;
    }
    tx.commit().await.map_err(RoadError::Apply)?;
    let _ = conn.close().await;
    Ok(Applied {
        from,
        to,
        statements: statements.len(),
        passwords_set,
    })
}

/// The statements as a psql script: one transaction, each under its reason.
pub fn to_sql(from: State, to: State, statements: &[Statement]) -> String {
    let mut out = format!(
        "-- kit road plan: from state {from} to state {to}.\n\
         -- Run as the tables' owner (the shared login) with CREATEROLE. Passwords are not\n\
         -- here: `kit road apply` sets each new login's from its password_env.\n"
    );
    out.push_str("BEGIN;\n");
    let mut last = "";
    for statement in statements {
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

#[cfg(test)]
mod tests;
