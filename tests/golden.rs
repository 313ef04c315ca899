//! Golden outputs: `report.json` and `problems.jsonl` of fixed replays of the embedded sample
//! must stay byte-identical, apart from the fields that measure wall time or depend on how the
//! judge's batches happened to be cut, and those that name the run (its id, start time, version
//! and resolved configuration). A change that alters a result must update the files in
//! `tests/golden/` on purpose: `DEEPPRUNE_BLESS=1 cargo test --test golden` rewrites them.

mod common;

use std::path::PathBuf;

use deepprune::pipeline::run::{run_blocking, ReplayData};

/// (name, overrides): both judges, both finishing policies, DeepConf on; and two rows without it.
const CASES: &[(&str, &[&str])] = &[
    ("oracle-largest-deepconf", &["judge.kind=oracle", "voter.finish=largest_cluster", "generator.stop_policy=deepconf-low"]),
    ("oracle-founders-deepconf", &["judge.kind=oracle", "voter.finish=founders", "generator.stop_policy=deepconf-low"]),
    ("lexical-largest-deepconf", &["judge.kind=lexical", "voter.finish=largest_cluster", "generator.stop_policy=deepconf-low"]),
    ("lexical-founders-deepconf", &["judge.kind=lexical", "voter.finish=founders", "generator.stop_policy=deepconf-high"]),
    ("oracle-founders", &["judge.kind=oracle", "voter.finish=founders"]),
    ("lexical-largest", &["judge.kind=lexical", "voter.finish=largest_cluster"]),
];

fn golden_dir() -> PathBuf {
    common::root().join("tests/golden")
}

/// `report.json` with the timing and run fields' values replaced by `null`, every other byte kept (key
/// order included). The file is pretty-printed: a top-level key starts a line with two spaces.
fn without_timing(report_json: &str) -> String {
    let top_key = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("  \"")?;
        (!rest.starts_with(' ')).then(|| rest.split('"').next().unwrap_or("").to_string())
    };
    let mut out = String::new();
    let mut lines = report_json.lines().peekable();
    while let Some(line) = lines.next() {
        match top_key(line) {
            Some(key) if common::TIMING_FIELDS.contains(&key.as_str()) || common::RUN_FIELDS.contains(&key.as_str()) => {
                // The value runs up to the next top-level key or the closing brace.
                let mut last = line;
                while let Some(next) = lines.peek() {
                    if top_key(next).is_some() || *next == "}" {
                        break;
                    }
                    last = lines.next().unwrap_or_default();
                }
                let comma = if last.ends_with(',') { "," } else { "" };
                out.push_str(&format!("  \"{key}\": null{comma}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    serde_json::from_str::<serde_json::Value>(&out).expect("the masked report is still JSON");
    out
}

#[test]
fn fixed_replays_write_the_golden_report_and_problems() {
    let bless = std::env::var_os("DEEPPRUNE_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, overrides) in CASES {
        let out = tempfile::tempdir().unwrap();
        let config = common::quickstart(overrides);
        let data = ReplayData::load(&config).unwrap();
        let (results, report) = run_blocking(&config, &data, None).unwrap();
        deepprune::report::write(out.path(), &results, &report).unwrap();
        let report_json = without_timing(&std::fs::read_to_string(out.path().join("report.json")).unwrap());
        let problems = std::fs::read_to_string(out.path().join("problems.jsonl")).unwrap();
        let dir = golden_dir().join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("report.json"), &report_json).unwrap();
            std::fs::write(dir.join("problems.jsonl"), &problems).unwrap();
            continue;
        }
        let want_report = std::fs::read_to_string(dir.join("report.json"))
            .unwrap_or_else(|e| panic!("{}: {e} (bless with DEEPPRUNE_BLESS=1)", dir.display()));
        let want_problems = std::fs::read_to_string(dir.join("problems.jsonl")).unwrap();
        if report_json != want_report {
            failures.push(format!("{name}: report.json differs\n--- got\n{report_json}\n--- want\n{want_report}"));
        }
        if problems != want_problems {
            let line = problems.lines().zip(want_problems.lines()).position(|(a, b)| a != b);
            failures.push(format!("{name}: problems.jsonl differs (first differing line {line:?})"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn timing_fields_are_masked_and_nothing_else() {
    let report = "{\n  \"status\": \"complete\",\n  \"run_id\": \"00ff\",\n  \"wall_seconds\": 3.2,\n  \"judge_batcher\": {\n    \"max_batch\": 4\n  },\n  \"accuracy\": 0.5,\n  \"config\": {\n    \"a\": 1\n  }\n}\n";
    let masked = without_timing(report);
    assert_eq!(
        masked,
        "{\n  \"status\": \"complete\",\n  \"run_id\": null,\n  \"wall_seconds\": null,\n  \"judge_batcher\": null,\n  \"accuracy\": 0.5,\n  \"config\": null\n}\n"
    );
}
