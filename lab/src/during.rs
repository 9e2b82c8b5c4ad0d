//! The during-release phase of the matrix: a steady load of consumer requests runs against
//! a pair while its owner ships a release, and each answer is held against the answer the
//! same request got before the release. It owns the load and the tally; how a release is
//! applied, and how an owner reads it, belong to `pairs` and to the owners.
//!
//! The load's pace is wall-clock time (it is traffic, not an assertion): about 50 requests
//! a second, as in the run that found a release's blip turning into seconds of degraded
//! answers (issue 12), from a moment before the release until a while after it.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::flows::{Answer, Flow, Observed, Probe};

/// How the load runs around a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// One request starts every `every`, whatever the previous ones are doing, so that a
    /// slow answer does not slow the load down (an open-loop load, as real clients are).
    pub every: Duration,
    /// Load before the release starts.
    pub lead: Duration,
    /// Load after the release is committed: long enough for a consumer's breaker to open
    /// and close again after a blip (its longest open period is a second).
    pub tail: Duration,
}

impl Load {
    /// The matrix's load: 50 requests a second, from 0.3 s before the release until
    /// 1.5 s after it.
    pub const MATRIX: Load = Load {
        every: Duration::from_millis(20),
        lead: Duration::from_millis(300),
        tail: Duration::from_millis(1_500),
    };
}

/// What the consumer's requests got while a release shipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub requests: u64,
    /// A server error, or no answer at all (a refused connection, a reset).
    pub failed: u64,
    /// A success that said it is partial (`Warning`, `degraded`).
    pub degraded: u64,
    /// Any other answer that differs from the one before the release.
    pub wrong: u64,
    /// The first bad answer of each kind, for the report: `flow: what it was`.
    pub examples: Vec<String>,
}

/// What one answer was, against the one the same request got before the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Same,
    Failed,
    Degraded,
    Wrong,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::Failed => "failed",
            Self::Degraded => "degraded",
            Self::Wrong => "wrong",
        }
    }
}

/// Sorts one answer: no answer or a 5xx is failed, a partial one degraded, any other
/// difference from `before`, in the whole response, wrong.
pub fn verdict(before: &Answer, during: Option<&Answer>) -> Verdict {
    match during {
        None => Verdict::Failed,
        Some(answer) if answer.status() >= 500 => Verdict::Failed,
        Some(answer) if answer.degraded => Verdict::Degraded,
        Some(answer) if answer.value != before.value || answer.whole != before.whole => {
            Verdict::Wrong
        }
        Some(_) => Verdict::Same,
    }
}

impl Tally {
    /// Counts one answer of `flow`.
    pub fn count(&mut self, flow: Flow, before: &Answer, during: Result<Answer, String>) {
        self.requests += 1;
        let verdict = verdict(before, during.as_ref().ok());
        let counter = match verdict {
            Verdict::Same => return,
            Verdict::Failed => &mut self.failed,
            Verdict::Degraded => &mut self.degraded,
            Verdict::Wrong => &mut self.wrong,
        };
        *counter += 1;
        if *counter == 1 {
            let what = match &during {
                // Same business fields: what differs is elsewhere in the whole response.
                Ok(answer) if answer.value == before.value => answer.whole.to_string(),
                Ok(answer) => answer.value.to_string(),
                Err(error) => error.clone(),
            };
            self.examples
                .push(format!("{} {}: {what}", verdict.as_str(), flow.short()));
        }
    }

    /// Whether every request got the same answer as before the release.
    pub fn clean(&self) -> bool {
        self.failed == 0 && self.degraded == 0 && self.wrong == 0
    }

    /// "3 failed, 0 degraded, 41 wrong of 90".
    pub fn line(&self) -> String {
        format!(
            "{} failed, {} degraded, {} wrong of {}",
            self.failed, self.degraded, self.wrong, self.requests
        )
    }

    /// "3·0·41/90", for a table cell.
    pub fn short(&self) -> String {
        format!(
            "{}·{}·{}/{}",
            self.failed, self.degraded, self.wrong, self.requests
        )
    }
}

