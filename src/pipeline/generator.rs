//! The generator stage: one supervised actor that keeps problems in flight, each replayed from
//! recorded or synthetic traces or generated live (see [`super::live`]).
//!
//! Replay runs in virtual time: all traces of a problem advance together, `tokens_per_step`
//! tokens per virtual step. After each step the generator waits for the step's prune decisions,
//! so a pruned trace stops at a deterministic point: `decision_delay_steps` steps after its
//! prefix completed. Its tokens count up to that point. Several problems are replayed at once, so the judge sees mixed batches.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use super::clusterer::Clusterer;
use super::faults::Faults;
use super::redelivery::deliver;
use super::live::{LiveContext, LiveProblem, LiveSource};
use super::messages::{CloseProblem, OpenProblem, StepDecisions, TokenChunk, TokenStep, TraceEnd, TraceEnded};
use super::truncator::Truncator;
use super::voter::Voter;
use super::PipelineError;
use crate::config::{FaultMode, Stage};
use crate::trace::Trace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    /// Stopped by a prune decision; resumed if the voter picks it to complete.
    Paused,
    Ended,
}

#[derive(Debug, Clone)]
struct TraceState {
    trace: Arc<Trace>,
    emitted_tokens: usize,
    emitted_bytes: usize,
    status: Status,
    /// Last virtual step on which a pruned trace still generates.
    stop_after: Option<u64>,
    /// DeepConf: the trace stops after this many tokens.
    confidence_stop: Option<usize>,
    /// DeepConf's warm-up trace: it runs in full, whatever the judge decides.
    warmup: bool,
}

/// One problem's replay: which traces run, how far each got, and its virtual clock.
#[derive(Debug, Clone)]
pub struct ReplayProblem {
    pid: Arc<str>,
    traces: Vec<TraceState>,
    step: u64,
    tokens_per_step: usize,
    delay: u64,
    survivors_known: bool,
    window: usize,
}

impl ReplayProblem {
    /// A replay of `traces` (each must carry `tok_bytes`).
    pub fn new(pid: Arc<str>, traces: Vec<Arc<Trace>>, tokens_per_step: usize, delay_steps: usize) -> Self {
        let traces = traces
            .into_iter()
            .map(|trace| TraceState {
                trace,
                emitted_tokens: 0,
                emitted_bytes: 0,
                status: Status::Running,
                stop_after: None,
                confidence_stop: None,
                warmup: false,
            })
            .collect();
        Self {
            pid,
            traces,
            step: 0,
            tokens_per_step: tokens_per_step.max(1),
            delay: delay_steps as u64,
            survivors_known: false,
            window: 64,
        }
    }

    /// Applies DeepConf: the first `params.n_init` traces (by sample index) run in full and set
    /// the threshold; every other trace stops where its group confidence first falls below it.
    /// The judge never stops a warm-up trace: the threshold is read off its whole trace, and the
    /// voter completes it (see [`crate::vote::survivors`]). Fails naming the trace if one has no
    /// `conf`.
    pub fn with_deepconf(mut self, params: crate::deepconf::DeepConfParams) -> Result<Self, String> {
        use crate::deepconf;
        self.window = params.window;
        let mut order: Vec<usize> = (0..self.traces.len()).collect();
        order.sort_by_key(|&i| self.traces[i].trace.sample);
        let conf_of = |t: &TraceState| {
            t.trace.conf.clone().ok_or_else(|| format!("trace {} has no `conf`; a deepconf stop_policy needs it", t.trace.name()))
        };
        let mut warm = Vec::new();
        for &i in order.iter().take(params.n_init) {
            self.traces[i].warmup = true;
            if let Some(low) = deepconf::lowest_group_confidence(&conf_of(&self.traces[i])?, params.window) {
                warm.push(low);
            }
        }
        let Some(s) = deepconf::threshold(&warm, params.eta) else { return Ok(self) };
        for &i in order.iter().skip(params.n_init) {
            let conf = conf_of(&self.traces[i])?;
            self.traces[i].confidence_stop = deepconf::stop_after(&conf, params.window, s);
        }
        Ok(self)
    }

    /// The problem id.
    pub fn pid(&self) -> &Arc<str> {
        &self.pid
    }

    /// Number of traces.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// True for a problem without traces.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// True once every trace has ended.
    pub fn done(&self) -> bool {
        self.traces.iter().all(|t| t.status == Status::Ended)
    }

