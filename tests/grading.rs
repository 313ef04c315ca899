//! Every problem a run reaches is graded, or the config says the run is ungraded
//! (`generator.ungraded: true`): traces of a problem the problems file lacks, and problems
//! without a gold answer, are errors that name the files and the pids; an ungraded run reports
//! tokens and clusters and no accuracy.

mod common;

use std::path::Path;

use deepprune::config::PipelineConfig;
use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::pipeline::PipelineError;
use deepprune::trace::dataset::DatasetError;

/// The sample's last problem in the traces file's order.
const LAST: &str = "math500/precalculus/96";
/// One in the middle.
const MIDDLE: &str = "gsm8k-test/399";

/// The quickstart pipeline reading `problems` instead of the sample's own problems file.
fn with_problems(problems: &Path, extra: &[&str]) -> PipelineConfig {
    let mut overrides = vec![format!("generator.problems={}", problems.display())];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    common::quickstart(&overrides.iter().map(String::as_str).collect::<Vec<_>>())
}

fn run_err(config: &PipelineConfig) -> PipelineError {
    let data = ReplayData::load(config).expect("the data loads; grading is checked when the run starts");
    match run_blocking(config, &data, None) {
        Ok((_, report)) => panic!("a graded run of this data must fail, got {report:?}"),
        Err(e) => e,
    }
}

#[test]
fn traces_of_a_problem_not_in_the_problems_file_name_both_files_and_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let problems = common::sample_problems(dir.path(), &[MIDDLE], &[]);
    let err = run_err(&with_problems(&problems, &[]));
    assert!(matches!(err, PipelineError::Dataset(DatasetError::UnknownPids { .. })), "{err:?}");
    let message = err.to_string();
    let traces = common::root().join("data/sample/traces.jsonl.gz");
    assert!(message.starts_with(&format!("{}: traces of 1 problem not in {}: ", traces.display(), problems.display())), "{message}");
    assert!(message.contains(&format!("{MIDDLE:?}")), "{message}");
    assert!(message.contains("generator.ungraded: true"), "the message says how to run ungraded: {message}");
    // The whole traces file is checked: a problem beyond max_problems is still a mismatch.
    let err = run_err(&with_problems(&problems, &["generator.max_problems=1"]));
    assert!(err.to_string().contains(&format!("{MIDDLE:?}")), "{err}");
}

#[test]
fn a_problem_without_gold_names_the_problems_file_and_the_pid() {
    let dir = tempfile::tempdir().unwrap();
    let problems = common::sample_problems(dir.path(), &[], &[LAST, MIDDLE]);
    let err = run_err(&with_problems(&problems, &[]));
    assert!(matches!(err, PipelineError::Dataset(DatasetError::NoGold { .. })), "{err:?}");
    let message = err.to_string();
    let want = format!("{}: no `gold` answer for 2 problems the run grades: {MIDDLE:?}, {LAST:?}; ", problems.display());
    assert!(message.starts_with(&want), "{message}");
    assert!(message.contains("generator.ungraded: true"), "{message}");

    // Only the problems the run reaches must be graded: the first nine all have gold but one.
    let err = run_err(&with_problems(&problems, &["generator.max_problems=9"]));
    assert!(err.to_string().contains(&format!("for 1 problem the run grades: {MIDDLE:?};")), "{err}");
    let problems = common::sample_problems(dir.path(), &[], &[LAST]);
    let config = with_problems(&problems, &["generator.max_problems=9"]);
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();
    assert_eq!(results.len(), 9);
    assert!(results.iter().all(|r| r.correct.is_some()), "every problem run is graded");
    assert!(report.accuracy.is_some());
}

