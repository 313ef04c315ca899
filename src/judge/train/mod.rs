//! Training the cross-encoder judge: `deepprune judge train training/judge-minilm.yaml`.
//!
//! Pairs are built within each training problem and labelled `same = (class_i == class_j &&
//! class_i >= 0)`; prefixes are cut by the pipeline's own truncator; the validation split is by
//! problem. The loss is focal loss (Lin et al. 2017; DeepPrune uses γ = 2) or plain BCE, the
//! minority label is oversampled, and AdamW runs with linear warmup then linear decay. Pairs can
//! be shown in either order (`swap`) and restricted to problems with both labels
//! (`both_labels_only`). The checkpoint with the best validation AUROC (pooled or within-problem,
//! `select`) is kept, with `config.json` (the model shape) and
//! `train.json` (this config and the validation figures) beside it.
//!
//! - [`config`]: the run's YAML ([`TrainConfig`]) and the checkpoint's `train.json`
//!   ([`CheckpointMeta`]).
//! - [`data`]: labelled pairs within each problem, the split by problem, oversampling and
//!   stratified sampling.
//! - [`loss`]: focal loss and binary cross-entropy over logits.
//! - this module: the training loop ([`train`]) and its learning-rate schedule.

pub mod config;
pub mod data;
pub mod loss;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub use config::{
    CheckpointMeta, CheckpointMetaError, EpochReport, LossKind, SavePrecision, SelectBy, TraceFile, TraceFiles, TrainConfig,
};
pub use loss::{bce_loss, focal_loss};

