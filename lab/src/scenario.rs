//! The catalogue of owner-side schema changes (`migrations/scenarios/<id>/`). Each scenario
//! holds a migration for the legacy shared schema and one for the migrated owner's schema,
//! and, beside each, the owner's adaptation as data (`legacy-shape.sql`,
//! `migrated-shape.sql`): the views and functions that present the new tables in the shape
//! the owner's queries expect. Shipping one is `chassis::releases::apply`; no owner's code
//! changes. Nothing here knows a service's tables.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// How a pair takes a scenario, as a manifest states it and a run observes it. A manifest
/// may state any of them for either pair; a run observes only the first three, and
/// `control` and `contract-change` are observed as `unaffected` consumer flows.
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
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unaffected => "unaffected",
            Self::Loud => "broken loudly",
            Self::Silent => "broken silently",
            Self::Control => "control",
            Self::ContractChange => "contract change",
        }
    }

    /// What a run observes of a flow stated so: a control and a contract change leave
    /// the consumer's flows as they were.
    pub fn observed(self) -> Self {
        match self {
            Self::Control | Self::ContractChange => Self::Unaffected,
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

macro_rules! scenario_files {
    ($($id:literal),+ $(,)?) => {
        [$((
            $id,
            include_str!(concat!("../../migrations/scenarios/", $id, "/scenario.toml")),
            include_str!(concat!("../../migrations/scenarios/", $id, "/legacy.sql")),
            include_str!(concat!("../../migrations/scenarios/", $id, "/migrated.sql")),
            include_str!(concat!("../../migrations/scenarios/", $id, "/legacy-shape.sql")),
            include_str!(concat!("../../migrations/scenarios/", $id, "/migrated-shape.sql")),
        )),+]
    };
}

/// Every scenario's files, compiled in. A new scenario is a folder and a line here.
type Files = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);
const FILES: [Files; 7] = scenario_files![
    "rename-email",
    "split-name",
    "money-in-cents",
    "status-vocabulary",
    "rename-table",
    "soft-delete",
    "required-column",
];

static CATALOGUE: LazyLock<Vec<Scenario>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(
            |&(id, manifest, legacy_sql, migrated_sql, legacy_shape, migrated_shape)| {
                // The files are compiled in and checked by a unit test: a broken one is a bug.
                let manifest: Manifest = toml::from_str(manifest)
                    .unwrap_or_else(|err| panic!("migrations/scenarios/{id}/scenario.toml: {err}"));
                Scenario {
                    id,
                    title: manifest.title,
                    owner: manifest.owner,
                    lesson: manifest.lesson.trim().to_owned(),
                    legacy: manifest.expected.legacy,
                    migrated: manifest.expected.migrated,
                    legacy_sql,
                    migrated_sql,
                    legacy_shape: Some(legacy_shape),
                    migrated_shape: Some(migrated_shape),
                }
            },
        )
        .collect()
});

/// The whole catalogue, in teaching order.
pub fn catalogue() -> &'static [Scenario] {
    &CATALOGUE
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
                let worst = expected
                    .flows
                    .values()
                    .map(|o| o.observed())
                    .max_by_key(|o| match o {
                        Outcome::Loud => 2,
                        Outcome::Silent => 1,
                        _ => 0,
                    })
                    .unwrap_or(Outcome::Unaffected);
                // The pair's outcome is its worst flow's; a control or a contract change
                // breaks no flow.
                assert_eq!(worst, expected.outcome.observed(), "{at}");
                for (flow, outcome) in &expected.flows {
                    if *outcome == Outcome::Loud {
                        assert!(
                            expected.sqlstate_of(flow).is_some(),
                            "{at}: the loud flow {flow} names its SQLSTATE"
                        );
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
