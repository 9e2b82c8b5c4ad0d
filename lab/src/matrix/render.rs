//! The matrix as a report: what a run observed, as text, Markdown and HTML, and the
//! questions asked of it (contradictions with the manifests, flows never broken).

use std::fmt::Write as _;
use std::time::Duration;

use kit::road::State;

use super::{COLUMNS, Cell, Matrix, Refusal, RoadRow};
use crate::during::{Load, Tally};
use crate::flows::{Flow, Impact};
use crate::pairs::pair_name;
use crate::scenario::{Outcome, Pair, Scenario};

impl Matrix {
    /// Every cell that contradicts its scenario's manifest.
    pub fn contradictions(&self) -> Vec<String> {
        self.during
            .iter()
            .filter_map(|d| super::refusal_contradiction(d.scenario, d.pair, d.refused.as_ref()))
            .chain(self.cells.iter().filter_map(Cell::contradiction))
            .collect()
    }

    /// Why the database refused `pair`'s release of `scenario`, if it did.
    fn refusal(&self, scenario: &Scenario, pair: Pair) -> Option<&Refusal> {
        self.during
            .iter()
            .find(|d| d.scenario.id == scenario.id && d.pair == pair)
            .and_then(|d| d.refused.as_ref())
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
                        self.refusal(scenario, pair),
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
                    "road {:<3}  {} unaffected, {} broken loudly, {} broken silently, {}",
                    state.number(),
                    of(Outcome::Unaffected),
                    of(Outcome::Loud),
                    of(Outcome::Silent),
                    crate::count(refused, "release refused", "releases refused")
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

    /// A pair's cells by outcome: unaffected, loud, silent, contract change. A refused
    /// release's row counts as the road counts it: as refused, not as cells.
    fn counts(&self, pair: Pair) -> (usize, usize, usize, usize) {
        let of = |outcome| {
            self.cells
                .iter()
                .filter(|c| c.pair == pair && c.impact.outcome() == outcome)
                .filter(|c| self.refusal(c.scenario, c.pair).is_none())
                .count()
        };
        (
            of(Outcome::Unaffected),
            of(Outcome::Loud),
            of(Outcome::Silent),
            of(Outcome::ContractChange),
        )
    }

    /// The closing lines: totals, coverage, and the verdict against the manifests.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for pair in [Pair::Legacy, Pair::Migrated] {
            let (ok, loud, silent, published) = self.counts(pair);
            let published = if published == 0 {
                String::new()
            } else {
                format!(
                    ", {} published beside v1",
                    crate::count(published, "new API version", "new API versions")
                )
            };
            let refused = self
                .during
                .iter()
                .filter(|d| d.pair == pair && d.refused.is_some())
                .count();
            let _ = writeln!(
                out,
                "{:<8}  {ok} unaffected, {loud} broken loudly, {silent} broken silently{published}, \
                 {}",
                pair_name(pair),
                crate::count(refused, "release refused", "releases refused")
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
                        Impact::ContractChange { .. } => format!("🆕 {}", short_cell(impact)),
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
                Row::Pair(pair, ..) => match self.during(scenario, *pair) {
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
}

/// One row of the table: a pair's cells, or the legacy pair's at one road state.
enum Row<'a> {
    /// A pair's cells, and why its release was refused, if it was (the cells then show
    /// that nothing changed).
    Pair(Pair, Vec<&'a Cell>, Option<&'a Refusal>),
    Road(&'a RoadRow),
}

impl Row<'_> {
    fn label(&self) -> String {
        match self {
            Row::Pair(pair, ..) => pair_name(*pair).to_owned(),
            Row::Road(road) => road.label(),
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Row::Pair(pair, ..) => pair_name(*pair),
            Row::Road(_) => "road",
        }
    }

    /// Each column's impact, or why the release was refused.
    fn impacts(&self) -> Result<Vec<&Impact>, String> {
        match self {
            Row::Pair(_, _, Some(refusal)) => Err(refusal.cell()),
            Row::Pair(_, cells, None) => Ok(cells.iter().map(|c| &c.impact).collect()),
            Row::Road(road) => match &road.shipped {
                Ok(impacts) => Ok(impacts.iter().map(|(_, impact)| impact).collect()),
                Err(_) => Err(road.refused().unwrap_or_default()),
            },
        }
    }

    fn during_cell(&self, matrix: &Matrix, scenario: &Scenario) -> String {
        match self {
            Row::Pair(pair, ..) => matrix.during_cell(scenario, *pair),
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
        Impact::ContractChange { .. } => "new version".to_owned(),
    }
}

mod html;
