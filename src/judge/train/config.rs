//! What a training run reads and writes: its YAML config ([`TrainConfig`], every key documented
//! in `training/judge-minilm.yaml`) and the `train.json` beside a checkpoint ([`CheckpointMeta`]),
//! which records that config and the validation figures of every epoch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::config::{DeviceKind, TruncatorConfig};

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

/// A training run, read from YAML (every key documented in `training/judge-minilm.yaml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The base model directory (`scripts/dev/fetch-base-model.sh`).
    #[serde(default = "default_base")]
    pub base: PathBuf,
    /// Training traces (labelled with `answer_class`): one file, or a list of files, each with a
    /// weight (one generator's traces per file: pairs are built within a file's problems).
    pub traces: TraceFiles,
    /// A judge checkpoint to start from instead of `base` (its weights, config and tokenizer).
    #[serde(default)]
    pub init: Option<PathBuf>,
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
    /// Train only on problems whose pairs carry both labels ([`super::data::with_both_labels`]).
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
    /// Wall-clock budget for the whole run's training steps, in seconds. The learning rate
    /// decays to 0 by whichever comes first, the last step or the budget; when the budget runs
    /// out the epoch ends there and is validated and saved as usual.
    #[serde(default)]
    pub max_seconds: Option<f64>,
    /// Also validate (and save, if best) every this many steps, not only at each epoch's end.
    #[serde(default)]
    pub validate_every: Option<usize>,
    /// Seed for the split, shuffling and sampling.
    #[serde(default)]
    pub seed: u64,
    /// `cpu` or `cuda`.
    #[serde(default)]
    pub device: DeviceKind,
    /// CUDA only: train through Burn's kernel fusion (`true`) or with one kernel per operation
    /// (`false`: no fused kernels to compile and tune on a machine with a cold cache).
    #[serde(default = "default_fusion")]
    pub fusion: bool,
    /// Checkpoint directory.
    pub output: PathBuf,
    /// Weight precision of the saved checkpoint.
    #[serde(default = "default_save_precision")]
    pub save_precision: SavePrecision,
    /// Test only: a tiny randomly initialised encoder instead of the base model.
    #[serde(default)]
    pub tiny: bool,
}

/// Training trace files: a path, or a list of `{path, weight}`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TraceFiles {
    /// One file, weight 1.
    One(PathBuf),
    /// Several files, each with its weight.
    Many(Vec<TraceFile>),
}

/// One training trace file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceFile {
    /// The traces (`answer_class` labelled).
    pub path: PathBuf,
    /// How often each of its training pairs is shown per epoch: 2 doubles them, 0.25 shows a
    /// seeded quarter of them (the pairs are drawn once, before the first epoch).
    #[serde(default = "default_file_weight")]
    pub weight: f64,
    /// Use only its first N problems (learning curves); the top-level `max_problems` applies too.
    #[serde(default)]
    pub max_problems: Option<usize>,
}

/// Weight 1: every pair once per epoch.
fn default_file_weight() -> f64 {
    1.0
}

impl<'de> Deserialize<'de> for TraceFiles {
    // A path or a list, told apart by the value's shape so that each form reports its own
    // errors (an untagged enum would only say that neither form matched).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_norway::Value::deserialize(d)? {
            serde_norway::Value::String(path) => Ok(TraceFiles::One(PathBuf::from(path))),
            list @ serde_norway::Value::Sequence(_) => serde_norway::from_value(list).map(TraceFiles::Many).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("expected a file path or a list of {{path, weight}}, got {other:?}"))),
        }
    }
}

impl TraceFiles {
    /// The files, in order.
    pub fn files(&self) -> Vec<TraceFile> {
        match self {
            TraceFiles::One(path) => vec![TraceFile { path: path.clone(), weight: 1.0, max_problems: None }],
            TraceFiles::Many(files) => files.clone(),
        }
    }
}

