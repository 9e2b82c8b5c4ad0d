//! The catalogue on the command line: `--scenarios DIR`, `scenario list | apply`, and
//! what a command says of a release the database refused.

use std::path::PathBuf;

use super::{Expected, LoadError, Scenario, catalogue, use_directory};

/// `--scenarios DIR` (`SHARED_DB_KIT_SCENARIOS`), the same in every binary that ships
/// scenarios.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScenarioDir {
    /// Also know the scenarios of this directory, after the compiled-in ones: one folder
    /// each, with scenario.toml, legacy.sql, migrated.sql and, optionally, legacy-shape.sql
    /// and migrated-shape.sql (the owner's adaptation). No Rust, no rebuild.
    #[arg(
        long = "scenarios",
        env = "SHARED_DB_KIT_SCENARIOS",
        value_name = "DIR",
        global = true
    )]
    pub dir: Option<PathBuf>,
}

impl ScenarioDir {
    /// Adds the directory's scenarios to the catalogue, when one was given.
    pub fn load(&self) -> Result<(), LoadError> {
        if let Some(dir) = &self.dir {
            use_directory(dir)?;
        }
        Ok(())
    }
}

/// `scenario list | apply <id>`, the same in both binaries.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScenarioCommand {
    /// List the catalogue: each owner-side release, and what it is expected to break.
    List,
    /// Ship an owner's release to this pair's database (applying it again does nothing).
    Apply {
        /// The scenario's id, as `scenario list` shows it.
        id: String,
    },
}

/// Which pair a command speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    Legacy,
    Migrated,
}

impl Pair {
    pub fn expected(self, scenario: &Scenario) -> &Expected {
        match self {
            Self::Legacy => &scenario.legacy,
            Self::Migrated => &scenario.migrated,
        }
    }
}

/// A release of `scenario` the database refused, as the command line says it: what the
/// server said, and the way out.
pub fn refused(scenario: &Scenario, err: &anyhow::Error) -> anyhow::Error {
    let detail = crate::server_detail(err)
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    anyhow::anyhow!(
        "{} was not released: {}{detail}. Nothing changed: a release is one transaction. \
         Change the migration or what holds on to it, then apply it again",
        scenario.id,
        crate::one_line(err)
    )
}

/// The catalogue as a table, with what each scenario is expected to do to `pair`.
pub fn list(pair: Pair) -> String {
    let mut out = format!(
        "{:<18} {:<9} {:<16} {}\n",
        "scenario", "owner", "expected", "title"
    );
    for scenario in catalogue() {
        out.push_str(&format!(
            "{:<18} {:<9} {:<16} {}\n",
            scenario.id,
            scenario.owner,
            pair.expected(scenario).outcome.as_str(),
            scenario.title
        ));
    }
    out
}
