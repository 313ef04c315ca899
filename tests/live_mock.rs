//! The live generator against a scripted OpenAI-compatible server (in this process, on
//! loopback): cancellation by disconnect and by SGLang's `/abort_request`, the chat API, 429
//! retries, a 400 failing its trace, `output.record` written in the dataset format, and a trace
//! waiting for a later checkpoint (staged judging) streaming on, the API key read from the
//! environment, sent to the server and kept out of every file and log line, and an interrupted
//! run aborting the requests it had in flight. Runs everywhere;
//! `tests/live_llama.rs` does the same against a real llama.cpp server.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deepprune::config::PipelineConfig;
use deepprune::pipeline::run::{run_blocking, run_blocking_with, ReplayData, RunHooks};
use deepprune::pipeline::shutdown::{self, Signal};
use deepprune::report::{LiveReport, Outcome, RunStatus};

/// Every trace says the same thing, one word per token, so the lexical judge prunes.
const WORDS: [&str; 12] = ["First", " add", " the", " two", " numbers.", " Then", " check", " it.", " So", " the", " answer", " is"];
const ANSWER: &str = " \\boxed{4}";

#[derive(Default)]
struct Seen {
    /// rid → (tokens sent, finished the stream).
    requests: HashMap<String, (usize, bool)>,
    bodies: Vec<serde_json::Value>,
    aborted: Vec<String>,
    /// Each request's path and `Authorization` header, if it had one.
    authorization: Vec<(String, Option<String>)>,
    tokens_sent: usize,
    /// Answer the first request of each trace with this status (429, 400), once; 0 stalls it
    /// instead after two tokens, for 3 s.
    fail_first_with: Option<u16>,
    failed_traces: HashSet<String>,
    /// Completion requests being served now, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// Counts a completion request as in flight while it is served.
struct Serving(Arc<Mutex<Seen>>);

impl Serving {
    fn new(seen: &Arc<Mutex<Seen>>) -> Self {
        let mut s = seen.lock().unwrap();
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        Serving(seen.clone())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

fn serve(mut stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    let Some(common::HttpRequest { target, authorization, body }) = common::read_http_request(&stream) else { return };
    seen.lock().unwrap().authorization.push((target.clone(), authorization));
    let reply = |stream: &mut TcpStream, status: &str, body: &str| {
        let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    };
    match target.as_str() {
        // What `deepprune-run` checks before a live run.
        "/health" => reply(&mut stream, "200 OK", "{\"status\":\"ok\"}"),
        "/metrics" => {
            let n = seen.lock().unwrap().tokens_sent;
            reply(&mut stream, "200 OK", &format!("# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{{model=\"m\"}} {n}\n"));
        }
        "/abort_request" => {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            seen.lock().unwrap().aborted.push(v["rid"].as_str().unwrap().to_string());
            reply(&mut stream, "200 OK", "{}");
        }
        "/v1/completions" | "/v1/chat/completions" => {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let serving = Serving::new(&seen);
            let chat = target.contains("chat");
            let rid = v["rid"].as_str().map_or_else(|| format!("seed-{}", v["seed"]), str::to_string);
            let trace = rid.rsplitn(3, '-').nth(2).unwrap_or(&rid).to_string();
            let max_tokens = v["max_tokens"].as_u64().unwrap() as usize;
            let already: String = if chat {
                v["messages"].as_array().unwrap().get(2).map_or("", |m| m["content"].as_str().unwrap()).to_string()
            } else {
                v["prompt"].as_str().unwrap().split("<|im_start|>assistant\n").nth(1).unwrap_or("").to_string()
            };
            {
                let mut s = seen.lock().unwrap();
                s.bodies.push(v.clone());
                if let Some(code) = s.fail_first_with.filter(|&c| c != 0) {
                    if s.failed_traces.insert(trace.clone()) {
                        drop(s);
                        let status = if code == 429 { "429 Too Many Requests" } else { "400 Bad Request" };
                        return reply(&mut stream, status, "{\"error\":{\"message\":\"scripted\"}}");
                    }
                }
            }
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            let mut tokens: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
            tokens.push(ANSWER.into());
            // A continuation goes on from where the text stood.
            let mut done_text = String::new();
            let mut start = 0;
            while start < tokens.len() && done_text.len() < already.len() {
                done_text.push_str(&tokens[start]);
                start += 1;
            }
            // With logprobs: samples 0 and 1 are confident (C = 5) and fast; later even samples
            // turn uncertain (C = 1) from their 4th token; later odd ones stay confident.
            let sample = v["seed"].as_u64().unwrap_or(0);
            let logprobs = v["logprobs"].as_u64().is_some();
            let pace = if logprobs && sample < 2 { 2 } else { 15 };
            let event = |text: &str, finish: Option<&str>, k: usize| {
                let mut choice = if chat {
                    serde_json::json!({"index": 0, "delta": {"content": text}, "finish_reason": finish})
                } else {
                    serde_json::json!({"index": 0, "text": text, "finish_reason": finish})
                };
                if logprobs && !text.is_empty() {
                    let c = if sample >= 2 && sample.is_multiple_of(2) && k >= 3 { 1.0 } else { 5.0 };
                    choice["logprobs"] = serde_json::json!({"tokens": [text], "top_logprobs": [{ text: -c + 1.0, "x": -c - 1.0 }]});
                }
                format!("data: {}\n\n", serde_json::json!({"choices": [choice]}))
            };
            let stall = {
                let mut s = seen.lock().unwrap();
                s.fail_first_with == Some(0) && s.failed_traces.insert(trace)
            };
            let mut sent = 0;
            for (k, t) in tokens.iter().enumerate().skip(start).take(max_tokens) {
                if stall && sent == 2 {
                    std::thread::sleep(Duration::from_secs(3));
                }
                std::thread::sleep(Duration::from_millis(pace));
                if stream.write_all(event(t, None, k).as_bytes()).and_then(|_| stream.flush()).is_err() {
                    break; // the client went away: the request is cancelled
                }
                sent += 1;
                let mut s = seen.lock().unwrap();
                s.tokens_sent += 1;
                s.requests.entry(rid.clone()).or_default().0 = sent;
            }
            let finished = sent == tokens.len() - start;
            // The client may free its endpoint slot as soon as it reads the finishing event, so
            // the request stops counting as in flight before that event is written.
            drop(serving);
            if finished {
                let usage = serde_json::json!({"choices": [], "usage": {"completion_tokens": sent}});
                let _ = write!(stream, "{}data: {usage}\n\ndata: [DONE]\n\n", event("", Some("stop"), 0));
                seen.lock().unwrap().requests.entry(rid).or_default().1 = true;
            }
        }
        _ => reply(&mut stream, "404 Not Found", ""),
    }
}

fn mock_server(fail_first_with: Option<u16>) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen { fail_first_with, ..Seen::default() }));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let s = s.clone();
            std::thread::spawn(move || serve(conn, s));
        }
    });
    (url, seen)
}

