//! `shared-db-kit`: the migration kit on its own, its commands and nothing else (the
//! workspace's `kit` binary has the same ones, plus the lab's). See `--help`.

use std::process::ExitCode;

use clap::Parser;

/// The migration kit for a Postgres that services share: audit who touches whose tables,
/// lint a migration against its real readers, and put up and verify the walls.
#[derive(Debug, Parser)]
#[command(name = "shared-db-kit", version)]
struct Cli {
    #[command(subcommand)]
    command: kit::cli::Command,
}

#[tokio::main]
async fn main() -> ExitCode {
    match kit::cli::run(Cli::parse().command).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kit: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
