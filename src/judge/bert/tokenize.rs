//! WordPiece tokenisation for the encoder: pairs `[CLS] a [SEP] b [SEP]` for the cross-encoder,
//! single sentences `[CLS] text [SEP]` for embeddings, and padding into length buckets.
//!
//! Texts are tokenised once, without special tokens ([`BertTokenizer::encode_text`]); pairs are
//! then assembled from those ids ([`PairEncoder::pair_from_ids`]), so a trace prefix that appears
//! in many pairs is tokenised once and cached by the caller.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use tokenizers::Tokenizer;

use super::model::BertInput;

/// Longest sequence BERT's position table covers (all-MiniLM-L6-v2: 512).
pub const MAX_SEQ_LEN: usize = 512;

/// Longest single-sentence input for embeddings: sentence-transformers' `max_seq_length` for
/// all-MiniLM-L6-v2 (`sentence_bert_config.json`).
pub const SENTENCE_MAX_LEN: usize = 256;

/// Special tokens a pair needs: `[CLS]` `[SEP]`.
const SPECIALS_PER_PAIR: usize = 3;

/// Errors from tokenising and batching.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// `tokenizer.json` could not be read or parsed.
    #[error("cannot load tokenizer {path}: {source} (run scripts/dev/fetch-base-model.sh for the base model)")]
    Load {
        /// The tokenizer file.
        path: PathBuf,
        /// What the `tokenizers` crate reported.
        #[source]
        source: tokenizers::Error,
    },
    /// The vocabulary lacks a special token BERT inputs need.
    #[error("tokenizer {path} has no `{token}` token")]
    MissingSpecialToken {
        /// The tokenizer file.
        path: PathBuf,
        /// The missing token, e.g. `[CLS]`.
        token: &'static str,
    },
    /// The `tokenizers` crate failed on a text.
    #[error("cannot tokenise text starting {prefix:?}: {source}")]
    Encode {
        /// The first characters of the text.
        prefix: String,
        /// What the `tokenizers` crate reported.
        #[source]
        source: tokenizers::Error,
    },
    /// A maximum length outside what the encoder supports.
    #[error("max length {max_len} is out of range: expected {min}..={MAX_SEQ_LEN}")]
    BadMaxLen {
        /// The length asked for.
        max_len: usize,
        /// The smallest usable length.
        min: usize,
    },
    /// Length buckets that are empty, zero or longer than the encoder supports.
    #[error(
        "bad length buckets {bounds:?}: expected a non-empty list of lengths in 1..={MAX_SEQ_LEN}"
    )]
    BadBuckets {
        /// The bounds given.
        bounds: Vec<usize>,
    },
    /// A sequence longer than the largest bucket.
    #[error("sequence {index} has {len} tokens, longer than the largest bucket ({largest})")]
    TooLong {
        /// Position of the sequence in the batch.
        index: usize,
        /// Its length in tokens.
        len: usize,
        /// The largest bucket.
        largest: usize,
    },
    /// A batch with no sequences.
    #[error("cannot build an empty batch")]
    EmptyBatch,
}

/// Ids of the special tokens used to frame inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `[CLS]`, first token of every input.
    pub cls: u32,
    /// `[SEP]`, closes each segment.
    pub sep: u32,
    /// `[PAD]`, fills a sequence up to its bucket.
    pub pad: u32,
}

impl SpecialTokens {
    /// The ids of bert-base-uncased's vocabulary, which all-MiniLM-L6-v2 shares.
    pub const BERT_UNCASED: Self = Self {
        cls: 101,
        sep: 102,
        pad: 0,
    };
}

/// A BERT WordPiece tokenizer read from a Hugging Face `tokenizer.json`.
///
/// The file's own truncation and padding settings (128 for all-MiniLM-L6-v2) are switched off:
/// truncation and padding are done here, on ids.
#[derive(Clone)]
pub struct BertTokenizer {
    inner: Tokenizer,
    special: SpecialTokens,
}

