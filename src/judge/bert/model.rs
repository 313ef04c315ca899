//! The BERT encoder (post-norm, absolute positions, exact GELU) and the pair cross-encoder
//! built on it.
//!
//! Shapes follow all-MiniLM-L6-v2 by default ([`BertConfig::all_minilm_l6_v2`]). The model is
//! written in generic Burn ops, so the same code runs in f32 on the flex CPU backend and in
//! f16/bf16 on CUDA. Serving on CUDA swaps three parts for faster kernels ([`Kernels`]), each
//! falling back to the Burn ops wherever it does not run:
//! - self-attention ([`Attention`]): Burn's fused attention op, Burn's reference composition, a
//!   composition that makes fewer passes over the scores, or one of our two flash-attention
//!   kernels ([`super::flash`] in CubeCL, [`super::flash2`] in CUDA C++);
//! - the dense products ([`Matmul`]): Burn's matmul or cuBLASLt ([`super::dense`]);
//! - each residual sum and LayerNorm ([`Norm`]): Burn's ops or one kernel ([`super::norm`]).

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

use super::dense::Matmul;
use super::norm::{residual_norm, Norm};
use super::weights::WeightsError;

// The kernel settings are config data; the encoder reads them here.
pub use crate::config::{Attention, KernelRequest, Refusal};

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
                    implementation: Attention::default(),
                    frozen_qkv: None,
                },
                attention_norm: norm(),
                ffn_in: linear(self.hidden_size, self.intermediate_size),
                ffn_out: linear(self.intermediate_size, self.hidden_size),
                ffn_norm: norm(),
                dropout: dropout.clone(),
                matmul: Matmul::default(),
                norm: Norm::default(),
                norm_epsilon: self.layer_norm_eps,
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
                norm_kernels: Norm::default(),
                norm_epsilon: self.layer_norm_eps,
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
    /// Which kernels compute the last sum and the LayerNorm; see [`Norm`].
    #[module(skip)]
    pub norm_kernels: Norm,
    /// The LayerNorm's epsilon ([`BertConfig::layer_norm_eps`]).
    #[module(skip)]
    pub norm_epsilon: f64,
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
    /// Which attention implementation runs; see [`Attention`].
    #[module(skip)]
    pub implementation: Attention,
    /// Each [`Projection`]'s concatenated weight and bias, built once by
    /// [`BertEncoder::frozen`] for serving. `None` while training: the concatenation is then
    /// redone on every call, so it always sees the current weights.
    #[module(skip)]
    pub frozen_qkv: Option<Vec<(Tensor<B, 2>, Tensor<B, 1>)>>,
}

/// The projections of the attention input that run as one matmul each: one `[hidden, 3 ·
/// hidden]` matmul runs faster on a GPU than three `[hidden, hidden]` ones. The `[CLS]`-only
/// last layer needs queries for one row and keys and values for all, hence `Q` and `Kv`.
#[derive(Debug, Clone, Copy)]
enum Projection {
    Qkv = 0,
    Q = 1,
    Kv = 2,
}

impl Attention {
    /// The implementation measured fastest on `device` for serving (docs/judge.md): on an
    /// H100, `Flash2` scored 19,141 pairs/s against 9,483 for `Flash` (512-token pairs, batch
    /// 128, with cuBLASLt and the fused norm), and `Flash` 5,100 against 3,650 for `Deferred`
    /// with Burn's matmul; on the flex CPU backend `Unfused` scored 7.1–7.9 pairs/s against
    /// 5.8–6.1 for `Deferred` and 6.4–6.5 for `Fused` (256-token pairs, batch 32, 2 cores).
    pub fn fastest_on(device: crate::config::DeviceKind) -> Self {
        match device {
            crate::config::DeviceKind::Cpu => Self::Unfused,
            crate::config::DeviceKind::Cuda => Self::Flash2,
        }
    }
}

/// The kernels that serve the encoder: self-attention, the dense products, and the residual
/// sums with their LayerNorms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kernels {
    /// How self-attention is computed.
    pub attention: Attention,
    /// Which kernels compute the dense products.
    pub matmul: Matmul,
    /// Which kernels compute the residual sums and LayerNorms.
    pub norm: Norm,
}

impl Kernels {
    /// The fastest measured on `device`.
    pub fn fastest_on(device: crate::config::DeviceKind) -> Self {
        Self { attention: Attention::fastest_on(device), matmul: Matmul::fastest_on(device), norm: Norm::fastest_on(device) }
    }

