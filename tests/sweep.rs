//! The sweep's bookkeeping: a grid point's row equals a plain run of the same settings.

mod common;

use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::sweep::{paired_delta, Grid, ProblemOutcome, StoredRow, SweepConfig};

/// A one-judge grid over the embedded sample, writing into `out`.
fn sample_sweep(out: &std::path::Path, taus: Vec<f32>) -> SweepConfig {
    let root = common::root();
    SweepConfig {
        pipeline: root.join("pipelines/quickstart.yaml"),
        overrides: vec![
            format!("generator.problems={}", root.join("data/sample/problems.jsonl").display()),
            format!("generator.traces={}", root.join("data/sample/traces.jsonl.gz").display()),
        ],
        grid: Grid {
            judge: vec!["lexical".into()],
            tau: taus,
            prefix: vec![32],
            finish: vec!["founders".into()],
            deepconf: vec![],
            stop_policy: vec!["none".into()],
            variants: vec![vec![]],
        },
        output: out.to_path_buf(),
        generator_params: 4.94e8,
        judge_flops_per_pair: 6.04e9,
        judge_paths: Default::default(),
    }
}

fn read_stored(out: &std::path::Path) -> Vec<StoredRow> {
    std::fs::read_to_string(out.join("rows.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_stored(out: &std::path::Path, rows: &[StoredRow]) {
    let text: String = rows.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(out.join("rows.jsonl"), text).unwrap();
}

#[test]
fn a_resumed_sweep_reuses_stored_rows_and_runs_only_the_rest() {
    let out = tempfile::tempdir().unwrap();
    let first = deepprune::sweep::run(&sample_sweep(out.path(), vec![0.25]), &[], false, false).unwrap();
    assert_eq!(first.len(), 2, "cons@N and one grid point");
    // Mark the stored grid row, so a reuse is visible: a re-run would measure the real value.
    let mut stored = read_stored(out.path());
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].row, first[1]);
    assert_eq!(stored[1].per_problem.len(), 10, "one outcome per sample problem");
    stored[1].row.accuracy = 0.123456;
    write_stored(out.path(), &stored);

    // The grid grows by one τ: the marked row is reused, the new one is run.
    let grown = sample_sweep(out.path(), vec![0.25, 0.75]);
    let resumed = deepprune::sweep::run(&grown, &[], false, true).unwrap();
    assert_eq!(resumed.len(), 3);
    assert_eq!(resumed[0], first[0], "cons@N reused unchanged");
    assert_eq!(resumed[1].accuracy, 0.123456, "the stored row was reused, not run again");
    let fresh = deepprune::sweep::run(&sample_sweep(tempfile::tempdir().unwrap().path(), vec![0.75]), &[], false, false)
        .unwrap();
    assert_eq!(timeless(&resumed[2]), timeless(&fresh[1]), "the new row equals a fresh run of it");

    // Different command-line overrides: nothing stored matches, every row runs again.
    let rerun = deepprune::sweep::run(&grown, &["clusterer.p=5".into()], false, true).unwrap();
    assert_ne!(rerun[1].accuracy, 0.123456, "a row with other overrides must not be reused");
    // ... and the rows it did not use are still stored, for a later resume.
    let kept = read_stored(out.path());
    assert_eq!(kept.len(), 6, "3 new rows and the 3 earlier ones");
    assert!(kept.iter().any(|k| k.row.accuracy == 0.123456));
    // Without --resume the stored rows are ignored too.
    let plain = deepprune::sweep::run(&grown, &[], false, false).unwrap();
    assert_eq!(timeless(&plain[1]), timeless(&first[1]));
}

/// A row without the fields that depend on timing (judge time, and how pairs were batched).
fn timeless(row: &deepprune::sweep::Row) -> deepprune::sweep::Row {
    deepprune::sweep::Row { judge_seconds: 0.0, judge_batches: 0, judge_shapes: None, ..row.clone() }
}

#[test]
fn a_malformed_stored_row_is_reported_with_its_file_and_line() {
    let out = tempfile::tempdir().unwrap();
    let cfg = sample_sweep(out.path(), vec![0.25]);
    deepprune::sweep::run(&cfg, &[], false, false).unwrap();
    let good = std::fs::read_to_string(out.path().join("rows.jsonl")).unwrap();
    let first_line = good.lines().next().unwrap().to_string();
    std::fs::write(out.path().join("rows.jsonl"), format!("{first_line}\n{{\"row\": 3}}\n")).unwrap();
    let err = deepprune::sweep::run(&cfg, &[], false, true).unwrap_err().to_string();
    assert!(err.contains("rows.jsonl") && err.contains("line 2"), "{err}");
    // The file is left as it was: nothing measured is lost.
    assert!(std::fs::read_to_string(out.path().join("rows.jsonl")).unwrap().starts_with(&first_line));
}

fn outcomes(correct: &[bool]) -> Vec<ProblemOutcome> {
    correct
        .iter()
        .enumerate()
        .map(|(i, &c)| ProblemOutcome { pid: format!("p{i}"), correct: Some(c), tokens: 1 })
        .collect()
}