impl std::fmt::Debug for BertTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertTokenizer")
            .field("special", &self.special)
            .finish_non_exhaustive()
    }
}

impl BertTokenizer {
    /// Loads `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TokenizeError> {
        let path = path.as_ref();
        let mut inner = Tokenizer::from_file(path).map_err(|source| TokenizeError::Load {
            path: path.to_path_buf(),
            source,
        })?;
        inner
            .with_truncation(None)
            .map_err(|source| TokenizeError::Load {
                path: path.to_path_buf(),
                source,
            })?;
        inner.with_padding(None);
        let id = |token: &'static str| {
            inner
                .token_to_id(token)
                .ok_or_else(|| TokenizeError::MissingSpecialToken {
                    path: path.to_path_buf(),
                    token,
                })
        };
        let special = SpecialTokens {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            pad: id("[PAD]")?,
        };
        Ok(Self { inner, special })
    }

    /// The ids of `[CLS]`, `[SEP]` and `[PAD]`.
    pub fn special_tokens(&self) -> SpecialTokens {
        self.special
    }

    /// WordPiece ids of `text`, without special tokens and without truncation.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        let encoding =
            self.inner
                .encode_fast(text, false)
                .map_err(|source| TokenizeError::Encode {
                    prefix: text.chars().take(40).collect(),
                    source,
                })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// `[CLS] text [SEP]`, keeping the head of `text` to fit `max_len` tokens, as
    /// sentence-transformers does (use [`SENTENCE_MAX_LEN`] for all-MiniLM-L6-v2 embeddings).
    pub fn encode_sentence(
        &self,
        text: &str,
        max_len: usize,
    ) -> Result<EncodedSentence, TokenizeError> {
        if !(2..=MAX_SEQ_LEN).contains(&max_len) {
            return Err(TokenizeError::BadMaxLen { max_len, min: 2 });
        }
        let body = self.encode_text(text)?;
        let kept = &body[..body.len().min(max_len - 2)];
        let mut ids = Vec::with_capacity(kept.len() + 2);
        ids.push(self.special.cls);
        ids.extend_from_slice(kept);
        ids.push(self.special.sep);
        let type_ids = vec![0; ids.len()];
        Ok(EncodedSentence { ids, type_ids })
    }
}

/// One framed input, before padding: ids and their segment ids, of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPair {
    /// Token ids, starting with `[CLS]`.
    pub ids: Vec<u32>,
    /// Segment ids: 0 up to and including the first `[SEP]`, 1 after it.
    pub type_ids: Vec<u32>,
}

/// A single sentence `[CLS] text [SEP]`: an [`EncodedPair`] whose segment ids are all 0.
pub type EncodedSentence = EncodedPair;

impl EncodedPair {
    /// Number of tokens, special tokens included.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens at all (never true for framed inputs).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Which end of a too-long segment to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeepSide {
    /// Keep the first tokens (Hugging Face's default).
    #[default]
    Head,
    /// Keep the last tokens: the most recent reasoning of a trace prefix.
    Tail,
}

/// How many tokens of each segment fit a budget, cutting fairly (longest-first): a segment
/// shorter than half the budget is kept whole and lends the rest to the other; otherwise
/// both get half (the first segment gets the odd token).
pub fn fair_split(len_a: usize, len_b: usize, budget: usize) -> (usize, usize) {
    if len_a + len_b <= budget {
        return (len_a, len_b);
    }
    let keep_b = len_b.min((budget / 2).max(budget.saturating_sub(len_a)));
    let keep_a = len_a.min(budget - keep_b);
    (keep_a, keep_b)
}

fn keep(ids: &[u32], n: usize, side: KeepSide) -> &[u32] {
    match side {
        KeepSide::Head => &ids[..n],
        KeepSide::Tail => &ids[ids.len() - n..],
    }
}