    /// What `request` asks for on `device`, unset parts filled with the fastest there (which
    /// always run there); an error naming the first part that does not run on `device`
    /// ([`KernelRequest::refusals`]).
    pub fn resolve(request: KernelRequest, device: crate::config::DeviceKind) -> Result<Self, String> {
        if let Some(r) = request.refusals(device).first() {
            return Err(format!("{} `{}` is {}; use device cuda, or {}", r.key, r.name, r.is, r.instead));
        }
        let fastest = Self::fastest_on(device);
        Ok(Self {
            attention: request.attention.unwrap_or(fastest.attention),
            matmul: request.matmul.unwrap_or(fastest.matmul),
            norm: request.norm.unwrap_or(fastest.norm),
        })
    }

    /// Burn's reference composition: unfused attention, Burn's matmul and norm.
    pub fn reference() -> Self {
        Self { attention: Attention::Unfused, ..Default::default() }
    }

    /// How reports name them: `flash attention, cublaslt matmul, fused norm`.
    pub fn name(self) -> String {
        format!("{} attention, {} matmul, {} norm", self.attention.name(), self.matmul.name(), self.norm.name())
    }
}

/// The key-padding mask, built once per forward pass and shared by every layer. The additive
/// form that [`Attention::Deferred`] reads is derived from it on first use, so each forward
/// pass builds only the forms its layers read.
struct KeyPadding<B: Backend> {
    /// `[batch, len]`, 0 on padded keys: what [`Attention::Flash`] reads.
    keys: Tensor<B, 2, Int>,
    /// `[batch, 1, 1, len]`, true on padded keys.
    mask: Tensor<B, 4, burn::tensor::Bool>,
    /// `[batch, 1, 1, len]`: 0 on real keys, −∞ on padded ones.
    bias: std::cell::OnceCell<Tensor<B, 4>>,
}

impl<B: Backend> KeyPadding<B> {
    fn new(attention_mask: &Tensor<B, 2, Int>) -> Self {
        let [batch, len] = attention_mask.dims();
        let mask = attention_mask.clone().equal_elem(0).reshape([batch, 1, 1, len]);
        Self { keys: attention_mask.clone(), mask, bias: std::cell::OnceCell::new() }
    }

    fn bias(&self) -> Tensor<B, 4> {
        self.bias
            .get_or_init(|| Tensor::zeros(self.mask.dims(), &self.mask.device()).mask_fill(self.mask.clone(), f32::NEG_INFINITY))
            .clone()
    }
}

/// Softmax attention `softmax(q·kᵀ + bias) · v` with the queries already scaled by `1/√d`,
/// normalised after the value product. The row maximum is subtracted before `exp` as in any
/// stable softmax; it is detached because softmax does not depend on it. Every row has a real
/// key (`[CLS]`), so the maximum is finite.
pub fn attention_deferred<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>, bias: Tensor<B, 4>) -> Tensor<B, 4> {
    let scores = q.matmul(k.transpose()) + bias;
    let max = scores.clone().max_dim(3).detach();
    let weights = (scores - max).exp();
    let total = weights.clone().sum_dim(3);
    weights.matmul(v) / total
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
    /// Which kernels compute the layer's dense products; see [`Matmul`].
    #[module(skip)]
    pub matmul: Matmul,
    /// Which kernels compute the residual sums and LayerNorms; see [`Norm`].
    #[module(skip)]
    pub norm: Norm,
    /// The LayerNorms' epsilon ([`BertConfig::layer_norm_eps`]).
    #[module(skip)]
    pub norm_epsilon: f64,
}

/// `x · weight + bias` over the last axis, by `matmul`'s kernels where they run, else Burn's.
fn dense<B: Backend>(x: Tensor<B, 3>, weight: Tensor<B, 2>, bias: Tensor<B, 1>, matmul: Matmul) -> Tensor<B, 3> {
    if matmul == Matmul::CublasLt {
        if let Some(y) = super::dense::dense(&x, &weight, &bias) {
            return y;
        }
    }
    x.matmul(weight.unsqueeze_dim::<3>(0)) + bias.unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(0)
}

/// A [`Linear`] layer by `matmul`'s kernels where they run, else its own `forward`.
fn linear<B: Backend>(layer: &Linear<B>, x: Tensor<B, 3>, matmul: Matmul) -> Tensor<B, 3> {
    match &layer.bias {
        Some(bias) if matmul == Matmul::CublasLt => dense(x, layer.weight.val(), bias.val(), matmul),
        _ => layer.forward(x),
    }
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
        let x = residual_norm(&self.norm, self.norm_epsilon, words + positions, types, self.norm_kernels);
        maybe_dropout(&self.dropout, x, mode)
    }
}

