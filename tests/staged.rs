//! Staged judging (`truncator.later`, `clusterer.band`) end to end: with a hand-made judge, a
//! decision inside the band waits for exactly the expected comparisons at the next checkpoint,
//! only decided traces are pruned, waiting tokens are counted, and a waiting trace stopped by
//! DeepConf is withdrawn; without later checkpoints (or with band 0) every result is as before.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deepprune::judge::{JudgeError, PairInput, PairJudge};
use deepprune::pipeline::run::{run_blocking, run_blocking_with_judge, ReplayData};
use deepprune::report::{ProblemResult, RunReport, StagedCounts};

/// One judged pair: (new trace, its prefix tokens, member, its prefix tokens).
type Asked = (u32, usize, u32, usize);

/// Scores a pair from a table keyed by (new trace, member, new prefix's tokens), `default`
/// elsewhere, and records every pair it is asked, in order.
struct ScriptedJudge {
    scores: HashMap<(u32, u32, usize), f32>,
    default: f32,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl PairJudge for ScriptedJudge {
    fn name(&self) -> &str {
        "scripted"
    }
    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        let mut asked = self.asked.lock().expect("judge record");
        Ok(pairs
            .iter()
            .map(|p| {
                asked.push((p.a.sample, p.a.tokens, p.b.sample, p.b.tokens));
                *self.scores.get(&(p.a.sample, p.b.sample, p.a.tokens)).unwrap_or(&self.default)
            })
            .collect())
    }
}

/// Runs the sample's first problem with `judge_scores` and `overrides`; returns its result, the
/// report and the pairs judged.
fn scripted(overrides: &[&str], scores: &[((u32, u32, usize), f32)], default: f32) -> (ProblemResult, RunReport, Vec<Asked>) {
    let mut all = vec!["generator.max_problems=1", "generator.tokens_per_step=8", "generator.concurrent_problems=1"];
    all.extend_from_slice(overrides);
    let config = common::quickstart(&all);
    let data = ReplayData::load(&config).unwrap();
    let asked: Arc<Mutex<Vec<Asked>>> = Arc::default();
    let judge = ScriptedJudge { scores: scores.iter().copied().collect(), default, asked: asked.clone() };
    let (mut results, report) = run_blocking_with_judge(&config, &data, Box::new(judge)).unwrap();
    let asked = asked.lock().unwrap().clone();
    (results.remove(0), report, asked)
}

/// The recorded length of each trace of the sample's first problem.
fn lengths() -> Vec<u64> {
    let data = ReplayData::load(&common::quickstart(&[])).unwrap();
    data.traces.problems[0].1.iter().map(|t| t.n_tokens().unwrap() as u64).collect()
}

