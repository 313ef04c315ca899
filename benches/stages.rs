//! Per-stage costs on the CPU, outside the actor system, on synthetic traces
//! (`pipeline::synthetic`): the generator's step (replay), the truncator's per-token scan, the
//! clusterer's comparisons and assignment, and the voter's answer extraction and majority.


use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use deepprune::answer::{self, Answer};
use deepprune::cluster::{ClusterParams, GreedyClustering};
use deepprune::pipeline::generator::ReplayProblem;
use deepprune::pipeline::messages::StepDecisions;
use deepprune::config::SyntheticConfig;
use deepprune::trace::truncate::{PrefixMode, TruncationSpec};
use deepprune::vote::{self, Ballot};

fn bench_stages(c: &mut Criterion) {
    let syn = SyntheticConfig { traces_per_problem: 512, tokens_per_trace: 200, ..Default::default() };
    let (traces, _) = syn.problem(0);
    let tokens: u64 = traces.iter().map(|t| t.n_tokens().unwrap_or(0) as u64).sum();
    let mut g = c.benchmark_group("stages");
    g.sample_size(20);

    g.throughput(Throughput::Elements(tokens));
    g.bench_function("generator_replay_token_events", |b| {
        b.iter(|| {
            let mut p = ReplayProblem::new("p".into(), traces.clone(), 16, 0);
            while !p.done() {
                let _ = p.next_step();
                p.apply(&StepDecisions::default());
            }
        })
    });

    let spec = TruncationSpec::new(PrefixMode::Tokens, 64, &[]);
    g.bench_function("truncator_scan_token_events", |b| {
        b.iter(|| {
            for t in &traces {
                let mut s = spec.scanner();
                let (text, mut at) = (t.text.as_bytes(), 0usize);
                for &len in t.tok_bytes.as_deref().unwrap_or(&[]) {
                    let end = at + len as usize;
                    if s.push_token(&text[at..end]).is_some() {
                        break;
                    }
                    at = end;
                }
            }
        })
    });

    g.throughput(Throughput::Elements(traces.len() as u64));
    g.bench_function("clusterer_assign_per_prefix", |b| {
        b.iter(|| {
            let mut cl = GreedyClustering::new(ClusterParams::default(), "p");
            for t in &traces {
                let comps = cl.comparisons(t.sample);
                // Score 1 for members of the same answer class, 0 otherwise.
                let sims: Vec<f32> = comps
                    .iter()
                    .map(|c| f32::from(u8::from(traces[c.member as usize].answer_class == t.answer_class)))
                    .collect();
                cl.assign(t.sample, &comps, &sims);
            }
        })
    });

    g.bench_function("voter_extract_and_vote_per_trace", |b| {
        b.iter(|| {
            let ballots: Vec<Ballot> = traces
                .iter()
                .map(|t| Ballot { answer: answer::extract(&t.text).map(|a| Answer::parse(&a)), weight: 1.0 })
                .collect();
            vote::majority(&ballots)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_stages);
criterion_main!(benches);
