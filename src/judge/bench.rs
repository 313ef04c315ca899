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
use super::kernels::Matmul;

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
    /// Where a forward pass's time goes (with `--breakdown`), per part of one layer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<BreakdownPart>,
    /// Largest difference between this attention implementation's encoder output and Burn's
    /// reference composition (`unfused`), on the same weights and a batch of mixed-length
    /// pairs, over real positions ([`max_difference`]). Absent when this is `unfused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_abs_diff_vs_unfused: Option<f64>,
}

/// The time of one kind of operation over a whole forward pass, measured in isolation on the same
/// shapes (one layer's worth, times the number of layers).
#[derive(Debug, Clone, Serialize)]
pub struct BreakdownPart {
    /// What was timed.
    pub part: String,
    /// Milliseconds per batch, all layers.
    pub ms_per_batch: f64,
    /// `ms_per_batch` over the measured full forward pass's median batch time.
    pub share_of_forward: f64,
    /// Its arithmetic rate, where it does matmul work.
    pub tflops: Option<f64>,
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

/// Measures the device's dense matmul rate (TFLOP/s) with `n`×`n` matrices: the faster of
/// Burn's matmul and cuBLASLt where that runs.
pub fn matmul_peak<B: Backend>(device: &B::Device, n: usize, reps: usize) -> f64 {
    let square = GemmShape { m: n, k: n, n };
    let burn = matmul_rate::<B>(device, square, RhsLayout::RowMajor, 1, Matmul::Burn, reps, 0.0);
    let probe = Tensor::<B, 3>::zeros([1, 16, 16], device);
    if crate::judge::kernels::dense::dense(&probe, &Tensor::zeros([16, 16], device), &Tensor::zeros([16], device)).is_some() {
        burn.max(matmul_rate::<B>(device, square, RhsLayout::RowMajor, 1, Matmul::CublasLt, reps, 0.0))
    } else {
        burn
    }
}

/// How the right operand `[k, n]` of a timed product is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RhsLayout {
    /// Row-major `[k, n]`, as Burn's `Linear` stores its weight.
    RowMajor,
    /// A row-major `[n, k]` tensor, transposed (a view): PyTorch's `nn.Linear` layout.
    Transposed,
}

/// The shape of one matrix product: `[m, k] · [k, n]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GemmShape {
    /// Rows of the left operand and of the product.
    pub m: usize,
    /// The contracted dimension.
    pub k: usize,
    /// Columns of the right operand and of the product.
    pub n: usize,
}

impl GemmShape {
    /// The products of one MiniLM layer ([`super::bert::BertConfig::all_minilm_l6_v2`]) over
    /// `tokens` rows (pairs × tokens per pair): the q/k/v projection as one matmul, the
    /// attention output, and the feed-forward in and out. Attention's own products are batched
    /// per head and are not among them.
    pub fn minilm_layer(tokens: usize) -> Vec<Self> {
        let config = super::bert::BertConfig::all_minilm_l6_v2();
        let (d, f) = (config.hidden_size, config.intermediate_size);
        [(d, 3 * d), (d, d), (d, f), (f, d)].map(|(k, n)| Self { m: tokens, k, n }).to_vec()
    }

    /// FLOPs of one product (2 per multiply-add).
    pub fn flops(self) -> f64 {
        2.0 * self.m as f64 * self.k as f64 * self.n as f64
    }
}

/// A product shape that is not `MxKxN` in positive integers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a shape MxKxN of three positive integers (e.g. 65536x384x1536), got {given:?}")]
pub struct BadGemmShape {
    /// The text given.
    pub given: String,
}

impl std::str::FromStr for GemmShape {
    type Err = BadGemmShape;

    /// Parses `MxKxN`, e.g. `65536x384x1536`.
    fn from_str(s: &str) -> Result<Self, BadGemmShape> {
        let bad = || BadGemmShape { given: s.to_string() };
        let dims: Vec<usize> = s.split('x').map(|d| d.trim().parse::<usize>()).collect::<Result<_, _>>().map_err(|_| bad())?;
        match dims[..] {
            [m, k, n] if m > 0 && k > 0 && n > 0 => Ok(Self { m, k, n }),
            _ => Err(bad()),
        }
    }
}

