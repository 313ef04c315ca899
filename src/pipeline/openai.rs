//! The OpenAI-compatible HTTP side of the live generator: request bodies from the
//! `generator.openai` settings ([`OpenAiConfig`]), the SSE stream parser, retry back-off, and
//! least-loaded dispatch over endpoints.
//!
//! One request per trace (`n = 1`), so one trace can be cancelled alone; the shared prompt is
//! left to the server's prefix cache. Works with vLLM, SGLang and llama.cpp's `llama-server`.
//! [`super::live`] drives the requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Api, CancelMode, OpenAiConfig};

impl OpenAiConfig {
    /// The request of trace `sample` of a problem, continuing after `generated` (empty for a
    /// fresh trace), with `remaining` tokens left.
    pub fn request_body(&self, question: &str, sample: u32, generated: &str, remaining: u32, rid: &str) -> Value {
        let mut body = json!({
            "model": self.model,
            "stream": true,
            "stream_options": { "include_usage": true },
            "n": 1,
            "temperature": self.temperature,
            "max_tokens": remaining,
        });
        let o = body.as_object_mut().expect("a JSON object; this is a bug");
        match self.api {
            Api::Completions => {
                let prompt = self.prompt_template.replace("{system}", &self.system).replace("{question}", question);
                o.insert("prompt".into(), json!(prompt + generated));
                if self.logprobs > 0 {
                    o.insert("logprobs".into(), json!(self.logprobs));
                }
            }
            Api::Chat => {
                let mut messages = vec![json!({"role": "system", "content": self.system}), json!({"role": "user", "content": question})];
                if !generated.is_empty() {
                    // Prefill: the server continues the assistant's partial message.
                    messages.push(json!({"role": "assistant", "content": generated}));
                    o.insert("continue_final_message".into(), json!(true));
                    o.insert("add_generation_prompt".into(), json!(false));
                }
                o.insert("messages".into(), Value::Array(messages));
                if self.logprobs > 0 {
                    o.insert("logprobs".into(), json!(true));
                    o.insert("top_logprobs".into(), json!(self.logprobs));
                }
            }
        }
        if let Some(p) = self.top_p {
            o.insert("top_p".into(), json!(p));
        }
        if let Some(k) = self.top_k {
            o.insert("top_k".into(), json!(k));
        }
        if let Some(s) = self.seed {
            o.insert("seed".into(), json!(s.wrapping_add(u64::from(sample))));
        }
        if !self.stop.is_empty() {
            o.insert("stop".into(), json!(self.stop));
        }
        if self.cancel == CancelMode::AbortRequest {
            o.insert("rid".into(), json!(rid));
        }
        body
    }

    /// The request path for the configured API.
    pub fn path(&self) -> &'static str {
        match self.api {
            Api::Completions => "/v1/completions",
            Api::Chat => "/v1/chat/completions",
        }
    }

    /// The back-off before retry number `attempt` (1-based): full jitter over an exponentially
    /// growing cap. `unit` is a uniform draw in [0, 1).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let cap = self.backoff_base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(20)).min(self.backoff_max_ms);
        Duration::from_micros((cap as f64 * 1000.0 * unit.clamp(0.0, 1.0)) as u64)
    }
}

/// New tokens from one SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// The text.
    pub text: String,
    /// Tokens generated: the log-probability entries where the server sends them, otherwise 1
    /// for an event with text.
    pub tokens: usize,
    /// Byte length of each token, from the log-probabilities (empty without them). A token may
    /// end inside a UTF-8 character whose text comes with a later event, so these add up to the
    /// text only over several events.
    pub token_lens: Vec<usize>,
    /// DeepConf confidence `-mean(top-k logprobs)` of each token (empty without them).
    pub conf: Vec<f32>,
}

/// One parsed SSE `data:` payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// New text, if any.
    pub delta: Option<Delta>,
    /// `finish_reason`, once the trace ended.
    pub finish_reason: Option<String>,
    /// `usage.completion_tokens`, when the server reports usage.
    pub completion_tokens: Option<u64>,
}

