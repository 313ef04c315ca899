//! `deepprune sweep sweeps/frontier.yaml`: one pipeline over a grid of settings, one row per
//! setting, against plain sampling (cons@k for every k) on the same traces.
//!
//! Every row is a plain `deepprune-run` of the pipeline with the row's `--set` overrides, so a
//! row can be reproduced exactly from its `overrides` column.
//!
//! Besides the tables, a sweep writes `rows.jsonl`: each finished row with the overrides it ran
//! with and its outcome on every problem. It serves two things:
//! - **Resuming** (`--resume`): a GPU machine can be taken away mid-sweep. A resumed sweep reuses
//!   every stored row whose full override list equals what it would run now, and runs the rest.
//!   With a CPU judge a row is deterministic, so a reused row is the row a fresh run would
//!   produce. A GPU judge's bf16 scores can change in their last bits with how pairs were
//!   batched, which can flip a borderline join: the same row measured on the H100 in two
//!   sessions scored 0.260 and 0.250 (one problem of 96) at the same token reduction.
//! - **Paired comparisons** (`paired.md`): every row against cons@N and against each DeepConf
//!   row, as the mean per-problem difference in accuracy with a 95% bootstrap interval over
//!   problems. Rows on the same problems are paired, so this interval is much tighter than the
//!   difference of two independent intervals, and it says when a difference is only noise.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::metrics;
use crate::pipeline::plan;
use crate::pipeline::run::{run_blocking, ReplayData};
use crate::plot::FrontierPoint;
use crate::report::output::replace;
use crate::report::ProblemResult;

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A row's pipeline is invalid.
    #[error("row {row}: {source}")]
    Pipeline {
        /// The row's overrides.
        row: String,
        /// The config error.
        source: ConfigError,
    },
    /// A row's run failed.
    #[error("row {row}: {source}")]
    Run {
        /// The row's overrides.
        row: String,
        /// The run error.
        source: crate::pipeline::PipelineError,
    },
    /// A row's pipeline is ungraded (`generator.ungraded: true`): a sweep compares accuracy.
    #[error(
        "row {row}: generator.ungraded is true, but a sweep compares accuracy at each token budget; \
         expected a graded pipeline (a gold answer for every problem, and generator.ungraded false)"
    )]
    Ungraded {
        /// The row's overrides.
        row: String,
    },
    /// A stored file of an earlier run (`--resume`) is unreadable.
    #[error("{path}: line {line}: {message}")]
    Stored {
        /// The file.
        path: PathBuf,
        /// Its 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Writing results failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The grid: every combination of judge × τ × prefix length × finishing policy × stop policy,
/// plus one row per DeepConf policy alone (with `judge.kind: none`) and the cons@N row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Judges (`judge.kind`).
    pub judge: Vec<String>,
    /// τ values (`clusterer.tau`).
    pub tau: Vec<f32>,
    /// Prefix lengths in tokens (`truncator.count`, token mode).
    pub prefix: Vec<usize>,
    /// Finishing policies (`voter.finish`).
    pub finish: Vec<String>,
    /// DeepConf policies (`generator.stop_policy`), run without a judge.
    #[serde(default)]
    pub deepconf: Vec<String>,
    /// Stop policies (`generator.stop_policy`) crossed with every judge row: DeepPrune and
    /// DeepConf together. Default `[none]`: the judge alone.
    #[serde(default = "default_stop_policies")]
    pub stop_policy: Vec<String>,
    /// Sets of further overrides crossed with every judge row, e.g. `[[], [truncator.later=[128,256],
    /// clusterer.band=0.1]]` for each setting without and with staged judging. Default `[[]]`.
    #[serde(default = "default_variants")]
    pub variants: Vec<Vec<String>>,
}

fn default_stop_policies() -> Vec<String> {
    vec!["none".into()]
}

/// One variant with no further overrides.
fn default_variants() -> Vec<Vec<String>> {
    vec![Vec::new()]
}

