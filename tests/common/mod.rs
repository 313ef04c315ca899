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

/// The sample's `problems.jsonl` rewritten into `dir`, without the problems `drop` and without
/// the gold answers of `no_gold`; returns its path.
pub fn sample_problems(dir: &std::path::Path, drop: &[&str], no_gold: &[&str]) -> PathBuf {
    let text = std::fs::read_to_string(root().join("data/sample/problems.jsonl")).expect("the sample's problems");
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut problem: serde_json::Value = serde_json::from_str(line).expect("the sample's problems are JSON");
        let pid = problem["pid"].as_str().expect("every sample problem has a pid").to_string();
        if drop.contains(&pid.as_str()) {
            continue;
        }
        if no_gold.contains(&pid.as_str()) {
            problem.as_object_mut().expect("a problem is an object").remove("gold");
        }
        out.push_str(&problem.to_string());
        out.push('\n');
    }
    let path = dir.join("problems.jsonl");
    std::fs::write(&path, out).expect("the temporary folder is writable");
    path
}

/// Fields of `report.json` that name a run rather than measure it: its id, when it started, the
/// version that ran it and the configuration as resolved (its paths are this checkout's).
pub const RUN_FIELDS: &[&str] = &["run_id", "started_at", "version", "config"];