/// Parses one SSE data payload of a completions or chat-completions stream. `[DONE]` is handled
/// by the caller. An `error` object is returned as an error.
pub fn parse_event(data: &str) -> Result<Event, String> {
    let v: Value = serde_json::from_str(data).map_err(|e| format!("a stream event is not JSON ({e}): {}", clip(data)))?;
    if let Some(err) = v.get("error") {
        return Err(format!("the server sent an error: {}", clip(&err.to_string())));
    }
    let mut event = Event {
        completion_tokens: v.pointer("/usage/completion_tokens").and_then(Value::as_u64),
        ..Event::default()
    };
    let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else { return Ok(event) };
    event.finish_reason = choice.get("finish_reason").and_then(Value::as_str).map(str::to_string);
    let text = choice
        .get("text")
        .and_then(Value::as_str)
        .or_else(|| choice.pointer("/delta/content").and_then(Value::as_str))
        .unwrap_or("");
    let (token_lens, conf) = tokens_of(choice.get("logprobs").unwrap_or(&Value::Null));
    if !text.is_empty() || !token_lens.is_empty() {
        let tokens = if token_lens.is_empty() { 1 } else { token_lens.len() };
        event.delta = Some(Delta { text: text.to_string(), tokens, token_lens, conf });
    }
    Ok(event)
}