impl<B: Backend> BertSelfAttention<B> {
    /// The weight and bias of one [`Projection`], the attention scale `1/√d` folded into the
    /// query part so that no pass over the scores applies it. From the frozen copy when serving,
    /// else built from the current weights.
    fn projection(&self, which: Projection) -> (Tensor<B, 2>, Tensor<B, 1>) {
        if let Some(frozen) = &self.frozen_qkv {
            return frozen[which as usize].clone();
        }
        let [hidden, _] = self.query.weight.dims();
        let scale = 1.0 / ((hidden / self.num_heads) as f64).sqrt();
        let part = |l: &Linear<B>, scale: f64| {
            let bias = match &l.bias {
                Some(b) => b.val(),
                None => Tensor::zeros([l.weight.dims()[1]], &l.weight.device()),
            };
            (l.weight.val() * scale, bias * scale)
        };
        let parts = match which {
            Projection::Qkv => vec![part(&self.query, scale), part(&self.key, 1.0), part(&self.value, 1.0)],
            Projection::Q => vec![part(&self.query, scale)],
            Projection::Kv => vec![part(&self.key, 1.0), part(&self.value, 1.0)],
        };
        let (weights, biases): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        (Tensor::cat(weights, 1), Tensor::cat(biases, 0))
    }

    /// Attention of the queries from `x_q` (`[batch, q_len, hidden]`) over the keys and values
    /// from `x` (`[batch, seq, hidden]`). `x_q` is `x` itself, or its `[CLS]` row alone where
    /// only that row is read.
    fn run(&self, x_q: Option<Tensor<B, 3>>, x: Tensor<B, 3>, padding: &KeyPadding<B>, matmul: Matmul) -> Tensor<B, 3> {
        let [batch, seq, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let heads = |t: Tensor<B, 3>| {
            let [_, len, _] = t.dims();
            t.reshape([batch, len, self.num_heads, head_dim]).swap_dims(1, 2)
        };
        let affine = |x: Tensor<B, 3>, which: Projection| {
            let (weight, bias) = self.projection(which);
            dense(x, weight, bias, matmul)
        };
        let (q, k, v) = match x_q {
            None => {
                let y = affine(x, Projection::Qkv);
                let flash = || super::flash::attention(&y, &padding.keys, self.num_heads);
                let context = match self.implementation {
                    Attention::Flash2 => super::flash2::attention(&y, &padding.keys, self.num_heads, seq).or_else(flash),
                    Attention::Flash => flash(),
                    _ => None,
                };
                if let Some(context) = context {
                    return linear(&self.output, context, matmul);
                }
                (y.clone().narrow(2, 0, hidden), y.clone().narrow(2, hidden, hidden), y.narrow(2, 2 * hidden, hidden))
            }
            Some(x_q) => {
                // `Flash2` computes the first rows' attention alone, from the projection of every
                // row: one third more of the k/v product's work, and no copies of its halves.
                if self.implementation == Attention::Flash2 && super::flash2::available::<B>() {
                    let [_, q_len, _] = x_q.dims();
                    let y = affine(x.clone(), Projection::Qkv);
                    if let Some(context) = super::flash2::attention(&y, &padding.keys, self.num_heads, q_len) {
                        return linear(&self.output, context, matmul);
                    }
                }
                let kv = affine(x, Projection::Kv);
                (affine(x_q, Projection::Q), kv.clone().narrow(2, 0, hidden), kv.narrow(2, hidden, hidden))
            }
        };
        let [_, q_len, _] = q.dims();
        let (q, k, v) = (heads(q), heads(k), heads(v));
        // The queries carry the scale already.
        let options = AttentionModuleOptions { scale: Some(1.0), ..Default::default() };
        let mask = || Some(padding.mask.clone().expand([batch, self.num_heads, q_len, seq]));
        let context = match self.implementation {
            Attention::Fused => attention(q, k, v, mask(), None, options),
            Attention::Unfused => attention_fallback(q, k, v, mask(), None, options),
            Attention::Deferred | Attention::Flash | Attention::Flash2 => attention_deferred(q, k, v, padding.bias()),
        };
        let context = context.swap_dims(1, 2).reshape([batch, q_len, hidden]);
        linear(&self.output, context, matmul)
    }
}

impl<B: Backend> BertLayer<B> {
    /// The layer over every position (`cls_only` false), or over the `[CLS]` row alone
    /// (`[batch, 1, hidden]`, attending to every position): a classifier that reads only
    /// `[CLS]` needs nothing else from the last layer, and gets exactly the same values.
    fn run(
        &self,
        x: Tensor<B, 3>,
        padding: &KeyPadding<B>,
        mode: Mode,
        cls_only: bool,
    ) -> Tensor<B, 3> {
        let (x, attended) = if cls_only {
            let cls = x.clone().narrow(1, 0, 1);
            let attended = self.attention.run(Some(cls.clone()), x, padding, self.matmul);
            (cls, attended)
        } else {
            (x.clone(), self.attention.run(None, x, padding, self.matmul))
        };
        let x = residual_norm(&self.attention_norm, self.norm_epsilon, x, maybe_dropout(&self.dropout, attended, mode), self.norm);
        let expanded = gelu(linear(&self.ffn_in, x.clone(), self.matmul));
        let contracted = linear(&self.ffn_out, expanded, self.matmul);
        residual_norm(&self.ffn_norm, self.norm_epsilon, x, maybe_dropout(&self.dropout, contracted, mode), self.norm)
    }
}

impl<B: Backend> BertEncoder<B> {
    /// Hidden states `[batch, seq, hidden]`, or with `cls_only` the `[CLS]` row of the last
    /// layer alone (`[batch, 1, hidden]`), which is all the pooler reads.
    fn run(&self, input: &BertInput<B>, mode: Mode, cls_only: bool) -> Tensor<B, 3> {
        // One key-padding mask, shared by every layer and head.
        let padding = KeyPadding::new(&input.attention_mask);
        let mut x = self.embeddings.run(input, mode);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.run(x, &padding, mode, cls_only && i == last);
        }
        x
    }

