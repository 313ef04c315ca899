//! Fault injection (tests only) and the restart bookkeeping every stage shares. How a message
//! survives a failure is in [`super::redelivery`].
//!
//! - **Injection.** The `faults` section of a pipeline ([`FaultConfig`]) makes a chosen stage stop (its supervisor
//!   restarts it) or fail every n-th message it receives, the judge backend fail every n-th
//!   batch, or the generator's source stall. It is off unless the section says otherwise.
//! - **What a restart loses.** Each stage keeps its committed state (a problem's clusters, the
//!   voter's pending traces, the generator's replay position) in the actor object, which
//!   actix's supervisor keeps across a restart. What a restart drops is everything in flight:
//!   the futures the actor had spawned, and so the replies it owed. [`restarting`] hooks drop
//!   the stage's uncommitted work explicitly.
//! - **Restart limit.** More than `max_restarts` restarts of one stage within `restart_window_s`
//!   stops the run with an error naming the stage, instead of looping.
//!
//! [`restarting`]: actix::Supervised::restarting

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use super::PipelineError;
use crate::config::{FaultConfig, FaultMode, Stage};

/// The counters' index of `stage`.
pub(super) fn slot(stage: Stage) -> usize {
    stage as usize
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
    pub(super) pending: [AtomicU64; 5],
    pub(super) max_pending: [AtomicU64; 5],
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
        let n = self.received[slot(stage)].fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(self.config.every).then(|| {
            self.injected[slot(stage)].fetch_add(1, Ordering::Relaxed);
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
        self.restarts[slot(stage)].fetch_add(1, Ordering::Relaxed);
        let window = Duration::from_secs_f64(self.config.restart_window_s);
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let q = &mut recent[slot(stage)];
        q.push_back(now);
        while q.front().is_some_and(|&t| now.duration_since(t) > window) {
            q.pop_front();
        }
        tracing::warn!(stage = stage.name(), restarts = self.restarts[slot(stage)].load(Ordering::Relaxed), "stage restarted");
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
        Stage::ALL.iter().map(|s| (s.name().to_string(), self.restarts[slot(*s)].load(Ordering::Relaxed))).collect()
    }

    /// The most messages each stage had waiting or in hand at once.
    pub fn max_mailbox_depths(&self) -> std::collections::BTreeMap<String, u64> {
        Stage::ALL.iter().map(|s| (s.name().to_string(), self.max_pending[slot(*s)].load(Ordering::Relaxed))).collect()
    }

    /// Injected faults per stage so far (judge batch failures under `judge`).
    pub fn injected_counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m: std::collections::BTreeMap<String, u64> =
            Stage::ALL.iter().map(|s| (s.name().to_string(), self.injected[slot(*s)].load(Ordering::Relaxed))).collect();
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
