//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use deepprune::config::PipelineConfig;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The quickstart pipeline with paths made absolute and extra overrides applied.
pub fn quickstart(overrides: &[&str]) -> PipelineConfig {
    let root = root();
    let mut all = vec![
        format!("generator.problems={}", root.join("data/sample/problems.jsonl").display()),
        format!("generator.traces={}", root.join("data/sample/traces.jsonl.gz").display()),
        "output.progress=false".to_string(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    PipelineConfig::load(&root.join("pipelines/quickstart.yaml"), &all).expect("quickstart config is valid")
}

/// Fields of `report.json` that vary from run to run on the same input: wall time, rates,
/// memory, and the judge batcher's batch shapes (batches are cut by time as well as size).
pub const TIMING_FIELDS: &[&str] = &[
    "wall_seconds",
    "judge_batches",
    "judge_busy_seconds",
    "judge_batcher",
    "max_mailbox_depth",
    "token_events_per_sec",
    "traces_per_sec",
    "decision_latency_p50_ms",
    "decision_latency_p99_ms",
    "decision_latency_max_ms",
    "peak_rss_bytes",
];

/// Fields of `report.json` that name a run rather than measure it: its id, when it started, the
/// version that ran it and the configuration as resolved (its paths are this checkout's).
pub const RUN_FIELDS: &[&str] = &["run_id", "started_at", "version", "config"];
