//! Run results as plain data: per-problem records, the baselines computed on the same traces,
//! `report.json` and the printed table. The stages hand over their statistics as the plain
//! structs of [`batcher`] and [`live`]; nothing here imports an actor or the sweep.
//!
//! - [`batcher`]: the judge-batcher's counters.
//! - [`live`]: what a live run did on the servers, trace by trace.
//! - [`output`]: the output folder: its lock, `problems.jsonl` appended as problems finish,
//!   atomic writes.
//! - [`stamp`]: how a run ended, its id and start time.

pub mod batcher;
pub mod live;
pub mod output;
pub mod stamp;

use serde::Serialize;

pub use batcher::BatcherStats;
pub use live::{LiveReport, Outcome, TraceRecord};
pub use output::{write, OutputDir, OutputError, ProblemSink};
pub use stamp::RunStatus;

use crate::answer::{self, Answer};
use crate::metrics;
use crate::trace::Trace;
use crate::vote;

/// What the run did on one problem.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemResult {
    /// Problem id.
    pub pid: String,
    /// Traces sampled for it.
    pub n_traces: usize,
    /// The voted answer (the winning trace's extracted answer).
    pub answer: Option<String>,
    /// Whether it is equivalent to the gold answer; `None` when ungraded.
    pub correct: Option<bool>,
    /// Tokens generated, every trace counted up to where it actually stopped.
    pub tokens: u64,
    /// Final clusters (sample indices, founder first).
    pub clusters: Vec<Vec<u32>>,
    /// Traces pruned by a forced join that adds no weight (`clusterer.forced_join: abstain`):
    /// in no cluster's members.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forced_joins: Vec<u32>,
    /// Traces run to completion and voted.
    pub survivors: Vec<u32>,
    /// Traces stopped before they finished.
    pub pruned: Vec<u32>,
    /// Pair comparisons judged.
    pub judge_pairs: u64,
    /// The same problem under plain majority voting over all traces.
    #[serde(flatten)]
    pub baseline: Option<Baseline>,
    /// Staged judging's decisions (`truncator.later` set; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged: Option<StagedCounts>,
}

/// Staged judging's decisions (`truncator.later`), for one problem or summed over a run.
///
/// Every clustered trace is decided at exactly one checkpoint; a trace that waited is decided
/// at a later one or withdrawn: `sum(decided[1..]) + withdrawn = waited`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StagedCounts {
    /// The checkpoints: `truncator.count`, then each of `truncator.later`.
    pub checkpoints: Vec<usize>,
    /// Traces whose decision at the first checkpoint fell in the band, so they waited.
    pub waited: u64,
    /// Traces decided at each checkpoint.
    pub decided: Vec<u64>,
    /// Of those, the traces pruned (joined to a cluster) at each checkpoint.
    pub pruned: Vec<u64>,
    /// Waiting traces withdrawn: they abstained (DeepConf stopped them, or they failed) before
    /// their next checkpoint, so they are in no cluster.
    pub withdrawn: u64,
    /// Generator tokens between a waiting trace's first prefix and the prefix it was decided at,
    /// summed: what waiting cost. They are counted in `tokens` like every other token.
    pub wait_tokens: u64,
}

impl StagedCounts {
    /// No decisions yet, at these checkpoints.
    pub fn new(checkpoints: Vec<usize>) -> Self {
        let n = checkpoints.len();
        Self { checkpoints, decided: vec![0; n], pruned: vec![0; n], ..Self::default() }
    }

    /// Adds another problem's counts (at the same checkpoints).
    pub fn add(&mut self, other: &Self) {
        if self.checkpoints.is_empty() {
            *self = Self::new(other.checkpoints.clone());
        }
        for (mine, theirs) in [(&mut self.decided, &other.decided), (&mut self.pruned, &other.pruned)] {
            mine.resize(mine.len().max(theirs.len()), 0);
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        self.waited += other.waited;
        self.withdrawn += other.withdrawn;
        self.wait_tokens += other.wait_tokens;
    }
}

/// Plain self-consistency on the same, complete traces. Its cost needs no gold answer; its
/// correctness does, and is absent for an ungraded problem.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// Tokens of all traces in full (cons@N's cost).
    pub cons_n_tokens: u64,
    /// Share of traces whose own answer is correct; `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_at_1: Option<f64>,
    /// Whether majority vote over all traces is correct; `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cons_n_correct: Option<bool>,
    /// Answer group of each trace (for cons@k); `None` means no answer.
    #[serde(skip)]
    pub groups: Vec<Option<usize>>,
    /// The group equivalent to gold, if any trace found it (never, when ungraded).
    #[serde(skip)]
    pub correct_group: Option<usize>,
}

