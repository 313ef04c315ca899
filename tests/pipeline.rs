//! End-to-end runs of the actor pipeline on the embedded sample.

mod common;

use deepprune::pipeline::run::{run_blocking, ReplayData};

#[test]
fn quickstart_runs_end_to_end_and_accounts_every_token() {
    let config = common::quickstart(&[]);
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();
    assert_eq!(report.problems, 10);
    assert_eq!(report.traces, 320);
    assert_eq!(report.judge, "lexical");
    assert!(!report.oracle_upper_bound);
    // Every trace is accounted for: clustered exactly once, and either survived or was pruned.
    for r in &results {
        let mut members: Vec<u32> = r.clusters.iter().flatten().copied().collect();
        members.sort_unstable();
        assert_eq!(members, (0..32).collect::<Vec<u32>>(), "{}", r.pid);
        let b = r.baseline.as_ref().unwrap();
        assert!(r.tokens <= b.cons_n_tokens, "{}: {} > {}", r.pid, r.tokens, b.cons_n_tokens);
        for s in &r.survivors {
            assert!(!r.pruned.contains(s), "{}: survivor {s} was pruned", r.pid);
        }
    }
    assert!(report.judge_pairs > 0);
    assert!(report.tokens < report.cons_n_tokens);
    assert!((report.token_reduction - (1.0 - report.tokens as f64 / report.cons_n_tokens as f64)).abs() < 1e-12);
}

#[test]
fn oracle_prunes_most_tokens_at_cons_n_accuracy() {
    let config = common::quickstart(&["judge.kind=oracle"]);
    let data = ReplayData::load(&config).unwrap();
    let (_, report) = run_blocking(&config, &data, None).unwrap();
    assert!(report.oracle_upper_bound);
    assert!(report.token_reduction > 0.5, "oracle reduction {}", report.token_reduction);
    let (accuracy, cons_n) = (report.accuracy.unwrap(), report.cons_n_accuracy.unwrap());
    assert!(accuracy >= cons_n - 0.1, "{accuracy} vs {cons_n}");
}

#[test]
fn traces_stopped_by_deepconf_before_their_prefix_are_never_clustered() {
    // 128-token prefixes: DeepConf (64-token windows) stops many traces before their prefix is
    // complete. Such a trace abstains, so it must not found a cluster and stand for its members
    // in the vote (that once cost nearly all accuracy with the oracle judge and `founders`).
    let config = common::quickstart(&[
        "judge.kind=oracle",
        "generator.stop_policy=deepconf-low",
        "truncator.count=128",
        "voter.finish=founders",
    ]);
    let data = ReplayData::load(&config).unwrap();
    let (results, report) = run_blocking(&config, &data, None).unwrap();
    let clustered: usize = results.iter().map(|r| r.clusters.iter().map(Vec::len).sum::<usize>()).sum();
    assert!(report.withdrawn_traces > 0, "no trace was withdrawn");
    assert_eq!(clustered as u64 + report.withdrawn_traces, report.traces);
    for r in &results {
        let members: Vec<u32> = r.clusters.iter().flatten().copied().collect();
        // A withdrawn trace is in no cluster, counts as stopped, and is never completed.
        let withdrawn: Vec<u32> = (0..r.n_traces as u32).filter(|s| !members.contains(s)).collect();
        for s in &withdrawn {
            assert!(r.pruned.contains(s), "{}: withdrawn trace {s} is not counted as stopped", r.pid);
            assert!(!r.survivors.contains(s), "{}: withdrawn trace {s} survived", r.pid);
        }
    }
    let (accuracy, cons_n) = (report.accuracy.unwrap(), report.cons_n_accuracy.unwrap());
    assert!(accuracy >= cons_n - 0.1, "{accuracy} vs {cons_n}");
}

#[test]
fn no_judge_is_plain_majority_vote() {
    let config = common::quickstart(&["judge.kind=none"]);
    let data = ReplayData::load(&config).unwrap();
    let (_, report) = run_blocking(&config, &data, None).unwrap();
    assert_eq!(report.tokens, report.cons_n_tokens);
    assert_eq!(report.pruned_traces, 0);
    assert_eq!(report.judge_pairs, 0);
    assert!(report.accuracy.is_some());
    assert_eq!(report.accuracy, report.cons_n_accuracy);
}

#[test]
fn runs_are_deterministic_whatever_the_batching() {
    let data = ReplayData::load(&common::quickstart(&[])).unwrap();
    let a = run_blocking(&common::quickstart(&["judge.max_batch_pairs=1"]), &data, None).unwrap().0;
    let b = run_blocking(&common::quickstart(&["generator.concurrent_problems=1", "judge.max_wait_ms=0"]), &data, None).unwrap().0;
    let key = |r: &deepprune::report::ProblemResult| (r.pid.clone(), r.answer.clone(), r.tokens, r.clusters.clone());
    assert_eq!(a.iter().map(key).collect::<Vec<_>>(), b.iter().map(key).collect::<Vec<_>>());
}

