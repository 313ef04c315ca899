//! The sweep's bookkeeping: a grid point's row equals a plain run of the same settings.

mod common;

use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::sweep::{Grid, SweepConfig};

#[test]
fn a_grid_row_equals_a_plain_run() {
    let root = common::root();
    let out = tempfile::tempdir().unwrap();
    let cfg = SweepConfig {
        pipeline: root.join("pipelines/quickstart.yaml"),
        overrides: vec![
            format!("generator.problems={}", root.join("data/sample/problems.jsonl").display()),
            format!("generator.traces={}", root.join("data/sample/traces.jsonl.gz").display()),
        ],
        grid: Grid {
            judge: vec!["lexical".into()],
            tau: vec![0.25],
            prefix: vec![32],
            finish: vec!["founders".into()],
            deepconf: vec!["deepconf-low".into()],
            stop_policy: vec!["none".into(), "deepconf-low".into()],
        },
        output: out.path().to_path_buf(),
        generator_params: 4.94e8,
        judge_flops_per_pair: 6.04e9,
        judge_paths: Default::default(),
    };
    let rows = deepprune::sweep::run(&cfg, &[], false).unwrap();
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
    assert_eq!(rows[1].accuracy, report.accuracy);
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
    assert_eq!((rows[2].tokens, rows[2].accuracy), (report.tokens, report.accuracy));
    for f in ["rows.csv", "rows.md", "cons_k.csv", "frontier.png", "frontier.svg"] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
}