use self::data::{frame, Framed, LabelledPair};
use super::bert::{
    save_checkpoint, BaseModelFiles, BertConfig, BertTokenizer, CheckpointPrecision, CrossEncoder, CrossEncoderConfig,
    LengthBuckets, PaddedBatch, PairEncoder, TokenizeError, WeightsError,
};
use super::JudgeError;
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
    /// The base model's weights could not be loaded, or the checkpoint's saved.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// The tokenizer could not be loaded, or a prefix tokenized or padded.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// Scoring the validation pairs failed.
    #[error(transparent)]
    Validate(#[from] JudgeError),
    /// The checkpoint's `train.json` could not be written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointMetaError),
    /// The config asks for a device this build cannot run on.
    #[error(transparent)]
    Device(#[from] super::backend::CudaNotBuilt),
    /// Writing results failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Learning rate at `step` of `total`: linear warmup to `peak`, then linear decay to 0. With a
/// time budget, `elapsed` is the share of it spent, and the decay follows whichever of steps and
/// time is further along (0 without a budget).
pub fn learning_rate(step: usize, total: usize, warmup: usize, peak: f64, elapsed: f64) -> f64 {
    if step < warmup {
        peak * (step + 1) as f64 / warmup as f64
    } else {
        let rest = total.saturating_sub(warmup).max(1);
        let done = ((step - warmup) as f64 / rest as f64).max(elapsed);
        peak * (1.0 - done).max(0.0)
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
    let scores = super::neural::score_encoded(model, &val.items, buckets, pad, batch, device, &mut Default::default())?;
    let m = super::eval::PairMetrics::from_labels(&val.labels, &val.problems, &scores);
    Ok((m.auroc, m.auroc_within, m.tnr_at_fnr_0_2))
}

/// Trains a judge; returns the per-epoch figures. The best epoch is saved to `config.output`.
pub fn train<B: AutodiffBackend>(
    config: &TrainConfig,
    device: &B::Device,
    progress: bool,
) -> Result<Vec<EpochReport>, TrainError> {
    // Every file's problems in one list; a problem is (file, pid), so pairs never mix generators.
    let files = config.traces.files();
    let specs = config.truncator.checkpoint_specs();
    let (mut prefixes, mut pids, mut weights) = (vec![Vec::new(); specs.len()], Vec::new(), Vec::new());
    for file in &files {
        let mut traces = load_traces(&file.path)?;
        let limit = file.max_problems.unwrap_or(usize::MAX).min(config.max_problems.unwrap_or(usize::MAX));
        traces.problems.truncate(limit);
        for (at, spec) in prefixes.iter_mut().zip(&specs) {
            at.extend(data::prefixes(&traces, spec)?);
        }
        pids.extend(traces.problems.iter().map(|(pid, _)| pid.clone()));
        weights.extend(std::iter::repeat_n(file.weight, traces.problems.len()));
    }
    let pid_refs: Vec<&str> = pids.iter().map(String::as_str).collect();
    let (train_problems, val_problems) = data::split_problems_by_pid(&pid_refs, config.validation_fraction, config.seed);
    // With later checkpoints each pair is cut at one of them, drawn with the seed.
    let pairs_of = |problems: &[usize]| {
        data::mix_checkpoints(prefixes.iter().map(|p| data::all_pairs(p, problems)).collect(), config.seed)
    };
    let mut train_pairs = pairs_of(&train_problems);
    if config.both_labels_only {
        train_pairs = data::with_both_labels(train_pairs);
    }
    let train_pairs = data::oversample_minority(&train_pairs, config.oversample);
    let train_pairs = if weights.iter().all(|&w| w == 1.0) {
        train_pairs
    } else {
        data::weighted(train_pairs, |p| weights[p], config.seed)
    };
    let val_pairs = data::sample_stratified(pairs_of(&val_problems), config.validation_max_pairs, config.seed);

    let base = BaseModelFiles::new(config.init.as_ref().unwrap_or(&config.base));
    let tokenizer = BertTokenizer::from_file(base.tokenizer())?;
    let encoder = PairEncoder::new(tokenizer, config.max_len)?;
    let pad = encoder.tokenizer().special_tokens().pad;
    let buckets = LengthBuckets::new(config.buckets.clone())?;
    // Each prefix appears in many pairs: tokenize it once. A prefix is (problem, sample, its
    // length in tokens): the same trace cut at two checkpoints is two prefixes.
    let mut ids = HashMap::new();
    for at in &prefixes {
        for (problem, ps) in at.iter().enumerate() {
            for p in ps {
                if let std::collections::hash_map::Entry::Vacant(slot) = ids.entry((problem, p.sample, p.tokens)) {
                    slot.insert(encoder.encode_text(&p.text)?);
                }
            }
        }
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
    } else if let Some(dir) = &config.init {
        super::bert::load_checkpoint::<B>(dir, device)?
    } else {
        base.load_cross_encoder::<B>(config.dropout, device)?
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
    let mut saved = Saved { config, base: &base, model_config: &model_config, history: Vec::new(), best: f64::NEG_INFINITY };
    let budget = config.max_seconds;
    let run_start = Instant::now();
    let mut step = 0usize;
    'epochs: for epoch in 1..=config.epochs {
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
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).take(steps_per_epoch).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let batch_pairs: Vec<LabelledPair> = chunk
                .iter()
                .map(|&i| if config.swap && rng.random_bool(0.5) { data::swapped(&train_pairs[i]) } else { train_pairs[i].clone() })
                .collect();
            let framed = frame(&batch_pairs, &ids, &encoder);
            let batch = PaddedBatch::new(&framed.items, &buckets, pad)?;
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
            let elapsed = budget.map_or(0.0, |b| run_start.elapsed().as_secs_f64() / b);
            model = optim.step(learning_rate(step, total, warmup, config.lr, elapsed), model, grads);
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
            let out_of_time = budget.is_some_and(|b| run_start.elapsed().as_secs_f64() >= b);
            let epoch_end = i + 1 == chunks.len();
            if epoch_end || out_of_time || config.validate_every.is_some_and(|n| step.is_multiple_of(n)) {
                let train_seconds = start.elapsed().as_secs_f64();
                let inner = model.valid();
                let (auroc, within, tnr) = if val.items.is_empty() {
                    (None, None, None)
                } else {
                    validate(&inner, &val, &buckets, pad, config.batch_size * 4, device)?
                };
                let report = EpochReport {
                    epoch,
                    step,
                    out_of_time,
                    train_loss: loss_sum / loss_n.max(1) as f64,
                    train_pairs: seen,
                    pairs_per_second: seen as f64 / train_seconds.max(1e-9),
                    val_pairs: val.items.len(),
                    val_auroc: auroc,
                    val_auroc_within: within,
                    val_tnr_at_fnr_0_2: tnr,
                    seconds: start.elapsed().as_secs_f64(),
                };
                saved.record(&inner, report)?;
            }
            if out_of_time {
                if let Some(pb) = bar {
                    pb.abandon_with_message("out of time (max_seconds)");
                }
                break 'epochs;
            }
        }
        if let Some(pb) = bar {
            pb.finish();
        }
    }
    Ok(saved.history)
}

/// The run's validations so far, and the checkpoint of the best one.
struct Saved<'a> {
    config: &'a TrainConfig,
    base: &'a BaseModelFiles,
    model_config: &'a CrossEncoderConfig,
    history: Vec<EpochReport>,
    best: f64,
}