    /// Uses the given attention implementation (the default is [`Attention::Deferred`]).
    pub fn with_attention(mut self, implementation: Attention) -> Self {
        for layer in &mut self.layers {
            layer.attention.implementation = implementation;
        }
        self
    }

    /// Computes the dense products with `matmul`'s kernels (the default is [`Matmul::Burn`]).
    pub fn with_matmul(mut self, matmul: Matmul) -> Self {
        for layer in &mut self.layers {
            layer.matmul = matmul;
        }
        self
    }

    /// Computes the residual sums and LayerNorms with `norm`'s kernels (the default is
    /// [`Norm::Burn`]).
    pub fn with_norm(mut self, norm: Norm) -> Self {
        self.embeddings.norm_kernels = norm;
        for layer in &mut self.layers {
            layer.norm = norm;
        }
        self
    }

    /// Serves with `kernels`; see [`Self::with_attention`], [`Self::with_matmul`] and
    /// [`Self::with_norm`].
    pub fn with_kernels(self, kernels: Kernels) -> Self {
        self.with_attention(kernels.attention).with_matmul(kernels.matmul).with_norm(kernels.norm)
    }

    /// For serving: builds each layer's concatenated query/key/value weights once instead of
    /// on every call. Later changes to the weights are not seen, so never train a frozen model.
    pub fn frozen(mut self) -> Self {
        for layer in &mut self.layers {
            let attention = &mut layer.attention;
            attention.frozen_qkv = None;
            let frozen = [Projection::Qkv, Projection::Q, Projection::Kv].map(|p| attention.projection(p));
            attention.frozen_qkv = Some(frozen.into());
        }
        self
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
    /// Uses the given attention implementation (the default is [`Attention::Deferred`]).
    pub fn with_attention(mut self, implementation: Attention) -> Self {
        self.bert = self.bert.with_attention(implementation);
        self
    }

    /// Serves with `kernels`; see [`BertEncoder::with_kernels`].
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.bert = self.bert.with_kernels(kernels);
        self
    }

