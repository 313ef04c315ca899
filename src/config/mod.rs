//! The pipeline YAML: serde structs with `deny_unknown_fields`, `--set` overrides, and a
//! validation pass that collects every error before reporting.
//!
//! Every key is documented in `configs/reference.yaml`. Relative paths are resolved against the
//! directory `deepprune-run` is started in.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_norway::Value;

use crate::trace::truncate::{default_reasoning_words, PrefixMode, TruncationSpec};

/// Why a pipeline file could not be used: every problem found, each naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {} error(s):\n  - {}", errors.len(), errors.join("\n  - "))]
pub struct ConfigError {
    /// The pipeline file.
    pub file: String,
    /// One line per problem.
    pub errors: Vec<String>,
}

/// Where traces come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorKind {
    /// Replays a recorded dataset token by token in virtual time.
    Replay,
    /// Made-up traces with a controllable similarity structure, for load tests
    /// (`generator.synthetic`).
    Synthetic,
    /// Live traces from OpenAI-compatible servers (`generator.openai`), for the questions of
    /// `generator.problems`.
    Openai,
}

/// Confidence-based early stopping applied by the generator (DeepConf).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopPolicy {
    /// No early stopping by confidence.
    #[default]
    None,
    /// DeepConf-low: stop below the 90th percentile of the warm-up traces' lowest confidence.
    DeepconfLow,
    /// DeepConf-high: stop below the 10th percentile.
    DeepconfHigh,
}

/// The `generator` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorConfig {
    /// The source of traces.
    #[serde(default = "default_generator_kind")]
    pub kind: GeneratorKind,
    /// `problems.jsonl` (gold answers for grading).
    #[serde(default)]
    pub problems: Option<PathBuf>,
    /// The traces file (JSONL, optionally gzip).
    #[serde(default)]
    pub traces: Option<PathBuf>,
    /// Replay only the first this many problems of the traces file.
    #[serde(default)]
    pub max_problems: Option<usize>,
    /// Replay only the first this many traces (by sample index) of each problem.
    #[serde(default)]
    pub max_traces: Option<usize>,
    /// Tokens each live trace emits per virtual step.
    #[serde(default = "default_tokens_per_step")]
    pub tokens_per_step: usize,
    /// Problems replayed at once; their pair comparisons share the judge's batches.
    #[serde(default = "default_concurrent_problems")]
    pub concurrent_problems: usize,
    /// Virtual steps between a prefix completing and the prune decision taking effect; a pruned
    /// trace keeps generating (and paying) meanwhile.
    #[serde(default)]
    pub decision_delay_steps: usize,
    /// Confidence-based early stopping (DeepConf); needs `conf` on every trace.
    #[serde(default)]
    pub stop_policy: StopPolicy,
    /// DeepConf's group window in tokens.
    #[serde(default = "default_deepconf_window")]
    pub deepconf_window: usize,
    /// DeepConf's warm-up traces per problem (run in full; they set the threshold).
    #[serde(default = "default_deepconf_warmup")]
    pub deepconf_warmup: usize,
    /// The synthetic source's settings (for `kind: synthetic`).
    #[serde(default)]
    pub synthetic: crate::pipeline::synthetic::SyntheticConfig,
    /// The live generator's servers, prompt and sampling (for `kind: openai`).
    #[serde(default)]
    pub openai: crate::pipeline::openai::OpenAiConfig,
}

/// 64 tokens: the paper's 2048 would span whole traces here (~380 tokens on average).
fn default_deepconf_window() -> usize {
    64
}
/// 16 warm-up traces: DeepConf's N_init.
fn default_deepconf_warmup() -> usize {
    16
}

/// Replay by default.
fn default_generator_kind() -> GeneratorKind {
    GeneratorKind::Replay
}
/// 8 tokens per step: fine enough that a pruned trace overshoots its prefix by < 8 tokens.
fn default_tokens_per_step() -> usize {
    8
}
/// 8 problems in flight.
fn default_concurrent_problems() -> usize {
    8
}

/// The `truncator` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruncatorConfig {
    /// `tokens` or `reasoning_words`.
    #[serde(default = "default_prefix_mode")]
    pub mode: PrefixMode,
    /// k: tokens or reasoning words in a prefix.
    #[serde(default = "default_prefix_count")]
    pub count: usize,
    /// The reasoning words, for `reasoning_words` mode.
    #[serde(default = "default_reasoning_words")]
    pub words: Vec<String>,
    /// Staged judging: later checkpoints, in the same mode as `count`, strictly increasing and
    /// each above `count`. A decision within `clusterer.band` of τ waits for the trace's prefix
    /// at the next one. Empty (the default): one checkpoint, as in the paper. Not written when
    /// empty, so a judge checkpoint's `train.json` reads as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub later: Vec<usize>,
}

