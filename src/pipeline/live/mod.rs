//! The live trace source: real traces from OpenAI-compatible servers, with pruned traces really
//! cancelled. [`LiveSource`] is the [`TraceSource`] the
//! [`Generator`](super::generator::Generator) actor steps for each live problem.
//!
//! Each problem is driven by one task. It starts one request per trace ([`run_trace`]); the
//! requests stream tokens back over a channel. Tokens that arrive within `step_ms` form one
//! pipeline step, sent to the truncator like a replay step; the reply's prune decisions cancel
//! the pruned requests at once (the stream is dropped, which closes the connection; with
//! `cancel: abort_request` SGLang's `/abort_request` is called too). A pruned trace that the
//! voter later picks to complete is resumed as a continuation, and the traces it does not pick
//! end as pruned. Every trace ends as finished, cut, pruned or failed, with its reason, in
//! [`LiveReport`](crate::report::LiveReport).
//!
//! Bounds: a response body is read whole only up to `max_body_bytes`, one stream line only up
//! to `max_sse_line_bytes`, and a stream that runs more than `max_tokens_margin` tokens past
//! `max_tokens` (a server that ignores it) is dropped and its trace ends as cut: it votes as a
//! trace cut off at the token limit, with only a boxed answer.
//!
//! Token counts: a request's `usage.completion_tokens` where the server reports it, otherwise
//! the tokens streamed. Without log-probabilities an SSE event counts as one token (llama.cpp,
//! vLLM and SGLang send one token per event unless they batch).
//!
//! When a run is stopped early, [`LiveContext::abort_in_flight`] asks the servers to abort the
//! requests still in flight (with `cancel: abort_request`); dropping the run's runtime then
//! drops every stream, which closes the connections.
//!
//! - `request`: one trace's streaming requests, retried with back-off.
//! - `record`: the traces written in the dataset format (`output.record`).
//! - `health`: whether each server answers, checked before a run.

mod health;
mod record;
mod request;

pub use health::check_servers;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use self::record::Recorder;
use self::request::{run_trace, Event, Job, Msg};
use super::generator::TraceSource;
use super::messages::{StepDecisions, TokenChunk, TokenStep, TraceEnd, TraceEnded};
use super::openai::{self, Delta, Dispatcher};
use super::PipelineError;
use crate::config::{CancelMode, OpenAiConfig};
use crate::deepconf::{self, DeepConfParams};
use crate::report::{LiveReport, Outcome, TraceRecord};

/// The `Authorization` header every request carries (completions, `/metrics`,
/// `/abort_request`), from the key [`OpenAiConfig::resolve_api_key`] finds now. The header is
/// marked sensitive, so that it never shows in a `Debug` print or a log line.
pub(super) fn auth_headers(config: &OpenAiConfig) -> Result<reqwest::header::HeaderMap, PipelineError> {
    let mut headers = reqwest::header::HeaderMap::new();
    let Some(key) = config.resolve_api_key() else {
        // Only the variable's name is logged: local servers need no key.
        tracing::debug!(variable = %config.api_key_env, "no API key: the variable is unset or empty");
        return Ok(headers);
    };
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
        let from = if config.api_key.is_some() { "generator.openai.api_key".to_string() } else { format!("${}", config.api_key_env) };
        PipelineError::Generator(format!("the API key in {from} is not a valid HTTP header value"))
    })?;
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(headers)
}

/// Asks the server at `base` to abort request `rid` (SGLang's `POST /abort_request`), in the
/// background: the trace does not wait for it, and a failure is only logged.
fn spawn_abort(client: &reqwest::Client, base: String, rid: String) {
    let client = client.clone();
    tokio::spawn(async move { abort_request(&client, &base, &rid).await });
}

/// A problem to generate traces for.
#[derive(Debug, Clone)]
pub struct LiveProblem {
    /// Problem id.
    pub pid: Arc<str>,
    /// The question.
    pub question: Arc<str>,
    /// The reference answer, for grading.
    pub gold: Option<String>,
}

/// What the live generator shares across problems: the HTTP client, the dispatcher, the
/// counters and the record being written.
pub struct LiveContext {
    config: OpenAiConfig,
    client: reqwest::Client,
    dispatcher: Arc<Dispatcher>,
    records: Mutex<Vec<TraceRecord>>,
    requests: AtomicU64,
    cancels: AtomicU64,
    /// The requests the servers are working on now: `rid` → base URL.
    in_flight: Mutex<HashMap<String, String>>,
    recorder: Option<Mutex<Recorder>>,
    /// The window of the confidence reported to the voter.
    deepconf_window: usize,
    /// DeepConf stopping, when `generator.stop_policy` asks for it.
    deepconf: Option<DeepConfParams>,
}

