//! The impact matrix: every scenario shipped to both pairs on fresh databases, in three
//! phases: every consumer flow observed before; the release shipped while a steady load
//! of consumer requests runs (counting failed, degraded and wrong answers, see
//! [`crate::during`]); every flow observed again after. Nothing in a cell comes from a
//! scenario's expectations; they are only compared with it afterwards. With the road, every
//! scenario is also shipped to the legacy pair at each state of `kit road` (see
//! [`crate::road`]), one fresh database each, observed before and after.

use std::fmt::Write as _;
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

/// What a pair's consumers got while one scenario's release shipped.
#[derive(Debug, Clone)]
pub struct During {
    pub scenario: &'static Scenario,
    pub pair: Pair,
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
        self.shipped.as_ref().err().map(|err| {
            let cause = err.rsplit(": ").next().unwrap_or(err);
            format!("release refused: {}", cause.trim())
        })
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
            let (row, tally) = observe(databases, passwords, errors, scenario, pair, |p| {
                progress(done, &phase(p));
            })
            .await?;
            cells.extend(row);
            during.push(During {
                scenario,
                pair,
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
) -> anyhow::Result<(Vec<Cell>, Tally)> {
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
    let ship = pairs::ship(pair, &url, scenario);
    let (_, tally) = during::under_load(&probe, &before, Load::MATRIX, ship).await?;
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
    Ok((cells, tally))
}

impl Matrix {
    /// Every cell that contradicts its scenario's manifest.
    pub fn contradictions(&self) -> Vec<String> {
        self.cells.iter().filter_map(Cell::contradiction).collect()
    }

    /// The legacy consumer flows that no scenario broke (the catalogue should leave none).
    pub fn legacy_flows_never_broken(&self) -> Vec<Flow> {
        Flow::CONSUMER
            .into_iter()
            .filter(|flow| {
                !self.cells.iter().any(|c| {
                    c.pair == Pair::Legacy && c.flow == *flow && c.impact != Impact::Unaffected
                })
            })
            .collect()
    }

    /// Each scenario's rows: legacy, the road's states (when shipped to), migrated.
    fn rows(&self) -> impl Iterator<Item = (&'static Scenario, Row<'_>)> {
        crate::scenario::catalogue()
            .iter()
            .flat_map(move |scenario| {
                let pair = move |pair| {
                    Row::Pair(
                        pair,
                        self.cells
                            .iter()
                            .filter(|c| c.scenario.id == scenario.id && c.pair == pair)
                            .collect(),
                    )
                };
                std::iter::once(pair(Pair::Legacy))
                    .chain(
                        self.road
                            .iter()
                            .filter(|r| r.scenario.id == scenario.id)
                            .map(Row::Road),
                    )
                    .chain(std::iter::once(pair(Pair::Migrated)))
                    .map(move |row| (scenario, row))
            })
    }

    /// What broke on the road: `scenario · road N[ · flow]`, the outcome, the detail.
    fn road_broken(&self) -> Vec<(String, String, String)> {
        let mut broken = Vec::new();
        for row in &self.road {
            let at = format!("{} · {}", row.scenario.id, row.label());
            match &row.shipped {
                Err(err) => broken.push((at, "release refused".to_owned(), err.clone())),
                Ok(impacts) => broken.extend(
                    impacts
                        .iter()
                        .filter(|(_, impact)| *impact != Impact::Unaffected)
                        .map(|(flow, impact)| {
                            (
                                format!("{at} · {}", flow.short()),
                                impact.outcome().as_str().to_owned(),
                                impact.detail(),
                            )
                        }),
                ),
            }
        }
        broken
    }

    /// Per road state: unaffected, loud and silent cells, and releases refused.
    fn road_lines(&self) -> Vec<String> {
        State::ALL
            .into_iter()
            .filter(|state| self.road.iter().any(|r| r.state == *state))
            .map(|state| {
                let rows = || self.road.iter().filter(move |r| r.state == state);
                let of = |outcome| {
                    rows()
                        .filter_map(|r| r.shipped.as_ref().ok())
                        .flatten()
                        .filter(|(_, impact)| impact.outcome() == outcome)
                        .count()
                };
                let refused = rows().filter(|r| r.shipped.is_err()).count();
                format!(
                    "road {:<3}  {} unaffected, {} broken loudly, {} broken silently, {refused} \
                     releases refused",
                    state.number(),
                    of(Outcome::Unaffected),
                    of(Outcome::Loud),
                    of(Outcome::Silent)
                )
            })
            .collect()
    }

    /// What the consumers of `pair` got while `scenario` shipped, if it was observed.
    pub fn during(&self, scenario: &Scenario, pair: Pair) -> Option<&Tally> {
        self.during
            .iter()
            .find(|d| d.scenario.id == scenario.id && d.pair == pair)
            .map(|d| &d.tally)
    }

    /// A table cell for the during phase ("–" when it was not observed).
    fn during_cell(&self, scenario: &Scenario, pair: Pair) -> String {
        self.during(scenario, pair)
            .map_or_else(|| "–".to_owned(), Tally::short)
    }

    /// Every pair's totals during the releases, then each release that was not clean.
    fn during_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for pair in [Pair::Legacy, Pair::Migrated] {
            let mut total = Tally::default();
            let (mut clean, mut runs) = (0, 0);
            for d in self.during.iter().filter(|d| d.pair == pair) {
                total.requests += d.tally.requests;
                total.failed += d.tally.failed;
                total.degraded += d.tally.degraded;
                total.wrong += d.tally.wrong;
                runs += 1;
                clean += usize::from(d.tally.clean());
            }
            lines.push(format!(
                "{:<8}  while releases shipped: {} ({clean} of {runs} releases clean)",
                pair_name(pair),
                total.line()
            ));
        }
        lines
    }

    /// The releases whose load saw a bad answer, with the first of each kind.
    fn during_details(&self) -> Vec<(String, Vec<String>)> {
        self.during
            .iter()
            .filter(|d| !d.tally.clean())
            .map(|d| {
                (
                    format!(
                        "{} · {}: {}",
                        d.scenario.id,
                        pair_name(d.pair),
                        d.tally.line()
                    ),
                    d.tally.examples.clone(),
                )
            })
            .collect()
    }

    fn broken(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.impact != Impact::Unaffected)
    }

