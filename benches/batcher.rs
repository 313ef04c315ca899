//! The judge-batcher's own cost per pair on the CPU, with a no-op judge on the real worker
//! thread: 64 concurrent callers, each sending requests of 10 pairs (a new prefix against 10
//! cluster members), 12,800 pairs per iteration. The reference in the same run is calling the
//! no-op judge directly on the same pairs in batches of 256; the difference is what the actor
//! hop, the queue, the oneshot replies and the worker channel cost.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use deepprune::judge::worker::JudgeWorker;
use deepprune::judge::{NoopJudge, PairInput, PairJudge};
use deepprune::pipeline::judge_batcher::{BatchPolicy, BatcherHandle, JudgeBatcher};
use deepprune::trace::TracePrefix;

const CALLERS: u32 = 64;
const REQUESTS: u32 = 20;
const PAIRS_PER_REQUEST: u32 = 10;

fn prefix(sample: u32) -> Arc<TracePrefix> {
    Arc::new(TracePrefix { pid: "p".into(), sample, text: "x".into(), tokens: 64, whole_trace: false, answer_class: None })
}

fn requests() -> Vec<Vec<Vec<PairInput>>> {
    (0..CALLERS)
        .map(|c| {
            (0..REQUESTS)
                .map(|r| {
                    let a = prefix(c * 1000 + r);
                    (0..PAIRS_PER_REQUEST).map(|m| PairInput { a: a.clone(), b: prefix(m) }).collect()
                })
                .collect()
        })
        .collect()
}

fn bench_batcher(c: &mut Criterion) {
    let work = Arc::new(requests());
    let total = u64::from(CALLERS * REQUESTS * PAIRS_PER_REQUEST);
    let mut group = c.benchmark_group("judge_batcher");
    group.throughput(Throughput::Elements(total));
    group.sample_size(20);

    let system = actix::System::new();
    let handle = system.block_on(async {
        let (worker, _) = JudgeWorker::spawn(|| Ok(Box::new(NoopJudge) as Box<dyn PairJudge>), 4).expect("worker");
        let policy = BatchPolicy {
            max_pairs: 256,
            max_tokens: 1 << 20,
            max_pair_len: 512,
            max_wait: Duration::from_millis(2),
            max_inflight: 4,
            batch_timeout: Duration::from_secs(60),
        };
        BatcherHandle::new(JudgeBatcher::new(worker, policy, deepprune::pipeline::faults::Faults::none()).start(), 8192)
    });
    group.bench_function("through_batcher_per_pair", |b| {
        b.iter(|| {
            system.block_on(async {
                let tasks: Vec<_> = (0..CALLERS as usize)
                    .map(|caller| {
                        let (h, work) = (handle.clone(), work.clone());
                        actix::spawn(async move {
                            for pairs in &work[caller] {
                                h.judge(pairs.clone()).await.expect("scored");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("caller task");
                }
            })
        })
    });

    let flat: Vec<PairInput> = work.iter().flatten().flatten().cloned().collect();
    group.bench_function("direct_no_op_judge_per_pair", |b| {
        let mut judge = NoopJudge;
        b.iter(|| {
            for chunk in flat.chunks(256) {
                std::hint::black_box(judge.score(chunk).expect("scored"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_batcher);
criterion_main!(benches);
