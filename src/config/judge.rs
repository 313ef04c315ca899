//! The `judge` section: which judge scores pairs, where it runs, and its batcher.

use super::load::at_most;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::kernels::{Attention, KernelRequest, Matmul, Norm};
use super::load::RelativePaths;

/// Which judge scores pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeKind {
    /// Reference labels: the upper bound.
    Oracle,
    /// Number and bigram overlap.
    Lexical,
    /// Cosine of MiniLM mean-pooled embeddings (the paper's SentenceBERT baseline).
    Embedding,
    /// The trained Burn cross-encoder at `judge.path`.
    Model,
    /// No judge: nothing is pruned; plain majority vote over all traces.
    None,
    /// Scores every pair 0 without looking at it (load tests: the pipeline's own cost).
    Noop,
}

/// Where the judge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The flex CPU backend.
    #[default]
    Cpu,
    /// CUDA (needs the `cuda` crate feature).
    Cuda,
}

/// The longest pair a judge bucket may hold, in WordPiece tokens: MiniLM's 512 positions (the
/// judge's tokenizer holds the same limit; a test in `pipeline::plan` keeps them equal).
pub const MAX_BUCKET_TOKENS: usize = 512;

/// The `judge` section: the judge and its batcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// The judge.
    #[serde(default = "default_judge_kind")]
    pub kind: JudgeKind,
    /// The checkpoint directory for `model`; the base model directory for `embedding`
    /// (default `models/base/all-minilm-l6-v2`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Most pairs per forward pass of a neural judge.
    #[serde(default = "default_model_batch")]
    pub model_batch: usize,
    /// `cpu` or `cuda`, for `model` and `embedding`.
    #[serde(default)]
    pub device: DeviceKind,
    /// How a neural judge computes self-attention: `flash2` or `flash` (CUDA only), `deferred`,
    /// `unfused` or `fused` (see [`Attention`]). Unset: the fastest measured on the device.
    #[serde(default)]
    pub attention: Option<Attention>,
    /// Which kernels compute a neural judge's dense products: `cublaslt` (NVIDIA's library,
    /// CUDA only) or `burn` (see [`Matmul`]). Unset: the fastest measured on the device.
    #[serde(default)]
    pub matmul: Option<Matmul>,
    /// How a neural judge computes its residual sums and LayerNorms: `fused` (one CUDA kernel
    /// each, CUDA only) or `burn` (see [`Norm`]). Unset: the fastest measured on the device.
    #[serde(default)]
    pub norm: Option<Norm>,
    /// The pair lengths (WordPiece tokens) a `model` judge pads to when serving. Unset: every
    /// multiple of 32 up to the checkpoint's longest pair. Padding never changes a score, only
    /// the compute spent.
    #[serde(default)]
    pub buckets: Option<Vec<usize>>,
    /// Most pairs in one batch.
    #[serde(default = "default_max_batch_pairs")]
    pub max_batch_pairs: usize,
    /// Most padded tokens in one batch (pairs × longest pair, estimated).
    #[serde(default = "default_max_batch_tokens")]
    pub max_batch_tokens: usize,
    /// Most pairs waiting in the batcher at once; callers beyond it wait (backpressure).
    #[serde(default = "default_max_queue_pairs")]
    pub max_queue_pairs: usize,
    /// A partial batch is flushed after waiting this long.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Batches with the judge worker at once; beyond it, waiting pairs merge into fuller batches.
    #[serde(default = "default_judge_queue")]
    pub queue: usize,
    /// Seconds the judge may take to answer one batch before the run fails with an error
    /// naming this key (a dead GPU backend may never answer).
    #[serde(default = "default_batch_timeout_s")]
    pub batch_timeout_s: f64,
}

