//! What a live run did on the servers: every trace's account and the totals, the `live`
//! section of `report.json`.

use serde::Serialize;

/// How a live trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It ran to its end (the model stopped, or `max_tokens`).
    Finished,
    /// Its server streamed more than `max_tokens_margin` tokens past `max_tokens` (it ignored
    /// the limit), so deepprune dropped the request. It is read as cut off at the token limit:
    /// only a boxed answer counts.
    Cut,
    /// It was stopped: pruned by the judge, or not picked by the voter to complete.
    Pruned,
    /// Its requests failed (retries used up, a broken stream with `on_broken_stream: fail`, or a
    /// client error from the server).
    Failed,
}

/// One trace's account.
#[derive(Debug, Clone, Serialize)]
pub struct TraceRecord {
    /// Problem id.
    pub pid: String,
    /// Sample index.
    pub sample: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: String,
    /// Tokens billed: each request's `usage` where reported, else the tokens streamed.
    pub tokens: u64,
    /// Tokens received over the stream.
    pub streamed_tokens: u64,
    /// HTTP requests sent for it.
    pub requests: u32,
    /// Of which retries.
    pub retries: u32,
    /// Of which continuations (resumes after a broken stream or a pause).
    pub continuations: u32,
    /// Why the last retry was needed, if there was one.
    pub last_retry: Option<String>,
}

/// What a live run did on the servers: the `live` section of `report.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveReport {
    /// Traces in all.
    pub traces: u64,
    /// Traces that ran to their end.
    pub finished: u64,
    /// Traces cut because their server ran past `max_tokens` by more than the margin.
    pub cut: u64,
    /// Traces stopped by pruning.
    pub pruned: u64,
    /// Traces that failed.
    pub failed: u64,
    /// HTTP requests sent.
    pub requests: u64,
    /// Retries (connect errors, 5xx, 429, timeouts, broken streams).
    pub retries: u64,
    /// Continuations sent (prefix resent after a broken stream or a pause).
    pub continuations: u64,
    /// Requests cancelled by a prune decision.
    pub cancels: u64,
    /// Tokens billed, summed over traces.
    pub billed_tokens: u64,
    /// Tokens received over the streams.
    pub streamed_tokens: u64,
    /// Tokens the servers generated during the run, from their `/metrics` counters, when they
    /// serve them (counters reset if a server restarts; other clients' tokens count too).
    pub server_generated_tokens: Option<f64>,
    /// `server_generated_tokens - billed_tokens`: what cancelled requests still generated after
    /// deepprune stopped reading them (a cancelled request is billed what it streamed). `None`
    /// when the counters are unknown or went backwards (a server restarted).
    pub tokens_after_cancel: Option<f64>,
    /// Every trace, by problem and sample.
    pub trace_records: Vec<TraceRecord>,
}

impl LiveReport {
    /// Why the run produced nothing, when every trace failed: each reason with the number of
    /// traces that gave it, the most common first (three at most). `None` when any trace
    /// finished or was pruned, or there were none.
    pub fn every_trace_failed(&self) -> Option<String> {
        if self.trace_records.is_empty() || self.trace_records.iter().any(|r| r.outcome != Outcome::Failed) {
            return None;
        }
        let mut reasons: Vec<(usize, &str)> = Vec::new();
        for r in &self.trace_records {
            match reasons.iter_mut().find(|(_, reason)| *reason == r.reason) {
                Some((n, _)) => *n += 1,
                None => reasons.push((1, &r.reason)),
            }
        }
        // Most common first; ties keep the order the traces came in.
        reasons.sort_by_key(|&(n, _)| std::cmp::Reverse(n));
        let mut shown: Vec<String> = reasons.iter().take(3).map(|(n, reason)| format!("{n} × {reason}")).collect();
        if reasons.len() > 3 {
            shown.push(format!("and {} other reasons", reasons.len() - 3));
        }
        Some(format!("every request failed ({} traces): {}", self.trace_records.len(), shown.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, reason: &str) -> TraceRecord {
        TraceRecord {
            pid: "p".into(),
            sample: 0,
            outcome,
            reason: reason.into(),
            tokens: 0,
            streamed_tokens: 0,
            requests: 1,
            retries: 0,
            continuations: 0,
            last_retry: None,
        }
    }

    #[test]
    fn a_run_fails_only_when_every_trace_failed_and_says_why() {
        let report = |records: Vec<TraceRecord>| LiveReport { trace_records: records, ..LiveReport::default() };
        let (e401, refused) = ("http://h/v1/completions: HTTP 401 Unauthorized", "gave up after 8 retries: connection refused");
        let cases: Vec<(Vec<TraceRecord>, Option<&str>)> = vec![
            (vec![], None),
            (vec![record(Outcome::Failed, e401), record(Outcome::Finished, "finish_reason stop")], None),
            (vec![record(Outcome::Failed, e401), record(Outcome::Pruned, "pruned")], None),
            (
                vec![record(Outcome::Failed, refused), record(Outcome::Failed, e401), record(Outcome::Failed, e401)],
                Some("every request failed (3 traces): 2 × http://h/v1/completions: HTTP 401 Unauthorized; 1 × gave up after 8 retries: connection refused"),
            ),
            (
                ["a", "b", "c", "d", "e"].iter().map(|r| record(Outcome::Failed, r)).collect(),
                Some("every request failed (5 traces): 1 × a; 1 × b; 1 × c; and 2 other reasons"),
            ),
        ];
        for (records, want) in cases {
            assert_eq!(report(records).every_trace_failed().as_deref(), want);
        }
    }
}