/// A sweep file. Its `pipeline` and `output` paths are relative to the file's folder; the
/// `overrides` and `judge_paths` values are `--set` values, relative to the current directory
/// like any other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The pipeline every row starts from.
    pub pipeline: PathBuf,
    /// Overrides applied to every row before its own (e.g. the judge's path and device).
    #[serde(default)]
    pub overrides: Vec<String>,
    /// The grid.
    pub grid: Grid,
    /// Where `rows.csv`, `rows.md`, `cons_k.csv` and the plots go.
    pub output: PathBuf,
    /// Generator size in parameters, for judge FLOPs relative to generation FLOPs.
    #[serde(default = "default_generator_params")]
    pub generator_params: f64,
    /// Judge FLOPs per pair for the neural judges (MiniLM at 256 tokens: 6.0e9).
    #[serde(default = "default_judge_flops_per_pair")]
    pub judge_flops_per_pair: f64,
    /// `judge.path` per judge kind, e.g. `model: models/judge-minilm` and
    /// `embedding: models/base/all-minilm-l6-v2`, so one sweep can run both neural judges. Each
    /// is passed to its rows as `--set judge.path=...`.
    #[serde(default)]
    pub judge_paths: std::collections::BTreeMap<String, String>,
}

/// Qwen2.5-Coder-0.5B-Instruct, the generator of the shared traces.
fn default_generator_params() -> f64 {
    0.494e9
}
/// MiniLM-L6 over a 256-token pair (see `bench::encoder_flops`).
fn default_judge_flops_per_pair() -> f64 {
    6.04e9
}

impl SweepConfig {
    /// Reads a sweep file.
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        Ok(crate::config::load_yaml(path, &[], &["pipeline", "output"])?)
    }

    /// Every row's overrides, in order.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![vec!["judge.kind=none".to_string()]];
        for judge in &self.grid.judge {
            for &prefix in &self.grid.prefix {
                for &tau in &self.grid.tau {
                    for finish in &self.grid.finish {
                        for (policy, variant) in self.grid.stop_policy.iter().flat_map(|p| self.grid.variants.iter().map(move |v| (p, v))) {
                            let mut row = vec![format!("judge.kind={judge}")];
                            if let Some(path) = self.judge_paths.get(judge) {
                                row.push(format!("judge.path={path}"));
                            }
                            row.extend([
                                "truncator.mode=tokens".into(),
                                format!("truncator.count={prefix}"),
                                format!("clusterer.tau={tau}"),
                                format!("voter.finish={finish}"),
                            ]);
                            if policy != "none" {
                                row.push(format!("generator.stop_policy={policy}"));
                            }
                            row.extend(variant.iter().cloned());
                            rows.push(row);
                        }
                    }
                }
            }
        }
        for policy in &self.grid.deepconf {
            rows.push(vec!["judge.kind=none".into(), format!("generator.stop_policy={policy}")]);
        }
        rows
    }
}

/// One row of the results table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The row's overrides, space-separated (reproduce with `deepprune-run P --set ...`).
    pub overrides: String,
    /// The judge's name (`none` for cons@N and DeepConf rows).
    pub judge: String,
    /// Accuracy over problems.
    pub accuracy: f64,
    /// 95% bootstrap interval over problems.
    pub accuracy_ci: (f64, f64),
    /// Tokens generated.
    pub tokens: u64,
    /// `tokens / cons_n_tokens`.
    pub token_fraction: f64,
    /// `1 - token_fraction`.
    pub token_reduction: f64,
    /// cons@k accuracy at the same token budget.
    pub matched_cons_k_accuracy: f64,
    /// Accuracy minus cons@k's at the same budget, paired by problem (absent in rows stored
    /// before it was recorded).
    #[serde(default)]
    pub gain_over_cons_k: f64,
    /// Its 95% paired bootstrap interval over problems.
    #[serde(default)]
    pub gain_over_cons_k_ci: (f64, f64),
    /// Pairs judged.
    pub judge_pairs: u64,
    /// Seconds the judge spent.
    pub judge_seconds: f64,
    /// Judge FLOPs / generation FLOPs (2 × generator parameters per generated token).
    pub judge_flops_ratio: f64,
    /// True for the oracle: an upper bound.
    pub upper_bound: bool,
    /// Batches sent to the judge (absent in rows stored before it was recorded).
    #[serde(default)]
    pub judge_batches: u64,
    /// What a neural judge's forward passes ran, padding included.
    #[serde(default)]
    pub judge_shapes: Option<crate::judge::ForwardShapes>,
}

