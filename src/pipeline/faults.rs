//! Fault injection (tests only) and the delivery rules that make supervision lose nothing.
//!
//! - **Injection.** The `faults` section of a pipeline ([`FaultConfig`]) makes a chosen stage stop (its supervisor
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
use super::PipelineError;
use crate::config::{FaultConfig, FaultMode, Stage};
use crate::judge::JudgeError;

/// The counters' index of `stage`.
fn slot(stage: Stage) -> usize {
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
    let depth = faults.pending[slot(stage)].fetch_add(1, Ordering::Relaxed) + 1;
    faults.max_pending[slot(stage)].fetch_max(depth, Ordering::Relaxed);
    let _in_flight = InFlight(&faults.pending[slot(stage)]);
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
