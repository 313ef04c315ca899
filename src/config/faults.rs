//! The `faults` section: fault injection, for tests only. Everything is off by default; the
//! pipeline's `faults` module injects what this asks for.

use super::load::at_most;
use serde::{Deserialize, Serialize};

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The generator.
    Generator,
    /// The truncator.
    Truncator,
    /// The judge-batcher.
    JudgeBatcher,
    /// The clusterer.
    Clusterer,
    /// The voter.
    Voter,
}

impl Stage {
    /// All five, in dataflow order.
    pub const ALL: [Stage; 5] = [Stage::Generator, Stage::Truncator, Stage::JudgeBatcher, Stage::Clusterer, Stage::Voter];

    /// Its name in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Generator => "generator",
            Stage::Truncator => "truncator",
            Stage::JudgeBatcher => "judge_batcher",
            Stage::Clusterer => "clusterer",
            Stage::Voter => "voter",
        }
    }
}

/// How an injected fault shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// The stage stops; its supervisor restarts it. What it had in flight is lost.
    #[default]
    Stop,
    /// The stage answers the message with an error and keeps running.
    Error,
}

/// The `faults` section. TEST ONLY: everything is off by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// The stage to fault, or none.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Fault every n-th message the stage receives (0 = never).
    #[serde(default)]
    pub every: u64,
    /// `stop` (restart) or `error`.
    #[serde(default)]
    pub mode: FaultMode,
    /// The judge backend fails every n-th batch (0 = never).
    #[serde(default)]
    pub judge_fail_every: u64,
    /// The judge backend takes this much longer per batch (milliseconds; a slow judge).
    #[serde(default)]
    pub judge_delay_ms: u64,
    /// The generator's source stalls for this long...
    #[serde(default)]
    pub generator_stall_ms: u64,
    /// ...every this many virtual steps of a problem (0 = never).
    #[serde(default)]
    pub generator_stall_every: u64,
    /// Restarts of one stage allowed within `restart_window_s` before the run stops.
    #[serde(default = "default_max_restarts")]
    pub max_restarts: usize,
    /// The window of the restart limit, in seconds.
    #[serde(default = "default_restart_window_s")]
    pub restart_window_s: f64,
}

/// 100 restarts: far more than a healthy run needs, few enough to stop a restart loop.
fn default_max_restarts() -> usize {
    100
}
/// One second.
fn default_restart_window_s() -> f64 {
    1.0
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            stage: None,
            every: 0,
            mode: FaultMode::Stop,
            judge_fail_every: 0,
            judge_delay_ms: 0,
            generator_stall_ms: 0,
            generator_stall_every: 0,
            max_restarts: default_max_restarts(),
            restart_window_s: default_restart_window_s(),
        }
    }
}

impl FaultConfig {
    /// Pushes one message per problem, each naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
        if self.stage.is_some() && self.every == 0 {
            e.push("faults.every: expected an integer ≥ 1 when faults.stage is set, got 0".into());
        }
        if self.max_restarts == 0 {
            e.push("faults.max_restarts: expected an integer ≥ 1, got 0".into());
        }
        at_most("faults.judge_delay_ms", self.judge_delay_ms, 600_000, e);
        at_most("faults.generator_stall_ms", self.generator_stall_ms, 600_000, e);
        at_most("faults.restart_window_s", self.restart_window_s, 86_400.0, e);
        if !(self.restart_window_s > 0.0 && self.restart_window_s.is_finite()) {
            e.push(format!("faults.restart_window_s: expected a positive number of seconds, got {}", self.restart_window_s));
        }
    }
}
