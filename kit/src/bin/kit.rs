//! `kit`: the tools around the two pairs. For now, `kit postgres` starts a disposable
//! Postgres and prints its URL, for sessions that want one server for several commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kit::postgres::{Postgres, Purpose};

/// Tools around the legacy and migrated pairs of shared-db-kit.
#[derive(Debug, Parser)]
#[command(name = "kit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a disposable Postgres container, print its URL, and remove it on Ctrl-C.
    ///
    /// Point several commands at one server with DATABASE_URL=<the printed URL>.
    Postgres,
}

#[tokio::main]
async fn main() -> ExitCode {
    kit::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Postgres => match Postgres::provision(None, Purpose::Run).await {
            Ok(postgres) => {
                println!("{}", postgres.describe());
                println!("export DATABASE_URL={}", postgres.url().expose());
                println!("Press Ctrl-C to stop and remove it.");
                kit::shutdown::signal().await;
                postgres.release().await;
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("kit: {err}");
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
