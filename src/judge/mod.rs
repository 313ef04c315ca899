//! Pair judges: given two trace prefixes, a score in [0, 1] that their final answers are equal.
//!
//! - [`oracle`]: reads the reference answer classes; the upper bound, never a real judge.
//! - [`lexical`]: overlap of the numbers and word bigrams in the two prefixes.
//! - [`bert`]: the Burn cross-encoder and the MiniLM embedding baseline.
//! - [`worker`]: the thread that owns a judge (and its GPU), fed through `crossbeam-channel`.

pub mod backend;
pub mod bench;
pub mod bert;
pub mod eval;
pub mod lexical;
pub mod neural;
pub mod oracle;
pub mod pairs;
pub mod train;
pub mod worker;

use std::sync::Arc;

use crate::trace::TracePrefix;

/// The longest pair a BERT-style judge reads, in tokens (its position table's size).
pub const MAX_PAIR_TOKENS: usize = 512;

/// One comparison: two prefixes of the same problem.
#[derive(Debug, Clone)]
pub struct PairInput {
    /// The new prefix.
    pub a: Arc<TracePrefix>,
    /// A cluster member's prefix.
    pub b: Arc<TracePrefix>,
}

/// Why a judge could not score.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The oracle needs reference labels.
    #[error("the oracle judge needs `answer_class` on every trace; trace {trace} has none")]
    NoLabel {
        /// `pid#sample`.
        trace: String,
    },
    /// The model could not be loaded or run.
    #[error("judge model: {0}")]
    Model(String),
    /// The worker thread is gone.
    #[error("the judge worker stopped")]
    WorkerGone,
    /// Injected by the fault-injection settings (tests only).
    #[error("injected judge failure")]
    Injected,
}

/// A pair judge. Implementations run on the judge worker thread, one batch at a time.
pub trait PairJudge: Send {
    /// Short name for reports.
    fn name(&self) -> &str;
    /// One score in [0, 1] per pair: the judged probability that the final answers are equal.
    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError>;
    /// What the worker thread must run after it has dropped the judge, on that same thread.
    ///
    /// A CubeCL (GPU) backend keeps one memory pool per thread and never returns a pool's pages
    /// to the driver by itself, so a judge thread that ends without this leaves its activations'
    /// memory reserved for the life of the process. A sweep starts one judge thread per row; on
    /// an H100 it ran out of GPU memory at the 13th row before judges released their pools.
    fn release_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
        None
    }
}

/// Scores every pair 0 without reading it (`judge.kind: noop`), so a load test or a benchmark
/// measures the pipeline rather than a judge.
pub struct NoopJudge;

impl PairJudge for NoopJudge {
    fn name(&self) -> &str {
        "noop"
    }
    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        Ok(vec![0.0; pairs.len()])
    }
}
