//! The BERT encoder (post-norm, absolute positions, exact GELU) and the pair cross-encoder
//! built on it.
//!
//! Shapes follow all-MiniLM-L6-v2 by default ([`BertConfig::all_minilm_l6_v2`]). Every op is a
//! generic Burn op, so the same code runs in f32 on the flex CPU backend and in f16/bf16 on CUDA.
//! Self-attention goes through [`burn::tensor::module::attention`], which backends may fuse
//! (flash attention on CubeCL, a tiled kernel on flex); autodiff falls back to separate ops.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::activation::{gelu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::module::{attention, attention_fallback};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor};
use serde::Deserialize;

use super::weights::WeightsError;

/// Shape of a BERT encoder. Defaults are those of all-MiniLM-L6-v2.
#[derive(Config, Debug, PartialEq)]
pub struct BertConfig {
    /// Number of WordPiece tokens in the vocabulary.
    #[config(default = 30522)]
    pub vocab_size: usize,
    /// Width of every hidden state.
    #[config(default = 384)]
    pub hidden_size: usize,
    /// Number of transformer layers.
    #[config(default = 6)]
    pub num_layers: usize,
    /// Number of attention heads; must divide `hidden_size`.
    #[config(default = 12)]
    pub num_heads: usize,
    /// Width of the feed-forward block inside each layer.
    #[config(default = 1536)]
    pub intermediate_size: usize,
    /// Longest sequence the position embeddings cover.
    #[config(default = 512)]
    pub max_position_embeddings: usize,
    /// Number of segment (token type) embeddings; 2 for `[CLS] a [SEP] b [SEP]`.
    #[config(default = 2)]
    pub type_vocab_size: usize,
    /// Epsilon of every LayerNorm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Dropout on embeddings and on each residual branch, active only while training.
    /// (Dropout on attention probabilities is not applied: the fused attention op has none.)
    #[config(default = 0.1)]
    pub hidden_dropout: f64,
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
    /// The shape of sentence-transformers/all-MiniLM-L6-v2.
    pub fn all_minilm_l6_v2() -> Self {
        Self::new()
    }

    /// A very small encoder for unit tests (2 layers, width 32, 4 heads, vocab 128).
    pub fn tiny() -> Self {
        Self::new()
            .with_vocab_size(128)
            .with_hidden_size(32)
            .with_num_layers(2)
            .with_num_heads(4)
            .with_intermediate_size(64)
            .with_max_position_embeddings(64)
    }

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

    /// Builds a randomly initialised encoder on `device`.
    ///
    /// # Panics
    /// When `num_heads` does not divide `hidden_size` (a programming error in the config;
    /// configs read with [`BertConfig::from_hf_config_file`] are checked).
    pub fn init<B: Backend>(&self, device: &B::Device) -> BertEncoder<B> {
        assert!(
            self.num_heads > 0 && self.hidden_size.is_multiple_of(self.num_heads),
            "BertConfig: hidden_size {} is not a multiple of num_heads {}",
            self.hidden_size,
            self.num_heads
        );
        let norm = || {
            LayerNormConfig::new(self.hidden_size)
                .with_epsilon(self.layer_norm_eps)
                .init::<B>(device)
        };
        let linear = |d_in, d_out| LinearConfig::new(d_in, d_out).init::<B>(device);
        let dropout = DropoutConfig::new(self.hidden_dropout).init();
        let layers = (0..self.num_layers)
            .map(|_| BertLayer {
                attention: BertSelfAttention {
                    query: linear(self.hidden_size, self.hidden_size),
                    key: linear(self.hidden_size, self.hidden_size),
                    value: linear(self.hidden_size, self.hidden_size),
                    output: linear(self.hidden_size, self.hidden_size),
                    num_heads: self.num_heads,
                    fused: false,
                },
                attention_norm: norm(),
                ffn_in: linear(self.hidden_size, self.intermediate_size),
                ffn_out: linear(self.intermediate_size, self.hidden_size),
                ffn_norm: norm(),
                dropout: dropout.clone(),
            })
            .collect();
        BertEncoder {
            embeddings: BertEmbeddings {
                word: EmbeddingConfig::new(self.vocab_size, self.hidden_size).init(device),
                position: EmbeddingConfig::new(self.max_position_embeddings, self.hidden_size)
                    .init(device),
                token_type: EmbeddingConfig::new(self.type_vocab_size, self.hidden_size)
                    .init(device),
                norm: norm(),
                dropout: dropout.clone(),
            },
            layers,
            pooler: linear(self.hidden_size, self.hidden_size),
        }
    }
}

