//! The impact matrix: every scenario shipped to both pairs on fresh databases, in three
//! phases: every consumer flow observed before; the release shipped while a steady load
//! of consumer requests runs (counting failed, degraded and wrong answers, see
//! [`crate::during`]); every flow observed again after. Nothing in a cell comes from a
//! scenario's expectations; they are only compared with it afterwards. With the road, every
//! scenario is also shipped to the legacy pair at each state of `kit road` (see
//! [`crate::road`]), one fresh database each, observed before and after.

use std::time::{Duration, Instant};

use crate::scenario::{Outcome, Pair, Scenario};
use chassis::telemetry::ErrorLog;
use kit::road::State;

use crate::databases::Databases;
use crate::during::{self, Load, Tally};
use crate::flows::{Flow, Impact, Probe, impact};
use crate::pairs::{self, Passwords, pair_name};

/// One observed cell: a scenario's effect on one flow of one pair.
#[derive(Debug, Clone)]
pub struct Cell {
    pub scenario: &'static Scenario,
    pub pair: Pair,
    pub flow: Flow,
    pub impact: Impact,
}

impl Cell {
    /// What the scenario's manifest says this cell should be.
    pub fn expected(&self) -> Outcome {
        self.flow.expected(self.scenario, self.pair)
    }

    /// Why this observation contradicts the manifest, if it does.
    pub fn contradiction(&self) -> Option<String> {
        let expected = self.expected();
        let observed = self.impact.outcome();
        let at = format!(
            "{} · {} · {}",
            self.scenario.id,
            pair_name(self.pair),
            self.flow.short()
        );
        if observed != expected {
            return Some(format!(
                "{at}: expected {}, observed {} {}",
                expected.as_str(),
                observed.as_str(),
                self.impact.detail()
            ));
        }
        let wanted = self
            .pair
            .expected(self.scenario)
            .sqlstate_of(self.flow.id());
        if let Impact::Loud { sqlstate, .. } = &self.impact
            && wanted.is_some()
            && sqlstate.as_deref() != wanted
        {
            return Some(format!(
                "{at}: expected SQLSTATE {}, observed {}",
                wanted.unwrap_or_default(),
                sqlstate.as_deref().unwrap_or("none logged")
            ));
        }
        None
    }
}

/// A release the database refused: the whole error, and the SQLSTATE it ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error: String,
    pub sqlstate: Option<String>,
}

impl Refusal {
    pub fn of(err: &anyhow::Error) -> Self {
        Self {
            error: crate::one_line(err),
            sqlstate: crate::sqlx_error(err).and_then(chassis::db::sqlstate),
        }
    }

    /// Short enough for a cell: the innermost cause, and its SQLSTATE.
    pub fn cell(&self) -> String {
        refused_cell(&self.error, self.sqlstate.as_deref())
    }
}

/// A refused release in a cell, a pair's or the road's: the innermost cause of `error`
/// (the whole error is in the list of what broke), and the SQLSTATE when it is known.
fn refused_cell(error: &str, sqlstate: Option<&str>) -> String {
    let cause = error.rsplit(": ").next().unwrap_or(error).trim();
    match sqlstate {
        Some(sqlstate) => format!("release refused ({sqlstate}): {cause}"),
        None => format!("release refused: {cause}"),
    }
}

/// Why `pair`'s release of `scenario` (refused as `refused` says) contradicts the manifest,
/// if it does: a refusal it did not state, a stated one that shipped, or another SQLSTATE.
pub fn refusal_contradiction(
    scenario: &Scenario,
    pair: Pair,
    refused: Option<&Refusal>,
) -> Option<String> {
    let expected = pair.expected(scenario);
    let at = format!("{} · {}", scenario.id, pair_name(pair));
    match (expected.outcome == Outcome::Refused, refused) {
        (false, None) => None,
        (false, Some(refusal)) => Some(format!(
            "{at}: expected {}, observed {}",
            expected.outcome.as_str(),
            refusal.error
        )),
        (true, None) => Some(format!("{at}: expected release refused, observed shipped")),
        (true, Some(refusal)) if refusal.sqlstate != expected.sqlstate => Some(format!(
            "{at}: expected release refused with SQLSTATE {}, observed {}",
            expected.sqlstate.as_deref().unwrap_or("none"),
            refusal.error
        )),
        (true, Some(_)) => None,
    }
}

