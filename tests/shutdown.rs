//! `deepprune-run` as a process: a signal mid-run writes the problems that finished and exits
//! 130 or 143, a killed run keeps the lines it appended, one run at a time holds an output
//! folder, `--check` finds an unwritable folder and a server that does not answer, and a live
//! run whose every request fails exits 1 saying why; a log sent to a pipe is plain text.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The quickstart pipeline, slowed (each problem's source stalls 50 ms per virtual step, one
/// problem at a time) so that once its first problem is written, the other nine take seconds
/// more: a signal sent then lands in the middle. Its results are the quickstart's: the stall is
/// in wall time only.
const SLOW: &[&str] =
    &["faults.generator_stall_ms=50", "faults.generator_stall_every=1", "generator.concurrent_problems=1"];

/// The quickstart pipeline stalled for 10 minutes before its first step: it holds its output
/// folder and finishes nothing until it is stopped.
const STALLED: &[&str] = &["faults.generator_stall_ms=600000", "faults.generator_stall_every=1"];

fn deepprune_run(out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepprune-run"));
    cmd.arg(common::root().join("pipelines/quickstart.yaml")).args(["--quiet", "--set"]).arg(format!("output.dir={}", out.display()));
    for s in extra {
        cmd.args(["--set", s]);
    }
    cmd
}

/// Starts the quickstart into `out` with `extra` overrides and waits until `ready(out)`.
fn start(out: &Path, extra: &[&str], ready: impl Fn(&Path) -> bool) -> Child {
    let mut child = deepprune_run(out, extra).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if ready(out) {
            return child;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("the run ended before it was ready to be stopped: {status:?}\n{stderr}");
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("the run was not ready within 300 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the slow quickstart into `out` and waits until it has appended its first problem.
fn start_slow(out: &Path) -> Child {
    start(out, SLOW, |out| lines(&out.join("problems.jsonl")).is_some_and(|l| !l.is_empty()))
}

/// The complete lines of a file, if it exists.
fn lines(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    Some(complete.lines().map(str::to_string).collect())
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill -{name} failed");
}

/// Waits for the child, hang-guarded; returns its status and stderr.
fn wait(mut child: Child) -> (ExitStatus, String) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run did not end within 120 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap(), stderr)
}

/// Checks that every line of `problems.jsonl` in `out` is one problem exactly as the complete
/// quickstart run writes it (`tests/golden/lexical-largest`), each problem once, and that there
/// are fewer than all of them. Returns the lines.
fn finished_problems(out: &Path) -> Vec<serde_json::Value> {
    let golden = std::fs::read_to_string(common::root().join("tests/golden/lexical-largest/problems.jsonl")).unwrap();
    let golden: HashSet<&str> = golden.lines().collect();
    let text = std::fs::read_to_string(out.join("problems.jsonl")).unwrap();
    assert!(text.ends_with('\n'), "a partial line: {text:?}");
    let mut pids = HashSet::new();
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .map(|line| {
            assert!(golden.contains(line), "not a problem as the complete run finishes it: {line}");
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(pids.insert(v["pid"].to_string()), "problem {} written twice", v["pid"]);
            v
        })
        .collect();
    assert!(!parsed.is_empty() && parsed.len() < golden.len(), "{} of {} problems: the signal landed after the run", parsed.len(), golden.len());
    parsed
}

fn stopped_by(name: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let child = start_slow(&out);
    signal(&child, name);
    let (status, stderr) = wait(child);
    assert_eq!(status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(&format!("SIG{name}: stopped after ")), "{stderr}");
    let problems = finished_problems(&out);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["problems"], problems.len());
    let tokens: u64 = problems.iter().map(|p| p["tokens"].as_u64().unwrap()).sum();
    assert_eq!(report["tokens"], tokens, "the report sums the problems written");
    assert_eq!(report["config"]["output"]["dir"], out.display().to_string());
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert!(report["run_id"].as_str().is_some_and(|id| id.len() == 16), "{}", report["run_id"]);
    assert!(report["started_at"].as_str().is_some_and(|t| t.len() == 20 && t.ends_with('Z')), "{}", report["started_at"]);
}

#[test]
fn sigint_mid_run_writes_the_finished_problems_and_exits_130() {
    stopped_by("INT", 130);
}

#[test]
fn sigterm_mid_run_writes_the_finished_problems_and_exits_143() {
    stopped_by("TERM", 143);
}

#[test]
fn a_killed_run_keeps_the_problems_it_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let child = start_slow(&out);
    signal(&child, "KILL");
    let (status, _) = wait(child);
    assert_eq!(status.code(), None, "killed by the signal");
    finished_problems(&out);
    assert!(!out.join("report.json").exists());
}

