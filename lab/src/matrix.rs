//! The impact matrix: every scenario shipped to both pairs on fresh databases, in three
//! phases: every consumer flow observed before; the release shipped while a steady load
//! of consumer requests runs (counting failed, degraded and wrong answers, see
//! [`crate::during`]); every flow observed again after. Nothing in a cell comes from a
//! scenario's expectations; they are only compared with it afterwards.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::scenario::{Outcome, Pair, Scenario};
use chassis::telemetry::ErrorLog;

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

/// The whole run.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub cells: Vec<Cell>,
    /// One per scenario and pair, in catalogue order.
    pub during: Vec<During>,
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

/// Observes every scenario of the catalogue on both pairs. `progress` hears of each phase
/// as it starts: how many runs (scenario × pair) are done, and `scenario · pair · phase`.
pub async fn run(
    databases: &Databases,
    passwords: &Passwords,
    errors: &ErrorLog,
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
    Ok(Matrix {
        cells,
        during,
        wall: started.elapsed(),
    })
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
    // No wait: the owner reads its release table on every request, so the next one sees
    // the release that `ship` committed.
    let after = probe.observe(2).await?;
    drop(running);
    database.drop_now().await?;
    let flows = Flow::CONSUMER
        .into_iter()
        .chain([Flow::owner_of(&scenario.owner)]);
    let cells = flows
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

    fn rows(&self) -> impl Iterator<Item = (&'static Scenario, Pair, Vec<&Cell>)> {
        crate::scenario::catalogue()
            .iter()
            .flat_map(move |scenario| {
                [Pair::Legacy, Pair::Migrated].into_iter().map(move |pair| {
                    let row = self
                        .cells
                        .iter()
                        .filter(|c| c.scenario.id == scenario.id && c.pair == pair)
                        .collect();
                    (scenario, pair, row)
                })
            })
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
        let _ = writeln!(
            out,
            "Observed in {:.1} s on fresh databases ({} scenarios × 2 pairs).",
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
        for (scenario, pair, row) in self.rows() {
            let mut line = vec![scenario.id.to_owned(), pair_name(pair).to_owned()];
            line.extend(row.iter().map(|c| short_cell(&c.impact)));
            line.push(self.during_cell(scenario, pair));
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
        for (scenario, pair, row) in self.rows() {
            let cells: Vec<_> = row
                .iter()
                .map(|c| match c.impact {
                    Impact::Unaffected => "✅ ok".to_owned(),
                    _ => format!("**{}**", short_cell(&c.impact)),
                })
                .collect();
            let during = match self.during(scenario, pair) {
                Some(tally) if tally.clean() => format!("✅ {}", tally.short()),
                Some(tally) => format!("**{}**", tally.short()),
                None => "–".to_owned(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {during} |",
                scenario.id,
                pair_name(pair),
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
        out.push_str("\n```\n");
        out.push_str(&self.summary());
        out.push_str("```\n");
        out
    }

    /// The same as one self-contained HTML page, large enough for a projector.
    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for (scenario, pair, row) in self.rows() {
            let _ = write!(
                rows,
                "<tr class=\"{}\"><th title=\"{}\">{}</th><td>{}</td>",
                pair_name(pair),
                escape(&scenario.title),
                escape(scenario.id),
                pair_name(pair)
            );
            for cell in row {
                let class = match cell.impact.outcome() {
                    Outcome::Loud => "loud",
                    Outcome::Silent => "silent",
                    // A run observes a flow as one of the three; these never come out.
                    Outcome::Unaffected | Outcome::Control | Outcome::ContractChange => "ok",
                };
                let _ = write!(
                    rows,
                    "<td class=\"{class}\" title=\"{}\">{}</td>",
                    escape(&cell.impact.detail()),
                    escape(&short_cell(&cell.impact))
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
pre {{ background: #f4f4f4; padding: 1rem; }}
dd {{ margin: 0 0 1rem 2rem; }}
</style></head><body>
<h1>Impact matrix</h1>
<p>Each owner-side release shipped to both pairs on fresh databases; every cell compares what the consumer observed before and after. The last column counts what a steady load of consumer requests got while the release shipped ({key}). Hover a cell for the detail.</p>
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
            wall: Duration::from_secs(1),
        }
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