/// One product shape's measured rate.
#[derive(Debug, Clone, Serialize)]
pub struct MatmulRate {
    /// Backend and precision.
    pub device: String,
    /// The shape timed.
    #[serde(flatten)]
    pub shape: GemmShape,
    /// How the right operand was stored.
    pub rhs: RhsLayout,
    /// 1: one `[m, k] · [k, n]` product. More: the left operand as `[split, m / split, k]`
    /// times the right one broadcast as `[1, k, n]`, which is how `Linear` runs on a `[batch,
    /// seq, hidden]` input (the same FLOPs).
    pub split: usize,
    /// Which kernels ran the product.
    pub matmul: Matmul,
    /// Achieved TFLOP/s.
    pub tflops: f64,
    /// For kernels other than Burn's: the largest difference from Burn's product, relative to
    /// its largest magnitude, over this shape plus a bias and over a strided view of its rows
    /// (see [`dense_difference`]). `None` where they did not run (the CPU, for one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rel_diff_vs_burn: Option<f64>,
}

/// Measures the device's matmul rate (TFLOP/s) on one product shape. One untimed product
/// compiles and autotunes the kernel; then products are queued until about `min_seconds` have
/// passed (at least `reps`), and one number that depends on every product is read back, which
/// waits for all of them with negligible transfer. Each product is reduced to one element as it
/// is queued, so memory stays bounded however many run. With `split` > 1, the left operand is
/// split into that many batches of `m / split` rows and the right one broadcast (rows past
/// `split · (m / split)` are left out, and not counted).
#[allow(clippy::too_many_arguments)]
pub fn matmul_rate<B: Backend>(
    device: &B::Device,
    shape: GemmShape,
    rhs: RhsLayout,
    split: usize,
    matmul: Matmul,
    reps: usize,
    min_seconds: f64,
) -> f64 {
    let GemmShape { m, k, n } = shape;
    let split = split.clamp(1, m);
    let rows = m / split * split;
    let a = Tensor::<B, 3>::random([split, m / split, k], Distribution::Default, device);
    let b = match rhs {
        RhsLayout::RowMajor => Tensor::<B, 2>::random([k, n], Distribution::Default, device),
        RhsLayout::Transposed => Tensor::<B, 2>::random([n, k], Distribution::Default, device).transpose(),
    };
    let zero_bias = Tensor::<B, 1>::zeros([n], device);
    // One element of the product: it cannot be computed without the whole matmul.
    let corner = || -> Tensor<B, 1> {
        let other = match matmul {
            Matmul::Burn => None,
            Matmul::CublasLt => crate::judge::kernels::dense::dense(&a, &b, &zero_bias),
        };
        let product = if let Some(product) = other {
            product
        } else if split == 1 {
            a.clone().reshape([rows, k]).matmul(b.clone()).unsqueeze_dim::<3>(0)
        } else {
            a.clone().matmul(b.clone().unsqueeze_dim(0))
        };
        product.slice([0..1, 0..1, 0..1]).reshape([1])
    };
    let _ = corner().into_data();
    // Size the timed run from one timed batch of `reps` products.
    let reps = reps.max(1);
    let time_batch = |count: usize| {
        let start = Instant::now();
        let mut total = corner();
        for _ in 1..count {
            total = total + corner();
        }
        let _ = total.into_data();
        start.elapsed().as_secs_f64()
    };
    let first = time_batch(reps);
    // At most 10,000 times the first batch, whatever the clock said.
    let count = if first >= min_seconds {
        reps
    } else {
        ((min_seconds / first.max(1e-9)) * reps as f64).ceil().min(1e4 * reps as f64) as usize
    };
    let seconds = if count == reps { first } else { time_batch(count) };
    GemmShape { m: rows, ..shape }.flops() * count as f64 / seconds / 1e12
}