/// Token prefixes by default.
fn default_prefix_mode() -> PrefixMode {
    PrefixMode::Tokens
}
/// 64 tokens.
fn default_prefix_count() -> usize {
    64
}

impl TruncatorConfig {
    /// The truncation this section describes (its first checkpoint).
    pub fn spec(&self) -> TruncationSpec {
        TruncationSpec::new(self.mode, self.count, &self.words)
    }

    /// Every checkpoint: `count`, then each of `later`.
    pub fn checkpoints(&self) -> Vec<usize> {
        std::iter::once(self.count).chain(self.later.iter().copied()).collect()
    }
}

/// Which judge scores pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeKind {
    /// Reference labels: the upper bound.
    Oracle,
    /// Number and bigram overlap.
    Lexical,
    /// Cosine of MiniLM mean-pooled embeddings (the paper's SentenceBERT baseline).
    Embedding,
    /// The trained Burn cross-encoder at `judge.path`.
    Model,
    /// No judge: nothing is pruned; plain majority vote over all traces.
    None,
    /// Scores every pair 0 without looking at it (load tests: the pipeline's own cost).
    Noop,
}

/// Where the judge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The flex CPU backend.
    #[default]
    Cpu,
    /// CUDA (needs the `cuda` crate feature).
    Cuda,
}

/// The `judge` section: the judge and its batcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// The judge.
    #[serde(default = "default_judge_kind")]
    pub kind: JudgeKind,
    /// The checkpoint directory for `model`; the base model directory for `embedding`
    /// (default `models/base/all-minilm-l6-v2`).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Most pairs per forward pass of a neural judge.
    #[serde(default = "default_model_batch")]
    pub model_batch: usize,
    /// `cpu` or `cuda`, for `model` and `embedding`.
    #[serde(default)]
    pub device: DeviceKind,
    /// How a neural judge computes self-attention: `flash2` or `flash` (CUDA only), `deferred`,
    /// `unfused` or `fused` (see [`crate::judge::bert::Attention`]). Unset: the fastest measured on the
    /// device.
    #[serde(default)]
    pub attention: Option<crate::judge::bert::Attention>,
    /// Which kernels compute a neural judge's dense products: `cublaslt` (NVIDIA's library,
    /// CUDA only) or `burn` (see [`crate::judge::bert::Matmul`]). Unset: the fastest measured on
    /// the device.
    #[serde(default)]
    pub matmul: Option<crate::judge::bert::Matmul>,
    /// How a neural judge computes its residual sums and LayerNorms: `fused` (one CUDA kernel
    /// each, CUDA only) or `burn` (see [`crate::judge::bert::Norm`]). Unset: the fastest
    /// measured on the device.
    #[serde(default)]
    pub norm: Option<crate::judge::bert::Norm>,
    /// The pair lengths (WordPiece tokens) a `model` judge pads to when serving. Unset: every
    /// multiple of 32 up to the checkpoint's longest pair. Padding never changes a score, only
    /// the compute spent.
    #[serde(default)]
    pub buckets: Option<Vec<usize>>,
    /// Most pairs in one batch.
    #[serde(default = "default_max_batch_pairs")]
    pub max_batch_pairs: usize,
    /// Most padded tokens in one batch (pairs × longest pair, estimated).
    #[serde(default = "default_max_batch_tokens")]
    pub max_batch_tokens: usize,
    /// Most pairs waiting in the batcher at once; callers beyond it wait (backpressure).
    #[serde(default = "default_max_queue_pairs")]
    pub max_queue_pairs: usize,
    /// A partial batch is flushed after waiting this long.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
    /// Batches with the judge worker at once; beyond it, waiting pairs merge into fuller batches.
    #[serde(default = "default_judge_queue")]
    pub queue: usize,
    /// Seconds the judge may take to answer one batch before the run fails with an error
    /// naming this key (a dead GPU backend may never answer).
    #[serde(default = "default_batch_timeout_s")]
    pub batch_timeout_s: f64,
}

