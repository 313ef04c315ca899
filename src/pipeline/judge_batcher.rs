//! The judge-batcher stage: groups pair comparisons from all problems into micro-batches for
//! the judge worker thread.
//!
//! - A batch is cut when it would exceed `max_pairs` pairs or `max_tokens` padded tokens, or
//!   flushed when its oldest pair has waited `max_wait`, or at once when no more pairs can come:
//!   every open caller (a problem being clustered, told by [`JudgeCallers`]) has pairs waiting
//!   for their scores. A problem's prefixes are judged one at a time, so such a caller can send
//!   nothing more until a batch returns, and waiting for company would only add latency.
//! - A pair's padded length is estimated from the generator-token counts of its two prefixes
//!   plus the three special tokens of `[CLS] a [SEP] b [SEP]`, capped at `max_pair_len`; a batch
//!   costs its pair count times its longest pair (rows pad to the longest). The neural judges
//!   re-tokenize with WordPiece, so this is an estimate of their real shapes, not a measurement.
//! - At most `max_inflight` batches are with the worker at once. While they are, waiting pairs
//!   stay here and merge into fuller batches: a slow judge gets bigger batches.
//! - Identical pairs in one batch are scored once.
//! - A pair whose caller has gone away (its trace was stopped, its problem was abandoned) is
//!   dropped before it reaches the judge, and counted.
//! - Callers go through [`BatcherHandle`], whose semaphore bounds the pairs waiting here: a full
//!   queue makes the caller wait, which is the backpressure.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::{oneshot, Semaphore};

use super::faults::{injected, Faults};
use super::redelivery::retrying;
use super::messages::{JudgeCallers, JudgePairs, PairReply};
use super::PipelineError;
use crate::config::Stage;
use crate::judge::worker::JudgeWorker;
use crate::judge::{JudgeError, PairInput};
use crate::report::BatcherStats;

/// How the batcher cuts batches.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Most pairs in one batch.
    pub max_pairs: usize,
    /// Most padded tokens in one batch (pairs × longest pair); a single longer pair still goes.
    pub max_tokens: usize,
    /// The judge's longest pair, in tokens; estimates are capped here.
    pub max_pair_len: usize,
    /// A partial batch is flushed once its oldest pair has waited this long.
    pub max_wait: Duration,
    /// Batches with the worker at once.
    pub max_inflight: usize,
    /// A batch the judge has not answered in this long fails the run instead of stalling it
    /// (a GPU backend that has died may never answer).
    pub batch_timeout: Duration,
}

impl BatchPolicy {
    /// The estimated padded length of a pair (see the module notes).
    pub fn pair_tokens(&self, pair: &PairInput) -> usize {
        (pair.a.tokens + pair.b.tokens + 3).min(self.max_pair_len).max(1)
    }
}

/// Which callers may still send pairs, and which of them wait for scores. A caller is a
/// problem, named by its pairs' `pid`; pairs of a caller that was never opened count for
/// nothing (tests and benches send such pairs, and keep the `max_wait` flush alone).
#[derive(Debug, Default)]
struct Callers {
    /// Callers that may send pairs.
    open: HashSet<Arc<str>>,
    /// Pairs sent and not yet answered (queued or with the judge), by caller.
    pending: HashMap<Arc<str>, usize>,
}

impl Callers {
    fn open(&mut self, caller: Arc<str>) {
        self.open.insert(caller);
    }

    fn close(&mut self, caller: &str) {
        self.open.remove(caller);
    }

    fn sent(&mut self, caller: &Arc<str>) {
        *self.pending.entry(caller.clone()).or_insert(0) += 1;
    }

    fn answered(&mut self, caller: &str) {
        let Some(n) = self.pending.get_mut(caller) else { return };
        *n -= 1;
        if *n == 0 {
            self.pending.remove(caller);
        }
    }

    /// Forgets every pending pair, then counts `pending` as the only ones (after a restart,
    /// which drops the batches with the judge).
    fn reset_pending<'a>(&mut self, pending: impl Iterator<Item = &'a Arc<str>>) {
        self.pending.clear();
        for caller in pending {
            self.sent(caller);
        }
    }

    /// True when callers are known and every one waits for scores: no pair can come until a
    /// batch returns. (A few open problems at a time: the scan is cheap.)
    fn all_waiting(&self) -> bool {
        !self.open.is_empty() && self.open.iter().all(|c| self.pending.contains_key(c))
    }
}

/// Why a batch was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// It reached the pair or the token limit.
    Full,
    /// Every open caller waits for scores.
    CallersWaiting,
    /// Its oldest pair waited `max_wait`.
    MaxWait,
}