    fn counts(&self, pair: Pair) -> (usize, usize, usize) {
        let of = |outcome| {
            self.cells
                .iter()
                .filter(|c| c.pair == pair && c.impact.outcome() == outcome)
                .count()
        };
        (
            of(Outcome::Unaffected),
            of(Outcome::Loud),
            of(Outcome::Silent),
        )
    }

    /// The closing lines: totals, coverage, and the verdict against the manifests.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for pair in [Pair::Legacy, Pair::Migrated] {
            let (ok, loud, silent) = self.counts(pair);
            let _ = writeln!(
                out,
                "{:<8}  {ok} unaffected, {loud} broken loudly, {silent} broken silently",
                pair_name(pair)
            );
        }
        for line in self.road_lines() {
            let _ = writeln!(out, "{line}");
        }
        for line in self.during_lines() {
            let _ = writeln!(out, "{line}");
        }
        let never = self.legacy_flows_never_broken();
        if never.is_empty() {
            let _ = writeln!(
                out,
                "Every legacy consumer flow was broken by at least one scenario."
            );
        } else {
            let names: Vec<_> = never.iter().map(|f| f.short()).collect();
            let _ = writeln!(out, "Legacy flows no scenario broke: {}.", names.join(", "));
        }
        let contradictions = self.contradictions();
        if contradictions.is_empty() {
            let _ = writeln!(
                out,
                "Every observation matches its scenario's stated expectation."
            );
        } else {
            let _ = writeln!(
                out,
                "{} observations contradict their scenario's expectation:",
                contradictions.len()
            );
            for c in contradictions {
                let _ = writeln!(out, "  ✘ {c}");
            }
        }
        let road = if self.road.is_empty() {
            String::new()
        } else {
            format!(" and the legacy pair at {} road states", State::ALL.len())
        };
        let _ = writeln!(
            out,
            "Observed in {:.1} s on fresh databases ({} scenarios × 2 pairs{road}).",
            self.wall.as_secs_f64(),
            crate::scenario::catalogue().len()
        );
        out
    }

    /// The table for a terminal, then what broke and how, then the summary.
    pub fn to_text(&self) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        table.set_header(headers());
        for (scenario, row) in self.rows() {
            let mut line = vec![scenario.id.to_owned(), row.label()];
            match row.impacts() {
                Ok(impacts) => line.extend(impacts.into_iter().map(short_cell)),
                Err(refused) => line.extend(refused_cells(refused)),
            }
            line.push(row.during_cell(self, scenario));
            table.add_row(line);
        }
        let key = during_key();
        let mut out = format!("{table}\n\nWhile releases shipped ({key}):\n");
        for (run, examples) in self.during_details() {
            let _ = writeln!(out, "  {run}");
            for example in examples {
                let _ = writeln!(out, "    {example}");
            }
        }
        out.push_str("\nWhat broke, as observed:\n");
        for cell in self.broken() {
            let _ = writeln!(
                out,
                "  {} · {} · {}: {} — {}",
                cell.scenario.id,
                pair_name(cell.pair),
                cell.flow.short(),
                cell.impact.outcome().as_str(),
                cell.impact.detail()
            );
        }
        for (at, outcome, detail) in self.road_broken() {
            let _ = writeln!(out, "  {at}: {outcome} — {detail}");
        }
        out.push('\n');
        out.push_str(&self.summary());
        out
    }

    /// The same as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("## Impact matrix\n\n");
        let headers = headers();
        let _ = writeln!(out, "| {} |", headers.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
        for (scenario, row) in self.rows() {
            let cells: Vec<_> = match row.impacts() {
                Ok(impacts) => impacts
                    .into_iter()
                    .map(|impact| match impact {
                        Impact::Unaffected => "✅ ok".to_owned(),
                        _ => format!("**{}**", short_cell(impact)),
                    })
                    .collect(),
                Err(refused) => {
                    let mut cells = refused_cells(refused);
                    cells[0] = format!("**{}**", cells[0].replace('|', "\\|"));
                    cells
                }
            };
            let during = match &row {
                Row::Pair(pair, _) => match self.during(scenario, *pair) {
                    Some(tally) if tally.clean() => format!("✅ {}", tally.short()),
                    Some(tally) => format!("**{}**", tally.short()),
                    None => "–".to_owned(),
                },
                Row::Road(_) => "–".to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {during} |",
                scenario.id,
                row.label(),
                cells.join(" | ")
            );
        }
        let key = during_key();
        let _ = writeln!(
            out,
            "\n### While releases shipped\n\nThe last column: {key}.\n"
        );
        for (run, examples) in self.during_details() {
            let _ = writeln!(out, "- `{run}`");
            for example in examples {
                let _ = writeln!(out, "  - `{}`", example.replace('`', "'"));
            }
        }
        out.push_str("\n### What broke, as observed\n\n");
        for cell in self.broken() {
            let _ = writeln!(
                out,
                "- `{}` · {} · {}: **{}** — {}",
                cell.scenario.id,
                pair_name(cell.pair),
                cell.flow.short(),
                cell.impact.outcome().as_str(),
                cell.impact.detail().replace('|', "\\|")
            );
        }
        for (at, outcome, detail) in self.road_broken() {
            let _ = writeln!(
                out,
                "- `{at}`: **{outcome}** — {}",
                detail.replace('|', "\\|")
            );
        }
        out.push_str("\n```\n");
        out.push_str(&self.summary());
        out.push_str("```\n");
        out
    }

    /// The same as one self-contained HTML page, large enough for a projector.
    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for (scenario, row) in self.rows() {
            let _ = write!(
                rows,
                "<tr class=\"{}\"><th title=\"{}\">{}</th><td>{}</td>",
                row.class(),
                escape(&scenario.title),
                escape(scenario.id),
                row.label()
            );
            let pair = match &row {
                Row::Pair(pair, _) => *pair,
                Row::Road(road) => {
                    let _ = write!(rows, "{}", road_cells_html(road));
                    rows.push_str("<td>–</td></tr>\n");
                    continue;
                }
            };
            for impact in row.impacts().unwrap_or_default() {
                let class = match impact.outcome() {
                    Outcome::Loud => "loud",
                    Outcome::Silent => "silent",
                    // A run observes a flow as one of the three; these never come out.
                    Outcome::Unaffected | Outcome::Control | Outcome::ContractChange => "ok",
                };
                let _ = write!(
                    rows,
                    "<td class=\"{class}\" title=\"{}\">{}</td>",
                    escape(&impact.detail()),
                    escape(&short_cell(impact))
                );
            }
            let (class, title) = match self.during(scenario, pair) {
                Some(tally) if tally.clean() => ("ok", tally.line()),
                // Red for failed requests, yellow for answers that came but were partial
                // or wrong, as in the other columns.
                Some(tally) => (
                    if tally.failed > 0 { "loud" } else { "silent" },
                    format!("{}: {}", tally.line(), tally.examples.join("; ")),
                ),
                None => ("", "not observed".to_owned()),
            };
            let _ = write!(
                rows,
                "<td class=\"{class}\" title=\"{}\">{}</td>",
                escape(&title),
                escape(&self.during_cell(scenario, pair))
            );
            rows.push_str("</tr>\n");
        }
        let mut during = String::new();
        for (run, examples) in self.during_details() {
            let _ = writeln!(
                during,
                "<li><code>{}</code><ul>{}</ul></li>",
                escape(&run),
                examples
                    .iter()
                    .map(|e| format!("<li><code>{}</code></li>", escape(e)))
                    .collect::<String>()
            );
        }
        let mut details = String::new();
        for cell in self.broken() {
            let _ = writeln!(
                details,
                "<li><code>{}</code> · {} · {}: <b>{}</b> — {}</li>",
                escape(cell.scenario.id),
                pair_name(cell.pair),
                escape(cell.flow.short()),
                cell.impact.outcome().as_str(),
                escape(&cell.impact.detail())
            );
        }
        for (at, outcome, detail) in self.road_broken() {
            let _ = writeln!(
                details,
                "<li><code>{}</code>: <b>{}</b> — {}</li>",
                escape(&at),
                escape(&outcome),
                escape(&detail)
            );
        }
        let mut lessons = String::new();
        for scenario in crate::scenario::catalogue() {
            let _ = writeln!(
                lessons,
                "<dt><code>{}</code> ({}): {}</dt><dd>{}</dd>",
                escape(scenario.id),
                escape(&scenario.owner),
                escape(&scenario.title),
                escape(&scenario.lesson)
            );
        }
        let head: String = headers()
            .iter()
            .map(|h| format!("<th>{}</th>", escape(h)))
            .collect();
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>shared-db-kit: impact matrix</title>
<style>
body {{ font: 18px/1.4 system-ui, sans-serif; margin: 2rem; background: #fff; color: #111; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: .4rem .7rem; text-align: left; }}
tr.migrated td, tr.migrated th {{ border-bottom: 3px solid #333; }}
td.ok {{ background: #d9f2d9; }}
td.loud {{ background: #f8c4c4; font-weight: bold; }}
td.silent {{ background: #ffe08a; font-weight: bold; }}
td.refused {{ background: #dde4f0; }}
tr.road th, tr.road td {{ font-size: 90%; }}
pre {{ background: #f4f4f4; padding: 1rem; }}
dd {{ margin: 0 0 1rem 2rem; }}
</style></head><body>
<h1>Impact matrix</h1>
<p>Each owner-side release shipped to both pairs on fresh databases; every cell compares what the consumer observed before and after. Rows <i>road N</i>, when present, ship the release to the legacy pair moved to state N of <code>kit road</code>. The last column counts what a steady load of consumer requests got while the release shipped ({key}). Hover a cell for the detail.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{rows}</tbody></table>
<h2>While releases shipped</h2>
<ul>
{during}</ul>
<h2>What broke, as observed</h2>
<ul>
{details}</ul>
<pre>{}</pre>
<h2>The releases</h2>
<dl>
{lessons}</dl>
</body></html>
"#,
            escape(&self.summary()),
            key = escape(&during_key()),
        )
    }
}

/// One row of the table: a pair's cells, or the legacy pair's at one road state.
enum Row<'a> {
    Pair(Pair, Vec<&'a Cell>),
    Road(&'a RoadRow),
}

impl Row<'_> {
    fn label(&self) -> String {
        match self {
            Row::Pair(pair, _) => pair_name(*pair).to_owned(),
            Row::Road(road) => road.label(),
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Row::Pair(pair, _) => pair_name(*pair),
            Row::Road(_) => "road",
        }
    }

    /// Each column's impact, or why the release was refused.
    fn impacts(&self) -> Result<Vec<&Impact>, String> {
        match self {
            Row::Pair(_, cells) => Ok(cells.iter().map(|c| &c.impact).collect()),
            Row::Road(road) => match &road.shipped {
                Ok(impacts) => Ok(impacts.iter().map(|(_, impact)| impact).collect()),
                Err(_) => Err(road.refused().unwrap_or_default()),
            },
        }
    }

    fn during_cell(&self, matrix: &Matrix, scenario: &Scenario) -> String {
        match self {
            Row::Pair(pair, _) => matrix.during_cell(scenario, *pair),
            Row::Road(_) => "–".to_owned(),
        }
    }
}

/// A refused release's columns: the reason, then a dash for each other flow.
fn refused_cells(refused: String) -> Vec<String> {
    std::iter::once(refused)
        .chain(std::iter::repeat_n("–".to_owned(), COLUMNS - 1))
        .collect()
}

/// A road row's flow cells as HTML: each impact, or the refusal across all of them.
fn road_cells_html(road: &RoadRow) -> String {
    match &road.shipped {
        Err(err) => format!(
            "<td class=\"refused\" colspan=\"{COLUMNS}\" title=\"{}\">{}</td>",
            escape(err),
            escape(&road.refused().unwrap_or_default())
        ),
        Ok(impacts) => impacts
            .iter()
            .map(|(_, impact)| {
                let class = match impact.outcome() {
                    Outcome::Loud => "loud",
                    Outcome::Silent => "silent",
                    Outcome::Unaffected | Outcome::Control | Outcome::ContractChange => "ok",
                };
                format!(
                    "<td class=\"{class}\" title=\"{}\">{}</td>",
                    escape(&impact.detail()),
                    escape(&short_cell(impact))
                )
            })
            .collect(),
    }
}

/// How to read a during-release cell.
fn during_key() -> String {
    let load = Load::MATRIX;
    format!(
        "failed·degraded·wrong/requests, at {} requests a second from {:.1} s before the \
         release until {:.1} s after it",
        Duration::from_secs(1).as_nanos() / load.every.as_nanos().max(1),
        load.lead.as_secs_f64(),
        load.tail.as_secs_f64()
    )
}

fn headers() -> Vec<String> {
    ["scenario", "pair"]
        .into_iter()
        .chain(Flow::CONSUMER.iter().map(|f| f.short()))
        .chain(["owner's own", "during release"])
        .map(str::to_owned)
        .collect()
}

fn short_cell(impact: &Impact) -> String {
    match impact {
        Impact::Unaffected => "ok".to_owned(),
        Impact::Loud {
            sqlstate: Some(sqlstate),
            ..
        } => format!("LOUD {sqlstate}"),
        Impact::Loud { .. } => "LOUD".to_owned(),
        Impact::Silent { .. } => "SILENT".to_owned(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

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
                "road 2    0 unaffected, 0 broken loudly, 0 broken silently, 1 releases refused"
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
}