impl LiveContext {
    /// A context for `config`, recording traces to the directory `record` if given, stopping
    /// traces by confidence if `deepconf` is given.
    pub fn new(
        config: OpenAiConfig,
        record: Option<&Path>,
        deepconf_window: usize,
        deepconf: Option<DeepConfParams>,
    ) -> Result<Arc<Self>, PipelineError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .default_headers(auth_headers(&config)?)
            .build()
            .map_err(|e| PipelineError::Generator(format!("cannot make an HTTP client: {e}")))?;
        let dispatcher = Dispatcher::new(config.base_urls.clone(), config.max_concurrency_per_endpoint);
        let recorder = record.map(Recorder::create).transpose()?.map(Mutex::new);
        Ok(Arc::new(Self {
            config,
            client,
            dispatcher,
            records: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            cancels: AtomicU64::new(0),
            in_flight: Mutex::default(),
            recorder,
            deepconf_window,
            deepconf,
        }))
    }

    /// The servers' generated-token counters now (see [`openai::server_generated_tokens`]).
    pub async fn server_tokens(&self) -> Option<f64> {
        openai::server_generated_tokens(&self.client, self.dispatcher.urls(), self.config.max_body_bytes).await
    }

    /// The counters once they stop moving: a server counts a cancelled request's tokens only
    /// when it notices the disconnect, at its next token, so a cancel just before the end of
    /// the run lands a moment later. Reads every 250 ms until two reads agree (at most 5 s).
    pub async fn server_tokens_settled(&self) -> Option<f64> {
        let mut last = self.server_tokens().await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = self.server_tokens().await;
            if now == last {
                break;
            }
            last = now;
        }
        last
    }

    /// Marks request `rid` on `base_url` as in flight until the returned guard is dropped
    /// (the request ended, or its task was cancelled).
    fn track(&self, base_url: &str, rid: &str) -> InFlight<'_> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(rid.to_string(), base_url.to_string());
        InFlight { ctx: self, rid: rid.to_string() }
    }

    /// For a run stopped early: with `cancel: abort_request`, asks the servers to abort every
    /// request still in flight and waits for their answers, 2 s at most. Returns how many aborts
    /// were sent. With `cancel: disconnect` it sends nothing: the connections close when the
    /// run's runtime drops their streams.
    pub async fn abort_in_flight(&self) -> usize {
        if self.config.cancel != CancelMode::AbortRequest {
            return 0;
        }
        let requests: Vec<(String, String)> =
            self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(r, b)| (b.clone(), r.clone())).collect();
        let aborts = requests.iter().map(|(base, rid)| abort_request(&self.client, base, rid));
        // Whatever has not answered by then is cut off when the process ends.
        let _ = tokio::time::timeout(Duration::from_secs(2), futures_util::future::join_all(aborts)).await;
        requests.len()
    }

    /// The report, given the servers' token counters before and after the run.
    pub fn report(&self, before: Option<f64>, after: Option<f64>) -> LiveReport {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner()).clone();
        records.sort_by(|a, b| a.pid.cmp(&b.pid).then(a.sample.cmp(&b.sample)));
        let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count() as u64;
        let streamed: u64 = records.iter().map(|r| r.streamed_tokens).sum();
        let billed: u64 = records.iter().map(|r| r.tokens).sum();
        let server = before.zip(after).map(|(b, a)| a - b);
        LiveReport {
            traces: records.len() as u64,
            finished: count(Outcome::Finished),
            cut: count(Outcome::Cut),
            pruned: count(Outcome::Pruned),
            failed: count(Outcome::Failed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: records.iter().map(|r| u64::from(r.retries)).sum(),
            continuations: records.iter().map(|r| u64::from(r.continuations)).sum(),
            cancels: self.cancels.load(Ordering::Relaxed),
            billed_tokens: billed,
            streamed_tokens: streamed,
            server_generated_tokens: server,
            tokens_after_cancel: server.map(|s| s - billed as f64).filter(|t| *t >= 0.0),
            trace_records: records,
        }
    }
}

