//! `migrated`: see `migrated --help`.

use std::process::ExitCode;

use clap::Parser;
use lab::cli::migrated::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let _logging = chassis::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("migrated: {}", lab::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
