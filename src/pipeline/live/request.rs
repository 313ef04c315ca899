//! One live trace's requests: a streaming request per attempt, retried with back-off as
//! configured, each event told to the trace's problem driver over a channel.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::LiveContext;
use crate::config::{CancelMode, OnBrokenStream};
use crate::pipeline::openai::{self, Delta, SseLines};

/// What a request task tells its problem's driver.
#[derive(Debug)]
pub(super) enum Event {
    /// A request was sent.
    Sent { base_url: String, rid: String, continuation: bool },
    /// New tokens.
    Delta(Delta),
    /// A request ended (normally or not); its usage, when reported.
    RequestDone { usage: Option<u64> },
    /// A request failed and will be retried.
    Retry { reason: String },
    /// The trace ended: its finish reason, or why it failed.
    End(Result<String, String>),
    /// The stream ran more than `max_tokens_margin` tokens past `max_tokens` and was dropped.
    Cut { reason: String },
}

/// A message from trace `sample`'s task number `epoch` (events of cancelled tasks are dropped).
#[derive(Debug)]
pub(super) struct Msg {
    pub(super) sample: u32,
    pub(super) epoch: u32,
    pub(super) event: Event,
}

/// One request task's start: where the trace stands.
pub(super) struct Job {
    pub(super) ctx: Arc<LiveContext>,
    pub(super) question: Arc<str>,
    pub(super) rid: String,
    pub(super) sample: u32,
    pub(super) epoch: u32,
    pub(super) generated: String,
    pub(super) tokens: u64,
    pub(super) retries: u32,
    pub(super) tx: mpsc::UnboundedSender<Msg>,
}

/// How a request that ended its trace ended.
enum Ended {
    /// The server ended the stream: its finish reason and the usage it reported.
    Finished { finish: String, usage: Option<u64> },
    /// It ran more than `max_tokens_margin` tokens past `max_tokens`; it is dropped here.
    Cut { reason: String },
}

/// Why one request did not finish the trace.
enum RequestError {
    /// Worth retrying: connect error, timeout, 5xx, 429, broken stream.
    Retriable(String),
    /// Not worth retrying: the server refused the request (4xx).
    Fatal(String),
}

/// Generates one trace (or its continuation) until it ends, retrying as configured.
pub(super) async fn run_trace(job: Job) {
    let Job { ctx, question, rid, sample, epoch, mut generated, mut tokens, mut retries, tx } = job;
    let send = |event| {
        let _ = tx.send(Msg { sample, epoch, event });
    };
    let cfg = &ctx.config;
    let mut attempt = 0u32;
    loop {
        let remaining = u64::from(cfg.max_tokens).saturating_sub(tokens);
        if remaining == 0 {
            send(Event::End(Ok("length".into())));
            return;
        }
        let slot = ctx.dispatcher.acquire().await;
        let rid = format!("{rid}-{epoch}-{attempt}");
        attempt += 1;
        let body = cfg.request_body(&question, sample, &generated, remaining as u32, &rid);
        let base_url = slot.base_url().to_string();
        let in_flight = ctx.track(&base_url, &rid);
        send(Event::Sent { base_url: base_url.clone(), rid: rid.clone(), continuation: !generated.is_empty() });
        ctx.requests.fetch_add(1, Ordering::Relaxed);
        let before = tokens;
        let result = request(&ctx, &base_url, &body, &mut generated, &mut tokens, &send).await;
        drop(in_flight);
        drop(slot);
        let error = match result {
            Ok(Ended::Finished { finish, usage }) => {
                send(Event::RequestDone { usage });
                send(Event::End(Ok(finish)));
                return;
            }
            Ok(Ended::Cut { reason }) => {
                // The stream is dropped already; a server that ignores max_tokens may ignore a
                // disconnect too, so SGLang is also asked to abort.
                if cfg.cancel == CancelMode::AbortRequest {
                    super::spawn_abort(&ctx.client, base_url, rid);
                }
                send(Event::RequestDone { usage: None });
                send(Event::Cut { reason });
                return;
            }
            Err(e) => {
                send(Event::RequestDone { usage: None });
                e
            }
        };
        let reason = match error {
            RequestError::Fatal(reason) => {
                send(Event::End(Err(reason)));
                return;
            }
            RequestError::Retriable(reason) => reason,
        };
        if tokens > before && cfg.on_broken_stream == OnBrokenStream::Fail {
            send(Event::End(Err(format!("stream broke after {tokens} tokens (on_broken_stream: fail): {reason}"))));
            return;
        }
        if retries >= cfg.max_retries {
            send(Event::End(Err(format!("gave up after {retries} retries (max_retries): {reason}"))));
            return;
        }
        retries += 1;
        tracing::debug!(sample, retries, %reason, "retrying a live request");
        send(Event::Retry { reason });
        tokio::time::sleep(cfg.backoff(retries, rand::random::<f64>())).await;
    }
}