/// One problem's outcome in one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemOutcome {
    /// Problem id.
    pub pid: String,
    /// Whether the voted answer is correct. A sweep runs graded pipelines only; `None` is found
    /// only in rows stored by versions that ran problems without gold, and counts as wrong.
    pub correct: Option<bool>,
    /// Tokens generated for it.
    pub tokens: u64,
}

impl ProblemOutcome {
    /// 1 if the voted answer is correct, else 0 (an ungraded outcome of an old row counts as wrong).
    fn solved(&self) -> f64 {
        f64::from(u8::from(self.correct.unwrap_or(false)))
    }
}

/// A finished row as `rows.jsonl` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRow {
    /// Every override the row ran with: the sweep's, the command line's, then the row's own.
    pub run_overrides: Vec<String>,
    /// The row.
    pub row: Row,
    /// Its outcome on every problem, by problem id.
    pub per_problem: Vec<ProblemOutcome>,
}

/// Mean per-problem difference in accuracy `a − b` over the problems both rows ran, with a
/// 95% bootstrap interval over those problems (paired: a problem is resampled with both of its
/// outcomes). `None` when the rows share no problem.
pub fn paired_delta(a: &[ProblemOutcome], b: &[ProblemOutcome]) -> Option<(f64, (f64, f64))> {
    let b: std::collections::HashMap<&str, f64> = b.iter().map(|o| (o.pid.as_str(), o.solved())).collect();
    let diffs: Vec<f64> = a.iter().filter_map(|o| b.get(o.pid.as_str()).map(|vb| o.solved() - vb)).collect();
    if diffs.is_empty() {
        return None;
    }
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    Some((mean, metrics::bootstrap_mean_ci(&diffs, 2000, 7)))
}

/// The row of a graded run; an ungraded one has no accuracy to put in it.
fn row_of(
    overrides: &[String],
    results: &[ProblemResult],
    report: &crate::report::RunReport,
    cfg: &SweepConfig,
) -> Result<Row, SweepError> {
    let ungraded = || SweepError::Ungraded { row: overrides.join(" ") };
    let (accuracy, matched) = report.accuracy.zip(report.matched_cons_k_accuracy).ok_or_else(ungraded)?;
    let (gain, gain_ci) = report.gain_over_cons_k.zip(report.gain_over_cons_k_ci).ok_or_else(ungraded)?;
    let per_problem: Vec<f64> = results.iter().map(|r| r.correct.unwrap_or(false) as u8 as f64).collect();
    let neural = report.judge == "model" || report.judge == "embedding";
    let judge_flops = if neural { report.judge_pairs as f64 * cfg.judge_flops_per_pair } else { 0.0 };
    let gen_flops = 2.0 * cfg.generator_params * report.tokens as f64;
    Ok(Row {
        overrides: overrides.join(" "),
        judge: report.judge.clone(),
        accuracy,
        accuracy_ci: metrics::bootstrap_mean_ci(&per_problem, 2000, 7),
        tokens: report.tokens,
        token_fraction: 1.0 - report.token_reduction,
        token_reduction: report.token_reduction,
        matched_cons_k_accuracy: matched,
        gain_over_cons_k: gain,
        gain_over_cons_k_ci: gain_ci,
        judge_pairs: report.judge_pairs,
        judge_seconds: report.judge_busy_seconds,
        judge_flops_ratio: if gen_flops > 0.0 { judge_flops / gen_flops } else { 0.0 },
        upper_bound: report.oracle_upper_bound,
        judge_batches: report.judge_batches,
        judge_shapes: report.judge_batcher.shapes,
    })
}