/// The lexical judge: real, cheap, and needs no model.
fn default_judge_kind() -> JudgeKind {
    JudgeKind::Lexical
}
/// 128 pairs per forward pass.
fn default_model_batch() -> usize {
    128
}
/// 128 pairs: one forward pass of `model_batch` per batch. With 256, a batch ran as 128 pairs and
/// a remainder padded to a power of two (8% padding rows); on an H100 the judge took 13.6 and
/// 13.8 s against 12.8 and 12.7 s with 128 for the same 63,316 pairs (docs/judge.md).
fn default_max_batch_pairs() -> usize {
    128
}
/// 128 pairs of 512 tokens.
fn default_max_batch_tokens() -> usize {
    65_536
}
/// 8,192 pairs.
fn default_max_queue_pairs() -> usize {
    8_192
}
/// 2 ms.
fn default_max_wait_ms() -> u64 {
    2
}
/// One batch: pairs that arrive while the judge works merge into the next, fuller batch. On an
/// H100 the shipped judge spent 30.4 s on a sweep row's 120,569 pairs with 1, against 32.5 s
/// with 2 and 45.1 s with 4 (`scripts/gpu-judge-in-pipeline.sh`).
fn default_judge_queue() -> usize {
    1
}
/// 10 minutes: far beyond a CPU judge's slowest batch (256 pairs of 512 tokens).
fn default_batch_timeout_s() -> f64 {
    600.0
}

/// The `clusterer` section: DeepPrune's online greedy clustering.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClustererConfig {
    /// τ: mean similarity needed to join a cluster.
    #[serde(default = "default_tau")]
    pub tau: f32,
    /// p: most members of each cluster compared with a new prefix.
    #[serde(default = "default_p")]
    pub p: usize,
    /// K: the cluster cap.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Seed for member sampling.
    #[serde(default)]
    pub seed: u64,
    /// Staged judging: a decision whose best mean similarity m has τ − band < m ≤ τ + band waits
    /// for the trace's prefix at the next of `truncator.later`; the last checkpoint decides with
    /// band 0. In [0, 1); 0 (the default) decides every trace at its first checkpoint.
    #[serde(default)]
    pub band: f32,
}

/// τ = 0.5: DeepPrune §4 default.
fn default_tau() -> f32 {
    0.5
}
/// p = 10: DeepPrune §4 default.
fn default_p() -> usize {
    10
}
/// K = 32: DeepPrune §4 default.
fn default_k() -> usize {
    32
}

/// How the surviving traces are finished and voted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishPolicy {
    /// DeepPrune's: complete the largest cluster's first `top_k` traces, then majority-vote.
    LargestCluster,
    /// Complete each cluster's founder, then vote weighted by cluster size.
    Founders,
}

/// The `voter` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterConfig {
    /// The finishing policy.
    #[serde(default = "default_finish")]
    pub finish: FinishPolicy,
    /// k*: traces of the largest cluster completed under `largest_cluster`.
    #[serde(default = "default_top_k")]
    pub top_k: usize,
}

/// The paper's policy.
fn default_finish() -> FinishPolicy {
    FinishPolicy::LargestCluster
}
/// k* = 10: DeepPrune §3.3.
fn default_top_k() -> usize {
    10
}

/// The `output` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Directory for `report.json` and `problems.jsonl`.
    #[serde(default = "default_output_dir")]
    pub dir: PathBuf,
    /// Show a progress bar on stderr.
    #[serde(default = "default_true")]
    pub progress: bool,
    /// A live run writes its traces here, in the dataset format (`problems.jsonl` and
    /// `traces.jsonl`), to replay later or to train the judge on.
    #[serde(default)]
    pub record: Option<PathBuf>,
}

/// `out/run`.
fn default_output_dir() -> PathBuf {
    PathBuf::from("out/run")
}
fn default_true() -> bool {
    true
}

/// A whole pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Where traces come from.
    pub generator: GeneratorConfig,
    /// Where prefixes end.
    pub truncator: TruncatorConfig,
    /// The pair judge and its batcher.
    pub judge: JudgeConfig,
    /// Online greedy clustering.
    pub clusterer: ClustererConfig,
    /// Finishing and voting.
    pub voter: VoterConfig,
    /// Where results go.
    pub output: OutputConfig,
    /// Fault injection, for tests only; off unless configured.
    #[serde(default)]
    pub faults: crate::pipeline::faults::FaultConfig,
}

const SECTIONS: [&str; 7] = ["generator", "truncator", "judge", "clusterer", "voter", "output", "faults"];

fn empty_map() -> Value {
    Value::Mapping(Default::default())
}

