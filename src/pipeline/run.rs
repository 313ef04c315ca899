//! Builds the five actors from a pipeline config, replays the data, and collects the report.
//!
//! A run ends when every problem has finished, when a stage fails, or when its [`Interrupt`]
//! fires: then it stops waiting and reports the problems that finished, with status
//! `interrupted`. Each problem goes to the run's [`ProblemSink`] as it finishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;

use super::clusterer::{Clusterer, GetDecisionLatencies, Staging};
use super::generator::{Downstream, Generator, ProblemSource, ReplayProblem, SourceProblem, Start};
use super::faults::Faults;
use super::judge_batcher::{BatchPolicy, BatcherHandle, GetStats, JudgeBatcher};
use super::live::{self, LiveContext};
use super::shutdown::Interrupt;
use super::truncator::{GetPrefixCounts, Truncator};
use super::voter::Voter;
use super::PipelineError;
use crate::answer::Answer;
use crate::config::{
    DeepConfConfig, GeneratorKind, GeneratorSource, JudgeKind, PipelineConfig, ReplaySource, StopPolicy, VirtualSteps,
};
use crate::deepconf::DeepConfParams;
use crate::judge::{build, PairJudge};
use crate::judge::worker::JudgeWorker;
use crate::report::{self, stamp, Baseline, BatcherStats, ProblemResult, ProblemSink, RunReport, RunStatus};
use crate::trace::dataset::{check_gold, check_traces_have_problems, load_problems, load_traces, TraceSet};
use crate::trace::{Problem, Trace};

/// The recorded data a replay run reads.
#[derive(Debug, Clone)]
pub struct ReplayData {
    /// Problems, for their gold answers.
    pub problems: Vec<Problem>,
    /// Traces grouped by problem.
    pub traces: TraceSet,
}

impl ReplayData {
    /// Loads the generator's `problems` and `traces` files.
    pub fn load(config: &PipelineConfig) -> Result<Self, PipelineError> {
        Ok(match &config.generator.source {
            // The synthetic source makes its problems as it goes.
            GeneratorSource::Synthetic(_) => Self { problems: Vec::new(), traces: TraceSet::default() },
            // A live run generates its traces.
            GeneratorSource::Openai(o) => Self { problems: load_problems(&o.problems)?, traces: TraceSet::default() },
            GeneratorSource::Replay(r) => Self { problems: load_problems(&r.problems)?, traces: load_traces(&r.traces)? },
        })
    }

    /// Checks that a graded run can grade every problem it runs: a replay's traces are all of
    /// problems in the problems file (the whole file: a trace of no problem means the two files
    /// do not belong together), and each problem the run reaches (after `max_problems`) has a
    /// gold answer. An ungraded run (`generator.ungraded: true`) and a synthetic one pass.
    pub fn check_graded(&self, config: &PipelineConfig) -> Result<(), PipelineError> {
        match &config.generator.source {
            GeneratorSource::Synthetic(_) => {}
            GeneratorSource::Replay(r) if !r.ungraded => {
                check_traces_have_problems(&r.traces, &self.traces, &r.problems, &self.problems)?;
                let reached = self.traces.problems.iter().take(r.max_problems.unwrap_or(usize::MAX));
                check_gold(&r.problems, &self.problems, reached.map(|(pid, _)| pid.as_str()))?;
            }
            GeneratorSource::Openai(o) if !o.ungraded => {
                let reached = self.problems.iter().take(o.max_problems.unwrap_or(usize::MAX));
                check_gold(&o.problems, &self.problems, reached.map(|p| p.pid.as_str()))?;
            }
            GeneratorSource::Replay(_) | GeneratorSource::Openai(_) => {}
        }
        Ok(())
    }
}

