//! The clusterer stage: DeepPrune's online greedy clustering over each problem's prefixes.
//!
//! Prefixes of one problem are assigned strictly in order (each may found a cluster the next one
//! joins); problems proceed concurrently, so their comparisons share the judge's batches.
//!
//! A step works on a copy of its problem's clusters and commits it when the step's decisions
//! are known. A restart in the middle drops the copy, not the committed clusters; the truncator
//! delivers the step again. A step delivered again after it was committed is answered with the
//! decisions it already got.
//!
//! Staged judging (`truncator.later`, `clusterer.band`): a prefix whose decision falls in the
//! band around τ leaves its trace waiting, in no cluster and still generating. At its next
//! checkpoint the trace is judged again, against each cluster's members that reached that
//! checkpoint, with their prefixes there; the last checkpoint, or a prefix that is the whole
//! trace, decides with band 0. A step registers all its later prefixes before judging any, so a
//! founder that reaches a checkpoint in the same step as a waiting trace is compared at it.
//! Waiting traces are judged before the step's new first-checkpoint prefixes: they came first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use super::faults::{injected, Faults};
use super::redelivery::deliver;
use super::judge_batcher::BatcherHandle;
use super::messages::{ClustersFinal, OpenProblem, PrefixesReady, StepDecisions};
use super::voter::Voter;
use super::PipelineError;
use crate::cluster::{Assignment, ClusterParams, GreedyClustering};
use crate::config::Stage;
use crate::judge::PairInput;
use crate::report::StagedCounts;
use crate::trace::TracePrefix;

/// Staged judging's settings.
#[derive(Debug, Clone, Default)]
pub struct Staging {
    /// `clusterer.band`: a decision whose best mean similarity lies within it of τ waits.
    pub band: f32,
    /// Every checkpoint: `truncator.count`, then each of `truncator.later`. One (or none) means
    /// no staging.
    pub checkpoints: Vec<usize>,
}

impl Staging {
    fn active(&self) -> bool {
        self.checkpoints.len() > 1
    }

    /// The band for deciding `prefix` at `checkpoint`: 0 where no longer prefix can follow (the
    /// last checkpoint, or the trace ended before this one).
    fn band_at(&self, checkpoint: usize, prefix: &TracePrefix) -> f32 {
        if checkpoint + 1 >= self.checkpoints.len() || prefix.whole_trace { 0.0 } else { self.band }
    }
}

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
    /// Staged judging: traces whose decision waits, with their first prefix and the checkpoint
    /// they were last judged at. They are not in `prefixes` until decided.
    waiting: BTreeMap<u32, (Arc<TracePrefix>, usize)>,
    /// Staged judging: prefixes at later checkpoints, by `(sample, checkpoint)`.
    later: HashMap<(u32, usize), Arc<TracePrefix>>,
    /// Staged judging's counts; `None` without staging.
    staged: Option<StagedCounts>,
}

impl ProblemClusters {
    /// Traces clustered or withdrawn.
    fn settled(&self) -> usize {
        self.prefixes.len() + self.withdrawn.len()
    }

    /// `member`'s prefix at `checkpoint`, or where it has not reached it (it stopped, or is
    /// slower in a live run), its longest one: never a token it did not generate.
    fn prefix_at(&self, member: u32, checkpoint: usize) -> Option<&Arc<TracePrefix>> {
        (1..=checkpoint).rev().find_map(|c| self.later.get(&(member, c))).or_else(|| self.prefixes.get(&member))
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
    staging: Staging,
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
            staging: Staging::default(),
            problems: HashMap::new(),
            finished: HashMap::new(),
            latencies_us: Vec::new(),
        }
    }

    /// Staged judging: decisions within `staging.band` of τ wait for a later checkpoint.
    pub fn staged(mut self, staging: Staging) -> Self {
        self.staging = staging;
        self
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
    type Result = ResponseFuture<Result<(), PipelineError>>;

    /// Opens the problem, and tells the batcher it may send pairs before the problem's first
    /// step can come (the reply waits for that).
    fn handle(&mut self, msg: OpenProblem, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(mode) = self.faults.on_message(Stage::Clusterer) {
            let e = injected(Stage::Clusterer, mode, ctx);
            return Box::pin(std::future::ready(Err(e)));
        }
        if self.finished.contains_key(&msg.pid) {
            return Box::pin(std::future::ready(Ok(())));
        }
        let (params, staging) = (self.params, &self.staging);
        self.problems.entry(msg.pid.clone()).or_insert_with(|| ProblemClusters {
            n_traces: msg.n_traces,
            clustering: GreedyClustering::new(params, &msg.pid),
            prefixes: HashMap::new(),
            withdrawn: HashSet::new(),
            judge_pairs: 0,
            last: None,
            waiting: BTreeMap::new(),
            later: HashMap::new(),
            staged: staging.active().then(|| StagedCounts::new(staging.checkpoints.clone())),
        });
        let batcher = self.batcher.clone();
        Box::pin(async move {
            batcher.open_caller(msg.pid).await;
            Ok(())
        })
    }
}