/// The lexical judge: real, cheap, and needs no model.
fn default_judge_kind() -> JudgeKind {
    JudgeKind::Lexical
}
/// 128 pairs per forward pass.
fn default_model_batch() -> usize {
    128
}
/// 128 pairs: one forward pass of `model_batch` per batch. With 256, a batch ran as 128 pairs and
/// a remainder padded to a power of two (8% padding rows); on an H100 the judge took 13.6 and
/// 13.8 s against 12.8 and 12.7 s with 128 for the same 63,316 pairs (docs/judge.md).
fn default_max_batch_pairs() -> usize {
    128
}
/// 128 pairs of 512 tokens.
fn default_max_batch_tokens() -> usize {
    65_536
}
/// 8,192 pairs.
fn default_max_queue_pairs() -> usize {
    8_192
}
/// 2 ms.
fn default_max_wait_ms() -> u64 {
    2
}
/// One batch: pairs that arrive while the judge works merge into the next, fuller batch. On an
/// H100 the shipped judge spent 30.4 s on a sweep row's 120,569 pairs with 1, against 32.5 s
/// with 2 and 45.1 s with 4 (`scripts/gpu-judge-in-pipeline.sh`).
fn default_judge_queue() -> usize {
    1
}
/// 10 minutes: far beyond a CPU judge's slowest batch (256 pairs of 512 tokens).
fn default_batch_timeout_s() -> f64 {
    600.0
}

impl JudgeConfig {
    /// The kernels `judge.attention`, `judge.matmul` and `judge.norm` ask for.
    pub fn kernels(&self) -> KernelRequest {
        KernelRequest { attention: self.attention, matmul: self.matmul, norm: self.norm }
    }

    /// Pushes one message per problem, each naming its key.
    pub(super) fn check(&self, paths: &RelativePaths, e: &mut Vec<String>) {
        let j = self;
        if j.max_batch_pairs == 0 {
            e.push("judge.max_batch_pairs: expected an integer ≥ 1, got 0".into());
        }
        if j.kind == JudgeKind::Model {
            match &j.path {
                None => e.push("judge.path: required for judge.kind model; expected a checkpoint directory".into()),
                Some(p) if !p.join("model.safetensors").is_file() => e.push(format!(
                    "judge.path: {} holds no model.safetensors; expected a checkpoint directory",
                    paths.show("judge.path", p)
                )),
                _ => {}
            }
        }
        if j.model_batch == 0 {
            e.push("judge.model_batch: expected an integer ≥ 1, got 0".into());
        }
        for r in j.kernels().refusals(j.device) {
            e.push(format!("judge.{}: `{}` is {}; expected judge.device cuda, or {}", r.key, r.name, r.is, r.instead));
        }
        if let Some(b) = &j.buckets {
            if b.is_empty() || b.iter().any(|&len| len == 0 || len > MAX_BUCKET_TOKENS) {
                e.push(format!(
                    "judge.buckets: bad length buckets {b:?}: expected a non-empty list of lengths in 1..={MAX_BUCKET_TOKENS}"
                ));
            }
        }
        if j.queue == 0 {
            e.push("judge.queue: expected an integer ≥ 1, got 0".into());
        }
        if j.max_batch_tokens == 0 {
            e.push("judge.max_batch_tokens: expected an integer ≥ 1, got 0".into());
        }
        if j.max_queue_pairs == 0 {
            e.push("judge.max_queue_pairs: expected an integer ≥ 1, got 0".into());
        }
        at_most("judge.model_batch", j.model_batch, 65_536, e);
        at_most("judge.max_batch_pairs", j.max_batch_pairs, 1_000_000, e);
        at_most("judge.max_batch_tokens", j.max_batch_tokens, 1_000_000_000, e);
        at_most("judge.max_queue_pairs", j.max_queue_pairs, 100_000_000, e);
        at_most("judge.queue", j.queue, 1_000_000, e);
        // One minute: a batch waiting longer for company is a misconfiguration, not a choice.
        at_most("judge.max_wait_ms", j.max_wait_ms, 60_000, e);
        if !(j.batch_timeout_s.is_finite() && j.batch_timeout_s > 0.0 && j.batch_timeout_s <= 1e9) {
            e.push(format!("judge.batch_timeout_s: expected a number of seconds > 0, got {}", j.batch_timeout_s));
        }
    }
}
