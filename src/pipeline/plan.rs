//! Loading a pipeline for a run: the config's own checks, and the checks that need the judge's
//! knowledge, reported together so that one load names every problem.
//!
//! The config reads no checkpoint; here a `model` judge's `train.json` is read to check that the
//! pipeline cuts prefixes the way the judge was trained on.

use std::path::Path;

use crate::config::{Check, ConfigError, JudgeKind, PipelineConfig, Sections, TruncatorConfig};
use crate::trace::truncate::PrefixMode;

/// The checks a run adds to the config's own.
const RUN_CHECKS: [Check; 1] = [judge_reads_prefixes_as_trained];

/// Reads a pipeline file for a run: `--set` overrides applied, and every check run, the
/// judge's included.
pub fn load(path: &Path, overrides: &[String]) -> Result<PipelineConfig, ConfigError> {
    PipelineConfig::load_with(path, overrides, &RUN_CHECKS)
}

/// [`load`] from YAML text; `file` names it in errors, and relative paths in it are relative to
/// `file`'s folder.
pub fn from_yaml(text: &str, file: &str, overrides: &[String]) -> Result<PipelineConfig, ConfigError> {
    PipelineConfig::from_yaml_with(text, file, overrides, &RUN_CHECKS)
}

/// A trained judge reads prefixes cut one way (its `train.json`); the pipeline must cut them the
/// same way, or the judge scores inputs unlike anything it was trained on. A staged pipeline
/// needs a judge trained at every one of its checkpoints (the checkpoint's `count` and `later`).
fn judge_reads_prefixes_as_trained(s: &Sections<'_>, e: &mut Vec<String>) {
    let (Some(judge), Some(truncator)) = (s.judge, s.truncator) else { return };
    if judge.kind != JudgeKind::Model {
        return;
    }
    let Some(dir) = &judge.path else { return };
    if !dir.join("train.json").is_file() {
        return; // A checkpoint without train.json is reported when it is loaded.
    }
    match crate::judge::train::CheckpointMeta::read(dir) {
        Ok(meta) => {
            let trained = &meta.train.truncator;
            let name = |t: &TruncatorConfig| {
                let mode = match t.mode {
                    PrefixMode::Tokens => "tokens",
                    PrefixMode::ReasoningWords => "reasoning_words",
                };
                let later = if t.later.is_empty() { String::new() } else { format!(", later {:?}", t.later) };
                format!("mode {mode}, count {}{later}", t.count)
            };
            let trained_at = trained.checkpoints();
            if trained.mode != truncator.mode || truncator.checkpoints().iter().any(|c| !trained_at.contains(c)) {
                let keys = if truncator.later.is_empty() {
                    "truncator.mode and truncator.count"
                } else {
                    "truncator.mode, truncator.count and truncator.later"
                };
                e.push(format!(
                    "truncator: judge.path {} was trained on prefixes cut with {}, but this pipeline cuts with {}; \
                     set {keys} to match the checkpoint",
                    s.paths.show("judge.path", dir),
                    name(trained),
                    name(truncator)
                ));
            }
        }
        Err(err) => e.push(format!("judge.path: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint directory whose `train.json` says it was trained on 128-token prefixes.
    fn checkpoint(dir: &Path) {
        let train: crate::judge::train::TrainConfig =
            serde_norway::from_str("traces: t.jsonl\ntruncator: {mode: tokens, count: 128}\noutput: o\n").unwrap();
        let meta = crate::judge::train::CheckpointMeta {
            train,
            max_len: 256,
            buckets: vec![256],
            validation: Default::default(),
            history: Vec::new(),
        };
        std::fs::write(dir.join("train.json"), serde_json::to_string(&meta).unwrap()).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"").unwrap();
    }

    #[test]
    fn a_model_judge_must_read_prefixes_cut_as_it_was_trained() {
        let ckpt = tempfile::tempdir().unwrap();
        checkpoint(ckpt.path());
        let root = env!("CARGO_MANIFEST_DIR");
        let yaml = format!(
            "generator:\n  problems: {root}/data/sample/problems.jsonl\n  traces: {root}/data/sample/traces.jsonl.gz\n\
             judge:\n  kind: model\n  path: {}\nclusterer:\n  tau: 2\n",
            ckpt.path().display()
        );
        let errors = from_yaml(&yaml, "t.yaml", &[]).unwrap_err().errors;
        assert_eq!(errors.len(), 2, "the judge's check reports with the config's own: {errors:?}");
        assert!(errors[0].starts_with("clusterer.tau: expected a number in [0, 1]"), "{errors:?}");
        assert_eq!(
            errors[1],
            format!(
                "truncator: judge.path {} was trained on prefixes cut with mode tokens, count 128, but this pipeline \
                 cuts with mode tokens, count 64; set truncator.mode and truncator.count to match the checkpoint",
                ckpt.path().display()
            )
        );
        let matching = ["truncator.count=128".to_string(), "clusterer.tau=0.5".into()];
        assert!(from_yaml(&yaml, "t.yaml", &matching).is_ok());
        // The config alone does not read checkpoints.
        assert!(PipelineConfig::from_yaml(&yaml, "t.yaml", &["clusterer.tau=0.5".into()]).is_ok());
    }

    #[test]
    fn the_configs_bucket_limit_is_the_tokenizers() {
        assert_eq!(crate::config::MAX_BUCKET_TOKENS, crate::judge::bert::tokenize::MAX_SEQ_LEN);
    }
}
