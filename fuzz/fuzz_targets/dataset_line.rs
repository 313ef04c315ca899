//! Any bytes as a dataset line: `parse_trace` on it when it is a JSON object, and the whole
//! file loaders (`load_traces`, `load_problems`, gzip detection included) on the raw bytes.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use deepprune::trace::dataset::{load_problems, load_traces, parse_trace};
use libfuzzer_sys::fuzz_target;

/// One scratch file per fuzzer process, rewritten for every input.
fn scratch() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("deepprune-fuzz-").tempdir().expect("temp dir");
        let path = dir.path().join("fuzz.jsonl");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(data) {
        if let Ok(trace) = parse_trace(Path::new("fuzz.jsonl"), 1, &map) {
            if let Some(tb) = &trace.tok_bytes {
                // The loader's contract: token lengths are ≥ 1 and cover the text exactly.
                assert!(!tb.contains(&0));
                assert_eq!(tb.iter().map(|&b| b as usize).sum::<usize>(), trace.text.len());
            }
        }
    }
    let path = scratch();
    std::fs::write(path, data).expect("write scratch file");
    for err in [load_traces(path).err().map(|e| e.to_string()), load_problems(path).err().map(|e| e.to_string())]
        .into_iter()
        .flatten()
    {
        assert!(err.contains("fuzz.jsonl"), "dataset error does not name the file: {err}");
    }
});
