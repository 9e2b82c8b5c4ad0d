//! `kit road status|plan|apply`: flags in, one line or a script out. Exit codes: 0 done;
//! 3 when the input cannot be used, a database sits between states, or the step is refused
//! (with the way forward).

use std::path::PathBuf;

use super::{State, apply, plan, status, to_sql};
use crate::cli::DatabaseUrl;
use crate::manifest::Manifest;
use crate::walls::Passwords;

#[derive(Debug, clap::Subcommand)]
pub enum RoadCommand {
    /// Say which state the database is in, read from its catalogue.
    Status {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The database, as the tables' owner or a superuser.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: DatabaseUrl,
    },
    /// Print the SQL from one state to another (from the database's, or from --from).
    Plan {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The state to reach: 0 to 4.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=4))]
        to: u8,
        /// The state to start from; without it, the database's.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=4))]
        from: Option<u8>,
        /// The database, to read its state when --from is not given.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<DatabaseUrl>,
    },
    /// Move the database to a state, in one transaction. New logins get their password
    /// from the variable their service names (password_env), where set.
    Apply {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The state to reach: 0 to 4, one step at a time or several.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=4))]
        to: u8,
        /// The database, as the tables' owner with CREATEROLE, or a superuser.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: DatabaseUrl,
    },
}

fn state(n: u8) -> Result<State, String> {
    State::numbered(n).ok_or_else(|| format!("no state {n}: the road has states 0 to 4"))
}

/// Runs one road command; an error is the one line to print before exiting 3.
pub(crate) async fn run(command: RoadCommand) -> Result<u8, String> {
    let load = |path: &PathBuf| Manifest::load(path).map_err(|e| e.to_string());
    match command {
        RoadCommand::Status {
            manifest,
            database_url,
        } => {
            let manifest = load(&manifest)?;
            let at = status(database_url.expose(), &manifest)
                .await
                .map_err(|e| e.to_string())?;
            println!("kit road: state {at}");
            Ok(0)
        }
        RoadCommand::Plan {
            manifest,
            to,
            from,
            database_url,
        } => {
            let manifest = load(&manifest)?;
            let to = state(to)?;
            let from = match (from, database_url) {
                (Some(n), _) => state(n)?,
                (None, Some(url)) => status(url.expose(), &manifest)
                    .await
                    .map_err(|e| e.to_string())?,
                (None, None) => {
                    return Err(
                        "say where the road starts: --from N, or --database-url to read it".into(),
                    );
                }
            };
            let statements = plan(&manifest, from, to).map_err(|e| e.to_string())?;
            print!("{}", to_sql(from, to, &statements));
            Ok(0)
        }
        RoadCommand::Apply {
            manifest,
            to,
            database_url,
        } => {
            let manifest = load(&manifest)?;
            let passwords = Passwords::from_env(&manifest);
            let applied = apply(database_url.expose(), &manifest, &passwords, state(to)?)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "kit road apply: state {} → state {}: {} statements in one transaction; passwords set for: {}",
                applied.from.number(),
                applied.to.number(),
                applied.statements,
                if applied.passwords_set.is_empty() {
                    "none".to_owned()
                } else {
                    applied.passwords_set.join(", ")
                }
            );
            Ok(0)
        }
    }
}