#[test]
fn a_second_run_into_a_held_output_folder_fails_at_once_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // The lock file holds the first run's process id once it holds the lock.
    let first = start(&out, STALLED, |out| std::fs::read_to_string(out.join(".lock")).is_ok_and(|pid| !pid.is_empty()));
    let first_pid = first.id();
    let second = deepprune_run(&out, &[]).output().unwrap();
    signal(&first, "TERM");
    let (status, stderr) = wait(first);
    assert_eq!(status.code(), Some(143), "{stderr}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    let want = format!("output.dir {} is in use by another run (process {}) ", out.display(), first_pid);
    assert!(stderr.contains(&want), "{stderr}");
    // The folder holds the first run's report: the second wrote nothing.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!((report["status"].as_str(), report["problems"].as_u64()), (Some("interrupted"), Some(0)));
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn check_passes_on_the_quickstart_and_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = deepprune_run(&out, &[]).arg("--check").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("ok    generator: 10 problems, 320 traces"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(!out.join("report.json").exists() && !out.join("problems.jsonl").exists(), "--check ran the pipeline");
}

#[test]
fn a_log_sent_to_a_pipe_has_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let o = deepprune_run(&tmp.path().join("out"), &[]).env("RUST_LOG", "info").env_remove("NO_COLOR").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains(" INFO deepprune::pipeline::voter: voted"), "{log}");
    assert!(!log.contains('\x1b'), "colour codes in a piped log: {log}");
}

#[test]
fn check_finds_an_output_folder_that_cannot_be_written() {
    // A path under a regular file cannot be a folder, whoever runs the test (root included).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let out = tmp.path().join("file/out");
    let o = deepprune_run(&out, &[]).arg("--check").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!("FAIL  output.dir {}: cannot create the folder: ", out.display());
    assert!(String::from_utf8_lossy(&o.stdout).contains(&want), "{}", text(&o));
}

/// A live pipeline in `dir` against `url`, one problem, two traces.
fn live_pipeline(dir: &Path, url: &str) -> PathBuf {
    std::fs::write(dir.join("problems.jsonl"), "{\"pid\": \"two-plus-two\", \"question\": \"What is 2 + 2?\", \"gold\": \"4\"}\n").unwrap();
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: problems.jsonl\n  openai:\n    base_urls: [{url}]\n    traces_per_problem: 2\n    step_ms: 5\n\
         judge:\n  kind: none\noutput:\n  dir: out\n  progress: false\n"
    );
    let pipeline = dir.join("pipeline.yaml");
    std::fs::write(&pipeline, yaml).unwrap();
    pipeline
}

#[test]
fn check_and_a_run_find_a_server_that_does_not_answer() {
    let tmp = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let pipeline = live_pipeline(tmp.path(), &url);
    let want = format!("generator.openai.base_urls: server {url} does not answer: GET /health: ");
    let check = Command::new(env!("CARGO_BIN_EXE_deepprune-run")).arg(&pipeline).arg("--check").output().unwrap();
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains(&format!("FAIL  {want}")), "{}", text(&check));
    // A run checks the same before it starts, and runs nothing.
    let run = Command::new(env!("CARGO_BIN_EXE_deepprune-run")).arg(&pipeline).output().unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains(&want), "{}", text(&run));
    assert!(!tmp.path().join("out/report.json").exists());
}

/// A server that answers `/health` and refuses everything else with HTTP 401.
fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            // Read the body too, so that the reply is not lost to a reset connection.
            let _ = reader.read_exact(&mut vec![0; length]);
            let (status, body) = if line.starts_with("GET /health ") {
                ("200 OK", "{\"status\":\"ok\"}")
            } else {
                ("401 Unauthorized", "{\"error\":{\"message\":\"invalid API key\"}}")
            };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    url
}

#[test]
fn a_live_run_whose_every_request_fails_exits_1_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let url = refusing_server();
    let pipeline = live_pipeline(tmp.path(), &url);
    let run = Command::new(env!("CARGO_BIN_EXE_deepprune-run")).arg(&pipeline).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let want = format!("error: the run failed: every request failed (2 traces): 2 × {url}/v1/completions: HTTP 401 Unauthorized");
    assert!(String::from_utf8_lossy(&run.stderr).contains(&want), "{}", text(&run));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "failed");
    assert!(report["failure"].as_str().is_some_and(|f| f.contains("invalid API key")), "{}", report["failure"]);
}