/// cons@k for k = 1..=N on the same traces: (token fraction k/N, mean accuracy).
fn cons_k_curve(results: &[ProblemResult]) -> Vec<(f64, f64)> {
    let max_n = results.iter().map(|r| r.n_traces).max().unwrap_or(0);
    let steps = 32usize.min(max_n.max(1));
    (1..=steps)
        .map(|i| {
            let frac = i as f64 / steps as f64;
            let acc = results
                .iter()
                .map(|r| {
                    r.baseline.as_ref().map_or(0.0, |b| {
                        metrics::cons_at_fractional_k(&b.groups, b.correct_group, frac * r.n_traces as f64, 400, 17)
                    })
                })
                .sum::<f64>()
                / results.len().max(1) as f64;
            (frac, acc)
        })
        .collect()
}

/// Runs every row; writes the tables, the cons@k curve and the frontier plot. With `resume`,
/// rows stored in the output's `rows.jsonl` by an earlier run with the same overrides are
/// reused instead of run again.
pub fn run(cfg: &SweepConfig, extra: &[String], progress: bool, resume: bool) -> Result<Vec<Row>, SweepError> {
    let mut stored = if resume { read_stored(&cfg.output.join("rows.jsonl"))? } else { Vec::new() };
    let mut done: Vec<StoredRow> = Vec::new();
    // The cons@k curve of the first row run now; the stored one serves only when every row is
    // reused (a stale file from an earlier sweep must not stand in for data run now).
    let stored_curve = if resume { read_curve(&cfg.output.join("cons_k.csv"))? } else { Vec::new() };
    let mut curve = Vec::new();
    let mut data: Option<ReplayData> = None;
    let all = cfg.rows();
    for (i, row) in all.iter().enumerate() {
        let mut overrides = cfg.overrides.clone();
        overrides.extend(extra.iter().cloned());
        overrides.extend(row.iter().cloned());
        let name = row.join(" ");
        let reused = stored.iter().position(|s| s.run_overrides == overrides).map(|at| stored.swap_remove(at));
        let was_reused = reused.is_some();
        let entry = match reused {
            Some(entry) => entry,
            None => {
                let mut with_quiet = overrides.clone();
                with_quiet.push("output.progress=false".into());
                let config = plan::load(&cfg.pipeline, &with_quiet)
                    .map_err(|source| SweepError::Pipeline { row: name.clone(), source })?;
                if config.generator.ungraded() {
                    return Err(SweepError::Ungraded { row: name });
                }
                if data.is_none() {
                    data = Some(ReplayData::load(&config).map_err(|source| SweepError::Run { row: name.clone(), source })?);
                }
                let data = data.as_ref().expect("loaded just above; this is a bug");
                let (results, report) =
                    run_blocking(&config, data, None).map_err(|source| SweepError::Run { row: name.clone(), source })?;
                if curve.is_empty() {
                    curve = cons_k_curve(&results);
                }
                let mut per_problem: Vec<ProblemOutcome> = results
                    .iter()
                    .map(|r| ProblemOutcome { pid: r.pid.clone(), correct: r.correct, tokens: r.tokens })
                    .collect();
                per_problem.sort_by(|a, b| a.pid.cmp(&b.pid));
                StoredRow { run_overrides: overrides, row: row_of(row, &results, &report, cfg)?, per_problem }
            }
        };
        if progress {
            let r = &entry.row;
            let judge = match &r.judge_shapes {
                Some(s) => format!(
                    "; judge {:.1} s, {} pairs in {} batches, {} passes, padding {:.3} of rows and {:.3} of tokens",
                    r.judge_seconds,
                    r.judge_pairs,
                    r.judge_batches,
                    s.passes,
                    s.row_waste(),
                    s.token_waste()
                ),
                None => String::new(),
            };
            eprintln!(
                "[{}/{}] {name}: accuracy {:.3}, reduction {:.3}, cons@k at budget {:.3}, gain {:+.3} [{:+.3}, {:+.3}]{judge}{}",
                i + 1,
                all.len(),
                r.accuracy,
                r.token_reduction,
                r.matched_cons_k_accuracy,
                r.gain_over_cons_k,
                r.gain_over_cons_k_ci.0,
                r.gain_over_cons_k_ci.1,
                if was_reused { " (reused from rows.jsonl)" } else { "" }
            );
        }
        done.push(entry);
        // Rewrite the tables after every row, so a sweep that fails later keeps what it measured.
        // Stored rows this grid does not hold stay in rows.jsonl for a later, wider resume.
        write(cfg, &done, &stored, if curve.is_empty() { &stored_curve } else { &curve })?;
    }
    Ok(done.into_iter().map(|d| d.row).collect())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io { path: path.to_path_buf(), source }
}