/// Frames `[CLS] a [SEP] b [SEP]` from ids made by [`BertTokenizer::encode_text`], cutting
/// both segments fairly ([`fair_split`]) to fit `max_len` tokens. A `max_len` outside
/// `3..=MAX_SEQ_LEN` is clamped into it.
pub fn pair_from_ids(
    a: &[u32],
    b: &[u32],
    max_len: usize,
    special: SpecialTokens,
    side: KeepSide,
) -> EncodedPair {
    let max_len = max_len.clamp(SPECIALS_PER_PAIR, MAX_SEQ_LEN);
    let (keep_a, keep_b) = fair_split(a.len(), b.len(), max_len - SPECIALS_PER_PAIR);
    let (a, b) = (keep(a, keep_a, side), keep(b, keep_b, side));
    let len = a.len() + b.len() + SPECIALS_PER_PAIR;
    let mut ids = Vec::with_capacity(len);
    ids.push(special.cls);
    ids.extend_from_slice(a);
    ids.push(special.sep);
    let first_segment = ids.len();
    ids.extend_from_slice(b);
    ids.push(special.sep);
    let mut type_ids = vec![0; first_segment];
    type_ids.resize(len, 1);
    EncodedPair { ids, type_ids }
}

/// Encodes trace-prefix pairs for the cross-encoder.
#[derive(Debug, Clone)]
pub struct PairEncoder {
    tokenizer: BertTokenizer,
    max_len: usize,
    side: KeepSide,
}

impl PairEncoder {
    /// A pair encoder producing at most `max_len` tokens (3..=512) per pair, keeping the head
    /// of each segment when cutting.
    pub fn new(tokenizer: BertTokenizer, max_len: usize) -> Result<Self, TokenizeError> {
        if !(SPECIALS_PER_PAIR..=MAX_SEQ_LEN).contains(&max_len) {
            return Err(TokenizeError::BadMaxLen {
                max_len,
                min: SPECIALS_PER_PAIR,
            });
        }
        Ok(Self {
            tokenizer,
            max_len,
            side: KeepSide::Head,
        })
    }

    /// Keeps `side` of each segment when a pair is cut.
    pub fn with_keep_side(mut self, side: KeepSide) -> Self {
        self.side = side;
        self
    }

    /// The configured maximum pair length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The underlying tokenizer.
    pub fn tokenizer(&self) -> &BertTokenizer {
        &self.tokenizer
    }

    /// WordPiece ids of one text, without special tokens: cache these per trace prefix.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        self.tokenizer.encode_text(text)
    }

    /// Frames two cached id lists into a pair of at most `max_len` tokens (clamped to
    /// `3..=512`).
    pub fn pair_from_ids(&self, a: &[u32], b: &[u32], max_len: usize) -> EncodedPair {
        pair_from_ids(a, b, max_len, self.tokenizer.special, self.side)
    }

    /// Tokenises and frames two texts with the configured maximum length.
    pub fn encode_pair(&self, a: &str, b: &str) -> Result<EncodedPair, TokenizeError> {
        let a = self.encode_text(a)?;
        let b = self.encode_text(b)?;
        Ok(self.pair_from_ids(&a, &b, self.max_len))
    }
}

/// The fixed sequence lengths batches are padded to, so a serving backend sees few shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthBuckets {
    bounds: Vec<usize>,
}

impl Default for LengthBuckets {
    /// 64, 128, 256, 384 and 512 tokens.
    fn default() -> Self {
        Self {
            bounds: vec![64, 128, 256, 384, 512],
        }
    }
}

impl LengthBuckets {
    /// Buckets at the given lengths (any order; duplicates are dropped).
    pub fn new(bounds: impl Into<Vec<usize>>) -> Result<Self, TokenizeError> {
        let mut bounds = bounds.into();
        if bounds.is_empty() || bounds.iter().any(|&b| b == 0 || b > MAX_SEQ_LEN) {
            return Err(TokenizeError::BadBuckets { bounds });
        }
        bounds.sort_unstable();
        bounds.dedup();
        Ok(Self { bounds })
    }