    /// Advances the clock one step; returns the tokens emitted and the traces that ended.
    pub fn next_step(&mut self) -> (TokenStep, Vec<TraceEnded>) {
        self.step += 1;
        let mut chunks = Vec::new();
        let mut ended = Vec::new();
        for t in &mut self.traces {
            if t.status != Status::Running {
                continue;
            }
            let lens = t.trace.tok_bytes.as_deref().unwrap_or(&[]);
            let limit = t.confidence_stop.unwrap_or(usize::MAX).min(lens.len());
            let end_tok = (t.emitted_tokens + self.tokens_per_step).min(limit);
            let new_lens: Vec<u16> = lens[t.emitted_tokens..end_tok].iter().map(|&l| l as u16).collect();
            let new_bytes: usize = new_lens.iter().map(|&l| l as usize).sum();
            let text = t.trace.text.as_bytes();
            let bytes = text[t.emitted_bytes..(t.emitted_bytes + new_bytes).min(text.len())].to_vec();
            t.emitted_tokens = end_tok;
            t.emitted_bytes += new_bytes;
            let is_end = end_tok >= limit;
            let low_confidence = is_end && limit < lens.len();
            chunks.push(TokenChunk { sample: t.trace.sample, bytes, token_lens: new_lens, ended: is_end, abstains: low_confidence });
            if is_end {
                t.status = Status::Ended;
                let how = if low_confidence { TraceEnd::LowConfidence } else { TraceEnd::Finished };
                ended.push(ended_msg(&self.pid, t, how, self.window));
            }
        }
        (TokenStep { pid: self.pid.clone(), step: self.step, chunks }, ended)
    }

    /// Applies a step's decisions; returns the traces that stopped for good.
    pub fn apply(&mut self, decisions: &StepDecisions) -> Vec<TraceEnded> {
        let stop_after = self.step + self.delay;
        for (sample, assignment) in &decisions.assignments {
            if assignment.prunes() {
                if let Some(t) = self.traces.iter_mut().find(|t| t.trace.sample == *sample) {
                    if t.status == Status::Running && t.stop_after.is_none() && !t.warmup {
                        t.stop_after = Some(stop_after);
                    }
                }
            }
        }
        if let Some(survivors) = &decisions.survivors {
            self.survivors_known = true;
            for t in &mut self.traces {
                if survivors.contains(&t.trace.sample) {
                    t.stop_after = None;
                    if t.status == Status::Paused {
                        t.status = Status::Running;
                    }
                } else if t.status != Status::Ended && t.stop_after.is_none() {
                    t.stop_after = Some(stop_after);
                }
            }
        }
        self.settle()
    }

    /// Stops traces whose stop time has come: paused until the survivors are known, then ended.
    fn settle(&mut self) -> Vec<TraceEnded> {
        let mut ended = Vec::new();
        for t in &mut self.traces {
            if t.status == Status::Ended {
                continue;
            }
            if t.stop_after.is_some_and(|s| s <= self.step) {
                t.status = Status::Paused;
            }
            if t.status == Status::Paused && self.survivors_known {
                t.status = Status::Ended;
                ended.push(ended_msg(&self.pid, t, TraceEnd::Stopped, self.window));
            }
        }
        ended
    }
}

fn ended_msg(pid: &Arc<str>, t: &TraceState, end: TraceEnd, window: usize) -> TraceEnded {
    let text = crate::trace::truncate::valid_utf8_prefix(&t.trace.text.as_bytes()[..t.emitted_bytes]);
    let confidence = t
        .trace
        .conf
        .as_ref()
        .and_then(|c| crate::deepconf::lowest_group_confidence(&c[..t.emitted_tokens.min(c.len())], window));
    TraceEnded {
        pid: pid.clone(),
        sample: t.trace.sample,
        tokens: t.emitted_tokens as u64,
        text: text.into(),
        end,
        confidence,
        finish: t.trace.finish,
    }
}

/// Where the generator sends its messages.
#[derive(Clone)]
pub struct Downstream {
    /// The truncator.
    pub truncator: Addr<Truncator>,
    /// The clusterer.
    pub clusterer: Addr<Clusterer>,
    /// The voter.
    pub voter: Addr<Voter>,
}

/// A problem's traces as the generator steps them: replayed ([`ReplayProblem`]) or live
/// ([`LiveSource`]). The protocol with the stages downstream (open, send a step, apply its
/// decisions, report ended traces, close) is written once, in [`drive`]; a source only makes
/// steps and takes decisions.
// The generator's tasks run on actix's single-threaded runtime, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait TraceSource {
    /// True when a step can be made again after a fault: generator faults are injected, and a
    /// restarted generator resumes the problem from where it stood. Live requests cannot be
    /// made again, so a live problem runs on through a restart instead.
    const RESUMABLE: bool;

    /// The problem id.
    fn pid(&self) -> &Arc<str>;

    /// Its number of traces.
    fn n_traces(&self) -> usize;

    /// The next step and the traces that ended in it, or `None` once every trace has ended.
    async fn next_step(&mut self) -> Result<Option<(TokenStep, Vec<TraceEnded>)>, PipelineError>;

    /// Applies a step's decisions; returns the traces that stopped for good.
    fn apply(&mut self, decisions: &StepDecisions) -> Vec<TraceEnded>;

    /// Runs once the truncator has closed the problem.
    fn closed(&mut self) -> Result<(), PipelineError> {
        Ok(())
    }
}