/// The problems a run replays: the traces file's order, limited by `max_problems` and
/// `max_traces`, each trace checked for token boundaries.
fn select(g: &ReplaySource, data: &ReplayData) -> Result<Vec<(String, Vec<Arc<Trace>>)>, PipelineError> {
    let mut out = Vec::new();
    for (pid, traces) in data.traces.problems.iter().take(g.max_problems.unwrap_or(usize::MAX)) {
        let traces: Vec<Arc<Trace>> = traces.iter().take(g.max_traces.unwrap_or(usize::MAX)).cloned().collect();
        if let Some(t) = traces.iter().find(|t| t.tok_bytes.is_none()) {
            return Err(PipelineError::Generator(format!(
                "trace {} has no `tok_bytes`; the replay generator needs token boundaries to stream it",
                t.name()
            )));
        }
        out.push((pid.clone(), traces));
    }
    Ok(out)
}

/// Peak resident set size of this process (Linux `VmHWM`), when known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((q * (sorted_us.len() - 1) as f64).round() as usize).min(sorted_us.len() - 1);
    f64::from(sorted_us[i]) / 1e3
}

/// The problems of a run, made one at a time as the generator reaches them, and the cons@N
/// baseline of each, recorded as it is made.
struct Sources {
    source: ProblemSource,
    n_problems: usize,
    baselines: Arc<Mutex<HashMap<String, Baseline>>>,
    /// Replay order, to sort results; synthetic problems sort by id.
    order: HashMap<String, usize>,
    /// The replayed traces, for a judge that reads their reference labels (`oracle`).
    selected: Vec<(String, Vec<Arc<Trace>>)>,
    /// What live problems share, for the report's `live` section.
    live: Option<Arc<LiveContext>>,
}

/// The generator's problems. This is the one place that looks at the generator's kind.
fn sources(config: &PipelineConfig, data: &ReplayData) -> Result<Sources, PipelineError> {
    let baselines: Arc<Mutex<HashMap<String, Baseline>>> = Arc::default();
    let record = baselines.clone();
    // Every problem with complete traces has a cons@N baseline, graded or not, so the token
    // reduction compares the same problems' tokens.
    let make = move |pid: &str, traces: Vec<Arc<Trace>>, gold: Option<String>, steps: VirtualSteps| {
        let b = report::baseline(&traces, gold.as_deref().map(Answer::parse).as_ref());
        record.lock().unwrap_or_else(|p| p.into_inner()).insert(pid.to_string(), b);
        (ReplayProblem::new(pid.into(), traces, steps.tokens_per_step, steps.decision_delay_steps), gold)
    };
    data.check_graded(config)?;
    // An ungraded run reads no gold answer, so that no problem is graded and none is reported.
    let ungraded = config.generator.ungraded();
    match &config.generator.source {
        GeneratorSource::Openai(o) => {
            let mut problems = live::live_problems(&data.problems, o.max_problems);
            if ungraded {
                problems.iter_mut().for_each(|p| p.gold = None);
            }
            let order = problems.iter().enumerate().map(|(i, p)| (p.pid.to_string(), i)).collect();
            let n_problems = problems.len();
            let ctx = LiveContext::new(
                o.openai.clone(),
                config.output.record.as_deref(),
                o.deepconf.deepconf_window,
                deepconf_params(&o.deepconf),
            )?;
            let shared = ctx.clone();
            let source = problems.into_iter().map(move |problem| SourceProblem::Live { problem, ctx: shared.clone() });
            Ok(Sources { source: Box::new(source), n_problems, baselines, order, selected: Vec::new(), live: Some(ctx) })
        }
        GeneratorSource::Synthetic(s) => {
            let (syn, steps) = (s.synthetic.clone(), s.steps);
            let n_problems = syn.problems;
            let source = (0..n_problems).map(move |i| {
                let (traces, gold) = syn.problem(i);
                let (problem, gold) = make(&syn.pid(i), traces, Some(gold), steps);
                SourceProblem::Replay { problem, gold }
            });
            Ok(Sources { source: Box::new(source), n_problems, baselines, order: HashMap::new(), selected: Vec::new(), live: None })
        }
        GeneratorSource::Replay(r) => {
            let selected = select(r, data)?;
            let gold: HashMap<String, String> = if ungraded {
                HashMap::new()
            } else {
                data.problems.iter().filter_map(|p| p.gold.clone().map(|g| (p.pid.clone(), g))).collect()
            };
            let deepconf = deepconf_params(&r.deepconf);
            let order = selected.iter().enumerate().map(|(i, (p, _))| (p.clone(), i)).collect();
            // Replay data is in memory already; DeepConf is applied (and checked) up front.
            let mut problems = Vec::with_capacity(selected.len());
            for (pid, traces) in selected.iter().cloned() {
                let (mut problem, gold) = make(&pid, traces, gold.get(&pid).cloned(), r.steps);
                if let Some(params) = deepconf {
                    problem = problem.with_deepconf(params).map_err(PipelineError::Generator)?;
                }
                problems.push(SourceProblem::Replay { problem, gold });
            }
            let n_problems = problems.len();
            Ok(Sources { source: Box::new(problems.into_iter()), n_problems, baselines, order, selected, live: None })
        }
    }
}

