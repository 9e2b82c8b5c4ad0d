//! What `kit walls verify` found: one line per probe, each wall held or open with the
//! statement that got through, as text or JSON. Exit code 0 when every wall held, 2 when
//! one is open or could not be told.

use serde::Serialize;

/// The JSON report's version; bumped when its shape changes.
pub const VERSION: u32 = 1;

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Postgres refused it for lack of privilege (SQLSTATE 42501).
    Held,
    /// It got through, or past the privilege check (failing later on a constraint).
    Open,
    /// It failed for another reason: the wall could not be told. Counts as a hole.
    Unclear,
    /// Nothing to probe (no statistics yet, no pg_stat_statements): says why.
    Skipped,
}

/// One probe: who tried what on whose object, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The service logged in (as its runtime role).
    pub service: String,
    /// Whose object: another service's name, or `shared` (a schema nobody owns, the
    /// large objects).
    pub target: String,
    /// The wall: select, insert, update, delete, truncate, alter, drop, create, view,
    /// sequence, function, set role, pg_stats, pg_stat_statements, large objects.
    pub wall: &'static str,
    pub object: String,
    pub status: Status,
    /// The statement that got through (open), or the server's answer.
    pub detail: String,
}

/// Every probe of one verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub version: u32,
    pub probes: Vec<Probe>,
}

impl Report {
    /// The probes that got through or could not be told.
    pub fn holes(&self) -> impl Iterator<Item = &Probe> {
        self.probes
            .iter()
            .filter(|p| matches!(p.status, Status::Open | Status::Unclear))
    }

    /// 0 when every wall held, 2 when one did not.
    pub fn exit_code(&self) -> u8 {
        if self.holes().next().is_some() { 2 } else { 0 }
    }

    fn count(&self, status: Status) -> usize {
        self.probes.iter().filter(|p| p.status == status).count()
    }

    /// One line per probe, grouped by who probed whom, and a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut group = (String::new(), String::new());
        for probe in &self.probes {
            if (&group.0, &group.1) != (&probe.service, &probe.target) {
                group = (probe.service.clone(), probe.target.clone());
                out.push_str(&format!("\n{} → {}\n", probe.service, probe.target));
            }
            let mark = match probe.status {
                Status::Held => "✔ held   ",
                Status::Open => "✘ OPEN   ",
                Status::Unclear => "? UNCLEAR",
                Status::Skipped => "- skipped",
            };
            out.push_str(&format!("  {mark} {:<18} {}", probe.wall, probe.object));
            if probe.status != Status::Held {
                out.push_str(&format!(": {}", probe.detail));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "\n{} held, {} open, {} unclear, {} skipped.\n",
            self.count(Status::Held),
            self.count(Status::Open),
            self.count(Status::Unclear),
            self.count(Status::Skipped)
        ));
        out
    }
}