#[test]
fn scores_in_the_band_trigger_exactly_the_expected_later_comparisons() {
    // Six traces; checkpoints at 16, 32 and 48 tokens; τ = 0.5 and band 0.1, so a mean
    // similarity in (0.4, 0.6] waits. Every score not listed is 0.1: far below the band.
    let scores = [
        // 16 tokens: trace 1 is in the band against cluster 0 (trace 0): it waits.
        ((1, 0, 16), 0.55),
        // Trace 2 joins cluster 0; trace 3 matches nothing and founds cluster 1.
        ((2, 0, 16), 0.9),
        // Trace 4's best cluster (0, both members) has mean 0.45: it waits too.
        ((4, 0, 16), 0.45),
        ((4, 2, 16), 0.45),
        // Trace 5 joins cluster 1.
        ((5, 3, 16), 0.95),
        // 32 tokens: trace 1 is still in the band and waits on; trace 4 matches nothing and
        // founds cluster 2.
        ((1, 0, 32), 0.58),
        // 48 tokens, the last checkpoint, decides with band 0: 0.55 > τ, trace 1 joins cluster 0.
        ((1, 0, 48), 0.55),
    ];
    let (r, report, asked) = scripted(
        &["generator.max_traces=6", "truncator.count=16", "truncator.later=[32, 48]", "clusterer.band=0.1", "voter.finish=founders"],
        &scores,
        0.1,
    );
    let wanted: Vec<Asked> = vec![
        // 16 tokens: each new prefix against every member of every cluster, in sample order.
        (1, 16, 0, 16),
        (2, 16, 0, 16),
        (3, 16, 0, 16),
        (3, 16, 2, 16),
        (4, 16, 0, 16),
        (4, 16, 2, 16),
        (4, 16, 3, 16),
        (5, 16, 0, 16),
        (5, 16, 2, 16),
        (5, 16, 3, 16),
        // 32 tokens: the waiting traces against the members that reached 32 tokens, with their
        // 32-token prefixes: the founders 0 and 3. Traces 2 and 5 were pruned at 16 tokens.
        (1, 32, 0, 32),
        (1, 32, 3, 32),
        (4, 32, 0, 32),
        (4, 32, 3, 32),
        // 48 tokens: trace 1 against the three founders, 4 now among them.
        (1, 48, 0, 48),
        (1, 48, 3, 48),
        (1, 48, 4, 48),
    ];
    assert_eq!(asked, wanted);
    assert_eq!(r.clusters, vec![vec![0, 2, 1], vec![3, 5], vec![4]]);
    // Only decided traces are pruned: 2 and 5 at 16 tokens, 1 at 48; the founders finish.
    assert_eq!(r.survivors, vec![0, 3, 4]);
    assert_eq!(r.pruned, vec![1, 2, 5]);
    // Every token is counted: the founders in full, 2 and 5 up to their first prefix, and 1
    // through the 32 tokens it spent waiting, up to its decision at 48.
    let len = lengths();
    assert_eq!(r.tokens, len[0] + len[3] + len[4] + 16 + 16 + 48);
    let staged = StagedCounts {
        checkpoints: vec![16, 32, 48],
        waited: 2,
        decided: vec![4, 1, 1],
        pruned: vec![2, 0, 1],
        withdrawn: 0,
        wait_tokens: (32 - 16) + (48 - 16),
    };
    assert_eq!(r.staged.as_ref(), Some(&staged));
    assert_eq!(report.staged, Some(staged));
    assert_eq!(r.judge_pairs, wanted.len() as u64);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["staged"]["decided"], serde_json::json!([4, 1, 1]));

    // The same judge with band 0: nothing waits, and trace 1 joins at once (0.55 > τ).
    let (r, _, asked) = scripted(
        &["generator.max_traces=6", "truncator.count=16", "truncator.later=[32, 48]", "voter.finish=founders"],
        &scores,
        0.1,
    );
    assert!(asked.iter().all(|&(_, a, _, b)| (a, b) == (16, 16)), "{asked:?}");
    assert!(r.clusters[0].starts_with(&[0, 1]), "{:?}", r.clusters);
    assert_eq!(r.staged.as_ref().map(|s| (s.waited, s.decided.clone())), Some((0, vec![6, 0, 0])));
}

#[test]
fn a_waiting_trace_stopped_by_deepconf_is_withdrawn() {
    // Eight traces, the first two DeepConf's warm-up (window 8). Which traces DeepConf stops, and
    // where, follows from their recorded confidences: find one that reaches the first checkpoint
    // (32 tokens) and is stopped before the second (64).
    let config = common::quickstart(&["generator.max_problems=1", "generator.max_traces=8"]);
    let data = ReplayData::load(&config).unwrap();
    let traces = &data.traces.problems[0].1[..8];
    let (window, warmup) = (8, 2);
    let conf = |i: usize| traces[i].conf.clone().expect("the sample has confidences");
    let warm: Vec<f32> = (0..warmup).filter_map(|i| deepprune::deepconf::lowest_group_confidence(&conf(i), window)).collect();
    let s = deepprune::deepconf::threshold(&warm, deepprune::deepconf::DeepConfParams::low(window, warmup).eta).unwrap();
    let stops: Vec<Option<usize>> = (0..8).map(|i| if i < warmup { None } else { deepprune::deepconf::stop_after(&conf(i), window, s) }).collect();
    let stopped_between = (0..8u32).find(|&i| stops[i as usize].is_some_and(|t| t > 32 && t < 64));
    let x = stopped_between.unwrap_or_else(|| panic!("no trace is stopped between 32 and 64 tokens: {stops:?}"));

    // Everything joins cluster 0 except trace x, whose every pair is in the band: it waits.
    let scores: Vec<((u32, u32, usize), f32)> = (0..8).map(|m| ((x, m, 32), 0.55)).collect();
    let (r, report, asked) = scripted(
        &[
            "generator.max_traces=8",
            "generator.stop_policy=deepconf-low",
            "generator.deepconf_window=8",
            "generator.deepconf_warmup=2",
            "truncator.count=32",
            "truncator.later=[64, 96]",
            "clusterer.band=0.1",
        ],
        &scores,
        0.9,
    );
    let members: Vec<u32> = r.clusters.iter().flatten().copied().collect();
    assert!(!members.contains(&x), "withdrawn trace {x} is in a cluster: {:?}", r.clusters);
    assert!(r.pruned.contains(&x) && !r.survivors.contains(&x), "{x}: pruned {:?} survivors {:?}", r.pruned, r.survivors);
    // It was judged once, at 32 tokens, and never again.
    assert!(asked.iter().filter(|a| a.0 == x).all(|a| a.1 == 32), "{asked:?}");
    assert!(asked.iter().any(|a| a.0 == x));
    let staged = r.staged.as_ref().unwrap();
    assert_eq!((staged.waited, staged.withdrawn, staged.decided.iter().sum::<u64>()), (1, 1, members.len() as u64));
    // Withdrawn from clustering, and counted so.
    assert_eq!(members.len() as u64 + report.withdrawn_traces, 8);
}

