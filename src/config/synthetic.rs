//! `generator.synthetic`: the synthetic load source's settings. The pipeline's `synthetic`
//! module makes the traces.

use super::load::at_most;
use serde::{Deserialize, Serialize};

/// The `generator.synthetic` section (for `generator.kind: synthetic`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Problems to generate.
    #[serde(default = "default_problems")]
    pub problems: usize,
    /// Traces per problem.
    #[serde(default = "default_traces")]
    pub traces_per_problem: usize,
    /// Mean trace length in tokens (before the answer sentence).
    #[serde(default = "default_tokens")]
    pub tokens_per_trace: usize,
    /// Lengths vary uniformly by ± this fraction of the mean.
    #[serde(default = "default_spread")]
    pub length_spread: f64,
    /// Distinct answers per problem.
    #[serde(default = "default_groups")]
    pub answer_groups: usize,
    /// Probability that a trace copies its group's template word at each position (0 to 1).
    #[serde(default = "default_similarity")]
    pub similarity: f64,
    /// Seed.
    #[serde(default)]
    pub seed: u64,
}

/// 100 problems.
fn default_problems() -> usize {
    100
}
/// 64 traces per problem.
fn default_traces() -> usize {
    64
}
/// 200 tokens: about half the shared traces' mean length.
fn default_tokens() -> usize {
    200
}
/// ± 50%.
fn default_spread() -> f64 {
    0.5
}
/// 4 answers per problem.
fn default_groups() -> usize {
    4
}
/// 80% of words copied from the group's template.
fn default_similarity() -> f64 {
    0.8
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            problems: default_problems(),
            traces_per_problem: default_traces(),
            tokens_per_trace: default_tokens(),
            length_spread: default_spread(),
            answer_groups: default_groups(),
            similarity: default_similarity(),
            seed: 0,
        }
    }
}

impl SyntheticConfig {
    /// Semantic checks, one message per problem, each naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
        let k = "generator.synthetic";
        if self.problems == 0 {
            e.push(format!("{k}.problems: expected an integer ≥ 1, got 0"));
        }
        // As many as the live generator's `traces_per_problem` allows: a problem's traces are
        // made whole when the generator reaches it.
        if !(1..=100_000).contains(&self.traces_per_problem) {
            e.push(format!("{k}.traces_per_problem: expected an integer from 1 to 100000, got {}", self.traces_per_problem));
        }
        if self.tokens_per_trace == 0 {
            e.push(format!("{k}.tokens_per_trace: expected an integer ≥ 1, got 0"));
        }
        if !(0.0..1.0).contains(&self.length_spread) {
            e.push(format!("{k}.length_spread: expected a number in [0, 1), got {}", self.length_spread));
        }
        if self.answer_groups == 0 {
            e.push(format!("{k}.answer_groups: expected an integer ≥ 1, got 0"));
        }
        at_most(&format!("{k}.problems"), self.problems, 100_000_000, e);
        at_most(&format!("{k}.tokens_per_trace"), self.tokens_per_trace, 10_000_000, e);
        at_most(&format!("{k}.answer_groups"), self.answer_groups, 1_000_000, e);
        if !(0.0..=1.0).contains(&self.similarity) {
            e.push(format!("{k}.similarity: expected a number in [0, 1], got {}", self.similarity));
        }
    }
}
