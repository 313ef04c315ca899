//! Supervision loses nothing: with faults injected into each of the five stages in turn (the
//! stage stops and is restarted, or answers with an error), the judge backend failing batches,
//! and the source stalling, a replay gives exactly the fault-free run's answers, tokens and
//! clusters; the restarts are counted; and a stage that fails too often stops the run with a
//! clear error instead of looping.

mod common;

use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::report::{ProblemResult, RunReport};

fn run(overrides: &[&str]) -> Result<(Vec<ProblemResult>, RunReport), String> {
    // The lexical judge: a real judge with real pairs, and deterministic.
    let mut all = vec!["judge.kind=lexical", "faults.max_restarts=100000"];
    all.extend_from_slice(overrides);
    let config = common::quickstart(&all);
    let data = ReplayData::load(&config).expect("sample loads");
    run_blocking(&config, &data, None).map_err(|e| e.to_string())
}

/// What must not change under faults: per problem, the answer, tokens, clusters, survivors,
/// pruned traces and staged decisions; and the totals.
fn outcome(results: &[ProblemResult], report: &RunReport) -> String {
    let mut s = format!(
        "accuracy {:?} tokens {} judge_pairs {} pruned {} staged {:?}\n",
        report.accuracy, report.tokens, report.judge_pairs, report.pruned_traces, report.staged
    );
    for r in results {
        s.push_str(&format!(
            "{} {:?} {} {:?} {:?} {:?} {:?}\n",
            r.pid, r.answer, r.tokens, r.clusters, r.survivors, r.pruned, r.staged
        ));
    }
    s
}

#[test]
fn faults_in_every_stage_leave_the_results_unchanged() {
    let (results, report) = run(&[]).expect("fault-free run");
    let reference = outcome(&results, &report);
    assert!(report.pruned_traces > 0, "the reference run must prune, or the test shows nothing");
    assert!(report.restarts.values().all(|&n| n == 0));

    // Each stage sees a different number of messages on this sample; `every` is chosen so each
    // faults several times. (A stage stopped more often than it has work in flight cannot make
    // progress, since a restart drops all of it: clusterer every 7 livelocks here with 8
    // problems in flight, and the restart limit then ends the run.)
    let cases: &[(&str, &str)] = &[
        ("generator", "13"),
        ("truncator", "17"),
        ("judge_batcher", "11"),
        ("clusterer", "9"),
        ("voter", "23"),
    ];
    for &(stage, every) in cases {
        for mode in ["stop", "error"] {
            let stage_set = format!("faults.stage={stage}");
            let every_set = format!("faults.every={every}");
            let mode_set = format!("faults.mode={mode}");
            let (results, faulted) =
                run(&[&stage_set, &every_set, &mode_set]).unwrap_or_else(|e| panic!("{stage} {mode}: run failed: {e}"));
            assert_eq!(outcome(&results, &faulted), reference, "{stage} faulted ({mode}) changed the results");
            let injected = faulted.injected_faults[stage];
            assert!(injected >= 2, "{stage} ({mode}): only {injected} faults injected");
            let restarts = faulted.restarts[stage];
            match mode {
                "stop" => assert_eq!(restarts, injected, "{stage}: every stop is one restart"),
                _ => assert_eq!(restarts, 0, "{stage}: an error is not a restart"),
            }
        }
    }
}

#[test]
fn faults_leave_staged_judging_unchanged() {
    // Staged judging keeps more state per step (waiting traces, later prefixes); a step delivered
    // again must neither judge a waiting trace twice nor lose one.
    // A restart limit far above a sound run's (about 120 here) and far below a livelock's rate
    // makes a livelocked run fail instead of hanging.
    let staged = ["truncator.later=[128, 256]", "clusterer.band=0.1", "faults.max_restarts=2000"];
    let (results, report) = run(&staged).expect("fault-free run");
    let reference = outcome(&results, &report);
    let waited = report.staged.as_ref().map_or(0, |s| s.waited);
    assert!(waited > 0 && report.pruned_traces > 0, "the reference run must wait and prune, or the test shows nothing");
    let cases: &[(&str, &str)] = &[("generator", "13"), ("truncator", "17"), ("judge_batcher", "11"), ("clusterer", "9"), ("voter", "23")];
    for &(stage, every) in cases {
        for mode in ["stop", "error"] {
            let (stage_set, every_set, mode_set) = (format!("faults.stage={stage}"), format!("faults.every={every}"), format!("faults.mode={mode}"));
            let mut overrides = staged.to_vec();
            overrides.extend([stage_set.as_str(), every_set.as_str(), mode_set.as_str()]);
            let (results, faulted) = run(&overrides).unwrap_or_else(|e| panic!("{stage} {mode}: run failed: {e}"));
            assert_eq!(outcome(&results, &faulted), reference, "{stage} faulted ({mode}) changed the staged results");
            assert!(faulted.injected_faults[stage] >= 2, "{stage} ({mode}): too few faults injected");
        }
    }
}

#[test]
fn judge_batch_failures_and_source_stalls_leave_the_results_unchanged() {
    let (results, report) = run(&[]).expect("fault-free run");
    let reference = outcome(&results, &report);
    let (results, faulted) = run(&["faults.judge_fail_every=3"]).expect("judge failures are retried");
    assert_eq!(outcome(&results, &faulted), reference);
    assert!(faulted.injected_faults["judge"] >= 2);
    let (results, stalled) =
        run(&["faults.generator_stall_ms=2", "faults.generator_stall_every=5"]).expect("stalls are waited out");
    assert_eq!(outcome(&results, &stalled), reference);
}

#[test]
fn a_stage_that_keeps_failing_stops_the_run_with_a_clear_error() {
    // Every message stops the clusterer: without a limit this would loop forever.
    let err = run(&["faults.stage=clusterer", "faults.every=1", "faults.max_restarts=20"])
        .expect_err("a stage restarting on every message cannot finish");
    assert!(err.contains("clusterer") && err.contains("faults.max_restarts"), "unclear error: {err}");
}

#[test]
fn bad_fault_settings_are_rejected_with_their_key() {
    let root = common::root();
    let err = deepprune::config::PipelineConfig::load(&root.join("pipelines/quickstart.yaml"), &["faults.stage=clusterer".to_string()])
        .expect_err("a stage without `every` is a mistake");
    assert!(err.to_string().contains("faults.every"), "{err}");
    let err = deepprune::config::PipelineConfig::load(&root.join("pipelines/quickstart.yaml"), &["faults.stage=nowhere".to_string()])
        .expect_err("unknown stage");
    assert!(err.to_string().contains("faults.stage"), "{err}");
}