#[test]
fn no_partial_batch_waits_out_max_wait_when_no_more_pairs_can_come() {
    // judge.max_wait_ms at its largest, a minute. A partial batch may wait that long only for
    // pairs that can still come; once every problem being clustered waits for scores, none can,
    // so every partial batch goes at once and the run's results are those of the default.
    let data = ReplayData::load(&common::quickstart(&[])).unwrap();
    let config = common::quickstart(&["judge.max_wait_ms=60000"]);
    let (tx, rx) = std::sync::mpsc::channel();
    let replay = data.clone();
    std::thread::spawn(move || {
        let _ = tx.send(run_blocking(&config, &replay, None));
    });
    // A guard against a hang, not a speed claim: without the flush, each of the run's dozens of
    // partial batches waits a minute.
    let (results, report) = rx
        .recv_timeout(std::time::Duration::from_secs(300))
        .expect("the run is still going after 5 minutes: partial batches wait out judge.max_wait_ms")
        .unwrap();
    let b = &report.judge_batcher;
    assert_eq!(b.cut_max_wait, 0, "a partial batch waited out max_wait_ms: {b:?}");
    assert!(b.cut_callers_waiting > 0, "{b:?}");
    assert_eq!(b.batches, b.cut_full + b.cut_callers_waiting, "{b:?}");
    let default = run_blocking(&common::quickstart(&[]), &data, None).unwrap().0;
    let key = |r: &deepprune::report::ProblemResult| (r.pid.clone(), r.answer.clone(), r.tokens, r.clusters.clone());
    assert_eq!(results.iter().map(key).collect::<Vec<_>>(), default.iter().map(key).collect::<Vec<_>>());
}

#[test]
fn decision_delay_costs_tokens() {
    let data = ReplayData::load(&common::quickstart(&[])).unwrap();
    let fast = run_blocking(&common::quickstart(&["judge.kind=oracle"]), &data, None).unwrap().1;
    let slow = run_blocking(&common::quickstart(&["judge.kind=oracle", "generator.decision_delay_steps=4"]), &data, None).unwrap().1;
    assert!(slow.tokens > fast.tokens, "{} <= {}", slow.tokens, fast.tokens);
}

#[test]
fn reference_config_documents_every_key_and_parses() {
    let root = common::root();
    let file = root.join("configs/reference.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    // A whole pipeline with the replay generator, then the other kinds' generator sections.
    let documents: Vec<&str> = text.split("\n---\n").collect();
    let overrides = vec![
        format!("generator.problems={}", root.join("data/sample/problems.jsonl").display()),
        format!("generator.traces={}", root.join("data/sample/traces.jsonl.gz").display()),
    ];
    let mut kinds = Vec::new();
    for (i, document) in documents.iter().enumerate() {
        let overrides = if i == 0 { &overrides[..] } else { &[] };
        let config = deepprune::config::PipelineConfig::from_yaml(document, &file.display().to_string(), overrides)
            .unwrap_or_else(|e| panic!("document {} of the reference: {e}", i + 1));
        kinds.push(config.generator.kind());
        // Every field serialised from the parsed config appears as a key in the reference file.
        let value = serde_json::to_value(&config).unwrap();
        for (section, fields) in value.as_object().unwrap() {
            assert!(text.contains(&format!("\n{section}:\n")), "section {section} undocumented");
            for key in fields.as_object().unwrap().keys() {
                assert!(text.contains(&format!("\n  {key}:")), "key {section}.{key} undocumented");
            }
        }
    }
    assert_eq!(kinds, deepprune::config::GeneratorKind::ALL, "every generator kind is documented, in order");
}

#[test]
fn deepconf_warmup_traces_run_in_full_and_vote_whatever_the_judge_prunes() {
    // DeepConf's threshold is read off the warm-up traces' whole traces, so the judge must not
    // stop them at their prefix: they are completed and cast their own votes. Oracle with
    // `largest_cluster` and top_k 1 would otherwise stop all but one trace of each problem.
    let config = common::quickstart(&[
        "judge.kind=oracle",
        "generator.stop_policy=deepconf-low",
        "generator.deepconf_warmup=8",
        "voter.top_k=1",
    ]);
    let data = ReplayData::load(&config).unwrap();
    let (results, _) = run_blocking(&config, &data, None).unwrap();
    for r in &results {
        for s in 0..8u32 {
            assert!(r.survivors.contains(&s), "{}: warm-up trace {s} is not completed", r.pid);
            assert!(!r.pruned.contains(&s), "{}: warm-up trace {s} was stopped", r.pid);
        }
        // Beyond the warm-up, only the largest cluster's first member runs on.
        assert!(r.survivors.len() <= 9, "{}: {:?}", r.pid, r.survivors);
        // The warm-up's tokens are all generated: at least the sum of their recorded lengths.
        let warm_tokens: usize =
            data.traces.get(&r.pid).unwrap().iter().filter(|t| t.sample < 8).map(|t| t.n_tokens().unwrap()).sum();
        assert!(r.tokens >= warm_tokens as u64, "{}: {} < {warm_tokens}", r.pid, r.tokens);
    }
}

#[test]
fn the_gain_over_cons_k_is_paired_by_problem() {
    let config = common::quickstart(&["judge.kind=oracle", "truncator.count=64"]);
    let data = ReplayData::load(&config).unwrap();
    let (_, report) = run_blocking(&config, &data, None).unwrap();
    let gain = report.gain_over_cons_k.unwrap();
    // Accuracy and matched cons@k are means over the same graded problems, so their difference
    // is the mean of the per-problem differences, and its interval holds it.
    assert!((gain - (report.accuracy.unwrap() - report.matched_cons_k_accuracy.unwrap())).abs() < 1e-12, "{gain}");
    let (lo, hi) = report.gain_over_cons_k_ci.unwrap();
    assert!(lo <= gain && gain <= hi, "{lo} {gain} {hi}");
}
