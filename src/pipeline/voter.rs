//! The voter stage: picks the traces to complete once a problem is clustered, and votes their
//! answers once they finish.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use super::faults::{injected, Faults};
use super::messages::{ClustersFinal, OpenProblem, TraceEnd, TraceEnded};
use super::PipelineError;
use crate::answer::{self, Answer};
use crate::cluster::Cluster;
use crate::config::{FinishPolicy, Stage};
use crate::report::ProblemResult;
use crate::vote::{self, Ballot};

struct ProblemVote {
    n_traces: usize,
    gold: Option<Answer>,
    clusters: Option<Vec<Cluster>>,
    survivors: Vec<u32>,
    judge_pairs: u64,
    staged: Option<crate::report::StagedCounts>,
    ended: HashMap<u32, TraceEnded>,
}

/// The voter actor.
pub struct Voter {
    policy: FinishPolicy,
    top_k: usize,
    prune: bool,
    /// DeepConf: weight each vote by the trace's lowest group confidence.
    confidence_weighted: bool,
    /// DeepConf's warm-up traces, always completed (see [`vote::survivors`]); 0 without DeepConf.
    warmup: usize,
    problems: HashMap<Arc<str>, ProblemVote>,
    /// Problems already voted: messages about them delivered again are ignored.
    voted: HashSet<Arc<str>>,
    results: tokio::sync::mpsc::UnboundedSender<ProblemResult>,
    faults: Arc<Faults>,
}

impl Voter {
    /// A voter sending each finished problem's result to `results`.
    pub fn new(
        policy: FinishPolicy,
        top_k: usize,
        prune: bool,
        results: tokio::sync::mpsc::UnboundedSender<ProblemResult>,
        faults: Arc<Faults>,
    ) -> Self {
        Self {
            policy,
            top_k,
            prune,
            confidence_weighted: false,
            warmup: 0,
            problems: HashMap::new(),
            voted: HashSet::new(),
            results,
            faults,
        }
    }

    /// DeepConf: weights votes by confidence, and completes the first `warmup` traces.
    pub fn deepconf(mut self, warmup: usize) -> Self {
        self.confidence_weighted = true;
        self.warmup = warmup;
        self
    }

    /// Votes a problem once it is clustered and every trace has ended.
    fn try_finish(&mut self, pid: &Arc<str>) {
        let Some(p) = self.problems.get(pid) else { return };
        let Some(clusters) = &p.clusters else { return };
        if p.ended.len() < p.n_traces {
            return;
        }
        let ballots: Vec<Ballot> = p
            .survivors
            .iter()
            .map(|s| {
                let ended = p.ended.get(s).filter(|e| !matches!(e.end, TraceEnd::LowConfidence | TraceEnd::Failed));
                let confidence = ended.and_then(|e| e.confidence).filter(|_| self.confidence_weighted);
                Ballot {
                    answer: ended.and_then(|e| answer::extract_with_finish(&e.text, e.finish)).map(|a| Answer::parse(&a)),
                    weight: vote::vote_weight(self.policy, clusters, *s, self.prune, &p.survivors) * confidence.map_or(1.0, f64::from),
                }
            })
            .collect();
        let winner = vote::majority(&ballots).and_then(|i| ballots[i].answer.clone());
        let mut pruned: Vec<u32> = p.ended.values().filter(|e| matches!(e.end, TraceEnd::Stopped | TraceEnd::LowConfidence)).map(|e| e.sample).collect();
        pruned.sort_unstable();
        let result = ProblemResult {
            pid: pid.to_string(),
            n_traces: p.n_traces,
            correct: p.gold.as_ref().map(|g| winner.as_ref().is_some_and(|w| w.equivalent(g))),
            answer: winner.map(|w| w.normalized().to_string()),
            tokens: p.ended.values().map(|e| e.tokens).sum(),
            clusters: clusters.iter().map(|c| c.members.clone()).collect(),
            forced_joins: {
                let mut f: Vec<u32> = clusters.iter().flat_map(|c| c.forced.iter().copied()).collect();
                f.sort_unstable();
                f
            },
            survivors: p.survivors.clone(),
            pruned,
            judge_pairs: p.judge_pairs,
            baseline: None,
            staged: p.staged.clone(),
        };
        tracing::info!(pid = %pid, stage = "voter", answer = ?result.answer, correct = ?result.correct, tokens = result.tokens, "voted");
        self.problems.remove(pid);
        self.voted.insert(pid.clone());
        let _ = self.results.send(result);
    }
}

impl Actor for Voter {
    type Context = Context<Self>;
}

impl Supervised for Voter {
    /// The pending traces are committed state and survive; the voter owes no replies in flight.
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.faults.restarted(Stage::Voter);
    }
}

impl Handler<OpenProblem> for Voter {
    type Result = Result<(), PipelineError>;
    fn handle(&mut self, msg: OpenProblem, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Voter) {
            return Err(injected(Stage::Voter, mode, ctx));
        }
        if self.voted.contains(&msg.pid) {
            return Ok(());
        }
        self.problems.entry(msg.pid).or_insert_with(|| ProblemVote {
            n_traces: msg.n_traces,
            gold: msg.gold.map(|g| Answer::parse(&g)),
            clusters: None,
            survivors: Vec::new(),
            judge_pairs: 0,
            staged: None,
            ended: HashMap::new(),
        });
        Ok(())
    }
}

impl Handler<ClustersFinal> for Voter {
    type Result = Result<Vec<u32>, PipelineError>;
    fn handle(&mut self, msg: ClustersFinal, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Voter) {
            return Err(injected(Stage::Voter, mode, ctx));
        }
        // A pure function of the clusters: the same answer however often it is asked.
        let survivors = vote::survivors(self.policy, &msg.clusters, self.top_k, self.prune, self.warmup);
        if let Some(p) = self.problems.get_mut(&msg.pid) {
            p.survivors = survivors.clone();
            p.clusters = Some(msg.clusters);
            p.judge_pairs = msg.judge_pairs;
            p.staged = msg.staged;
        }
        self.try_finish(&msg.pid);
        Ok(survivors)
    }
}

impl Handler<TraceEnded> for Voter {
    type Result = Result<(), PipelineError>;
    fn handle(&mut self, msg: TraceEnded, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Voter) {
            return Err(injected(Stage::Voter, mode, ctx));
        }
        let pid = msg.pid.clone();
        if let Some(p) = self.problems.get_mut(&pid) {
            p.ended.insert(msg.sample, msg);
        }
        self.try_finish(&pid);
        Ok(())
    }
}