impl Saved<'_> {
    /// The figure that picks the saved checkpoint.
    fn selected(&self, r: &EpochReport) -> f64 {
        match self.config.select {
            SelectBy::Auroc => r.val_auroc,
            SelectBy::AurocWithin => r.val_auroc_within,
        }
        .unwrap_or(f64::NEG_INFINITY)
    }

    /// Logs a validation, saves the model if it is the best so far (or the first), and rewrites
    /// `train.json`.
    fn record<B: Backend>(&mut self, model: &CrossEncoder<B>, report: EpochReport) -> Result<(), TrainError> {
        let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        eprintln!(
            "epoch {} step {}{}: loss {:.4}, {:.0} pairs/s, val AUROC {} (within-problem {}), TNR@FNR0.2 {}",
            report.epoch,
            report.step,
            if report.out_of_time { " (out of time)" } else { "" },
            report.train_loss,
            report.pairs_per_second,
            f(report.val_auroc),
            f(report.val_auroc_within),
            f(report.val_tnr_at_fnr_0_2)
        );
        let score = self.selected(&report);
        let first = self.history.is_empty();
        self.history.push(report);
        if score > self.best || first {
            self.best = score;
            let precision = match self.config.save_precision {
                SavePrecision::F32 => CheckpointPrecision::F32,
                SavePrecision::F16 => CheckpointPrecision::F16,
                SavePrecision::Bf16 => CheckpointPrecision::BF16,
            };
            save_checkpoint(model, self.model_config, &self.config.output, precision)?;
            let tok_src = self.base.tokenizer();
            let tok_dst = self.config.output.join("tokenizer.json");
            std::fs::copy(&tok_src, &tok_dst).map_err(|source| TrainError::Io { path: tok_dst, source })?;
        }
        let best_report = self
            .history
            .iter()
            .max_by(|a, b| self.selected(a).total_cmp(&self.selected(b)))
            .cloned()
            .unwrap_or_default();
        let meta = CheckpointMeta {
            train: self.config.clone(),
            max_len: self.config.max_len,
            buckets: self.config.buckets.clone(),
            validation: best_report,
            history: self.history.clone(),
        };
        meta.write(&self.config.output)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_warms_up_then_decays() {
        assert!((learning_rate(0, 100, 10, 1.0, 0.0) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 100, 10, 1.0, 0.0) - 1.0).abs() < 1e-12);
        assert!((learning_rate(55, 100, 10, 1.0, 0.0) - 0.5).abs() < 1e-12);
        assert!(learning_rate(100, 100, 10, 1.0, 0.0).abs() < 1e-12);
    }

    #[test]
    fn a_time_budget_decays_the_rate_when_time_is_further_along_than_steps() {
        // A quarter of the steps but three quarters of the time: a quarter of the peak is left.
        assert!((learning_rate(32, 100, 10, 1.0, 0.75) - 0.25).abs() < 1e-12);
        // Steps further along than time: the step schedule rules.
        assert!((learning_rate(55, 100, 10, 1.0, 0.1) - 0.5).abs() < 1e-12);
        // Out of time: nothing left, even mid-way through the steps.
        assert!(learning_rate(20, 100, 10, 1.0, 1.0).abs() < 1e-12);
        // Warmup follows steps only.
        assert!((learning_rate(4, 100, 10, 1.0, 0.9) - 0.5).abs() < 1e-12);
    }
}
