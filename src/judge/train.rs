//! Training the cross-encoder judge: `deepprune judge train configs/judge-minilm.yaml`.
//!
//! Pairs are built within each training problem and labelled `same = (class_i == class_j &&
//! class_i >= 0)`; prefixes are cut by the pipeline's own truncator; the validation split is by
//! problem. The loss is focal loss (Lin et al. 2017; DeepPrune uses γ = 2) or plain BCE, the
//! minority label is oversampled, and AdamW runs with linear warmup then linear decay. Pairs can
//! be shown in either order (`swap`) and restricted to problems with both labels
//! (`both_labels_only`). The checkpoint with the best validation AUROC (pooled or within-problem,
//! `select`) is kept, with `config.json` (the model shape) and
//! `train.json` (this config and the validation figures) beside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::AutodiffBackend;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::bert::{
    save_checkpoint, BaseModelFiles, BertConfig, BertTokenizer, CheckpointPrecision, CrossEncoder, CrossEncoderConfig,
    EncodedPair, LengthBuckets, PaddedBatch, PairEncoder,
};
use super::pairs::{self, LabelledPair};
use crate::config::{DeviceKind, TruncatorConfig};
use crate::trace::dataset::load_traces;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The config file is unusable.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    /// Loading data failed.
    #[error(transparent)]
    Dataset(#[from] crate::trace::dataset::DatasetError),
    /// Truncation failed.
    #[error(transparent)]
    Truncate(#[from] crate::trace::truncate::TruncateError),
    /// The model, tokenizer or checkpoint failed.
    #[error("{0}")]
    Model(String),
    /// Writing results failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Which loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Focal loss: `-α_t (1 - p_t)^γ log p_t`.
    Focal,
    /// Binary cross-entropy.
    Bce,
}

/// The validation figure that picks the saved epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectBy {
    /// Pooled AUROC over all validation pairs.
    #[default]
    Auroc,
    /// Within-problem AUROC: the figure that predicts clustering, which compares traces of one
    /// problem only.
    AurocWithin,
}

/// Weight precision of the saved checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavePrecision {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (half the size).
    F16,
    /// bfloat16.
    Bf16,
}

/// A training run, read from YAML (every key documented in `configs/judge-minilm.yaml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The base model directory (`scripts/fetch-base-model.sh`).
    #[serde(default = "default_base")]
    pub base: PathBuf,
    /// Training traces (labelled with `answer_class`).
    pub traces: PathBuf,
    /// Share of problems held out for validation.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Use only the first N problems (for quick runs).
    #[serde(default)]
    pub max_problems: Option<usize>,
    /// Most validation pairs scored each epoch (stratified per problem).
    #[serde(default)]
    pub validation_max_pairs: Option<usize>,
    /// The prefix cut, exactly as in the pipeline's `truncator` section.
    pub truncator: TruncatorConfig,
    /// Longest pair in WordPiece tokens (≤ 512); both prefixes are cut fairly to fit.
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    /// Padded lengths; the largest must be ≥ max_len.
    #[serde(default = "default_buckets")]
    pub buckets: Vec<usize>,
    /// Dropout before the classifier.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// `focal` or `bce`.
    #[serde(default = "default_loss")]
    pub loss: LossKind,
    /// Focal γ (DeepPrune: 2).
    #[serde(default = "default_gamma")]
    pub gamma: f32,
    /// Focal α: the weight of the positive (same-answer) class.
    #[serde(default = "default_alpha")]
    pub alpha: f32,
    /// Each minority-label pair appears this many times per epoch (1 = off).
    #[serde(default = "default_oversample")]
    pub oversample: usize,
    /// Show each training pair in a random order each step (seeded): the clusterer asks
    /// (new prefix, member), the reverse of the order pairs are built in.
    #[serde(default)]
    pub swap: bool,
    /// Train only on problems whose pairs carry both labels ([`pairs::with_both_labels`]).
    #[serde(default)]
    pub both_labels_only: bool,
    /// The validation figure that picks the saved epoch: `auroc` or `auroc_within`.
    #[serde(default)]
    pub select: SelectBy,
    /// Pairs per step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Peak learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// AdamW weight decay.
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f32,
    /// Share of all steps spent warming up linearly.
    #[serde(default = "default_warmup")]
    pub warmup_fraction: f64,
    /// Passes over the training pairs.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Stop each epoch after this many steps (for quick runs and tests).
    #[serde(default)]
    pub max_steps_per_epoch: Option<usize>,
    /// Seed for the split, shuffling and sampling.
    #[serde(default)]
    pub seed: u64,
    /// `cpu` or `cuda`.
    #[serde(default)]
    pub device: DeviceKind,
    /// Checkpoint directory.
    pub output: PathBuf,
    /// Weight precision of the saved checkpoint.
    #[serde(default = "default_save_precision")]
    pub save_precision: SavePrecision,
    /// Test only: a tiny randomly initialised encoder instead of the base model.
    #[serde(default)]
    pub tiny: bool,
}

