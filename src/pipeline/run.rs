//! Builds the five actors from a pipeline config, replays the data, and collects the report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::clusterer::Clusterer;
use super::generator::{Downstream, Generator, ReplayProblem, Start};
use super::faults::Faults;
use super::judge_batcher::{BatchPolicy, BatcherHandle, GetStats, JudgeBatcher};
use super::truncator::{GetWholeTracePrefixes, Truncator};
use super::voter::Voter;
use super::PipelineError;
use crate::answer::Answer;
use crate::config::{JudgeKind, PipelineConfig, StopPolicy};
use crate::deepconf::DeepConfParams;
use crate::judge::backend;
use crate::judge::lexical::LexicalJudge;
use crate::judge::oracle::OracleJudge;
use crate::judge::worker::JudgeWorker;
use crate::judge::{JudgeError, PairInput, PairJudge};
use crate::report::{self, ProblemResult, RunReport};
use crate::trace::dataset::{load_problems, load_traces, TraceSet};
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
        let missing = |key: &str| PipelineError::Generator(format!("generator.{key} is not set"));
        let problems = load_problems(config.generator.problems.as_deref().ok_or_else(|| missing("problems"))?)?;
        let traces = load_traces(config.generator.traces.as_deref().ok_or_else(|| missing("traces"))?)?;
        Ok(Self { problems, traces })
    }
}

/// Judge for `judge.kind: none`: the clusterer never asks it anything.
struct NoJudge;

impl PairJudge for NoJudge {
    fn name(&self) -> &str {
        "none"
    }
    fn score(&mut self, _: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        Err(JudgeError::Model("judge.kind is none; no pair should be judged".into()))
    }
}

fn make_judge(config: &PipelineConfig, selected: &[(String, Vec<Arc<Trace>>)]) -> Result<Box<dyn PairJudge>, JudgeError> {
    Ok(match config.judge.kind {
        JudgeKind::Oracle => {
            let mut labels = HashMap::new();
            for (pid, traces) in selected {
                let pid: Arc<str> = pid.as_str().into();
                for t in traces {
                    let class = t.answer_class.ok_or_else(|| JudgeError::NoLabel { trace: t.name() })?;
                    labels.insert((pid.clone(), t.sample), class);
                }
            }
            Box::new(OracleJudge::new(labels))
        }
        JudgeKind::Lexical => Box::new(LexicalJudge::default()),
        JudgeKind::Model => {
            let dir = config.judge.path.as_deref().ok_or_else(|| JudgeError::Model("judge.path is not set".into()))?;
            backend::model_judge(dir, config.judge.device, config.judge.model_batch)?
        }
        JudgeKind::Embedding => {
            let default = std::path::PathBuf::from(crate::judge::bert::weights::BASE_MODEL_DIR);
            let dir = config.judge.path.clone().unwrap_or(default);
            backend::embedding_judge(&dir, config.judge.device, config.judge.model_batch)?
        }
        JudgeKind::None => Box::new(NoJudge),
    })
}

