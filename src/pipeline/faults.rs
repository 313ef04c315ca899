//! Fault injection (tests only) and the delivery rules that make supervision lose nothing.
//!
//! - **Injection.** The `faults` section of a pipeline makes a chosen stage stop (its supervisor
//!   restarts it) or fail every n-th message it receives, the judge backend fail every n-th
//!   batch, or the generator's source stall. It is off unless the section says otherwise.
//! - **What a restart loses.** Each stage keeps its committed state (a problem's clusters, the
//!   voter's pending traces, the generator's replay position) in the actor object, which
//!   actix's supervisor keeps across a restart. What a restart drops is everything in flight:
//!   the futures the actor had spawned, and so the replies it owed. [`restarting`] hooks drop
//!   the stage's uncommitted work explicitly.
//! - **Redelivery.** Every data-path message goes through [`deliver`]: a sender whose message
//!   failed with a retriable error (an injected failure, a restart, a closed mailbox) sends it
//!   again. Handlers are idempotent per (problem, step) or per (problem, trace), so a message
//!   applied before a failure and delivered again has its effect once.
//! - **Restart limit.** More than `max_restarts` restarts of one stage within `restart_window_s`
//!   stops the run with an error naming the stage, instead of looping.
//!
//! [`restarting`]: actix::Supervised::restarting

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::dev::ToEnvelope;
use actix::prelude::*;
use serde::{Deserialize, Serialize};

use super::PipelineError;
use crate::judge::JudgeError;

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

    fn index(self) -> usize {
        self as usize
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

fn default_max_restarts() -> usize {
    100
}
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
    /// Semantic checks; pushes one message per problem.
    pub fn check(&self, e: &mut Vec<String>) {
        if self.stage.is_some() && self.every == 0 {
            e.push("faults.every: expected an integer ≥ 1 when faults.stage is set, got 0".into());
        }
        if self.max_restarts == 0 {
            e.push("faults.max_restarts: expected an integer ≥ 1, got 0".into());
        }
        if !(self.restart_window_s > 0.0 && self.restart_window_s.is_finite()) {
            e.push(format!("faults.restart_window_s: expected a positive number of seconds, got {}", self.restart_window_s));
        }
    }
}

/// The run's fault injector and restart bookkeeping, shared by every stage.
pub struct Faults {
    config: FaultConfig,
    received: [AtomicU64; 5],
    injected: [AtomicU64; 5],
    restarts: [AtomicU64; 5],
    recent: Mutex<[VecDeque<Instant>; 5]>,
    judge_batches: AtomicU64,
    /// Messages sent to each stage and not yet answered, and the most at once: the depth of
    /// the stage's mailbox plus what it is working on.
    pending: [AtomicU64; 5],
    max_pending: [AtomicU64; 5],
    errors: tokio::sync::mpsc::UnboundedSender<PipelineError>,
}

impl Faults {
    /// Faults as configured; a stage over its restart limit reports through `errors`.
    pub fn new(config: FaultConfig, errors: tokio::sync::mpsc::UnboundedSender<PipelineError>) -> Arc<Self> {
        Arc::new(Self {
            config,
            received: Default::default(),
            injected: Default::default(),
            restarts: Default::default(),
            recent: Mutex::new(Default::default()),
            judge_batches: AtomicU64::new(0),
            pending: Default::default(),
            max_pending: Default::default(),
            errors,
        })
    }

    /// No faults (for callers outside a configured run, such as tests and benches).
    pub fn none() -> Arc<Self> {
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        Self::new(FaultConfig::default(), tx)
    }

    /// Counts a message received by `stage`; returns the fault to inject, if any.
    pub fn on_message(&self, stage: Stage) -> Option<FaultMode> {
        if self.config.stage != Some(stage) || self.config.every == 0 {
            return None;
        }
        let n = self.received[stage.index()].fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(self.config.every).then(|| {
            self.injected[stage.index()].fetch_add(1, Ordering::Relaxed);
            tracing::debug!(stage = stage.name(), n, mode = ?self.config.mode, "injected fault");
            self.config.mode
        })
    }

    /// Counts a judge batch; true when the backend should fail it.
    pub fn judge_batch_fails(&self) -> bool {
        let every = self.config.judge_fail_every;
        if every == 0 {
            return false;
        }
        let n = self.judge_batches.fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(every)
    }

    /// How long the generator stalls before virtual step `step` of a problem.
    pub fn generator_stall(&self, step: u64) -> Option<Duration> {
        let (ms, every) = (self.config.generator_stall_ms, self.config.generator_stall_every);
        (ms > 0 && every > 0 && step.is_multiple_of(every)).then(|| Duration::from_millis(ms))
    }