/// Runs `release` while `probe` sends the [`Flow::REPEATABLE`] requests in turn at the pace
/// of `load`, each held against its answer in `before`; returns the release's result and
/// the tally. The load stops `load.tail` after the release returns, and every request it
/// started is awaited.
pub async fn under_load<T, F>(
    probe: &Probe,
    before: &Observed,
    load: Load,
    release: F,
) -> anyhow::Result<(T, Tally)>
where
    F: Future<Output = anyhow::Result<T>>,
{
    let stop = CancellationToken::new();
    let requests = tokio::spawn(send_until(probe.clone(), load.every, stop.clone()));
    tokio::time::sleep(load.lead).await;
    let shipped = release.await;
    if shipped.is_ok() {
        tokio::time::sleep(load.tail).await;
    }
    stop.cancel();
    let answers = requests.await?;
    let shipped = shipped?;
    let mut tally = Tally::default();
    for (flow, answer) in answers {
        let baseline = before
            .get(&flow)
            .ok_or_else(|| anyhow::anyhow!("no answer of {} before the release", flow.id()))?;
        tally.count(flow, baseline, answer);
    }
    Ok((shipped, tally))
}

/// Starts one request every `every` until `stop`, cycling through the repeatable flows;
/// returns every answer once all have come back.
async fn send_until(
    probe: Probe,
    every: Duration,
    stop: CancellationToken,
) -> Vec<(Flow, Result<Answer, String>)> {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    let mut answers = Vec::new();
    for flow in Flow::REPEATABLE.into_iter().cycle() {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let probe = probe.clone();
        in_flight.spawn(async move {
            let answer = probe.once(flow).await.map_err(|e| format!("{e:#}"));
            (flow, answer)
        });
        // Collect what has finished, so a long run does not hold every task.
        while let Some(done) = in_flight.try_join_next() {
            answers.extend(done.ok());
        }
    }
    while let Some(done) = in_flight.join_next().await {
        answers.extend(done.ok());
    }
    answers
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(value: serde_json::Value, degraded: bool) -> Answer {
        Answer {
            value,
            logged: Vec::new(),
            degraded,
            whole: serde_json::Value::Null,
            versions: serde_json::Value::Null,
        }
    }

    fn ok() -> Answer {
        answer(json!({ "status": 200, "body": { "name": "Ada" } }), false)
    }

    #[test]
    fn the_same_answer_is_same_and_each_departure_has_its_kind() {
        let before = ok();
        let server_error = answer(json!({ "status": 503, "type": "/problems/x" }), false);
        let partial = answer(json!({ "status": 200, "body": { "name": null } }), true);
        let other = answer(json!({ "status": 200, "body": { "name": "Bob" } }), false);
        let refused = answer(json!({ "status": 422, "type": "/problems/y" }), false);

        assert_eq!(verdict(&before, Some(&ok())), Verdict::Same);
        assert_eq!(verdict(&before, None), Verdict::Failed);
        assert_eq!(verdict(&before, Some(&server_error)), Verdict::Failed);
        assert_eq!(verdict(&before, Some(&partial)), Verdict::Degraded);
        assert_eq!(verdict(&before, Some(&other)), Verdict::Wrong);
        assert_eq!(verdict(&before, Some(&refused)), Verdict::Wrong);
    }

    #[test]
    fn a_tally_counts_each_kind_and_keeps_one_example_of_each() {
        let before = ok();
        let mut tally = Tally::default();

        tally.count(Flow::OrderView, &before, Ok(ok()));
        tally.count(Flow::OrderView, &before, Err("connection refused".into()));
        tally.count(Flow::NewOrder, &before, Err("reset".into()));
        let other = answer(json!({ "status": 200, "body": { "name": "Bob" } }), false);
        tally.count(Flow::Profile, &before, Ok(other));

        assert_eq!(tally.line(), "2 failed, 0 degraded, 1 wrong of 4");
        assert_eq!(tally.short(), "2·0·1/4");
        assert!(!tally.clean());
        assert_eq!(
            tally.examples,
            [
                "failed order view: connection refused",
                "wrong profile: {\"status\":200,\"body\":{\"name\":\"Bob\"}}"
            ]
        );
    }
}
