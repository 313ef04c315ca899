//! Pair judges: given two trace prefixes, a score in [0, 1] that their final answers are equal.
//!
//! - [`oracle`]: reads the reference answer classes; the upper bound, never a real judge.
//! - [`lexical`]: overlap of the numbers and word bigrams in the two prefixes.
//! - [`neural`]: the trained cross-encoder and the MiniLM embedding baseline as judges.
//! - [`bert`]: the Burn BERT encoder and cross-encoder, their weights and tokenizer.
//! - [`kernels`]: the CUDA and CubeCL kernels that serve the encoder, and which of them to use.
//! - [`backend`]: the Burn backend for a device, CPU or CUDA, for serving and training.
//! - [`build`]: the judge a run's `judge` section asks for.
//! - [`worker`]: the thread that owns a judge (and its GPU), fed through `crossbeam-channel`.
//! - [`train`]: training the cross-encoder on labelled pairs (`deepprune judge train`).
//! - [`eval`]: a judge's AUROC on labelled pairs, beside the baselines' (`deepprune judge eval`).
//! - [`bench`](mod@bench): forward-pass and matmul throughput of the encoder (`deepprune bench`).

pub mod backend;
pub mod bench;
pub mod bert;
pub mod build;
pub mod eval;
pub mod kernels;
pub mod lexical;
pub mod neural;
pub mod oracle;
pub mod train;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use self::bert::{TokenizeError, WeightsError};
use self::train::CheckpointMetaError;
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

/// Why a judge could not be built or could not score.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The oracle needs reference labels.
    #[error("the oracle judge needs `answer_class` on every trace; trace {trace} has none")]
    NoLabel {
        /// `pid#sample`.
        trace: String,
    },
    /// A setting the configured judge needs is not set.
    #[error("{key} is not set")]
    MissingSetting {
        /// The config key, e.g. `judge.path`.
        key: &'static str,
    },
    /// `judge.kind: none` was asked to score pairs, which its clusterer never does.
    #[error("judge.kind is none; no pair should be judged")]
    NothingToJudge,
    /// A model directory's weights or shape could not be loaded.
    #[error("judge model {}: {source}", dir.display())]
    Weights {
        /// The checkpoint or base model directory.
        dir: PathBuf,
        /// What failed.
        #[source]
        source: WeightsError,
    },
    /// A model directory's tokenizer could not be loaded, or does not frame the checkpoint's
    /// pairs.
    #[error("judge model {}: {source}", dir.display())]
    Tokenizer {
        /// The checkpoint or base model directory.
        dir: PathBuf,
        /// What failed.
        #[source]
        source: TokenizeError,
    },
    /// A checkpoint's `train.json` could not be read.
    #[error("judge model {}: {source}", dir.display())]
    Checkpoint {
        /// The checkpoint directory.
        dir: PathBuf,
        /// What failed.
        #[source]
        source: CheckpointMetaError,
    },
    /// `judge.buckets` is not a usable list of lengths.
    #[error("judge.buckets: {0}")]
    BadBuckets(#[source] TokenizeError),
    /// `judge.buckets` cannot hold the checkpoint's longest pair.
    #[error(
        "judge.buckets: the longest bucket ({longest}) must hold the checkpoint's longest pair ({max_len} tokens, {})",
        dir.display()
    )]
    BucketsTooShort {
        /// The longest bucket asked for.
        longest: usize,
        /// The checkpoint's longest pair, in tokens.
        max_len: usize,
        /// The checkpoint directory.
        dir: PathBuf,
    },
    /// A prefix could not be tokenized, or a batch padded.
    #[error("judge model: {0}")]
    Tokenize(#[from] TokenizeError),
    /// The scores could not be read back from the device.
    #[error("judge model: reading scores: {0}")]
    ReadScores(#[source] burn::tensor::DataError),
    /// The config asks for a device this build cannot run on.
    #[error(transparent)]
    Device(#[from] backend::CudaNotBuilt),
    /// The config asks for a kernel that does not run on the judge's device.
    #[error(transparent)]
    Kernel(#[from] kernels::select::UnsupportedKernel),
    /// The worker thread could not be started.
    #[error("cannot start the judge thread: {0}")]
    Thread(#[source] std::io::Error),
    /// An embedding judge lost a prefix's embedding between computing and reading it.
    #[error("embedding missing after embedding pass; this is a bug")]
    MissingEmbedding,
    /// The judge did not answer a batch in time.
    #[error(
        "the judge did not answer a batch of {pairs} pairs within {seconds:.1} s (judge.batch_timeout_s); \
         a GPU judge may have failed, see its log above"
    )]
    Timeout {
        /// Pairs in the batch.
        pairs: usize,
        /// The time allowed (`judge.batch_timeout_s`).
        seconds: f64,
    },
    /// The judge answered a batch with too few scores.
    #[error("the judge returned {scores} scores for {pairs} pairs")]
    MissingScores {
        /// Scores returned.
        scores: usize,
        /// Pairs that needed one.
        pairs: usize,
    },
    /// One failure of a batch, reported to each pair in it.
    #[error(transparent)]
    Batch(Arc<JudgeError>),
    /// The worker thread is gone.
    #[error("the judge worker stopped")]
    WorkerGone,
    /// Injected by the fault-injection settings (tests only).
    #[error("injected judge failure")]
    Injected,
}

/// The shapes a neural judge's forward passes actually ran: the real pairs and WordPiece tokens
/// against the padded rows and tokens they were run as. Rows are padded to a few fixed batch
/// sizes and pairs to the judge's serving length buckets, so a GPU backend compiles few kernels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForwardShapes {
    /// Forward passes.
    pub passes: u64,
    /// Pairs scored.
    pub rows: u64,
    /// Rows run, padding rows included.
    pub padded_rows: u64,
    /// WordPiece tokens of the pairs scored.
    pub tokens: u64,
    /// Tokens run: padded rows × bucket length.
    pub padded_tokens: u64,
}

impl ForwardShapes {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &ForwardShapes) {
        self.passes += other.passes;
        self.rows += other.rows;
        self.padded_rows += other.padded_rows;
        self.tokens += other.tokens;
        self.padded_tokens += other.padded_tokens;
    }
    /// Share of the tokens run that were padding (rows and positions): the compute spent on
    /// nothing.
    pub fn token_waste(&self) -> f64 {
        if self.padded_tokens == 0 { 0.0 } else { 1.0 - self.tokens as f64 / self.padded_tokens as f64 }
    }
    /// Share of the rows run that were padding rows.
    pub fn row_waste(&self) -> f64 {
        if self.padded_rows == 0 { 0.0 } else { 1.0 - self.rows as f64 / self.padded_rows as f64 }
    }
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
    /// The forward-pass shapes run since the last call (neural judges; `None` for the others).
    fn take_shapes(&mut self) -> Option<ForwardShapes> {
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
