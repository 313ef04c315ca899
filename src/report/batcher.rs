//! What the judge-batcher did: batch sizes, padding, queue waits, deduplicated pairs.

use serde::Serialize;

use crate::judge::ForwardShapes;

/// The judge-batcher's counters: the batcher fills them, the run driver reads them for the
/// report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatcherStats {
    /// Pairs scored by the judge (after deduplication).
    pub pairs: u64,
    /// Batches sent to the judge.
    pub batches: u64,
    /// Of those, batches cut full: at `judge.max_batch_pairs` pairs or `max_batch_tokens`
    /// padded tokens.
    pub cut_full: u64,
    /// Of those, partial batches flushed at once because every problem still being clustered
    /// was waiting for scores: no more pairs could come.
    pub cut_callers_waiting: u64,
    /// Of those, partial batches flushed once their oldest pair had waited `judge.max_wait_ms`
    /// while some problem could still send pairs.
    pub cut_max_wait: u64,
    /// Pairs dropped because their caller had gone away.
    pub dropped: u64,
    /// Pairs answered from an identical pair in the same batch.
    pub deduplicated: u64,
    /// Total time the judge spent scoring, in seconds.
    pub judge_busy_seconds: f64,
    /// Total time pairs waited in the queue before their batch was cut, in seconds.
    pub queue_wait_seconds: f64,
    /// Longest time one pair waited in the queue, in seconds.
    pub max_queue_wait_seconds: f64,
    /// Largest batch sent.
    pub max_batch: usize,
    /// Estimated tokens of the pairs sent (no padding).
    pub real_tokens: u64,
    /// Estimated padded tokens of the batches sent (pairs × longest pair).
    pub padded_tokens: u64,
    /// Most pairs waiting here at once.
    pub max_queue_depth: usize,
    /// What a neural judge's forward passes ran, padding included (measured, not estimated).
    pub shapes: Option<ForwardShapes>,
}

impl BatcherStats {
    /// Mean pairs per batch.
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 { 0.0 } else { self.pairs as f64 / self.batches as f64 }
    }
    /// Share of the padded tokens that were padding.
    pub fn padding_waste(&self) -> f64 {
        if self.padded_tokens == 0 { 0.0 } else { 1.0 - self.real_tokens as f64 / self.padded_tokens as f64 }
    }
    /// Pairs scored per second of judge time.
    pub fn pairs_per_judge_second(&self) -> f64 {
        if self.judge_busy_seconds > 0.0 { self.pairs as f64 / self.judge_busy_seconds } else { 0.0 }
    }
    /// Mean time a pair waited before its batch was cut, in milliseconds.
    pub fn mean_queue_wait_ms(&self) -> f64 {
        let n = self.pairs + self.deduplicated;
        if n == 0 { 0.0 } else { 1e3 * self.queue_wait_seconds / n as f64 }
    }
}
