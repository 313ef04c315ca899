//! The judge worker: one dedicated thread owns the judge (and, for the model, its GPU device).
//!
//! Async code sends [`JudgeCommand`]s through a bounded `crossbeam-channel` and awaits a
//! one-shot reply, so nothing async ever blocks on a tensor.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use super::{JudgeError, PairInput, PairJudge};

/// A batch's scores and the time the judge spent on it.
#[derive(Debug, Clone)]
pub struct ScoredBatch {
    /// One score per pair, in order.
    pub scores: Vec<f32>,
    /// Time inside the judge for this batch.
    pub busy: Duration,
    /// What a neural judge ran for this batch.
    pub shapes: Option<super::ForwardShapes>,
}

/// What the worker is asked to do.
pub enum JudgeCommand {
    /// Score a batch of pairs and reply once.
    Score {
        /// The pairs.
        pairs: Vec<PairInput>,
        /// Where the result goes.
        reply: oneshot::Sender<Result<ScoredBatch, JudgeError>>,
        /// The caller's tracing span, so the worker's logs nest under it.
        span: tracing::Span,
    },
}

/// Handle to the judge worker thread. Dropping every handle ends the thread.
#[derive(Clone)]
pub struct JudgeWorker {
    tx: Sender<JudgeCommand>,
    name: String,
}

impl JudgeWorker {
    /// Starts the worker. `make` runs on the new thread, so a GPU judge creates its device there.
    /// `queue` bounds the batches waiting for the judge; a full queue is backpressure.
    pub fn spawn<F>(make: F, queue: usize) -> Result<(Self, JoinHandle<()>), JudgeError>
    where
        F: FnOnce() -> Result<Box<dyn PairJudge>, JudgeError> + Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::bounded::<JudgeCommand>(queue.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("judge-worker".into())
            .spawn(move || match make() {
                Ok(judge) => {
                    let _ = ready_tx.send(Ok(judge.name().to_string()));
                    serve(judge, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(JudgeError::Thread)?;
        let name = ready_rx.recv().map_err(|_| JudgeError::WorkerGone)??;
        Ok((Self { tx, name }, handle))
    }

    /// The judge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Scores a batch. Waits for queue space without blocking the async runtime.
    pub async fn score(&self, pairs: Vec<PairInput>) -> Result<ScoredBatch, JudgeError> {
        let (reply, rx) = oneshot::channel();
        let mut cmd = JudgeCommand::Score { pairs, reply, span: tracing::Span::current() };
        loop {
            match self.tx.try_send(cmd) {
                Ok(()) => break,
                Err(TrySendError::Full(c)) => {
                    cmd = c;
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                Err(TrySendError::Disconnected(_)) => return Err(JudgeError::WorkerGone),
            }
        }
        rx.await.map_err(|_| JudgeError::WorkerGone)?
    }

    /// Batches waiting for the worker.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

fn serve(mut judge: Box<dyn PairJudge>, rx: Receiver<JudgeCommand>) {
    serve_commands(judge.as_mut(), rx);
    // The judge's memory is freed first, then its backend gives the freed pages back.
    let release = judge.release_hook();
    drop(judge);
    if let Some(release) = release {
        release();
    }
}

fn serve_commands(judge: &mut dyn PairJudge, rx: Receiver<JudgeCommand>) {
    for cmd in rx {
        match cmd {
            JudgeCommand::Score { pairs, reply, span } => {
                let _enter = span.enter();
                // A caller that has gone away no longer needs the work.
                if reply.is_closed() {
                    continue;
                }
                let start = Instant::now();
                let result = judge
                    .score(&pairs)
                    .map(|scores| ScoredBatch { scores, busy: start.elapsed(), shapes: judge.take_shapes() });
                let _ = reply.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records what happens to it, and on which thread.
    struct Recording(Arc<Mutex<Vec<(String, std::thread::ThreadId)>>>);

    impl Recording {
        fn log(&self, what: &str) {
            self.0.lock().unwrap().push((what.to_string(), std::thread::current().id()));
        }
    }

    impl PairJudge for Recording {
        fn name(&self) -> &str {
            "recording"
        }
        fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
            self.log("scored");
            Ok(vec![0.5; pairs.len()])
        }
        fn release_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
            let log = self.0.clone();
            Some(Box::new(move || log.lock().unwrap().push(("released".into(), std::thread::current().id()))))
        }
    }

    impl Drop for Recording {
        fn drop(&mut self) {
            self.log("dropped");
        }
    }

    #[test]
    fn the_release_hook_runs_on_the_worker_thread_after_the_judge_is_dropped() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let judge_log = log.clone();
        let (worker, thread) =
            JudgeWorker::spawn(move || Ok(Box::new(Recording(judge_log)) as Box<dyn PairJudge>), 2).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let scored = rt.block_on(worker.score(Vec::new())).unwrap();
        assert!(scored.scores.is_empty());
        drop(worker);
        thread.join().unwrap();
        let log = log.lock().unwrap();
        let events: Vec<&str> = log.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events, ["scored", "dropped", "released"]);
        assert!(log.iter().all(|(_, t)| *t == log[0].1), "everything ran on the worker thread");
        assert_ne!(log[0].1, std::thread::current().id());
    }
}
