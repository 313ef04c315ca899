//! Loading base weights into the encoder (and its shape from the base model's Hugging Face
//! `config.json`), and saving/loading trained cross-encoder checkpoints.
//!
//! Base checkpoint (Hugging Face BERT `model.safetensors`, e.g. all-MiniLM-L6-v2) → module
//! path in [`BertEncoder`] (`N` is the layer index; an optional leading `bert.` is dropped).
//! Linear weights are transposed from PyTorch's `[out, in]` by [`PyTorchToBurnAdapter`].
//!
//! | checkpoint key                                        | module path                       |
//! |-------------------------------------------------------|-----------------------------------|
//! | `embeddings.word_embeddings.weight`                   | `embeddings.word.weight`          |
//! | `embeddings.position_embeddings.weight`               | `embeddings.position.weight`      |
//! | `embeddings.token_type_embeddings.weight`             | `embeddings.token_type.weight`    |
//! | `embeddings.LayerNorm.{weight,bias}`                  | `embeddings.norm.{gamma,beta}`    |
//! | `encoder.layer.N.attention.self.query.{weight,bias}`  | `layers.N.attention.query.*`      |
//! | `encoder.layer.N.attention.self.key.{weight,bias}`    | `layers.N.attention.key.*`        |
//! | `encoder.layer.N.attention.self.value.{weight,bias}`  | `layers.N.attention.value.*`      |
//! | `encoder.layer.N.attention.output.dense.*`            | `layers.N.attention.output.*`     |
//! | `encoder.layer.N.attention.output.LayerNorm.*`        | `layers.N.attention_norm.*`       |
//! | `encoder.layer.N.intermediate.dense.*`                | `layers.N.ffn_in.*`               |
//! | `encoder.layer.N.output.dense.*`                      | `layers.N.ffn_out.*`              |
//! | `encoder.layer.N.output.LayerNorm.*`                  | `layers.N.ffn_norm.*`             |
//! | `pooler.dense.{weight,bias}`                          | `pooler.{weight,bias}`            |
//! | `embeddings.position_ids`                             | (unused buffer)                   |
//!
//! Trained checkpoints are a directory holding `config.json` (the [`CrossEncoderConfig`]) and
//! `model.safetensors` in Burn's own layout (module paths as keys, no remapping), optionally in
//! f16/bf16 to halve the size. Loading casts every tensor to the model's float type, so a
//! half-precision checkpoint serves on an f32 CPU backend and an f32 one on a bf16 GPU.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::Module;
use burn::store::{
    ApplyError, ApplyResult, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter,
    SafetensorsStore, SafetensorsStoreError, TensorSnapshot,
};
use burn::tensor::backend::Backend;
use burn::tensor::DType;
use serde::Deserialize;

use super::model::{BertConfig, BertEncoder, CrossEncoder, CrossEncoderConfig};

/// Where `scripts/dev/fetch-base-model.sh` puts all-MiniLM-L6-v2, relative to the repository root.
pub const BASE_MODEL_DIR: &str = "models/base/all-minilm-l6-v2";
/// Weights file name, in a base model folder and in a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Config file name: Hugging Face's in a base model folder, [`CrossEncoderConfig`] in a
/// checkpoint directory.
pub const CONFIG_FILE: &str = "config.json";
/// Tokenizer file name in a base model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Checkpoint key pattern → module path replacement, applied in order (see the module table).
const BASE_KEY_REMAP: &[(&str, &str)] = &[
    (r"^bert\.", ""),
    (r"^embeddings\.word_embeddings\.", "embeddings.word."),
    (
        r"^embeddings\.position_embeddings\.",
        "embeddings.position.",
    ),
    (
        r"^embeddings\.token_type_embeddings\.",
        "embeddings.token_type.",
    ),
    (r"^embeddings\.LayerNorm\.", "embeddings.norm."),
    (r"^encoder\.layer\.(\d+)\.", "layers.$1."),
    (r"^layers\.(\d+)\.attention\.self\.", "layers.$1.attention."),
    (
        r"^layers\.(\d+)\.attention\.output\.dense\.",
        "layers.$1.attention.output.",
    ),
    (
        r"^layers\.(\d+)\.attention\.output\.LayerNorm\.",
        "layers.$1.attention_norm.",
    ),
    (
        r"^layers\.(\d+)\.intermediate\.dense\.",
        "layers.$1.ffn_in.",
    ),
    (r"^layers\.(\d+)\.output\.dense\.", "layers.$1.ffn_out."),
    (
        r"^layers\.(\d+)\.output\.LayerNorm\.",
        "layers.$1.ffn_norm.",
    ),
    (r"^pooler\.dense\.", "pooler."),
    (r"norm\.weight$", "norm.gamma"),
    (r"norm\.bias$", "norm.beta"),
];

