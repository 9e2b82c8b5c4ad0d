//! The catalogue of owner-side schema changes (`migrations/scenarios/<id>/`). Each scenario
//! holds a migration for the legacy shared schema and one for the migrated owner's schema,
//! and, beside each, the owner's adaptation as data (`legacy-shape.sql`,
//! `migrated-shape.sql`): the views and functions that present the new tables in the shape
//! the owner's queries expect. Shipping one is `chassis::releases::apply`; no owner's code
//! changes. Nothing here knows a service's tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

mod command;

pub use command::{Pair, ScenarioCommand, ScenarioDir, list, refused};

/// How a pair takes a scenario, as a manifest states it and a run observes it. A manifest
/// may state any of them for either pair; a run observes `control` as `unaffected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The consumer sees no difference.
    Unaffected,
    /// The consumer fails visibly: an SQL error, a 5xx.
    Loud,
    /// The consumer goes on, wrong: a wrong number, a broken business rule.
    Silent,
    /// Nothing breaks anywhere, and that is the point: a change owners ship safely.
    Control,
    /// The change means something the old API cannot say: the owner publishes a new API
    /// version, v1 keeps its behaviour, and the consumer moves on its own schedule. Its
    /// consumer flows (on v1) are unaffected.
    ContractChange,
    /// The database refuses the release (its SQLSTATE in `sqlstate`): something of another
    /// team's holds on to what the owner changes. Nothing changed; the owner cannot ship.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unaffected => "unaffected",
            Self::Loud => "broken loudly",
            Self::Silent => "broken silently",
            Self::Control => "control",
            Self::ContractChange => "contract change",
            Self::Refused => "release refused",
        }
    }

    /// What a run observes of a flow stated so: a control leaves every flow as it was. A
    /// contract change leaves the consumer's flows as they were, and shows on the owner's
    /// own flow, where the newer version is published beside v1.
    pub fn observed(self) -> Self {
        match self {
            Self::Control => Self::Unaffected,
            other => other,
        }
    }
}

/// What a scenario says will happen to one pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The worst the pair suffers.
    pub outcome: Outcome,
    /// The SQLSTATE a loud break logs.
    #[serde(default)]
    pub sqlstate: Option<String>,
    /// Flow by flow, where flows break with different SQLSTATEs; a flow not named here
    /// logs `sqlstate`.
    #[serde(default)]
    pub sqlstates: BTreeMap<String, String>,
    /// Flow by flow (ids as the matrix names them); a flow not named is unaffected.
    #[serde(default)]
    pub flows: BTreeMap<String, Outcome>,
    /// The same, in a sentence.
    #[serde(default)]
    pub detail: String,
}

impl Expected {
    /// What a run should observe of this pair's flow `id`.
    pub fn flow(&self, id: &str) -> Outcome {
        self.flows
            .get(id)
            .copied()
            .unwrap_or(Outcome::Unaffected)
            .observed()
    }

