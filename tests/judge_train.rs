//! The judge's training loop runs on the CPU and its loss falls on a small separable set.

mod common;

use std::io::Write;

use deepprune::judge::backend;
use deepprune::judge::train::TrainConfig;

/// Problems whose traces all share one answer say "alpha"; problems whose traces all differ say
/// "beta". The label of a pair is then readable from either prefix.
fn separable_traces(path: &std::path::Path) {
    let mut f = std::fs::File::create(path).unwrap();
    for p in 0..12 {
        let same = p % 2 == 0;
        for s in 0..6 {
            let word = if same { "alpha" } else { "beta" };
            let class = if same { 0 } else { s };
            let text = format!("we note {word} {word} and {word} again {p}");
            writeln!(f, r#"{{"pid":"p{p}","sample":{s},"text":"{text}","answer_class":{class}}}"#).unwrap();
        }
    }
}

/// A CPU training config over [`separable_traces`] in `dir` (a tiny encoder, checkpoint in
/// `dir/ckpt`); returns its path.
fn separable_config(dir: &std::path::Path, batch_size: usize, epochs: usize) -> std::path::PathBuf {
    let base = common::root().join(deepprune::judge::bert::weights::BASE_MODEL_DIR);
    let traces = dir.join("traces.jsonl");
    separable_traces(&traces);
    let yaml = format!(
        "base: {}\ntraces: {}\ntruncator: {{mode: reasoning_words, count: 100}}\nmax_len: 32\nbuckets: [32]\n\
         validation_fraction: 0.25\noversample: 1\nbatch_size: {batch_size}\nlr: 3.0e-3\nwarmup_fraction: 0.0\n\
         epochs: {epochs}\ndevice: cpu\ntiny: true\nsave_precision: f32\noutput: {}\n",
        base.display(),
        traces.display(),
        dir.join("ckpt").display()
    );
    let path = dir.join("train.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn loss_falls_on_a_separable_set() {
    let base = common::root().join(deepprune::judge::bert::weights::BASE_MODEL_DIR);
    assert!(
        base.join("tokenizer.json").is_file(),
        "{} is missing: run scripts/dev/fetch-base-model.sh",
        base.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = separable_config(dir.path(), 16, 4);
    let config = TrainConfig::load(&config_path, &["loss=bce".to_string()]).unwrap();
    let history = backend::train_on_device(&config, false).unwrap();
    let (first, last) = (history.first().unwrap(), history.last().unwrap());
    assert!(last.train_loss < first.train_loss * 0.7, "loss {} -> {}", first.train_loss, last.train_loss);
    assert!(last.val_auroc.unwrap() > 0.9, "validation AUROC {:?}", last.val_auroc);
    // The checkpoint loads back as a pipeline judge and scores on the CPU.
    let judge = backend::model_judge(&dir.path().join("ckpt"), deepprune::config::DeviceKind::Cpu, 8, Default::default(), None);
    assert!(judge.is_ok(), "{:?}", judge.err().map(|e| e.to_string()));
}

#[test]
fn several_weighted_files_and_checkpoints_train_and_a_checkpoint_restarts_training() {
    let base = common::root().join(deepprune::judge::bert::weights::BASE_MODEL_DIR);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    separable_traces(&a);
    separable_traces(&b);
    let yaml = |init: &str, out: &str| {
        format!(
            "base: {}\n{init}traces:\n  - path: {}\n    weight: 0.5\n  - path: {}\n    weight: 2\n    max_problems: 6\n\
             truncator: {{mode: reasoning_words, count: 100, later: [200]}}\nmax_len: 32\nbuckets: [32]\n\
             validation_fraction: 0.25\noversample: 1\nbatch_size: 16\nlr: 3.0e-3\nwarmup_fraction: 0.0\n\
             epochs: 2\ndevice: cpu\ntiny: true\nsave_precision: f32\noutput: {}\n",
            base.display(),
            a.display(),
            b.display(),
            dir.path().join(out).display()
        )
    };
    let path = dir.path().join("train.yaml");
    std::fs::write(&path, yaml("", "first")).unwrap();
    let config = TrainConfig::load(&path, &[]).unwrap();
    let history = backend::train_on_device(&config, false).unwrap();
    // 9 of a's 12 problems (15 pairs each) at weight 0.5, b's first 6 less those held out at
    // weight 2: the epoch sees about 67 + 2 × (train share of 90) pairs, not 2 × 135.
    let seen = history[0].train_pairs;
    assert!((100..230).contains(&seen), "{seen} pairs in an epoch");
    // A second run starts from the first's checkpoint (not tiny: its weights define the model).
    let init = format!("init: {}\n", dir.path().join("first").display());
    std::fs::write(&path, yaml(&init, "second").replace("tiny: true", "tiny: false")).unwrap();
    let config = TrainConfig::load(&path, &[]).unwrap();
    let again = backend::train_on_device(&config, false).unwrap();
    assert!(
        again[0].train_loss < history[0].train_loss,
        "a restart from the trained checkpoint starts lower: {} vs {}",
        again[0].train_loss,
        history[0].train_loss
    );
    let meta = deepprune::judge::train::CheckpointMeta::read(&dir.path().join("second")).unwrap();
    assert_eq!(meta.train.truncator.later, vec![200]);
    // A missing file and a negative weight are named.
    std::fs::write(&path, yaml("", "x").replace("weight: 2", "weight: -1").replace(&*b.display().to_string(), "/nonexistent.jsonl")).unwrap();
    let err = TrainConfig::load(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("traces[1]: file /nonexistent.jsonl does not exist"), "{err}");
    assert!(err.contains("traces[1].weight: expected a finite number ≥ 0, got -1"), "{err}");
}

#[test]
fn a_time_budget_ends_training_with_a_validated_checkpoint_and_validate_every_adds_validations() {
    let dir = tempfile::tempdir().unwrap();
    let path = separable_config(dir.path(), 4, 50);
    // 50 epochs of about 34 steps, each step validated every 5, cannot finish in 1.5 s: the
    // budget ends the run.
    let config = TrainConfig::load(&path, &["max_seconds=1.5".to_string(), "validate_every=5".to_string()]).unwrap();
    let history = backend::train_on_device(&config, false).unwrap();
    let last = history.last().unwrap();
    assert!(last.out_of_time, "the last validation is where time ran out: {last:?}");
    assert!(last.epoch < 50, "stopped in epoch {}", last.epoch);
    assert_eq!(history.iter().filter(|r| r.out_of_time).count(), 1);
    // Step 5 is validated, within the first epoch, besides epoch ends and the last step.
    let steps: Vec<(usize, usize)> = history.iter().map(|r| (r.epoch, r.step)).collect();
    assert_eq!(steps[0], (1, 5), "{steps:?}");
    assert!(history.windows(2).all(|w| w[0].step < w[1].step));
    let meta = deepprune::judge::train::CheckpointMeta::read(&dir.path().join("ckpt")).unwrap();
    assert_eq!(meta.history.len(), history.len());
    assert!(dir.path().join("ckpt/model.safetensors").is_file());
    // A budget of 0 seconds or a validation every 0 steps is an error naming the key.
    let err = TrainConfig::load(&path, &["max_seconds=0".to_string(), "validate_every=0".to_string()]).unwrap_err().to_string();
    assert!(err.contains("max_seconds: expected a number of seconds > 0"), "{err}");
    assert!(err.contains("validate_every: expected a number of steps ≥ 1"), "{err}");
}

#[test]
fn the_committed_training_configs_load_with_file_relative_paths() {
    let root = common::root();
    if !root.join("../shared/data/traces-train.jsonl.gz").is_file() {
        eprintln!("skipped: ../shared/data is not beside this checkout");
        return;
    }
    for name in ["judge-minilm.yaml", "judge-minilm-both.yaml"] {
        // Loaded from another directory: the paths inside resolve against training/.
        let config = TrainConfig::load(&root.join("training").join(name), &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for f in config.traces.files() {
            assert!(f.path.is_file(), "{name}: {}", f.path.display());
        }
    }
    let both = TrainConfig::load(&root.join("training/judge-minilm-both.yaml"), &[]).unwrap();
    assert_eq!(both.traces.files().len(), 3);
    assert_eq!(both.truncator.checkpoints(), vec![64, 128, 256]);
    assert!(both.init.as_ref().is_some_and(|d| d.join("model.safetensors").is_file()));
}

#[test]
fn eval_scores_the_baselines_alone_on_the_same_pairs_when_no_judge_is_given() {
    use deepprune::judge::eval;
    use deepprune::judge::lexical::LexicalJudge;
    use deepprune::trace::truncate::{PrefixMode, TruncationSpec};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traces.jsonl");
    separable_traces(&path);
    let set = deepprune::trace::dataset::load_traces(&path).unwrap();
    let spec = TruncationSpec::new(PrefixMode::ReasoningWords, 100, &[]);
    let pairs = eval::eval_pairs(&set, &spec, None, 0).unwrap();
    assert_eq!(pairs.len(), 12 * 15);
    let (alone, scores) = eval::evaluate(None, None, &pairs, &spec).unwrap();
    assert!(alone.model.is_none() && scores.model.is_none());
    assert_eq!(scores.named().iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec!["lexical"]);
    // No model: the report has no top-level judge figures, only the baselines.
    let json = serde_json::to_value(&alone).unwrap();
    assert!(json.get("auroc").is_none() && json["baselines"]["lexical"]["pairs"] == 180, "{json}");
    // With a judge (here the lexical one), its figures are the baseline's on the same pairs.
    let mut judge = LexicalJudge::default();
    let (both, _) = eval::evaluate(Some(&mut judge), None, &pairs, &spec).unwrap();
    assert_eq!(serde_json::to_value(&both).unwrap()["pairs"], 180);
    let model = both.model.unwrap();
    assert_eq!(model.pairs, 180);
    assert_eq!(model.auroc, alone.baselines.lexical.auroc);
}