/// One padded batch of token sequences, as the encoder consumes it.
///
/// All three tensors are `[batch, seq_len]`. Build them with
/// [`super::tokenize::PaddedBatch::to_input`].
#[derive(Debug, Clone)]
pub struct BertInput<B: Backend> {
    /// WordPiece ids, `[PAD]` (0) after each sequence's end.
    pub ids: Tensor<B, 2, Int>,
    /// Segment ids: 0 for `[CLS] a [SEP]`, 1 for `b [SEP]`, 0 on padding.
    pub type_ids: Tensor<B, 2, Int>,
    /// 1 on real tokens, 0 on padding (the Hugging Face convention).
    pub attention_mask: Tensor<B, 2, Int>,
}

/// Word, position and segment embeddings, summed then normalised.
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    /// Token embeddings, `[vocab, hidden]`.
    pub word: Embedding<B>,
    /// Absolute position embeddings, `[max_positions, hidden]`.
    pub position: Embedding<B>,
    /// Segment embeddings, `[type_vocab, hidden]`.
    pub token_type: Embedding<B>,
    /// LayerNorm over the summed embeddings.
    pub norm: LayerNorm<B>,
    /// Dropout after the LayerNorm.
    pub dropout: Dropout,
}

/// Multi-head self-attention with its output projection.
#[derive(Module, Debug)]
pub struct BertSelfAttention<B: Backend> {
    /// Query projection.
    pub query: Linear<B>,
    /// Key projection.
    pub key: Linear<B>,
    /// Value projection.
    pub value: Linear<B>,
    /// Projection of the concatenated heads back to the hidden width.
    pub output: Linear<B>,
    /// Number of heads.
    pub num_heads: usize,
    /// Burn's fused attention kernel (true), or the plain matmul–softmax–matmul composition
    /// (false, the default). Same result. In burn 0.21 the composition is faster: on an H100,
    /// 512-token pairs in bf16, 2,920 against 2,044 pairs/s at batch 128 (docs/judge.md).
    pub fused: bool,
}

/// One post-norm transformer layer.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    /// Self-attention (with its output dense).
    pub attention: BertSelfAttention<B>,
    /// LayerNorm after the attention residual.
    pub attention_norm: LayerNorm<B>,
    /// Feed-forward expansion (followed by GELU).
    pub ffn_in: Linear<B>,
    /// Feed-forward contraction.
    pub ffn_out: Linear<B>,
    /// LayerNorm after the feed-forward residual.
    pub ffn_norm: LayerNorm<B>,
    /// Dropout on both residual branches.
    pub dropout: Dropout,
}

/// A BERT encoder: embeddings, a stack of layers, and BERT's `[CLS]` pooler.
#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    /// The embedding block.
    pub embeddings: BertEmbeddings<B>,
    /// The transformer layers, bottom first.
    pub layers: Vec<BertLayer<B>>,
    /// BERT's pooler dense: `tanh(pooler([CLS]))` summarises a sequence for classification.
    pub pooler: Linear<B>,
}

/// Whether dropout may fire. Burn's `Dropout` already idles on a backend without autodiff;
/// this flag also keeps `infer` deterministic when it is called on an autodiff backend.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Train,
    Infer,
}

fn maybe_dropout<B: Backend, const D: usize>(
    dropout: &Dropout,
    x: Tensor<B, D>,
    mode: Mode,
) -> Tensor<B, D> {
    match mode {
        Mode::Train => dropout.forward(x),
        Mode::Infer => x,
    }
}

impl<B: Backend> BertEmbeddings<B> {
    fn run(&self, input: &BertInput<B>, mode: Mode) -> Tensor<B, 3> {
        let [_, seq_len] = input.ids.dims();
        let words = self.word.forward(input.ids.clone());
        // Positions 0..seq_len are the same for every row, so slicing the table avoids a gather.
        let positions = self
            .position
            .weight
            .val()
            .narrow(0, 0, seq_len)
            .unsqueeze_dim::<3>(0);
        let types = self.token_type.forward(input.type_ids.clone());
        let x = self.norm.forward(words + positions + types);
        maybe_dropout(&self.dropout, x, mode)
    }
}

