//! The log as a process installs it: lines reach the writer through its own thread, and the
//! filter can be changed while the process runs (what `kit bench` times). Its own test
//! binary, since the subscriber is global.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_filter_changes_while_the_process_runs_and_every_kept_line_is_written() {
    let lines = Lines::default();
    let logging = chassis::telemetry::init_to(lines.clone(), "warn");
    tracing::warn!("first, at warn");
    tracing::info!("second, at info, filtered out");
    chassis::telemetry::set_filter("info").unwrap();
    tracing::info!("third, at info, kept");
    assert!(chassis::telemetry::set_filter("not a [filter").is_err());
    // Dropping the guard writes out what the writer thread still holds.
    drop(logging);

    let written = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let kept: Vec<&str> = written.lines().collect();
    assert_eq!(kept.len(), 2, "{written}");
    assert!(kept[0].ends_with("first, at warn"), "{written}");
    assert!(kept[1].ends_with("third, at info, kept"), "{written}");
    assert!(
        !written.contains('\u{1b}'),
        "no colours in a file: {written}"
    );
}