struct Waiting {
    pair: PairInput,
    tokens: usize,
    since: Instant,
    reply: oneshot::Sender<PairReply>,
}

/// Batcher → itself or the run driver: the counters so far.
#[derive(Message)]
#[rtype(result = "BatcherStats")]
pub struct GetStats;

/// The judge-batcher actor.
pub struct JudgeBatcher {
    worker: JudgeWorker,
    policy: BatchPolicy,
    queue: VecDeque<Waiting>,
    /// Sum of the queued pairs' token estimates: a lower bound on their padded cost.
    queued_tokens: usize,
    inflight: usize,
    /// The flush timer and the enqueue time of the pair it is for.
    timer: Option<(SpawnHandle, Instant)>,
    callers: Callers,
    stats: BatcherStats,
    faults: Arc<Faults>,
}

impl JudgeBatcher {
    /// A batcher in front of `worker`.
    pub fn new(worker: JudgeWorker, policy: BatchPolicy, faults: Arc<Faults>) -> Self {
        let policy = BatchPolicy {
            max_pairs: policy.max_pairs.max(1),
            max_tokens: policy.max_tokens.max(1),
            max_pair_len: policy.max_pair_len.max(1),
            max_inflight: policy.max_inflight.max(1),
            ..policy
        };
        Self {
            worker,
            policy,
            queue: VecDeque::new(),
            queued_tokens: 0,
            inflight: 0,
            timer: None,
            callers: Callers::default(),
            stats: BatcherStats::default(),
            faults,
        }
    }

    fn full_batch_waiting(&self) -> bool {
        self.queue.len() >= self.policy.max_pairs || self.queued_tokens >= self.policy.max_tokens
    }

    fn oldest_overdue(&self, now: Instant) -> bool {
        self.queue.front().is_some_and(|w| now.duration_since(w.since) >= self.policy.max_wait)
    }

    /// Why a batch is due now, if one is.
    fn due(&self) -> Option<Cut> {
        if self.queue.is_empty() {
            None
        } else if self.full_batch_waiting() {
            Some(Cut::Full)
        } else if self.callers.all_waiting() {
            Some(Cut::CallersWaiting)
        } else if self.oldest_overdue(Instant::now()) {
            Some(Cut::MaxWait)
        } else {
            None
        }
    }

