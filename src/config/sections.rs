//! The plainer sections of a pipeline: `truncator`, `clusterer`, `voter` and `output`.

use super::load::at_most;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::trace::truncate::{default_reasoning_words, PrefixMode, TruncationSpec};

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
    /// at the next one. Empty (the default): one checkpoint, as in the paper. In a judge's
    /// training config, each pair is cut at one of `count` and these. Not written when empty,
    /// so a judge checkpoint's `train.json` reads as before.
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
    /// The truncation this section describes.
    pub fn spec(&self) -> TruncationSpec {
        TruncationSpec::new(self.mode, self.count, &self.words)
    }

    /// Every checkpoint: `count`, then each of `later`.
    pub fn checkpoints(&self) -> Vec<usize> {
        std::iter::once(self.count).chain(self.later.iter().copied()).collect()
    }

    /// The cut at each checkpoint.
    pub fn checkpoint_specs(&self) -> Vec<TruncationSpec> {
        self.checkpoints().into_iter().map(|k| TruncationSpec::new(self.mode, k, &self.words)).collect()
    }

    /// Pushes one message per problem, each naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
        let t = self;
        at_most("truncator.count", t.count, 1_000_000, e);
        if let Some(&last) = t.later.last() {
            at_most("truncator.later", last, 1_000_000, e);
        }
        if t.count == 0 {
            e.push("truncator.count: expected an integer ≥ 1, got 0".into());
        }
        if t.checkpoints().windows(2).any(|w| w[1] <= w[0]) {
            e.push(format!(
                "truncator.later: expected checkpoints in increasing order, each above truncator.count ({}), got {:?}",
                t.count, t.later
            ));
        }
        if t.mode == PrefixMode::ReasoningWords && t.words.is_empty() {
            e.push("truncator.words: expected at least one reasoning word for mode reasoning_words".into());
        }
        if let Some(w) = t.words.iter().find(|w| w.is_empty() || !w.chars().all(|c| c.is_ascii_alphabetic())) {
            e.push(format!("truncator.words: {w:?} is not a word; expected ASCII letters only"));
        }
    }
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
    /// What a forced join (K clusters full, no cluster above τ) counts for in the vote.
    #[serde(default)]
    pub forced_join: ForcedJoin,
    /// Staged judging: a decision whose best mean similarity m has τ − band < m ≤ τ + band waits
    /// for the trace's prefix at the next of `truncator.later`; the last checkpoint decides with
    /// band 0. In [0, 1); 0 (the default) decides every trace at its first checkpoint.
    #[serde(default)]
    pub band: f32,
}

/// What a prefix that joins a cluster only because K clusters are full counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForcedJoin {
    /// It is pruned and adds no weight: it is kept apart from the cluster's members, so it is
    /// never compared with, never completed, and adds nothing to the cluster's size or vote.
    #[default]
    Abstain,
    /// It becomes a member like any other (DeepPrune's rule): it counts in the cluster's size,
    /// can be completed under `largest_cluster`, and adds weight to the founder's vote.
    Count,
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

impl ClustererConfig {
    /// Pushes one message per problem, each naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
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
        at_most("clusterer.p", c.p, 1_000_000, e);
        at_most("clusterer.k", c.k, 1_000_000, e);
        if c.k == 0 {
            e.push("clusterer.k: expected an integer ≥ 1, got 0".into());
        }
    }
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

impl VoterConfig {
    /// Pushes one message per problem, each naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
        at_most("voter.top_k", self.top_k, 1_000_000, e);
        if self.top_k == 0 {
            e.push("voter.top_k: expected an integer ≥ 1, got 0".into());
        }
    }
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

/// `out/run`, in the directory the run is started in.
fn default_output_dir() -> PathBuf {
    PathBuf::from("out/run")
}
/// A progress bar unless asked not to.
fn default_true() -> bool {
    true
}

/// `clusterer.band` makes a decision wait for a later checkpoint; without one it cannot.
pub(super) fn check_staged(t: &TruncatorConfig, c: &ClustererConfig, e: &mut Vec<String>) {
    if c.band > 0.0 && t.later.is_empty() {
        e.push(format!(
            "clusterer.band: {} waits for a later checkpoint, but truncator.later is empty; \
             set truncator.later (e.g. [128, 256]) or clusterer.band to 0",
            c.band
        ));
    }
}