/// The largest difference between `matmul`'s `x · w + bias` and Burn's, relative to the largest
/// magnitude of Burn's, over random operands of `shape` and over a strided view of the rows (every
/// other row, as the `[CLS]`-only last layer reads them). `None` where `matmul`'s kernels do not
/// run on `B`.
pub fn dense_difference<B: Backend>(device: &B::Device, shape: GemmShape, matmul: Matmul) -> Option<f64> {
    if matmul == Matmul::Burn {
        return None;
    }
    let GemmShape { m, k, n } = shape;
    let x = Tensor::<B, 3>::random([m, 2, k], Distribution::Default, device);
    let w = Tensor::<B, 2>::random([k, n], Distribution::Default, device);
    let bias = Tensor::<B, 1>::random([n], Distribution::Default, device);
    let mut worst: f64 = 0.0;
    // Whole rows: x as [1, 2m, k]; a view: the first of each pair of rows, [m, 1, k].
    for x in [x.clone().reshape([1, 2 * m, k]), x.narrow(1, 0, 1)] {
        let got = crate::judge::kernels::dense::dense(&x, &w, &bias)?;
        let reference = x.matmul(w.clone().unsqueeze_dim::<3>(0)) + bias.clone().unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(0);
        let scale = reference.clone().abs().max().into_scalar().elem::<f64>().max(1e-12);
        let diff = (got - reference).abs().max().into_scalar().elem::<f64>();
        worst = worst.max(diff / scale);
    }
    Some(worst)
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

/// Milliseconds per call of `f`, after two untimed calls. Each call's output is summed on the
/// device and the one number read back: that waits for the work (a lazy backend cannot skip
/// it) without timing a large transfer. The sum itself costs one read of the output.
fn time_ms<B: Backend, const D: usize>(reps: usize, f: impl Fn() -> Tensor<B, D>) -> f64 {
    for _ in 0..2 {
        let _ = f().sum().into_data();
    }
    let start = Instant::now();
    for _ in 0..reps {
        let _ = f().sum().into_data();
    }
    start.elapsed().as_secs_f64() * 1e3 / reps as f64
}

/// Times the parts of one encoder layer in isolation, on the first layer's weights and the
/// benchmark's shapes, scaled by the number of layers. Each part includes one reduction of its
/// output and a one-number read-back (timed alone as the last part), and parts timed alone
/// miss the fusion the full pass gets across them: the sum is a rough guide, not a partition.
pub fn breakdown<B: Backend>(
    model: &CrossEncoder<B>,
    device: &B::Device,
    batch: usize,
    len: usize,
    forward_ms: f64,
    reps: usize,
) -> Vec<BreakdownPart> {
    use burn::tensor::activation::gelu;
    use super::bert::attention_deferred;
    use burn::tensor::module::{attention, attention_fallback};
    use burn::tensor::ops::AttentionModuleOptions;

    let Some(layer) = model.bert.layers.first() else { return Vec::new() };
    let layers = model.bert.layers.len() as f64;
    let hidden = model.bert.pooler.weight.dims()[0];
    let ffn = layer.ffn_in.weight.dims()[1];
    let heads = layer.attention.num_heads;
    let head_dim = hidden / heads;
    let x = Tensor::<B, 3>::random([batch, len, hidden], Distribution::Default, device);
    let wide = Tensor::<B, 3>::random([batch, len, ffn], Distribution::Default, device);
    let q = Tensor::<B, 4>::random([batch, heads, len, head_dim], Distribution::Default, device);
    let k = Tensor::<B, 4>::random([batch, heads, len, head_dim], Distribution::Default, device);
    let v = Tensor::<B, 4>::random([batch, heads, len, head_dim], Distribution::Default, device);
    // No position is padded (as in the benchmark's inputs), but the mask is passed as serving does.
    let mask = Tensor::<B, 2, Int>::ones([batch, len], device)
        .equal_elem(0)
        .reshape([batch, 1, 1, len])
        .expand([batch, heads, len, len]);
    let bias = Tensor::<B, 4>::zeros([batch, 1, 1, len], device);
    let tokens = (batch * len) as f64;
    let (b, l, d, f) = (batch as f64, len as f64, hidden as f64, ffn as f64);
    let parts: Vec<(&str, f64, Option<f64>)> = vec![
        (
            "attention projections (q, k, v, output)",
            time_ms(reps, || {
                layer.attention.query.forward(x.clone())
                    + layer.attention.key.forward(x.clone())
                    + layer.attention.value.forward(x.clone())
                    + layer.attention.output.forward(x.clone())
            }),
            Some(2.0 * tokens * 4.0 * d * d),
        ),
        (
            "feed-forward matmuls (in + GELU, out)",
            time_ms(reps, || layer.ffn_out.forward(gelu(layer.ffn_in.forward(x.clone())))),
            Some(2.0 * tokens * 2.0 * d * f),
        ),
        (
            "attention kernel, key-padding mask",
            time_ms(reps, || {
                attention(q.clone(), k.clone(), v.clone(), Some(mask.clone()), None, AttentionModuleOptions::default())
            }),
            Some(2.0 * 2.0 * b * l * l * d),
        ),
        (
            "attention kernel, no mask",
            time_ms(reps, || attention(q.clone(), k.clone(), v.clone(), None, None, AttentionModuleOptions::default())),
            Some(2.0 * 2.0 * b * l * l * d),
        ),
        (
            "attention unfused (matmul, softmax, matmul), key-padding mask",
            time_ms(reps, || {
                attention_fallback(q.clone(), k.clone(), v.clone(), Some(mask.clone()), None, AttentionModuleOptions::default())
            }),
            Some(2.0 * 2.0 * b * l * l * d),
        ),
        (
            "attention deferred (normalised after the value product), key-padding bias",
            time_ms(reps, || {
                let scale = 1.0 / (head_dim as f64).sqrt();
                attention_deferred(q.clone() * scale, k.clone(), v.clone(), bias.clone())
            }),
            Some(2.0 * 2.0 * b * l * l * d),
        ),
        (
            "2 LayerNorms + residual adds",
            time_ms(reps, || {
                let y = layer.attention_norm.forward(x.clone() + x.clone());
                layer.ffn_norm.forward(y.clone() + x.clone())
            }),
            None,
        ),
        ("GELU alone on the FFN width", time_ms(reps, || gelu(wide.clone())), None),
        ("sum + read-back alone (the overhead in every part above)", time_ms(reps, || x.clone()), None),
    ];
    parts
        .into_iter()
        .map(|(part, ms, flops)| {
            let all = ms * layers;
            BreakdownPart {
                part: part.to_string(),
                ms_per_batch: all,
                share_of_forward: if forward_ms > 0.0 { all / forward_ms } else { 0.0 },
                tflops: flops.map(|fl| fl / (ms / 1e3) / 1e12),
            }
        })
        .collect()
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
    with_breakdown: bool,
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
    // A device sync is where CubeCL's kernel profiler (when enabled in cubecl.toml) prints and
    // resets its per-kernel summary: one sync before and one after the timed loop confine a
    // summary to the timed batches. A sync costs nothing here: every batch was read back.
    let _ = B::sync(device);
    let timed = Instant::now();
    for _ in 0..n_batches {
        let input = random_input::<B>(batch, max_len, device);
        let t = Instant::now();
        let _ = model.infer(&input).into_data();
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let total = timed.elapsed().as_secs_f64();
    let _ = B::sync(device);
    latencies.sort_by(|a, b| a.total_cmp(b));
    let done = n_batches * batch;
    let pairs_per_sec = done as f64 / total;
    let flops_per_pair = encoder_flops(config, max_len);
    let achieved = flops_per_pair * pairs_per_sec / 1e12;
    let peak = matmul_peak::<B>(device, peak_size, 50);
    let median = percentile(&latencies, 0.5);
    let breakdown = if with_breakdown { breakdown(model, device, batch, max_len, median, 10) } else { Vec::new() };
    JudgeBench {
        device: device_name.to_string(),
        batch,
        max_len,
        pairs: done,
        time_to_first_result_s: first,
        pairs_per_sec,
        batch_latency_p50_ms: median,
        batch_latency_p99_ms: percentile(&latencies, 0.99),
        flops_per_pair,
        achieved_tflops: achieved,
        peak_tflops: peak,
        fraction_of_peak: achieved / peak,
        breakdown,
        max_abs_diff_vs_unfused: None,
    }
}

/// Two copies of `model` with the same weights. Burn draws a fresh model's initial weights
/// lazily, on first use, separately in each clone; its record holds them drawn.
pub fn twins<B: Backend>(model: CrossEncoder<B>, config: &CrossEncoderConfig, device: &B::Device) -> (CrossEncoder<B>, CrossEncoder<B>) {
    let drawn = config.init::<B>(device).load_record(model.into_record());
    (drawn.clone(), drawn)
}

/// The largest absolute difference between the encoder outputs of `model` and `reference`
/// over the real positions of `batch` pairs of mixed lengths, padded to `len` (pair `i` has
/// between `len / 2` and `len` real tokens). Encoder outputs are LayerNorm outputs, of order 1.
pub fn max_difference<B: Backend>(
    model: &CrossEncoder<B>,
    reference: &CrossEncoder<B>,
    batch: usize,
    len: usize,
    device: &B::Device,
) -> f64 {
    let mut input = random_input::<B>(batch, len, device);
    let [vocab, _] = model.bert.embeddings.word.weight.dims();
    input.ids = Tensor::random([batch, len], Distribution::Uniform(1.0, vocab as f64), device);
    let real: Vec<i64> = (0..batch)
        .flat_map(|i| {
            let n = len / 2 + (i * 7919) % (len - len / 2) + 1;
            (0..len).map(move |j| i64::from(j < n))
        })
        .collect();
    input.attention_mask = Tensor::from_data(TensorData::new(real, [batch, len]), device);
    let keep = input.attention_mask.clone().float().unsqueeze_dim::<3>(2);
    let a = model.bert.infer(&input);
    let b = reference.bert.infer(&input);
    let diff = ((a - b).abs() * keep).max();
    diff.into_scalar().elem::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::bert::{Attention, BertConfig};

    #[test]
    fn the_dense_check_reports_nothing_where_cublaslt_does_not_run() {
        let device = Default::default();
        let shape = GemmShape { m: 8, k: 16, n: 8 };
        assert_eq!(dense_difference::<burn::backend::Flex>(&device, shape, Matmul::CublasLt), None);
        assert_eq!(dense_difference::<burn::backend::Flex>(&device, shape, Matmul::Burn), None);
    }

    #[test]
    fn gemm_shapes_parse_and_bad_ones_are_named() {
        assert_eq!("65536x384x1536".parse::<GemmShape>(), Ok(GemmShape { m: 65536, k: 384, n: 1536 }));
        for bad in ["65536x384", "8x0x8", "axbxc", "1x2x3x4", ""] {
            let err = bad.parse::<GemmShape>().unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")) && err.contains("MxKxN"), "{err}");
        }
        assert_eq!(GemmShape::minilm_layer(100)[3], GemmShape { m: 100, k: 1536, n: 384 });
    }

    #[test]
    fn a_matmul_rate_is_measured() {
        for rhs in [RhsLayout::RowMajor, RhsLayout::Transposed] {
            for split in [1, 4] {
                let rate = matmul_rate::<burn::backend::Flex>(&Default::default(), GemmShape { m: 64, k: 32, n: 16 }, rhs, split, Matmul::Burn, 3, 0.01);
                assert!(rate.is_finite() && rate > 0.0, "{rhs:?}, split {split}: {rate}");
            }
        }
    }

    #[test]
    fn max_difference_is_small_between_compositions_and_large_between_models() {
        type B = burn::backend::Flex;
        let device = Default::default();
        let config = CrossEncoderConfig::new(BertConfig::tiny());
        let (model, unfused) = twins(config.init::<B>(&device), &config, &device);
        let unfused = unfused.with_attention(Attention::Unfused);
        let deferred = model.with_attention(Attention::Deferred).frozen();
        let same = max_difference(&deferred, &unfused, 4, 32, &device);
        assert!(same < 1e-4, "{same}");
        let other = config.init::<B>(&device).with_attention(Attention::Unfused);
        let different = max_difference(&deferred, &other, 4, 32, &device);
        assert!(different > 1e-2, "{different}");
    }

    #[test]
    fn flops_of_minilm_at_512_tokens() {
        let c = CrossEncoderConfig::new(BertConfig::all_minilm_l6_v2());
        // 6 layers x (2*512*(4*384^2 + 2*384*1536) + 4*512^2*384) = 13.3 GFLOP.
        let f = encoder_flops(&c, 512);
        assert!((f / 1e9 - 13.29).abs() < 0.01, "{f}");
    }
}
