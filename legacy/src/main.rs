//! `legacy`: see `legacy --help`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    kit::telemetry::init();
    let cli = legacy::cli::Cli::parse();
    match legacy::cli::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("legacy: {err:#}");
            ExitCode::FAILURE
        }
    }
}