/// SGLang's `POST /abort_request` for request `rid`; a failure is logged, not returned.
async fn abort_request(client: &reqwest::Client, base: &str, rid: &str) {
    let r = client.post(format!("{base}/abort_request")).json(&serde_json::json!({ "rid": rid })).send().await;
    if let Err(e) = r {
        tracing::warn!(%rid, error = %e, "POST /abort_request failed");
    }
}

/// A request in flight, known by its `rid` until this is dropped.
struct InFlight<'a> {
    ctx: &'a LiveContext,
    rid: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.ctx.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.rid);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    /// Cancelled by a prune decision; resumed if the voter picks it.
    Paused,
    Ended,
}

/// A trace as its problem's driver sees it.
struct LiveTrace {
    sample: u32,
    text: String,
    token_lens: Vec<usize>,
    conf: Vec<f32>,
    status: Status,
    epoch: u32,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The request in flight: endpoint and `rid`.
    current: Option<(String, String)>,
    /// Tokens streamed by the request in flight.
    req_streamed: u64,
    billed: u64,
    requests: u32,
    retries: u32,
    continuations: u32,
    last_retry: Option<String>,
    outcome: Option<(Outcome, String)>,
    /// Stopped by DeepConf: it abstains from the vote.
    low_confidence: bool,
    finish: Option<String>,
    /// Tokens whose log-probabilities came before all their text (a character split over
    /// tokens): their lengths and confidences, and the text bytes received meanwhile.
    pending: (Vec<usize>, Vec<f32>, String),
    /// False once a token came without a confidence.
    conf_complete: bool,
    /// Streamed since the last step.
    new_bytes: Vec<u8>,
    new_lens: Vec<u16>,
    ended_now: bool,
}

impl LiveTrace {
    /// Trace `sample` before its first request.
    fn new(sample: u32) -> Self {
        Self {
            sample,
            text: String::new(),
            token_lens: Vec::new(),
            conf: Vec::new(),
            status: Status::Running,
            epoch: 0,
            task: None,
            current: None,
            req_streamed: 0,
            billed: 0,
            requests: 0,
            retries: 0,
            continuations: 0,
            last_retry: None,
            outcome: None,
            low_confidence: false,
            finish: None,
            pending: (Vec::new(), Vec::new(), String::new()),
            conf_complete: true,
            new_bytes: Vec::new(),
            new_lens: Vec::new(),
            ended_now: false,
        }
    }

    fn streamed(&self) -> u64 {
        (self.token_lens.len() + self.pending.0.len()) as u64
    }

    /// Takes in a delta. Tokens go downstream once their text is complete: at once without
    /// log-probabilities (the event's text is one token), else when the pending tokens' lengths
    /// add up to the text received.
    fn push_delta(&mut self, d: Delta) {
        self.text.push_str(&d.text);
        self.req_streamed += d.tokens as u64;
        if d.token_lens.is_empty() {
            if !d.text.is_empty() {
                self.conf_complete = false;
                self.push_tokens(&[d.text.len()], &[], d.text.as_bytes());
            }
            return;
        }
        if d.conf.len() != d.token_lens.len() {
            self.conf_complete = false;
        }
        self.pending.0.extend(&d.token_lens);
        self.pending.1.extend(&d.conf);
        self.pending.2.push_str(&d.text);
        if self.pending.0.iter().sum::<usize>() <= self.pending.2.len() {
            self.flush_pending();
        }
    }

    /// Sends the pending tokens downstream; text beyond their lengths joins the last one.
    fn flush_pending(&mut self) {
        let (mut lens, conf, text) = std::mem::take(&mut self.pending);
        let total: usize = lens.iter().sum();
        if let Some(last) = lens.last_mut() {
            *last += text.len().saturating_sub(total);
        } else if !text.is_empty() {
            lens.push(text.len());
        }
        self.push_tokens(&lens, &conf, text.as_bytes());
    }

    fn push_tokens(&mut self, lens: &[usize], conf: &[f32], bytes: &[u8]) {
        self.new_bytes.extend_from_slice(bytes);
        self.new_lens.extend(lens.iter().map(|&l| l.min(usize::from(u16::MAX)) as u16));
        self.token_lens.extend(lens);
        if conf.len() == lens.len() {
            self.conf.extend(conf);
        }
    }