/// Token byte lengths and confidences from a `logprobs` object, in either the completions form
/// (`tokens`, `top_logprobs` as maps) or the chat form (`content: [{token, bytes, top_logprobs}]`).
fn tokens_of(logprobs: &Value) -> (Vec<usize>, Vec<f32>) {
    let confidence = |lps: Vec<f64>| -> Option<f32> {
        (!lps.is_empty()).then(|| (-lps.iter().sum::<f64>() / lps.len() as f64) as f32)
    };
    let mut lens = Vec::new();
    let mut conf = Vec::new();
    if let Some(content) = logprobs.get("content").and_then(Value::as_array) {
        for t in content {
            let len = match t.get("bytes").and_then(Value::as_array) {
                Some(b) => b.len(),
                None => t.get("token").and_then(Value::as_str).map_or(0, str::len),
            };
            lens.push(len);
            let top: Vec<f64> = t
                .get("top_logprobs")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.get("logprob").and_then(Value::as_f64)).collect())
                .unwrap_or_default();
            conf.extend(confidence(top));
        }
    } else if let Some(tokens) = logprobs.get("tokens").and_then(Value::as_array) {
        lens = tokens.iter().map(|t| t.as_str().map_or(0, str::len)).collect();
        if let Some(top) = logprobs.get("top_logprobs").and_then(Value::as_array) {
            for m in top {
                let lps: Vec<f64> = m.as_object().map(|m| m.values().filter_map(Value::as_f64).collect()).unwrap_or_default();
                conf.extend(confidence(lps));
            }
        }
    }
    if conf.len() != lens.len() {
        conf.clear();
    }
    (lens, conf)
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A stream line longer than `generator.openai.max_sse_line_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stream line exceeded generator.openai.max_sse_line_bytes ({cap} bytes); stopped reading")]
pub struct LineTooLong {
    /// The cap, in bytes.
    pub cap: usize,
}

/// Splits an SSE byte stream into `data:` payloads as bytes arrive. It holds at most
/// `max_line` bytes of a line that has not ended: a longer line is an error, found before the
/// line is buffered whole, so a server that never sends a newline cannot exhaust memory.
#[derive(Debug)]
pub struct SseLines {
    /// The line read so far, without its newline.
    line: Vec<u8>,
    max_line: usize,
}

impl SseLines {
    /// A splitter that fails on a line longer than `max_line` bytes (the `\r` of a `\r\n`
    /// counts; the `\n` does not).
    pub fn new(max_line: usize) -> Self {
        Self { line: Vec::new(), max_line }
    }

    /// Adds bytes; returns the complete `data:` payloads they finished.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<String>, LineTooLong> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (part, rest, ends) = match bytes.iter().position(|&b| b == b'\n') {
                Some(nl) => (&bytes[..nl], &bytes[nl + 1..], true),
                None => (bytes, &bytes[bytes.len()..], false),
            };
            if self.line.len() + part.len() > self.max_line {
                return Err(LineTooLong { cap: self.max_line });
            }
            self.line.extend_from_slice(part);
            bytes = rest;
            if ends {
                let line = String::from_utf8_lossy(&self.line);
                if let Some(data) = line.trim_end_matches('\r').strip_prefix("data:") {
                    out.push(data.trim_start().to_string());
                }
                self.line.clear();
            }
        }
        Ok(out)
    }
}

/// Why a response body was not read whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// It was longer than `generator.openai.max_body_bytes`.
    #[error("its body exceeded generator.openai.max_body_bytes ({cap} bytes); stopped reading")]
    TooLong {
        /// The cap, in bytes.
        cap: usize,
    },
    /// The connection failed while it was read.
    #[error("its body could not be read: {0}")]
    Read(String),
}

/// Reads a response body whole, but never more than `cap` bytes of it: a body that says it is
/// longer, or turns out longer, is an error as soon as that is known, and the rest is left
/// unread (the connection is dropped).
pub async fn read_body(mut resp: reqwest::Response, cap: usize) -> Result<String, BodyError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLong { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| BodyError::Read(e.to_string()))? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLong { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Least-loaded dispatch over endpoints, at most `cap` requests in flight on each.
pub struct Dispatcher {
    urls: Vec<String>,
    cap: usize,
    in_flight: Mutex<Vec<usize>>,
    /// One permit per free slot over all endpoints.
    slots: Arc<tokio::sync::Semaphore>,
}

/// A request slot on one endpoint; freed on drop.
pub struct Slot {
    dispatcher: Arc<Dispatcher>,
    index: usize,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Slot {
    /// The endpoint's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.dispatcher.urls[self.index].trim_end_matches('/')
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.dispatcher.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        counts[self.index] -= 1;
    }
}

impl Dispatcher {
    /// A dispatcher over `urls`.
    pub fn new(urls: Vec<String>, cap: usize) -> Arc<Self> {
        let slots = Arc::new(tokio::sync::Semaphore::new(urls.len() * cap));
        Arc::new(Self { in_flight: Mutex::new(vec![0; urls.len()]), urls, cap, slots })
    }

    /// Waits for a free slot and takes it on the least loaded endpoint.
    pub async fn acquire(self: &Arc<Self>) -> Slot {
        let permit = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed; this is a bug");
        let mut counts = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        // A permit means some endpoint is below its cap: permits = free slots over all.
        let index = (0..counts.len())
            .filter(|&i| counts[i] < self.cap)
            .min_by_key(|&i| counts[i])
            .expect("a permit guarantees a free slot; this is a bug");
        counts[index] += 1;
        drop(counts);
        Slot { dispatcher: self.clone(), index, _permit: permit }
    }

    /// Requests in flight per endpoint.
    pub fn in_flight(&self) -> Vec<usize> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The endpoints.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }
}

/// Server-side generated-token counters from Prometheus `/metrics` (llama.cpp, vLLM, SGLang),
/// summed over every endpoint that serves one; `None` when none does. A page longer than
/// `max_body_bytes` is skipped, with a warning.
pub async fn server_generated_tokens(client: &reqwest::Client, urls: &[String], max_body_bytes: usize) -> Option<f64> {
    const COUNTERS: [&str; 3] = ["llamacpp:tokens_predicted_total", "vllm:generation_tokens_total", "sglang:generation_tokens_total"];
    let mut total = None;
    for url in urls {
        let metrics = format!("{}/metrics", url.trim_end_matches('/'));
        let Ok(resp) = client.get(&metrics).send().await else { continue };
        let text = match read_body(resp, max_body_bytes).await {
            Ok(text) => text,
            Err(e @ BodyError::TooLong { .. }) => {
                tracing::warn!(url = %metrics, "the server's token counters are not read: {e}");
                continue;
            }
            Err(BodyError::Read(_)) => continue,
        };
        if let Some(v) = parse_counter(&text, &COUNTERS) {
            *total.get_or_insert(0.0) += v;
        }
    }
    total
}

/// The sum of the samples of the first of `names` found in a Prometheus text exposition.
pub fn parse_counter(text: &str, names: &[&str]) -> Option<f64> {
    for name in names {
        let mut sum = None;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some(rest) = line.strip_prefix(name) else { continue };
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                continue;
            }
            if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                *sum.get_or_insert(0.0) += v;
            }
        }
        if sum.is_some() {
            return sum;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_body_carries_sampling_and_continuation() {
        let c = OpenAiConfig {
            top_k: Some(40),
            seed: Some(7),
            stop: vec!["</s>".into()],
            logprobs: 5,
            prompt_template: "Q: {question}\nA:".into(),
            ..OpenAiConfig::default()
        };
        let b = c.request_body("1+1?", 3, " It is", 100, "r");
        assert_eq!(b["prompt"], "Q: 1+1?\nA: It is");
        assert_eq!((b["seed"].as_u64(), b["top_k"].as_u64(), b["max_tokens"].as_u64()), (Some(10), Some(40), Some(100)));
        assert_eq!((b["n"].as_u64(), b["logprobs"].as_u64(), b["stream"].as_bool()), (Some(1), Some(5), Some(true)));
        assert!(b.get("rid").is_none());
    }

    #[test]
    fn chat_continuation_prefills_the_assistant() {
        let c = OpenAiConfig { api: Api::Chat, cancel: CancelMode::AbortRequest, ..OpenAiConfig::default() };
        let b = c.request_body("q", 0, "so far", 5, "p-0-1");
        let m = b["messages"].as_array().unwrap();
        assert_eq!((m.len(), m[2]["role"].as_str(), m[2]["content"].as_str()), (3, Some("assistant"), Some("so far")));
        assert_eq!(b["continue_final_message"], true);
        assert_eq!(b["rid"], "p-0-1");
        assert_eq!(c.request_body("q", 0, "", 5, "r")["messages"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn parses_completion_and_chat_events_with_logprobs() {
        let e = parse_event(r#"{"choices":[{"text":"ab c","finish_reason":null,"logprobs":{"tokens":["ab"," c"],"top_logprobs":[{"ab":-1.0,"x":-3.0},{" c":-0.5}]}}]}"#).unwrap();
        assert_eq!(e.delta, Some(Delta { text: "ab c".into(), tokens: 2, token_lens: vec![2, 2], conf: vec![2.0, 0.5] }));
        let e = parse_event(r#"{"choices":[{"delta":{"content":"hé"},"logprobs":{"content":[{"token":"hé","bytes":[104,195,169],"top_logprobs":[{"logprob":-2.0}]}]}}]}"#).unwrap();
        assert_eq!(e.delta.unwrap().token_lens, vec![3]);
        // A token ending inside a character: its text comes later, its log-probability now.
        let e = parse_event(r#"{"choices":[{"text":"","logprobs":{"content":[{"token":"","bytes":[226,128],"top_logprobs":[{"logprob":-1.0}]}]}}]}"#).unwrap();
        assert_eq!(e.delta, Some(Delta { text: String::new(), tokens: 1, token_lens: vec![2], conf: vec![1.0] }));
        let e = parse_event(r#"{"choices":[{"text":"","finish_reason":"stop"}],"usage":{"completion_tokens":12}}"#).unwrap();
        assert_eq!((e.delta, e.finish_reason.as_deref(), e.completion_tokens), (None, Some("stop"), Some(12)));
        // Without logprobs an event is one token.
        let e = parse_event(r#"{"choices":[{"text":"xyz"}]}"#).unwrap();
        assert_eq!(e.delta.map(|d| (d.tokens, d.token_lens)), Some((1, vec![])));
        assert!(parse_event(r#"{"error":{"message":"boom"}}"#).unwrap_err().contains("boom"));
        assert!(parse_event("not json").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn sse_lines_split_across_chunks() {
        let mut s = SseLines::new(1024);
        assert!(s.push(b"data: {\"a\"").unwrap().is_empty());
        assert_eq!(s.push(b":1}\r\n\r\n: comment\ndata: [DONE]\n").unwrap(), vec!["{\"a\":1}".to_string(), "[DONE]".to_string()]);
    }

    #[test]
    fn a_line_over_the_cap_fails_before_it_is_buffered_whole() {
        // (chunks, cap, the payloads before the error or all of them)
        let cases: &[(&[&[u8]], usize, Result<Vec<&str>, LineTooLong>)] = &[
            // "data: 12345678" is 14 bytes: at the cap it passes, the \r\n's \r included.
            (&[b"data: 12345678\n"], 14, Ok(vec!["12345678"])),
            (&[b"data: 12345678\r\n"], 14, Err(LineTooLong { cap: 14 })),
            (&[b"data: 1234", b"5678", b"9\n"], 14, Err(LineTooLong { cap: 14 })),
            // Many short lines in one chunk are fine; the cap is per line.
            (&[b"data: 1\ndata: 2\ndata: 3\n"], 8, Ok(vec!["1", "2", "3"])),
            // A line that never ends fails once it passes the cap, whatever its chunks.
            (&[b"data: ", &[b'x'; 100], &[b'x'; 100]], 150, Err(LineTooLong { cap: 150 })),
        ];
        for (chunks, cap, want) in cases {
            let mut s = SseLines::new(*cap);
            let mut got = Ok(Vec::new());
            for chunk in *chunks {
                match s.push(chunk) {
                    Ok(more) => got.as_mut().expect("no error yet").extend(more),
                    Err(e) => {
                        got = Err(e);
                        break;
                    }
                }
                assert!(s.line.len() <= *cap, "buffered {} bytes over the cap {cap}", s.line.len());
            }
            let want = want.clone().map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{chunks:?} with cap {cap}");
        }
        let e = LineTooLong { cap: 1 << 20 }.to_string();
        assert!(e.contains("generator.openai.max_sse_line_bytes (1048576 bytes)"), "{e}");
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let c = OpenAiConfig { backoff_base_ms: 100, backoff_max_ms: 1000, ..OpenAiConfig::default() };
        assert_eq!(c.backoff(1, 0.5), Duration::from_millis(50));
        assert_eq!(c.backoff(3, 0.999_999).as_millis(), 399);
        assert_eq!(c.backoff(30, 1.0), Duration::from_millis(1000));
        assert_eq!(c.backoff(2, 0.0), Duration::ZERO);
    }

    #[tokio::test]
    async fn dispatch_goes_to_the_least_loaded_and_respects_the_cap() {
        let d = Dispatcher::new(vec!["http://a".into(), "http://b".into()], 2);
        let s1 = d.acquire().await;
        let s2 = d.acquire().await;
        assert_ne!(s1.base_url(), s2.base_url());
        let _s3 = d.acquire().await;
        let _s4 = d.acquire().await;
        assert_eq!(d.in_flight(), vec![2, 2]);
        let waiting = tokio::time::timeout(Duration::from_millis(50), d.acquire()).await;
        assert!(waiting.is_err(), "a fifth request must wait for a slot");
        let freed = s1.base_url().to_string();
        drop(s1);
        assert_eq!(d.acquire().await.base_url(), freed);
    }

    #[test]
    fn counters_sum_labelled_series() {
        let text = "# TYPE x counter\nllamacpp:tokens_predicted_total 42\nvllm:generation_tokens_total{model=\"a\"} 5\nvllm:generation_tokens_total{model=\"b\"} 7\n";
        assert_eq!(parse_counter(text, &["llamacpp:tokens_predicted_total"]), Some(42.0));
        assert_eq!(parse_counter(text, &["nope", "vllm:generation_tokens_total"]), Some(12.0));
        assert_eq!(parse_counter(text, &["nope"]), None);
    }
}