/// Applies one `section.key=value` override; the value is read as YAML (so `0.3` is a number).
pub fn apply_override(doc: &mut Value, assignment: &str) -> Result<(), String> {
    let Some((path, _)) = assignment.split_once('=') else {
        return Err(format!("--set {assignment:?}: expected section.key=value"));
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.len() < 2 || keys.iter().any(|k| k.is_empty()) {
        return Err(format!("--set {assignment:?}: expected section.key=value, e.g. clusterer.tau=0.5"));
    }
    if !SECTIONS.contains(&keys[0]) {
        return Err(format!("--set {path}: unknown section `{}`, expected one of {}", keys[0], SECTIONS.join(", ")));
    }
    set_path(doc, assignment)
}

/// Sets the dotted `a.b.c=value` path in a YAML document, creating mappings on the way.
pub fn set_path(doc: &mut Value, assignment: &str) -> Result<(), String> {
    let Some((path, raw)) = assignment.split_once('=') else {
        return Err(format!("--set {assignment:?}: expected key=value"));
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("--set {assignment:?}: empty key"));
    }
    let value: Value = serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    if !doc.is_mapping() {
        *doc = empty_map();
    }
    let mut node = doc;
    for (i, key) in keys.iter().enumerate() {
        let Value::Mapping(map) = node else {
            // `doc` is a mapping, so i ≥ 1 here: the key before holds a plain value.
            return Err(format!("--set {path}: `{}` holds a value, not a section of keys", keys[..i].join(".")));
        };
        if i + 1 == keys.len() {
            map.insert(Value::String((*key).to_string()), value);
            return Ok(());
        }
        node = map.entry(Value::String((*key).to_string())).or_insert_with(empty_map);
        if node.is_null() {
            *node = empty_map();
        }
    }
    Ok(())
}

fn section<T: serde::de::DeserializeOwned>(doc: &Value, name: &str, errors: &mut Vec<String>) -> Option<T> {
    let v = match doc.get(name) {
        None | Some(Value::Null) => empty_map(),
        Some(v) => v.clone(),
    };
    match serde_norway::from_value::<T>(v.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            let at = failing_key::<T>(&v).map_or_else(|| name.to_string(), |key| format!("{name}.{key}"));
            errors.push(format!("{at}: {}", describe_serde_error(&e.to_string())));
            None
        }
    }
}

/// The key of a section that a deserialisation error is about, dotted down to nested keys
/// (`openai.api`). Every field has a default, so the section is re-read one key at a time: the
/// first key that fails on its own is the one, and within it the first sub-key, and so on.
fn failing_key<T: serde::de::DeserializeOwned>(section: &Value) -> Option<String> {
    /// `{k1: {k2: ... leaf}}` for the path `[k1, k2, ...]`.
    fn nest(path: &[Value], leaf: &Value) -> Value {
        path.iter().rev().fold(leaf.clone(), |inner, key| {
            let mut one = serde_norway::Mapping::new();
            one.insert(key.clone(), inner);
            Value::Mapping(one)
        })
    }
    fn search<T: serde::de::DeserializeOwned>(path: &[Value], value: &Value) -> Option<Vec<Value>> {
        let Value::Mapping(map) = value else { return None };
        map.iter().find_map(|(key, inner)| {
            let mut p = path.to_vec();
            p.push(key.clone());
            if serde_norway::from_value::<T>(nest(&p, inner)).is_ok() {
                return None;
            }
            // Descend only where a mapping is what the key takes (a nested section).
            let nested = serde_norway::from_value::<T>(nest(&p, &empty_map())).is_ok();
            Some(if nested { search::<T>(&p, inner).unwrap_or(p) } else { p })
        })
    }
    let path = search::<T>(&[], section)?;
    let name = |key: &Value| match key {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other).map_or_else(|_| "<non-string key>".into(), |s| s.trim().to_string()),
    };
    Some(path.iter().map(name).collect::<Vec<_>>().join("."))
}

/// serde's messages name Rust types ("invalid type: string \"high\", expected f32"); say what a
/// YAML author would write instead.
fn describe_serde_error(msg: &str) -> String {
    let mut msg = msg
        .replace("unknown field", "unknown key")
        .replace("unknown variant", "unknown value")
        .replace("invalid type: ", "wrong type: ");
    for (rust, yaml) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
    ] {
        msg = msg.replace(rust, yaml);
    }
    if let Some(at) = msg.find("expected struct ") {
        let name = at + "expected struct ".len();
        let end = msg[name..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(msg.len(), |n| name + n);
        msg.replace_range(at..end, "expected a mapping of keys");
    }
    msg
}

