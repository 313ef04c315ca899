//! The judge-batcher as an actor, in front of a stub judge on the real worker thread: batches
//! respect the pair and token limits and the flush deadline, cancelled requests never reach the
//! judge, identical pairs are scored once, the queue bound holds, and every reply reaches its
//! caller exactly once with its own pair's score.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use deepprune::judge::worker::JudgeWorker;
use deepprune::judge::{JudgeError, PairInput, PairJudge};
use deepprune::pipeline::judge_batcher::{BatchPolicy, BatcherHandle, GetStats, JudgeBatcher};
use deepprune::report::BatcherStats;
use deepprune::trace::TracePrefix;

/// Scores a pair as `a.sample * 1000 + b.sample` (so each reply can be checked), after an
/// optional delay, and records every batch it sees.
struct StubJudge {
    batches: Arc<Mutex<Vec<Vec<(u32, u32, usize)>>>>,
    delay: Duration,
}

impl PairJudge for StubJudge {
    fn name(&self) -> &str {
        "stub"
    }
    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        std::thread::sleep(self.delay);
        self.batches
            .lock()
            .expect("stub lock")
            .push(pairs.iter().map(|p| (p.a.sample, p.b.sample, p.a.tokens + p.b.tokens + 3)).collect());
        Ok(pairs.iter().map(|p| (p.a.sample * 1000 + p.b.sample) as f32).collect())
    }
}

fn prefix(sample: u32, tokens: usize) -> Arc<TracePrefix> {
    prefix_of("p", sample, tokens)
}

fn prefix_of(pid: &str, sample: u32, tokens: usize) -> Arc<TracePrefix> {
    Arc::new(TracePrefix {
        pid: pid.into(),
        sample,
        text: format!("prefix {sample}").into(),
        tokens,
        whole_trace: false,
        answer_class: None,
    })
}

fn pair(a: u32, b: u32, tokens: usize) -> PairInput {
    PairInput { a: prefix(a, tokens), b: prefix(b, tokens) }
}

type Batches = Arc<Mutex<Vec<Vec<(u32, u32, usize)>>>>;

fn start(policy: BatchPolicy, max_queue_pairs: usize, delay: Duration) -> (BatcherHandle, Batches) {
    let batches: Batches = Arc::default();
    let recorded = batches.clone();
    let (worker, _thread) =
        JudgeWorker::spawn(move || Ok(Box::new(StubJudge { batches: recorded, delay }) as Box<dyn PairJudge>), policy.max_inflight)
            .expect("stub worker starts");
    let addr = JudgeBatcher::new(worker, policy, deepprune::pipeline::faults::Faults::none()).start();
    (BatcherHandle::new(addr, max_queue_pairs), batches)
}

fn policy(max_pairs: usize, max_tokens: usize, max_wait_ms: u64) -> BatchPolicy {
    BatchPolicy {
        max_pairs,
        max_tokens,
        max_pair_len: 512,
        max_wait: Duration::from_millis(max_wait_ms),
        max_inflight: 2,
        batch_timeout: Duration::from_secs(60),
    }
}

async fn stats(h: &BatcherHandle) -> BatcherStats {
    h.addr().send(GetStats).await.expect("batcher alive")
}

