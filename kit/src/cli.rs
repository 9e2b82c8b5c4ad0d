//! The `kit` command line: `kit audit`, `kit lint`, `kit walls` and `kit road`. It parses flags,
//! reads files and prints; the work is the library's. The binary wires [`Command`] as its
//! subcommands and returns what [`run`] returns.
//!
//! Exit codes: `audit` 0, or 1 when `--fail-above N` is exceeded; `lint` 0 clean,
//! 1 warnings only, 2 breaking; `walls plan` and `walls apply` 0; `walls verify` 0 every
//! wall held, 2 a wall open (or not to be told); all 3 when the input cannot be used (a
//! file unreadable, a manifest or audit invalid, the database unreachable or refusing,
//! a password missing), with one line saying what to do. `road` exits as
//! [`crate::road`]'s command says.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use crate::audit::{self, Audit};
use crate::lint::{self, Report};
use crate::manifest::Manifest;
use crate::walls::{self, Passwords};

/// Exit code for input the kit cannot use.
pub const BAD_INPUT: u8 = 3;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Observe who reads and writes whose tables, from pg_stat_statements or the log.
    Audit(AuditArgs),
    /// Check migrations against the statements other services were observed running.
    Lint(LintArgs),
    /// Put up the walls the manifest draws (roles, schemas, grants, limits), and test them.
    #[command(subcommand)]
    Walls(WallsCommand),
    /// Move a shared database through the road's states (0 shared login, 1 a login per
    /// service, 2 the owners' contracts), forward and back.
    #[command(subcommand)]
    Road(crate::road::RoadCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum WallsCommand {
    /// Print the SQL that makes the manifest true (no password in it).
    Plan {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The database to close; without it, the one the SQL is run in.
        #[arg(long)]
        database: Option<String>,
    },
    /// Run the plan in one transaction; again, it changes nothing. Sets each runtime
    /// role's password from the variable its service names (password_env), where set.
    Apply {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The database, as a superuser.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: DatabaseUrl,
    },
    /// Log in as each service and try every other's objects; exit 2 on any hole.
    ///
    /// Each service logs in as its runtime role with the password in the variable its
    /// manifest entry names (password_env, default KIT_<NAME>_PASSWORD).
    Verify {
        /// The ownership manifest (ownership.toml).
        #[arg(long)]
        manifest: PathBuf,
        /// The database, as an admin (it lists the services' objects).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: DatabaseUrl,
        /// How to print the probes.
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Database to read pg_stat_statements from (needs pg_read_all_stats).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<DatabaseUrl>,
    /// The ownership manifest (ownership.toml).
    #[arg(long)]
    pub manifest: PathBuf,
    /// Where the evidence comes from.
    #[arg(long, value_enum, default_value_t = Source::StatStatements)]
    pub source: Source,
    /// The server's stderr log, with `app=%a user=%u ` in log_line_prefix (`--source log`).
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// Read only this database's lines of the log (needs `db=%d` before `app=` in the prefix).
    #[arg(long)]
    pub log_database: Option<String>,
    /// How to print the audit.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Exit 1 when the coupling figure is above this.
    #[arg(long)]
    pub fail_above: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// The ownership manifest (ownership.toml).
    #[arg(long)]
    pub manifest: PathBuf,
    /// An audit written by `kit audit --format json`.
    #[arg(long)]
    pub audit: PathBuf,
    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// The migration files to check.
    #[arg(required = true)]
    pub migrations: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Source {
    StatStatements,
    Log,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Mermaid,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

/// A connection URL; its password never reaches `Debug`.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DatabaseUrl(s.to_owned()))
        } else {
            Err("expected postgres://user:password@host:port/database".into())
        }
    }
}

impl DatabaseUrl {
    /// The URL, password included: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Runs one command. Input it cannot use is printed as one line and exits [`BAD_INPUT`].
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let outcome = match command {
        Command::Audit(args) => run_audit(args).await,
        Command::Lint(args) => run_lint(args),
        Command::Walls(command) => run_walls(command).await,
        Command::Road(command) => crate::road::run(command).await,
    };
    Ok(match outcome {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("kit: {message}");
            ExitCode::from(BAD_INPUT)
        }
    })
}