    /// The SQLSTATE flow `id` is expected to log when it breaks loudly.
    pub fn sqlstate_of(&self, id: &str) -> Option<&str> {
        self.sqlstates
            .get(id)
            .or(self.sqlstate.as_ref())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct ExpectedPairs {
    legacy: Expected,
    migrated: Expected,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    title: String,
    owner: String,
    lesson: String,
    expected: ExpectedPairs,
}

/// One owner-side schema change.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The folder name, e.g. `rename-email`.
    pub id: &'static str,
    pub title: String,
    /// The team that ships it: `customers` or `orders`.
    pub owner: String,
    /// What it teaches, to be read aloud.
    pub lesson: String,
    pub legacy: Expected,
    pub migrated: Expected,
    /// The migration for the legacy shared schema.
    pub legacy_sql: &'static str,
    /// The migration for the migrated owner's schema, run as the owner role.
    pub migrated_sql: &'static str,
    /// The legacy owner's new shape; `None` keeps its shape as it is.
    pub legacy_shape: Option<&'static str>,
    /// The migrated owner's new shape; `None` keeps its shape as it is.
    pub migrated_shape: Option<&'static str>,
}

/// One compiled-in scenario's files: id, manifest, legacy and migrated migrations, and
/// the owner's shapes where the folder has them.
type Files = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

/// Every scenario folder listed in `migrations/scenarios/catalogue.txt`, compiled in by
/// `build.rs`.
const FILES: &[Files] = include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// The catalogue: the compiled-in scenarios, then those of a directory given at startup.
static CATALOGUE: OnceLock<Vec<Scenario>> = OnceLock::new();

fn compiled() -> Vec<Scenario> {
    FILES
        .iter()
        .map(
            |&(id, manifest, legacy_sql, migrated_sql, legacy_shape, migrated_shape)| {
                // The files are compiled in and checked by a unit test: a broken one is a bug.
                parse(
                    id,
                    manifest,
                    [legacy_sql, migrated_sql],
                    [legacy_shape, migrated_shape],
                )
                .unwrap_or_else(|err| panic!("{err}"))
            },
        )
        .collect()
}

fn parse(
    id: &'static str,
    manifest: &str,
    [legacy_sql, migrated_sql]: [&'static str; 2],
    [legacy_shape, migrated_shape]: [Option<&'static str>; 2],
) -> Result<Scenario, LoadError> {
    let manifest: Manifest = toml::from_str(manifest).map_err(|err| LoadError::Manifest {
        id: id.to_owned(),
        message: err.message().to_owned(),
    })?;
    if !["customers", "orders"].contains(&manifest.owner.as_str()) {
        return Err(LoadError::Owner {
            id: id.to_owned(),
            owner: manifest.owner,
        });
    }
    Ok(Scenario {
        id,
        title: manifest.title,
        owner: manifest.owner,
        lesson: manifest.lesson.trim().to_owned(),
        legacy: manifest.expected.legacy,
        migrated: manifest.expected.migrated,
        legacy_sql,
        migrated_sql,
        legacy_shape,
        migrated_shape,
    })
}

/// Why a scenario folder could not be loaded; each message names the folder and the way out.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // The I/O error is in the message, not a source: a chain would print it twice.
    #[error(
        "cannot read {path}: {error} (a scenario folder holds scenario.toml, legacy.sql and migrated.sql)"
    )]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("scenario {id}: scenario.toml: {message}")]
    Manifest { id: String, message: String },
    #[error("scenario {id}: owner {owner:?} is not a team here; say \"customers\" or \"orders\"")]
    Owner { id: String, owner: String },
    #[error("scenario {id} is in the catalogue already; rename its folder")]
    Duplicate { id: String },
    #[error("the scenario catalogue is in use already; give --scenarios before anything reads it")]
    AlreadyLoaded,
}

/// A scenario lives as long as the process (the catalogue is static): its text is leaked
/// once, when it is loaded.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|error| LoadError::Read {
        path: path.to_owned(),
        error,
    })
}

fn read_optional(path: &Path) -> Result<Option<&'static str>, LoadError> {
    if path.exists() {
        read(path).map(|text| Some(leak(text)))
    } else {
        Ok(None)
    }
}

/// Reads one scenario folder: `scenario.toml`, `legacy.sql`, `migrated.sql`, and the
/// owner's adaptation if it has one (`legacy-shape.sql`, `migrated-shape.sql`). Its id is
/// the folder's name. No Rust: this is how a room or a team adds its own change.
pub fn load_folder(dir: &Path) -> Result<Scenario, LoadError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = read(&dir.join("scenario.toml"))?;
    let sql = [
        leak(read(&dir.join("legacy.sql"))?),
        leak(read(&dir.join("migrated.sql"))?),
    ];
    let shapes = [
        read_optional(&dir.join("legacy-shape.sql"))?,
        read_optional(&dir.join("migrated-shape.sql"))?,
    ];
    parse(leak(name), &manifest, sql, shapes)
}

/// Every scenario folder (a folder with a `scenario.toml`) of `dir`, by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|error| LoadError::Read {
        path: dir.to_owned(),
        error,
    })?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("scenario.toml").is_file())
        .collect();
    folders.sort();
    folders.iter().map(|folder| load_folder(folder)).collect()
}

/// Adds the scenarios of `dir` (`--scenarios`, `SHARED_DB_KIT_SCENARIOS`) to the catalogue,
/// after the compiled-in ones. Call it before anything reads the catalogue.
pub fn use_directory(dir: &Path) -> Result<&'static [Scenario], LoadError> {
    let mut all = compiled();
    for scenario in load_dir(dir)? {
        if all.iter().any(|s| s.id == scenario.id) {
            return Err(LoadError::Duplicate {
                id: scenario.id.to_owned(),
            });
        }
        all.push(scenario);
    }
    CATALOGUE.set(all).map_err(|_| LoadError::AlreadyLoaded)?;
    Ok(catalogue())
}

