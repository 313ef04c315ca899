//! Live generation against a real llama.cpp server (SmolLM2-135M on the CPU), started by
//! `scripts/dev/llama-server.sh`. These tests need the server build, so they run only with
//! `DEEPPRUNE_LLAMA_TESTS=1` (`.ci/run` builds the server and sets it); otherwise they say so
//! and pass without checking anything.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deepprune::config::PipelineConfig;
use deepprune::report::{LiveReport, Outcome};
use deepprune::pipeline::run::{run_blocking, ReplayData};

/// One server at a time: they share two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn enabled() -> bool {
    let on = std::env::var("DEEPPRUNE_LLAMA_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: set DEEPPRUNE_LLAMA_TESTS=1 (and have scripts/dev/llama-server.sh build run) to test against llama.cpp");
    }
    on
}

struct Server {
    port: u16,
    pid: u32,
}

impl Server {
    fn start(port: Option<u16>) -> Server {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut cmd = Command::new("bash");
        cmd.arg(root.join("scripts/dev/llama-server.sh")).arg("start");
        if let Some(p) = port {
            cmd.arg(p.to_string());
        }
        let out = cmd.output().expect("running scripts/dev/llama-server.sh");
        assert!(out.status.success(), "llama-server.sh start failed: {}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8_lossy(&out.stdout);
        let mut parts = line.split_whitespace();
        let port = parts.next().and_then(|p| p.parse().ok()).expect("llama-server.sh prints PORT PID");
        let pid = parts.next().and_then(|p| p.parse().ok()).expect("llama-server.sh prints PORT PID");
        Server { port, pid }
    }

    fn kill(&self) {
        let _ = Command::new("kill").args(["-9", &self.pid.to_string()]).stderr(std::process::Stdio::null()).status();
        // Wait until it is gone, so a restart can take the port.
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn config(base_url: &str, extra: &[&str]) -> PipelineConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("pipelines/live-llama.yaml")).unwrap();
    let out = tempfile::tempdir().unwrap().keep();
    let mut overrides = vec![
        format!("generator.problems={}", root.join("data/live/problems.jsonl").display()),
        format!("generator.openai.base_urls=[{base_url}]"),
        "generator.max_problems=2".to_string(),
        format!("output.dir={}", out.display()),
        "output.record=null".to_string(),
        "output.progress=false".to_string(),
    ];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    PipelineConfig::from_yaml(&text, "pipelines/live-llama.yaml", &overrides).unwrap()
}

fn run(config: &PipelineConfig) -> LiveReport {
    let data = ReplayData::load(config).unwrap();
    let (results, report) = run_blocking(config, &data, None).unwrap();
    assert_eq!(results.len(), 2);
    report.live.expect("a live run reports its `live` section")
}

/// Every trace is accounted for, once, with a reason.
fn assert_accounted(live: &LiveReport, n: u64) {
    assert_eq!(live.traces, n, "{live:#?}");
    assert_eq!(live.finished + live.pruned + live.failed, n);
    assert!(live.trace_records.iter().all(|r| !r.reason.is_empty()));
}

#[test]
fn pruned_requests_stop_early_on_the_server() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start(None);
    let url = format!("http://127.0.0.1:{}", server.port);
    let unpruned = run(&config(&url, &["judge.kind=none"]));
    let pruned = run(&config(&url, &[]));
    eprintln!("unpruned: {unpruned:#?}\npruned: {pruned:#?}");
    assert_accounted(&unpruned, 16);
    assert_accounted(&pruned, 16);
    assert_eq!((unpruned.pruned, unpruned.failed, unpruned.cancels), (0, 0, 0));
    assert!(pruned.pruned > 0 && pruned.cancels > 0, "the lexical judge pruned nothing: {pruned:#?}");
    // The server's own counter: pruned requests stopped generating.
    let (before, after) = (unpruned.server_generated_tokens.unwrap(), pruned.server_generated_tokens.unwrap());
    assert!(after < before, "server tokens with pruning {after} ≥ without {before}");
    // Without pruning the server generated what we streamed, plus at most one end-of-turn token
    // per trace (it is counted but not streamed); each request's usage agrees with the counter.
    let unstreamed = before as u64 - unpruned.streamed_tokens;
    assert!(unstreamed <= 16, "the server generated {unstreamed} tokens more than were streamed");
    assert_eq!(unpruned.billed_tokens, before as u64);
    assert_eq!(unpruned.tokens_after_cancel, Some(0.0));
    // What cancelled requests still generated after the decision, as the server counts it: a
    // few tokens per cancel at most.
    let late = pruned.tokens_after_cancel.expect("the counters are known");
    assert!(late <= 8.0 * pruned.cancels as f64, "{late} tokens after {} cancels", pruned.cancels);
}

