//! The neural judges: the trained cross-encoder (`model`) and the MiniLM embedding-cosine
//! baseline (`embedding`, the paper's "SentenceBERT" baseline), both generic over the backend.
//!
//! Each prefix is tokenized once and cached; pairs are framed from the cached ids, sorted by
//! length, and padded to a few fixed length buckets so a CUDA backend compiles few kernels.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;

use super::bert::{
    load_checkpoint, BaseModelFiles, BertEncoder, BertTokenizer, CrossEncoder, EncodedPair, LengthBuckets, PaddedBatch,
    PairEncoder,
};
use super::kernels::Kernels;
use super::{ForwardShapes, JudgeError, PairInput, PairJudge};
use crate::trace::TracePrefix;

/// Runs after a GPU judge is dropped, on its worker thread: waits for the backend's queued work
/// (the drops of the judge's tensors included), then returns the thread's free memory pages to the
/// driver. See [`PairJudge::release_hook`].
fn release_device_memory<B: Backend>(device: &B::Device) -> Option<Box<dyn FnOnce() + Send>> {
    let device = device.clone();
    Some(Box::new(move || {
        let _ = B::sync(&device);
        B::memory_cleanup(&device);
    }))
}

/// The default serving buckets of a model judge are the multiples of this many tokens. Pairs
/// padded to the training buckets (256 and 384) were 34% padding in the pipeline; with a bucket
/// every 32 tokens, 21%, and the judge took 17.7 s instead of 20.5 s for the same 63,316 pairs
/// on an H100 (docs/judge.md). Each new length costs one kernel compilation on first use.
pub const SERVING_BUCKET_STEP: usize = 32;

/// Past this many cached prefixes the cache is cleared, to bound memory on long runs.
const CACHE_CAP: usize = 200_000;

type PrefixKey = (Arc<str>, u32, usize);

fn key(p: &TracePrefix) -> PrefixKey {
    (p.pid.clone(), p.sample, p.tokens)
}

/// WordPiece ids per prefix, computed once.
#[derive(Debug, Default)]
pub struct IdCache {
    ids: HashMap<PrefixKey, Arc<Vec<u32>>>,
}

impl IdCache {
    /// The ids of `p`, tokenizing it on first use.
    pub fn get(&mut self, tokenizer: &BertTokenizer, p: &TracePrefix) -> Result<Arc<Vec<u32>>, JudgeError> {
        if self.ids.len() >= CACHE_CAP {
            self.ids.clear();
        }
        if let Some(ids) = self.ids.get(&key(p)) {
            return Ok(ids.clone());
        }
        let ids = Arc::new(tokenizer.encode_text(&p.text)?);
        self.ids.insert(key(p), ids.clone());
        Ok(ids)
    }
}

/// Scores framed pairs with `model` in batches of at most `batch_size`, longest-first so each
/// batch pads to the smallest bucket that holds it. Returns scores in input order.
///
/// Each pass's scores are read back before the next pass is queued. Queuing the next pass first
/// (so the host frames a batch while the GPU runs the last) measured no faster in the pipeline
/// on an H100 (42.2 s of judge time for the same 120,569 pairs, against 43.7 and 47.3 s on two
/// earlier machines), so the simpler order stays.
pub fn score_encoded<B: Backend>(
    model: &CrossEncoder<B>,
    items: &[EncodedPair],
    buckets: &LengthBuckets,
    pad_id: u32,
    batch_size: usize,
    device: &B::Device,
    shapes: &mut ForwardShapes,
) -> Result<Vec<f32>, JudgeError> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(items[i].len()));
    let mut scores = vec![0.0f32; items.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let mut batch_items: Vec<EncodedPair> = chunk.iter().map(|&i| items[i].clone()).collect();
        // Pad the row count to a power of two (or the batch cap): a GPU backend then compiles
        // and autotunes kernels for a handful of shapes, not one per batch size.
        let rows = chunk.len().next_power_of_two().min(batch_size.max(chunk.len()));
        batch_items.resize(rows, batch_items[0].clone());
        let batch = PaddedBatch::new(&batch_items, buckets, pad_id)?;
        count_pass(shapes, &batch_items[..chunk.len()], &batch);
        let probs = model.infer(&batch.to_input::<B>(device));
        let values = tensor_to_vec(probs.into_data())?;
        for (&i, v) in chunk.iter().zip(values) {
            scores[i] = v;
        }
    }
    Ok(scores)
}

/// Adds one forward pass over `batch`, whose real rows are `real`, to `shapes`.
fn count_pass(shapes: &mut ForwardShapes, real: &[EncodedPair], batch: &PaddedBatch) {
    shapes.add(&ForwardShapes {
        passes: 1,
        rows: real.len() as u64,
        padded_rows: batch.batch_size as u64,
        tokens: real.iter().map(|p| p.len() as u64).sum(),
        padded_tokens: (batch.batch_size * batch.seq_len) as u64,
    });
}

