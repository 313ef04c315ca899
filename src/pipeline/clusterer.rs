//! The clusterer stage: DeepPrune's online greedy clustering over each problem's prefixes.
//!
//! Prefixes of one problem are assigned strictly in order (each may found a cluster the next one
//! joins); problems proceed concurrently, so their comparisons share the judge's batches.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use super::judge_batcher::BatcherHandle;
use super::messages::{ClustersFinal, OpenProblem, PrefixesReady, StepDecisions};
use super::voter::Voter;
use super::PipelineError;
use crate::cluster::{ClusterParams, GreedyClustering};
use crate::judge::PairInput;
use crate::trace::TracePrefix;

/// One problem's clustering state.
#[derive(Debug, Clone)]
pub struct ProblemClusters {
    n_traces: usize,
    clustering: GreedyClustering,
    prefixes: HashMap<u32, Arc<TracePrefix>>,
    judge_pairs: u64,
}

/// The clusterer actor.
pub struct Clusterer {
    params: ClusterParams,
    /// False for `judge.kind: none`: every trace founds its own cluster and nothing is pruned.
    prune: bool,
    batcher: BatcherHandle,
    voter: Addr<Voter>,
    problems: HashMap<Arc<str>, ProblemClusters>,
}

impl Clusterer {
    /// A clusterer asking `batcher` for similarities and reporting final clusters to `voter`.
    pub fn new(params: ClusterParams, prune: bool, batcher: BatcherHandle, voter: Addr<Voter>) -> Self {
        Self { params, prune, batcher, voter, problems: HashMap::new() }
    }
}

impl Actor for Clusterer {
    type Context = Context<Self>;
}

impl Supervised for Clusterer {}

impl Handler<OpenProblem> for Clusterer {
    type Result = ();
    fn handle(&mut self, msg: OpenProblem, _: &mut Context<Self>) {
        let state = ProblemClusters {
            n_traces: msg.n_traces,
            clustering: GreedyClustering::new(self.params, &msg.pid),
            prefixes: HashMap::new(),
            judge_pairs: 0,
        };
        self.problems.insert(msg.pid, state);
    }
}

/// Assigns each prefix in order, asking the batcher for the similarities it needs.
async fn assign_all(
    mut state: ProblemClusters,
    prefixes: Vec<Arc<TracePrefix>>,
    prune: bool,
    batcher: BatcherHandle,
) -> (ProblemClusters, Result<StepDecisions, PipelineError>) {
    let mut decisions = StepDecisions::default();
    for prefix in prefixes {
        let comparisons = if prune { state.clustering.comparisons(prefix.sample) } else { Vec::new() };
        let mut similarities = Vec::new();
        if !comparisons.is_empty() {
            let pairs = comparisons
                .iter()
                .filter_map(|c| state.prefixes.get(&c.member).map(|m| PairInput { a: prefix.clone(), b: m.clone() }))
                .collect::<Vec<_>>();
            state.judge_pairs += pairs.len() as u64;
            match batcher.judge(pairs).await {
                Ok(s) => similarities = s,
                Err(e) => return (state, Err(e)),
            }
        }
        let assignment = state.clustering.assign(prefix.sample, &comparisons, &similarities);
        tracing::debug!(pid = %prefix.pid, trace = prefix.sample, stage = "clusterer", ?assignment, "assigned");
        let sample = prefix.sample;
        state.prefixes.insert(sample, prefix);
        decisions.assignments.push((sample, assignment));
    }
    (state, Ok(decisions))
}

impl Handler<PrefixesReady> for Clusterer {
    type Result = ResponseActFuture<Self, Result<StepDecisions, PipelineError>>;

    fn handle(&mut self, msg: PrefixesReady, _: &mut Context<Self>) -> Self::Result {
        let Some(state) = self.problems.remove(&msg.pid) else {
            let err = PipelineError::Protocol(format!("clusterer: prefixes for unopened problem {}", msg.pid));
            return Box::pin(actix::fut::ready(Err(err)));
        };
        let pid = msg.pid.clone();
        let voter = self.voter.clone();
        let fut = assign_all(state, msg.prefixes, self.prune, self.batcher.clone());
        Box::pin(fut.into_actor(self).then(move |(state, decisions), act, _| {
            let complete = state.prefixes.len() >= state.n_traces;
            let final_msg = complete.then(|| ClustersFinal {
                pid: pid.clone(),
                clusters: state.clustering.clusters().to_vec(),
                judge_pairs: state.judge_pairs,
            });
            if !complete {
                act.problems.insert(pid, state);
            }
            async move {
                let mut decisions = decisions?;
                if let Some(msg) = final_msg {
                    decisions.survivors = Some(voter.send(msg).await?);
                }
                Ok(decisions)
            }
            .into_actor(act)
        }))
    }
}