fn run(urls: &str, dir: &Path, extra: &[&str]) -> (LiveReport, deepprune::report::RunReport) {
    let problems = dir.join("problems.jsonl");
    std::fs::write(&problems, "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [{urls}]\n    traces_per_problem: 6\n    seed: 0\n    backoff_base_ms: 5\n    step_ms: 5\n\
         truncator:\n  mode: tokens\n  count: 4\njudge:\n  kind: lexical\nclusterer:\n  tau: 0.5\nvoter:\n  finish: largest_cluster\n  top_k: 1\n\
         output:\n  dir: {}\n  progress: false\n",
        problems.display(),
        dir.join("out").display()
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let config = PipelineConfig::from_yaml(&yaml, "mock.yaml", &overrides).unwrap();
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();
    assert_eq!(results.len(), 1);
    (report.live.clone().unwrap(), report)
}

#[test]
fn pruned_requests_are_disconnected_and_aborted_by_rid() {
    let (url, seen) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record");
    let (live, report) =
        run(&url, dir.path(), &["generator.openai.cancel=abort_request", &format!("output.record={}", record.display())]);
    assert_eq!((live.traces, live.failed), (6, 0), "{live:#?}");
    assert_eq!(live.finished, 1, "the voter completes one trace; the judge prunes the copies: {live:#?}");
    assert!(live.pruned == 5 && live.cancels >= 5, "{live:#?}");
    // Give the abort calls (sent in the background) a moment to land.
    std::thread::sleep(Duration::from_millis(300));
    let s = seen.lock().unwrap();
    // Each cancel reached the server twice: as a disconnect and as /abort_request {rid}.
    let cut: HashSet<&String> = s.requests.iter().filter(|(_, (_, done))| !done).map(|(rid, _)| rid).collect();
    let aborted: HashSet<&String> = s.aborted.iter().collect();
    assert_eq!(cut.len() as u64, live.cancels, "requests the server saw cut short: {cut:?}");
    assert_eq!(aborted, cut);
    // The server's /metrics counter is read; what it sent beyond what was billed went out after
    // a cancel (a write succeeds until the server sees the disconnect).
    assert_eq!(live.server_generated_tokens, Some(s.tokens_sent as f64));
    assert!(s.tokens_sent as u64 >= live.streamed_tokens);
    assert_eq!(live.tokens_after_cancel, Some((s.tokens_sent as u64 - live.billed_tokens) as f64));
    assert!(s.bodies.iter().all(|b| b["n"] == 1 && b["stream"] == true && b["rid"].is_string()));
    let seeds: HashSet<u64> = s.bodies.iter().map(|b| b["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds, (0..6).collect());
    drop(s);
    assert_eq!((report.accuracy, report.pruned_traces), (Some(1.0), 5));

    // The record replays: the dataset loader reads it, with labels on the finished trace.
    let traces = deepprune::trace::dataset::load_traces(&record.join("traces.jsonl")).unwrap();
    let traces = traces.get("two-plus-two").unwrap();
    assert_eq!(traces.len(), 6);
    let done: Vec<_> = traces.iter().filter(|t| t.finish.is_some()).collect();
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].answer.as_deref(), done[0].answer_class, done[0].correct), (Some("4"), Some(0), Some(true)));
    assert!(done[0].text.ends_with(ANSWER));
    assert!(traces.iter().filter(|t| t.finish.is_none()).all(|t| t.answer_class.is_none() && t.n_tokens().unwrap() >= 4));
    let problems = deepprune::trace::dataset::load_problems(&record.join("problems.jsonl")).unwrap();
    assert_eq!(problems[0].gold.as_deref(), Some("4"));
}