async fn run_audit(args: AuditArgs) -> Result<u8, String> {
    let manifest = Manifest::load(&args.manifest).map_err(|e| e.to_string())?;
    let (source, observations) = match args.source {
        Source::StatStatements => {
            let url = args.database_url.ok_or(
                "--source stat-statements needs --database-url (or DATABASE_URL); or use --source log --log-file PATH",
            )?;
            let rows = audit::stat_statements::collect(&url.0)
                .await
                .map_err(|e| e.to_string())?;
            ("stat-statements", rows)
        }
        Source::Log => {
            let path = args
                .log_file
                .ok_or("--source log needs --log-file PATH (the server's stderr log)")?;
            let text = read(&path)?;
            let observations = match &args.log_database {
                Some(database) => audit::log::parse_database(&text, database),
                None => audit::log::parse(&text),
            };
            ("log", observations)
        }
    };
    let audit = audit::build(&manifest, source, &observations);
    match args.format {
        AuditFormat::Table => print!("{}", audit::render::table(&audit)),
        AuditFormat::Mermaid => print!("{}", audit::render::mermaid(&audit)),
        AuditFormat::Json => println!("{}", json(&audit)?),
    }
    match args.fail_above {
        Some(limit) if audit.coupling.total > limit => {
            eprintln!("kit: coupling {} is above {limit}", audit.coupling.total);
            Ok(1)
        }
        _ => Ok(0),
    }
}

fn run_lint(args: LintArgs) -> Result<u8, String> {
    let manifest = Manifest::load(&args.manifest).map_err(|e| e.to_string())?;
    let audit: Audit = serde_json::from_str(&read(&args.audit)?).map_err(|e| {
        format!(
            "{}: not an audit JSON ({e}); write one with `kit audit --format json`",
            args.audit.display()
        )
    })?;
    if audit.version != audit::VERSION {
        return Err(format!(
            "{}: audit version {} (this kit reads {}): run `kit audit --format json` again",
            args.audit.display(),
            audit.version,
            audit::VERSION
        ));
    }
    let mut findings = Vec::new();
    for path in &args.migrations {
        let sql = read(path)?;
        findings.extend(lint::lint(
            &path.display().to_string(),
            &sql,
            &manifest,
            &audit,
        ));
    }
    let report = Report {
        version: 1,
        findings,
    };
    match args.format {
        LintFormat::Text => print!("{}", lint::render::text(&report)),
        LintFormat::Json => println!("{}", json(&report)?),
    }
    Ok(report.exit_code())
}

async fn run_walls(command: WallsCommand) -> Result<u8, String> {
    let load = |path: &Path| Manifest::load(path).map_err(|e| e.to_string());
    match command {
        WallsCommand::Plan { manifest, database } => {
            let manifest = load(&manifest)?;
            let plan = walls::plan(&manifest, database.as_deref()).map_err(|e| e.to_string())?;
            print!("{}", plan.to_sql(&manifest));
            Ok(0)
        }
        WallsCommand::Apply {
            manifest,
            database_url,
        } => {
            let manifest = load(&manifest)?;
            let passwords = Passwords::from_env(&manifest);
            let applied = walls::apply(&database_url.0, &manifest, &passwords)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "kit walls apply: {} statements in one transaction; passwords set for: {}",
                applied.statements,
                if applied.passwords_set.is_empty() {
                    "none (each runtime role keeps its own)".to_owned()
                } else {
                    applied.passwords_set.join(", ")
                }
            );
            Ok(0)
        }
        WallsCommand::Verify {
            manifest,
            database_url,
            format,
        } => {
            let manifest = load(&manifest)?;
            let passwords = Passwords::from_env(&manifest);
            let report = walls::verify(&database_url.0, &manifest, &passwords)
                .await
                .map_err(|e| e.to_string())?;
            match format {
                LintFormat::Text => print!("{}", report.to_text()),
                LintFormat::Json => println!("{}", json(&report)?),
            }
            Ok(report.exit_code())
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}; check the path", path.display()))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| format!("cannot write JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_database_url_never_shows_its_password() {
        let url: DatabaseUrl = "postgres://u:secret@h/db".parse().expect("valid");
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[tokio::test]
    async fn a_missing_log_file_is_bad_input_with_a_way_out() {
        let cli = Cli::parse_from([
            "kit",
            "audit",
            "--manifest",
            "manifests/legacy.toml",
            "--source",
            "log",
        ]);
        let code = run(cli.command).await.expect("runs");
        assert_eq!(code, ExitCode::from(BAD_INPUT));
    }

    #[tokio::test]
    async fn lint_of_a_breaking_scenario_exits_2() {
        let dir = std::env::temp_dir().join(format!("kit-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let manifest = Manifest::load(Path::new("manifests/legacy.toml")).expect("valid");
        let log = audit::log::parse(include_str!("../fixtures/legacy-seed.log"));
        let audit_path = dir.join("audit.json");
        let audit = audit::build(&manifest, "log", &log);
        std::fs::write(&audit_path, json(&audit).expect("json")).expect("write");
        let cli = Cli::parse_from([
            "kit".as_ref(),
            "lint".as_ref(),
            "--manifest".as_ref(),
            "manifests/legacy.toml".as_ref(),
            "--audit".as_ref(),
            audit_path.as_os_str(),
            "../migrations/scenarios/rename-email/legacy.sql".as_ref(),
        ] as [&std::ffi::OsStr; 7]);
        let code = run(cli.command).await.expect("runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(code, ExitCode::from(2));
    }
}