    /// Confidences, when every token has one.
    fn confidences(&self) -> Option<&[f32]> {
        (self.conf_complete && self.conf.len() == self.token_lens.len()).then_some(&self.conf[..])
    }
}

impl Drop for LiveTrace {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One problem's live generation, from the first request to the last trace's end: a
/// [`TraceSource`] whose steps are the tokens that arrived within `step_ms`.
pub struct LiveSource {
    problem: LiveProblem,
    ctx: Arc<LiveContext>,
    traces: Vec<LiveTrace>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// True once every trace's first request is under way.
    started: bool,
    survivors_known: bool,
    step: u64,
    /// DeepConf's stop threshold, once the warm-up traces have ended.
    threshold: Option<f32>,
}

impl LiveSource {
    /// `problem`'s `traces_per_problem` traces, not yet requested.
    pub fn new(problem: LiveProblem, ctx: Arc<LiveContext>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let traces = (0..ctx.config.traces_per_problem as u32).map(LiveTrace::new).collect();
        Self { problem, ctx, traces, tx, rx, started: false, survivors_known: false, step: 0, threshold: None }
    }

    /// DeepConf, live: once the first `n_init` traces (by sample) have ended, their lowest group
    /// confidences set the threshold; every later trace still running stops as soon as its
    /// group confidence falls below it.
    fn deepconf_stop(&mut self) {
        let Some(p) = self.ctx.deepconf else { return };
        let warm = |t: &LiveTrace| p.is_warmup(t.sample);
        if self.threshold.is_none() {
            if self.traces.iter().any(|t| warm(t) && t.status != Status::Ended) {
                return;
            }
            let lowest: Vec<f32> = self
                .traces
                .iter()
                .filter(|t| warm(t))
                .filter_map(|t| t.confidences().and_then(|c| deepconf::lowest_group_confidence(c, p.window)))
                .collect();
            // No confidences from the warm-up: nothing to stop on.
            self.threshold = Some(deepconf::threshold(&lowest, p.eta).unwrap_or(f32::NEG_INFINITY));
        }
        let s = self.threshold.expect("set above; this is a bug");
        for i in 0..self.traces.len() {
            let t = &self.traces[i];
            if t.status != Status::Running || warm(t) {
                continue;
            }
            if let Some(at) = t.confidences().and_then(|c| deepconf::stop_after(c, p.window, s)) {
                self.cancel(i);
                self.traces[i].low_confidence = true;
                self.end(i, Outcome::Pruned, format!("DeepConf: group confidence fell below {s:.2} at token {at}"));
            }
        }
    }

    fn spawn(&mut self, i: usize) {
        let t = &mut self.traces[i];
        t.epoch += 1;
        t.status = Status::Running;
        let job = Job {
            ctx: self.ctx.clone(),
            question: self.problem.question.clone(),
            rid: format!("{}-{}", self.problem.pid, t.sample),
            sample: t.sample,
            epoch: t.epoch,
            generated: t.text.clone(),
            tokens: t.streamed(),
            retries: t.retries,
            tx: self.tx.clone(),
        };
        t.task = Some(tokio::spawn(run_trace(job)));
    }

    /// Stops trace `i`'s request now: drops its stream (the server sees the disconnect) and,
    /// with `cancel: abort_request`, asks the server to abort it.
    fn cancel(&mut self, i: usize) {
        let t = &mut self.traces[i];
        let Some(task) = t.task.take() else { return };
        task.abort();
        self.ctx.cancels.fetch_add(1, Ordering::Relaxed);
        t.billed += t.req_streamed;
        t.req_streamed = 0;
        if let (CancelMode::AbortRequest, Some((base, rid))) = (self.ctx.config.cancel, t.current.take()) {
            spawn_abort(&self.ctx.client, base, rid);
        }
    }

    fn end(&mut self, i: usize, outcome: Outcome, reason: String) {
        let t = &mut self.traces[i];
        t.flush_pending();
        t.status = Status::Ended;
        t.ended_now = true;
        t.outcome = Some((outcome, reason));
    }