impl PipelineConfig {
    /// Reads a pipeline file, applies `--set` overrides, and validates it.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { file: file.clone(), errors: vec![format!("cannot read the file: {e}")] })?;
        Self::from_yaml(&text, &file, overrides)
    }

    /// Parses and validates a pipeline from YAML text; `file` names it in errors.
    pub fn from_yaml(text: &str, file: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        let fail = |errors: Vec<String>| ConfigError { file: file.to_string(), errors };
        let mut doc: Value = if text.trim().is_empty() {
            empty_map()
        } else {
            serde_norway::from_str(text).map_err(|e| fail(vec![format!("not valid YAML: {e}")]))?
        };
        if doc.is_null() {
            doc = empty_map();
        }
        let mut errors = Vec::new();
        if !doc.is_mapping() {
            return Err(fail(vec!["expected a mapping with sections generator, truncator, judge, clusterer, voter, output".into()]));
        }
        for o in overrides {
            if let Err(e) = apply_override(&mut doc, o) {
                errors.push(e);
            }
        }
        if let Value::Mapping(map) = &doc {
            for key in map.keys() {
                let name = key.as_str().unwrap_or("<non-string key>");
                if !SECTIONS.contains(&name) {
                    errors.push(format!("unknown section `{name}`, expected one of {}", SECTIONS.join(", ")));
                }
            }
        }
        let generator = section::<GeneratorConfig>(&doc, "generator", &mut errors);
        let truncator = section::<TruncatorConfig>(&doc, "truncator", &mut errors);
        let judge = section::<JudgeConfig>(&doc, "judge", &mut errors);
        let clusterer = section::<ClustererConfig>(&doc, "clusterer", &mut errors);
        let voter = section::<VoterConfig>(&doc, "voter", &mut errors);
        let output = section::<OutputConfig>(&doc, "output", &mut errors);
        let faults = section::<crate::pipeline::faults::FaultConfig>(&doc, "faults", &mut errors);
        // Sections that parsed are still checked, so one run reports every error.
        let mut e = Vec::new();
        if let Some(g) = &generator {
            g.check(&mut e);
        }
        if let Some(t) = &truncator {
            t.check(&mut e);
        }
        if let Some(j) = &judge {
            j.check(&mut e);
        }
        if let Some(c) = &clusterer {
            c.check(&mut e);
        }
        if let Some(v) = &voter {
            v.check(&mut e);
        }
        if let Some(f) = &faults {
            f.check(&mut e);
        }
        if let (Some(j), Some(t)) = (&judge, &truncator) {
            check_judge_prefix(j, t, &mut e);
        }
        if let (Some(t), Some(c)) = (&truncator, &clusterer) {
            check_staged(t, c, &mut e);
        }
        if let (Some(g), Some(f)) = (&generator, &faults) {
            check_live_faults(g, f, &mut e);
        }
        errors.extend(e);
        match (generator, truncator, judge, clusterer, voter, output, faults) {
            (Some(generator), Some(truncator), Some(judge), Some(clusterer), Some(voter), Some(output), Some(faults))
                if errors.is_empty() =>
            {
                Ok(PipelineConfig { generator, truncator, judge, clusterer, voter, output, faults })
            }
            _ => Err(fail(errors)),
        }
    }

    /// Semantic checks of a parsed config; returns every problem found.
    pub fn validate(&self) -> Vec<String> {
        let mut e = Vec::new();
        self.generator.check(&mut e);
        self.truncator.check(&mut e);
        self.judge.check(&mut e);
        self.clusterer.check(&mut e);
        self.voter.check(&mut e);
        self.faults.check(&mut e);
        check_judge_prefix(&self.judge, &self.truncator, &mut e);
        check_staged(&self.truncator, &self.clusterer, &mut e);
        check_live_faults(&self.generator, &self.faults, &mut e);
        e
    }

    /// The clustering parameters.
    pub fn cluster_params(&self) -> crate::cluster::ClusterParams {
        crate::cluster::ClusterParams {
            tau: self.clusterer.tau,
            p: self.clusterer.p,
            k: self.clusterer.k,
            seed: self.clusterer.seed,
        }
    }
}

impl GeneratorConfig {
    fn check(&self, e: &mut Vec<String>) {
        let g = self;
        match g.kind {
            GeneratorKind::Replay => {
                require_file("generator.traces", &g.traces, "replay", e);
                require_file("generator.problems", &g.problems, "replay", e);
            }
            GeneratorKind::Openai => {
                g.openai.check(e);
                require_file("generator.problems", &g.problems, "openai", e);
                if g.stop_policy != StopPolicy::None && g.openai.logprobs == 0 {
                    e.push("generator.openai.logprobs: a deepconf stop_policy needs token confidences; expected 1 to 20 (20 as in DeepConf), got 0".into());
                }
            }
            GeneratorKind::Synthetic => {
                g.synthetic.check(e);
                if g.stop_policy != StopPolicy::None {
                    e.push("generator.stop_policy: DeepConf needs token confidences, which synthetic traces lack; expected none".into());
                }
            }
        }
        if g.tokens_per_step == 0 {
            e.push("generator.tokens_per_step: expected an integer ≥ 1, got 0".into());
        }
        if g.concurrent_problems == 0 {
            e.push("generator.concurrent_problems: expected an integer ≥ 1, got 0".into());
        }
        if g.max_problems == Some(0) {
            e.push("generator.max_problems: expected an integer ≥ 1 (or leave it out for all)".into());
        }
        if g.deepconf_window == 0 {
            e.push("generator.deepconf_window: expected an integer ≥ 1, got 0".into());
        }
        if g.stop_policy != StopPolicy::None && g.deepconf_warmup == 0 {
            e.push("generator.deepconf_warmup: expected an integer ≥ 1 with a deepconf stop_policy, got 0".into());
        }
        if g.max_traces == Some(0) {
            e.push("generator.max_traces: expected an integer ≥ 1 (or leave it out for all)".into());
        }
    }
}

