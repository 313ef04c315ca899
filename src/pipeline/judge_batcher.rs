//! The judge-batcher stage: groups pair comparisons from all problems into micro-batches for
//! the judge worker thread.
//!
//! A batch is cut as soon as `max_batch_pairs` pairs wait, or flushed when the oldest waiting
//! pair has waited `max_wait`. Pairs whose caller has gone away are dropped before they reach
//! the judge.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::messages::JudgePairs;
use super::PipelineError;
use crate::judge::worker::JudgeWorker;
use crate::judge::{JudgeError, PairInput};

struct Waiting {
    pair: PairInput,
    since: Instant,
    reply: oneshot::Sender<Result<f32, PipelineError>>,
}

/// Counters the batcher keeps; read by the run driver for the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BatcherStats {
    /// Pairs scored by the judge.
    pub pairs: u64,
    /// Batches sent to the judge.
    pub batches: u64,
    /// Pairs dropped because their caller had gone away.
    pub dropped: u64,
    /// Total time the judge spent scoring, in seconds.
    pub judge_busy_seconds: f64,
    /// Total time pairs waited in the queue before their batch was cut, in seconds.
    pub queue_wait_seconds: f64,
    /// Largest batch sent.
    pub max_batch: usize,
}

/// Batcher → itself or the run driver: the counters so far.
#[derive(Message)]
#[rtype(result = "BatcherStats")]
pub struct GetStats;

/// The judge-batcher actor.
pub struct JudgeBatcher {
    worker: JudgeWorker,
    max_pairs: usize,
    max_wait: Duration,
    queue: VecDeque<Waiting>,
    timer: Option<SpawnHandle>,
    stats: BatcherStats,
}

impl JudgeBatcher {
    /// A batcher in front of `worker`.
    pub fn new(worker: JudgeWorker, max_pairs: usize, max_wait: Duration) -> Self {
        Self { worker, max_pairs: max_pairs.max(1), max_wait, queue: VecDeque::new(), timer: None, stats: BatcherStats::default() }
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        while self.queue.len() >= self.max_pairs {
            self.cut(ctx);
        }
        if self.queue.is_empty() {
            if let Some(t) = self.timer.take() {
                ctx.cancel_future(t);
            }
        } else if self.timer.is_none() {
            self.timer = Some(ctx.run_later(self.max_wait, |act, ctx| {
                act.timer = None;
                while !act.queue.is_empty() {
                    act.cut(ctx);
                }
            }));
        }
    }

    /// Cuts one batch of up to `max_pairs` live requests and sends it to the worker.
    fn cut(&mut self, ctx: &mut Context<Self>) {
        let mut batch = Vec::with_capacity(self.max_pairs.min(self.queue.len()));
        let now = Instant::now();
        while batch.len() < self.max_pairs {
            let Some(w) = self.queue.pop_front() else { break };
            if w.reply.is_closed() {
                self.stats.dropped += 1;
                continue;
            }
            self.stats.queue_wait_seconds += now.duration_since(w.since).as_secs_f64();
            batch.push(w);
        }
        if batch.is_empty() {
            return;
        }
        self.stats.batches += 1;
        self.stats.pairs += batch.len() as u64;
        self.stats.max_batch = self.stats.max_batch.max(batch.len());
        let pairs: Vec<PairInput> = batch.iter().map(|w| w.pair.clone()).collect();
        let worker = self.worker.clone();
        ctx.spawn(
            async move { worker.score(pairs).await }.into_actor(self).map(move |result, act, _| match result {
                Ok(scored) => {
                    act.stats.judge_busy_seconds += scored.busy.as_secs_f64();
                    for (w, s) in batch.into_iter().zip(scored.scores) {
                        let _ = w.reply.send(Ok(s));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for w in batch {
                        let _ = w.reply.send(Err(PipelineError::Judge(JudgeError::Model(msg.clone()))));
                    }
                }
            }),
        );
    }
}

impl Actor for JudgeBatcher {
    type Context = Context<Self>;
}

impl Supervised for JudgeBatcher {}

impl Handler<JudgePairs> for JudgeBatcher {
    type Result = ResponseFuture<Result<Vec<f32>, PipelineError>>;

    fn handle(&mut self, msg: JudgePairs, ctx: &mut Context<Self>) -> Self::Result {
        let now = Instant::now();
        let receivers: Vec<_> = msg
            .pairs
            .into_iter()
            .map(|pair| {
                let (reply, rx) = oneshot::channel();
                self.queue.push_back(Waiting { pair, since: now, reply });
                rx
            })
            .collect();
        self.schedule(ctx);
        Box::pin(async move {
            let mut scores = Vec::with_capacity(receivers.len());
            for rx in receivers {
                scores.push(rx.await.map_err(|_| PipelineError::Judge(JudgeError::WorkerGone))??);
            }
            Ok(scores)
        })
    }
}

impl Handler<GetStats> for JudgeBatcher {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}
