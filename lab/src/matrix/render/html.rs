//! The matrix as one self-contained HTML page, large enough for a projector.

use std::fmt::Write as _;

use super::{Row, during_key, headers, short_cell};
use crate::flows::Impact;
use crate::matrix::{COLUMNS, Matrix, RoadRow};
use crate::pairs::pair_name;
use crate::scenario::Outcome;

impl Matrix {
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
                Row::Pair(pair, ..) => *pair,
                Row::Road(road) => {
                    let _ = write!(rows, "{}", road_cells_html(road));
                    rows.push_str("<td>–</td></tr>\n");
                    continue;
                }
            };
            if let Row::Pair(_, _, Some(refusal)) = &row {
                rows.push_str(&refused_td(&refusal.error, &refusal.cell()));
            }
            for impact in row.impacts().unwrap_or_default() {
                rows.push_str(&impact_td(impact));
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
td.contract {{ background: #d9e8f7; }}
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

/// A road row's flow cells as HTML: each impact, or the refusal across all of them.
fn road_cells_html(road: &RoadRow) -> String {
    match &road.shipped {
        Err(err) => refused_td(err, &road.refused().unwrap_or_default()),
        Ok(impacts) => impacts
            .iter()
            .map(|(_, impact)| impact_td(impact))
            .collect(),
    }
}

/// A flow's cell: its impact, with the detail as a tooltip.
fn impact_td(impact: &Impact) -> String {
    format!(
        "<td class=\"{}\" title=\"{}\">{}</td>",
        css_class(impact.outcome()),
        escape(&impact.detail()),
        escape(&short_cell(impact))
    )
}

/// A refused release's cell, across every flow column: `error` as the tooltip.
fn refused_td(error: &str, cell: &str) -> String {
    format!(
        "<td class=\"refused\" colspan=\"{COLUMNS}\" title=\"{}\">{}</td>",
        escape(error),
        escape(cell)
    )
}

/// The HTML class of a cell that observed `outcome`.
fn css_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Loud => "loud",
        Outcome::Silent => "silent",
        Outcome::ContractChange => "contract",
        Outcome::Refused => "refused",
        Outcome::Unaffected | Outcome::Control => "ok",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
