//! The `generator` section: where traces come from. `kind` picks the source, and each source
//! takes its own keys, so a key that the chosen source does not read is an error:
//!
//! - `replay`: `problems`, `traces`, `max_problems`, `max_traces`, `ungraded`, the virtual-time
//!   keys (`tokens_per_step`, `decision_delay_steps`) and the DeepConf keys (`stop_policy`,
//!   `deepconf_window`, `deepconf_warmup`).
//! - `synthetic`: the `synthetic` subsection and the virtual-time keys.
//! - `openai`: `problems`, `max_problems`, `ungraded`, the `openai` subsection and the DeepConf
//!   keys.
//!
//! `concurrent_problems` applies to every kind. The section is read in two steps: `kind` first,
//! then the kind's own keys, so an error names the key at fault rather than the whole section.

use super::load::at_most;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_norway::Value;

use super::load::{empty_map, parse, RelativePaths};
use super::openai::OpenAiConfig;
use super::synthetic::SyntheticConfig;

/// Where traces come from: the `generator.kind` key.
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

impl GeneratorKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Replay, Self::Synthetic, Self::Openai];

    /// Its name in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Replay => "replay",
            Self::Synthetic => "synthetic",
            Self::Openai => "openai",
        }
    }
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

/// The `generator` section, checked.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorConfig {
    /// The source of traces, with its own settings (`kind` and the kind's keys).
    #[serde(flatten)]
    pub source: GeneratorSource,
    /// Problems run at once; their pair comparisons share the judge's batches.
    pub concurrent_problems: usize,
}

/// A source of traces and its settings, by `generator.kind`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratorSource {
    /// Replays a recorded dataset token by token in virtual time.
    Replay(ReplaySource),
    /// Made-up traces, built as the generator reaches each problem.
    Synthetic(SyntheticSource),
    /// Live traces from OpenAI-compatible servers.
    Openai(OpenAiSource),
}

/// `kind: replay`: a recorded dataset.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySource {
    /// `problems.jsonl` (gold answers for grading).
    pub problems: PathBuf,
    /// The traces file (JSONL, optionally gzip).
    pub traces: PathBuf,
    /// Replay only the first this many problems of the traces file.
    pub max_problems: Option<usize>,
    /// Replay only the first this many traces (by sample index) of each problem.
    pub max_traces: Option<usize>,
    /// Run without grading: gold answers are not read, and the report has no accuracy. A graded
    /// run (the default) needs a problem with a gold answer for every problem it replays.
    pub ungraded: bool,
    /// How the traces advance in virtual time.
    #[serde(flatten)]
    pub steps: VirtualSteps,
    /// Confidence-based early stopping.
    #[serde(flatten)]
    pub deepconf: DeepConfConfig,
}

/// `kind: synthetic`: made-up traces for load tests.
#[derive(Debug, Clone, Serialize)]
pub struct SyntheticSource {
    /// The traces' shape (`generator.synthetic`).
    pub synthetic: SyntheticConfig,
    /// How the traces advance in virtual time.
    #[serde(flatten)]
    pub steps: VirtualSteps,
}

/// `kind: openai`: live traces for the questions of `problems`.
#[derive(Debug, Clone, Serialize)]
pub struct OpenAiSource {
    /// `problems.jsonl`: the questions, and gold answers for grading.
    pub problems: PathBuf,
    /// Generate for only the first this many problems.
    pub max_problems: Option<usize>,
    /// Run without grading: gold answers are not read, and the report has no accuracy. A graded
    /// run (the default) needs a gold answer for every problem it generates for.
    pub ungraded: bool,
    /// The servers, the prompt and the sampling (`generator.openai`).
    pub openai: OpenAiConfig,
    /// Confidence-based early stopping.
    #[serde(flatten)]
    pub deepconf: DeepConfConfig,
}

