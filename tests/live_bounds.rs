//! The live generator's bounds against a misbehaving OpenAI-compatible server (in this process,
//! on loopback): an error body larger than `max_body_bytes` and a stream line longer than
//! `max_sse_line_bytes` fail their trace with an error naming the key and the server, after
//! reading about the cap rather than the whole; a server that ignores `max_tokens` is cut at
//! `max_tokens + max_tokens_margin` and the trace is recorded as cut, not as finished.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use deepprune::config::PipelineConfig;
use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::report::{LiveReport, Outcome, RunReport};

/// How the server answers a completion request.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// HTTP 404 with a body of this many bytes and no `Content-Length` (it ends when the
    /// connection closes), so the client cannot know its size before it reads.
    HugeErrorBody(usize),
    /// HTTP 200, one ordinary event, then a `data:` line of this many bytes.
    LongLine(usize),
    /// HTTP 200 and this many one-token events, whatever `max_tokens` says.
    IgnoresMaxTokens(usize),
}

/// What the server managed to send before the client went away (or all of it).
#[derive(Debug)]
struct Sent {
    /// Bytes of the body written.
    bytes: usize,
    /// Events written, for [`Script::IgnoresMaxTokens`].
    events: usize,
}

/// Writes `chunk` until `total` bytes are out or a write fails (the client went away).
fn write_until_gone(stream: &mut TcpStream, chunk: &[u8], total: usize) -> usize {
    let mut written = 0;
    while written < total {
        let n = chunk.len().min(total - written);
        if stream.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n;
    }
    written
}

fn serve(mut stream: TcpStream, script: Script, sent: mpsc::Sender<Sent>) {
    let Some(common::HttpRequest { target, .. }) = common::read_http_request(&stream) else { return };
    if target != "/v1/completions" {
        let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let event = |text: &str| format!("data: {}\n\n", serde_json::json!({"choices": [{"index": 0, "text": text, "finish_reason": null}]}));
    let result = match script {
        Script::HugeErrorBody(size) => {
            let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
            Sent { bytes: write_until_gone(&mut stream, &[b'x'; 1 << 16], size), events: 0 }
        }
        Script::LongLine(size) => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{}data: ", event("First"));
            Sent { bytes: write_until_gone(&mut stream, &[b'x'; 1 << 16], size), events: 1 }
        }
        Script::IgnoresMaxTokens(n) => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            let (mut bytes, mut events) = (0, 0);
            for k in 0..n {
                let e = event(if k == 0 { "So the answer is \\boxed{4}." } else { " and" });
                if stream.write_all(e.as_bytes()).is_err() {
                    break;
                }
                bytes += e.len();
                events += 1;
            }
            Sent { bytes, events }
        }
    };
    let _ = sent.send(result);
}

/// A server answering every completion request by `script`; what each answer sent comes back
/// on the receiver.
fn server(script: Script) -> (String, mpsc::Receiver<Sent>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve(conn, script, tx));
        }
    });
    (url, rx)
}

/// One problem, one trace, no judge, against `url`.
fn run(url: &str, dir: &Path, extra: &[&str]) -> (LiveReport, RunReport) {
    let problems = dir.join("problems.jsonl");
    std::fs::write(&problems, "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [{url}]\n    traces_per_problem: 1\n    max_retries: 0\n    step_ms: 5\n\
         judge:\n  kind: none\noutput:\n  dir: {}\n  progress: false\n",
        problems.display(),
        dir.join("out").display()
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let config = PipelineConfig::from_yaml(&yaml, "bounds.yaml", &overrides).unwrap();
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();
    assert_eq!(results.len(), 1);
    (report.live.clone().unwrap(), report)
}

/// What the server sent once it stopped: when the client stops reading, its writes fail soon
/// after (once the sockets' buffers, a few MB, are full).
fn sent(rx: &mpsc::Receiver<Sent>) -> Sent {
    rx.recv_timeout(Duration::from_secs(120)).expect("the server stopped writing")
}

const MB: usize = 1 << 20;

#[test]
fn an_error_body_over_the_cap_fails_the_trace_without_being_read_whole() {
    let (url, rx) = server(Script::HugeErrorBody(50 * MB));
    let dir = tempfile::tempdir().unwrap();
    let (live, _) = run(&url, dir.path(), &["generator.openai.max_body_bytes=65536"]);
    assert_eq!((live.traces, live.failed, live.requests), (1, 1, 1), "{live:#?}");
    let reason = &live.trace_records[0].reason;
    for want in [url.as_str(), "HTTP 404", "exceeded generator.openai.max_body_bytes (65536 bytes)"] {
        assert!(reason.contains(want), "want {want:?} in {reason:?}");
    }
    let sent = sent(&rx);
    assert!(sent.bytes < 25 * MB, "the client read {} MB of a 50 MB error body", sent.bytes / MB);
}

#[test]
fn a_stream_line_over_the_cap_fails_the_trace_without_being_buffered_whole() {
    let (url, rx) = server(Script::LongLine(50 * MB));
    let dir = tempfile::tempdir().unwrap();
    let (live, _) = run(&url, dir.path(), &["generator.openai.max_sse_line_bytes=65536"]);
    assert_eq!((live.traces, live.failed, live.requests), (1, 1, 1), "{live:#?}");
    let record = &live.trace_records[0];
    for want in [url.as_str(), "a stream line exceeded generator.openai.max_sse_line_bytes (65536 bytes)"] {
        assert!(record.reason.contains(want), "want {want:?} in {:?}", record.reason);
    }
    assert_eq!(record.streamed_tokens, 1, "the event before the long line still counts: {record:?}");
    let sent = sent(&rx);
    assert!(sent.bytes < 25 * MB, "the client buffered {} MB of a 50 MB line", sent.bytes / MB);
}

#[test]
fn a_server_that_ignores_max_tokens_is_cut_at_the_margin_and_recorded_as_cut() {
    let (url, rx) = server(Script::IgnoresMaxTokens(2_000_000));
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record");
    let (live, report) = run(
        &url,
        dir.path(),
        &["generator.openai.max_tokens=8", "generator.openai.max_tokens_margin=4", &format!("output.record={}", record.display())],
    );
    assert_eq!((live.traces, live.cut, live.finished, live.failed), (1, 1, 0, 0), "{live:#?}");
    let r = &live.trace_records[0];
    assert_eq!(r.outcome, Outcome::Cut, "{r:?}");
    assert_eq!(r.streamed_tokens, 8 + 4 + 1, "cut at the first token past max_tokens + margin: {r:?}");
    assert!(r.reason.contains("more than max_tokens (8) + max_tokens_margin (4)"), "{r:?}");
    // Read as cut off at the token limit: its boxed answer counts.
    assert_eq!(report.accuracy, Some(1.0));
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(record.join("traces.jsonl")).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!((line["outcome"].as_str(), line["finish"].as_str(), line["answer"].as_str()), (Some("cut"), Some("length"), Some("4")));
    // The record replays: a cut trace is a length-cut trace to the dataset loader.
    let traces = deepprune::trace::dataset::load_traces(&record.join("traces.jsonl")).unwrap();
    assert_eq!(traces.get("two-plus-two").unwrap()[0].finish, Some(deepprune::trace::Finish::Length));
    let sent = sent(&rx);
    assert!(sent.events < 1_000_000, "the client read {} of the server's 2,000,000 events", sent.events);
}