/// What is wrong with one tensor of a weights file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorProblem {
    /// The module has a parameter the file does not provide.
    Missing {
        /// The module path (after key remapping).
        key: String,
    },
    /// The file's tensor has another shape than the parameter.
    ShapeMismatch {
        /// The module path.
        key: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// The tensor could not be read or converted.
    Unreadable {
        /// The module path.
        key: String,
        /// What went wrong.
        message: String,
    },
}

impl std::fmt::Display for TensorProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { key } => write!(f, "no tensor for parameter `{key}`"),
            Self::ShapeMismatch {
                key,
                expected,
                found,
            } => write!(
                f,
                "tensor `{key}` has shape {found:?}, expected {expected:?}"
            ),
            Self::Unreadable { key, message } => write!(f, "tensor `{key}`: {message}"),
        }
    }
}

/// Errors from loading or saving encoder weights and checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// A weights, config or tokenizer file that should exist does not.
    #[error("{path} does not exist{hint}")]
    NotFound {
        /// The missing file.
        path: PathBuf,
        /// How to get it, if known (starts with "; ").
        hint: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not what was expected.
    #[error("bad config {path}: {message}")]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The safetensors file could not be opened, parsed or written.
    #[error("cannot use safetensors file {path}: {source}")]
    Store {
        /// The weights file.
        path: PathBuf,
        /// What burn-store reported.
        #[source]
        source: SafetensorsStoreError,
    },
    /// The weights file does not fit the module: every problem found is listed.
    #[error("{path} does not fit the model ({} problem(s)):\n  {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Mismatch {
        /// The weights file.
        path: PathBuf,
        /// Each tensor that is missing, misshapen or unreadable.
        problems: Vec<TensorProblem>,
    },
}

const FETCH_HINT: &str = "; run scripts/dev/fetch-base-model.sh to download the base model";

/// Casts every float tensor to one dtype on its way through a store (both directions).
#[derive(Debug, Clone, Copy)]
struct CastFloats(DType);

impl ModuleAdapter for CastFloats {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        let is_float = matches!(
            snapshot.dtype,
            DType::F64 | DType::F32 | DType::Flex32 | DType::F16 | DType::BF16
        );
        if !is_float || snapshot.dtype == self.0 {
            return snapshot.clone();
        }
        let target = self.0;
        let data = snapshot.clone_data_fn();
        TensorSnapshot::from_closure(
            std::rc::Rc::new(move || data().map(|d| d.convert_dtype(target))),
            target,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}

/// The float dtype the encoder's parameters use (what loaded tensors are cast to).
fn float_dtype<B: Backend>(encoder: &BertEncoder<B>) -> DType {
    encoder.embeddings.norm.gamma.val().dtype()
}

fn require_file(path: &Path, hint: &'static str) -> Result<(), WeightsError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(WeightsError::NotFound {
            path: path.to_path_buf(),
            hint,
        })
    }
}

/// Turns burn-store's report into an error listing every missing or bad tensor.
fn check_applied(path: &Path, result: &ApplyResult) -> Result<(), WeightsError> {
    let mut problems: Vec<TensorProblem> = result
        .errors
        .iter()
        .map(|error| match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => TensorProblem::ShapeMismatch {
                key: path.clone(),
                expected: expected.to_vec(),
                found: found.to_vec(),
            },
            ApplyError::DTypeMismatch { path, .. }
            | ApplyError::AdapterError { path, .. }
            | ApplyError::LoadError { path, .. } => TensorProblem::Unreadable {
                key: path.clone(),
                message: error.to_string(),
            },
        })
        .collect();
    problems.extend(
        result
            .missing
            .iter()
            .map(|(key, _)| TensorProblem::Missing { key: key.clone() }),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WeightsError::Mismatch {
            path: path.to_path_buf(),
            problems,
        })
    }
}