/// How replayed and synthetic traces advance in virtual time.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct VirtualSteps {
    /// Tokens each running trace emits per virtual step.
    pub tokens_per_step: usize,
    /// Virtual steps between a prefix completing and the prune decision taking effect; a pruned
    /// trace keeps generating (and paying) meanwhile.
    pub decision_delay_steps: usize,
}

/// DeepConf's confidence-based early stopping, for sources whose traces carry confidences.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DeepConfConfig {
    /// The stop policy; `none` stops nothing.
    pub stop_policy: StopPolicy,
    /// DeepConf's group window in tokens.
    pub deepconf_window: usize,
    /// DeepConf's warm-up traces per problem (run in full; they set the threshold).
    pub deepconf_warmup: usize,
}

impl GeneratorConfig {
    /// The source's kind.
    pub fn kind(&self) -> GeneratorKind {
        match self.source {
            GeneratorSource::Replay(_) => GeneratorKind::Replay,
            GeneratorSource::Synthetic(_) => GeneratorKind::Synthetic,
            GeneratorSource::Openai(_) => GeneratorKind::Openai,
        }
    }

    /// Whether the run is ungraded (`generator.ungraded`); synthetic problems always have gold.
    pub fn ungraded(&self) -> bool {
        match &self.source {
            GeneratorSource::Replay(r) => r.ungraded,
            GeneratorSource::Openai(o) => o.ungraded,
            GeneratorSource::Synthetic(_) => false,
        }
    }

    /// DeepConf's settings, for the sources that have them (replay and openai).
    pub fn deepconf(&self) -> Option<&DeepConfConfig> {
        match &self.source {
            GeneratorSource::Replay(r) => Some(&r.deepconf),
            GeneratorSource::Openai(o) => Some(&o.deepconf),
            GeneratorSource::Synthetic(_) => None,
        }
    }
}

/// 64 tokens: the paper's 2048 would span whole traces here (~380 tokens on average).
fn default_deepconf_window() -> usize {
    64
}
/// 16 warm-up traces: DeepConf's N_init.
fn default_deepconf_warmup() -> usize {
    16
}
/// 8 tokens per step: fine enough that a pruned trace overshoots its prefix by < 8 tokens.
fn default_tokens_per_step() -> usize {
    8
}
/// 8 problems in flight.
fn default_concurrent_problems() -> usize {
    8
}

/// `kind: replay` as written (each key is documented on [`ReplaySource`] and its parts). The
/// paths are optional here so that a missing one is reported as required, with every other
/// error of the section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplay {
    /// Read before the rest; listed so that error messages name it among the keys.
    #[serde(default, rename = "kind")]
    _kind: Option<GeneratorKind>,
    #[serde(default)]
    problems: Option<PathBuf>,
    #[serde(default)]
    traces: Option<PathBuf>,
    #[serde(default)]
    max_problems: Option<usize>,
    #[serde(default)]
    max_traces: Option<usize>,
    #[serde(default)]
    ungraded: bool,
    #[serde(default = "default_tokens_per_step")]
    tokens_per_step: usize,
    #[serde(default)]
    decision_delay_steps: usize,
    #[serde(default)]
    stop_policy: StopPolicy,
    #[serde(default = "default_deepconf_window")]
    deepconf_window: usize,
    #[serde(default = "default_deepconf_warmup")]
    deepconf_warmup: usize,
    #[serde(default = "default_concurrent_problems")]
    concurrent_problems: usize,
}

/// `kind: synthetic` as written (each key is documented on [`SyntheticSource`] and its parts).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSynthetic {
    /// Read before the rest; listed so that error messages name it among the keys.
    #[serde(default, rename = "kind")]
    _kind: Option<GeneratorKind>,
    #[serde(default)]
    synthetic: SyntheticConfig,
    #[serde(default = "default_tokens_per_step")]
    tokens_per_step: usize,
    #[serde(default)]
    decision_delay_steps: usize,
    #[serde(default = "default_concurrent_problems")]
    concurrent_problems: usize,
}