/// The fetched base model.
fn default_base() -> PathBuf {
    PathBuf::from(super::bert::weights::BASE_MODEL_DIR)
}
/// 10% of problems.
fn default_validation_fraction() -> f64 {
    0.1
}
/// 256 WordPiece tokens: two 64-token prefixes fit without cutting.
fn default_max_len() -> usize {
    256
}
/// Two buckets, so CUDA compiles few kernels.
fn default_buckets() -> Vec<usize> {
    vec![128, 256]
}
/// BERT's classifier dropout.
fn default_dropout() -> f64 {
    0.1
}
/// Focal loss, as DeepPrune trains its judge.
fn default_loss() -> LossKind {
    LossKind::Focal
}
/// γ = 2: DeepPrune §3.2.
fn default_gamma() -> f32 {
    2.0
}
/// α = 0.5: neutral; oversampling already rebalances.
fn default_alpha() -> f32 {
    0.5
}
/// ×3: same-answer pairs are the minority (12–16%) in this regime.
fn default_oversample() -> usize {
    3
}
/// 32 pairs.
fn default_batch_size() -> usize {
    32
}
/// 3e-5, a usual fine-tuning rate for BERT-size models.
fn default_lr() -> f64 {
    3e-5
}
/// 0.01.
fn default_weight_decay() -> f32 {
    0.01
}
/// 6% warmup.
fn default_warmup() -> f64 {
    0.06
}
/// 2 epochs.
fn default_epochs() -> usize {
    2
}
/// f16: half the size; scores change by < 1e-3.
fn default_save_precision() -> SavePrecision {
    SavePrecision::F16
}

impl TrainConfig {
    /// Reads a training config and applies `key=value` overrides (top-level or `truncator.x`).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, TrainError> {
        let file = path.display().to_string();
        let fail = |errors: Vec<String>| TrainError::Config(crate::config::ConfigError { file: file.clone(), errors });
        let text = std::fs::read_to_string(path).map_err(|e| fail(vec![format!("cannot read the file: {e}")]))?;
        let mut doc: serde_norway::Value =
            serde_norway::from_str(&text).map_err(|e| fail(vec![format!("not valid YAML: {e}")]))?;
        let mut errors = Vec::new();
        for o in overrides {
            if let Err(e) = crate::config::set_path(&mut doc, o) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(fail(errors));
        }
        let config: TrainConfig = serde_norway::from_value(doc).map_err(|e| fail(vec![e.to_string()]))?;
        let e = config.validate();
        if e.is_empty() {
            Ok(config)
        } else {
            Err(fail(e))
        }
    }

    /// Every problem with the values.
    pub fn validate(&self) -> Vec<String> {
        let mut e = Vec::new();
        if !self.traces.is_file() {
            e.push(format!("traces: file {} does not exist", self.traces.display()));
        }
        if !(3..=512).contains(&self.max_len) {
            e.push(format!("max_len: expected 3..=512, got {}", self.max_len));
        }
        if self.buckets.iter().max().is_none_or(|&m| m < self.max_len) {
            e.push(format!("buckets: the largest must be ≥ max_len ({}), got {:?}", self.max_len, self.buckets));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            e.push(format!("validation_fraction: expected [0, 1), got {}", self.validation_fraction));
        }
        if self.batch_size == 0 || self.epochs == 0 || self.oversample == 0 {
            e.push("batch_size, epochs and oversample: expected integers ≥ 1".into());
        }
        if !self.truncator.later.is_empty() {
            // A checkpoint's train.json says which lengths it was trained at; the pipeline trusts it.
            e.push(format!(
                "truncator.later: training cuts pairs at truncator.count only; expected [], got {:?}",
                self.truncator.later
            ));
        }
        if !(0.0..=1.0).contains(&self.alpha) || self.gamma < 0.0 {
            e.push(format!("alpha in [0, 1] and gamma ≥ 0 expected, got alpha {} gamma {}", self.alpha, self.gamma));
        }
        e
    }
}

/// What a checkpoint directory records about how to feed its model (`train.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The config it was trained with.
    pub train: TrainConfig,
    /// Longest pair.
    pub max_len: usize,
    /// Padded lengths.
    pub buckets: Vec<usize>,
    /// Validation figures of the saved epoch.
    pub validation: EpochReport,
    /// Every epoch's figures.
    pub history: Vec<EpochReport>,
}