/// Loads a Hugging Face BERT `model.safetensors` into `encoder` (all parameters, pooler
/// included), converting to the encoder's float type.
pub fn load_base_weights<B: Backend>(
    encoder: &mut BertEncoder<B>,
    weights: impl AsRef<Path>,
) -> Result<(), WeightsError> {
    let path = weights.as_ref();
    require_file(path, FETCH_HINT)?;
    let remapper = KeyRemapper::from_patterns(BASE_KEY_REMAP.to_vec())
        .expect("BASE_KEY_REMAP patterns are valid regexes; this is a bug");
    let mut store = SafetensorsStore::from_file(path)
        .remap(remapper)
        .with_from_adapter(PyTorchToBurnAdapter.chain(CastFloats(float_dtype(encoder))))
        // Problems are collected and reported together below, naming the file.
        .validate(false)
        .allow_partial(true);
    let result = encoder
        .load_from(&mut store)
        .map_err(|source| WeightsError::Store {
            path: path.to_path_buf(),
            source,
        })?;
    check_applied(path, &result)?;
    for key in &result.unused {
        tracing::debug!(file = %path.display(), key, "checkpoint tensor not used by the encoder");
    }
    Ok(())
}

/// The subset of a Hugging Face `config.json` that fixes a BERT's shape.
#[derive(Debug, Deserialize)]
struct HfBertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    hidden_dropout_prob: f64,
    #[serde(default = "default_hidden_act")]
    hidden_act: String,
    #[serde(default = "default_position_embedding_type")]
    position_embedding_type: String,
}

/// Hugging Face's default `hidden_act` for BERT.
fn default_hidden_act() -> String {
    "gelu".to_string()
}

/// Hugging Face's default `position_embedding_type` for BERT.
fn default_position_embedding_type() -> String {
    "absolute".to_string()
}

impl BertConfig {
    /// Reads the shape from a Hugging Face BERT `config.json` (as shipped with a checkpoint).
    ///
    /// Fails when the file is unreadable, is not a BERT config, or asks for a variant this
    /// encoder does not implement (an activation other than exact GELU, or relative positions).
    pub fn from_hf_config_file(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WeightsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let hf: HfBertConfig =
            serde_json::from_str(&text).map_err(|source| WeightsError::BadConfig {
                path: path.to_path_buf(),
                message: source.to_string(),
            })?;
        let unsupported = |key: &str, found: &str, expected: &str| WeightsError::BadConfig {
            path: path.to_path_buf(),
            message: format!("`{key}` is \"{found}\", only \"{expected}\" is supported"),
        };
        if hf.hidden_act != "gelu" {
            return Err(unsupported("hidden_act", &hf.hidden_act, "gelu"));
        }
        if hf.position_embedding_type != "absolute" {
            return Err(unsupported(
                "position_embedding_type",
                &hf.position_embedding_type,
                "absolute",
            ));
        }
        if hf.num_attention_heads == 0 || !hf.hidden_size.is_multiple_of(hf.num_attention_heads) {
            return Err(WeightsError::BadConfig {
                path: path.to_path_buf(),
                message: format!(
                    "`hidden_size` {} is not a multiple of `num_attention_heads` {}",
                    hf.hidden_size, hf.num_attention_heads
                ),
            });
        }
        Ok(Self {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            num_layers: hf.num_hidden_layers,
            num_heads: hf.num_attention_heads,
            intermediate_size: hf.intermediate_size,
            max_position_embeddings: hf.max_position_embeddings,
            type_vocab_size: hf.type_vocab_size,
            layer_norm_eps: hf.layer_norm_eps,
            hidden_dropout: hf.hidden_dropout_prob,
        })
    }
}

/// The files of a base model folder (see [`BASE_MODEL_DIR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseModelFiles {
    /// The folder.
    pub dir: PathBuf,
}

impl BaseModelFiles {
    /// The base model in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `model.safetensors`.
    pub fn weights(&self) -> PathBuf {
        self.dir.join(WEIGHTS_FILE)
    }

    /// Hugging Face `config.json`.
    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// `tokenizer.json`.
    pub fn tokenizer(&self) -> PathBuf {
        self.dir.join(TOKENIZER_FILE)
    }

    /// Fails, naming the first absent file and the fetch script, unless all three exist.
    pub fn check(&self) -> Result<(), WeightsError> {
        for path in [self.weights(), self.config(), self.tokenizer()] {
            require_file(&path, FETCH_HINT)?;
        }
        Ok(())
    }