/// What one step brings the clusterer (the parts of [`PrefixesReady`] it judges).
struct StepPrefixes {
    prefixes: Vec<Arc<TracePrefix>>,
    later: Vec<(usize, Arc<TracePrefix>)>,
    abstained: Vec<u32>,
}

/// How a step's prefixes are judged.
struct Judging {
    prune: bool,
    batcher: BatcherHandle,
    staging: Staging,
}

/// Assigns each prefix in order, asking the batcher for the similarities it needs: first the
/// waiting traces that reached a later checkpoint, then the new prefixes.
async fn assign_all(
    mut state: ProblemClusters,
    step: StepPrefixes,
    judging: &Judging,
    latencies_us: &mut Vec<u32>,
) -> (ProblemClusters, Result<StepDecisions, PipelineError>) {
    let mut decisions = StepDecisions::default();
    let mut due = Vec::new();
    for (checkpoint, prefix) in step.later {
        if state.waiting.contains_key(&prefix.sample) {
            due.push((checkpoint, prefix.clone()));
        }
        state.later.insert((prefix.sample, checkpoint), prefix);
    }
    due.sort_by_key(|(checkpoint, p)| (*checkpoint, p.sample));
    for (checkpoint, prefix) in due {
        // A trace that ended reaches every later checkpoint at once; its first decides it.
        if state.waiting.get(&prefix.sample).is_none_or(|&(_, judged_at)| judged_at >= checkpoint) {
            continue;
        }
        if let Err(e) = decide(&mut state, prefix, checkpoint, judging, &mut decisions, latencies_us).await {
            return (state, Err(e));
        }
    }
    for prefix in step.prefixes {
        if let Err(e) = decide(&mut state, prefix, 0, judging, &mut decisions, latencies_us).await {
            return (state, Err(e));
        }
    }
    for sample in step.abstained {
        if state.waiting.remove(&sample).is_some() {
            state.withdrawn.insert(sample);
            if let Some(st) = &mut state.staged {
                st.withdrawn += 1;
            }
        }
    }
    (state, Ok(decisions))
}

/// Judges `prefix`, its trace's prefix at `checkpoint`, against the current clusters, and
/// either assigns the trace or leaves it waiting.
async fn decide(
    state: &mut ProblemClusters,
    prefix: Arc<TracePrefix>,
    checkpoint: usize,
    judging: &Judging,
    decisions: &mut StepDecisions,
    latencies_us: &mut Vec<u32>,
) -> Result<(), PipelineError> {
    let taken_up = std::time::Instant::now();
    let mut judge_wait = std::time::Duration::ZERO;
    let sample = prefix.sample;
    let comparisons = match (judging.prune, checkpoint) {
        (false, _) => Vec::new(),
        (true, 0) => state.clustering.comparisons(sample),
        (true, _) => state.clustering.comparisons_among(sample, |m| state.later.contains_key(&(m, checkpoint))),
    };
    let mut similarities = Vec::new();
    if !comparisons.is_empty() {
        let pairs = comparisons
            .iter()
            .filter_map(|c| state.prefix_at(c.member, checkpoint).map(|m| PairInput { a: prefix.clone(), b: m.clone() }))
            .collect::<Vec<_>>();
        state.judge_pairs += pairs.len() as u64;
        let asked = std::time::Instant::now();
        let scored = judging.batcher.judge(pairs).await;
        judge_wait += asked.elapsed();
        similarities = scored?;
    }
    let band = judging.staging.band_at(checkpoint, &prefix);
    let decided = state.clustering.decide(sample, &comparisons, &similarities, band);
    tracing::debug!(pid = %prefix.pid, trace = sample, stage = "clusterer", checkpoint, ?decided, "judged");
    match decided {
        Some(assignment) => record_decision(state, prefix, checkpoint, assignment, decisions),
        None => {
            let first = match state.waiting.remove(&sample) {
                Some((first, _)) => first,
                None => {
                    if let Some(st) = &mut state.staged {
                        st.waited += 1;
                    }
                    prefix
                }
            };
            state.waiting.insert(sample, (first, checkpoint));
        }
    }
    let decided_in = taken_up.elapsed().saturating_sub(judge_wait);
    latencies_us.push(u32::try_from(decided_in.as_micros()).unwrap_or(u32::MAX));
    Ok(())
}