/// `kind: openai` as written (each key is documented on [`OpenAiSource`] and its parts). The
/// path is optional here so that a missing one is reported as required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpenai {
    /// Read before the rest; listed so that error messages name it among the keys.
    #[serde(default, rename = "kind")]
    _kind: Option<GeneratorKind>,
    #[serde(default)]
    problems: Option<PathBuf>,
    #[serde(default)]
    max_problems: Option<usize>,
    #[serde(default)]
    ungraded: bool,
    #[serde(default)]
    openai: OpenAiConfig,
    #[serde(default)]
    stop_policy: StopPolicy,
    #[serde(default = "default_deepconf_window")]
    deepconf_window: usize,
    #[serde(default = "default_deepconf_warmup")]
    deepconf_warmup: usize,
    #[serde(default = "default_concurrent_problems")]
    concurrent_problems: usize,
}

/// Reads and checks the `generator` section (`None` when the file has none). Pushes every
/// error found and returns the section only when it has none.
pub(super) fn compile(section: Option<&Value>, paths: &RelativePaths, e: &mut Vec<String>) -> Option<GeneratorConfig> {
    let value = match section {
        None | Some(Value::Null) => empty_map(),
        Some(v) => v.clone(),
    };
    let kind = match value.get("kind") {
        None | Some(Value::Null) => GeneratorKind::Replay,
        Some(k) => match parse::<GeneratorKind>(k.clone(), "generator.kind") {
            Ok(kind) => kind,
            Err(err) => {
                e.extend(err);
                return None;
            }
        },
    };
    let before = e.len();
    let (source, concurrent_problems) = match kind {
        GeneratorKind::Replay => {
            let r: RawReplay = read_kind(value, kind, e)?;
            let problems = required_file("generator.problems", r.problems, kind, paths, e);
            let traces = required_file("generator.traces", r.traces, kind, paths, e);
            check_limit("generator.max_problems", r.max_problems, e);
            check_limit("generator.max_traces", r.max_traces, e);
            let steps = VirtualSteps { tokens_per_step: r.tokens_per_step, decision_delay_steps: r.decision_delay_steps };
            steps.check(e);
            let deepconf =
                DeepConfConfig { stop_policy: r.stop_policy, deepconf_window: r.deepconf_window, deepconf_warmup: r.deepconf_warmup };
            deepconf.check(e);
            let (problems, traces) = (problems?, traces?);
            let source = ReplaySource {
                problems,
                traces,
                max_problems: r.max_problems,
                max_traces: r.max_traces,
                ungraded: r.ungraded,
                steps,
                deepconf,
            };
            (GeneratorSource::Replay(source), r.concurrent_problems)
        }
        GeneratorKind::Synthetic => {
            let s: RawSynthetic = read_kind(value, kind, e)?;
            s.synthetic.check(e);
            let steps = VirtualSteps { tokens_per_step: s.tokens_per_step, decision_delay_steps: s.decision_delay_steps };
            steps.check(e);
            (GeneratorSource::Synthetic(SyntheticSource { synthetic: s.synthetic, steps }), s.concurrent_problems)
        }
        GeneratorKind::Openai => {
            let o: RawOpenai = read_kind(value, kind, e)?;
            o.openai.check(e);
            let problems = required_file("generator.problems", o.problems, kind, paths, e);
            check_limit("generator.max_problems", o.max_problems, e);
            let deepconf =
                DeepConfConfig { stop_policy: o.stop_policy, deepconf_window: o.deepconf_window, deepconf_warmup: o.deepconf_warmup };
            deepconf.check(e);
            if deepconf.stop_policy != StopPolicy::None && o.openai.logprobs == 0 {
                e.push("generator.openai.logprobs: a deepconf stop_policy needs token confidences; expected 1 to 20 (20 as in DeepConf), got 0".into());
            }
            let source =
                OpenAiSource { problems: problems?, max_problems: o.max_problems, ungraded: o.ungraded, openai: o.openai, deepconf };
            (GeneratorSource::Openai(source), o.concurrent_problems)
        }
    };
    if concurrent_problems == 0 {
        e.push("generator.concurrent_problems: expected an integer ≥ 1, got 0".into());
    }
    at_most("generator.concurrent_problems", concurrent_problems, 1_000_000, e);
    (e.len() == before).then_some(GeneratorConfig { source, concurrent_problems })
}