/// What a pair's consumers got while one scenario's release shipped.
#[derive(Debug, Clone)]
pub struct During {
    pub scenario: &'static Scenario,
    pub pair: Pair,
    /// Why the database refused the release, if it did (then nothing changed).
    pub refused: Option<Refusal>,
    pub tally: Tally,
}

/// A scenario shipped to the legacy pair at one state of the road: each flow's impact, in
/// the columns' order, or the release's error when the owner's migration failed there.
#[derive(Debug, Clone)]
pub struct RoadRow {
    pub scenario: &'static Scenario,
    pub state: State,
    pub shipped: Result<Vec<(Flow, Impact)>, String>,
}

impl RoadRow {
    /// The row's label, in the pair column.
    pub fn label(&self) -> String {
        format!("road {}", self.state.number())
    }

    /// Why the release was refused, short enough for a cell (the innermost cause of the
    /// error chain; the whole error is in the list of what broke), if it was.
    pub fn refused(&self) -> Option<String> {
        self.shipped
            .as_ref()
            .err()
            .map(|err| refused_cell(err, None))
    }
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub cells: Vec<Cell>,
    /// One per scenario and pair, in catalogue order.
    pub during: Vec<During>,
    /// One per scenario and road state when the road was shipped to, else none.
    pub road: Vec<RoadRow>,
    pub wall: Duration,
}

/// The columns: every consumer flow, then the releasing owner's own endpoints.
pub const COLUMNS: usize = Flow::CONSUMER.len() + 1;

/// The phases of one run, as the progress hears of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Before,
    During,
    After,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::During => "during release",
            Phase::After => "after",
        }
    }
}

/// How many runs [`run`] makes: one per scenario and pair, and per road state with `road`.
pub fn runs(road: bool) -> u64 {
    let per_scenario = if road { 2 + State::ALL.len() } else { 2 };
    (crate::scenario::catalogue().len() * per_scenario) as u64
}

/// Observes every scenario of the catalogue on both pairs, and with `road` on the legacy
/// pair at every road state. `progress` hears of each phase as it starts: how many runs
/// (see [`runs`]) are done, and `scenario · pair · phase`.
pub async fn run(
    databases: &Databases,
    passwords: &Passwords,
    errors: &ErrorLog,
    road: bool,
    mut progress: impl FnMut(u64, &str),
) -> anyhow::Result<Matrix> {
    let started = Instant::now();
    let (mut cells, mut during) = (Vec::new(), Vec::new());
    let mut done = 0;
    for scenario in crate::scenario::catalogue() {
        for pair in [Pair::Legacy, Pair::Migrated] {
            let run = format!("{} · {}", scenario.id, pair_name(pair));
            let phase = |phase: Phase| format!("{run} · {}", phase.as_str());
            let (row, tally, refused) =
                observe(databases, passwords, errors, scenario, pair, |p| {
                    progress(done, &phase(p));
                })
                .await?;
            cells.extend(row);
            during.push(During {
                scenario,
                pair,
                refused,
                tally,
            });
            done += 1;
        }
    }
    let mut rows = Vec::new();
    for state in State::ALL.into_iter().filter(|_| road) {
        for scenario in crate::scenario::catalogue() {
            progress(
                done,
                &format!("{} · road {} · shipped", scenario.id, state.number()),
            );
            rows.push(on_the_road(databases, errors, scenario, state).await?);
            done += 1;
        }
    }
    Ok(Matrix {
        cells,
        during,
        road: rows,
        wall: started.elapsed(),
    })
}

/// One scenario shipped to the legacy pair at `state`, on a fresh database.
async fn on_the_road(
    databases: &Databases,
    errors: &ErrorLog,
    scenario: &'static Scenario,
    state: State,
) -> anyhow::Result<RoadRow> {
    let database = databases.fresh(&pairs::legacy::template()).await?;
    let (url, name) = (database.url.clone(), database.name.clone());
    let shipped = crate::road::ship_at(&url, &name, state, scenario, Some(errors.clone())).await;
    database.drop_now().await?;
    crate::road::drop_logins(databases.admin(), &name).await?;
    let (before, after) = shipped?;
    let shipped = after.map(|after| {
        columns(scenario)
            .filter_map(|flow| Some((flow, impact(before.get(&flow)?, after.get(&flow)?))))
            .collect()
    });
    Ok(RoadRow {
        scenario,
        state,
        shipped,
    })
}

