//! The committed judge checkpoint loads and scores pairs on the CPU.

mod common;

use std::sync::Arc;

use deepprune::config::DeviceKind;
use deepprune::judge::{backend, PairInput};
use deepprune::trace::dataset::load_traces;
use deepprune::trace::truncate::{cut, PrefixMode};

#[test]
fn committed_judge_scores_pairs_on_the_cpu() {
    let dir = common::root().join("models/judge-minilm");
    let mut judge = backend::model_judge(&dir, DeviceKind::Cpu, 8, Default::default(), None).expect("models/judge-minilm loads");
    let traces = load_traces(&common::root().join("data/sample/traces.jsonl.gz")).unwrap();
    // Prefixes cut the way the checkpoint was trained (its train.json).
    let spec = deepprune::judge::eval::checkpoint_spec(&dir).expect("train.json names the truncation");
    assert_eq!((spec.mode(), spec.count()), (PrefixMode::Tokens, 128));
    let ts = &traces.problems[1].1;
    let prefixes: Vec<_> = ts.iter().take(4).map(|t| Arc::new(cut(&spec, t).unwrap())).collect();
    let pairs: Vec<PairInput> =
        (1..4).map(|i| PairInput { a: prefixes[0].clone(), b: prefixes[i].clone() }).collect();
    let scores = judge.score(&pairs).unwrap();
    assert_eq!(scores.len(), 3);
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
    // Scoring is a pure function of the pair: the same pairs again, in another batch, agree.
    let again = judge.score(&pairs[1..]).unwrap();
    for (a, b) in scores[1..].iter().zip(&again) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn serving_buckets_change_the_padding_not_the_scores() {
    let dir = common::root().join("models/judge-minilm");
    let traces = load_traces(&common::root().join("data/sample/traces.jsonl.gz")).unwrap();
    let spec = deepprune::judge::eval::checkpoint_spec(&dir).unwrap();
    let ts = &traces.problems[2].1;
    let prefixes: Vec<_> = ts.iter().take(5).map(|t| Arc::new(cut(&spec, t).unwrap())).collect();
    let pairs: Vec<PairInput> =
        (1..5).map(|i| PairInput { a: prefixes[0].clone(), b: prefixes[i].clone() }).collect();
    let score = |buckets: Option<&[usize]>| {
        let mut judge = backend::model_judge(&dir, DeviceKind::Cpu, 8, Default::default(), buckets).unwrap();
        let scores = judge.score(&pairs).unwrap();
        (scores, judge.take_shapes().unwrap())
    };
    // The buckets the checkpoint was trained with (its train.json), against the serving
    // default of one bucket every 32 tokens.
    let (trained, trained_shapes) = score(Some(&[256, 384]));
    let (finer, finer_shapes) = score(None);
    for (a, b) in trained.iter().zip(&finer) {
        assert!((a - b).abs() < 1e-4, "{trained:?} vs {finer:?}");
    }
    // The same pairs, run in fewer padded tokens.
    assert_eq!(trained_shapes.tokens, finer_shapes.tokens);
    assert!(finer_shapes.padded_tokens < trained_shapes.padded_tokens, "{finer_shapes:?} vs {trained_shapes:?}");
    // Buckets too short for the checkpoint's longest pair are refused, naming the key.
    let error = backend::model_judge(&dir, DeviceKind::Cpu, 8, Default::default(), Some(&[64, 128])).err().unwrap().to_string();
    assert!(error.contains("judge.buckets") && error.contains("384"), "{error}");
}