/// Computes the plain-voting baseline of one problem from its complete traces, graded against
/// `gold` when there is one.
pub fn baseline(traces: &[std::sync::Arc<Trace>], gold: Option<&Answer>) -> Baseline {
    let answers: Vec<Option<Answer>> =
        traces.iter().map(|t| answer::extract_with_finish(&t.text, t.finish).map(|a| Answer::parse(&a))).collect();
    let groups = vote::answer_groups(&answers);
    let cons_n_tokens = traces.iter().map(|t| t.n_tokens().unwrap_or(0) as u64).sum();
    let Some(gold) = gold else {
        return Baseline { cons_n_tokens, pass_at_1: None, cons_n_correct: None, groups, correct_group: None };
    };
    let correct_of: Vec<bool> = answers.iter().map(|a| a.as_ref().is_some_and(|a| a.equivalent(gold))).collect();
    let correct_group = groups.iter().zip(&correct_of).find(|(_, &c)| c).and_then(|(g, _)| *g);
    let ballots: Vec<vote::Ballot> = answers.into_iter().map(|answer| vote::Ballot { answer, weight: 1.0 }).collect();
    let winner = vote::majority(&ballots);
    Baseline {
        cons_n_tokens,
        pass_at_1: Some(correct_of.iter().filter(|&&c| c).count() as f64 / traces.len().max(1) as f64),
        cons_n_correct: Some(winner.is_some_and(|w| correct_of[w])),
        groups,
        correct_group,
    }
}