#[test]
fn an_ungraded_run_reports_tokens_and_clusters_and_no_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    // One problem missing from the problems file, one without gold: both run, ungraded.
    let problems = common::sample_problems(dir.path(), &[MIDDLE], &[LAST]);
    let config = with_problems(&problems, &["generator.ungraded=true"]);
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();

    // The same traces, graded, give the same tokens and clusters: grading changes no decision.
    let graded = common::quickstart(&[]);
    let (graded_results, graded_report) = run_blocking(&graded, &ReplayData::load(&graded).unwrap(), None).unwrap();
    assert_eq!((report.problems, report.traces), (10, 320));
    assert_eq!(
        (report.tokens, report.cons_n_tokens, report.token_reduction),
        (graded_report.tokens, graded_report.cons_n_tokens, graded_report.token_reduction),
        "the cons@N baseline counts every problem's tokens, graded or not"
    );
    assert!(report.token_reduction > 0.0);
    for (r, g) in results.iter().zip(&graded_results) {
        assert_eq!((&r.pid, &r.clusters, r.tokens), (&g.pid, &g.clusters, g.tokens));
        // Gold answers are not read at all, so none is graded, not even those with gold.
        assert_eq!(r.correct, None, "{}", r.pid);
        let b = r.baseline.as_ref().expect("every replayed problem has a cons@N baseline");
        assert_eq!((b.pass_at_1, b.cons_n_correct, b.correct_group), (None, None, None), "{}", r.pid);
    }
    let none = [
        report.accuracy,
        report.pass_at_1,
        report.cons_n_accuracy,
        report.matched_cons_k_accuracy,
        report.gain_over_cons_k,
    ];
    assert_eq!((none, report.gain_over_cons_k_ci), ([None; 5], None));

    let out = tempfile::tempdir().unwrap();
    deepprune::report::write(out.path(), &results, &report).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap();
    for key in ["accuracy", "pass_at_1", "cons_n_accuracy", "matched_cons_k_accuracy", "gain_over_cons_k", "gain_over_cons_k_ci"] {
        assert!(json.get(key).is_none(), "report.json of an ungraded run has {key}: {json}");
    }
    for key in ["tokens", "cons_n_tokens", "token_reduction", "pruned_traces", "prune_decisions"] {
        assert!(json.get(key).is_some_and(|v| v.is_number()), "report.json lacks {key}: {json}");
    }
    let lines = std::fs::read_to_string(out.path().join("problems.jsonl")).unwrap();
    for line in lines.lines() {
        let p: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(p["correct"].is_null() && p.get("pass_at_1").is_none() && p.get("cons_n_correct").is_none(), "{p}");
        assert!(p["cons_n_tokens"].is_u64() && p["clusters"].is_array(), "{p}");
    }

    let table = report.table();
    for row in ["accuracy (this run)", "cons@N accuracy", "cons@k accuracy at this budget", "gain over cons@k", "pass@1"] {
        let line = table.lines().find(|l| l.starts_with(row)).unwrap_or_else(|| panic!("no {row} row in\n{table}"));
        assert!(line.ends_with("  ungraded (generator.ungraded: true)"), "{line}");
    }
    let reduction = table.lines().find(|l| l.starts_with("token reduction")).unwrap();
    assert!(reduction.ends_with(&format!("{:.3}", report.token_reduction)), "{reduction}");
}

#[test]
fn a_live_run_needs_gold_for_every_problem_it_generates_for() {
    let dir = tempfile::tempdir().unwrap();
    let problems = dir.path().join("problems.jsonl");
    std::fs::write(&problems, "{\"pid\": \"graded\", \"question\": \"1 + 1?\", \"gold\": \"2\"}\n{\"pid\": \"open\", \"question\": \"Why?\"}\n")
        .unwrap();
    // No server is reached: the check comes first.
    let yaml = format!(
        "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [http://127.0.0.1:9]\noutput:\n  dir: {}\n  progress: false\n",
        problems.display(),
        dir.path().join("out").display()
    );
    let config = PipelineConfig::from_yaml(&yaml, "live.yaml", &[]).unwrap();
    let err = run_err(&config);
    let message = err.to_string();
    assert!(message.starts_with(&format!("{}: no `gold` answer for 1 problem the run grades: \"open\";", problems.display())), "{message}");
    assert!(message.contains("generator.ungraded: true"), "{message}");
}