    /// The encoder's shape, from `config.json`.
    pub fn bert_config(&self) -> Result<BertConfig, WeightsError> {
        let path = self.config();
        require_file(&path, FETCH_HINT)?;
        BertConfig::from_hf_config_file(path)
    }

    /// The encoder with the base weights, on `device`.
    pub fn load_encoder<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<BertEncoder<B>, WeightsError> {
        let mut encoder = self.bert_config()?.init(device);
        load_base_weights(&mut encoder, self.weights())?;
        Ok(encoder)
    }

    /// A cross-encoder whose encoder holds the base weights and whose head is freshly
    /// initialised; `dropout` is the head's dropout. Returns the config to save with it.
    pub fn load_cross_encoder<B: Backend>(
        &self,
        dropout: f64,
        device: &B::Device,
    ) -> Result<(CrossEncoder<B>, CrossEncoderConfig), WeightsError> {
        let config = CrossEncoderConfig::new(self.bert_config()?).with_dropout(dropout);
        let mut model = config.init(device);
        load_base_weights(&mut model.bert, self.weights())?;
        Ok((model, config))
    }
}

/// The float type a checkpoint's tensors are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointPrecision {
    /// 32-bit floats, lossless for an f32 model.
    #[default]
    F32,
    /// IEEE half precision: half the size; fine for weights of this scale.
    F16,
    /// bfloat16: half the size, f32's range with fewer mantissa bits.
    BF16,
}

impl CheckpointPrecision {
    fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F16 => DType::F16,
            Self::BF16 => DType::BF16,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
        }
    }
}

/// Writes `model` to `dir` (created if needed) as `config.json` + `model.safetensors`,
/// storing float tensors in `precision`. Existing files are replaced.
pub fn save_checkpoint<B: Backend>(
    model: &CrossEncoder<B>,
    config: &CrossEncoderConfig,
    dir: impl AsRef<Path>,
    precision: CheckpointPrecision,
) -> Result<(), WeightsError> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|source| WeightsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let config_path = dir.join(CONFIG_FILE);
    config
        .save(&config_path)
        .map_err(|source| WeightsError::Io {
            path: config_path,
            source,
        })?;
    let weights = dir.join(WEIGHTS_FILE);
    let mut store = SafetensorsStore::from_file(&weights)
        .overwrite(true)
        .metadata("deepprune.precision", precision.name())
        .with_to_adapter(CastFloats(precision.dtype()));
    model
        .save_into(&mut store)
        .map_err(|source| WeightsError::Store {
            path: weights,
            source,
        })
}

/// Reads a checkpoint written by [`save_checkpoint`] onto `device`, casting its tensors to
/// the backend's float type. Every parameter must be present with its shape.
pub fn load_checkpoint<B: Backend>(
    dir: impl AsRef<Path>,
    device: &B::Device,
) -> Result<(CrossEncoder<B>, CrossEncoderConfig), WeightsError> {
    let dir = dir.as_ref();
    let config_path = dir.join(CONFIG_FILE);
    let weights = dir.join(WEIGHTS_FILE);
    require_file(&config_path, "")?;
    require_file(&weights, "")?;
    let config =
        CrossEncoderConfig::load(&config_path).map_err(|error| WeightsError::BadConfig {
            path: config_path.clone(),
            message: error.to_string(),
        })?;
    let mut model = config.init::<B>(device);
    let mut store = SafetensorsStore::from_file(&weights)
        .with_from_adapter(CastFloats(float_dtype(&model.bert)))
        .validate(false)
        .allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|source| WeightsError::Store {
            path: weights.clone(),
            source,
        })?;
    check_applied(&weights, &result)?;
    Ok((model, config))
}

