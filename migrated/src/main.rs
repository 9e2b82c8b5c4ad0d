//! `migrated`: see `migrated --help`.

use std::process::ExitCode;

use clap::Parser;
use migrated::cli;

#[tokio::main]
async fn main() -> ExitCode {
    kit::telemetry::init();
    match cli::run(cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("migrated: {err:#}");
            ExitCode::FAILURE
        }
    }
}