/// The run's summary; these key names are a stable interface for scripts.
///
/// The accuracy keys (`accuracy`, `pass_at_1`, `cons_n_accuracy`, `matched_cons_k_accuracy`,
/// `gain_over_cons_k`, `gain_over_cons_k_ci`) are absent from an ungraded run's report
/// (`generator.ungraded: true`: no problem was graded), never 0. Its token keys stay: cons@N's
/// tokens are those of the same traces in full, which need no gold answer, so the token
/// reduction still compares the same problems' tokens with each other.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// How the run ended: `complete`, `interrupted` (a signal stopped it; everything below
    /// covers the problems that finished) or `failed`.
    pub status: RunStatus,
    /// Why the run failed (`status: failed` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// A random id that tells this run from others.
    pub run_id: String,
    /// When the run started: RFC 3339, UTC.
    pub started_at: String,
    /// The deepprune version that ran it.
    pub version: String,
    /// Problems replayed.
    pub problems: usize,
    /// Share of graded problems answered correctly; `None` when none was graded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Mean per-trace accuracy on the same traces; `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_at_1: Option<f64>,
    /// Majority vote over all traces (cons@N); `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cons_n_accuracy: Option<f64>,
    /// Tokens generated by the run.
    pub tokens: u64,
    /// Tokens of cons@N: every trace in full.
    pub cons_n_tokens: u64,
    /// `1 - tokens / cons_n_tokens`, both over the problems that have a cons@N baseline (every
    /// replayed or synthetic problem, graded or not; 0 when none has, as in a live run).
    pub token_reduction: f64,
    /// Expected cons@k accuracy at the run's token budget (k = N · tokens / cons_n_tokens per
    /// problem); `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_cons_k_accuracy: Option<f64>,
    /// The gain over sampling fewer traces: accuracy minus cons@k's at the same token budget,
    /// the mean over graded problems of (correct − expected cons@k); `None` when ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain_over_cons_k: Option<f64>,
    /// 95% paired bootstrap interval of `gain_over_cons_k`, resampling problems; `None` when
    /// ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gain_over_cons_k_ci: Option<(f64, f64)>,
    /// Pair comparisons judged.
    pub judge_pairs: u64,
    /// Traces stopped before they finished.
    pub pruned_traces: u64,
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// The judge's name.
    pub judge: String,
    /// True for the oracle judge: its results are an upper bound, not a method.
    pub oracle_upper_bound: bool,
    /// Traces joined to a cluster by the judge (prune decisions).
    pub prune_decisions: u64,
    /// Traces sampled in all.
    pub traces: u64,
    /// Traces whose prefix was the whole trace (they ended before the cut point).
    pub whole_trace_prefixes: u64,
    /// Traces withdrawn from clustering: a stop policy (or a failure) ended them before the cut
    /// point, so they abstain and are never compared.
    pub withdrawn_traces: u64,
    /// Batches sent to the judge.
    pub judge_batches: u64,
    /// Seconds the judge spent scoring.
    pub judge_busy_seconds: f64,
    /// Pairs dropped because their caller had gone.
    pub judge_dropped_pairs: u64,
    /// The judge-batcher's counters: batch sizes, padding, queue waits, deduplicated pairs.
    pub judge_batcher: BatcherStats,
    /// Restarts per stage (non-zero only when a stage failed, e.g. under injected faults).
    pub restarts: std::collections::BTreeMap<String, u64>,
    /// Faults injected per stage, and judge batches failed (`faults` section; tests only).
    pub injected_faults: std::collections::BTreeMap<String, u64>,
    /// The most messages each stage had waiting or in hand at once.
    pub max_mailbox_depth: std::collections::BTreeMap<String, u64>,
    /// Generated tokens per second of wall time (each token is one event through the stages).
    pub token_events_per_sec: f64,
    /// Traces per second of wall time.
    pub traces_per_sec: f64,
    /// Median time the clusterer took to decide a step's prefixes, excluding the judge's time.
    pub decision_latency_p50_ms: f64,
    /// 99th percentile of the same.
    pub decision_latency_p99_ms: f64,
    /// Maximum of the same.
    pub decision_latency_max_ms: f64,
    /// Peak resident set size of the process (Linux), 0 where unknown.
    pub peak_rss_bytes: u64,
    /// What a live run did on the servers (live runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveReport>,
    /// Staged judging's decisions over all problems (`truncator.later` set; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staged: Option<StagedCounts>,
    /// The pipeline as it ran: every key, defaults filled in, paths resolved, the API key
    /// redacted. `null` where the caller gave none.
    pub config: serde_json::Value,
}