/// The problems a run replays: the traces file's order, limited by `max_problems` and
/// `max_traces`, each trace checked for token boundaries.
fn select(config: &PipelineConfig, data: &ReplayData) -> Result<Vec<(String, Vec<Arc<Trace>>)>, PipelineError> {
    let g = &config.generator;
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

/// Runs a replay pipeline to completion inside the current actix system.
pub async fn run(
    config: &PipelineConfig,
    data: &ReplayData,
    progress: Option<indicatif::ProgressBar>,
) -> Result<(Vec<ProblemResult>, RunReport), PipelineError> {
    let start = Instant::now();
    let selected = select(config, data)?;
    let gold: HashMap<&str, &str> =
        data.problems.iter().filter_map(|p| p.gold.as_deref().map(|g| (p.pid.as_str(), g))).collect();

    let judge_config = config.clone();
    let judge_data = selected.clone();
    let (worker, _worker_thread) = JudgeWorker::spawn(move || make_judge(&judge_config, &judge_data), config.judge.queue)?;
    let judge_name = worker.name().to_string();
    let prune = config.judge.kind != JudgeKind::None;

    let (result_tx, mut result_rx) = tokio::sync::mpsc::unbounded_channel();
    let (error_tx, mut error_rx) = tokio::sync::mpsc::unbounded_channel();
    let faults = Faults::new(config.faults.clone(), error_tx.clone());
    let (policy, top_k) = (config.voter.finish, config.voter.top_k);
    let confidence_weighted = config.generator.stop_policy != StopPolicy::None;
    let f = faults.clone();
    let voter = Supervisor::start(move |_| {
        Voter::new(policy, top_k, prune, result_tx, f).confidence_weighted(confidence_weighted)
    });
    let policy = BatchPolicy {
        max_pairs: config.judge.max_batch_pairs,
        max_tokens: config.judge.max_batch_tokens,
        max_pair_len: crate::judge::MAX_PAIR_TOKENS,
        max_wait: Duration::from_millis(config.judge.max_wait_ms),
        max_inflight: config.judge.queue,
    };
    let f = faults.clone();
    let batcher =
        BatcherHandle::new(Supervisor::start(move |_| JudgeBatcher::new(worker, policy, f)), config.judge.max_queue_pairs);
    let params = config.cluster_params();
    let (b, v, f) = (batcher.clone(), voter.clone(), faults.clone());
    let clusterer = Supervisor::start(move |_| Clusterer::new(params, prune, b, v, f));
    let spec = config.truncator.spec();
    let (c, f) = (clusterer.clone(), faults.clone());
    let truncator = Supervisor::start(move |_| Truncator::new(spec, c, f));
    let down = Downstream { truncator: truncator.clone(), clusterer, voter };
    let g = &config.generator;
    let deepconf = match g.stop_policy {
        StopPolicy::None => None,
        StopPolicy::DeepconfLow => Some(DeepConfParams::low(g.deepconf_window, g.deepconf_warmup)),
        StopPolicy::DeepconfHigh => Some(DeepConfParams::high(g.deepconf_window, g.deepconf_warmup)),
    };
    let mut problems: Vec<(ReplayProblem, Option<String>)> = Vec::with_capacity(selected.len());
    for (pid, traces) in &selected {
        let mut replay =
            ReplayProblem::new(pid.as_str().into(), traces.clone(), g.tokens_per_step, g.decision_delay_steps);
        if let Some(params) = deepconf {
            replay = replay.with_deepconf(params).map_err(PipelineError::Generator)?;
        }
        problems.push((replay, gold.get(pid.as_str()).map(|g| g.to_string())));
    }
    let n_problems = problems.len();
    let concurrent = config.generator.concurrent_problems;
    let f = faults.clone();
    let generator = Supervisor::start(move |_| Generator::new(problems, concurrent, down, error_tx, f));
    generator.do_send(Start);

    let mut results = Vec::with_capacity(n_problems);
    while results.len() < n_problems {
        tokio::select! {
            Some(r) = result_rx.recv() => {
                if let Some(pb) = &progress {
                    pb.inc(1);
                }
                results.push(r);
            }
            Some(e) = error_rx.recv() => return Err(e),
        }
    }

    // Baselines on the same traces, in full: what plain self-consistency would have done.
    let by_pid: HashMap<&str, &Vec<Arc<Trace>>> = selected.iter().map(|(p, t)| (p.as_str(), t)).collect();
    for r in &mut results {
        if let (Some(traces), Some(g)) = (by_pid.get(r.pid.as_str()), gold.get(r.pid.as_str())) {
            r.baseline = Some(report::baseline(traces, &Answer::parse(g)));
        }
    }
    let order: HashMap<&str, usize> = selected.iter().enumerate().map(|(i, (p, _))| (p.as_str(), i)).collect();
    results.sort_by_key(|r| order.get(r.pid.as_str()).copied().unwrap_or(usize::MAX));

    let stats = batcher.addr().send(GetStats).await?;
    let mut report = RunReport::from_results(&results, &judge_name, start.elapsed().as_secs_f64());
    report.whole_trace_prefixes = truncator.send(GetWholeTracePrefixes).await?;
    report.judge_batches = stats.batches;
    report.judge_busy_seconds = stats.judge_busy_seconds;
    report.judge_dropped_pairs = stats.dropped;
    report.judge_batcher = stats;
    report.restarts = faults.restart_counts();
    report.injected_faults = faults.injected_counts();
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