/// Reads the section as `kind`'s keys; an error goes to `e`.
fn read_kind<T: DeserializeOwned>(value: Value, kind: GeneratorKind, e: &mut Vec<String>) -> Option<T> {
    match parse::<T>(value, "generator") {
        Ok(raw) => Some(raw),
        Err(err) => {
            e.extend(err.into_iter().map(|err| name_the_owner(err, kind)));
            None
        }
    }
}

/// An error about a key that `kind` does not take but another kind does says whose key it is:
/// `generator.traces: unknown key `traces` for kind synthetic (a key of kind replay), ...`.
fn name_the_owner(err: String, kind: GeneratorKind) -> String {
    let Some((key, _)) = err.strip_prefix("generator.").and_then(|rest| rest.split_once(": unknown key `")) else {
        return err;
    };
    let owners: Vec<&str> =
        GeneratorKind::ALL.into_iter().filter(|&k| k != kind && takes_key(k, key)).map(GeneratorKind::name).collect();
    if owners.is_empty() {
        return err;
    }
    let unknown = format!("unknown key `{key}`");
    let owned = format!("{unknown} for kind {} (a key of kind {})", kind.name(), owners.join(" and "));
    err.replacen(&unknown, &owned, 1)
}

/// Whether the `kind` generator has a key `key`.
fn takes_key(kind: GeneratorKind, key: &str) -> bool {
    let mut one = serde_norway::Mapping::new();
    one.insert(Value::String(key.to_string()), Value::Null);
    let one = Value::Mapping(one);
    let unknown = |r: Result<(), serde_norway::Error>| r.is_err_and(|e| e.to_string().starts_with("unknown field"));
    !match kind {
        GeneratorKind::Replay => unknown(serde_norway::from_value::<RawReplay>(one).map(drop)),
        GeneratorKind::Synthetic => unknown(serde_norway::from_value::<RawSynthetic>(one).map(drop)),
        GeneratorKind::Openai => unknown(serde_norway::from_value::<RawOpenai>(one).map(drop)),
    }
}

/// A file the `kind` generator reads: it must be set and exist.
fn required_file(key: &str, path: Option<PathBuf>, kind: GeneratorKind, paths: &RelativePaths, e: &mut Vec<String>) -> Option<PathBuf> {
    match path {
        None => e.push(format!("{key}: required for the {} generator; expected a file path", kind.name())),
        Some(p) => match crate::trace::dataset::not_a_file(Path::new(&p)) {
            Some(problem) => e.push(format!("{key}: file {} {problem}", paths.show(key, &p))),
            None => return Some(p),
        },
    }
    None
}

/// `max_problems` and `max_traces`: absent for all, or at least 1.
fn check_limit(key: &str, limit: Option<usize>, e: &mut Vec<String>) {
    if limit == Some(0) {
        e.push(format!("{key}: expected an integer ≥ 1 (or leave it out for all)"));
    }
}

impl VirtualSteps {
    fn check(&self, e: &mut Vec<String>) {
        if self.tokens_per_step == 0 {
            e.push("generator.tokens_per_step: expected an integer ≥ 1, got 0".into());
        }
        at_most("generator.tokens_per_step", self.tokens_per_step, 1_000_000, e);
        at_most("generator.decision_delay_steps", self.decision_delay_steps, 1_000_000, e);
    }
}

