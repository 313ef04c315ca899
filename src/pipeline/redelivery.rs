//! Redelivery: the rule that makes supervision lose nothing.
//!
//! Every data-path message goes through [`deliver`]: a sender whose message failed with a
//! retriable error (an injected failure, a restart, a closed mailbox) sends it again. Handlers
//! are idempotent per (problem, step) or per (problem, trace), so a message applied before a
//! failure and delivered again has its effect once. Messages go by `send().await` on bounded
//! mailboxes, never `do_send`, so backpressure is real.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::dev::ToEnvelope;
use actix::prelude::*;

use super::faults::{slot, Faults};
use super::PipelineError;
use crate::config::Stage;
use crate::judge::JudgeError;

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
