//! Every message between the five stages, in one place, so the dataflow reads top to bottom:
//!
//! ```text
//! generator ──TokenStep──▶ truncator ──PrefixesReady──▶ clusterer ──JudgePairs──▶ judge-batcher
//!     ▲                        │                            │  ◀──── scores ─────────────┘
//!     └──── StepDecisions ─────┴──────── (reply) ───────────┤
//! generator ──OpenProblem──▶ clusterer, voter               └──ClustersFinal──▶ voter ──▶ Survivors
//! clusterer ──JudgeCallers──▶ judge-batcher (which problems may still send pairs)
//! generator ──TraceEnded──▶ voter ──ProblemResult──▶ run driver
//! ```
//!
//! The generator waits for each step's reply before the next virtual step of that problem, so
//! prune decisions land at a deterministic virtual time whatever the real-time scheduling.
//!
//! Every data-path message is `Clone` and answers with a `Result`, so a sender can deliver it
//! again after a stage failed or restarted (see [`super::faults`]); handlers are idempotent.

use std::sync::Arc;

use actix::Message;

use crate::cluster::{Assignment, Cluster};
use crate::judge::PairInput;
use crate::trace::TracePrefix;

use super::PipelineError;

/// New tokens of one trace in one virtual step.
#[derive(Debug, Clone)]
pub struct TokenChunk {
    /// Sample index.
    pub sample: u32,
    /// The new text bytes (a token may end inside a UTF-8 character).
    pub bytes: Vec<u8>,
    /// Byte length of each new token.
    pub token_lens: Vec<u16>,
    /// True when the trace ended with this chunk.
    pub ended: bool,
    /// True when it ended without an answer that counts: DeepConf stopped it, or live generation
    /// failed. A trace that ends so before its prefix is complete is withdrawn from clustering.
    pub abstains: bool,
}

/// Generator → truncator: one virtual step of one problem.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StepDecisions, PipelineError>")]
pub struct TokenStep {
    /// Problem id.
    pub pid: Arc<str>,
    /// Virtual step number.
    pub step: u64,
    /// One chunk per trace that emitted tokens this step.
    pub chunks: Vec<TokenChunk>,
}

/// Truncator → clusterer: prefixes completed this step, in sample order.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StepDecisions, PipelineError>")]
pub struct PrefixesReady {
    /// Problem id.
    pub pid: Arc<str>,
    /// Virtual step number.
    pub step: u64,
    /// The prefixes.
    pub prefixes: Vec<Arc<TracePrefix>>,
    /// Traces that abstain and ended before their prefix was complete, in sample order: they
    /// are never clustered, so they can neither found a cluster nor stand for one in the vote.
    pub withdrawn: Vec<u32>,
    /// Staged judging (`truncator.later`): prefixes completed this step at later checkpoints, as
    /// `(checkpoint, prefix)` with checkpoint ≥ 1, in checkpoint then sample order. A trace that
    /// ended before a checkpoint has its whole text as that checkpoint's prefix.
    pub later: Vec<(usize, Arc<TracePrefix>)>,
    /// Staged judging: traces that abstain and ended after their first prefix but before their
    /// last checkpoint, in sample order. One still waiting for a decision is withdrawn; a decided
    /// one stays in its cluster.
    pub abstained: Vec<u32>,
}

/// The reply to a step: where each new prefix went and, once every trace is clustered, which
/// traces the voter wants completed.
#[derive(Debug, Clone, Default)]
pub struct StepDecisions {
    /// `(sample, assignment)` for each prefix completed this step.
    pub assignments: Vec<(u32, Assignment)>,
    /// Set once all traces are clustered: the traces to run to completion; all others stop.
    pub survivors: Option<Vec<u32>>,
}

/// One pair's score, or why it has none.
pub type PairReply = Result<f32, PipelineError>;

/// Clusterer → judge-batcher: comparisons for one new prefix. The reply is one receiver per
/// pair, awaited by the caller: a caller that goes away drops them, and the batcher then drops
/// its pairs instead of judging them.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<tokio::sync::oneshot::Receiver<PairReply>>, PipelineError>")]
pub struct JudgePairs {
    /// The pairs, new prefix first.
    pub pairs: Vec<PairInput>,
}

/// Clusterer → judge-batcher: which problems may still send pairs. A problem's prefixes are
/// judged one at a time, so each open problem is one caller; once every open problem has pairs
/// waiting for their scores, no more can come and the batcher flushes a partial batch at once
/// instead of waiting out `judge.max_wait_ms`. Only batch timing depends on it, never a score.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum JudgeCallers {
    /// The problem's prefixes are being clustered: it may send pairs.
    Open(Arc<str>),
    /// Every trace of the problem is clustered: it sends no more pairs.
    Close(Arc<str>),
}

/// Generator → truncator, clusterer and voter: a problem starts.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct OpenProblem {
    /// Problem id.
    pub pid: Arc<str>,
    /// Its number of traces.
    pub n_traces: usize,
    /// Its reference answer, for grading.
    pub gold: Option<String>,
}

/// Generator → truncator: every trace of a problem has ended.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct CloseProblem {
    /// Problem id.
    pub pid: Arc<str>,
}

/// Clusterer → voter: the final clusters of a problem; the reply names the survivors.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<u32>, PipelineError>")]
pub struct ClustersFinal {
    /// Problem id.
    pub pid: Arc<str>,
    /// The clusters, in founding order.
    pub clusters: Vec<Cluster>,
    /// Pair comparisons judged for this problem.
    pub judge_pairs: u64,
    /// Staged judging's decisions for this problem (`truncator.later` set).
    pub staged: Option<crate::report::StagedCounts>,
}

/// Why a trace stopped generating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceEnd {
    /// It finished on its own (or at the generator's limit).
    Finished,
    /// The judge pruned it, or the finishing policy did not complete it.
    Stopped,
    /// DeepConf stopped it: its confidence fell below the threshold. It abstains from the vote.
    LowConfidence,
    /// Live generation failed for it (see the report's `live` section). It abstains.
    Failed,
}

/// Generator → voter: a trace will emit no more tokens.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), PipelineError>")]
pub struct TraceEnded {
    /// Problem id.
    pub pid: Arc<str>,
    /// Sample index.
    pub sample: u32,
    /// Tokens it emitted in total.
    pub tokens: u64,
    /// The text it generated.
    pub text: Arc<str>,
    /// How it ended.
    pub end: TraceEnd,
    /// Its lowest group confidence over what it generated, when confidences are known.
    pub confidence: Option<f32>,
    /// Why the generator ended it (`stop` or `length`), when known: a trace cut at the token
    /// limit gets only a boxed answer.
    pub finish: Option<crate::trace::Finish>,
}