impl CheckpointMeta {
    /// Reads `dir/train.json`.
    pub fn read(dir: &Path) -> Result<Self, TrainError> {
        let path = dir.join("train.json");
        let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io { path: path.clone(), source })?;
        serde_json::from_str(&text).map_err(|e| TrainError::Model(format!("{}: {e}", path.display())))
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Pairs trained on.
    pub train_pairs: usize,
    /// Training throughput.
    pub pairs_per_second: f64,
    /// Validation pairs.
    pub val_pairs: usize,
    /// Pooled validation AUROC (`None` without both labels).
    pub val_auroc: Option<f64>,
    /// Within-problem validation AUROC (`None` when no problem has both labels).
    pub val_auroc_within: Option<f64>,
    /// TNR at FNR = 0.2.
    pub val_tnr_at_fnr_0_2: Option<f64>,
    /// Seconds for the epoch, validation included.
    pub seconds: f64,
}

/// Focal loss over logits, mean over the batch. `labels` are 0/1. With γ = 0 and α = 0.5 it is
/// half the binary cross-entropy.
pub fn focal_loss<B: Backend>(logits: Tensor<B, 1>, labels: Tensor<B, 1>, gamma: f32, alpha: f32) -> Tensor<B, 1> {
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_sigmoid(logits.neg());
    // log p_t: the log-probability given to the true label.
    let log_pt = log_p * labels.clone() + log_not_p * (labels.clone().neg() + 1.0);
    let pt = log_pt.clone().exp();
    let alpha_t = labels.clone() * alpha + (labels.neg() + 1.0) * (1.0 - alpha);
    let modulator = (pt.neg() + 1.0).clamp_min(0.0).powf_scalar(gamma);
    (alpha_t * modulator * log_pt).neg().mean()
}

/// Binary cross-entropy over logits, mean over the batch.
pub fn bce_loss<B: Backend>(logits: Tensor<B, 1>, labels: Tensor<B, 1>) -> Tensor<B, 1> {
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_sigmoid(logits.neg());
    (log_p * labels.clone() + log_not_p * (labels.neg() + 1.0)).neg().mean()
}

/// Learning rate at `step` of `total`: linear warmup to `peak`, then linear decay to 0.
pub fn learning_rate(step: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if step < warmup {
        peak * (step + 1) as f64 / warmup as f64
    } else {
        let rest = total.saturating_sub(warmup).max(1);
        peak * (1.0 - (step - warmup) as f64 / rest as f64).max(0.0)
    }
}

/// Pairs framed from cached ids.
struct Framed {
    items: Vec<EncodedPair>,
    labels: Vec<bool>,
    problems: Vec<usize>,
}

fn frame(pairs: &[LabelledPair], ids: &HashMap<(Arc<str>, u32), Vec<u32>>, encoder: &PairEncoder) -> Framed {
    let get = |p: &crate::trace::TracePrefix| ids.get(&(p.pid.clone(), p.sample)).map(Vec::as_slice).unwrap_or(&[]);
    Framed {
        items: pairs.iter().map(|p| encoder.pair_from_ids(get(&p.a), get(&p.b), encoder.max_len())).collect(),
        labels: pairs.iter().map(|p| p.same).collect(),
        problems: pairs.iter().map(|p| p.problem).collect(),
    }
}

/// Evaluates `model` on framed pairs.
fn validate<B: Backend>(
    model: &CrossEncoder<B>,
    val: &Framed,
    buckets: &LengthBuckets,
    pad: u32,
    batch: usize,
    device: &B::Device,
) -> Result<(Option<f64>, Option<f64>, Option<f64>), TrainError> {
    let scores = super::neural::score_encoded(model, &val.items, buckets, pad, batch, device, &mut Default::default())
        .map_err(|e| TrainError::Model(e.to_string()))?;
    let m = super::eval::PairMetrics::from_labels(&val.labels, &val.problems, &scores);
    Ok((m.auroc, m.auroc_within, m.tnr_at_fnr_0_2))
}