#[test]
fn server_killed_and_restarted_mid_run() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start(None);
    let port = server.port;
    let cfg = config(&format!("http://127.0.0.1:{port}"), &["judge.kind=none"]);
    let runner = std::thread::spawn(move || run(&cfg));
    std::thread::sleep(Duration::from_millis(2500));
    server.kill();
    std::thread::sleep(Duration::from_millis(500));
    let _restarted = Server::start(Some(port));
    let live = runner.join().expect("the run survives the server's restart");
    eprintln!("{live:#?}");
    assert_accounted(&live, 16);
    assert_eq!(live.finished, 16, "every trace is resumed and finishes: {live:#?}");
    assert!(live.retries > 0 && live.continuations > 0, "{live:#?}");
}

/// A TCP proxy in front of the server: every `fail_every`-th connection is answered with a 500,
/// and every `cut_every`-th has its response cut after `cut_after` bytes.
struct FaultProxy {
    port: u16,
    served_500: Arc<AtomicU64>,
    cut: Arc<AtomicU64>,
}

fn fault_proxy(upstream: u16, fail_every: u64, cut_every: u64, cut_after: usize) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (served_500, cut) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (s5, c) = (served_500.clone(), cut.clone());
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut client) = conn else { continue };
            let n = n as u64 + 1;
            if n.is_multiple_of(fail_every) {
                let mut buf = [0u8; 4096];
                let _ = client.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = client.read(&mut buf);
                let _ = client.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 8\r\nConnection: close\r\n\r\ninjected");
                s5.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let limit = if n.is_multiple_of(cut_every) { Some(cut_after) } else { None };
            let c = c.clone();
            let (mut up_w, mut client_r) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_r, &mut up_w);
            });
            std::thread::spawn(move || {
                let (mut up_r, mut down_w) = (server, client);
                let mut buf = [0u8; 1024];
                let mut sent = 0usize;
                while let Ok(k) = up_r.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    if limit.is_some_and(|l| sent + k > l) {
                        c.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    if down_w.write_all(&buf[..k]).is_err() {
                        break;
                    }
                    sent += k;
                }
                let _ = down_w.shutdown(std::net::Shutdown::Both);
                let _ = up_r.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    FaultProxy { port, served_500, cut }
}

#[test]
fn retries_500s_and_broken_streams_through_a_fault_proxy() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start(None);
    let proxy = fault_proxy(server.port, 5, 3, 3000);
    let url = format!("http://127.0.0.1:{}", proxy.port);
    let live = run(&config(&url, &["generator.openai.backoff_base_ms=20", "generator.openai.max_retries=30"]));
    eprintln!("{live:#?}");
    let (s500, cut) = (proxy.served_500.load(Ordering::Relaxed), proxy.cut.load(Ordering::Relaxed));
    assert!(s500 > 0 && cut > 0, "the proxy injected {s500} 500s and cut {cut} streams");
    assert_accounted(&live, 16);
    assert_eq!(live.failed, 0, "every fault is retried: {live:#?}");
    assert!(live.retries >= s500, "each 500 is retried: {} retries, {s500} 500s", live.retries);
    assert!(live.continuations > 0, "cut streams are resumed: {live:#?}");

    // With on_broken_stream: fail, a cut stream fails its trace, with the reason; the run
    // still completes and accounts for every trace.
    let live = run(&config(&url, &["generator.openai.backoff_base_ms=20", "generator.openai.on_broken_stream=fail"]));
    eprintln!("{live:#?}");
    assert_accounted(&live, 16);
    assert!(live.failed > 0, "{live:#?}");
    for r in live.trace_records.iter().filter(|r| r.outcome == Outcome::Failed) {
        assert!(r.reason.contains("on_broken_stream: fail"), "{r:?}");
    }
}

#[test]
fn logprobs_give_confidences_and_deepconf_stops_live() {
    if !enabled() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start(None);
    let record = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!("http://127.0.0.1:{}", server.port),
        &[
            "judge.kind=none",
            "generator.openai.logprobs=5",
            "generator.stop_policy=deepconf-low",
            "generator.deepconf_warmup=2",
            "generator.deepconf_window=16",
            &format!("output.record={}", record.path().display()),
        ],
    );
    let live = run(&cfg);
    eprintln!("{live:#?}");
    assert_accounted(&live, 16);
    let stopped = live.trace_records.iter().filter(|r| r.reason.starts_with("DeepConf")).count();
    assert!(stopped > 0, "DeepConf-low stopped nothing: {live:#?}");
    // The server's counter settles to at least what was streamed, cancelled requests included.
    assert!(live.tokens_after_cancel.is_some(), "server {:?} < billed {}", live.server_generated_tokens, live.billed_tokens);
    // The record holds a confidence per token, from the server's log-probabilities.
    let traces = deepprune::trace::dataset::load_traces(&record.path().join("traces.jsonl")).unwrap();
    assert_eq!((traces.problems.len(), traces.len()), (2, 16));
    for (_, ts) in &traces.problems {
        for t in ts {
            assert_eq!(t.conf.as_ref().map(Vec::len), t.n_tokens(), "{}", t.name());
        }
    }
}
