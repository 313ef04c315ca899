//! The clusterer stage: DeepPrune's online greedy clustering over each problem's prefixes.
//!
//! Prefixes of one problem are assigned strictly in order (each may found a cluster the next one
//! joins); problems proceed concurrently, so their comparisons share the judge's batches.
//!
//! A step works on a copy of its problem's clusters and commits it when the step's decisions
//! are known. A restart in the middle drops the copy, not the committed clusters; the truncator
//! delivers the step again. A step delivered again after it was committed is answered with the
//! decisions it already got.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use super::faults::{deliver, injected, Faults};
use super::judge_batcher::BatcherHandle;
use super::messages::{ClustersFinal, OpenProblem, PrefixesReady, StepDecisions};
use super::voter::Voter;
use super::PipelineError;
use crate::cluster::{ClusterParams, GreedyClustering};
use crate::config::Stage;
use crate::judge::PairInput;
use crate::trace::TracePrefix;

/// One problem's clustering state.
#[derive(Debug, Clone)]
pub struct ProblemClusters {
    n_traces: usize,
    clustering: GreedyClustering,
    prefixes: HashMap<u32, Arc<TracePrefix>>,
    /// Traces withdrawn before their prefix (they abstain): settled, never clustered.
    withdrawn: HashSet<u32>,
    judge_pairs: u64,
    /// The last committed step and its decisions.
    last: Option<(u64, StepDecisions)>,
}

impl ProblemClusters {
    /// Traces clustered or withdrawn.
    fn settled(&self) -> usize {
        self.prefixes.len() + self.withdrawn.len()
    }
}

/// The clusterer actor.
pub struct Clusterer {
    params: ClusterParams,
    /// False for `judge.kind: none`: every trace founds its own cluster and nothing is pruned.
    prune: bool,
    batcher: BatcherHandle,
    voter: Addr<Voter>,
    faults: Arc<Faults>,
    problems: HashMap<Arc<str>, ProblemClusters>,
    /// Problems whose every trace is clustered: their final step's decisions, for redelivery.
    finished: HashMap<Arc<str>, (u64, StepDecisions)>,
    /// Per decided prefix (of committed steps): microseconds from taking the prefix up to
    /// deciding it, minus the time spent waiting for the judge's scores.
    latencies_us: Vec<u32>,
}

/// Run driver → clusterer: the decision latencies so far (microseconds, excluding the judge).
#[derive(Message)]
#[rtype(result = "Vec<u32>")]
pub struct GetDecisionLatencies;

impl Handler<GetDecisionLatencies> for Clusterer {
    type Result = MessageResult<GetDecisionLatencies>;
    fn handle(&mut self, _: GetDecisionLatencies, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.latencies_us.clone())
    }
}

impl Clusterer {
    /// A clusterer asking `batcher` for similarities and reporting final clusters to `voter`.
    pub fn new(params: ClusterParams, prune: bool, batcher: BatcherHandle, voter: Addr<Voter>, faults: Arc<Faults>) -> Self {
        Self {
            params,
            prune,
            batcher,
            voter,
            faults,
            problems: HashMap::new(),
            finished: HashMap::new(),
            latencies_us: Vec::new(),
        }
    }
}

impl Actor for Clusterer {
    type Context = Context<Self>;
}

impl Supervised for Clusterer {
    /// Committed clusters survive; the steps in flight are dropped and delivered again.
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.faults.restarted(Stage::Clusterer);
    }
}

impl Handler<OpenProblem> for Clusterer {
    type Result = Result<(), PipelineError>;
    fn handle(&mut self, msg: OpenProblem, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Clusterer) {
            return Err(injected(Stage::Clusterer, mode, ctx));
        }
        if self.finished.contains_key(&msg.pid) {
            return Ok(());
        }
        let params = self.params;
        self.problems.entry(msg.pid.clone()).or_insert_with(|| ProblemClusters {
            n_traces: msg.n_traces,
            clustering: GreedyClustering::new(params, &msg.pid),
            prefixes: HashMap::new(),
            withdrawn: HashSet::new(),
            judge_pairs: 0,
            last: None,
        });
        Ok(())
    }
}