    /// Cuts what is due while the worker has room, then arms the flush timer for the rest.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        while self.inflight < self.policy.max_inflight {
            let Some(why) = self.due() else { break };
            self.cut(why, ctx);
        }
        let oldest = self.queue.front().map(|w| w.since).filter(|_| self.inflight < self.policy.max_inflight);
        // Re-arm only when the oldest waiting pair changed; otherwise a returning batch, or the
        // armed timer, calls `schedule` again.
        if self.timer.as_ref().map(|&(_, since)| since) != oldest {
            if let Some((t, _)) = self.timer.take() {
                ctx.cancel_future(t);
            }
            if let Some(since) = oldest {
                let due = self.policy.max_wait.saturating_sub(since.elapsed());
                let handle = ctx.run_later(due, |act, ctx| {
                    act.timer = None;
                    act.schedule(ctx);
                });
                self.timer = Some((handle, since));
            }
        }
    }

    /// Cuts one batch from the front of the queue and sends it to the worker.
    fn cut(&mut self, why: Cut, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut batch: Vec<Waiting> = Vec::new();
        let mut longest = 0usize;
        while batch.len() < self.policy.max_pairs {
            let Some(front) = self.queue.front() else { break };
            let padded = (batch.len() + 1) * longest.max(front.tokens);
            if !batch.is_empty() && padded > self.policy.max_tokens {
                break;
            }
            let w = self.queue.pop_front().expect("front() was Some");
            self.queued_tokens -= w.tokens;
            if w.reply.is_closed() {
                self.stats.dropped += 1;
                self.callers.answered(&w.pair.a.pid);
                continue;
            }
            let waited = now.duration_since(w.since).as_secs_f64();
            self.stats.queue_wait_seconds += waited;
            self.stats.max_queue_wait_seconds = self.stats.max_queue_wait_seconds.max(waited);
            longest = longest.max(w.tokens);
            batch.push(w);
        }
        if batch.is_empty() {
            return;
        }
        // Identical pairs (the same two prefixes, as a repeated request sends them) are scored
        // once; prefixes are shared `Arc`s, so their addresses identify them.
        let mut unique: Vec<PairInput> = Vec::with_capacity(batch.len());
        let mut slot_of: Vec<usize> = Vec::with_capacity(batch.len());
        let mut seen: HashMap<(usize, usize), usize> = HashMap::with_capacity(batch.len());
        for w in &batch {
            let key = (Arc::as_ptr(&w.pair.a) as usize, Arc::as_ptr(&w.pair.b) as usize);
            let slot = *seen.entry(key).or_insert_with(|| {
                unique.push(w.pair.clone());
                unique.len() - 1
            });
            slot_of.push(slot);
        }
        let unique_tokens: usize = unique.iter().map(|p| self.policy.pair_tokens(p)).sum();
        self.stats.deduplicated += (batch.len() - unique.len()) as u64;
        self.stats.batches += 1;
        match why {
            Cut::Full => self.stats.cut_full += 1,
            Cut::CallersWaiting => self.stats.cut_callers_waiting += 1,
            Cut::MaxWait => self.stats.cut_max_wait += 1,
        }
        self.stats.pairs += unique.len() as u64;
        self.stats.max_batch = self.stats.max_batch.max(unique.len());
        self.stats.real_tokens += unique_tokens as u64;
        self.stats.padded_tokens += (unique.len() * longest) as u64;
        self.inflight += 1;
        let worker = self.worker.clone();
        // Test-only fault: the backend fails this batch.
        let fail = self.faults.judge_batch_fails();
        let (n, timeout) = (unique.len(), self.policy.batch_timeout);
        let score = async move {
            if fail {
                return Err(JudgeError::Injected);
            }
            tokio::time::timeout(timeout, worker.score(unique))
                .await
                .unwrap_or_else(|_| Err(JudgeError::Timeout { pairs: n, seconds: timeout.as_secs_f64() }))
        };
        ctx.spawn(score.into_actor(self).map(move |result, act, ctx| {
            act.inflight -= 1;
            for w in &batch {
                act.callers.answered(&w.pair.a.pid);
            }
            match result {
                Ok(scored) => {
                    act.stats.judge_busy_seconds += scored.busy.as_secs_f64();
                    if let Some(shapes) = &scored.shapes {
                        act.stats.shapes.get_or_insert_with(Default::default).add(shapes);
                    }
                    for (w, slot) in batch.into_iter().zip(slot_of) {
                        let reply = match scored.scores.get(slot) {
                            Some(&s) => Ok(s),
                            None => Err(PipelineError::Judge(JudgeError::MissingScores {
                                scores: scored.scores.len(),
                                pairs: slot + 1,
                            })),
                        };
                        let _ = w.reply.send(reply);
                    }
                }
                Err(JudgeError::Injected) => {
                    for w in batch {
                        let _ = w.reply.send(Err(PipelineError::Judge(JudgeError::Injected)));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for w in batch {
                        let _ = w.reply.send(Err(PipelineError::Judge(JudgeError::Batch(e.clone()))));
                    }
                }
            }
            act.schedule(ctx);
        }));
    }
}

impl Actor for JudgeBatcher {
    type Context = Context<Self>;

    /// Also runs after a restart: pairs still queued get a batch.
    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule(ctx);
    }
}

impl Supervised for JudgeBatcher {
    /// Batches in flight were dropped with the actor's futures (their callers see the restart
    /// and send again); the queue of waiting pairs survives.
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.faults.restarted(Stage::JudgeBatcher);
        self.inflight = 0;
        self.timer = None;
        self.callers.reset_pending(self.queue.iter().map(|w| &w.pair.a.pid));
    }
}

impl Handler<JudgePairs> for JudgeBatcher {
    type Result = MessageResult<JudgePairs>;

    fn handle(&mut self, msg: JudgePairs, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::JudgeBatcher) {
            return MessageResult(Err(injected(Stage::JudgeBatcher, mode, ctx)));
        }
        let now = Instant::now();
        let receivers: Vec<_> = msg
            .pairs
            .into_iter()
            .map(|pair| {
                let (reply, rx) = oneshot::channel();
                let tokens = self.policy.pair_tokens(&pair);
                self.queued_tokens += tokens;
                self.callers.sent(&pair.a.pid);
                self.queue.push_back(Waiting { pair, tokens, since: now, reply });
                rx
            })
            .collect();
        self.stats.max_queue_depth = self.stats.max_queue_depth.max(self.queue.len());
        self.schedule(ctx);
        MessageResult(Ok(receivers))
    }
}

impl Handler<JudgeCallers> for JudgeBatcher {
    type Result = ();