/// `x · [W₁ W₂ …] + [b₁ b₂ …]`: several projections of one input as one wider matmul, split
/// back into one tensor per projection. One `[n, 384] × [384, 1152]` matmul runs faster than three
/// `[n, 384] × [384, 384]` ones on a GPU. Falls back to one matmul each if a layer has no bias.
fn project<B: Backend, const N: usize>(x: Tensor<B, 3>, layers: [&Linear<B>; N]) -> [Tensor<B, 3>; N] {
    let biases: Option<Vec<Tensor<B, 1>>> = layers.iter().map(|l| l.bias.as_ref().map(|b| b.val())).collect();
    let Some(biases) = biases else {
        return layers.map(|l| l.forward(x.clone()));
    };
    let widths = layers.map(|l| l.weight.dims()[1]);
    let weight = Tensor::cat(layers.iter().map(|l| l.weight.val()).collect(), 1);
    let bias = Tensor::cat(biases, 0);
    let y = x.matmul(weight.unsqueeze_dim::<3>(0)) + bias.unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(0);
    let mut at = 0;
    widths.map(|w| {
        let part = y.clone().narrow(2, at, w);
        at += w;
        part
    })
}

impl<B: Backend> BertSelfAttention<B> {
    /// Attention of the queries from `x_q` (`[batch, q_len, hidden]`) over the keys and values
    /// from `x` (`[batch, seq, hidden]`). `padding`: `[batch, heads, q_len, seq]`, true on
    /// padded keys. `x_q` is `x` itself, or its `[CLS]` row alone where only that row is read.
    fn run(&self, x_q: Option<Tensor<B, 3>>, x: Tensor<B, 3>, padding: Tensor<B, 4, burn::tensor::Bool>) -> Tensor<B, 3> {
        let [batch, _, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let heads = |t: Tensor<B, 3>| {
            let [_, len, _] = t.dims();
            t.reshape([batch, len, self.num_heads, head_dim]).swap_dims(1, 2)
        };
        let (q, k, v) = match x_q {
            None => {
                let [q, k, v] = project(x, [&self.query, &self.key, &self.value]);
                (q, k, v)
            }
            Some(x_q) => {
                let [k, v] = project(x, [&self.key, &self.value]);
                (self.query.forward(x_q), k, v)
            }
        };
        let [_, q_len, _] = q.dims();
        let (q, k, v) = (heads(q), heads(k), heads(v));
        let options = AttentionModuleOptions::default();
        let context = if self.fused {
            attention(q, k, v, Some(padding), None, options)
        } else {
            attention_fallback(q, k, v, Some(padding), None, options)
        };
        debug_assert_eq!(context.dims()[2], q_len);
        let context = context.swap_dims(1, 2).reshape([batch, q_len, hidden]);
        self.output.forward(context)
    }
}

impl<B: Backend> BertLayer<B> {
    /// The layer over every position (`cls_only` false), or over the `[CLS]` row alone
    /// (`[batch, 1, hidden]`, attending to every position): a classifier that reads only
    /// `[CLS]` needs nothing else from the last layer, and gets exactly the same values.
    fn run(
        &self,
        x: Tensor<B, 3>,
        padding: Tensor<B, 4, burn::tensor::Bool>,
        mode: Mode,
        cls_only: bool,
    ) -> Tensor<B, 3> {
        let (x, attended) = if cls_only {
            let cls = x.clone().narrow(1, 0, 1);
            let attended = self.attention.run(Some(cls.clone()), x, padding.narrow(2, 0, 1));
            (cls, attended)
        } else {
            (x.clone(), self.attention.run(None, x, padding))
        };
        let x = self
            .attention_norm
            .forward(x + maybe_dropout(&self.dropout, attended, mode));
        let expanded = gelu(self.ffn_in.forward(x.clone()));
        let contracted = self.ffn_out.forward(expanded);
        self.ffn_norm
            .forward(x + maybe_dropout(&self.dropout, contracted, mode))
    }
}

impl<B: Backend> BertEncoder<B> {
    /// Hidden states `[batch, seq, hidden]`, or with `cls_only` the `[CLS]` row of the last
    /// layer alone (`[batch, 1, hidden]`), which is all the pooler reads.
    fn run(&self, input: &BertInput<B>, mode: Mode, cls_only: bool) -> Tensor<B, 3> {
        let [batch, seq_len] = input.ids.dims();
        let num_heads = self
            .layers
            .first()
            .map(|layer| layer.attention.num_heads)
            .unwrap_or(1);
        // One key-padding mask, shared by every layer and head.
        let padding = input
            .attention_mask
            .clone()
            .equal_elem(0)
            .reshape([batch, 1, 1, seq_len])
            .expand([batch, num_heads, seq_len, seq_len]);
        let mut x = self.embeddings.run(input, mode);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.run(x, padding.clone(), mode, cls_only && i == last);
        }
        x
    }