impl TraceSource for ReplayProblem {
    const RESUMABLE: bool = true;

    fn pid(&self) -> &Arc<str> {
        &self.pid
    }

    fn n_traces(&self) -> usize {
        self.traces.len()
    }

    async fn next_step(&mut self) -> Result<Option<(TokenStep, Vec<TraceEnded>)>, PipelineError> {
        Ok((!self.done()).then(|| ReplayProblem::next_step(self)))
    }

    fn apply(&mut self, decisions: &StepDecisions) -> Vec<TraceEnded> {
        ReplayProblem::apply(self, decisions)
    }
}

/// One problem being generated. It is shared by the generator actor and the task driving it, so
/// a restarted generator resumes a replayed problem where it stood: a step sent but not
/// acknowledged is sent again (the stages downstream answer a repeated step from what they
/// already did).
pub struct Driven<S> {
    source: S,
    gold: Option<String>,
    opened: bool,
    /// The step sent and not yet acknowledged, with the traces that ended in it.
    pending: Option<(TokenStep, Vec<TraceEnded>)>,
    /// Trace ends decided and not yet acknowledged by the voter.
    outbox: Vec<TraceEnded>,
}

/// A problem's state, shared between the generator and its driving task.
pub type Shared<S> = Arc<tokio::sync::Mutex<Driven<S>>>;

impl<S> Driven<S> {
    /// A problem not yet started.
    pub fn new(source: S, gold: Option<String>) -> Shared<S> {
        Arc::new(tokio::sync::Mutex::new(Self { source, gold, opened: false, pending: None, outbox: Vec::new() }))
    }
}

/// Generates one problem to the end, or until a fault stops the generator.
pub async fn drive<S: TraceSource>(state: Shared<S>, down: Downstream, faults: Arc<Faults>) -> Result<(), PipelineError> {
    // Held until the task ends: a restarting generator drops its tasks before it resumes their
    // problems, and a dropped task leaves the state as it stood at its last await.
    let mut s = state.lock().await;
    let pid = s.source.pid().clone();
    if !s.opened {
        let open = OpenProblem { pid: pid.clone(), n_traces: s.source.n_traces(), gold: s.gold.clone() };
        deliver(&faults, Stage::Clusterer, &down.clusterer, open.clone()).await?;
        deliver(&faults, Stage::Truncator, &down.truncator, open.clone()).await?;
        deliver(&faults, Stage::Voter, &down.voter, open).await?;
        s.opened = true;
    }
    loop {
        // Trace ends decided by the last acknowledged step go first.
        for e in s.outbox.clone() {
            deliver(&faults, Stage::Voter, &down.voter, e).await?;
        }
        s.outbox.clear();
        if s.pending.is_none() {
            match s.source.next_step().await? {
                None => break,
                next => s.pending = next,
            }
        }
        let (step, mut ended) = s.pending.clone().expect("pending was set above; this is a bug");
        if S::RESUMABLE {
            match faults.on_message(Stage::Generator) {
                Some(FaultMode::Stop) => return Err(PipelineError::Restarted { stage: Stage::Generator.name() }),
                // The source failed this step: it is produced again.
                Some(FaultMode::Error) => continue,
                None => {}
            }
            if let Some(stall) = faults.generator_stall(step.step) {
                tokio::time::sleep(stall).await;
            }
        }
        let decisions = deliver(&faults, Stage::Truncator, &down.truncator, step).await?;
        ended.extend(s.source.apply(&decisions));
        s.outbox = ended;
        s.pending = None;
    }
    deliver(&faults, Stage::Truncator, &down.truncator, CloseProblem { pid }).await?;
    s.source.closed()
}

/// Generator → itself: start generating.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Start;

/// A problem as the generator's source makes it.
pub enum SourceProblem {
    /// Recorded or synthetic traces, replayed in virtual time.
    Replay {
        /// The replay.
        problem: ReplayProblem,
        /// Its reference answer, for grading.
        gold: Option<String>,
    },
    /// Traces generated by OpenAI-compatible servers.
    Live {
        /// The problem.
        problem: LiveProblem,
        /// The servers, counters and record it shares with the other live problems.
        ctx: Arc<LiveContext>,
    },
}