    /// Applies one task message; stale ones (from a cancelled task) are dropped.
    fn apply_event(&mut self, msg: Msg) {
        let Some(i) = self.traces.iter().position(|t| t.sample == msg.sample) else { return };
        if self.traces[i].epoch != msg.epoch || self.traces[i].status != Status::Running {
            return;
        }
        let t = &mut self.traces[i];
        match msg.event {
            Event::Sent { base_url, rid, continuation } => {
                t.current = Some((base_url, rid));
                t.requests += 1;
                t.continuations += u32::from(continuation);
            }
            Event::Delta(d) => t.push_delta(d),
            Event::RequestDone { usage } => {
                t.billed += usage.unwrap_or(t.req_streamed);
                t.req_streamed = 0;
                t.current = None;
            }
            Event::Retry { reason } => {
                t.retries += 1;
                t.last_retry = Some(reason);
            }
            Event::End(Ok(finish)) => {
                t.task = None;
                t.finish = Some(finish.clone());
                self.end(i, Outcome::Finished, format!("finish_reason {finish}"));
            }
            Event::End(Err(reason)) => {
                t.task = None;
                self.end(i, Outcome::Failed, reason);
            }
            Event::Cut { reason } => {
                t.task = None;
                // Cut off at the token limit, as far as its answer goes: only a boxed one counts.
                t.finish = Some("length".into());
                self.end(i, Outcome::Cut, reason);
            }
        }
    }

    /// The step made of what arrived since the last one, if anything did.
    fn take_step(&mut self) -> Option<TokenStep> {
        let mut chunks = Vec::new();
        for t in &mut self.traces {
            if t.new_bytes.is_empty() && t.new_lens.is_empty() && !t.ended_now {
                continue;
            }
            // A trace ends downstream when it finished or abstains (DeepConf stopped it, or it
            // failed); a pruned one is not ended, the voter may still resume it.
            let outcome = t.outcome.as_ref().map(|(o, _)| *o);
            let abstains = t.ended_now && (t.low_confidence || outcome == Some(Outcome::Failed));
            let finished = t.ended_now && matches!(outcome, Some(Outcome::Finished | Outcome::Cut));
            chunks.push(TokenChunk {
                sample: t.sample,
                bytes: std::mem::take(&mut t.new_bytes),
                token_lens: std::mem::take(&mut t.new_lens),
                ended: finished || abstains,
                abstains,
            });
        }
        if chunks.is_empty() {
            return None;
        }
        self.step += 1;
        Some(TokenStep { pid: self.problem.pid.clone(), step: self.step, chunks })
    }

    /// Applies a step's decisions: cancels the pruned traces; once the survivors are known,
    /// resumes the paused survivors and ends the rest as pruned.
    fn apply_decisions(&mut self, decisions: &StepDecisions) {
        for (sample, assignment) in &decisions.assignments {
            // DeepConf's warm-up traces run in full: the voter completes them anyway.
            if !assignment.prunes() || self.survivors_known || self.ctx.deepconf.is_some_and(|p| p.is_warmup(*sample)) {
                continue;
            }
            let Some(i) = self.traces.iter().position(|t| t.sample == *sample) else { continue };
            if self.traces[i].status == Status::Running {
                self.cancel(i);
                let t = &mut self.traces[i];
                t.status = Status::Paused;
                t.outcome = Some((Outcome::Pruned, format!("pruned by the judge: {assignment:?}")));
            }
        }
        if let Some(survivors) = &decisions.survivors {
            self.survivors_known = true;
            for i in 0..self.traces.len() {
                let keep = survivors.contains(&self.traces[i].sample);
                match self.traces[i].status {
                    Status::Paused if keep => {
                        self.traces[i].outcome = None;
                        self.spawn(i);
                    }
                    Status::Paused => {
                        let reason = self.traces[i].outcome.take().map_or_else(String::new, |(_, r)| r);
                        self.end(i, Outcome::Pruned, reason);
                    }
                    Status::Running if !keep => {
                        self.cancel(i);
                        self.end(i, Outcome::Pruned, "not among the traces the voter completes".into());
                    }
                    _ => {}
                }
            }
        }
    }

