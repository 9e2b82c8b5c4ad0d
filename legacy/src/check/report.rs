//! What `legacy check` found, and how it reads on a terminal: a line per statement, the
//! story of each broken one, and the limit of the whole exercise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Statement;

/// Why a statement fails, or would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The SQLSTATE: the database's answer to the prepare, or the one the statement would
    /// get when it ran (`23502`).
    pub sqlstate: String,
    /// What the database said, or would say.
    pub message: String,
    /// What breaks, in a sentence.
    pub what: String,
    /// Why, as the scenarios tell it: who changed what, and who was told.
    pub why: String,
}

/// One statement and what the live schema does to it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub statement: Statement,
    /// `None` when it prepares and fills every required column.
    pub broken: Option<Break>,
}

/// Everything the check found.
#[derive(Debug, Clone)]
pub struct Report {
    pub checked: Vec<Checked>,
    /// Each team's releases, as its service reads them.
    pub releases: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Report {
    /// The statements the live schema breaks.
    pub fn broken(&self) -> impl Iterator<Item = (&Statement, &Break)> {
        self.checked
            .iter()
            .filter_map(|c| c.broken.as_ref().map(|b| (&c.statement, b)))
    }

    /// `legacy check`'s exit code: 0 when nothing is broken, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.broken().next().is_some())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Every SQL statement of the legacy services, prepared against the live schema."
        )?;
        let shipped: Vec<String> = self
            .releases
            .iter()
            .map(|(team, ids)| format!("{team}: {}", list_or_none(ids)))
            .collect();
        writeln!(f, "Releases shipped: {}.\n", shipped.join("; "))?;
        for Checked { statement, broken } in &self.checked {
            let mark = if broken.is_some() { '✘' } else { '✔' };
            let table = match statement.reaches_into {
                Some(table) => format!("reaches into {table}"),
                None => "own table".to_owned(),
            };
            writeln!(
                f,
                "{mark} {:<9}  {:<21}  {table}",
                statement.service, statement.name
            )?;
            if let Some(broken) = broken {
                writeln!(f, "    {}\n    {}", broken.what, broken.why)?;
            }
        }
        writeln!(
            f,
            "\n{} statements, {} broken.",
            self.checked.len(),
            self.broken().count()
        )?;
        writeln!(
            f,
            "This check finds what fails; it cannot find what is merely wrong: a statement that \
             still runs can still answer wrongly (the silent releases of `legacy scenario list`)."
        )
    }
}

pub(super) fn list_or_none(ids: &BTreeSet<String>) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