/// Problems for the generator, made as it reaches them.
pub type ProblemSource = Box<dyn Iterator<Item = SourceProblem>>;

/// A problem in flight.
enum InFlight {
    /// Replayed by a task of the actor, relaunched from its shared state after a restart.
    Replay(Shared<ReplayProblem>),
    /// Generated by a task of its own that runs on through a restart: its state is open
    /// requests, which a restart cannot resume. It reports its end with [`ProblemDone`].
    Live,
}

/// A live problem's task → generator: the problem has ended.
#[derive(Message)]
#[rtype(result = "()")]
struct ProblemDone {
    pid: Arc<str>,
    result: Result<(), PipelineError>,
}

/// The generator actor: keeps `concurrent` problems in flight, replayed or live.
pub struct Generator {
    source: ProblemSource,
    /// Problems in flight, by problem id.
    active: Vec<(Arc<str>, InFlight)>,
    concurrent: usize,
    down: Downstream,
    errors: tokio::sync::mpsc::UnboundedSender<PipelineError>,
    faults: Arc<Faults>,
}

impl Generator {
    /// A generator over the problems `source` makes.
    pub fn new(
        source: ProblemSource,
        concurrent: usize,
        down: Downstream,
        errors: tokio::sync::mpsc::UnboundedSender<PipelineError>,
        faults: Arc<Faults>,
    ) -> Self {
        Self {
            source,
            active: Vec::new(),
            concurrent: concurrent.max(1),
            down,
            errors,
            faults,
        }
    }

    fn spawn_drive(&mut self, pid: Arc<str>, state: Shared<ReplayProblem>, ctx: &mut Context<Self>) {
        let span = tracing::info_span!("problem", pid = %pid, stage = "generator");
        let fut = tracing::Instrument::instrument(drive(state, self.down.clone(), self.faults.clone()), span);
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Err(PipelineError::Restarted { .. }) => ctx.stop(),
            res => act.finish(&pid, res, ctx),
        }));
    }

    fn spawn_live(&mut self, problem: LiveProblem, live: Arc<LiveContext>, ctx: &mut Context<Self>) {
        let span = tracing::info_span!("problem", pid = %problem.pid, stage = "generator");
        let (down, faults, addr) = (self.down.clone(), self.faults.clone(), ctx.address());
        let (pid, gold) = (problem.pid.clone(), problem.gold.clone());
        let state = Driven::new(LiveSource::new(problem, live), gold);
        let started = Instant::now();
        actix::spawn(tracing::Instrument::instrument(
            async move {
                let result = drive(state, down, faults).await;
                tracing::debug!(%pid, seconds = started.elapsed().as_secs_f64(), "problem generated");
                // The address outlives restarts; it fails only once the run has ended.
                let _ = addr.send(ProblemDone { pid, result }).await;
            },
            span,
        ));
    }

    /// A problem ended: reports its error, if any, and starts the next problems.
    fn finish(&mut self, pid: &Arc<str>, result: Result<(), PipelineError>, ctx: &mut Context<Self>) {
        if let Some(i) = self.active.iter().position(|(p, _)| p == pid) {
            self.active.remove(i);
        }
        if let Err(e) = result {
            let _ = self.errors.send(e);
        }
        self.launch(ctx);
    }

    fn launch(&mut self, ctx: &mut Context<Self>) {
        while self.active.len() < self.concurrent {
            let Some(next) = self.source.next() else { break };
            match next {
                SourceProblem::Replay { problem, gold } => {
                    let pid = problem.pid().clone();
                    let state = Driven::new(problem, gold);
                    self.active.push((pid.clone(), InFlight::Replay(state.clone())));
                    self.spawn_drive(pid, state, ctx);
                }
                SourceProblem::Live { problem, ctx: live } => {
                    self.active.push((problem.pid.clone(), InFlight::Live));
                    self.spawn_live(problem, live, ctx);
                }
            }
        }
    }
}

impl Actor for Generator {
    type Context = Context<Self>;

    /// Also runs after a restart: every replayed problem in flight resumes from its shared
    /// state (live ones never stopped).
    fn started(&mut self, ctx: &mut Context<Self>) {
        let replays: Vec<_> = self
            .active
            .iter()
            .filter_map(|(pid, f)| match f {
                InFlight::Replay(state) => Some((pid.clone(), state.clone())),
                InFlight::Live => None,
            })
            .collect();
        for (pid, state) in replays {
            self.spawn_drive(pid, state, ctx);
        }
    }
}