#[test]
fn paired_deltas_follow_the_per_problem_differences() {
    let a = outcomes(&[true, true, false, true]);
    let b = outcomes(&[true, false, false, false]);
    let (mean, (lo, hi)) = paired_delta(&a, &b).unwrap();
    assert_eq!(mean, 0.5);
    assert!(lo <= mean && mean <= hi && lo >= 0.0 && hi <= 1.0, "({lo}, {hi})");
    // A row against itself differs on no problem: the interval collapses to zero.
    assert_eq!(paired_delta(&a, &a).unwrap(), (0.0, (0.0, 0.0)));
    // Only shared problems are paired.
    let mut other = outcomes(&[false]);
    other[0].pid = "elsewhere".into();
    assert_eq!(paired_delta(&a, &other), None);
}

#[test]
fn a_grid_row_equals_a_plain_run() {
    let out = tempfile::tempdir().unwrap();
    let mut cfg = sample_sweep(out.path(), vec![0.25]);
    cfg.grid.deepconf = vec!["deepconf-low".into()];
    cfg.grid.stop_policy = vec!["none".into(), "deepconf-low".into()];
    let rows = deepprune::sweep::run(&cfg, &[], false, false).unwrap();
    // cons@N, the one grid point alone and with DeepConf, and the DeepConf row.
    assert_eq!(rows.len(), 4);
    let plain = common::quickstart(&[
        "judge.kind=lexical",
        "truncator.mode=tokens",
        "truncator.count=32",
        "clusterer.tau=0.25",
        "voter.finish=founders",
    ]);
    let data = ReplayData::load(&plain).unwrap();
    let (_, report) = run_blocking(&plain, &data, None).unwrap();
    assert_eq!(rows[1].tokens, report.tokens);
    assert_eq!(Some(rows[1].accuracy), report.accuracy);
    assert_eq!(rows[1].judge_pairs, report.judge_pairs);
    assert_eq!(rows[0].token_reduction, 0.0, "the cons@N row generates every token");
    // The grid point with DeepConf equals a plain run with the same stop policy.
    let both = common::quickstart(&[
        "judge.kind=lexical",
        "truncator.mode=tokens",
        "truncator.count=32",
        "clusterer.tau=0.25",
        "voter.finish=founders",
        "generator.stop_policy=deepconf-low",
    ]);
    let (_, report) = run_blocking(&both, &data, None).unwrap();
    assert!(rows[2].overrides.contains("generator.stop_policy=deepconf-low"), "{}", rows[2].overrides);
    assert_eq!((rows[2].tokens, Some(rows[2].accuracy)), (report.tokens, report.accuracy));
    for f in ["rows.csv", "rows.md", "rows.jsonl", "paired.md", "cons_k.csv", "frontier.png", "frontier.svg"] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
}

#[test]
fn a_resumed_sweep_that_runs_rows_writes_their_cons_k_curve_not_a_stored_one() {
    let fresh = tempfile::tempdir().unwrap();
    deepprune::sweep::run(&sample_sweep(fresh.path(), vec![0.25]), &[], false, false).unwrap();
    let want = std::fs::read_to_string(fresh.path().join("cons_k.csv")).unwrap();
    // An output folder holding a curve from some other data and no stored rows.
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("cons_k.csv"), "token_fraction,accuracy\n1.0000,0.9999\n").unwrap();
    deepprune::sweep::run(&sample_sweep(out.path(), vec![0.25]), &[], false, true).unwrap();
    assert_eq!(std::fs::read_to_string(out.path().join("cons_k.csv")).unwrap(), want);
}

#[test]
fn variants_cross_every_judge_row_and_leave_baselines_alone() {
    let out = tempfile::tempdir().unwrap();
    let mut cfg = sample_sweep(out.path(), vec![0.25, 0.75]);
    cfg.grid.deepconf = vec!["deepconf-low".into()];
    cfg.grid.variants = vec![vec![], vec!["clusterer.forced_join=count".into(), "clusterer.k=4".into()]];
    let rows = cfg.rows();
    // cons@N, 2 τ × 2 variants, one DeepConf row.
    assert_eq!(rows.len(), 1 + 4 + 1);
    let with = rows.iter().filter(|r| r.iter().any(|o| o == "clusterer.k=4")).count();
    assert_eq!(with, 2);
    assert!(rows[1..5].iter().all(|r| r[0] == "judge.kind=lexical"));
    assert!(!rows[0].iter().chain(&rows[5]).any(|o| o.starts_with("clusterer.")));
}

#[test]
fn an_ungraded_pipeline_is_no_sweep() {
    let out = tempfile::tempdir().unwrap();
    let err = deepprune::sweep::run(&sample_sweep(out.path(), vec![0.25]), &["generator.ungraded=true".into()], false, false)
        .unwrap_err();
    assert!(matches!(err, deepprune::sweep::SweepError::Ungraded { .. }), "{err:?}");
    assert!(err.to_string().contains("a sweep compares accuracy"), "{err}");
    assert!(!out.path().join("rows.jsonl").exists(), "no row is run");
}