/// Sends one streaming request; appends what it streams to `generated` and `tokens`. Returns
/// the finish reason and the reported usage, or that the stream ran past `max_tokens` by more
/// than the margin and was cut. Reads at most `max_body_bytes` of an error's body and
/// `max_sse_line_bytes` of one stream line.
async fn request(
    ctx: &LiveContext,
    base_url: &str,
    body: &serde_json::Value,
    generated: &mut String,
    tokens: &mut u64,
    send: &impl Fn(Event),
) -> Result<Ended, RequestError> {
    let cfg = &ctx.config;
    let url = format!("{base_url}{}", cfg.path());
    // The API key is one of the client's default headers.
    let req = ctx.client.post(&url).json(body).timeout(Duration::from_secs_f64(cfg.request_timeout_s));
    let resp = req.send().await.map_err(|e| RequestError::Retriable(format!("{url}: {}", error_chain(&e))))?;
    let status = resp.status();
    if !status.is_success() {
        let reason = match openai::read_body(resp, cfg.max_body_bytes).await {
            Ok(text) => format!("{url}: HTTP {status}: {}", text.chars().take(200).collect::<String>()),
            Err(e) => format!("{url}: HTTP {status}: {e}"),
        };
        return Err(if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            RequestError::Retriable(reason)
        } else {
            RequestError::Fatal(reason)
        });
    }
    let mut stream = resp.bytes_stream();
    let mut sse = SseLines::new(cfg.max_sse_line_bytes);
    let (mut finish, mut usage) = (None, None);
    let streamed_before = *tokens;
    let limit = u64::from(cfg.max_tokens) + u64::from(cfg.max_tokens_margin);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RequestError::Retriable(format!("{url}: stream broke after {} tokens: {}", *tokens - streamed_before, error_chain(&e)))
        })?;
        // A server that sends such a line is broken; trying again would read the cap again.
        let lines = sse.push(&chunk).map_err(|e| RequestError::Fatal(format!("{url}: {e}")))?;
        for data in lines {
            if data == "[DONE]" {
                return finish.map(|finish| Ended::Finished { finish, usage }).ok_or_else(|| {
                    RequestError::Retriable(format!("{url}: stream ended with [DONE] but no finish_reason"))
                });
            }
            let event = openai::parse_event(&data).map_err(|e| RequestError::Retriable(format!("{url}: {e}")))?;
            if let Some(d) = event.delta {
                generated.push_str(&d.text);
                *tokens += d.tokens as u64;
                send(Event::Delta(d));
                if *tokens > limit {
                    let reason = format!(
                        "{url}: cut after {tokens} tokens: the server streamed more than max_tokens ({}) + max_tokens_margin ({})",
                        cfg.max_tokens, cfg.max_tokens_margin
                    );
                    return Ok(Ended::Cut { reason });
                }
            }
            finish = event.finish_reason.or(finish);
            usage = event.completion_tokens.or(usage);
        }
    }
    finish.map(|finish| Ended::Finished { finish, usage }).ok_or_else(|| {
        RequestError::Retriable(format!("{url}: stream closed after {} tokens before the trace finished", *tokens - streamed_before))
    })
}

/// An error and its sources, as one line.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