#[test]
fn chat_api_and_429s_are_retried_without_losing_a_trace() {
    let (url, seen) = mock_server(Some(429));
    let dir = tempfile::tempdir().unwrap();
    let (live, _) = run(&url, dir.path(), &["generator.openai.api=chat", "judge.kind=none"]);
    assert_eq!((live.traces, live.finished, live.failed), (6, 6, 0), "{live:#?}");
    assert_eq!(live.retries, 6, "one 429 per trace, each retried: {live:#?}");
    assert!(live.trace_records.iter().all(|r| r.last_retry.as_deref().is_some_and(|m| m.contains("429"))));
    let s = seen.lock().unwrap();
    assert!(s.bodies.iter().all(|b| b["messages"].as_array().is_some_and(|m| m.len() == 2)));
    // Usage is what is billed when reported.
    assert_eq!(live.billed_tokens, 6 * (WORDS.len() as u64 + 1));
}

#[test]
fn an_ungraded_live_run_reads_no_gold_and_reports_no_accuracy() {
    let (url, _) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    // The problem has gold; an ungraded run does not read it.
    let (live, report) = run(&url, dir.path(), &["judge.kind=none", "generator.ungraded=true"]);
    assert_eq!((live.traces, live.finished), (6, 6), "{live:#?}");
    assert_eq!((report.accuracy, report.gain_over_cons_k), (None, None));
    assert!(report.tokens > 0);
}

#[test]
fn deepconf_stops_uncertain_traces_live() {
    let (url, _) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let (live, report) = run(
        &url,
        dir.path(),
        &[
            "judge.kind=none",
            "generator.openai.logprobs=2",
            "generator.stop_policy=deepconf-low",
            "generator.deepconf_warmup=2",
            "generator.deepconf_window=2",
        ],
    );
    let outcome = |s: u32| live.trace_records.iter().find(|r| r.sample == s).unwrap();
    for s in [0, 1, 3, 5] {
        assert_eq!(outcome(s).outcome, Outcome::Finished, "{:?}", outcome(s));
    }
    for s in [2, 4] {
        let r = outcome(s);
        assert_eq!(r.outcome, Outcome::Pruned, "{r:?}");
        assert!(r.reason.contains("DeepConf: group confidence fell below 5.00 at token"), "{r:?}");
        assert!(r.streamed_tokens < WORDS.len() as u64, "{r:?}");
    }
    assert_eq!(report.accuracy, Some(1.0));
}

/// Scores every pair of 4-token prefixes 0.55, within the band around τ = 0.5, and every longer
/// pair 0.9.
struct InBandFirst;

impl deepprune::judge::PairJudge for InBandFirst {
    fn name(&self) -> &str {
        "in-band-first"
    }
    fn score(&mut self, pairs: &[deepprune::judge::PairInput]) -> Result<Vec<f32>, deepprune::judge::JudgeError> {
        Ok(pairs.iter().map(|p| if p.a.tokens <= 4 { 0.55 } else { 0.9 }).collect())
    }
}

