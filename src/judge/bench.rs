//! `deepprune bench judge`: throughput and latency of the cross-encoder on one device, with the
//! arithmetic rate as a fraction of the device's measured bf16 (or f32 on the CPU) matmul peak.
//!
//! Inputs are random token ids filling every position (pairs of exactly `max_len` tokens), so
//! the figures are for the worst case the judge serves. Each batch's scores are read back to the
//! host before the clock stops, as serving must.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;
use serde::Serialize;

use super::bert::{BertInput, CrossEncoder, CrossEncoderConfig};

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct JudgeBench {
    /// Backend and precision.
    pub device: String,
    /// Pairs per batch.
    pub batch: usize,
    /// Tokens per pair.
    pub max_len: usize,
    /// Pairs scored in the timed part.
    pub pairs: usize,
    /// Seconds from the first call to its scores on the host, kernel compilation included.
    pub time_to_first_result_s: f64,
    /// Steady-state pairs per second.
    pub pairs_per_sec: f64,
    /// Median batch latency.
    pub batch_latency_p50_ms: f64,
    /// 99th-percentile batch latency.
    pub batch_latency_p99_ms: f64,
    /// Model FLOPs per pair (matmuls and attention; 2 per multiply-add).
    pub flops_per_pair: f64,
    /// Achieved TFLOP/s.
    pub achieved_tflops: f64,
    /// Measured matmul peak TFLOP/s on this device and precision.
    pub peak_tflops: f64,
    /// achieved / peak.
    pub fraction_of_peak: f64,
}

/// FLOPs of one forward pass of a BERT encoder over `len` tokens (matmuls and attention).
pub fn encoder_flops(config: &CrossEncoderConfig, len: usize) -> f64 {
    let (l, d, f) = (len as f64, config.bert.hidden_size as f64, config.bert.intermediate_size as f64);
    // QKV and output projections: 4 d² per token; FFN: 2 d f; attention: 2 L d (scores and mix).
    let per_layer = 2.0 * l * (4.0 * d * d + 2.0 * d * f) + 2.0 * 2.0 * l * l * d;
    per_layer * config.bert.num_layers as f64
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// Measures the device's dense matmul rate (TFLOP/s) with `n`×`n` matrices.
pub fn matmul_peak<B: Backend>(device: &B::Device, n: usize, reps: usize) -> f64 {
    let a = Tensor::<B, 2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<B, 2>::random([n, n], Distribution::Default, device);
    // Warm-up compiles and autotunes the kernel.
    let _ = a.clone().matmul(b.clone()).slice([0..1, 0..1]).into_data();
    let start = Instant::now();
    let mut outs = Vec::with_capacity(reps);
    for _ in 0..reps {
        outs.push(a.clone().matmul(b.clone()));
    }
    // Reading one element of each product waits for all of them, with negligible transfer.
    for o in outs {
        let _ = o.slice([0..1, 0..1]).into_data();
    }
    2.0 * (n as f64).powi(3) * reps as f64 / start.elapsed().as_secs_f64() / 1e12
}

fn random_input<B: Backend>(batch: usize, len: usize, device: &B::Device) -> BertInput<B> {
    let ids = Tensor::<B, 2, Int>::random([batch, len], Distribution::Uniform(1000.0, 29000.0), device);
    let half = len / 2;
    let type_ids = Tensor::cat(
        vec![Tensor::<B, 2, Int>::zeros([batch, half], device), Tensor::<B, 2, Int>::ones([batch, len - half], device)],
        1,
    );
    let attention_mask = Tensor::<B, 2, Int>::ones([batch, len], device);
    BertInput { ids, type_ids, attention_mask }
}

/// Runs the benchmark: one untimed first call (reported as time to first result), `warmup`
/// more, then batches until `pairs` pairs are scored.
#[allow(clippy::too_many_arguments)]
pub fn run<B: Backend>(
    model: &CrossEncoder<B>,
    config: &CrossEncoderConfig,
    device: &B::Device,
    device_name: &str,
    batch: usize,
    max_len: usize,
    pairs: usize,
    peak_size: usize,
) -> JudgeBench {
    let start = Instant::now();
    let input = random_input::<B>(batch, max_len, device);
    let _ = model.infer(&input).into_data();
    let first = start.elapsed().as_secs_f64();
    for _ in 0..3 {
        let _ = model.infer(&random_input::<B>(batch, max_len, device)).into_data();
    }
    let n_batches = pairs.div_ceil(batch).max(1);
    let mut latencies = Vec::with_capacity(n_batches);
    let timed = Instant::now();
    for _ in 0..n_batches {
        let input = random_input::<B>(batch, max_len, device);
        let t = Instant::now();
        let _ = model.infer(&input).into_data();
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let total = timed.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let done = n_batches * batch;
    let pairs_per_sec = done as f64 / total;
    let flops_per_pair = encoder_flops(config, max_len);
    let achieved = flops_per_pair * pairs_per_sec / 1e12;
    let peak = matmul_peak::<B>(device, peak_size, 50);
    JudgeBench {
        device: device_name.to_string(),
        batch,
        max_len,
        pairs: done,
        time_to_first_result_s: first,
        pairs_per_sec,
        batch_latency_p50_ms: percentile(&latencies, 0.5),
        batch_latency_p99_ms: percentile(&latencies, 0.99),
        flops_per_pair,
        achieved_tflops: achieved,
        peak_tflops: peak,
        fraction_of_peak: achieved / peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::bert::BertConfig;

    #[test]
    fn flops_of_minilm_at_512_tokens() {
        let c = CrossEncoderConfig::new(BertConfig::all_minilm_l6_v2());
        // 6 layers x (2*512*(4*384^2 + 2*384*1536) + 4*512^2*384) = 13.3 GFLOP.
        let f = encoder_flops(&c, 512);
        assert!((f / 1e9 - 13.29).abs() < 0.01, "{f}");
    }
}