/// DeepConf's parameters for the generator's `stop_policy`, if it asks for one.
fn deepconf_params(g: &DeepConfConfig) -> Option<DeepConfParams> {
    match g.stop_policy {
        StopPolicy::None => None,
        StopPolicy::DeepconfLow => Some(DeepConfParams::low(g.deepconf_window, g.deepconf_warmup)),
        StopPolicy::DeepconfHigh => Some(DeepConfParams::high(g.deepconf_window, g.deepconf_warmup)),
    }
}

/// What a run is given besides its config and data: a progress bar, an interrupt that stops it
/// early, and a sink each problem goes to as it finishes. The default has none of them.
#[derive(Debug, Default)]
pub struct RunHooks {
    /// Advanced once per finished problem.
    pub progress: Option<indicatif::ProgressBar>,
    /// When it fires, the run stops waiting and reports the problems that finished so far, with
    /// status `interrupted`.
    pub interrupt: Option<Interrupt>,
    /// Each finished problem, its baseline attached, is appended here as it finishes.
    pub sink: Option<ProblemSink>,
}

/// How long an interrupted run waits for the stages' counters and the servers' answers before
/// it reports without them.
const INTERRUPTED_GRACE: Duration = Duration::from_secs(2);

/// Runs a pipeline to completion inside the current actix system.
pub async fn run(
    config: &PipelineConfig,
    data: &ReplayData,
    progress: Option<indicatif::ProgressBar>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    run_judged(config, data, RunHooks { progress, ..RunHooks::default() }, None).await
}

/// [`run`] with an interrupt and a sink as well ([`RunHooks`]).
pub async fn run_with(
    config: &PipelineConfig,
    data: &ReplayData,
    hooks: RunHooks,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    run_judged(config, data, hooks, None).await
}

/// Runs a pipeline with `judge` scoring its pairs instead of the judge `judge.kind` names (a
/// hand-made judge, in tests). `judge.kind: none` still prunes nothing.
pub async fn run_with_judge(
    config: &PipelineConfig,
    data: &ReplayData,
    progress: Option<indicatif::ProgressBar>,
    judge: Box<dyn PairJudge>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    run_judged(config, data, RunHooks { progress, ..RunHooks::default() }, Some(judge)).await
}