/// Trains a judge; returns the per-epoch figures. The best epoch is saved to `config.output`.
pub fn train<B: AutodiffBackend>(
    config: &TrainConfig,
    device: &B::Device,
    progress: bool,
) -> Result<Vec<EpochReport>, TrainError> {
    let model_err = |e: String| TrainError::Model(e);
    let mut traces = load_traces(&config.traces)?;
    if let Some(n) = config.max_problems {
        traces.problems.truncate(n);
    }
    let spec = config.truncator.spec();
    let prefixes = pairs::prefixes(&traces, &spec)?;
    let (train_problems, val_problems) = pairs::split_problems(prefixes.len(), config.validation_fraction, config.seed);
    let mut train_pairs = pairs::all_pairs(&prefixes, &train_problems);
    if config.both_labels_only {
        train_pairs = pairs::with_both_labels(train_pairs);
    }
    let train_pairs = pairs::oversample_minority(&train_pairs, config.oversample);
    let val_pairs =
        pairs::sample_stratified(pairs::all_pairs(&prefixes, &val_problems), config.validation_max_pairs, config.seed);

    let base = BaseModelFiles::new(&config.base);
    let tokenizer = BertTokenizer::from_file(base.tokenizer()).map_err(|e| model_err(e.to_string()))?;
    let encoder = PairEncoder::new(tokenizer, config.max_len).map_err(|e| model_err(e.to_string()))?;
    let pad = encoder.tokenizer().special_tokens().pad;
    let buckets = LengthBuckets::new(config.buckets.clone()).map_err(|e| model_err(e.to_string()))?;
    // Each prefix appears in many pairs: tokenize it once.
    let mut ids = HashMap::new();
    for p in prefixes.iter().flatten() {
        let v = encoder.encode_text(&p.text).map_err(|e| model_err(e.to_string()))?;
        ids.insert((p.pid.clone(), p.sample), v);
    }
    let val = frame(&val_pairs, &ids, &encoder);

    let (mut model, model_config): (CrossEncoder<B>, CrossEncoderConfig) = if config.tiny {
        // The tiny encoder keeps the real vocabulary and positions so the real tokenizer fits.
        let full = BertConfig::all_minilm_l6_v2();
        let bert = BertConfig::tiny()
            .with_vocab_size(full.vocab_size)
            .with_max_position_embeddings(full.max_position_embeddings);
        let c = CrossEncoderConfig::new(bert).with_dropout(config.dropout);
        (c.init(device), c)
    } else {
        base.load_cross_encoder::<B>(config.dropout, device).map_err(|e| model_err(e.to_string()))?
    };
    let mut optim = AdamWConfig::new()
        .with_weight_decay(config.weight_decay)
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
        .init();

    let steps_per_epoch = train_pairs
        .len()
        .div_ceil(config.batch_size)
        .min(config.max_steps_per_epoch.unwrap_or(usize::MAX));
    let total = steps_per_epoch * config.epochs;
    let warmup = ((total as f64) * config.warmup_fraction).ceil() as usize;
    tracing::info!(
        train_pairs = train_pairs.len(),
        val_pairs = val_pairs.len(),
        positives = train_pairs.iter().filter(|p| p.same).count(),
        steps = total,
        "training"
    );
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..train_pairs.len()).collect();
    let mut history: Vec<EpochReport> = Vec::new();
    let mut best = f64::NEG_INFINITY;
    let mut step = 0usize;
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        order.shuffle(&mut rng);
        let bar = progress.then(|| {
            let pb = indicatif::ProgressBar::new(steps_per_epoch as u64);
            pb.set_style(
                indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                    .expect("the template is valid; this is a bug"),
            );
            pb.set_prefix(epoch.to_string());
            pb
        });
        let (mut loss_sum, mut loss_n, mut seen) = (0.0f64, 0usize, 0usize);
        for chunk in order.chunks(config.batch_size).take(steps_per_epoch) {
            let batch_pairs: Vec<LabelledPair> = chunk
                .iter()
                .map(|&i| if config.swap && rng.random_bool(0.5) { pairs::swapped(&train_pairs[i]) } else { train_pairs[i].clone() })
                .collect();
            let framed = frame(&batch_pairs, &ids, &encoder);
            let batch = PaddedBatch::new(&framed.items, &buckets, pad).map_err(|e| model_err(e.to_string()))?;
            let labels: Vec<f32> = framed.labels.iter().map(|&l| l as u8 as f32).collect();
            let labels = Tensor::<B, 1>::from_data(TensorData::new(labels, [chunk.len()]), device);
            let logits = model.forward(&batch.to_input::<B>(device));
            let loss = match config.loss {
                LossKind::Focal => focal_loss(logits, labels, config.gamma, config.alpha),
                LossKind::Bce => bce_loss(logits, labels),
            };
            // Reading the loss syncs the device; every 10 steps is enough for the bar.
            if step.is_multiple_of(10) {
                let v: f32 = loss.clone().into_scalar().elem();
                loss_sum += v as f64;
                loss_n += 1;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(learning_rate(step, total, warmup, config.lr), model, grads);
            step += 1;
            seen += chunk.len();
            if step.is_multiple_of(200) {
                let rate = seen as f64 / start.elapsed().as_secs_f64().max(1e-9);
                tracing::info!(epoch, step, loss = loss_sum / loss_n.max(1) as f64, pairs_per_s = rate, "training");
            }
            if let Some(pb) = &bar {
                pb.inc(1);
                let rate = seen as f64 / start.elapsed().as_secs_f64().max(1e-9);
                pb.set_message(format!("loss {:.4} {:.0} pairs/s", loss_sum / loss_n.max(1) as f64, rate));
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        if let Some(pb) = bar {
            pb.finish();
        }
        let inner = model.valid();
        let (auroc, within, tnr) = if val.items.is_empty() {
            (None, None, None)
        } else {
            validate(&inner, &val, &buckets, pad, config.batch_size * 4, device)?
        };
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / loss_n.max(1) as f64,
            train_pairs: seen,
            pairs_per_second: seen as f64 / train_seconds.max(1e-9),
            val_pairs: val.items.len(),
            val_auroc: auroc,
            val_auroc_within: within,
            val_tnr_at_fnr_0_2: tnr,
            seconds: start.elapsed().as_secs_f64(),
        };
        let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        eprintln!(
            "epoch {epoch}: loss {:.4}, {:.0} pairs/s, val AUROC {} (within-problem {}), TNR@FNR0.2 {}",
            report.train_loss,
            report.pairs_per_second,
            f(auroc),
            f(within),
            f(tnr)
        );
        history.push(report.clone());
        let selected = |r: &EpochReport| {
            match config.select {
                SelectBy::Auroc => r.val_auroc,
                SelectBy::AurocWithin => r.val_auroc_within,
            }
            .unwrap_or(f64::NEG_INFINITY)
        };
        let score = selected(&report);
        if score > best || epoch == 1 {
            best = score;
            let precision = match config.save_precision {
                SavePrecision::F32 => CheckpointPrecision::F32,
                SavePrecision::F16 => CheckpointPrecision::F16,
                SavePrecision::Bf16 => CheckpointPrecision::BF16,
            };
            save_checkpoint(&inner, &model_config, &config.output, precision).map_err(|e| model_err(e.to_string()))?;
            let tok_src = base.tokenizer();
            let tok_dst = config.output.join("tokenizer.json");
            std::fs::copy(&tok_src, &tok_dst).map_err(|source| TrainError::Io { path: tok_dst, source })?;
        }
        let best_report = history
            .iter()
            .max_by(|a, b| selected(a).total_cmp(&selected(b)))
            .cloned()
            .unwrap_or_default();
        let meta = CheckpointMeta {
            train: config.clone(),
            max_len: config.max_len,
            buckets: config.buckets.clone(),
            validation: best_report,
            history: history.clone(),
        };
        let path = config.output.join("train.json");
        let json = serde_json::to_string_pretty(&meta).map_err(|e| model_err(e.to_string()))?;
        std::fs::write(&path, json).map_err(|source| TrainError::Io { path, source })?;
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn focal_loss_matches_hand_computed_values() {
        let device = Default::default();
        let logits = Tensor::<Flex, 1>::from_floats([2.0, -1.0, 0.0], &device);
        let labels = Tensor::<Flex, 1>::from_floats([1.0, 1.0, 0.0], &device);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let pts = [sig(2.0), sig(-1.0), 1.0 - sig(0.0)];
        let alphas = [0.25, 0.25, 0.75];
        let want: f64 = pts.iter().zip(alphas).map(|(&p, a)| -a * (1.0 - p).powi(2) * p.ln()).sum::<f64>() / 3.0;
        let got: f32 = focal_loss(logits.clone(), labels.clone(), 2.0, 0.25).into_scalar().elem();
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        // γ = 0, α = 0.5: half the BCE.
        let half: f32 = focal_loss(logits.clone(), labels.clone(), 0.0, 0.5).into_scalar().elem();
        let bce: f32 = bce_loss(logits, labels).into_scalar().elem();
        assert!((half * 2.0 - bce).abs() < 1e-5, "{half} {bce}");
    }

    #[test]
    fn learning_rate_warms_up_then_decays() {
        assert!((learning_rate(0, 100, 10, 1.0) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 100, 10, 1.0) - 1.0).abs() < 1e-12);
        assert!((learning_rate(55, 100, 10, 1.0) - 0.5).abs() < 1e-12);
        assert!(learning_rate(100, 100, 10, 1.0).abs() < 1e-12);
    }
}