    /// The bucket lengths, ascending.
    pub fn bounds(&self) -> &[usize] {
        &self.bounds
    }

    /// The largest bucket.
    pub fn largest(&self) -> usize {
        *self
            .bounds
            .last()
            .expect("LengthBuckets is never empty; this is a bug")
    }

    /// The smallest bucket that holds `len` tokens, if any.
    pub fn bucket_for(&self, len: usize) -> Option<usize> {
        self.bounds.iter().copied().find(|&b| b >= len)
    }
}

/// A batch padded on the host to one bucket length, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    /// Number of sequences.
    pub batch_size: usize,
    /// The bucket length every row is padded to.
    pub seq_len: usize,
    /// Token ids, `[PAD]` after each sequence.
    pub ids: Vec<i64>,
    /// Segment ids, 0 on padding.
    pub type_ids: Vec<i64>,
    /// 1 on real tokens, 0 on padding.
    pub attention_mask: Vec<i64>,
}

impl PaddedBatch {
    /// Pads `items` to the smallest bucket that holds the longest of them.
    pub fn new(
        items: &[EncodedPair],
        buckets: &LengthBuckets,
        pad_id: u32,
    ) -> Result<Self, TokenizeError> {
        let longest = items
            .iter()
            .map(EncodedPair::len)
            .max()
            .ok_or(TokenizeError::EmptyBatch)?;
        let seq_len = buckets.bucket_for(longest).ok_or_else(|| {
            let index = items
                .iter()
                .position(|item| item.len() == longest)
                .unwrap_or(0);
            TokenizeError::TooLong {
                index,
                len: longest,
                largest: buckets.largest(),
            }
        })?;
        let cells = items.len() * seq_len;
        let mut batch = Self {
            batch_size: items.len(),
            seq_len,
            ids: Vec::with_capacity(cells),
            type_ids: Vec::with_capacity(cells),
            attention_mask: Vec::with_capacity(cells),
        };
        for item in items {
            let pad = seq_len - item.len();
            batch.ids.extend(item.ids.iter().map(|&id| i64::from(id)));
            batch
                .ids
                .extend(std::iter::repeat_n(i64::from(pad_id), pad));
            batch
                .type_ids
                .extend(item.type_ids.iter().map(|&t| i64::from(t)));
            batch.type_ids.extend(std::iter::repeat_n(0, pad));
            batch
                .attention_mask
                .extend(std::iter::repeat_n(1, item.len()));
            batch.attention_mask.extend(std::iter::repeat_n(0, pad));
        }
        Ok(batch)
    }

    /// Number of real (non-padding) tokens.
    pub fn real_tokens(&self) -> usize {
        self.attention_mask.iter().filter(|&&m| m == 1).count()
    }