/// Clusters a decided trace: its first prefix is the one later traces are compared with at the
/// first checkpoint.
fn record_decision(
    state: &mut ProblemClusters,
    prefix: Arc<TracePrefix>,
    checkpoint: usize,
    assignment: Assignment,
    decisions: &mut StepDecisions,
) {
    let sample = prefix.sample;
    let first = state.waiting.remove(&sample).map_or_else(|| prefix.clone(), |(first, _)| first);
    if let Some(st) = &mut state.staged {
        if let (Some(d), Some(p)) = (st.decided.get_mut(checkpoint), st.pruned.get_mut(checkpoint)) {
            *d += 1;
            *p += assignment.prunes() as u64;
        }
        st.wait_tokens += prefix.tokens.saturating_sub(first.tokens) as u64;
    }
    state.prefixes.insert(sample, first);
    decisions.assignments.push((sample, assignment));
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
        if self.finished.contains_key(&msg.pid) {
            // Staged judging: traces still generating reach later checkpoints after every trace
            // of the problem was decided; nothing waits for their prefixes.
            return Box::pin(actix::fut::ready(Ok(StepDecisions::default())));
        }
        let Some(state) = self.problems.get(&msg.pid).cloned() else {
            let err = PipelineError::Protocol(format!("clusterer: prefixes for unopened problem {}", msg.pid));
            return Box::pin(actix::fut::ready(Err(err)));
        };
        let pid = msg.pid.clone();
        let (voter, faults) = (self.voter.clone(), self.faults.clone());
        let judging = Judging { prune: self.prune, batcher: self.batcher.clone(), staging: self.staging.clone() };
        let decided = async move {
            let mut latencies = Vec::new();
            let step = StepPrefixes { prefixes: msg.prefixes, later: msg.later, abstained: msg.abstained };
            let (mut state, decisions) = assign_all(state, step, &judging, &mut latencies).await;
            state.withdrawn.extend(msg.withdrawn);
            let decided_in = latencies;
            let mut decisions = decisions?;
            let complete = state.settled() >= state.n_traces;
            if complete {
                // Its pairs are all judged: the batcher need not wait for more from it.
                judging.batcher.close_caller(pid.clone()).await;
                let msg = ClustersFinal {
                    pid: pid.clone(),
                    clusters: state.clustering.clusters().to_vec(),
                    judge_pairs: state.judge_pairs,
                    staged: state.staged.clone(),
                };
                decisions.survivors = Some(deliver(&faults, Stage::Voter, &voter, msg).await?);
            }
            Ok((pid, state, decisions, decided_in))
        };
        Box::pin(decided.into_actor(self).map(move |result: Result<_, PipelineError>, act, _| {
            // Commit: the step's clusters and decisions become the problem's state.
            let (pid, mut state, decisions, decided_in) = result?;
            // A step delivered again while it was still being decided (its sender restarted) is
            // decided twice at once. The first to finish commits; the other must not overwrite
            // what came after it, or a later step's prefixes, which are never sent again, are
            // lost and a waiting trace is never settled.
            let committed = match (act.finished.get(&pid), act.problems.get(&pid)) {
                (Some((last, decided)), _) | (None, Some(ProblemClusters { last: Some((last, decided)), .. })) => {
                    Some((*last, decided))
                }
                _ => None,
            };
            if let Some((last, decided)) = committed.filter(|&(last, _)| last >= step) {
                return Ok(if last == step { decided.clone() } else { decisions });
            }
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
