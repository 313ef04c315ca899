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