/// The flows of a scenario's row, in the columns' order.
fn columns(scenario: &Scenario) -> impl Iterator<Item = Flow> {
    Flow::CONSUMER
        .into_iter()
        .chain([Flow::owner_of(&scenario.owner)])
}

/// One scenario on one pair: fresh database, baseline, the owner's release under load,
/// again.
async fn observe(
    databases: &Databases,
    passwords: &Passwords,
    errors: &ErrorLog,
    scenario: &'static Scenario,
    pair: Pair,
    mut phase: impl FnMut(Phase),
) -> anyhow::Result<(Vec<Cell>, Tally, Option<Refusal>)> {
    let database = databases.fresh(&pairs::template(pair, passwords)).await?;
    let url = database.url.clone();
    // The matrix observes releases, not the network: a patient policy keeps a busy
    // machine's slow answer from showing up as a broken cell.
    let calls = pairs::migrated::Calls::both(pairs::migrated::patient_calls());
    let running = pairs::start(pair, &url, passwords, &calls).await?;
    let probe = Probe::new(
        pair,
        &running.customers.url,
        &running.orders.url,
        Some(errors.clone()),
    );
    phase(Phase::Before);
    let before = probe.observe(1).await?;
    phase(Phase::During);
    // A release the database refuses is an observation, not a failure of the run.
    let ship = async { Ok(pairs::ship(pair, &url, scenario).await) };
    let (shipped, tally) = during::under_load(&probe, &before, Load::MATRIX, ship).await?;
    let refused = shipped.err().map(|err| Refusal::of(&err));
    phase(Phase::After);
    // No wait: the release replaced the owner's shape in the transaction that `ship`
    // committed, so the next request goes through the new shape.
    let after = probe.observe(2).await?;
    drop(running);
    database.drop_now().await?;
    let cells = columns(scenario)
        .filter_map(|flow| {
            Some(Cell {
                scenario,
                pair,
                flow,
                impact: impact(before.get(&flow)?, after.get(&flow)?),
            })
        })
        .collect();
    Ok((cells, tally, refused))
}

