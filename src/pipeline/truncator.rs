//! The truncator stage: watches each trace's token stream and emits its prefix once complete.
//!
//! With staged judging (`truncator.later`) it goes on watching every trace still generating and
//! emits its prefix at each later checkpoint too; pruned traces stop generating, so they never
//! reach one (unless they overshoot it during `decision_delay_steps`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use super::clusterer::Clusterer;
use super::faults::{injected, Faults};
use super::redelivery::deliver;
use super::messages::{CloseProblem, OpenProblem, PrefixesReady, StepDecisions, TokenStep};
use super::PipelineError;
use crate::config::Stage;
use crate::trace::truncate::{CheckpointScanner, TruncationSpec};
use crate::trace::TracePrefix;

#[derive(Default)]
struct ProblemScan {
    n_traces: usize,
    scanners: HashMap<u32, CheckpointScanner>,
    done: HashSet<u32>,
    /// The last step scanned and what it completed: a step delivered again (after a downstream
    /// failure) is answered from here instead of feeding its tokens twice.
    last: Option<(u64, Scanned)>,
}

/// What one step completed: prefixes, and abstaining traces withdrawn before their prefix; with
/// staged judging, prefixes at later checkpoints and traces that abstained between checkpoints.
#[derive(Debug, Clone, Default)]
struct Scanned {
    prefixes: Vec<Arc<TracePrefix>>,
    withdrawn: Vec<u32>,
    later: Vec<(usize, Arc<TracePrefix>)>,
    abstained: Vec<u32>,
}

/// The truncator actor.
pub struct Truncator {
    spec: TruncationSpec,
    /// Staged judging's later checkpoints (`truncator.later`); empty for one checkpoint.
    later: Arc<[usize]>,
    clusterer: Addr<Clusterer>,
    faults: Arc<Faults>,
    problems: HashMap<Arc<str>, ProblemScan>,
    /// Traces whose prefix was the whole trace (they ended before the cut point).
    pub whole_trace_prefixes: u64,
    /// Traces withdrawn from clustering: they abstain (DeepConf stopped them, or they failed)
    /// and ended before the cut point.
    pub withdrawn: u64,
}

impl Truncator {
    /// A truncator cutting with `spec`, sending prefixes to `clusterer`.
    pub fn new(spec: TruncationSpec, clusterer: Addr<Clusterer>, faults: Arc<Faults>) -> Self {
        Self { spec, later: Arc::from([]), clusterer, faults, problems: HashMap::new(), whole_trace_prefixes: 0, withdrawn: 0 }
    }

    /// Staged judging: also cuts each trace at these later checkpoints (`truncator.later`).
    pub fn later_checkpoints(mut self, later: &[usize]) -> Self {
        self.later = later.into();
        self
    }

    /// Feeds a step's chunks once; returns what it completed, in sample order.
    fn scan(&mut self, step: &TokenStep) -> Result<Scanned, PipelineError> {
        let Some(problem) = self.problems.get_mut(&step.pid) else {
            return Err(PipelineError::Protocol(format!("truncator: tokens for unopened problem {}", step.pid)));
        };
        if let Some((last, ready)) = &problem.last {
            if *last == step.step {
                return Ok(ready.clone());
            }
        }
        let mut scanned = Scanned::default();
        for chunk in &step.chunks {
            if problem.done.contains(&chunk.sample) {
                continue;
            }
            let later = &self.later;
            let scanner =
                problem.scanners.entry(chunk.sample).or_insert_with(|| CheckpointScanner::new(&self.spec, later.clone()));
            let mut at = 0usize;
            let mut cuts = Vec::new();
            for &len in &chunk.token_lens {
                let end = (at + len as usize).min(chunk.bytes.len());
                cuts.extend(scanner.push_token(&chunk.bytes[at..end]));
                at = end;
                if scanner.next_checkpoint().is_none() {
                    break;
                }
            }
            match scanner.next_checkpoint() {
                Some(0) if chunk.ended && chunk.abstains => {
                    self.withdrawn += 1;
                    scanned.withdrawn.push(chunk.sample);
                }
                Some(_) if chunk.ended && chunk.abstains => scanned.abstained.push(chunk.sample),
                Some(_) if chunk.ended => cuts.extend(scanner.finish()),
                _ => {}
            }
            if chunk.ended || scanner.next_checkpoint().is_none() {
                problem.scanners.remove(&chunk.sample);
                problem.done.insert(chunk.sample);
            }
            for c in cuts {
                let prefix = Arc::new(TracePrefix {
                    pid: step.pid.clone(),
                    sample: chunk.sample,
                    text: c.text,
                    tokens: c.cut.tokens,
                    whole_trace: c.cut.whole_trace,
                    answer_class: None,
                });
                if c.checkpoint == 0 {
                    self.whole_trace_prefixes += c.cut.whole_trace as u64;
                    scanned.prefixes.push(prefix);
                } else {
                    scanned.later.push((c.checkpoint, prefix));
                }
            }
        }
        scanned.prefixes.sort_by_key(|p| p.sample);
        scanned.withdrawn.sort_unstable();
        scanned.later.sort_by_key(|(checkpoint, p)| (*checkpoint, p.sample));
        scanned.abstained.sort_unstable();
        problem.last = Some((step.step, scanned.clone()));
        Ok(scanned)
    }
}

impl Actor for Truncator {
    type Context = Context<Self>;
}

impl Supervised for Truncator {
    /// The scanners are committed state and survive; only the replies owed are lost, and the
    /// generator delivers those steps again.
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.faults.restarted(Stage::Truncator);
    }
}

impl Handler<OpenProblem> for Truncator {
    type Result = Result<(), PipelineError>;
    fn handle(&mut self, msg: OpenProblem, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Truncator) {
            return Err(injected(Stage::Truncator, mode, ctx));
        }
        self.problems.entry(msg.pid).or_default().n_traces = msg.n_traces;
        Ok(())
    }
}

impl Handler<CloseProblem> for Truncator {
    type Result = Result<(), PipelineError>;
    fn handle(&mut self, msg: CloseProblem, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Truncator) {
            return Err(injected(Stage::Truncator, mode, ctx));
        }
        self.problems.remove(&msg.pid);
        Ok(())
    }
}

impl Handler<TokenStep> for Truncator {
    type Result = ResponseFuture<Result<StepDecisions, PipelineError>>;

    fn handle(&mut self, step: TokenStep, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Truncator) {
            let e = injected(Stage::Truncator, mode, ctx);
            return Box::pin(async move { Err(e) });
        }
        let scanned = self.scan(&step);
        let (clusterer, faults) = (self.clusterer.clone(), self.faults.clone());
        Box::pin(async move {
            let Scanned { prefixes, withdrawn, later, abstained } = scanned?;
            if prefixes.is_empty() && withdrawn.is_empty() && later.is_empty() && abstained.is_empty() {
                return Ok(StepDecisions::default());
            }
            let ready = PrefixesReady { pid: step.pid, step: step.step, prefixes, withdrawn, later, abstained };
            deliver(&faults, Stage::Clusterer, &clusterer, ready).await
        })
    }
}

/// Run driver → truncator: how many prefixes were whole traces, and how many traces were
/// withdrawn before their prefix.
#[derive(Message)]
#[rtype(result = "(u64, u64)")]
pub struct GetPrefixCounts;

impl Handler<GetPrefixCounts> for Truncator {
    type Result = MessageResult<GetPrefixCounts>;
    fn handle(&mut self, _: GetPrefixCounts, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.whole_trace_prefixes, self.withdrawn))
    }
}