#[actix::test]
async fn batches_respect_pair_and_token_limits_and_every_reply_arrives_once() {
    // Pairs of 50 + 50 + 3 = 103 tokens: 3 fit in 400 padded tokens, 4 do not.
    let (h, batches) = start(policy(8, 400, 5), 10_000, Duration::ZERO);
    let requests: Vec<Vec<PairInput>> =
        (0..20u32).map(|r| (0..5u32).map(|j| pair(r, 100 + j, 50)).collect()).collect();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|pairs| {
            let h = h.clone();
            actix::spawn(async move { h.judge(pairs).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("task ran"));
    }
    for (r, reply) in replies.into_iter().enumerate() {
        let scores = reply.expect("scored");
        let want: Vec<f32> = (0..5u32).map(|j| (r as u32 * 1000 + 100 + j) as f32).collect();
        assert_eq!(scores, want, "request {r} got another request's scores");
    }
    let seen = batches.lock().unwrap().clone();
    let sizes: Vec<usize> = seen.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&n| (1..=3).contains(&n)), "batch sizes {sizes:?} break the 400-token budget");
    assert!(seen.iter().all(|b| b.len() * b.iter().map(|p| p.2).max().unwrap_or(0) <= 400));
    // Every pair reached the judge exactly once.
    let mut judged: Vec<(u32, u32)> = seen.iter().flatten().map(|&(a, b, _)| (a, b)).collect();
    judged.sort_unstable();
    let before = judged.len();
    judged.dedup();
    assert_eq!((before, judged.len()), (100, 100));
    let s = stats(&h).await;
    assert_eq!((s.pairs, s.dropped, s.deduplicated), (100, 0, 0));
    assert_eq!(s.batches as usize, seen.len());
}

#[actix::test]
async fn a_partial_batch_waits_for_max_wait_and_then_flushes() {
    let (h, batches) = start(policy(1000, 1 << 20, 60), 10_000, Duration::ZERO);
    let sent = Instant::now();
    let scores = h.judge(vec![pair(1, 2, 10), pair(1, 3, 10), pair(1, 4, 10)]).await.expect("scored");
    let waited = sent.elapsed();
    assert_eq!(scores, vec![1002.0, 1003.0, 1004.0]);
    assert!(waited >= Duration::from_millis(60), "flushed after {waited:?}, before max_wait");
    assert_eq!(batches.lock().unwrap().len(), 1, "three pairs of one request go in one batch");
}

#[actix::test]
async fn a_full_batch_does_not_wait_for_max_wait() {
    // max_wait is an hour: only the pair limit can cut this batch.
    let (h, batches) = start(policy(4, 1 << 20, 3_600_000), 10_000, Duration::ZERO);
    let scores = h.judge((0..4).map(|j| pair(7, j, 10)).collect()).await.expect("scored");
    assert_eq!(scores.len(), 4);
    assert_eq!(batches.lock().unwrap().len(), 1);
}

#[actix::test]
async fn a_partial_batch_goes_at_once_when_every_open_caller_waits_for_scores() {
    // max_wait is an hour: only knowing that no more pairs can come flushes this batch. Callers
    // a, b and c are open; a and b send and wait; then c, which sent nothing, closes. Whatever
    // the order the batcher sees these in, a and b go together as soon as c has closed.
    let (h, batches) = start(policy(1000, 1 << 20, 3_600_000), 10_000, Duration::ZERO);
    for c in ["a", "b", "c"] {
        h.open_caller(c.into()).await;
    }
    let ask = |pid: &str, sample: u32| {
        let (h, pairs) = (h.clone(), vec![PairInput { a: prefix_of(pid, sample, 10), b: prefix_of(pid, 7, 10) }]);
        actix::spawn(async move { h.judge(pairs).await })
    };
    let (a, b) = (ask("a", 1), ask("b", 2));
    h.close_caller("c".into()).await;
    // A guard against a hang, not a speed claim: without the flush this waits an hour.
    let guard = Duration::from_secs(60);
    let a = tokio::time::timeout(guard, a).await.expect("a waited out max_wait").expect("task ran").expect("scored");
    let b = tokio::time::timeout(guard, b).await.expect("b waited out max_wait").expect("task ran").expect("scored");
    assert_eq!((a, b), (vec![1007.0], vec![2007.0]));
    assert_eq!(batches.lock().unwrap().len(), 1, "a's and b's pairs go in one batch");
    let s = stats(&h).await;
    assert_eq!((s.batches, s.cut_callers_waiting, s.cut_max_wait, s.cut_full), (1, 1, 0, 0), "{s:?}");
}

