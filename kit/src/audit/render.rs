//! The audit for people: a table per service and a Mermaid graph. JSON is the
//! [`super::Audit`] type itself, serialised.

use std::collections::BTreeMap;
use std::fmt::Write;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use super::Audit;

/// One table per service (tables and columns, reads and writes in calls; cross-owner
/// rows marked), then unknown connections, unattributed statements and the coupling.
pub fn table(audit: &Audit) -> String {
    let mut out = String::new();
    for service in &audit.services {
        let _ = writeln!(out, "service {}", service.name);
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(["table", "column", "owner", "reads", "writes", "cross"]);
        for table in &service.tables {
            let name = format!("{}.{}", table.schema, table.table);
            let mark = |cross: bool| if cross { "CROSS" } else { "" };
            t.add_row([
                name.clone(),
                "*".into(),
                table.owner.clone(),
                table.reads.to_string(),
                table.writes.to_string(),
                mark(table.cross).into(),
            ]);
            for c in &table.columns {
                t.add_row([
                    name.clone(),
                    c.name.clone(),
                    c.owner.clone(),
                    c.reads.to_string(),
                    c.writes.to_string(),
                    mark(c.cross).into(),
                ]);
            }
        }
        let _ = writeln!(out, "{t}");
    }
    for u in &audit.unknown_connections {
        let _ = writeln!(
            out,
            "unknown connection: role={} application_name={} ({} statements, {} calls)",
            u.role.as_deref().unwrap_or("-"),
            u.application_name.as_deref().unwrap_or("-"),
            u.statements,
            u.calls
        );
    }
    for u in &audit.unattributed {
        let _ = writeln!(
            out,
            "unattributed ({} calls, {}): {}: {}",
            u.calls,
            u.service.as_deref().unwrap_or("no service"),
            u.reason,
            one_line(&u.text)
        );
    }
    let totals = &audit.totals;
    let _ = writeln!(
        out,
        "statements: {} ({} attributed, {} without tables, {} system, {} unattributed)",
        totals.statements, totals.attributed, totals.no_tables, totals.system, totals.unattributed
    );
    let _ = writeln!(
        out,
        "coupling: {} ({} table calls + {} column calls across owners)",
        audit.coupling.total, audit.coupling.table_calls, audit.coupling.column_calls
    );
    out
}

/// Services on the left, tables grouped by owner on the right; an access across owners
/// is a thick edge labelled CROSS, with its calls.
pub fn mermaid(audit: &Audit) -> String {
    let mut out = String::from("graph LR\n");
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut edges = Vec::new();
    for service in &audit.services {
        let _ = writeln!(out, "  svc_{0}([\"{0}\"])", id(&service.name));
        for table in &service.tables {
            let name = format!("{}.{}", table.schema, table.table);
            let list = owned.entry(table.owner.clone()).or_default();
            if !list.contains(&name) {
                list.push(name.clone());
            }
            let label = format!("r {} / w {}", table.reads, table.writes);
            edges.push((service.name.clone(), name, label, table.cross));
        }
    }
    for (owner, tables) in &owned {
        let _ = writeln!(out, "  subgraph owner_{}[\"owned by {owner}\"]", id(owner));
        for table in tables {
            let _ = writeln!(out, "    tbl_{}[(\"{table}\")]", id(table));
        }
        out.push_str("  end\n");
    }
    let mut cross_links = Vec::new();
    for (i, (service, table, label, cross)) in edges.iter().enumerate() {
        let (arrow, label) = if *cross {
            cross_links.push(i.to_string());
            ("==>", format!("CROSS {label}"))
        } else {
            ("-->", label.clone())
        };
        let _ = writeln!(
            out,
            "  svc_{} {arrow}|\"{label}\"| tbl_{}",
            id(service),
            id(table)
        );
    }
    if !cross_links.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:3px",
            cross_links.join(",")
        );
    }
    out
}

fn id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