impl Supervised for Generator {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.faults.restarted(Stage::Generator);
    }
}

impl Handler<Start> for Generator {
    type Result = ();
    fn handle(&mut self, _: Start, ctx: &mut Context<Self>) {
        self.launch(ctx);
    }
}

impl Handler<ProblemDone> for Generator {
    type Result = ();
    fn handle(&mut self, msg: ProblemDone, ctx: &mut Context<Self>) {
        self.finish(&msg.pid, msg.result, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Assignment;

    fn trace(sample: u32, n: usize) -> Arc<Trace> {
        Arc::new(Trace {
            pid: "p".into(),
            sample,
            text: "x".repeat(n).into(),
            tok_bytes: Some(vec![1; n]),
            conf: None,
            finish: None,
            answer: None,
            answer_class: None,
            correct: None,
        })
    }

    #[test]
    fn pruned_trace_stops_after_the_delay_and_survivor_resumes() {
        for delay in [0usize, 2] {
            let mut p = ReplayProblem::new("p".into(), vec![trace(0, 40), trace(1, 40)], 4, delay);
            p.next_step();
            let pruned = StepDecisions {
                assignments: vec![(0, Assignment::Founded { cluster: 0 }), (1, Assignment::Joined { cluster: 0, similarity: 0.9 })],
                survivors: None,
            };
            assert!(p.apply(&pruned).is_empty());
            let mut last = None;
            for _ in 0..3 {
                let (step, _) = p.next_step();
                last = Some(step.chunks.iter().map(|c| c.sample).collect::<Vec<_>>());
                p.apply(&StepDecisions::default());
            }
            // Trace 1 ran `delay` more steps after its decision, then paused.
            assert_eq!(p.traces[1].emitted_tokens, 4 + 4 * delay);
            assert_eq!(last.unwrap(), vec![0]);
            // The voter keeps only trace 0: trace 1 ends as stopped.
            let ended = p.apply(&StepDecisions { assignments: vec![], survivors: Some(vec![0]) });
            assert_eq!(ended.iter().map(|e| (e.sample, e.end, e.tokens)).collect::<Vec<_>>(), vec![(1, TraceEnd::Stopped, 4 + 4 * delay as u64)]);
            while !p.done() {
                let (_, ended) = p.next_step();
                p.apply(&StepDecisions::default());
                if let Some(e) = ended.first() {
                    assert_eq!((e.sample, e.end, e.tokens), (0, TraceEnd::Finished, 40));
                }
            }
        }
    }

    #[test]
    fn deepconf_stops_late_traces_below_the_warmup_threshold() {
        let with_conf = |sample: u32, conf: Vec<f32>| {
            let mut t = (*trace(sample, conf.len())).clone();
            t.conf = Some(conf);
            Arc::new(t)
        };
        // Warm-up trace 0 has lowest group confidence 5 (window 2); trace 1 dips to 2 at token 4.
        let traces = vec![with_conf(0, vec![5.0; 8]), with_conf(1, vec![9.0, 9.0, 2.0, 2.0, 9.0, 9.0, 9.0, 9.0])];
        let params = crate::deepconf::DeepConfParams { window: 2, n_init: 1, eta: 10.0 };
        let mut p = ReplayProblem::new("p".into(), traces, 3, 0).with_deepconf(params).unwrap();
        let mut ends = Vec::new();
        while !p.done() {
            let (_, ended) = p.next_step();
            ends.extend(ended.into_iter().map(|e| (e.sample, e.end, e.tokens)));
        }
        assert_eq!(ends, vec![(1, TraceEnd::LowConfidence, 4), (0, TraceEnd::Finished, 8)]);
        let missing = ReplayProblem::new("p".into(), vec![trace(0, 4)], 3, 0).with_deepconf(params);
        assert!(missing.unwrap_err().contains("p#0 has no `conf`"));
    }

    #[test]
    fn paused_survivor_resumes_to_the_end() {
        let mut p = ReplayProblem::new("p".into(), vec![trace(0, 10), trace(1, 10)], 4, 0);
        p.next_step();
        p.apply(&StepDecisions { assignments: vec![(1, Assignment::Joined { cluster: 0, similarity: 1.0 })], survivors: None });
        assert_eq!(p.traces[1].status, Status::Paused);
        p.apply(&StepDecisions { assignments: vec![], survivors: Some(vec![0, 1]) });
        let mut total = Vec::new();
        while !p.done() {
            let (_, ended) = p.next_step();
            total.extend(ended.into_iter().map(|e| e.tokens));
        }
        assert_eq!(total, vec![10, 10]);
    }
}