    /// The voter's messages for traces that ended since the last step, and their records.
    fn take_ended(&mut self) -> Vec<TraceEnded> {
        let pid = self.problem.pid.clone();
        let window = self.ctx.deepconf_window;
        let mut out = Vec::new();
        for t in &mut self.traces {
            if !t.ended_now {
                continue;
            }
            t.ended_now = false;
            let Some((outcome, reason)) = t.outcome.clone() else { continue };
            let end = match outcome {
                _ if t.low_confidence => TraceEnd::LowConfidence,
                Outcome::Finished | Outcome::Cut => TraceEnd::Finished,
                Outcome::Pruned => TraceEnd::Stopped,
                Outcome::Failed => TraceEnd::Failed,
            };
            let streamed = t.streamed();
            // A failed or pruned request's last usage never arrives: count what streamed.
            let tokens = t.billed + t.req_streamed;
            self.ctx.records.lock().unwrap_or_else(|p| p.into_inner()).push(TraceRecord {
                pid: pid.to_string(),
                sample: t.sample,
                outcome,
                reason,
                tokens,
                streamed_tokens: streamed,
                requests: t.requests,
                retries: t.retries,
                continuations: t.continuations,
                last_retry: t.last_retry.clone(),
            });
            out.push(TraceEnded {
                pid: pid.clone(),
                sample: t.sample,
                tokens,
                text: t.text.as_str().into(),
                end,
                confidence: t.confidences().and_then(|c| deepconf::lowest_group_confidence(c, window)),
                finish: t.finish.as_deref().and_then(crate::trace::Finish::from_reason),
            });
        }
        out
    }
}

impl TraceSource for LiveSource {
    const RESUMABLE: bool = false;

    fn pid(&self) -> &Arc<str> {
        &self.problem.pid
    }

    fn n_traces(&self) -> usize {
        self.traces.len()
    }

    async fn next_step(&mut self) -> Result<Option<(TokenStep, Vec<TraceEnded>)>, PipelineError> {
        if !self.started {
            self.started = true;
            for i in 0..self.traces.len() {
                self.spawn(i);
            }
        }
        let step_time = Duration::from_millis(self.ctx.config.step_ms);
        while self.traces.iter().any(|t| t.status != Status::Ended) {
            if !self.traces.iter().any(|t| t.status == Status::Running) {
                return Err(PipelineError::Protocol(format!(
                    "problem {}: every trace is paused but the voter has not named the survivors",
                    self.problem.pid
                )));
            }
            let first = self.rx.recv().await.expect("the source holds a sender; this is a bug");
            self.apply_event(first);
            let deadline = tokio::time::Instant::now() + step_time;
            while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
                self.apply_event(msg);
            }
            self.deepconf_stop();
            if let Some(step) = self.take_step() {
                // Traces that end now are reported with the step's decisions, by `apply`.
                return Ok(Some((step, Vec::new())));
            }
        }
        Ok(None)
    }

    fn apply(&mut self, decisions: &StepDecisions) -> Vec<TraceEnded> {
        self.apply_decisions(decisions);
        self.take_ended()
    }

    fn closed(&mut self) -> Result<(), PipelineError> {
        if let Some(recorder) = &self.ctx.recorder {
            let mut r = recorder.lock().unwrap_or_else(|p| p.into_inner());
            r.write(&self.problem, &self.traces)?;
        }
        Ok(())
    }
}

/// Reads the problems of a live run: `problems.jsonl`, limited to `max_problems`.
pub fn live_problems(problems: &[crate::trace::Problem], max: Option<usize>) -> Vec<LiveProblem> {
    problems
        .iter()
        .take(max.unwrap_or(usize::MAX))
        .map(|p| LiveProblem { pid: p.pid.as_str().into(), question: p.question.as_str().into(), gold: p.gold.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_over_tokens_waits_for_its_text() {
        let mut t = LiveTrace::new(0);
        let d = |text: &str, lens: Vec<usize>, conf: Vec<f32>| Delta { text: text.into(), tokens: lens.len(), token_lens: lens, conf };
        t.push_delta(d("a", vec![1], vec![1.0]));
        // "é" is two bytes, generated as two tokens; the text comes with the second.
        t.push_delta(d("", vec![1], vec![2.0]));
        assert_eq!((t.token_lens.len(), t.streamed(), t.new_bytes.len()), (1, 2, 1));
        t.push_delta(d("é", vec![1], vec![3.0]));
        assert_eq!((t.token_lens.clone(), t.confidences().map(<[f32]>::to_vec)), (vec![1, 1, 1], Some(vec![1.0, 2.0, 3.0])));
        assert_eq!((t.new_bytes.len(), t.new_lens.iter().map(|&l| l as usize).sum::<usize>()), (3, 3));
        // Without log-probabilities an event is one token and confidences are incomplete.
        t.push_delta(Delta { text: "xy".into(), tokens: 1, token_lens: vec![], conf: vec![] });
        assert_eq!((t.token_lens.len(), t.confidences()), (4, None));
    }
}