impl DeepConfConfig {
    fn check(&self, e: &mut Vec<String>) {
        if self.deepconf_window == 0 {
            e.push("generator.deepconf_window: expected an integer ≥ 1, got 0".into());
        }
        at_most("generator.deepconf_window", self.deepconf_window, 1_000_000, e);
        at_most("generator.deepconf_warmup", self.deepconf_warmup, 1_000_000, e);
        if self.stop_policy != StopPolicy::None && self.deepconf_warmup == 0 {
            e.push("generator.deepconf_warmup: expected an integer ≥ 1 with a deepconf stop_policy, got 0".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(yaml: &str) -> Result<GeneratorConfig, Vec<String>> {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        let mut e = Vec::new();
        compile(Some(&value), &RelativePaths::default(), &mut e).ok_or(e)
    }

    #[test]
    fn each_kind_takes_its_own_keys() {
        let root = env!("CARGO_MANIFEST_DIR");
        let replay = format!("problems: {root}/data/sample/problems.jsonl\ntraces: {root}/data/sample/traces.jsonl.gz\n");
        let g = compiled(&replay).unwrap();
        assert_eq!(g.kind(), GeneratorKind::Replay, "replay is the default kind");
        let GeneratorSource::Replay(r) = &g.source else { panic!("{g:?}") };
        assert_eq!((r.steps.tokens_per_step, r.deepconf.deepconf_warmup, g.concurrent_problems), (8, 16, 8));
        assert!(!g.ungraded(), "a run is graded unless it says otherwise");
        assert!(compiled(&format!("{replay}ungraded: true\n")).unwrap().ungraded());

        let g = compiled("kind: synthetic\nsynthetic: {problems: 3}\ntokens_per_step: 4\n").unwrap();
        let GeneratorSource::Synthetic(s) = &g.source else { panic!("{g:?}") };
        assert_eq!((s.synthetic.problems, s.steps.tokens_per_step), (3, 4));
        assert!(g.deepconf().is_none());

        let cases = [
            ("kind: synthetic\ntraces: t.jsonl\n", "generator.traces: unknown key `traces` for kind synthetic (a key of kind replay), expected one of"),
            ("kind: synthetic\nstop_policy: deepconf-low\n", "generator.stop_policy: unknown key `stop_policy` for kind synthetic (a key of kind replay and openai)"),
            ("kind: synthetic\nungraded: true\n", "generator.ungraded: unknown key `ungraded` for kind synthetic (a key of kind replay and openai)"),
            (&format!("{replay}ungraded: 1\n"), "generator.ungraded: wrong type: integer `1`, expected"),
            (&format!("{replay}openai: {{}}\n"), "generator.openai: unknown key `openai` for kind replay (a key of kind openai)"),
            (&format!("{replay}surprise: 1\n"), "generator.surprise: unknown key `surprise`, expected one of `kind`, `problems`"),
            ("kind: live\n", "generator.kind: unknown value `live`, expected one of `replay`, `synthetic`, `openai`"),
            ("kind: openai\nproblems: p.jsonl\nopenai: {base_urls: [http://x:1], temprature: 1}\n", "generator.openai.temprature: unknown key `temprature`"),
            ("kind: synthetic\nsynthetic: {problems: 0}\nconcurrent_problems: 0\n", "generator.synthetic.problems: expected an integer ≥ 1, got 0"),
            ("- a\n", "generator: wrong type: sequence, expected a mapping of keys"),
        ];
        for (yaml, want) in cases {
            let got = compiled(yaml).unwrap_err();
            assert!(got.iter().any(|g| g.starts_with(want)), "want {want:?} in {got:?} for\n{yaml}");
        }
        let both = compiled("kind: synthetic\nsynthetic: {problems: 0}\nconcurrent_problems: 0\n").unwrap_err();
        assert_eq!(both.len(), 2, "every error of the section: {both:?}");
    }
}