/// A file an earlier run wrote, as text; `None` when there is none.
fn read_earlier(path: &Path) -> Result<Option<String>, SweepError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SweepError::Io { path: path.to_path_buf(), source }),
    }
}

/// Reads `rows.jsonl` from an earlier run; a missing file is an empty one.
fn read_stored(path: &Path) -> Result<Vec<StoredRow>, SweepError> {
    let Some(text) = read_earlier(path)? else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| SweepError::Stored {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("expected one stored row (run_overrides, row, per_problem): {e}"),
            })
        })
        .collect()
}

/// Reads the cons@k curve an earlier run wrote; a missing file is an empty curve.
fn read_curve(path: &Path) -> Result<Vec<(f64, f64)>, SweepError> {
    let Some(text) = read_earlier(path)? else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let bad = || SweepError::Stored {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("expected `token_fraction,accuracy` (two numbers), got {l:?}"),
            };
            let (x, y) = l.split_once(',').ok_or_else(bad)?;
            Ok((x.trim().parse().map_err(|_| bad())?, y.trim().parse().map_err(|_| bad())?))
        })
        .collect()
}

/// The reference rows of the paired table: cons@N and each DeepConf policy alone.
fn references(done: &[StoredRow]) -> Vec<&StoredRow> {
    done.iter().filter(|d| d.row.judge == "none").collect()
}