impl TruncatorConfig {
    fn check(&self, e: &mut Vec<String>) {
        let t = self;
        if t.count == 0 {
            e.push("truncator.count: expected an integer ≥ 1, got 0".into());
        }
        if t.mode == PrefixMode::ReasoningWords && t.words.is_empty() {
            e.push("truncator.words: expected at least one reasoning word for mode reasoning_words".into());
        }
        if let Some(w) = t.words.iter().find(|w| w.is_empty() || !w.chars().all(|c| c.is_ascii_alphabetic())) {
            e.push(format!("truncator.words: {w:?} is not a word; expected ASCII letters only"));
        }
        if t.checkpoints().windows(2).any(|w| w[1] <= w[0]) {
            e.push(format!(
                "truncator.later: expected checkpoints in increasing order, each above truncator.count ({}), got {:?}",
                t.count, t.later
            ));
        }
    }
}

/// `clusterer.band` makes a decision wait for a later checkpoint; without one it cannot.
fn check_staged(t: &TruncatorConfig, c: &ClustererConfig, e: &mut Vec<String>) {
    if c.band > 0.0 && t.later.is_empty() {
        e.push(format!(
            "clusterer.band: {} waits for a later checkpoint, but truncator.later is empty; \
             set truncator.later (e.g. [128, 256]) or clusterer.band to 0",
            c.band
        ));
    }
}

/// A file the `kind` generator reads: it must be set and exist.
fn require_file(key: &str, path: &Option<PathBuf>, kind: &str, e: &mut Vec<String>) {
    match path {
        None => e.push(format!("{key}: required for the {kind} generator; expected a file path")),
        Some(p) if !p.is_file() => e.push(format!("{key}: file {} does not exist", p.display())),
        _ => {}
    }
}

/// The live generator's faults are real (servers, networks): the injected generator faults
/// and stalls apply to the replay and synthetic sources only.
fn check_live_faults(g: &GeneratorConfig, f: &crate::pipeline::faults::FaultConfig, e: &mut Vec<String>) {
    if g.kind != GeneratorKind::Openai {
        return;
    }
    if f.stage == Some(crate::pipeline::faults::Stage::Generator) {
        e.push("faults.stage: generator faults are injected into replayed sources only; with the openai generator, fault the server or the network (see tests/live_llama.rs)".into());
    }
    if f.generator_stall_every > 0 {
        e.push("faults.generator_stall_every: applies to replayed sources only, not the openai generator".into());
    }
}

/// A trained judge reads prefixes cut one way (its `train.json`); the pipeline must cut them the
/// same way, or the judge scores inputs unlike anything it was trained on. A staged pipeline
/// needs a judge trained at every one of its checkpoints (the checkpoint's `count` and `later`).
fn check_judge_prefix(judge: &JudgeConfig, truncator: &TruncatorConfig, e: &mut Vec<String>) {
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
                    dir.display(),
                    name(trained),
                    name(truncator)
                ));
            }
        }
        Err(err) => e.push(format!("judge.path: {err}")),
    }
}

impl JudgeConfig {
    /// The kernels `judge.attention`, `judge.matmul` and `judge.norm` ask for.
    pub fn kernels(&self) -> crate::judge::bert::KernelRequest {
        crate::judge::bert::KernelRequest { attention: self.attention, matmul: self.matmul, norm: self.norm }
    }

    fn check(&self, e: &mut Vec<String>) {
        let j = self;
        if j.max_batch_pairs == 0 {
            e.push("judge.max_batch_pairs: expected an integer ≥ 1, got 0".into());
        }
        if j.kind == JudgeKind::Model {
            match &j.path {
                None => e.push("judge.path: required for judge.kind model; expected a checkpoint directory".into()),
                Some(p) if !p.join("model.safetensors").is_file() => {
                    e.push(format!("judge.path: {} holds no model.safetensors; expected a checkpoint directory", p.display()))
                }
                _ => {}
            }
        }
        if j.model_batch == 0 {
            e.push("judge.model_batch: expected an integer ≥ 1, got 0".into());
        }
        for r in j.kernels().refusals(j.device) {
            e.push(format!("judge.{}: `{}` is {}; expected judge.device cuda, or {}", r.key, r.name, r.is, r.instead));
        }
        if let Some(b) = &j.buckets {
            if let Err(err) = crate::judge::bert::LengthBuckets::new(b.clone()) {
                e.push(format!("judge.buckets: {err}"));
            }
        }
        if j.queue == 0 {
            e.push("judge.queue: expected an integer ≥ 1, got 0".into());
        }
        if j.max_batch_tokens == 0 {
            e.push("judge.max_batch_tokens: expected an integer ≥ 1, got 0".into());
        }
        if j.max_queue_pairs == 0 {
            e.push("judge.max_queue_pairs: expected an integer ≥ 1, got 0".into());
        }
        if !(j.batch_timeout_s.is_finite() && j.batch_timeout_s > 0.0 && j.batch_timeout_s <= 1e9) {
            e.push(format!("judge.batch_timeout_s: expected a number of seconds > 0, got {}", j.batch_timeout_s));
        }
    }
}