    /// For serving; see [`BertEncoder::frozen`].
    pub fn frozen(mut self) -> Self {
        self.bert = self.bert.frozen();
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
    fn every_attention_implementation_gives_the_same_logits() {
        // Mixed lengths, so the padding mask matters; the frozen serving copy must agree too.
        let device = Default::default();
        let model = CrossEncoderConfig::new(BertConfig::tiny()).init::<B>(&device);
        let batch = input(&[(&PAIR_IDS[..3], &PAIR_TYPES[..3]), (PAIR_IDS, PAIR_TYPES)], 16);
        let logits = |m: &CrossEncoder<B>| m.infer(&batch).into_data().to_vec::<f32>().unwrap();
        // Burn draws initial weights lazily, on first use, separately in each clone: one use
        // before cloning gives every clone the same weights.
        let _ = logits(&model);
        let reference = logits(&model.clone().with_attention(Attention::Unfused));
        // `Flash`, `Flash2`, `CublasLt` and `Norm::Fused` are CUDA only; on the CPU they run
        // Burn's ops.
        for implementation in [Attention::Fused, Attention::Deferred, Attention::Flash, Attention::Flash2] {
            let options = [false, true].into_iter().flat_map(|f| Matmul::ALL.into_iter().flat_map(move |m| Norm::ALL.map(|n| (f, m, n))));
            for (frozen, matmul, norm) in options {
                let m = model.clone().with_kernels(Kernels { attention: implementation, matmul, norm });
                let m = if frozen { m.frozen() } else { m };
                let got = logits(&m);
                for (a, b) in got.iter().zip(&reference) {
                    assert!((a - b).abs() < 1e-5, "{implementation:?} {matmul:?} {norm:?} frozen {frozen}: {got:?} vs {reference:?}");
                }
            }
        }
    }

    #[test]
    fn kernels_resolve_to_the_fastest_and_refuse_cuda_ones_on_the_cpu() {
        let cuda = Kernels::resolve(KernelRequest::default(), crate::config::DeviceKind::Cuda).unwrap();
        assert_eq!(cuda, Kernels { attention: Attention::Flash2, matmul: Matmul::CublasLt, norm: Norm::Fused });
        let cpu = Kernels::resolve(KernelRequest::default(), crate::config::DeviceKind::Cpu).unwrap();
        assert_eq!(cpu, Kernels { attention: Attention::Unfused, matmul: Matmul::Burn, norm: Norm::Burn });
        let asked = KernelRequest { attention: Some(Attention::Deferred), matmul: Some(Matmul::Burn), norm: Some(Norm::Burn) };
        assert_eq!(
            Kernels::resolve(asked, crate::config::DeviceKind::Cuda).unwrap(),
            Kernels { attention: Attention::Deferred, matmul: Matmul::Burn, norm: Norm::Burn }
        );
        let error = Kernels::resolve(KernelRequest { norm: Some(Norm::Fused), ..Default::default() }, crate::config::DeviceKind::Cpu).unwrap_err();
        assert!(error.contains("norm `fused` is a CUDA kernel"), "{error}");
        let error = Kernels::resolve(KernelRequest { matmul: Some(Matmul::CublasLt), ..Default::default() }, crate::config::DeviceKind::Cpu).unwrap_err();
        assert!(error.contains("matmul `cublaslt` is a CUDA library"), "{error}");
        let error = Kernels::resolve(KernelRequest { attention: Some(Attention::Flash), ..Default::default() }, crate::config::DeviceKind::Cpu).unwrap_err();
        assert!(error.contains("attention `flash` is a CUDA kernel"), "{error}");
        let error = Kernels::resolve(KernelRequest { attention: Some(Attention::Flash2), ..Default::default() }, crate::config::DeviceKind::Cpu).unwrap_err();
        assert!(error.contains("attention `flash2` is a CUDA kernel"), "{error}");
    }

    #[test]
    fn deferred_attention_gives_no_weight_to_padded_keys() {
        // One query over three keys, the last padded: its huge value must not leak in, and the
        // result is the softmax-weighted mean of the first two values.
        let device = Default::default();
        let t = |v: Vec<f32>, shape: [usize; 4]| Tensor::<B, 4>::from_data(TensorData::new(v, shape), &device);
        let q = t(vec![1.0], [1, 1, 1, 1]);
        let k = t(vec![0.0, 2.0, 50.0], [1, 1, 3, 1]);
        let v = t(vec![1.0, 3.0, 1e6], [1, 1, 3, 1]);
        let padding = KeyPadding::new(&Tensor::<B, 2, Int>::from_data(TensorData::new(vec![1i64, 1, 0], [1, 3]), &device));
        let got = attention_deferred(q, k, v, padding.bias()).into_data().to_vec::<f32>().unwrap()[0];
        let (w0, w1) = (1.0f32, 2.0f32.exp());
        let expected = (w0 * 1.0 + w1 * 3.0) / (w0 + w1);
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
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