/// Assigns each prefix in order, asking the batcher for the similarities it needs.
async fn assign_all(
    mut state: ProblemClusters,
    prefixes: Vec<Arc<TracePrefix>>,
    prune: bool,
    batcher: BatcherHandle,
    latencies_us: &mut Vec<u32>,
) -> (ProblemClusters, Result<StepDecisions, PipelineError>) {
    let mut decisions = StepDecisions::default();
    for prefix in prefixes {
        let taken_up = std::time::Instant::now();
        let mut judge_wait = std::time::Duration::ZERO;
        let comparisons = if prune { state.clustering.comparisons(prefix.sample) } else { Vec::new() };
        let mut similarities = Vec::new();
        if !comparisons.is_empty() {
            let pairs = comparisons
                .iter()
                .filter_map(|c| state.prefixes.get(&c.member).map(|m| PairInput { a: prefix.clone(), b: m.clone() }))
                .collect::<Vec<_>>();
            state.judge_pairs += pairs.len() as u64;
            let asked = std::time::Instant::now();
            let scored = batcher.judge(pairs).await;
            judge_wait += asked.elapsed();
            match scored {
                Ok(s) => similarities = s,
                Err(e) => return (state, Err(e)),
            }
        }
        let assignment = state.clustering.assign(prefix.sample, &comparisons, &similarities);
        tracing::debug!(pid = %prefix.pid, trace = prefix.sample, stage = "clusterer", ?assignment, "assigned");
        let sample = prefix.sample;
        state.prefixes.insert(sample, prefix);
        decisions.assignments.push((sample, assignment));
        let decided_in = taken_up.elapsed().saturating_sub(judge_wait);
        latencies_us.push(u32::try_from(decided_in.as_micros()).unwrap_or(u32::MAX));
    }
    (state, Ok(decisions))
}

impl Handler<PrefixesReady> for Clusterer {
    type Result = ResponseActFuture<Self, Result<StepDecisions, PipelineError>>;

    fn handle(&mut self, msg: PrefixesReady, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Clusterer) {
            let e = injected(Stage::Clusterer, mode, ctx);
            return Box::pin(actix::fut::ready(Err(e)));
        }
        let step = msg.step;
        let redelivered = match (self.finished.get(&msg.pid), self.problems.get(&msg.pid)) {
            (Some((last, decisions)), _) | (None, Some(ProblemClusters { last: Some((last, decisions)), .. }))
                if *last == step =>
            {
                Some(decisions.clone())
            }
            _ => None,
        };
        if let Some(decisions) = redelivered {
            return Box::pin(actix::fut::ready(Ok(decisions)));
        }
        let Some(state) = self.problems.get(&msg.pid).cloned() else {
            let err = PipelineError::Protocol(format!("clusterer: prefixes for unopened problem {}", msg.pid));
            return Box::pin(actix::fut::ready(Err(err)));
        };
        let pid = msg.pid.clone();
        let (voter, faults) = (self.voter.clone(), self.faults.clone());
        let (prune, batcher) = (self.prune, self.batcher.clone());
        let decided = async move {
            let mut latencies = Vec::new();
            let (mut state, decisions) = assign_all(state, msg.prefixes, prune, batcher, &mut latencies).await;
            state.withdrawn.extend(msg.withdrawn);
            let decided_in = latencies;
            let mut decisions = decisions?;
            let complete = state.settled() >= state.n_traces;
            if complete {
                let msg = ClustersFinal {
                    pid: pid.clone(),
                    clusters: state.clustering.clusters().to_vec(),
                    judge_pairs: state.judge_pairs,
                };
                decisions.survivors = Some(deliver(&faults, Stage::Voter, &voter, msg).await?);
            }
            Ok((pid, state, decisions, decided_in))
        };
        Box::pin(decided.into_actor(self).map(move |result: Result<_, PipelineError>, act, _| {
            // Commit: the step's clusters and decisions become the problem's state.
            let (pid, mut state, decisions, decided_in) = result?;
            act.latencies_us.extend(decided_in);
            if state.settled() >= state.n_traces {
                act.problems.remove(&pid);
                act.finished.insert(pid, (step, decisions.clone()));
            } else {
                state.last = Some((step, decisions.clone()));
                act.problems.insert(pid, state);
            }
            Ok(decisions)
        }))
    }
}