    /// Last hidden states `[batch, seq, hidden]`, with dropout active (training).
    pub fn forward(&self, input: &BertInput<B>) -> Tensor<B, 3> {
        self.run(input, Mode::Train, false)
    }

    /// Last hidden states `[batch, seq, hidden]`, without dropout (serving).
    pub fn infer(&self, input: &BertInput<B>) -> Tensor<B, 3> {
        self.run(input, Mode::Infer, false)
    }

    /// BERT's pooled vector `tanh(W · h[CLS] + b)`, `[batch, hidden]`.
    pub fn pool(&self, hidden: Tensor<B, 3>) -> Tensor<B, 2> {
        let [batch, _, width] = hidden.dims();
        let cls = hidden.narrow(1, 0, 1).reshape([batch, width]);
        self.pooler.forward(cls).tanh()
    }

    /// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2:
    /// the mean of the last hidden states over real tokens, then L2-normalised
    /// (its `modules.json` ends with a `Normalize` module). `[batch, hidden]`, no dropout.
    pub fn mean_pooled_embeddings(&self, input: &BertInput<B>) -> Tensor<B, 2> {
        let hidden = self.infer(input);
        let [batch, _, width] = hidden.dims();
        let mask = input.attention_mask.clone().float().unsqueeze_dim::<3>(2);
        let summed = (hidden * mask.clone()).sum_dim(1).reshape([batch, width]);
        // Clamp values are sentence-transformers' (Pooling: 1e-9; F.normalize: 1e-12).
        let counts = mask.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
        let mean = summed / counts;
        let norm = mean
            .clone()
            .powi_scalar(2)
            .sum_dim(1)
            .sqrt()
            .clamp_min(1e-12);
        mean / norm
    }
}

/// Shape and head of a pair cross-encoder.
#[derive(Config, Debug, PartialEq)]
pub struct CrossEncoderConfig {
    /// The encoder's shape.
    pub bert: BertConfig,
    /// Dropout on the pooled vector before the classifier, active only while training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl CrossEncoderConfig {
    /// Builds a randomly initialised cross-encoder on `device`.
    /// Load base weights into its `bert` with [`super::weights::load_base_weights`].
    pub fn init<B: Backend>(&self, device: &B::Device) -> CrossEncoder<B> {
        CrossEncoder {
            bert: self.bert.init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(self.bert.hidden_size, 1).init(device),
        }
    }
}

/// A pair judge: `[CLS] a [SEP] b [SEP]` → one logit that the two trace prefixes reach the
/// same final answer. The head is BERT's sequence-classification head (pooler, dropout,
/// linear) with a single output.
#[derive(Module, Debug)]
pub struct CrossEncoder<B: Backend> {
    /// The encoder, including BERT's pooler.
    pub bert: BertEncoder<B>,
    /// Dropout on the pooled vector.
    pub dropout: Dropout,
    /// Pooled vector → one logit.
    pub classifier: Linear<B>,
}

impl<B: Backend> CrossEncoder<B> {
    /// Uses the fused attention kernel (`true`) or the unfused composition (`false`, the default).
    pub fn with_fused_attention(mut self, fused: bool) -> Self {
        for layer in &mut self.bert.layers {
            layer.attention.fused = fused;
        }
        self
    }

    fn logits(&self, input: &BertInput<B>, mode: Mode) -> Tensor<B, 1> {
        let [batch, _] = input.ids.dims();
        let pooled = self.bert.pool(self.bert.run(input, mode, true));
        let pooled = maybe_dropout(&self.dropout, pooled, mode);
        self.classifier.forward(pooled).reshape([batch])
    }

    /// Logits `[batch]` (equal-answer log-odds) with dropout active, for training.
    pub fn forward(&self, input: &BertInput<B>) -> Tensor<B, 1> {
        self.logits(input, Mode::Train)
    }

