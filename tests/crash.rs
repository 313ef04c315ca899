//! A run whose output streams are closed under it ends by itself: a panic anywhere is a crash
//! with a message, never a hang.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_run_with_its_log_and_table_streams_closed_ends_within_a_minute() {
    let out = tempfile::tempdir().unwrap();
    let root = common::root();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deepprune-run"))
        .arg(root.join("pipelines/quickstart.yaml"))
        .args(["--quiet", "--set"])
        .arg(format!("output.dir={}", out.path().display()))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, as with `deepprune-run ... 2>&1 | head -0`.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the run hung with its output streams closed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Either it finished (logging dropped what it could not write) or a failed write crashed
    // it with code 101; what it finished before that is on disk.
    assert!(status.success() || status.code() == Some(101), "{status:?}");
    if status.success() {
        assert!(out.path().join("report.json").is_file());
    }
}