async fn run_judged(
    config: &PipelineConfig,
    data: &ReplayData,
    hooks: RunHooks,
    judge: Option<Box<dyn PairJudge>>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    let (started_at, start) = (SystemTime::now(), Instant::now());
    let RunHooks { progress, interrupt, mut sink } = hooks;
    let mut interrupt = interrupt.unwrap_or_else(Interrupt::never);
    if config.generator.kind() != GeneratorKind::Replay && config.judge.kind == JudgeKind::Oracle {
        return Err(PipelineError::Generator(
            "judge.kind oracle reads reference labels from the replay data; the synthetic and openai generators have none".into(),
        ));
    }
    let Sources { source, n_problems, baselines, order, selected, live } = sources(config, data)?;

    let judge_config = config.judge.clone();
    let judge_data = selected;
    let delay = Duration::from_millis(config.faults.judge_delay_ms);
    let make = move || {
        let judge = match judge {
            Some(judge) => judge,
            None => build::make_judge(&judge_config, &judge_data)?,
        };
        Ok(build::slowed(judge, delay))
    };
    let (worker, _worker_thread) = JudgeWorker::spawn(make, config.judge.queue)?;
    let judge_name = worker.name().to_string();
    let prune = config.judge.kind != JudgeKind::None;

    let (result_tx, mut result_rx) = tokio::sync::mpsc::unbounded_channel();
    let (error_tx, mut error_rx) = tokio::sync::mpsc::unbounded_channel();
    let faults = Faults::new(config.faults.clone(), error_tx.clone());
    let (policy, top_k) = (config.voter.finish, config.voter.top_k);
    let warmup = config.generator.deepconf().and_then(deepconf_params).map(|p| p.n_init);
    let f = faults.clone();
    let voter = Supervisor::start(move |_| {
        let voter = Voter::new(policy, top_k, prune, result_tx, f);
        match warmup {
            Some(n) => voter.deepconf(n),
            None => voter,
        }
    });
    let policy = BatchPolicy {
        max_pairs: config.judge.max_batch_pairs,
        max_tokens: config.judge.max_batch_tokens,
        max_pair_len: crate::judge::MAX_PAIR_TOKENS,
        max_wait: Duration::from_millis(config.judge.max_wait_ms),
        max_inflight: config.judge.queue,
        batch_timeout: Duration::from_secs_f64(config.judge.batch_timeout_s),
    };
    let f = faults.clone();
    let batcher =
        BatcherHandle::new(Supervisor::start(move |_| JudgeBatcher::new(worker, policy, f)), config.judge.max_queue_pairs);
    let params = crate::cluster::ClusterParams::from_config(&config.clusterer);
    let staging = Staging { band: config.clusterer.band, checkpoints: config.truncator.checkpoints() };
    let (b, v, f) = (batcher.clone(), voter.clone(), faults.clone());
    let clusterer = Supervisor::start(move |_| Clusterer::new(params, prune, b, v, f).staged(staging));
    let (spec, later) = (config.truncator.spec(), config.truncator.later.clone());
    let (c, f) = (clusterer.clone(), faults.clone());
    let truncator = Supervisor::start(move |_| Truncator::new(spec, c, f).later_checkpoints(&later));
    let down = Downstream { truncator: truncator.clone(), clusterer: clusterer.clone(), voter };
    let concurrent = config.generator.concurrent_problems;
    let f = faults.clone();
    let before = match &live {
        Some(ctx) => ctx.server_tokens().await,
        None => None,
    };
    // The generator's address is held until the run ends: an actor without one is not restarted
    // after a fault, and its problems would stall.
    let generator = Supervisor::start(move |_| Generator::new(source, concurrent, down, error_tx, f));
    generator.send(Start).await?;

    let mut results = Vec::with_capacity(n_problems);
    let mut interrupted = false;
    while results.len() < n_problems {
        tokio::select! {
            Some(mut r) = result_rx.recv() => {
                // Baselines on the same traces, in full: what plain self-consistency would have
                // done. A problem's is recorded when the generator takes it up, before it ends.
                r.baseline = baselines.lock().unwrap_or_else(|p| p.into_inner()).remove(&r.pid);
                if let Some(sink) = &mut sink {
                    sink.append(&r).map_err(|source| PipelineError::Output { path: sink.path().to_path_buf(), source })?;
                }
                if let Some(pb) = &progress {
                    pb.inc(1);
                }
                results.push(r);
            }
            Some(e) = error_rx.recv() => return Err(e),
            _ = interrupt.fired() => {
                interrupted = true;
                break;
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if interrupted {
        if let Some(ctx) = &live {
            ctx.abort_in_flight().await;
        }
    }
    results.sort_by(|a, b| {
        let rank = |r: &ProblemResult| order.get(&r.pid).copied().unwrap_or(usize::MAX);
        rank(a).cmp(&rank(b)).then_with(|| a.pid.cmp(&b.pid))
    });

    let counters = async {
        let stats = batcher.addr().send(GetStats).await?;
        let latencies = clusterer.send(GetDecisionLatencies).await?;
        let prefixes = truncator.send(GetPrefixCounts).await?;
        Ok::<(BatcherStats, Vec<u32>, (u64, u64)), PipelineError>((stats, latencies, prefixes))
    };
    let (stats, mut latencies, prefixes) = if interrupted {
        // The stages may be busy with work the run no longer waits for: their counters are
        // read if they answer soon, else left at zero.
        tokio::time::timeout(INTERRUPTED_GRACE, counters).await.ok().and_then(Result::ok).unwrap_or_default()
    } else {
        counters.await?
    };
    latencies.sort_unstable();
    let mut report = RunReport::from_results(&results, &judge_name, wall);
    report.status = if interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
    report.run_id = stamp::new_run_id();
    report.started_at = stamp::rfc3339_utc(started_at);
    // The API key serialises as `<redacted>`; one read from the environment is not in the config.
    report.config = serde_json::to_value(config).expect("a config serialises to JSON; this is a bug");
    (report.whole_trace_prefixes, report.withdrawn_traces) = prefixes;
    // Waiting traces withdrawn between checkpoints are withdrawn from clustering too.
    report.withdrawn_traces += report.staged.as_ref().map_or(0, |s| s.withdrawn);
    report.judge_batches = stats.batches;
    report.judge_busy_seconds = stats.judge_busy_seconds;
    report.judge_dropped_pairs = stats.dropped;
    report.judge_batcher = stats;
    report.restarts = faults.restart_counts();
    report.injected_faults = faults.injected_counts();
    report.max_mailbox_depth = faults.max_mailbox_depths();
    report.token_events_per_sec = report.tokens as f64 / wall.max(1e-9);
    report.traces_per_sec = report.traces as f64 / wall.max(1e-9);
    report.decision_latency_p50_ms = percentile_ms(&latencies, 0.5);
    report.decision_latency_p99_ms = percentile_ms(&latencies, 0.99);
    report.decision_latency_max_ms = latencies.last().map_or(0.0, |&us| f64::from(us) / 1e3);
    report.peak_rss_bytes = peak_rss_bytes().unwrap_or(0);
    if let Some(ctx) = live {
        let after = if interrupted {
            tokio::time::timeout(INTERRUPTED_GRACE, ctx.server_tokens()).await.ok().flatten()
        } else {
            ctx.server_tokens_settled().await
        };
        let live = ctx.report(before, after);
        if let (false, Some(why)) = (interrupted, live.every_trace_failed()) {
            report.status = RunStatus::Failed;
            report.failure = Some(why);
        }
        report.live = Some(live);
    }
    Ok((results, report))
}

/// Runs a replay pipeline in a fresh actix system on this thread.
pub fn run_blocking(
    config: &PipelineConfig,
    data: &ReplayData,
    progress: Option<indicatif::ProgressBar>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    let system = actix::System::new();
    let out = system.block_on(run(config, data, progress));
    out
}

/// [`run_with`] in a fresh actix system on this thread. The system is dropped before this
/// returns, and with it every actor and task of the run: live streams still open are dropped,
/// which closes their connections.
pub fn run_blocking_with(
    config: &PipelineConfig,
    data: &ReplayData,
    hooks: RunHooks,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    let system = actix::System::new();
    let out = system.block_on(run_with(config, data, hooks));
    out
}

/// [`run_with_judge`] in a fresh actix system on this thread.
pub fn run_blocking_with_judge(
    config: &PipelineConfig,
    data: &ReplayData,
    judge: Box<dyn PairJudge>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    let system = actix::System::new();
    let out = system.block_on(run_with_judge(config, data, None, judge));
    out
}
