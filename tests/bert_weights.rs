//! The Burn encoder with all-MiniLM-L6-v2's weights reproduces sentence-transformers.
//!
//! Needs `models/base/all-minilm-l6-v2/` (run `scripts/dev/fetch-base-model.sh`); the reference
//! vectors in `tests/fixtures/minilm-embeddings.json` come from
//! `scripts/dev/make-embedding-fixture.py`.

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use deepprune::judge::bert::tokenize::SENTENCE_MAX_LEN;
use deepprune::judge::bert::weights::BASE_MODEL_DIR;
use deepprune::judge::bert::{BaseModelFiles, BertTokenizer, LengthBuckets, PaddedBatch};
use serde::Deserialize;

type B = Flex;

/// Largest difference allowed between our embedding and the reference, per component.
const TOLERANCE: f32 = 1e-4;

#[derive(Deserialize)]
struct Fixture {
    max_seq_length: usize,
    items: Vec<FixtureItem>,
}

#[derive(Deserialize)]
struct FixtureItem {
    sentence: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn fixture() -> Fixture {
    let path = repo_path("tests/fixtures/minilm-embeddings.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad fixture {}: {e}", path.display()))
}

fn base_files() -> BaseModelFiles {
    let files = BaseModelFiles::new(repo_path(BASE_MODEL_DIR));
    if let Err(error) = files.check() {
        panic!(
            "base model missing: {error}\n\
             Run scripts/dev/fetch-base-model.sh before `cargo test` (CI does this first)."
        );
    }
    files
}

#[test]
fn tokenizer_matches_sentence_transformers() {
    let fixture = fixture();
    assert_eq!(fixture.max_seq_length, SENTENCE_MAX_LEN);
    let tokenizer = BertTokenizer::from_file(base_files().tokenizer()).unwrap();
    for item in &fixture.items {
        let encoded = tokenizer
            .encode_sentence(&item.sentence, SENTENCE_MAX_LEN)
            .unwrap();
        assert_eq!(encoded.ids, item.ids, "sentence {:?}", item.sentence);
        assert!(encoded.type_ids.iter().all(|&t| t == 0));
    }
}

#[test]
fn embeddings_match_sentence_transformers() {
    let fixture = fixture();
    let files = base_files();
    let device = Default::default();
    let tokenizer = BertTokenizer::from_file(files.tokenizer()).unwrap();
    let encoder = files.load_encoder::<B>(&device).unwrap();

    let encoded: Vec<_> = fixture
        .items
        .iter()
        .map(|item| {
            tokenizer
                .encode_sentence(&item.sentence, SENTENCE_MAX_LEN)
                .unwrap()
        })
        .collect();
    // One batch of mixed lengths, padded to 256: padding must not move any vector.
    let buckets = LengthBuckets::new(vec![SENTENCE_MAX_LEN]).unwrap();
    let batch = PaddedBatch::new(&encoded, &buckets, tokenizer.special_tokens().pad).unwrap();
    let embeddings = encoder.mean_pooled_embeddings(&batch.to_input::<B>(&device));
    assert_eq!(embeddings.dims(), [fixture.items.len(), 384]);
    let values = embeddings.into_data().to_vec::<f32>().unwrap();

    let mut worst = 0.0f32;
    for (row, item) in values.chunks(384).zip(&fixture.items) {
        assert_eq!(item.embedding.len(), 384);
        let diff = row
            .iter()
            .zip(&item.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("max abs diff {diff:.2e}  {:.50}", item.sentence);
        assert!(
            diff <= TOLERANCE,
            "sentence {:?}: max abs diff {diff} > {TOLERANCE}",
            item.sentence
        );
        worst = worst.max(diff);
    }
    println!(
        "worst max abs diff over {} sentences: {worst:.2e}",
        fixture.items.len()
    );
}
