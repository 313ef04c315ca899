//! The truncator stage: watches each trace's token stream and emits its prefix once complete.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use super::clusterer::Clusterer;
use super::faults::{deliver, injected, Faults};
use super::messages::{CloseProblem, OpenProblem, PrefixesReady, StepDecisions, TokenStep};
use super::PipelineError;
use crate::config::Stage;
use crate::trace::truncate::{PrefixScanner, TruncationSpec};
use crate::trace::TracePrefix;

#[derive(Default)]
struct ProblemScan {
    n_traces: usize,
    scanners: HashMap<u32, PrefixScanner>,
    done: HashSet<u32>,
    /// The last step scanned and what it completed: a step delivered again (after a downstream
    /// failure) is answered from here instead of feeding its tokens twice.
    last: Option<(u64, Scanned)>,
}

/// What one step completed: prefixes, and abstaining traces withdrawn before their prefix.
#[derive(Debug, Clone, Default)]
struct Scanned {
    prefixes: Vec<Arc<TracePrefix>>,
    withdrawn: Vec<u32>,
}

/// The truncator actor.
pub struct Truncator {
    spec: TruncationSpec,
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
        Self { spec, clusterer, faults, problems: HashMap::new(), whole_trace_prefixes: 0, withdrawn: 0 }
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
        let mut ready = Vec::new();
        let mut withdrawn = Vec::new();
        for chunk in &step.chunks {
            if problem.done.contains(&chunk.sample) {
                continue;
            }
            let scanner = problem.scanners.entry(chunk.sample).or_insert_with(|| self.spec.scanner());
            let mut at = 0usize;
            let mut cut = None;
            for &len in &chunk.token_lens {
                let end = (at + len as usize).min(chunk.bytes.len());
                cut = scanner.push_token(&chunk.bytes[at..end]);
                at = end;
                if cut.is_some() {
                    break;
                }
            }
            if cut.is_none() && chunk.ended && chunk.abstains {
                problem.scanners.remove(&chunk.sample);
                problem.done.insert(chunk.sample);
                self.withdrawn += 1;
                withdrawn.push(chunk.sample);
                continue;
            }
            if cut.is_none() && chunk.ended {
                cut = scanner.finish();
            }
            if let Some(cut) = cut {
                let scanner = problem.scanners.remove(&chunk.sample).expect("scanner was just used; this is a bug");
                problem.done.insert(chunk.sample);
                self.whole_trace_prefixes += cut.whole_trace as u64;
                ready.push(Arc::new(TracePrefix {
                    pid: step.pid.clone(),
                    sample: chunk.sample,
                    text: scanner.prefix_text().into(),
                    tokens: cut.tokens,
                    whole_trace: cut.whole_trace,
                    answer_class: None,
                }));
            }
        }
        ready.sort_by_key(|p| p.sample);
        withdrawn.sort_unstable();
        let scanned = Scanned { prefixes: ready, withdrawn };
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
            let Scanned { prefixes, withdrawn } = scanned?;
            if prefixes.is_empty() && withdrawn.is_empty() {
                return Ok(StepDecisions::default());
            }
            let ready = PrefixesReady { pid: step.pid, step: step.step, prefixes, withdrawn };
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
