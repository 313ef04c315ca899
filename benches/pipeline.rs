//! Throughput of the whole actor pipeline (replay → truncate → judge → cluster → vote) with the
//! `oracle` judge on the embedded sample: traces/s and token-events/s.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use deepprune::config::PipelineConfig;
use deepprune::pipeline::run::{run_blocking, ReplayData};

fn config() -> PipelineConfig {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let overrides = vec![
        format!("generator.problems={}", root.join("data/sample/problems.jsonl").display()),
        format!("generator.traces={}", root.join("data/sample/traces.jsonl.gz").display()),
        "judge.kind=oracle".to_string(),
        "output.progress=false".to_string(),
    ];
    PipelineConfig::load(&root.join("pipelines/quickstart.yaml"), &overrides).expect("quickstart config is valid")
}

fn bench_pipeline(c: &mut Criterion) {
    let config = config();
    let data = ReplayData::load(&config).expect("sample data loads");
    let (_, report) = run_blocking(&config, &data, None).expect("warm-up run");
    let mut group = c.benchmark_group("pipeline_oracle");
    group.sample_size(10);
    group.throughput(Throughput::Elements(report.traces));
    group.bench_function("traces", |b| b.iter(|| run_blocking(&config, &data, None).expect("run")));
    // Token events: every token the generator emitted, as the truncator saw them.
    group.throughput(Throughput::Elements(report.tokens));
    group.bench_function("token_events", |b| b.iter(|| run_blocking(&config, &data, None).expect("run")));
    group.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
