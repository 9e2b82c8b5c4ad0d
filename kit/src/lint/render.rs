//! Lint findings for people: one block per finding, its consumers under it. JSON is the
//! [`super::Report`] type itself, serialised.

use std::fmt::Write;

use super::{Report, Severity};

pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let severity = match f.severity {
            Severity::Breaking => "BREAKING",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{}:{}: {severity}: {}",
            f.file,
            f.line,
            one_line(&f.statement)
        );
        let _ = writeln!(out, "  why: {}", f.why);
        for c in &f.consumers {
            let _ = writeln!(
                out,
                "  {} ({} calls): {}",
                c.service,
                c.calls,
                one_line(&c.statement)
            );
        }
    }
    let breaking = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Breaking)
        .count();
    let warnings = report.findings.len() - breaking;
    let _ = writeln!(out, "{breaking} breaking, {warnings} warnings");
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
