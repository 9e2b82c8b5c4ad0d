//! `kit`: the migration kit for any shared Postgres (`kit audit`, `lint`, `walls`, `road`:
//! the `kit` crate), and the tools around the two pairs: `kit matrix` ships every scenario to both
//! pairs and prints what each consumer flow observed; `kit postgres` starts a disposable
//! Postgres and prints its URL, for sessions that want one server for several commands;
//! `kit soak` runs a pair under load with a fault and reconciles every write; `kit bench`
//! measures both pairs against each other and against the floor.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chassis::DatabaseUrl;
use clap::{Parser, Subcommand};
use lab::databases::Databases;
use lab::matrix;
use lab::pairs::Passwords;
use lab::postgres::{Postgres, Purpose};

/// The migration kit for a Postgres that services share (audit, lint, walls, road), and the
/// tools around the demonstrator's two pairs (matrix, soak, bench, postgres).
#[derive(Debug, Parser)]
#[command(name = "kit", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ship every scenario to both pairs on fresh databases and print what broke.
    ///
    /// Each scenario runs twice, once per pair, each time on a new database copied from a
    /// migrated, seeded template: the consumer flows are observed, the owner's release is
    /// shipped while a steady load of consumer requests runs (failed, degraded and wrong
    /// answers are counted), and the flows are observed again. Exits 1 if any observation
    /// contradicts its scenario's stated expectation.
    Matrix {
        /// Postgres to make the databases on (admin credentials: it creates databases and
        /// the migrated pair's roles, and drops the databases when done). Without it, a
        /// disposable container (needs Docker).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<DatabaseUrl>,
        /// Also write the matrix as Markdown to this file.
        #[arg(long, value_name = "PATH")]
        markdown: Option<PathBuf>,
        /// Also write the matrix as a self-contained HTML page to this file.
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
        #[command(flatten)]
        scenarios: lab::scenario::ScenarioDir,
        /// Also ship every scenario to the legacy pair at each state of `kit road` (0 to
        /// 4), one fresh database each, and add a row per scenario and state: what each
        /// flow observed, or why the owner's migration was refused there.
        #[arg(long)]
        road: bool,
        #[command(flatten)]
        passwords: Passwords,
    },
    /// Measure what owning your data costs: both pairs, interleaved, against the floor.
    ///
    /// Starts both pairs on one Postgres (fresh databases from the templates), warms up,
    /// then runs every workload on legacy and migrated in turn, round after round, and
    /// prints p50/p90/p99 at concurrency 1, throughput at --concurrency, the ratio
    /// migrated/legacy with its spread across rounds, each migrated figure as a multiple
    /// of the floor measured in the same run, and the SQL statements and HTTP calls of
    /// one operation. Logs at warn unless RUST_LOG says otherwise. Build with --release.
    Bench {
        /// Postgres to make the databases on (admin credentials; they are dropped when
        /// done). Without it, a disposable container (needs Docker).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<DatabaseUrl>,
        #[command(flatten)]
        settings: lab::bench::Settings,
        /// Also write the tables as Markdown to this file.
        #[arg(long, value_name = "PATH")]
        markdown: Option<PathBuf>,
        /// Also write the chart of ratios and floors as SVG to this file.
        #[arg(long, value_name = "PATH")]
        svg: Option<PathBuf>,
        #[command(flatten)]
        passwords: Passwords,
    },
    #[command(flatten)]
    Migration(kit::cli::Command),
    /// Start a disposable Postgres container, print its URL, and remove it on Ctrl-C.
    ///
    /// Point several commands at one server with DATABASE_URL=<the printed URL>.
    Postgres,
    /// Run a pair under a mixed workload with one fault midway, then reconcile every write.
    ///
    /// Every acknowledged order must be in the database exactly once and every refused one
    /// absent; prints requests, statuses, p50/p99, the fault's error window and the time to
    /// recover. Exits 1 on any lost or duplicated write, 2 when the soak cannot run.
    Soak(lab::soak::SoakArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Matrix {
            database_url,
            markdown,
            html,
            scenarios,
            road,
            passwords,
        } => {
            if let Err(err) = scenarios.load() {
                eprintln!("kit matrix: {err}");
                return ExitCode::from(2);
            }
            let errors = chassis::telemetry::init_with_error_log(true);
            match run_matrix(database_url, markdown, html, road, passwords, errors).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(err) => {
                    eprintln!("kit matrix: {err:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Bench {
            database_url,
            settings,
            markdown,
            svg,
            passwords,
        } => {
            // The services' log goes to a file: the logging workload turns it up to info,
            // and the terminal is the progress bar's.
            let log = std::env::temp_dir().join(format!("kit-bench-{}.log", std::process::id()));
            let _logging = match std::fs::File::create(&log) {
                Ok(file) => {
                    eprintln!("kit bench: the services' log goes to {}", log.display());
                    chassis::telemetry::init_to(file, "warn")
                }
                Err(err) => {
                    eprintln!(
                        "kit bench: cannot write {} ({err}); logging to stderr",
                        log.display()
                    );
                    chassis::telemetry::init_with_default("warn")
                }
            };
            match run_bench(database_url, settings, markdown, svg, passwords).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("kit bench: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migration(command) => match kit::cli::run(command).await {
            Ok(code) => code,
            Err(err) => {
                eprintln!("kit: {err:#}");
                ExitCode::FAILURE
            }
        },
        Command::Soak(args) => {
            let _ = chassis::telemetry::init_with_error_log(true);
            let plan = args.plan();
            match lab::soak::run(plan, args.database_url.clone()).await {
                Ok(report) => {
                    print!("{}", report.to_text(&plan));
                    if report.reconciled() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(err) => {
                    eprintln!("kit soak: {err:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Postgres => {
            let _logging = chassis::telemetry::init();
            // Listen before the container starts: a Ctrl-C while it boots must remove it too.
            let interrupted = chassis::shutdown::on_signal();
            match Postgres::provision(None, Purpose::Run).await {
                Ok(postgres) => {
                    println!("{}", postgres.describe());
                    println!("export DATABASE_URL={}", postgres.url().expose());
                    println!("Press Ctrl-C to stop and remove it.");
                    interrupted.cancelled().await;
                    postgres.release().await;
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("kit: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Runs the matrix and writes it out; `Ok(false)` when an observation contradicts its
/// scenario's expectation.
async fn run_matrix(
    database_url: Option<DatabaseUrl>,
    markdown: Option<PathBuf>,
    html: Option<PathBuf>,
    road: bool,
    passwords: Passwords,
    errors: chassis::telemetry::ErrorLog,
) -> anyhow::Result<bool> {
    let agrees = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let verdict = agrees.clone();
    lab::postgres::with_postgres(database_url, |admin, interrupted| async move {
        let runs = matrix::runs(road);
        let bar = indicatif::ProgressBar::new(runs).with_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
                .context("progress bar template")?,
        );
        let prefix = format!("kit_matrix_{}", std::process::id());
        let databases = Databases::new(admin, &prefix);
        let observed = tokio::select! {
            observed = matrix::run(&databases, &passwords, &errors, road, |done, step| {
                bar.set_position(done);
                bar.set_message(step.to_owned());
            }) => observed,
            () = interrupted.cancelled() => Err(anyhow::anyhow!("interrupted")),
        };
        bar.finish_and_clear();
        // Whatever happened, leave the server as it was found.
        let dropped = databases.drop_templates().await;
        let matrix = observed?;
        dropped.context("dropping the matrix databases")?;
        print!("{}", matrix.to_text());
        if let Some(path) = &markdown {
            std::fs::write(path, matrix.to_markdown())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("Markdown: {}", path.display());
        }
        if let Some(path) = &html {
            std::fs::write(path, matrix.to_html())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("HTML: {}", path.display());
        }
        verdict.store(
            matrix.contradictions().is_empty(),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    })
    .await?;
    Ok(agrees.load(std::sync::atomic::Ordering::Relaxed))
}

/// Runs the bench and writes its table, Markdown and chart.
async fn run_bench(
    database_url: Option<DatabaseUrl>,
    settings: lab::bench::Settings,
    markdown: Option<PathBuf>,
    svg: Option<PathBuf>,
    passwords: Passwords,
) -> anyhow::Result<()> {
    if cfg!(debug_assertions) && !settings.quick {
        eprintln!("kit bench: a debug build measures the compiler's debug code; use --release");
    }
    lab::postgres::with_postgres(database_url, |admin, interrupted| async move {
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
                .context("progress bar template")?,
        );
        let databases = Databases::new(admin, &format!("kit_bench_{}", std::process::id()));
        let report = tokio::select! {
            report = lab::bench::run(&databases, &passwords, &settings, &bar) => report,
            () = interrupted.cancelled() => Err(anyhow::anyhow!("interrupted")),
        };
        bar.finish_and_clear();
        let dropped = databases.drop_templates().await;
        let report = report?;
        dropped.context("dropping the bench's templates")?;
        print!("{}", report.to_text());
        if let Some(path) = &markdown {
            let command: Vec<String> = std::env::args().skip(1).collect();
            let page = report.to_page(&command.join(" "));
            std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
            println!("Markdown: {}", path.display());
        }
        if let Some(path) = &svg {
            std::fs::write(path, lab::bench::chart::to_svg(&report)?)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("SVG: {}", path.display());
        }
        Ok(())
    })
    .await
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