impl ClustererConfig {
    fn check(&self, e: &mut Vec<String>) {
        let c = self;
        if !(0.0..=1.0).contains(&c.tau) || c.tau.is_nan() {
            e.push(format!("clusterer.tau: expected a number in [0, 1], got {}", c.tau));
        }
        if !(0.0..1.0).contains(&c.band) {
            e.push(format!("clusterer.band: expected a number in [0, 1), got {}", c.band));
        }
        if c.p == 0 {
            e.push("clusterer.p: expected an integer ≥ 1, got 0".into());
        }
        if c.k == 0 {
            e.push("clusterer.k: expected an integer ≥ 1, got 0".into());
        }
    }
}

impl VoterConfig {
    fn check(&self, e: &mut Vec<String>) {
        if self.top_k == 0 {
            e.push("voter.top_k: expected an integer ≥ 1, got 0".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_paths() -> String {
        let root = env!("CARGO_MANIFEST_DIR");
        format!(
            "generator:\n  problems: {root}/data/sample/problems.jsonl\n  traces: {root}/data/sample/traces.jsonl.gz\n"
        )
    }

    fn errors(yaml: &str, overrides: &[&str]) -> Vec<String> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        match PipelineConfig::from_yaml(yaml, "t.yaml", &o) {
            Ok(_) => vec![],
            Err(e) => {
                assert_eq!(e.file, "t.yaml");
                e.errors
            }
        }
    }

    #[test]
    fn defaults_are_the_papers() {
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &[]).unwrap();
        assert_eq!((c.clusterer.tau, c.clusterer.p, c.clusterer.k), (0.5, 10, 32));
        assert_eq!((c.voter.finish, c.voter.top_k), (FinishPolicy::LargestCluster, 10));
    }

    #[test]
    fn errors_name_the_key_and_what_was_expected() {
        let base = sample_paths();
        let cases: Vec<(String, Vec<&str>, Vec<&str>)> = vec![
            (format!("{base}clusterer:\n  taux: 0.5\n"), vec![], vec!["clusterer.taux: unknown key `taux`, expected one of `tau`, `p`, `k`, `seed`"]),
            (format!("{base}clusterer:\n  tau: high\n"), vec![], vec!["clusterer.tau: wrong type: string \"high\", expected a number"]),
            (format!("{base}clusterer:\n  tau: 1.5\n"), vec![], vec!["clusterer.tau: expected a number in [0, 1], got 1.5"]),
            (
                "generator:\n  traces: /nope/t.jsonl\n  problems: /nope/p.jsonl\n".into(),
                vec![],
                vec!["generator.traces: file /nope/t.jsonl does not exist", "generator.problems: file /nope/p.jsonl does not exist"],
            ),
            (
                format!("{base}judge:\n  kind: psychic\nvoter:\n  top_k: 0\nsurprise: 1\n"),
                vec![],
                vec!["judge.kind: unknown value `psychic`", "voter.top_k: expected an integer ≥ 1", "unknown section `surprise`"],
            ),
            (base.clone(), vec!["truncator.later=[128, 96]"], vec![
                "truncator.later: expected checkpoints in increasing order, each above truncator.count (64), got [128, 96]",
            ]),
            (base.clone(), vec!["truncator.count=128", "truncator.later=[128]"], vec!["truncator.later: expected checkpoints in increasing order, each above truncator.count (128), got [128]"]),
            (base.clone(), vec!["clusterer.band=0.1"], vec![
                "clusterer.band: 0.1 waits for a later checkpoint, but truncator.later is empty; set truncator.later (e.g. [128, 256]) or clusterer.band to 0",
            ]),
            (base.clone(), vec!["truncator.later=[128]", "clusterer.band=1"], vec!["clusterer.band: expected a number in [0, 1), got 1"]),
            (base.clone(), vec!["clusterer.band=-0.1"], vec!["clusterer.band: expected a number in [0, 1), got -0.1"]),
            (base.clone(), vec!["clusterer.band=.nan"], vec!["clusterer.band: expected a number in [0, 1), got NaN"]),
            (base.clone(), vec!["clusterer.tau=2", "nosuch.key=1", "tau=1"], vec![
                "clusterer.tau: expected a number in [0, 1], got 2",
                "--set nosuch.key: unknown section `nosuch`",
                "--set \"tau=1\": expected section.key=value",
            ]),
        ];
        for (yaml, overrides, wanted) in cases {
            let got = errors(&yaml, &overrides);
            for w in &wanted {
                assert!(got.iter().any(|g| g.contains(w)), "want {w:?} in {got:?} for\n{yaml}");
            }
            assert_eq!(got.len(), wanted.len(), "collected every error and only those: {got:?}");
        }
    }

    #[test]
    fn set_overrides_any_field() {
        let o = vec!["clusterer.tau=0.25".to_string(), "truncator.mode=reasoning_words".into(), "output.dir=/tmp/x".into()];
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &o).unwrap();
        assert_eq!(c.clusterer.tau, 0.25);
        assert_eq!(c.truncator.mode, PrefixMode::ReasoningWords);
        assert_eq!(c.output.dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn staged_keys_parse_and_default_to_one_checkpoint() {
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &[]).unwrap();
        assert_eq!((c.truncator.checkpoints(), c.clusterer.band), (vec![64], 0.0));
        let o = vec!["truncator.later=[128, 256]".to_string(), "clusterer.band=0.1".into()];
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &o).unwrap();
        assert_eq!((c.truncator.checkpoints(), c.clusterer.band), (vec![64, 128, 256], 0.1));
        // Later checkpoints with band 0 wait for nothing, and are allowed.
        assert!(errors(&sample_paths(), &["truncator.later=[128]"]).is_empty());
    }