    /// Probabilities `[batch]` that each pair's final answers are equal, for serving.
    pub fn infer(&self, input: &BertInput<B>) -> Tensor<B, 1> {
        sigmoid(self.logits(input, Mode::Infer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    type B = Flex;

    fn input(rows: &[(&[i64], &[i64])], seq_len: usize) -> BertInput<B> {
        let device = Default::default();
        let mut ids = Vec::new();
        let mut types = Vec::new();
        let mut mask = Vec::new();
        for (row_ids, row_types) in rows {
            for i in 0..seq_len {
                ids.push(row_ids.get(i).copied().unwrap_or(0));
                types.push(row_types.get(i).copied().unwrap_or(0));
                mask.push(i64::from(i < row_ids.len()));
            }
        }
        let shape = [rows.len(), seq_len];
        BertInput {
            ids: Tensor::from_data(TensorData::new(ids, shape), &device),
            type_ids: Tensor::from_data(TensorData::new(types, shape), &device),
            attention_mask: Tensor::from_data(TensorData::new(mask, shape), &device),
        }
    }

    const PAIR_IDS: &[i64] = &[101, 7, 8, 9, 102, 11, 12, 102];
    const PAIR_TYPES: &[i64] = &[0, 0, 0, 0, 0, 1, 1, 1];

    #[test]
    fn tiny_forward_shapes() {
        let device = Default::default();
        let model = CrossEncoderConfig::new(BertConfig::tiny()).init::<B>(&device);
        let batch = input(
            &[(PAIR_IDS, PAIR_TYPES), (&PAIR_IDS[..5], &PAIR_TYPES[..5])],
            16,
        );
        assert_eq!(model.bert.infer(&batch).dims(), [2, 16, 32]);
        assert_eq!(model.forward(&batch).dims(), [2]);
        let probs = model.infer(&batch).into_data().to_vec::<f32>().unwrap();
        assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)), "{probs:?}");
        let embeddings = model.bert.mean_pooled_embeddings(&batch);
        assert_eq!(embeddings.dims(), [2, 32]);
        let norms = embeddings
            .powi_scalar(2)
            .sum_dim(1)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
    }

    #[test]
    fn the_cls_only_last_layer_gives_the_full_encoders_logit() {
        // The classifier computes the last layer for `[CLS]` alone; it must equal pooling the
        // full encoder's output (mixed lengths, so padding is exercised too).
        let device = Default::default();
        let model = CrossEncoderConfig::new(BertConfig::tiny()).init::<B>(&device);
        let batch = input(&[(&PAIR_IDS[..3], &PAIR_TYPES[..3]), (PAIR_IDS, PAIR_TYPES)], 16);
        let fast = model.infer(&batch).into_data().to_vec::<f32>().unwrap();
        let full = sigmoid(model.classifier.forward(model.bert.pool(model.bert.infer(&batch))).reshape([2]));
        let full = full.into_data().to_vec::<f32>().unwrap();
        for (a, b) in fast.iter().zip(&full) {
            assert!((a - b).abs() < 1e-6, "{fast:?} vs {full:?}");
        }
    }

    #[test]
    fn padding_does_not_change_the_logit() {
        let device = Default::default();
        let model = CrossEncoderConfig::new(BertConfig::tiny()).init::<B>(&device);
        let logit = |seq_len| {
            model
                .infer(&input(&[(PAIR_IDS, PAIR_TYPES)], seq_len))
                .into_data()
                .to_vec::<f32>()
                .unwrap()[0]
        };
        let reference = logit(PAIR_IDS.len());
        for seq_len in [16, 64] {
            let padded = logit(seq_len);
            assert!(
                (padded - reference).abs() < 1e-4,
                "seq_len {seq_len}: {padded} vs unpadded {reference}"
            );
        }
        // The same holds for embeddings, row by row in a mixed batch.
        let alone = model
            .bert
            .mean_pooled_embeddings(&input(&[(PAIR_IDS, PAIR_TYPES)], 8));
        let mixed = model.bert.mean_pooled_embeddings(&input(
            &[(&PAIR_IDS[..3], &PAIR_TYPES[..3]), (PAIR_IDS, PAIR_TYPES)],
            64,
        ));
        let alone = alone.into_data().to_vec::<f32>().unwrap();
        let mixed = mixed.narrow(0, 1, 1).into_data().to_vec::<f32>().unwrap();
        let diff = alone
            .iter()
            .zip(&mixed)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "max abs diff {diff}");
    }

    #[test]
    fn minilm_shape_by_default() {
        let config = BertConfig::all_minilm_l6_v2();
        assert_eq!(
            (
                config.vocab_size,
                config.hidden_size,
                config.num_layers,
                config.num_heads
            ),
            (30522, 384, 6, 12)
        );
        assert_eq!(config.intermediate_size, 1536);
        assert_eq!(config.layer_norm_eps, 1e-12);
    }
}