#[test]
fn a_waiting_trace_is_not_cancelled_live() {
    // Staged judging live: every trace but the first is undecided at 4 tokens and keeps
    // streaming; at 8 tokens it joins the first one's cluster and only then is cancelled.
    let (url, _) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let problems = dir.path().join("problems.jsonl");
    std::fs::write(&problems, "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [{url}]\n    traces_per_problem: 6\n    seed: 0\n    step_ms: 5\n\
         truncator:\n  count: 4\n  later: [8]\nclusterer:\n  band: 0.1\nvoter:\n  top_k: 1\noutput:\n  dir: {}\n  progress: false\n",
        problems.display(),
        dir.path().join("out").display()
    );
    let config = PipelineConfig::from_yaml(&yaml, "mock.yaml", &[]).unwrap();
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = deepprune::pipeline::run::run_blocking_with_judge(&config, &data, Box::new(InBandFirst)).unwrap();
    let live = report.live.clone().unwrap();
    assert_eq!((live.traces, live.failed, live.finished, live.pruned), (6, 0, 1, 5), "{live:#?}");
    for r in live.trace_records.iter().filter(|r| r.outcome == Outcome::Pruned) {
        assert!(r.streamed_tokens >= 8, "cancelled while waiting for its 8-token prefix: {r:?}");
    }
    let staged = report.staged.unwrap();
    assert_eq!((staged.waited, staged.decided, staged.pruned), (5, vec![1, 5], vec![0, 5]));
    assert_eq!(results[0].clusters.len(), 1);
    assert_eq!(report.accuracy, Some(1.0));
}

#[test]
fn requests_spread_over_endpoints_within_their_caps() {
    let (a, seen_a) = mock_server(None);
    let (b, seen_b) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let (live, _) = run(
        &format!("{a}, {b}"),
        dir.path(),
        &["judge.kind=none", "generator.openai.traces_per_problem=10", "generator.openai.max_concurrency_per_endpoint=2"],
    );
    assert_eq!((live.traces, live.finished), (10, 10), "{live:#?}");
    for seen in [seen_a, seen_b] {
        let s = seen.lock().unwrap();
        // Least-loaded dispatch uses both; neither ever has more than its cap in flight.
        assert_eq!(s.max_in_flight, 2, "max in flight on one endpoint");
        assert!(s.bodies.len() >= 3, "{} requests on one endpoint", s.bodies.len());
    }
}