/// Number of float parameters in a module (for logs and size estimates).
pub fn parameter_count<B: Backend, M: Module<B>>(module: &M) -> usize {
    module.num_params()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Tensor, TensorData};

    type B = Flex;

    fn max_abs_diff(a: Tensor<B, 1>, b: Tensor<B, 1>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    fn probe(model: &CrossEncoder<B>) -> Tensor<B, 1> {
        let device = Default::default();
        let shape = [1, 6];
        let tensor = |v: Vec<i64>| Tensor::from_data(TensorData::new(v, shape), &device);
        model.infer(&super::super::model::BertInput {
            ids: tensor(vec![101, 5, 6, 102, 7, 102]),
            type_ids: tensor(vec![0, 0, 0, 0, 1, 1]),
            attention_mask: tensor(vec![1, 1, 1, 1, 1, 1]),
        })
    }

    #[test]
    fn base_key_remap_covers_a_layer() {
        let remapper = KeyRemapper::from_patterns(BASE_KEY_REMAP.to_vec()).unwrap();
        let cases = [
            ("embeddings.LayerNorm.weight", "embeddings.norm.gamma"),
            (
                "bert.embeddings.word_embeddings.weight",
                "embeddings.word.weight",
            ),
            (
                "encoder.layer.3.attention.self.key.bias",
                "layers.3.attention.key.bias",
            ),
            (
                "encoder.layer.3.attention.output.dense.weight",
                "layers.3.attention.output.weight",
            ),
            (
                "encoder.layer.11.attention.output.LayerNorm.bias",
                "layers.11.attention_norm.beta",
            ),
            (
                "encoder.layer.0.intermediate.dense.weight",
                "layers.0.ffn_in.weight",
            ),
            ("encoder.layer.0.output.dense.bias", "layers.0.ffn_out.bias"),
            (
                "encoder.layer.0.output.LayerNorm.weight",
                "layers.0.ffn_norm.gamma",
            ),
            ("pooler.dense.weight", "pooler.weight"),
        ];
        for (key, expected) in cases {
            let mut mapped = key.to_string();
            for (pattern, replacement) in remapper.to_regex_pairs() {
                mapped = pattern
                    .replace_all(&mapped, replacement.as_str())
                    .into_owned();
            }
            assert_eq!(mapped, expected, "{key}");
        }
    }

    #[test]
    fn checkpoint_round_trip_in_each_precision() {
        let device = Default::default();
        let config = CrossEncoderConfig::new(BertConfig::tiny());
        let model = config.init::<B>(&device);
        let reference = probe(&model);
        for (precision, tolerance) in [
            (CheckpointPrecision::F32, 1e-6),
            (CheckpointPrecision::F16, 2e-2),
            (CheckpointPrecision::BF16, 5e-2),
        ] {
            let dir = tempfile::tempdir().unwrap();
            save_checkpoint(&model, &config, dir.path(), precision).unwrap();
            let (loaded, loaded_config) = load_checkpoint::<B>(dir.path(), &device).unwrap();
            assert_eq!(loaded_config, config);
            assert_eq!(float_dtype(&loaded.bert), DType::F32, "{precision:?}");
            let diff = max_abs_diff(probe(&loaded), reference.clone());
            assert!(diff <= tolerance, "{precision:?}: diff {diff}");
        }
    }

    #[test]
    fn missing_files_and_shape_mismatches_are_reported() {
        let device = Default::default();
        let missing = load_checkpoint::<B>("/nonexistent/checkpoint", &device).unwrap_err();
        assert!(
            matches!(missing, WeightsError::NotFound { .. }),
            "{missing}"
        );
        let base = BaseModelFiles::new("/nonexistent/base")
            .check()
            .unwrap_err();
        assert!(
            base.to_string().contains("scripts/dev/fetch-base-model.sh"),
            "{base}"
        );

        let dir = tempfile::tempdir().unwrap();
        let config = CrossEncoderConfig::new(BertConfig::tiny());
        save_checkpoint(
            &config.init::<B>(&device),
            &config,
            dir.path(),
            CheckpointPrecision::F32,
        )
        .unwrap();
        // A config asking for a wider model no longer fits the stored tensors.
        let wider = CrossEncoderConfig::new(BertConfig::tiny().with_intermediate_size(96));
        wider.save(dir.path().join(CONFIG_FILE)).unwrap();
        let error = load_checkpoint::<B>(dir.path(), &device).unwrap_err();
        let WeightsError::Mismatch { problems, .. } = &error else {
            panic!("expected a mismatch, got {error}");
        };
        assert!(
            problems.iter().any(|p| matches!(
                p,
                TensorProblem::ShapeMismatch { key, .. } if key == "bert.layers.0.ffn_in.weight"
            )),
            "{error}"
        );
        assert!(error.to_string().contains("model.safetensors"), "{error}");
    }
}