    /// No fault is injected here: the message only times batches, and a lost one would change
    /// nothing but that.
    fn handle(&mut self, msg: JudgeCallers, ctx: &mut Context<Self>) {
        match msg {
            JudgeCallers::Open(caller) => self.callers.open(caller),
            JudgeCallers::Close(caller) => self.callers.close(&caller),
        }
        self.schedule(ctx);
    }
}

impl Handler<GetStats> for JudgeBatcher {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}

/// How callers reach the batcher: its address plus a semaphore of `max_queue_pairs` permits, so
/// at most that many pairs wait in (or are being scored by) the batcher. A caller that would
/// exceed it waits for permits before sending: backpressure instead of an unbounded queue.
#[derive(Clone)]
pub struct BatcherHandle {
    addr: Addr<JudgeBatcher>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl BatcherHandle {
    /// A handle admitting at most `max_queue_pairs` pairs at once (at least 1).
    pub fn new(addr: Addr<JudgeBatcher>, max_queue_pairs: usize) -> Self {
        let capacity = max_queue_pairs.clamp(1, Semaphore::MAX_PERMITS);
        Self { addr, permits: Arc::new(Semaphore::new(capacity)), capacity }
    }

    /// The batcher's address (for its counters).
    pub fn addr(&self) -> &Addr<JudgeBatcher> {
        &self.addr
    }

    /// Pairs admitted now (waiting or being scored).
    pub fn in_queue(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }

    /// Tells the batcher that problem `pid` may send pairs (see [`JudgeCallers`]). It is only
    /// advice on when to flush: if the batcher cannot be reached, batches wait `max_wait` as
    /// without it, and the pairs' own requests report the failure.
    pub async fn open_caller(&self, pid: Arc<str>) {
        let _ = self.addr.send(JudgeCallers::Open(pid)).await;
    }

    /// Tells the batcher that problem `pid` sends no more pairs; advice, as for
    /// [`BatcherHandle::open_caller`].
    pub async fn close_caller(&self, pid: Arc<str>) {
        let _ = self.addr.send(JudgeCallers::Close(pid)).await;
    }

    /// Scores `pairs`, waiting first for room in the queue. A request larger than the whole
    /// queue waits for the queue to empty and then goes alone. A request that fails because
    /// the batcher restarted or the backend failed retriably is sent again, whole.
    pub async fn judge(&self, pairs: Vec<PairInput>) -> Result<Vec<f32>, PipelineError> {
        let want = u32::try_from(pairs.len().min(self.capacity)).unwrap_or(u32::MAX);
        let _permits = self
            .permits
            .acquire_many(want)
            .await
            .map_err(|_| PipelineError::Judge(JudgeError::WorkerGone))?;
        retrying(|| self.judge_once(pairs.clone())).await
    }

    async fn judge_once(&self, pairs: Vec<PairInput>) -> Result<Vec<f32>, PipelineError> {
        let receivers = self.addr.send(JudgePairs { pairs }).await??;
        let mut scores = Vec::with_capacity(receivers.len());
        for rx in receivers {
            // A dropped sender means the batcher restarted with this pair's batch in flight.
            scores.push(rx.await.map_err(|_| PipelineError::Restarted { stage: Stage::JudgeBatcher.name() })??);
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_open_caller_waiting_means_no_more_pairs_can_come() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let mut c = Callers::default();
        c.sent(&a);
        assert!(!c.all_waiting(), "no caller is known: only max_wait flushes");
        c.open(a.clone());
        c.open(b.clone());
        assert!(!c.all_waiting(), "b may still send");
        c.sent(&b);
        c.sent(&b);
        assert!(c.all_waiting());
        c.answered(&b);
        assert!(c.all_waiting(), "b still waits for its second pair");
        c.answered(&b);
        assert!(!c.all_waiting(), "b has its scores and may send more");
        c.close(&b);
        assert!(c.all_waiting(), "only a is left, and it waits");
        c.open(a.clone());
        assert!(c.all_waiting(), "opening twice counts once");
        c.answered(&a);
        assert!(!c.all_waiting());
        c.close(&a);
        c.close(&a);
        assert!(!c.all_waiting(), "no open caller: only max_wait flushes");
        assert!(c.pending.is_empty());
        // A pair answered that was never counted (sent before a restart) changes nothing.
        c.answered("z");
        c.open(a.clone());
        c.sent(&a);
        c.sent(&b);
        c.reset_pending([&b].into_iter());
        assert!(!c.all_waiting(), "a's pairs were with the judge when it restarted: a sends again");
        assert_eq!(c.pending.get(&b), Some(&1));
    }
}