    /// Records a restart of `stage`; over the limit, reports a fatal error for the run.
    pub fn restarted(&self, stage: Stage) {
        self.restarts[stage.index()].fetch_add(1, Ordering::Relaxed);
        let window = Duration::from_secs_f64(self.config.restart_window_s);
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let q = &mut recent[stage.index()];
        q.push_back(now);
        while q.front().is_some_and(|&t| now.duration_since(t) > window) {
            q.pop_front();
        }
        tracing::warn!(stage = stage.name(), restarts = self.restarts[stage.index()].load(Ordering::Relaxed), "stage restarted");
        if q.len() > self.config.max_restarts {
            let _ = self.errors.send(PipelineError::TooManyRestarts {
                stage: stage.name(),
                restarts: q.len(),
                window_s: self.config.restart_window_s,
            });
        }
    }

    /// Restarts per stage so far.
    pub fn restart_counts(&self) -> std::collections::BTreeMap<String, u64> {
        Stage::ALL.iter().map(|s| (s.name().to_string(), self.restarts[s.index()].load(Ordering::Relaxed))).collect()
    }

    /// The most messages each stage had waiting or in hand at once.
    pub fn max_mailbox_depths(&self) -> std::collections::BTreeMap<String, u64> {
        Stage::ALL.iter().map(|s| (s.name().to_string(), self.max_pending[s.index()].load(Ordering::Relaxed))).collect()
    }

    /// Injected faults per stage so far (judge batch failures under `judge`).
    pub fn injected_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m: std::collections::BTreeMap<String, u64> =
            Stage::ALL.iter().map(|s| (s.name().to_string(), self.injected[s.index()].load(Ordering::Relaxed))).collect();
        let every = self.config.judge_fail_every;
        let judge = if every == 0 { 0 } else { self.judge_batches.load(Ordering::Relaxed) / every };
        m.insert("judge".into(), judge);
        m
    }
}

/// The error a faulted handler answers with; in `stop` mode it also stops the actor.
pub fn injected<A: Actor<Context = Context<A>>>(stage: Stage, mode: FaultMode, ctx: &mut Context<A>) -> PipelineError {
    match mode {
        FaultMode::Stop => {
            ctx.stop();
            PipelineError::Restarted { stage: stage.name() }
        }
        FaultMode::Error => PipelineError::Injected { stage: stage.name() },
    }
}

/// Most attempts to deliver one message before giving up.
const MAX_ATTEMPTS: u32 = 10_000;

/// Whether a failed delivery may be retried: injected faults, restarts, and a closed mailbox
/// (the receiver stopped while holding the message; its supervisor restarts it).
pub fn retriable(e: &PipelineError) -> bool {
    matches!(
        e,
        PipelineError::Injected { .. }
            | PipelineError::Restarted { .. }
            | PipelineError::Mailbox(actix::MailboxError::Closed)
            | PipelineError::Judge(JudgeError::Injected)
    )
}

/// Counts a message to a stage from send to reply (also when the sending future is dropped).
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sends `msg` to `stage` at `addr` and waits for its reply, sending it again after a
/// retriable failure. Every data-path message goes through here: `send().await` on a bounded
/// mailbox, never `do_send`.
pub async fn deliver<A, M, T>(faults: &Faults, stage: Stage, addr: &Addr<A>, msg: M) -> Result<T, PipelineError>
where
    A: Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message<Result = Result<T, PipelineError>> + Clone + Send + 'static,
    T: Send + 'static,
{
    let depth = faults.pending[stage.index()].fetch_add(1, Ordering::Relaxed) + 1;
    faults.max_pending[stage.index()].fetch_max(depth, Ordering::Relaxed);
    let _in_flight = InFlight(&faults.pending[stage.index()]);
    retrying(|| async {
        match addr.send(msg.clone()).await {
            Ok(r) => r,
            Err(e) => Err(PipelineError::Mailbox(e)),
        }
    })
    .await
}

/// Runs `attempt` until it succeeds or fails for good, again after each retriable failure
/// (with a short, growing back-off: a restarting actor needs a moment), at most
/// `MAX_ATTEMPTS` times.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, PipelineError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, PipelineError>>,
{
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Err(e) if retriable(&e) && tries < MAX_ATTEMPTS => {
                tries += 1;
                tracing::debug!(error = %e, attempt = tries, "retrying");
                tokio::time::sleep(Duration::from_micros(50 * u64::from(tries.min(200)))).await;
            }
            other => return other,
        }
    }
}
