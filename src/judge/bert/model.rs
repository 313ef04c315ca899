//! The BERT encoder (post-norm, absolute positions, exact GELU) and the pair cross-encoder
//! built on it.
//!
//! Shapes follow all-MiniLM-L6-v2 by default ([`BertConfig::all_minilm_l6_v2`]). The model is
//! written in generic Burn ops, so the same code runs in f32 on the flex CPU backend and in
//! f16/bf16 on CUDA. Serving on CUDA swaps three parts for faster kernels ([`Kernels`]), each
//! falling back to the Burn ops wherever it does not run:
//! - self-attention ([`Attention`]): Burn's fused attention op, Burn's reference composition, a
//!   composition that makes fewer passes over the scores, or one of our two flash-attention
//!   kernels ([`kernels::flash`] in CubeCL, [`kernels::flash2`] in CUDA C++);
//! - the dense products ([`Matmul`]): Burn's matmul or cuBLASLt ([`kernels::dense`]);
//! - each residual sum and LayerNorm ([`Norm`]): Burn's ops or one kernel ([`kernels::norm`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::activation::{gelu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use super::attention::{BertSelfAttention, KeyPadding};
use crate::judge::kernels::{self, norm::residual_norm, Kernels, Matmul, Norm};


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

// The kernel settings are config data; the encoder reads them here.
pub use crate::config::{Attention, KernelRequest, Refusal};

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
pub(super) fn dense<B: Backend>(x: Tensor<B, 3>, weight: Tensor<B, 2>, bias: Tensor<B, 1>, matmul: Matmul) -> Tensor<B, 3> {
    if matmul == Matmul::CublasLt {
        if let Some(y) = kernels::dense::dense(&x, &weight, &bias) {
            return y;
        }
    }
    x.matmul(weight.unsqueeze_dim::<3>(0)) + bias.unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(0)
}

/// A [`Linear`] layer by `matmul`'s kernels where they run, else its own `forward`.
pub(super) fn linear<B: Backend>(layer: &Linear<B>, x: Tensor<B, 3>, matmul: Matmul) -> Tensor<B, 3> {
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
            layer.attention.freeze();
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