/// Everything a run decides and writes, but for its timings, batching and run fields.
fn decided(results: &[ProblemResult], report: &RunReport) -> (Vec<serde_json::Value>, serde_json::Value) {
    let results = results.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    let mut report = serde_json::to_value(report).unwrap();
    let map = report.as_object_mut().unwrap();
    for field in common::TIMING_FIELDS.iter().chain(common::RUN_FIELDS) {
        assert!(map.remove(*field).is_some(), "report.json has no {field}");
    }
    (results, report)
}

#[test]
fn no_later_checkpoints_or_band_zero_leave_every_result_as_it_was() {
    let data = ReplayData::load(&common::quickstart(&[])).unwrap();
    let run = |overrides: &[&str]| {
        let (results, report) = run_blocking(&common::quickstart(overrides), &data, None).unwrap();
        decided(&results, &report)
    };
    let today = run(&[]);
    assert!(today.1.get("staged").is_none() && today.0.iter().all(|r| r.get("staged").is_none()));
    // The keys present with their defaults: the same files.
    assert_eq!(run(&["truncator.later=[]", "clusterer.band=0"]), today);
    // Later checkpoints with band 0: nothing waits, so every decision is the same; only the
    // staged counts are added.
    let (mut results, mut report) = run(&["truncator.later=[128, 256]"]);
    let staged = report.as_object_mut().unwrap().remove("staged").expect("staged counts with truncator.later");
    assert_eq!(staged["waited"], 0);
    assert_eq!(staged["decided"][1], 0);
    for r in &mut results {
        r.as_object_mut().unwrap().remove("staged").expect("staged counts per problem");
    }
    assert_eq!((results, report), today);
}

#[test]
fn lexical_staged_judging_settles_every_trace_once() {
    for deepconf in [false, true] {
        let mut overrides = vec!["judge.kind=lexical", "truncator.later=[128, 256]", "clusterer.band=0.1"];
        if deepconf {
            overrides.extend(["generator.stop_policy=deepconf-low", "generator.deepconf_warmup=8"]);
        }
        let config = common::quickstart(&overrides);
        let data = ReplayData::load(&config).unwrap();
        let (results, report) = run_blocking(&config, &data, None).unwrap();
        let staged = report.staged.clone().unwrap();
        assert!(staged.waited > 0, "deepconf {deepconf}: nothing waited, the test shows nothing");
        assert!(staged.decided[1] + staged.decided[2] > 0, "deepconf {deepconf}: {staged:?}");
        let clustered: u64 = results.iter().map(|r| r.clusters.iter().map(|c| c.len() as u64).sum::<u64>()).sum();
        assert_eq!(staged.decided.iter().sum::<u64>(), clustered, "deepconf {deepconf}");
        assert_eq!(staged.decided[1] + staged.decided[2] + staged.withdrawn, staged.waited, "deepconf {deepconf}");
        assert_eq!(clustered + report.withdrawn_traces, report.traces, "deepconf {deepconf}");
        for r in &results {
            let mut members: Vec<u32> = r.clusters.iter().flatten().copied().collect();
            members.sort_unstable();
            members.dedup();
            assert_eq!(members.len(), r.clusters.iter().map(Vec::len).sum::<usize>(), "{}: a trace in two clusters", r.pid);
            assert!(r.tokens <= r.baseline.as_ref().unwrap().cons_n_tokens, "{}", r.pid);
        }
    }
}