mod render;

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(impact: Impact) -> Matrix {
        let scenario = crate::scenario::find("money-in-cents").expect("in the catalogue");
        Matrix {
            cells: vec![Cell {
                scenario,
                pair: Pair::Legacy,
                flow: Flow::Profile,
                impact,
            }],
            during: vec![During {
                scenario,
                pair: Pair::Legacy,
                refused: None,
                tally: Tally {
                    requests: 90,
                    failed: 44,
                    degraded: 0,
                    wrong: 1,
                    examples: vec!["failed order view: HTTP 500".into()],
                },
            }],
            road: Vec::new(),
            wall: Duration::from_secs(1),
        }
    }

    #[test]
    fn every_rendering_shows_each_road_state_as_observed_or_refused() {
        let mut m = matrix(Impact::Unaffected);
        let scenario = m.cells[0].scenario;
        m.road = vec![
            RoadRow {
                scenario,
                state: State::SharedLogin,
                shipped: Ok(vec![(
                    Flow::Profile,
                    Impact::Silent {
                        expected: "10.00".into(),
                        observed: "1000.00".into(),
                    },
                )]),
            },
            RoadRow {
                scenario,
                state: State::Contract,
                shipped: Err("shipping: column \"total\" is used by a view or rule".into()),
            },
        ];

        for rendering in [m.to_text(), m.to_markdown(), m.to_html()] {
            assert!(rendering.contains("road 0"), "{rendering}");
            assert!(rendering.contains("SILENT"), "{rendering}");
            assert!(
                rendering.contains("release refused: column \"total\" is used by a view")
                    || rendering.contains("release refused: column &quot;total&quot;"),
                "{rendering}"
            );
            assert!(rendering.contains("shipping: column"), "{rendering}");
        }
        assert!(
            m.summary().contains(
                "road 2    0 unaffected, 0 broken loudly, 0 broken silently, 1 release refused"
            ),
            "{}",
            m.summary()
        );
        assert!(
            m.summary()
                .contains("road 0    0 unaffected, 0 broken loudly, 1 broken silently"),
            "{}",
            m.summary()
        );
    }

    #[test]
    fn an_observation_that_differs_from_the_manifest_is_a_contradiction() {
        // The manifest says the legacy profile breaks silently; observing it unaffected is
        // exactly the regression the run must report.
        let m = matrix(Impact::Unaffected);
        assert_eq!(m.contradictions().len(), 1, "{:?}", m.contradictions());
        assert!(m.summary().contains("contradict"));
    }

    #[test]
    fn an_observation_that_matches_is_not() {
        let m = matrix(Impact::Silent {
            expected: "lifetime_value \"10.00\"".into(),
            observed: "lifetime_value \"1000.00\"".into(),
        });
        assert!(m.contradictions().is_empty());
    }

    #[test]
    fn every_rendering_shows_the_observed_detail() {
        let m = matrix(Impact::Silent {
            expected: "a <b>".into(),
            observed: "c".into(),
        });
        assert!(m.to_text().contains("expected a <b>; observed c"));
        assert!(m.to_markdown().contains("expected a <b>; observed c"));
        assert!(m.to_html().contains("expected a &lt;b&gt;; observed c"));
    }

    #[test]
    fn every_rendering_shows_the_during_release_counts() {
        let m = matrix(Impact::Unaffected);

        for rendering in [m.to_text(), m.to_markdown(), m.to_html()] {
            assert!(rendering.contains("44·0·1/90"), "{rendering}");
            assert!(
                rendering.contains("failed order view: HTTP 500"),
                "{rendering}"
            );
            assert!(rendering.contains("50 requests a second"), "{rendering}");
        }
        assert!(
            m.summary()
                .contains("legacy    while releases shipped: 44 failed, 0 degraded, 1 wrong of 90 (0 of 1 releases clean)"),
            "{}",
            m.summary()
        );
    }

    #[test]
    fn a_refusal_is_checked_against_the_manifest_like_any_observation() {
        let uuid = crate::scenario::find("uuid-ids").expect("in the catalogue");
        let money = crate::scenario::find("money-in-cents").expect("in the catalogue");
        let refusal = |sqlstate: &str| Refusal {
            error: "shipping: error returned from database: cannot drop constraint".into(),
            sqlstate: Some(sqlstate.into()),
        };

        assert_eq!(
            refusal_contradiction(uuid, Pair::Legacy, Some(&refusal("2BP01"))),
            None
        );
        for (scenario, pair, refused) in [
            (uuid, Pair::Legacy, None),
            (uuid, Pair::Legacy, Some(refusal("42P01"))),
            (uuid, Pair::Migrated, Some(refusal("2BP01"))),
            (money, Pair::Legacy, Some(refusal("0A000"))),
        ] {
            assert!(
                refusal_contradiction(scenario, pair, refused.as_ref()).is_some(),
                "{} {pair:?} {refused:?}",
                scenario.id
            );
        }
    }

    #[test]
    fn a_refused_pair_row_says_so_in_every_rendering_and_counts_as_refused() {
        let mut m = matrix(Impact::Unaffected);
        m.during[0].refused = Some(Refusal {
            error: "shipping: cannot alter type of a column used by a view or rule".into(),
            sqlstate: Some("0A000".into()),
        });

        for rendering in [m.to_text(), m.to_markdown(), m.to_html()] {
            assert!(
                rendering.contains("release refused (0A000): cannot alter type"),
                "{rendering}"
            );
        }
        assert!(
            m.summary().contains(
                "legacy    0 unaffected, 0 broken loudly, 0 broken silently, 1 release refused"
            ),
            "{}",
            m.summary()
        );
        // money-in-cents says legacy ships and breaks silently: the refusal contradicts it.
        assert!(
            m.contradictions()
                .iter()
                .any(|c| c.contains("expected broken silently")),
            "{:?}",
            m.contradictions()
        );
    }
}
