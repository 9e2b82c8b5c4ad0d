//! `legacy`: see `legacy --help`.

use std::process::ExitCode;

use clap::Parser;
use lab::cli::legacy::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let _logging = chassis::telemetry::init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("legacy: {}", lab::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