#[actix::test]
async fn cancelled_requests_are_dropped_before_the_judge() {
    let (h, batches) = start(policy(1000, 1 << 20, 150), 10_000, Duration::ZERO);
    let h2 = h.clone();
    let task = actix::spawn(async move { h2.judge((0..6).map(|j| pair(3, j, 10)).collect()).await });
    actix::clock::sleep(Duration::from_millis(20)).await;
    task.abort();
    // A live request after the cancelled one still gets its own scores.
    let live = h.judge(vec![pair(9, 1, 10)]).await.expect("scored");
    assert_eq!(live, vec![9001.0]);
    let s = stats(&h).await;
    assert_eq!(s.dropped, 6, "the cancelled request's pairs are counted as dropped");
    let judged: Vec<(u32, u32, usize)> = batches.lock().unwrap().iter().flatten().copied().collect();
    assert_eq!(judged, vec![(9, 1, 23)], "only the live pair reached the judge");
}

#[actix::test]
async fn identical_pairs_in_a_batch_are_scored_once() {
    let (h, batches) = start(policy(16, 1 << 20, 5), 10_000, Duration::ZERO);
    // A repeated request sends the same prefixes (shared `Arc`s) again.
    let twice = pair(2, 5, 10);
    let scores = h.judge(vec![twice.clone(), twice, pair(5, 2, 10)]).await.expect("scored");
    assert_eq!(scores, vec![2005.0, 2005.0, 5002.0]);
    let judged: Vec<(u32, u32, usize)> = batches.lock().unwrap().iter().flatten().copied().collect();
    assert_eq!(judged.len(), 2, "(2,5) twice is one judgement; (5,2) is another, the judge is not symmetric");
    assert_eq!(stats(&h).await.deduplicated, 1);
}

#[actix::test]
async fn the_same_traces_at_two_checkpoints_are_two_pairs() {
    // Staged judging asks for trace 2 against trace 5 at 64 tokens and again at 128: the second
    // is a new judgement, not the first one's score.
    let (h, batches) = start(policy(16, 1 << 20, 5), 10_000, Duration::ZERO);
    let scores = h.judge(vec![pair(2, 5, 64), pair(2, 5, 128)]).await.expect("scored");
    assert_eq!(scores, vec![2005.0, 2005.0]);
    let judged: Vec<(u32, u32, usize)> = batches.lock().unwrap().iter().flatten().copied().collect();
    assert_eq!(judged, vec![(2, 5, 131), (2, 5, 259)]);
    assert_eq!(stats(&h).await.deduplicated, 0);
}

#[actix::test]
async fn the_queue_bound_holds_with_a_slow_judge() {
    // A judge that takes 20 ms a batch and a queue of 4 pairs: 12 callers of 2 pairs each must
    // take turns, and the batcher never holds more than 4 pairs.
    let (h, _) = start(policy(64, 1 << 20, 1), 4, Duration::from_millis(20));
    let tasks: Vec<_> = (0..12u32)
        .map(|r| {
            let h = h.clone();
            actix::spawn(async move { h.judge(vec![pair(r, 1, 10), pair(r, 2, 10)]).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("task ran"));
    }
    assert!(replies.iter().all(|r| r.is_ok()));
    let s = stats(&h).await;
    assert!(s.max_queue_depth <= 4, "queue depth reached {}", s.max_queue_depth);
    assert_eq!(s.pairs, 24);
    assert_eq!(h.in_queue(), 0, "every permit is returned");
}

#[actix::test]
async fn a_batch_the_judge_never_answers_fails_with_the_timeout_key_instead_of_stalling() {
    // The stub takes 2 s per batch; the batcher gives it 100 ms.
    let policy = BatchPolicy { batch_timeout: Duration::from_millis(100), ..policy(8, 1 << 20, 1) };
    let (h, _) = start(policy, 1_000, Duration::from_secs(2));
    let sent = Instant::now();
    let err = h.judge(vec![pair(1, 2, 10)]).await.expect_err("the judge is too slow");
    assert!(err.to_string().contains("judge.batch_timeout_s"), "{err}");
    assert!(sent.elapsed() < Duration::from_millis(1500), "failed only after {:?}", sent.elapsed());
}