/// The whole catalogue, in teaching order, then any scenarios loaded from a directory.
pub fn catalogue() -> &'static [Scenario] {
    CATALOGUE.get_or_init(compiled)
}

/// A scenario id that is not in the catalogue.
#[derive(Debug, thiserror::Error)]
#[error("unknown scenario {id:?}; the catalogue has: {}", valid.join(", "))]
pub struct UnknownScenario {
    pub id: String,
    pub valid: Vec<&'static str>,
}

/// The scenario called `id`.
pub fn find(id: &str) -> Result<&'static Scenario, UnknownScenario> {
    catalogue()
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| UnknownScenario {
            id: id.to_owned(),
            valid: catalogue().iter().map(|s| s.id).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_every_scenario_folder_exactly_once() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/scenarios");
        let mut folders: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations/scenarios is readable")
            .filter_map(Result::ok)
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let mut ids: Vec<&str> = catalogue().iter().map(|s| s.id).collect();
        ids.sort_unstable();

        // A folder missing here would never be shipped; an id listed twice, shipped twice.
        assert_eq!(ids, folders);
    }

    #[test]
    fn every_scenario_parses_and_names_an_owner_and_two_migrations() {
        for scenario in catalogue() {
            assert!(
                ["customers", "orders"].contains(&scenario.owner.as_str()),
                "{}",
                scenario.id
            );
            assert!(
                !scenario.title.is_empty() && !scenario.lesson.is_empty(),
                "{}",
                scenario.id
            );
            assert!(
                !scenario.legacy_sql.trim().is_empty() && !scenario.migrated_sql.trim().is_empty()
            );
        }
    }

    /// A manifest states what the runs observed, whatever it is; it only has to agree with
    /// itself. Whether it agrees with the runs is the matrix's and the scenario tests' job.
    #[test]
    fn every_manifest_agrees_with_itself_pair_by_pair() {
        for scenario in catalogue() {
            for (pair, expected) in [
                ("legacy", &scenario.legacy),
                ("migrated", &scenario.migrated),
            ] {
                let at = format!("{} · {pair}", scenario.id);
                // A refused release changes nothing: no flow to name, and the SQLSTATE the
                // database refused it with.
                if expected.outcome == Outcome::Refused {
                    assert!(expected.flows.is_empty(), "{at}");
                    assert!(expected.sqlstate.is_some(), "{at}: names its SQLSTATE");
                    continue;
                }
                let worst = expected
                    .flows
                    .values()
                    .map(|o| o.observed())
                    .max_by_key(|o| match o {
                        Outcome::Loud => 3,
                        Outcome::Silent => 2,
                        Outcome::ContractChange => 1,
                        _ => 0,
                    })
                    .unwrap_or(Outcome::Unaffected);
                // The pair's outcome is its worst flow's; a control breaks no flow, and a
                // contract change shows on the owner's own flow alone.
                assert_eq!(worst, expected.outcome.observed(), "{at}");
                for (flow, outcome) in &expected.flows {
                    if *outcome == Outcome::Loud {
                        assert!(
                            expected.sqlstate_of(flow).is_some(),
                            "{at}: the loud flow {flow} names its SQLSTATE"
                        );
                    }
                }
                for (flow, outcome) in &expected.flows {
                    // A new version is the releasing owner's to publish.
                    if *outcome == Outcome::ContractChange {
                        assert_eq!(*flow, format!("owner_{}", scenario.owner), "{at}");
                    }
                }
                for flow in expected.sqlstates.keys() {
                    assert_eq!(expected.flow(flow), Outcome::Loud, "{at}: {flow}");
                }
            }
        }
    }

    #[test]
    fn at_least_three_scenarios_break_legacy_silently() {
        let silent = catalogue()
            .iter()
            .filter(|s| s.legacy.outcome == Outcome::Silent)
            .count();
        assert!(silent >= 3, "{silent}");
    }

    #[test]
    fn an_unknown_id_lists_the_valid_ones() {
        let err = find("drop-everything").unwrap_err();
        assert!(err.to_string().contains("rename-email"), "{err}");
        assert!(err.to_string().contains("soft-delete"), "{err}");
    }
}
