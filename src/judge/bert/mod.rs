//! The judge's neural backbone: a BERT encoder in Burn, loaded from all-MiniLM-L6-v2, and the
//! pair cross-encoder built on it.
//!
//! - [`model`]: [`BertConfig`]/[`BertEncoder`] and [`CrossEncoderConfig`]/[`CrossEncoder`]
//!   (`forward` → logits for training, `infer` → probabilities for serving), plus
//!   sentence-transformers-style mean-pooled embeddings.
//! - [`weights`]: loading the base `model.safetensors` (key-remapping table at its top) and
//!   saving/loading trained checkpoints, optionally in half precision.
//! - [`tokenize`]: WordPiece ids, fair pair truncation, single-sentence framing and
//!   length-bucketed padding.

#[cfg(feature = "cuda")]
mod cuda_op;
#[cfg(feature = "cuda")]
mod cuda_stream;
pub mod dense;
pub mod flash;
pub mod flash2;
pub mod model;
pub mod norm;
pub mod tokenize;
pub mod weights;

pub use dense::Matmul;
pub use norm::Norm;
pub use model::{attention_deferred, Attention, KernelRequest, Kernels, Refusal, BertConfig, BertEncoder, BertInput, CrossEncoder, CrossEncoderConfig};
pub use tokenize::{
    BertTokenizer, EncodedPair, EncodedSentence, KeepSide, LengthBuckets, PaddedBatch, PairEncoder,
    SpecialTokens, TokenizeError,
};
pub use weights::{
    load_base_weights, load_checkpoint, save_checkpoint, BaseModelFiles, CheckpointPrecision,
    TensorProblem, WeightsError,
};