#[test]
fn a_stalled_stream_times_out_and_resumes() {
    let (url, _) = mock_server(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let (live, report) = run(&url, dir.path(), &["judge.kind=none", "generator.openai.request_timeout_s=0.5"]);
    assert_eq!((live.traces, live.finished, live.failed), (6, 6, 0), "{live:#?}");
    for r in &live.trace_records {
        assert_eq!((r.retries, r.continuations), (1, 1), "{r:?}");
        assert!(r.last_retry.as_deref().is_some_and(|m| m.contains("timed out")), "{r:?}");
    }
    // The resumed traces are whole: every one ends with the answer.
    assert_eq!(report.accuracy, Some(1.0));
}

#[test]
fn a_client_error_fails_the_trace_with_its_reason() {
    let (url, _) = mock_server(Some(400));
    let dir = tempfile::tempdir().unwrap();
    let (live, report) = run(&url, dir.path(), &["judge.kind=none"]);
    assert_eq!((live.traces, live.failed, live.retries), (6, 6, 0), "{live:#?}");
    for r in &live.trace_records {
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(r.reason.contains("HTTP 400") && r.reason.contains("scripted"), "{r:?}");
    }
    // Failed traces do not vote.
    assert_eq!(report.accuracy, Some(0.0));
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_api_key_comes_from_the_environment_and_is_written_nowhere() {
    // The variable's name is this test's own, so that no other test sees or sets it; it is set
    // in the child's environment only.
    let (variable, key) = ("DEEPPRUNE_LIVE_MOCK_KEY", format!("sk-test-{}-{}", std::process::id(), unique_suffix()));
    let (url, seen) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let (out, record) = (dir.path().join("out"), dir.path().join("record"));
    std::fs::write(dir.path().join("problems.jsonl"), "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: problems.jsonl\n  openai:\n    base_urls: [{url}]\n    traces_per_problem: 6\n    seed: 0\n    step_ms: 5\n    cancel: abort_request\n\
         truncator:\n  count: 4\njudge:\n  kind: lexical\nvoter:\n  top_k: 1\noutput:\n  dir: out\n  record: record\n  progress: false\n"
    );
    let pipeline = dir.path().join("pipeline.yaml");
    std::fs::write(&pipeline, yaml).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_deepprune-run"))
        .arg(&pipeline)
        .args(["--set", &format!("generator.openai.api_key_env={variable}")])
        .env(variable, &key)
        // Every log line of every crate, reqwest's and hyper's included.
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "deepprune-run failed:\n{stdout}\n{stderr}");
    assert!(stderr.lines().count() > 10, "RUST_LOG=trace logged almost nothing: {stderr}");

    // Give the abort calls (sent in the background) a moment to land.
    std::thread::sleep(Duration::from_millis(300));
    let s = seen.lock().unwrap();
    let paths: HashSet<&str> = s.authorization.iter().map(|(p, _)| p.as_str()).collect();
    assert!(["/health", "/v1/completions", "/metrics"].iter().all(|p| paths.contains(p)), "{paths:?}");
    let bearer = format!("Bearer {key}");
    for (path, auth) in &s.authorization {
        assert_eq!(auth.as_deref(), Some(bearer.as_str()), "{path}");
    }
    drop(s);

    assert!(!stdout.contains(&key) && !stderr.contains(&key), "the key was printed");
    let written: Vec<PathBuf> = [out, record].iter().flat_map(|d| files_under(d)).collect();
    assert!(written.iter().any(|f| f.ends_with("report.json")) && written.iter().any(|f| f.ends_with("traces.jsonl")), "{written:?}");
    for file in written {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(&key), "the key is in {}", file.display());
    }
    // The report holds the resolved config, which names the variable and not its value.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["config"]["generator"]["openai"]["api_key_env"], variable);
}

#[test]
fn a_key_in_the_file_is_redacted_in_the_reports_config() {
    let (url, seen) = mock_server(None);
    let dir = tempfile::tempdir().unwrap();
    let key = "sk-in-the-file-for-the-report-test";
    let (_, report) = run(&url, dir.path(), &["judge.kind=none", &format!("generator.openai.api_key={key}")]);
    assert!(seen.lock().unwrap().authorization.iter().all(|(_, a)| a.as_deref() == Some(&format!("Bearer {key}")[..])));
    assert_eq!(report.config["generator"]["openai"]["api_key"], "<redacted>");
    assert!(!serde_json::to_string(&report).unwrap().contains(key));
}

/// The time in hex, so that the key is found only where it was copied.
fn unique_suffix() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{:x}", t.as_nanos())
}

#[test]
fn an_interrupted_run_aborts_its_requests_in_flight() {
    // Every trace's first request stalls for 3 s after two tokens: the run is interrupted then.
    let (url, seen) = mock_server(Some(0));
    let dir = tempfile::tempdir().unwrap();
    let problems = dir.path().join("problems.jsonl");
    std::fs::write(&problems, "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [{url}]\n    traces_per_problem: 6\n    seed: 0\n    step_ms: 5\n    cancel: abort_request\n\
         judge:\n  kind: none\noutput:\n  dir: {}\n  progress: false\n",
        problems.display(),
        dir.path().join("out").display()
    );
    let config = PipelineConfig::from_yaml(&yaml, "mock.yaml", &[]).unwrap();
    let data = ReplayData::load(&config).unwrap();
    let (trigger, interrupt) = shutdown::channel();
    let watched = seen.clone();
    let firing = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        loop {
            let stalled = {
                let s = watched.lock().unwrap();
                s.requests.len() == 6 && s.requests.values().all(|&(sent, _)| sent == 2)
            };
            if stalled {
                return trigger.fire(Signal::Interrupt);
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the six requests never stalled together");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let (results, report) = run_blocking_with(&config, &data, RunHooks { interrupt: Some(interrupt), ..RunHooks::default() }).unwrap();
    assert!(firing.join().unwrap());
    assert_eq!((report.status, results.len()), (RunStatus::Interrupted, 0));
    // The run waited for the aborts' answers before it returned.
    let s = seen.lock().unwrap();
    let aborted: HashSet<&String> = s.aborted.iter().collect();
    let in_flight: HashSet<&String> = s.requests.keys().collect();
    assert_eq!(aborted.len(), 6, "{aborted:?}");
    assert_eq!(aborted, in_flight);
}
