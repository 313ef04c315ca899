//! The judge's neural backbone: a BERT encoder in Burn, loaded from all-MiniLM-L6-v2, and the
//! pair cross-encoder built on it.
//!
//! - [`model`]: [`BertConfig`]/[`BertEncoder`] and [`CrossEncoderConfig`]/[`CrossEncoder`]
//!   (`forward` → logits for training, `infer` → probabilities for serving), plus
//!   sentence-transformers-style mean-pooled embeddings.
//! - [`attention`]: multi-head self-attention, by whichever [`Attention`] implementation serves.
//! - [`weights`]: loading the base `model.safetensors` (key-remapping table at its top) and its
//!   Hugging Face `config.json`, and saving/loading trained checkpoints, optionally in half
//!   precision.
//! - [`tokenize`]: WordPiece ids, fair pair truncation, single-sentence framing and
//!   length-bucketed padding.

pub mod attention;
pub mod model;
pub mod tokenize;
pub mod weights;

// The encoder's kernel settings, where they are read beside the model that they configure.
pub use crate::judge::kernels::{Matmul, Norm};
pub use attention::{attention_deferred, BertSelfAttention};
pub use model::{Attention, KernelRequest, Refusal, BertConfig, BertEncoder, BertInput, CrossEncoder, CrossEncoderConfig};
pub use tokenize::{
    BertTokenizer, EncodedPair, EncodedSentence, KeepSide, LengthBuckets, PaddedBatch, PairEncoder,
    SpecialTokens, TokenizeError,
};
pub use weights::{
    load_base_weights, load_checkpoint, save_checkpoint, BaseModelFiles, CheckpointPrecision,
    TensorProblem, WeightsError,
};