fn tensor_to_vec(data: burn::tensor::TensorData) -> Result<Vec<f32>, JudgeError> {
    data.convert::<f32>().to_vec::<f32>().map_err(JudgeError::ReadScores)
}

/// The trained cross-encoder as a pipeline judge.
pub struct ModelJudge<B: Backend> {
    model: CrossEncoder<B>,
    encoder: PairEncoder,
    buckets: LengthBuckets,
    batch_size: usize,
    cache: IdCache,
    device: B::Device,
    shapes: ForwardShapes,
}

impl<B: Backend> ModelJudge<B> {
    /// Loads a checkpoint directory (`model.safetensors`, `config.json`, `tokenizer.json`,
    /// `train.json`) onto `device`.
    ///
    /// `buckets`: the pair lengths to pad to (`judge.buckets`); `None` for every multiple of
    /// [`SERVING_BUCKET_STEP`] up to the checkpoint's longest pair. The longest must hold that pair.
    pub fn load(
        dir: &Path,
        batch_size: usize,
        kernels: Kernels,
        buckets: Option<&[usize]>,
        device: B::Device,
    ) -> Result<Self, JudgeError> {
        let tokenizer_error = |source| JudgeError::Tokenizer { dir: dir.to_path_buf(), source };
        let (model, _) =
            load_checkpoint::<B>(dir, &device).map_err(|source| JudgeError::Weights { dir: dir.to_path_buf(), source })?;
        let model = model.with_kernels(kernels).frozen();
        let tokenizer = BertTokenizer::from_file(dir.join("tokenizer.json")).map_err(tokenizer_error)?;
        let meta = super::train::CheckpointMeta::read(dir)
            .map_err(|source| JudgeError::Checkpoint { dir: dir.to_path_buf(), source })?;
        let encoder = PairEncoder::new(tokenizer, meta.max_len).map_err(tokenizer_error)?;
        let buckets = match buckets {
            None => {
                let step = SERVING_BUCKET_STEP;
                let lengths: Vec<usize> = (1..=meta.max_len.div_ceil(step)).map(|i| (i * step).min(meta.max_len)).collect();
                LengthBuckets::new(lengths).map_err(tokenizer_error)?
            }
            Some(b) => {
                let buckets = LengthBuckets::new(b.to_vec()).map_err(JudgeError::BadBuckets)?;
                if buckets.largest() < meta.max_len {
                    return Err(JudgeError::BucketsTooShort {
                        longest: buckets.largest(),
                        max_len: meta.max_len,
                        dir: dir.to_path_buf(),
                    });
                }
                buckets
            }
        };
        Ok(Self { model, encoder, buckets, batch_size, cache: IdCache::default(), device, shapes: ForwardShapes::default() })
    }

    /// Frames a pair from cached ids.
    pub fn encode(&mut self, p: &PairInput) -> Result<EncodedPair, JudgeError> {
        let a = self.cache.get(self.encoder.tokenizer(), &p.a)?;
        let b = self.cache.get(self.encoder.tokenizer(), &p.b)?;
        Ok(self.encoder.pair_from_ids(&a, &b, self.encoder.max_len()))
    }
}

impl<B: Backend> PairJudge for ModelJudge<B> {
    fn name(&self) -> &str {
        "model"
    }

    fn release_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
        release_device_memory::<B>(&self.device)
    }

    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        let items = pairs.iter().map(|p| self.encode(p)).collect::<Result<Vec<_>, _>>()?;
        let pad = self.encoder.tokenizer().special_tokens().pad;
        score_encoded(&self.model, &items, &self.buckets, pad, self.batch_size, &self.device, &mut self.shapes)
    }

    fn take_shapes(&mut self) -> Option<ForwardShapes> {
        Some(std::mem::take(&mut self.shapes))
    }
}

/// The embedding baseline: cosine similarity of MiniLM mean-pooled embeddings, clamped to [0, 1].
pub struct EmbeddingJudge<B: Backend> {
    encoder: BertEncoder<B>,
    tokenizer: BertTokenizer,
    embeddings: HashMap<PrefixKey, Arc<Vec<f32>>>,
    batch_size: usize,
    device: B::Device,
    shapes: ForwardShapes,
}

impl<B: Backend> EmbeddingJudge<B> {
    /// Loads the base model from `dir` (see `scripts/dev/fetch-base-model.sh`).
    pub fn load(dir: &Path, batch_size: usize, kernels: Kernels, device: B::Device) -> Result<Self, JudgeError> {
        let files = BaseModelFiles::new(dir);
        let encoder = files
            .load_encoder::<B>(&device)
            .map_err(|source| JudgeError::Weights { dir: dir.to_path_buf(), source })?
            .with_kernels(kernels)
            .frozen();
        let tokenizer = BertTokenizer::from_file(files.tokenizer())
            .map_err(|source| JudgeError::Tokenizer { dir: dir.to_path_buf(), source })?;
        Ok(Self { encoder, tokenizer, embeddings: HashMap::new(), batch_size, device, shapes: ForwardShapes::default() })
    }

