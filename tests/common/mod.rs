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

/// One HTTP/1.1 request read by the tests' small servers.
pub struct HttpRequest {
    /// The request line's target, e.g. `/v1/completions`.
    pub target: String,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

/// Reads one request from `stream`; `None` when the client went away or sent no request.
pub fn read_http_request(stream: &std::net::TcpStream) -> Option<HttpRequest> {
    use std::io::{BufRead, BufReader, Read};
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let (mut length, mut authorization) = (0, None);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            } else if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest { target, authorization, body })
}