/// The fetched base model.
fn default_base() -> PathBuf {
    PathBuf::from(crate::judge::bert::weights::BASE_MODEL_DIR)
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
/// Kernel fusion on: faster once its kernels are compiled.
fn default_fusion() -> bool {
    true
}
/// f16: half the size; scores change by < 1e-3.
fn default_save_precision() -> SavePrecision {
    SavePrecision::F16
}

impl TrainConfig {
    /// Reads a training config and applies `key=value` overrides (top-level or `truncator.x`).
    /// Relative paths in the file are relative to its folder; those in overrides, to the
    /// current directory.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, TrainError> {
        // `traces` is a path or a list of {path, weight}: both forms are resolved.
        let config: TrainConfig =
            crate::config::load_yaml(path, overrides, &["base", "traces", "traces.*.path", "init", "output"])?;
        let errors = config.validate();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(crate::config::ConfigError { file: path.display().to_string(), errors }.into())
        }
    }

    /// Every problem with the values.
    pub fn validate(&self) -> Vec<String> {
        let mut e = Vec::new();
        let files = self.traces.files();
        if files.is_empty() {
            e.push("traces: expected a file or a non-empty list of {path, weight}".into());
        }
        for (i, f) in files.iter().enumerate() {
            let key = if matches!(self.traces, TraceFiles::One(_)) { "traces".to_string() } else { format!("traces[{i}]") };
            if let Some(problem) = crate::trace::dataset::not_a_file(&f.path) {
                e.push(format!("{key}: file {} {problem}", f.path.display()));
            }
            if !(f.weight.is_finite() && f.weight >= 0.0) {
                e.push(format!("{key}.weight: expected a finite number ≥ 0, got {}", f.weight));
            }
        }
        if let Some(dir) = &self.init {
            if !dir.join("model.safetensors").is_file() {
                e.push(format!("init: {} holds no judge checkpoint (model.safetensors)", dir.display()));
            }
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
        if self.max_seconds.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            e.push(format!("max_seconds: expected a number of seconds > 0, got {}", self.max_seconds.unwrap_or_default()));
        }
        if self.validate_every == Some(0) {
            e.push("validate_every: expected a number of steps ≥ 1 (or null for epoch ends only)".into());
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

/// Why a checkpoint's `train.json` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointMetaError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// `train.json`.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a `train.json` (or could not be encoded as one).
    #[error("{}: {source}", path.display())]
    Json {
        /// `train.json`.
        path: PathBuf,
        /// What `serde_json` reported.
        #[source]
        source: serde_json::Error,
    },
}

impl CheckpointMeta {
    /// The file name, in a checkpoint directory.
    pub const FILE: &'static str = "train.json";

    /// Reads `dir/train.json`.
    pub fn read(dir: &Path) -> Result<Self, CheckpointMetaError> {
        let path = dir.join(Self::FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => return Err(CheckpointMetaError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| CheckpointMetaError::Json { path, source })
    }

    /// Writes `dir/train.json`.
    pub fn write(&self, dir: &Path) -> Result<(), CheckpointMetaError> {
        let path = dir.join(Self::FILE);
        let json = match serde_json::to_string_pretty(self) {
            Ok(json) => json,
            Err(source) => return Err(CheckpointMetaError::Json { path, source }),
        };
        std::fs::write(&path, json).map_err(|source| CheckpointMetaError::Io { path, source })
    }
}

/// One validation's figures: at an epoch's end, or every `validate_every` steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training steps taken so far in the run (0 in checkpoints written before it was recorded).
    #[serde(default)]
    pub step: usize,
    /// Whether the run's `max_seconds` ended training here.
    #[serde(default)]
    pub out_of_time: bool,
    /// Mean training loss.
    pub train_loss: f64,
    /// Pairs trained on.
    pub train_pairs: usize,
    /// Training throughput over the epoch so far.
    pub pairs_per_second: f64,
    /// Validation pairs.
    pub val_pairs: usize,
    /// Pooled validation AUROC (`None` without both labels).
    pub val_auroc: Option<f64>,
    /// Within-problem validation AUROC (`None` when no problem has both labels).
    pub val_auroc_within: Option<f64>,
    /// TNR at FNR = 0.2.
    pub val_tnr_at_fnr_0_2: Option<f64>,
    /// Seconds since the epoch began, validation included.
    pub seconds: f64,
}