    /// Uploads the batch to `device` as the encoder's input.
    pub fn to_input<B: Backend>(&self, device: &B::Device) -> BertInput<B> {
        let shape = [self.batch_size, self.seq_len];
        let tensor =
            |values: &Vec<i64>| Tensor::from_data(TensorData::new(values.clone(), shape), device);
        BertInput {
            ids: tensor(&self.ids),
            type_ids: tensor(&self.type_ids),
            attention_mask: tensor(&self.attention_mask),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECIAL: SpecialTokens = SpecialTokens::BERT_UNCASED;

    #[test]
    fn fair_split_cases() {
        // (len_a, len_b, budget) -> (keep_a, keep_b)
        let cases = [
            ((3, 4, 10), (3, 4)),
            ((10, 100, 50), (10, 40)),
            ((100, 10, 50), (40, 10)),
            ((100, 100, 50), (25, 25)),
            ((100, 100, 51), (26, 25)),
            ((30, 30, 50), (25, 25)),
            ((24, 30, 50), (24, 26)),
            ((0, 80, 50), (0, 50)),
            ((80, 0, 50), (50, 0)),
            ((5, 5, 0), (0, 0)),
        ];
        for ((a, b, budget), expected) in cases {
            let got = fair_split(a, b, budget);
            assert_eq!(got, expected, "fair_split({a}, {b}, {budget})");
            assert!(got.0 <= a && got.1 <= b && got.0 + got.1 <= budget);
        }
    }

    #[test]
    fn pair_layout_and_segments() {
        let pair = pair_from_ids(&[1, 2, 3], &[4, 5], 16, SPECIAL, KeepSide::Head);
        assert_eq!(pair.ids, vec![101, 1, 2, 3, 102, 4, 5, 102]);
        assert_eq!(pair.type_ids, vec![0, 0, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn pair_cutting_keeps_the_chosen_side() {
        let a: Vec<u32> = (1..=10).collect();
        let b: Vec<u32> = (11..=20).collect();
        let head = pair_from_ids(&a, &b, 9, SPECIAL, KeepSide::Head);
        assert_eq!(head.ids, vec![101, 1, 2, 3, 102, 11, 12, 13, 102]);
        let tail = pair_from_ids(&a, &b, 9, SPECIAL, KeepSide::Tail);
        assert_eq!(tail.ids, vec![101, 8, 9, 10, 102, 18, 19, 20, 102]);
        assert_eq!(tail.len(), 9);
        // Out-of-range lengths are clamped, never a panic.
        assert_eq!(
            pair_from_ids(&a, &b, 0, SPECIAL, KeepSide::Head).ids,
            vec![101, 102, 102]
        );
        assert!(pair_from_ids(&a, &b, 10_000, SPECIAL, KeepSide::Head).len() == 23);
    }

    #[test]
    fn buckets_pick_the_smallest_fit() {
        let buckets = LengthBuckets::default();
        let cases = [
            (1, Some(64)),
            (64, Some(64)),
            (65, Some(128)),
            (512, Some(512)),
            (513, None),
        ];
        for (len, expected) in cases {
            assert_eq!(buckets.bucket_for(len), expected, "len {len}");
        }
        assert!(LengthBuckets::new(vec![]).is_err());
        assert!(LengthBuckets::new(vec![0, 8]).is_err());
        assert!(LengthBuckets::new(vec![1024]).is_err());
        assert_eq!(
            LengthBuckets::new(vec![32, 8, 32]).unwrap().bounds(),
            &[8, 32]
        );
    }

    #[test]
    fn padded_batch_layout() {
        let buckets = LengthBuckets::new(vec![4, 8]).unwrap();
        let items = [
            pair_from_ids(&[7], &[8], 8, SPECIAL, KeepSide::Head),
            pair_from_ids(&[7, 7], &[8, 8, 8], 8, SPECIAL, KeepSide::Head),
        ];
        let batch = PaddedBatch::new(&items, &buckets, SPECIAL.pad).unwrap();
        assert_eq!((batch.batch_size, batch.seq_len), (2, 8));
        assert_eq!(&batch.ids[..8], &[101, 7, 102, 8, 102, 0, 0, 0]);
        assert_eq!(&batch.type_ids[..8], &[0, 0, 0, 1, 1, 0, 0, 0]);
        assert_eq!(&batch.attention_mask[8..], &[1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(batch.real_tokens(), 13);
        assert!(matches!(
            PaddedBatch::new(&[], &buckets, 0),
            Err(TokenizeError::EmptyBatch)
        ));
        let long = pair_from_ids(&[1; 20], &[], 64, SPECIAL, KeepSide::Head);
        assert!(matches!(
            PaddedBatch::new(&[items[0].clone(), long], &buckets, 0),
            Err(TokenizeError::TooLong {
                index: 1,
                len: 23,
                largest: 8
            })
        ));
    }
}
