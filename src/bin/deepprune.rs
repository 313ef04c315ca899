//! `deepprune`: tool subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use deepprune::answer::agreement;
use deepprune::config::DeviceKind;
use deepprune::judge::eval::{self, PairMetrics};
use deepprune::judge::train::TrainConfig;
use deepprune::judge::bert::{Attention, KernelRequest, Matmul, Norm};
use deepprune::judge::{backend, PairJudge};
use deepprune::judge::bench::{GemmShape, RhsLayout};
use deepprune::trace::dataset::{load_problems, load_traces};

/// deepprune tools.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Final-answer extraction and equivalence.
    Answers {
        #[command(subcommand)]
        command: AnswersCommand,
    },
    /// The learned judge.
    Judge {
        #[command(subcommand)]
        command: JudgeCommand,
    },
    /// Run one pipeline over a grid of settings (see sweeps/frontier.yaml).
    Sweep {
        /// The sweep file.
        config: PathBuf,
        /// Extra pipeline overrides for every row: section.key=value (repeatable).
        #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
        set: Vec<String>,
        /// Only these judges from the grid (comma-separated), e.g. oracle,lexical.
        #[arg(long, value_delimiter = ',')]
        judges: Vec<String>,
        /// Write here instead of the file's `output`.
        #[arg(long)]
        output: Option<PathBuf>,
        /// No per-row progress.
        #[arg(long)]
        quiet: bool,
        /// Reuse the rows an earlier, interrupted run of the same sweep stored in the output's
        /// `rows.jsonl` (those whose overrides are unchanged), and run only the rest.
        #[arg(long)]
        resume: bool,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Judge throughput, batch latency, time to first result and fraction of the matmul peak.
    Judge {
        /// cpu or cuda.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Pairs to score in the timed part (per batch size).
        #[arg(long, default_value_t = 4096)]
        pairs: usize,
        /// Tokens per pair (every position filled).
        #[arg(long, default_value_t = 512)]
        max_len: usize,
        /// Batch sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "64")]
        batch: Vec<usize>,
        /// A checkpoint directory; default: a randomly initialised MiniLM-shape model.
        #[arg(long)]
        judge: Option<PathBuf>,
        /// Print one JSON object per batch size.
        #[arg(long)]
        json: bool,
        /// Also time the parts of a layer (projections, FFN, attention with and without its
        /// mask, unfused attention, norms) in isolation, to show where the time goes.
        #[arg(long)]
        breakdown: bool,
        /// Attention implementation: deferred (normalised after the value product), unfused
        /// (Burn's reference composition) or fused (Burn's attention op); comma-separated to
        /// run several in one process. Default: the fastest measured on the device.
        #[arg(long, value_delimiter = ',')]
        attention: Vec<String>,
        /// Dense-product kernels: cublaslt (NVIDIA's library, CUDA only) or burn (Burn's own
        /// matmul); comma-separated to run several in one process. Default: the fastest
        /// measured on the device.
        #[arg(long, value_delimiter = ',')]
        matmul: Vec<String>,
        /// Residual-sum and LayerNorm kernels: fused (one CUDA kernel each, CUDA only) or burn
        /// (Burn's ops); comma-separated to run several in one process. Default: the fastest
        /// measured on the device.
        #[arg(long, value_delimiter = ',')]
        norm: Vec<String>,
    },
    /// The matmul rate (TFLOP/s) on given product shapes, in the judge's serving precision
    /// (bf16 on CUDA, f32 on the CPU); scripts/bench/torch-judge.py --gemm times the same shapes.
    Matmul {
        /// cpu or cuda.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Shapes MxKxN, comma-separated. Default: one MiniLM layer's products over 128 pairs
        /// of 512 tokens (65,536 rows), then 8192x8192x8192.
        #[arg(long, value_delimiter = ',')]
        shapes: Vec<String>,
        /// Products timed per shape, at least; more run until half a second has passed.
        #[arg(long, default_value_t = 20)]
        reps: usize,
        /// Also time each shape with the right operand stored transposed (PyTorch's `Linear`
        /// layout), to see whether the layout of the weights matters.
        #[arg(long)]
        transposed: bool,
        /// Also time each shape as this many batched products with the right operand broadcast,
        /// as `Linear` runs on a `[batch, seq, hidden]` input (comma-separated; 1 = one product).
        #[arg(long, value_delimiter = ',', default_value = "1")]
        split: Vec<usize>,
        /// Kernels: burn (Burn's matmul) and/or cublaslt (NVIDIA's cuBLASLt, CUDA only, which
        /// also reports its largest difference from Burn's product), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "burn")]
        matmul: Vec<String>,
        /// Print one JSON object per shape.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum JudgeCommand {
    /// Train the cross-encoder judge from a YAML config (e.g. training/judge-minilm.yaml).
    Train {
        /// The training config.
        config: PathBuf,
        /// Override a key: key=value or truncator.key=value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Evaluate a trained judge and the lexical and embedding baselines on the same pairs.
    Eval {
        /// The checkpoint directory.
        #[arg(long)]
        judge: PathBuf,
        /// problems.jsonl; only traces of problems listed there are used.
        #[arg(long)]
        problems: PathBuf,
        /// Traces with `answer_class` labels; repeat it to evaluate several trace files (one per
        /// generator) with one loaded judge: each is reported on its own.
        #[arg(long, required = true)]
        traces: Vec<PathBuf>,
        /// Sample at most this many pairs, stratified per problem.
        #[arg(long)]
        max_pairs: Option<usize>,
        /// Seed for the pair sample.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// cpu or cuda.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// The base model, for the embedding baseline; `none` skips it.
        #[arg(long, default_value = deepprune::judge::bert::weights::BASE_MODEL_DIR)]
        base: String,
        /// Score the baselines alone, at the judge's cuts, without loading the judge (e.g. the
        /// embedding baseline on a CPU while the judge is evaluated on the GPU).
        #[arg(long)]
        baselines_only: bool,
        /// Pairs per forward pass.
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Write every judge's ROC curve here: roc.csv, roc.png, roc.svg.
        #[arg(long)]
        roc: Option<PathBuf>,
        /// The kernels to serve the model judge with, as in a pipeline's `judge.attention`,
        /// `judge.matmul` and `judge.norm`; unset ones are the fastest measured on the device.
        #[arg(long)]
        attention: Option<String>,
        #[arg(long)]
        matmul: Option<String>,
        #[arg(long)]
        norm: Option<String>,
    },
}

/// The kernel choices a comma-separated flag names, or `default` alone when it names none.
fn named<T: TryFrom<String, Error = String>>(flag: &str, names: &[String], default: T) -> anyhow::Result<Vec<T>> {
    if names.is_empty() {
        return Ok(vec![default]);
    }
    names.iter().map(|n| T::try_from(n.clone()).map_err(|e| anyhow::anyhow!("{flag}: {e}"))).collect()
}

fn device(name: &str) -> anyhow::Result<DeviceKind> {
    match name {
        "cpu" => Ok(DeviceKind::Cpu),
        "cuda" => Ok(DeviceKind::Cuda),
        other => anyhow::bail!("--device: expected cpu or cuda, got {other:?}"),
    }
}

/// A trace file's name without its `.jsonl` / `.jsonl.gz` ending (`traces-eval-1.5b`).
fn trace_file_name(path: &std::path::Path) -> String {
    let name = path.file_name().map_or_else(|| "traces".to_string(), |n| n.to_string_lossy().into_owned());
    name.trim_end_matches(".gz").trim_end_matches(".jsonl").to_string()
}

fn show(name: &str, m: &PairMetrics) {
    let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    println!(
        "{name:<10} pairs {:>7}  base rate {:.4}  AUROC {}  within-problem {}  TNR@FNR0.2 {}  acc@0.5 {:.4}",
        m.pairs, m.base_rate, f(m.auroc), f(m.auroc_within), f(m.tnr_at_fnr_0_2), m.accuracy
    );
}

#[derive(Subcommand)]
enum AnswersCommand {
    /// How often our same/different and correctness verdicts agree with the dataset's labels.
    Check {
        /// problems.jsonl (gold answers).
        #[arg(long)]
        problems: PathBuf,
        /// Traces file (JSONL, optionally gzip) with `answer_class` and `correct`.
        #[arg(long)]
        traces: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    deepprune::exit_on_panic();
    deepprune::init_logging();
    match Cli::parse().command {
        Command::Answers { command: AnswersCommand::Check { problems, traces, json } } => {
            let problems = load_problems(&problems).context("loading problems")?;
            let traces = load_traces(&traces).context("loading traces")?;
            let a = agreement::check(&problems, &traces);
            if json {
                println!("{}", serde_json::to_string(&a)?);
            } else {
                println!("pair verdicts:        {:.4} agree over {} pairs ({} we merge, {} we split)", a.pair_agreement, a.pairs, a.pairs_we_merge, a.pairs_we_split);
                println!("correctness verdicts: {:.4} agree over {} traces ({} we accept, {} we reject)", a.correct_agreement, a.traces, a.traces_we_accept, a.traces_we_reject);
                if a.traces_ungraded > 0 {
                    let pids = deepprune::trace::dataset::pid_list(&a.ungraded_pids);
                    println!("not graded:           {} labelled traces of problems with no gold answer in the problems file: {pids}", a.traces_ungraded);
                }
            }
        }
        Command::Sweep { config, set, judges, output, quiet, resume } => {
            let mut cfg = deepprune::sweep::SweepConfig::load(&config)?;
            if !judges.is_empty() {
                cfg.grid.judge.retain(|j| judges.contains(j));
            }
            if let Some(o) = output {
                cfg.output = o;
            }
            let rows = deepprune::sweep::run(&cfg, &set, !quiet, resume)?;
            println!("{} rows; table: {}", rows.len(), cfg.output.join("rows.md").display());
        }
        Command::Bench { command: BenchCommand::Judge { device: dev, pairs, max_len, batch, judge, json, breakdown, attention, matmul, norm } } => {
            let dev = device(&dev)?;
            let attention = named("--attention", &attention, Attention::fastest_on(dev))?;
            let matmul = named("--matmul", &matmul, Matmul::fastest_on(dev))?;
            let norm = named("--norm", &norm, Norm::fastest_on(dev))?;
            let kernels: Vec<KernelRequest> = attention
                .iter()
                .flat_map(|&a| matmul.iter().map(move |&m| (a, m)))
                .flat_map(|(a, m)| norm.iter().map(move |&n| KernelRequest { attention: Some(a), matmul: Some(m), norm: Some(n) }))
                .collect();
            for (b, k) in batch.iter().flat_map(|&b| kernels.iter().map(move |&k| (b, k))) {
                let r = backend::bench_judge(judge.as_deref(), dev, b, max_len, pairs, breakdown, k)?;
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    println!(
                        "{} batch {} len {}: {:.0} pairs/s, batch p50 {:.2} ms p99 {:.2} ms, first result {:.2} s, {:.1} TFLOP/s = {:.3} of measured peak {:.1}",
                        r.device, r.batch, r.max_len, r.pairs_per_sec, r.batch_latency_p50_ms, r.batch_latency_p99_ms,
                        r.time_to_first_result_s, r.achieved_tflops, r.fraction_of_peak, r.peak_tflops
                    );
                    if let Some(d) = r.max_abs_diff_vs_unfused {
                        println!("  encoder output vs the unfused composition, mixed-length pairs: max |difference| {d:.2e}");
                    }
                    for part in &r.breakdown {
                        let rate = part.tflops.map_or(String::new(), |t| format!(", {t:.1} TFLOP/s"));
                        println!("  {:<62} {:>8.2} ms/batch = {:>5.1}% of the forward pass{rate}", part.part, part.ms_per_batch, 100.0 * part.share_of_forward);
                    }
                }
            }
        }
        Command::Bench { command: BenchCommand::Matmul { device: dev, shapes, reps, transposed, split, matmul, json } } => {
            let dev = device(&dev)?;
            let matmul = named("--matmul", &matmul, Matmul::Burn)?;
            let mut parsed: Vec<GemmShape> =
                shapes.iter().map(|s| s.parse().map_err(|e| anyhow::anyhow!("--shapes: {e}"))).collect::<anyhow::Result<_>>()?;
            if parsed.is_empty() {
                parsed = GemmShape::minilm_layer(128 * 512);
                parsed.push(GemmShape { m: 8192, k: 8192, n: 8192 });
            }
            if let Some(bad) = parsed.iter().find(|s| split.iter().any(|&b| b == 0 || s.m % b != 0)) {
                anyhow::bail!("--split: expected numbers ≥ 1 that divide every shape's m, got {split:?} for m = {}", bad.m);
            }
            let layouts: &[RhsLayout] =
                if transposed { &[RhsLayout::RowMajor, RhsLayout::Transposed] } else { &[RhsLayout::RowMajor] };
            // One measurement at a time, each printed as soon as it is taken: a first run on a
            // GPU autotunes every shape, and a run cut short still reports what it measured.
            let combos = parsed
                .iter()
                .flat_map(|s| split.iter().flat_map(move |b| layouts.iter().map(move |l| (*s, *b, *l))))
                .flat_map(|c| matmul.iter().map(move |m| (c, *m)));
            for ((shape, b, layout), m) in combos {
                let r = backend::bench_matmul(dev, shape, layout, b, m, reps)?;
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    let diff = r.max_rel_diff_vs_burn.map_or(String::new(), |d| format!(", max relative difference from Burn's {d:.2e}"));
                    println!(
                        "{} {} {}x{}x{}, rhs {:?}, split {}: {:.3} TFLOP/s{diff}",
                        r.device, r.matmul.name(), r.shape.m, r.shape.k, r.shape.n, r.rhs, r.split, r.tflops
                    );
                }
            }
        }
        Command::Judge { command: JudgeCommand::Train { config, set, quiet } } => {
            let config = TrainConfig::load(&config, &set)?;
            let start = std::time::Instant::now();
            let history = backend::train_on_device(&config, !quiet)?;
            println!("{}", serde_json::to_string_pretty(&history)?);
            println!("trained in {:.1} s; checkpoint: {}", start.elapsed().as_secs_f64(), config.output.display());
        }
        Command::Judge {
            command: JudgeCommand::Eval {
                judge,
                problems,
                traces,
                max_pairs,
                seed,
                device: dev,
                base,
                baselines_only,
                batch,
                json,
                roc,
                attention,
                matmul,
                norm,
            },
        } => {
            let dev = device(&dev)?;
            let kernels = KernelRequest {
                attention: attention.map(|a| Attention::try_from(a).map_err(|e| anyhow::anyhow!("--attention: {e}"))).transpose()?,
                matmul: matmul.map(|m| Matmul::try_from(m).map_err(|e| anyhow::anyhow!("--matmul: {e}"))).transpose()?,
                norm: norm.map(|n| Norm::try_from(n).map_err(|e| anyhow::anyhow!("--norm: {e}"))).transpose()?,
            };
            // A judge trained at several checkpoints (staged judging) is evaluated at each.
            let specs = eval::checkpoint_specs(&judge)?;
            let problems = load_problems(&problems).context("loading problems")?;
            let listed: std::collections::HashSet<&str> = problems.iter().map(|p| p.pid.as_str()).collect();
            let mut model = if baselines_only { None } else { Some(backend::model_judge(&judge, dev, batch, kernels, None)?) };
            let mut embedding: Option<Box<dyn PairJudge>> =
                if base == "none" { None } else { Some(backend::embedding_judge(std::path::Path::new(&base), dev, batch, Default::default())?) };
            for file in &traces {
                let mut set = load_traces(file).with_context(|| format!("loading {}", file.display()))?;
                set.problems.retain(|(pid, _)| listed.contains(pid.as_str()));
                for spec in &specs {
                    let pairs = eval::eval_pairs(&set, spec, max_pairs, seed)?;
                    let model = model.as_mut().map(|m| -> &mut dyn PairJudge { m.as_mut() });
                    let embedding = embedding.as_mut().map(|e| -> &mut dyn PairJudge { e.as_mut() });
                    let (report, scores) = eval::evaluate(model, embedding, &pairs, spec)?;
                    if let Some(dir) = &roc {
                        // One trace file and cut: the folder itself; else a folder per file and cut.
                        let dir = match (traces.len(), specs.len()) {
                            (1, 1) => dir.clone(),
                            _ => dir.join(format!("{}-{}", trace_file_name(file), spec.count())),
                        };
                        eval::write_roc(&dir, &pairs, &scores, &report.prefix).map_err(anyhow::Error::msg).context("writing the ROC curves")?;
                    }
                    if json {
                        let mut v = serde_json::to_value(&report)?;
                        v["traces"] = serde_json::Value::String(file.display().to_string());
                        println!("{}", serde_json::to_string(&v)?);
                    } else {
                        println!("traces {}", file.display());
                        println!("prefix {}", report.prefix);
                        if let Some(m) = &report.model {
                            show("model", m);
                        }
                        show("lexical", &report.baselines.lexical);
                        if let Some(e) = &report.baselines.embedding {
                            show("embedding", e);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