impl RunReport {
    /// Summarises per-problem results.
    pub fn from_results(results: &[ProblemResult], judge: &str, wall_seconds: f64) -> Self {
        let graded: Vec<&ProblemResult> = results.iter().filter(|r| r.correct.is_some()).collect();
        // Means over the graded problems; none at all when no problem was graded.
        let mean = |f: &dyn Fn(&ProblemResult) -> f64| {
            (!graded.is_empty()).then(|| graded.iter().map(|r| f(r)).sum::<f64>() / graded.len() as f64)
        };
        let tokens: u64 = results.iter().map(|r| r.tokens).sum();
        // Like with like: the run's tokens only on the problems whose cons@N tokens are known.
        let baselined_tokens: u64 = results.iter().filter(|r| r.baseline.is_some()).map(|r| r.tokens).sum();
        let cons_n_tokens: u64 = results.iter().filter_map(|r| r.baseline.as_ref()).map(|b| b.cons_n_tokens).sum();
        let fraction = if cons_n_tokens > 0 { baselined_tokens as f64 / cons_n_tokens as f64 } else { 1.0 };
        let cons_k = |r: &ProblemResult| {
            r.baseline.as_ref().map_or(0.0, |b| {
                let k = fraction * r.n_traces as f64;
                metrics::cons_at_fractional_k(&b.groups, b.correct_group, k, 400, 17)
            })
        };
        let matched = mean(&cons_k);
        // Paired by problem: each problem's own outcome against its own cons@k.
        let gains: Vec<f64> = graded.iter().map(|r| r.correct.unwrap_or(false) as u8 as f64 - cons_k(r)).collect();
        let gain = (!gains.is_empty()).then(|| gains.iter().sum::<f64>() / gains.len() as f64);
        RunReport {
            status: RunStatus::Complete,
            failure: None,
            run_id: String::new(),
            started_at: String::new(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            problems: results.len(),
            accuracy: mean(&|r| r.correct.unwrap_or(false) as u8 as f64),
            pass_at_1: mean(&|r| r.baseline.as_ref().and_then(|b| b.pass_at_1).unwrap_or(0.0)),
            cons_n_accuracy: mean(&|r| r.baseline.as_ref().and_then(|b| b.cons_n_correct).map_or(0.0, |c| c as u8 as f64)),
            tokens,
            cons_n_tokens,
            token_reduction: if cons_n_tokens > 0 { 1.0 - fraction } else { 0.0 },
            matched_cons_k_accuracy: matched,
            gain_over_cons_k: gain,
            gain_over_cons_k_ci: gain.map(|_| metrics::bootstrap_mean_ci(&gains, 2000, 7)),
            judge_pairs: results.iter().map(|r| r.judge_pairs).sum(),
            pruned_traces: results.iter().map(|r| r.pruned.len() as u64).sum(),
            wall_seconds,
            judge: judge.to_string(),
            oracle_upper_bound: judge == "oracle",
            prune_decisions: results
                .iter()
                .map(|r| r.clusters.iter().map(|c| c.len() as u64 - 1).sum::<u64>() + r.forced_joins.len() as u64)
                .sum(),
            traces: results.iter().map(|r| r.n_traces as u64).sum(),
            whole_trace_prefixes: 0,
            withdrawn_traces: 0,
            judge_batches: 0,
            judge_busy_seconds: 0.0,
            judge_dropped_pairs: 0,
            judge_batcher: Default::default(),
            restarts: Default::default(),
            injected_faults: Default::default(),
            max_mailbox_depth: Default::default(),
            token_events_per_sec: 0.0,
            traces_per_sec: 0.0,
            decision_latency_p50_ms: 0.0,
            decision_latency_p99_ms: 0.0,
            decision_latency_max_ms: 0.0,
            peak_rss_bytes: 0,
            live: None,
            staged: results.iter().filter_map(|r| r.staged.as_ref()).fold(None, |sum: Option<StagedCounts>, s| {
                let mut sum = sum.unwrap_or_default();
                sum.add(s);
                Some(sum)
            }),
            config: serde_json::Value::Null,
        }
    }

    /// The human-readable table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let judge = if self.oracle_upper_bound { format!("{} (UPPER BOUND: reads reference labels)", self.judge) } else { self.judge.clone() };
        // A live run has no complete traces to compute cons@N on: it is another run (judge none).
        let na = "n/a (no complete traces to vote on: run with judge.kind=none)".to_string();
        let baseline = |v: String| if self.cons_n_tokens > 0 { v } else { na.clone() };
        // An ungraded run has tokens and clusters to show, and no accuracy at all.
        let graded = |v: Option<String>| v.unwrap_or_else(|| "ungraded (generator.ungraded: true)".to_string());
        let share = |v: Option<f64>| graded(v.map(|v| format!("{v:.3}")));
        let gain = self.gain_over_cons_k.zip(self.gain_over_cons_k_ci).map(|(g, (lo, hi))| format!("{g:+.3} [{lo:+.3}, {hi:+.3}]"));
        let mut rows: Vec<(&str, String)> = Vec::new();
        match (self.status, &self.failure) {
            (RunStatus::Complete, _) => {}
            (RunStatus::Interrupted, _) => rows.push(("status", "interrupted: the problems that finished".into())),
            (RunStatus::Failed, why) => rows.push(("status", format!("failed: {}", why.as_deref().unwrap_or("unknown")))),
        }
        rows.extend([
            ("judge", judge),
            ("problems / traces", format!("{} / {}", self.problems, self.traces)),
            ("accuracy (this run)", share(self.accuracy)),
            ("cons@N accuracy", baseline(share(self.cons_n_accuracy))),
            ("cons@k accuracy at this budget", baseline(share(self.matched_cons_k_accuracy))),
            ("gain over cons@k [95% CI]", baseline(graded(gain))),
            ("pass@1", baseline(share(self.pass_at_1))),
            ("tokens (this run)", self.tokens.to_string()),
            ("tokens (cons@N)", baseline(self.cons_n_tokens.to_string())),
            ("token reduction", baseline(format!("{:.3}", self.token_reduction))),
            ("pruned traces", self.pruned_traces.to_string()),
            ("judge pairs / batches", format!("{} / {}", self.judge_pairs, self.judge_batches)),
            ("judge busy (s)", format!("{:.3}", self.judge_busy_seconds)),
            (
                "judge batch mean / max",
                format!("{:.1} / {}", self.judge_batcher.mean_batch(), self.judge_batcher.max_batch),
            ),
            (
                "judge queue wait mean / max (ms)",
                format!(
                    "{:.2} / {:.2}",
                    self.judge_batcher.mean_queue_wait_ms(),
                    1e3 * self.judge_batcher.max_queue_wait_seconds
                ),
            ),
            ("judge padding waste (est.)", format!("{:.3}", self.judge_batcher.padding_waste())),
            (
                "judge passes / padding rows / padding tokens",
                match &self.judge_batcher.shapes {
                    Some(s) => format!("{} / {:.3} / {:.3}", s.passes, s.row_waste(), s.token_waste()),
                    None => "-".into(),
                },
            ),
            ("wall time (s)", format!("{:.2}", self.wall_seconds)),
            ("token events / s", format!("{:.0}", self.token_events_per_sec)),
            ("traces / s", format!("{:.0}", self.traces_per_sec)),
            (
                "decision latency p50 / p99 / max (ms)",
                format!(
                    "{:.3} / {:.3} / {:.3}",
                    self.decision_latency_p50_ms, self.decision_latency_p99_ms, self.decision_latency_max_ms
                ),
            ),
            ("peak RSS (MiB)", format!("{:.1}", self.peak_rss_bytes as f64 / (1 << 20) as f64)),
            (
                "max mailbox depth",
                self.max_mailbox_depth.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            ),
        ]);
        if let Some(l) = &self.live {
            let opt = |v: Option<f64>| v.map_or_else(|| "n/a (no /metrics)".to_string(), |v| format!("{v:.0}"));
            rows.extend([
                ("live traces finished / cut / pruned / failed", format!("{} / {} / {} / {}", l.finished, l.cut, l.pruned, l.failed)),
                ("live requests / retries / continuations", format!("{} / {} / {}", l.requests, l.retries, l.continuations)),
                ("live cancels", l.cancels.to_string()),
                ("live tokens billed / streamed", format!("{} / {}", l.billed_tokens, l.streamed_tokens)),
                ("server tokens (/metrics)", opt(l.server_generated_tokens)),
                ("server tokens after cancel", opt(l.tokens_after_cancel)),
            ]);
        }
        if let Some(st) = &self.staged {
            let per = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" / ");
            let at = st.checkpoints.iter().map(usize::to_string).collect::<Vec<_>>().join(" / ");
            rows.extend([
                ("staged: traces waited / withdrawn", format!("{} / {}", st.waited, st.withdrawn)),
                ("staged: tokens spent waiting", st.wait_tokens.to_string()),
            ]);
            rows.push(("staged: decided at checkpoints", format!("{at}: {}", per(&st.decided))));
            rows.push(("staged: pruned at checkpoints", format!("{at}: {}", per(&st.pruned))));
        }
        let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        for (k, v) in rows {
            s.push_str(&format!("{k:<width$}  {v}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A problem of 2 traces whose run spent `tokens` of cons@N's `cons_n_tokens`.
    fn result(pid: &str, correct: Option<bool>, tokens: u64, cons_n_tokens: Option<u64>) -> ProblemResult {
        let baseline = cons_n_tokens.map(|cons_n_tokens| Baseline {
            cons_n_tokens,
            pass_at_1: correct.map(|_| 0.5),
            cons_n_correct: correct,
            groups: vec![Some(0), Some(1)],
            correct_group: correct.map(|_| 0),
        });
        ProblemResult {
            pid: pid.into(),
            n_traces: 2,
            answer: None,
            correct,
            tokens,
            clusters: vec![vec![0], vec![1]],
            forced_joins: Vec::new(),
            survivors: vec![0, 1],
            pruned: Vec::new(),
            judge_pairs: 1,
            baseline,
            staged: None,
        }
    }

    #[test]
    fn an_ungraded_report_has_tokens_and_no_accuracy() {
        let graded = RunReport::from_results(&[result("a", Some(true), 30, Some(100)), result("b", Some(false), 50, Some(100))], "x", 0.0);
        assert_eq!((graded.accuracy, graded.pass_at_1, graded.cons_n_accuracy), (Some(0.5), Some(0.5), Some(0.5)));
        assert!(graded.matched_cons_k_accuracy.is_some() && graded.gain_over_cons_k.is_some() && graded.gain_over_cons_k_ci.is_some());
        assert!((graded.token_reduction - 0.6).abs() < 1e-12, "{}", graded.token_reduction);

        let ungraded = RunReport::from_results(&[result("a", None, 30, Some(100)), result("b", None, 50, Some(100))], "x", 0.0);
        let none = [ungraded.accuracy, ungraded.pass_at_1, ungraded.cons_n_accuracy, ungraded.matched_cons_k_accuracy, ungraded.gain_over_cons_k];
        assert_eq!((none, ungraded.gain_over_cons_k_ci), ([None; 5], None));
        assert_eq!((ungraded.tokens, ungraded.cons_n_tokens, ungraded.token_reduction), (80, 200, graded.token_reduction));
        let json = serde_json::to_value(&ungraded).unwrap();
        assert!(json.get("accuracy").is_none() && json.get("gain_over_cons_k_ci").is_none(), "{json}");
        assert_eq!(json["token_reduction"], graded.token_reduction);
        assert!(ungraded.table().lines().any(|l| l.starts_with("accuracy (this run)") && l.ends_with("ungraded (generator.ungraded: true)")));
        assert!(graded.table().lines().any(|l| l.starts_with("accuracy (this run)") && l.ends_with("  0.500")));
    }

    #[test]
    fn token_reduction_compares_only_problems_with_a_baseline() {
        // The second problem has no cons@N tokens: its own tokens must not count against the
        // first's baseline (they once did, dividing 10 problems' tokens by 9 problems' cons@N).
        let report = RunReport::from_results(&[result("a", Some(true), 40, Some(100)), result("b", Some(true), 1000, None)], "x", 0.0);
        assert_eq!((report.tokens, report.cons_n_tokens), (1040, 100));
        assert!((report.token_reduction - 0.6).abs() < 1e-12, "{}", report.token_reduction);
    }

    #[test]
    fn the_baseline_of_an_ungraded_problem_has_its_cost_and_no_correctness() {
        let trace = |sample: u32, text: &str| {
            std::sync::Arc::new(Trace {
                pid: "p".into(),
                sample,
                text: text.into(),
                tok_bytes: Some(vec![1; text.len()]),
                conf: None,
                finish: None,
                answer: None,
                answer_class: None,
                correct: None,
            })
        };
        let traces = [trace(0, "\\boxed{4}"), trace(1, "\\boxed{4}"), trace(2, "\\boxed{5}")];
        let graded = baseline(&traces, Some(&Answer::parse("5")));
        assert_eq!((graded.cons_n_tokens, graded.pass_at_1, graded.cons_n_correct), (27, Some(1.0 / 3.0), Some(false)));
        assert!(graded.correct_group.is_some());
        let ungraded = baseline(&traces, None);
        assert_eq!((ungraded.cons_n_tokens, ungraded.pass_at_1, ungraded.cons_n_correct), (27, None, None));
        assert_eq!((ungraded.groups, ungraded.correct_group), (graded.groups, None));
    }
}