/// Writes the sweep's files. Each is made in memory and then replaces the old one whole
/// ([`replace`]): `rows.jsonl` is rewritten after every row, and a sweep stopped mid-write must
/// keep the rows a `--resume` reads back.
fn write(cfg: &SweepConfig, done: &[StoredRow], kept: &[StoredRow], curve: &[(f64, f64)]) -> Result<(), SweepError> {
    let rows: Vec<Row> = done.iter().map(|d| d.row.clone()).collect();
    let rows = &rows[..];
    let dir = &cfg.output;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let jsonl = dir.join("rows.jsonl");
    let mut f = Vec::new();
    for d in done.iter().chain(kept) {
        let line = serde_json::to_string(d).map_err(|e| SweepError::Io { path: jsonl.clone(), source: e.into() })?;
        writeln!(f, "{line}").map_err(io(&jsonl))?;
    }
    replace(&jsonl, &f).map_err(io(&jsonl))?;
    let paired = dir.join("paired.md");
    let mut f = Vec::new();
    let refs = references(done);
    let name = |d: &StoredRow| if d.row.overrides == "judge.kind=none" { "cons@N".to_string() } else { format!("`{}`", d.row.overrides) };
    writeln!(
        f,
        "Accuracy difference against each reference row, paired by problem: mean over problems and 95% bootstrap interval.\n"
    )
    .map_err(io(&paired))?;
    write!(f, "| setting | accuracy | token reduction |").map_err(io(&paired))?;
    for r in &refs {
        write!(f, " Δ vs {} |", name(r)).map_err(io(&paired))?;
    }
    writeln!(f).map_err(io(&paired))?;
    writeln!(f, "|---|---|---|{}", "---|".repeat(refs.len())).map_err(io(&paired))?;
    for d in done {
        write!(f, "| `{}` | {:.3} | {:.3} |", d.row.overrides, d.row.accuracy, d.row.token_reduction).map_err(io(&paired))?;
        for r in &refs {
            match paired_delta(&d.per_problem, &r.per_problem) {
                Some((m, (lo, hi))) => write!(f, " {m:+.3} [{lo:+.3}, {hi:+.3}] |"),
                None => write!(f, " — |"),
            }
            .map_err(io(&paired))?;
        }
        writeln!(f).map_err(io(&paired))?;
    }
    replace(&paired, &f).map_err(io(&paired))?;
    let csv = dir.join("rows.csv");
    let mut f = Vec::new();
    writeln!(f, "overrides,judge,accuracy,ci_low,ci_high,tokens,token_fraction,token_reduction,matched_cons_k_accuracy,gain_over_cons_k,gain_ci_low,gain_ci_high,judge_pairs,judge_seconds,judge_flops_ratio,upper_bound").map_err(io(&csv))?;
    for r in rows {
        writeln!(
            f,
            "\"{}\",{},{:.4},{:.4},{:.4},{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.3},{:.5},{}",
            r.overrides, r.judge, r.accuracy, r.accuracy_ci.0, r.accuracy_ci.1, r.tokens, r.token_fraction,
            r.token_reduction, r.matched_cons_k_accuracy, r.gain_over_cons_k, r.gain_over_cons_k_ci.0, r.gain_over_cons_k_ci.1,
            r.judge_pairs, r.judge_seconds, r.judge_flops_ratio, r.upper_bound
        )
        .map_err(io(&csv))?;
    }
    replace(&csv, &f).map_err(io(&csv))?;
    let md = dir.join("rows.md");
    let mut f = Vec::new();
    writeln!(f, "| setting | judge | accuracy [95% CI] | token reduction | cons@k at budget | gain over cons@k [95% CI] | judge pairs | judge s | judge/gen FLOPs |").map_err(io(&md))?;
    writeln!(f, "|---|---|---|---|---|---|---|---|---|").map_err(io(&md))?;
    for r in rows {
        let judge = if r.upper_bound { format!("{} (upper bound)", r.judge) } else { r.judge.clone() };
        writeln!(
            f,
            "| `{}` | {} | {:.3} [{:.3}, {:.3}] | {:.3} | {:.3} | {:+.3} [{:+.3}, {:+.3}] | {} | {:.2} | {:.4} |",
            r.overrides, judge, r.accuracy, r.accuracy_ci.0, r.accuracy_ci.1, r.token_reduction,
            r.matched_cons_k_accuracy, r.gain_over_cons_k, r.gain_over_cons_k_ci.0, r.gain_over_cons_k_ci.1,
            r.judge_pairs, r.judge_seconds, r.judge_flops_ratio
        )
        .map_err(io(&md))?;
    }
    replace(&md, &f).map_err(io(&md))?;
    let ck = dir.join("cons_k.csv");
    let mut f = Vec::new();
    writeln!(f, "token_fraction,accuracy").map_err(io(&ck))?;
    for (x, y) in curve {
        writeln!(f, "{x:.4},{y:.4}").map_err(io(&ck))?;
    }
    replace(&ck, &f).map_err(io(&ck))?;
    let points: Vec<FrontierPoint> = rows.iter().map(frontier_point).collect();
    crate::plot::frontier(dir, &points, curve).map_err(|e| SweepError::Io {
        path: dir.join("frontier.png"),
        source: std::io::Error::other(e),
    })
}

/// A row as the frontier plot draws it: its series is the method it measures.
fn frontier_point(r: &Row) -> FrontierPoint {
    let series = if r.overrides.contains("stop_policy=") {
        r.overrides.split("stop_policy=").nth(1).unwrap_or("deepconf").split(' ').next().unwrap_or("deepconf").to_string()
    } else if r.judge == "none" {
        "cons@N".into()
    } else if r.upper_bound {
        "oracle (upper bound)".into()
    } else {
        format!("DeepPrune, {} judge", r.judge)
    };
    FrontierPoint { series, token_fraction: r.token_fraction, accuracy: r.accuracy, accuracy_ci_high: r.accuracy_ci.1 }
}