    fn embed_missing(&mut self, prefixes: &[&Arc<TracePrefix>]) -> Result<(), JudgeError> {
        let mut missing: Vec<&Arc<TracePrefix>> = Vec::new();
        for p in prefixes {
            if !self.embeddings.contains_key(&key(p)) && !missing.iter().any(|m| key(m) == key(p)) {
                missing.push(p);
            }
        }
        if self.embeddings.len() + missing.len() >= CACHE_CAP {
            self.embeddings.clear();
        }
        let buckets = LengthBuckets::new(vec![64, 128, 256])?;
        let pad = self.tokenizer.special_tokens().pad;
        for chunk in missing.chunks(self.batch_size.max(1)) {
            let items = chunk
                .iter()
                .map(|p| self.tokenizer.encode_sentence(&p.text, super::bert::tokenize::SENTENCE_MAX_LEN))
                .collect::<Result<Vec<_>, _>>()?;
            let batch = PaddedBatch::new(&items, &buckets, pad)?;
            count_pass(&mut self.shapes, &items, &batch);
            let emb = self.encoder.mean_pooled_embeddings(&batch.to_input::<B>(&self.device));
            let [n, d] = emb.dims();
            let flat = tensor_to_vec(emb.into_data())?;
            for (i, p) in chunk.iter().enumerate().take(n) {
                self.embeddings.insert(key(p), Arc::new(flat[i * d..(i + 1) * d].to_vec()));
            }
        }
        Ok(())
    }
}

impl<B: Backend> PairJudge for EmbeddingJudge<B> {
    fn name(&self) -> &str {
        "embedding"
    }

    fn release_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
        release_device_memory::<B>(&self.device)
    }

    fn take_shapes(&mut self) -> Option<ForwardShapes> {
        Some(std::mem::take(&mut self.shapes))
    }

    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        let all: Vec<&Arc<TracePrefix>> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
        self.embed_missing(&all)?;
        pairs
            .iter()
            .map(|p| {
                let (a, b) = (self.embeddings.get(&key(&p.a)), self.embeddings.get(&key(&p.b)));
                match (a, b) {
                    // Embeddings are L2-normalised, so the dot product is the cosine.
                    (Some(a), Some(b)) => Ok(a.iter().zip(b.iter()).map(|(x, y)| x * y).sum::<f32>().clamp(0.0, 1.0)),
                    _ => Err(JudgeError::MissingEmbedding),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;

    use super::*;
    use crate::judge::bert::{BertConfig, CrossEncoderConfig};

    /// A framed pair of `len` tokens whose ids depend on `seed`.
    fn pair(seed: u32, len: usize) -> EncodedPair {
        let ids: Vec<u32> = (0..len as u32).map(|i| if i == 0 { 1 } else { 5 + (seed * 7 + i * 3) % 100 }).collect();
        let type_ids = (0..len).map(|i| u32::from(i >= len / 2)).collect();
        EncodedPair { ids, type_ids }
    }

    #[test]
    fn scores_do_not_depend_on_how_pairs_are_split_into_forward_passes() {
        let device = Default::default();
        let model = CrossEncoderConfig::new(BertConfig::tiny()).init::<Flex>(&device);
        let buckets = LengthBuckets::new(vec![16, 32]).unwrap();
        let items: Vec<EncodedPair> = (0..11).map(|s| pair(s, 6 + (s as usize * 5) % 24)).collect();
        let mut shapes = ForwardShapes::default();
        let whole = score_encoded(&model, &items, &buckets, 0, 64, &device, &mut shapes).unwrap();
        // One pass: 11 rows padded to 16, the longest pair (27 tokens) to the 32 bucket.
        let tokens = items.iter().map(|p| p.len() as u64).sum();
        assert_eq!(shapes, ForwardShapes { passes: 1, rows: 11, padded_rows: 16, tokens, padded_tokens: 16 * 32 });
        // Several passes of at most three pairs each.
        let split = score_encoded(&model, &items, &buckets, 0, 3, &device, &mut shapes).unwrap();
        assert_eq!((shapes.passes, shapes.rows, shapes.padded_rows), (1 + 4, 11 + 11, 16 + 11));
        assert_eq!(whole.len(), items.len());
        for (i, (a, b)) in whole.iter().zip(&split).enumerate() {
            assert!((a - b).abs() < 1e-5, "pair {i}: {a} alone vs {b} split");
        }
        // The scores are each pair's own, not a copy of one (the pairs differ).
        assert!(whole.iter().any(|s| (s - whole[0]).abs() > 1e-6), "{whole:?}");
    }
}