    #[test]
    fn a_model_judge_must_have_been_trained_at_every_checkpoint() {
        let root = env!("CARGO_MANIFEST_DIR");
        let shipped = std::fs::read_to_string(format!("{root}/models/judge-minilm/train.json")).unwrap();
        // A checkpoint trained at 128 tokens (the shipped train.json), and one trained at 128 and
        // 256: the same train.json with `later` added, as training with later checkpoints writes.
        let mut staged: serde_json::Value = serde_json::from_str(&shipped).unwrap();
        staged["train"]["truncator"]["later"] = serde_json::json!([256]);
        let dirs = tempfile::tempdir().unwrap();
        let checkpoint = |name: &str, train_json: String| {
            let dir = dirs.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("train.json"), train_json).unwrap();
            std::fs::write(dir.join("model.safetensors"), b"").unwrap();
            dir
        };
        let plain = checkpoint("plain", shipped);
        let at_two = checkpoint("two", staged.to_string());
        let mismatch = "was trained on prefixes cut with";
        // (checkpoint, truncator overrides, wanted error)
        let cases: &[(&Path, &[&str], Option<&str>)] = &[
            (&plain, &["truncator.count=128"], None),
            (&plain, &["truncator.count=64"], Some("cut with mode tokens, count 128, but this pipeline cuts with mode tokens, count 64; set truncator.mode and truncator.count to match")),
            (&plain, &["truncator.count=128", "truncator.later=[256]"], Some("count 128, but this pipeline cuts with mode tokens, count 128, later [256]; set truncator.mode, truncator.count and truncator.later")),
            (&at_two, &["truncator.count=128", "truncator.later=[256]"], None),
            (&at_two, &["truncator.count=256"], None),
            (&at_two, &["truncator.count=128"], None),
            (&at_two, &["truncator.count=64", "truncator.later=[128, 256]"], Some("cut with mode tokens, count 128, later [256], but")),
            (&at_two, &["truncator.count=128", "truncator.later=[512]"], Some(mismatch)),
            (&at_two, &["truncator.count=128", "truncator.mode=reasoning_words"], Some("this pipeline cuts with mode reasoning_words, count 128")),
        ];
        for (dir, overrides, wanted) in cases {
            let mut all = vec!["judge.kind=model".to_string(), format!("judge.path={}", dir.display())];
            all.extend(overrides.iter().map(|o| o.to_string()));
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let got = errors(&sample_paths(), &all);
            match wanted {
                None => assert!(got.is_empty(), "{overrides:?}: {got:?}"),
                Some(w) => assert!(got.len() == 1 && got[0].contains(mismatch) && got[0].contains(w), "{overrides:?}: want {w:?} in {got:?}"),
            }
        }
    }

    #[test]
    fn missing_pipeline_file_names_it() {
        let e = PipelineConfig::load(Path::new("/nope/pipeline.yaml"), &[]).unwrap_err().to_string();
        assert!(e.starts_with("/nope/pipeline.yaml: 1 error(s):\n  - cannot read the file"), "{e}");
    }
}
