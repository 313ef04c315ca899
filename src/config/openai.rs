//! `generator.openai`: the live generator's servers, prompt and sampling. The pipeline's `openai`
//! and `live` modules send the requests.

use super::load::at_most;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// Which endpoint of the API is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `POST /v1/completions` with the prompt made from `prompt_template`.
    Completions,
    /// `POST /v1/chat/completions` with system and user messages.
    Chat,
}

/// What to do when a stream breaks in the middle of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBrokenStream {
    /// Send the prompt plus what was generated as a continuation, and go on.
    Resume,
    /// End the trace as failed, with the reason in the report.
    Fail,
}

/// How a pruned trace's request is cancelled on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelMode {
    /// Drop the stream (close the connection): vLLM and llama.cpp abort the request.
    Disconnect,
    /// Also `POST /abort_request` with the request's `rid` (SGLang).
    AbortRequest,
}

/// An API key. It is shown as `<redacted>` by `Debug` and written as `<redacted>` when the
/// config is serialised, so that it reaches no log line and no report.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

/// The smallest `max_body_bytes` and `max_sse_line_bytes`: 1 KiB, below which an ordinary
/// event or error message would not fit.
const MIN_CAP_BYTES: usize = 1 << 10;
/// The largest `max_body_bytes` and `max_sse_line_bytes`: 1 GiB.
const MAX_CAP_BYTES: usize = 1 << 30;

/// What an [`ApiKey`] shows instead of itself.
const REDACTED: &str = "<redacted>";

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({REDACTED})")
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// The `generator.openai` section: the servers, the prompt and the sampling parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// Server base URLs, e.g. `http://127.0.0.1:8000` (the `/v1/...` paths are appended).
    /// Requests go to the least loaded one.
    #[serde(default)]
    pub base_urls: Vec<String>,
    /// The `model` field of each request.
    #[serde(default = "default_model")]
    pub model: String,
    /// `completions` or `chat`.
    #[serde(default = "default_api")]
    pub api: Api,
    /// The environment variable that holds the API key, read when the run starts and sent as
    /// `Authorization: Bearer ...`. Unset or empty: no key (local servers need none).
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    /// A key written in the file, used instead of `api_key_env`'s. Kept for compatibility; the
    /// environment is preferred, since a key in a file or in `--set` shows in `ps` and the
    /// shell's history.
    #[serde(default)]
    pub api_key: Option<ApiKey>,
    /// Traces sampled per problem (N).
    #[serde(default = "default_traces_per_problem")]
    pub traces_per_problem: usize,
    /// The system message.
    #[serde(default = "default_system")]
    pub system: String,
    /// For `api: completions`: the prompt, with `{system}` and `{question}` filled in. The
    /// default is ChatML (Qwen, SmolLM).
    #[serde(default = "default_prompt_template")]
    pub prompt_template: String,
    /// Sampling temperature.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Nucleus sampling.
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Top-k sampling (vLLM, SGLang and llama.cpp accept it; OpenAI itself does not).
    #[serde(default)]
    pub top_k: Option<u32>,
    /// Most new tokens per trace.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Trace `i` is sampled with seed `seed + i`; none leaves sampling unseeded.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Stop strings.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Ask for this many top log-probabilities per token (0: none), for DeepConf confidence.
    #[serde(default)]
    pub logprobs: u32,
    /// Most requests in flight per endpoint.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency_per_endpoint: usize,
    /// Time limit of one request, stream included, in seconds.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: f64,
    /// Retries of one trace's requests (connect errors, 5xx, 429, broken streams) before it
    /// fails.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// First back-off, in ms; it doubles per retry (with full jitter) up to `backoff_max_ms`.
    #[serde(default = "default_backoff_base_ms")]
    pub backoff_base_ms: u64,
    /// Longest back-off, in ms.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// `resume` or `fail`.
    #[serde(default = "default_on_broken_stream")]
    pub on_broken_stream: OnBrokenStream,
    /// `disconnect` or `abort_request`.
    #[serde(default = "default_cancel")]
    pub cancel: CancelMode,
    /// Tokens arriving within this many ms form one pipeline step.
    #[serde(default = "default_step_ms")]
    pub step_ms: u64,
    /// Most bytes of a response body read whole (an error's body, `/metrics`); a longer body
    /// fails its request with an error naming this key, after reading only this many bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Most bytes of one line of a stream (one SSE `data:` line); a longer line fails its trace
    /// with an error naming this key, after buffering only this many bytes.
    #[serde(default = "default_max_sse_line_bytes")]
    pub max_sse_line_bytes: usize,
    /// Tokens a stream may run past the request's `max_tokens` (a server that ignores it)
    /// before it is cut: the request is dropped and the trace ends as `cut`.
    #[serde(default = "default_max_tokens_margin")]
    pub max_tokens_margin: u32,
}

/// `default`: llama.cpp serves whatever model it loaded under any name.
fn default_model() -> String {
    "default".into()
}
/// The completions API: the prompt is ours, so a continuation is exact.
fn default_api() -> Api {
    Api::Completions
}
/// `OPENAI_API_KEY`, where OpenAI's own clients look.
fn default_api_key_env() -> String {
    "OPENAI_API_KEY".into()
}
/// N = 16 traces per problem.
fn default_traces_per_problem() -> usize {
    16
}
/// The usual instruction for math answers in `\boxed{}`.
fn default_system() -> String {
    "Please reason step by step, and put your final answer within \\boxed{}.".into()
}
/// ChatML (Qwen, SmolLM).
fn default_prompt_template() -> String {
    "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n".into()
}
/// 0.7, a usual sampling temperature for self-consistency.
fn default_temperature() -> f32 {
    0.7
}
/// 768 tokens per trace.
fn default_max_tokens() -> u32 {
    768
}
/// 64 requests in flight per server.
fn default_max_concurrency() -> usize {
    64
}
/// 10 minutes per request.
fn default_request_timeout_s() -> f64 {
    600.0
}
/// 8 retries per trace.
fn default_max_retries() -> u32 {
    8
}
/// 200 ms first back-off.
fn default_backoff_base_ms() -> u64 {
    200
}
/// 5 s longest back-off.
fn default_backoff_max_ms() -> u64 {
    5000
}
/// Resume a broken stream as a continuation.
fn default_on_broken_stream() -> OnBrokenStream {
    OnBrokenStream::Resume
}
/// Cancel by dropping the stream (vLLM and llama.cpp then abort the request).
fn default_cancel() -> CancelMode {
    CancelMode::Disconnect
}
/// 20 ms per pipeline step.
fn default_step_ms() -> u64 {
    20
}
/// 1 MiB: an error body or a `/metrics` page is a few kilobytes.
fn default_max_body_bytes() -> usize {
    1 << 20
}
/// 1 MiB: one token's event, with 20 top log-probabilities, is about 2 kB.
fn default_max_sse_line_bytes() -> usize {
    1 << 20
}
/// 16 tokens: room for a server that counts a few tokens differently (a continuation's
/// re-tokenized boundary, special tokens), none for one that ignores `max_tokens`.
fn default_max_tokens_margin() -> u32 {
    16
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every field has a default; this is a bug")
    }
}

impl OpenAiConfig {
    /// The API key to send: `api_key` if the file sets one, else the value of the environment
    /// variable `api_key_env`; `None` when neither is set (or the variable is empty).
    pub fn resolve_api_key(&self) -> Option<ApiKey> {
        self.api_key.clone().or_else(|| std::env::var(&self.api_key_env).ok().filter(|k| !k.is_empty()).map(ApiKey))
    }

    /// Semantic checks, each error naming its key.
    pub(super) fn check(&self, e: &mut Vec<String>) {
        if self.api_key_env.is_empty() || self.api_key_env.contains(['=', '\0']) {
            e.push(format!("generator.openai.api_key_env: expected an environment variable name, got {:?}", self.api_key_env));
        }
        if self.base_urls.is_empty() {
            e.push("generator.openai.base_urls: expected at least one server URL, e.g. http://127.0.0.1:8000".into());
        }
        for u in &self.base_urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() <= "https://".len() {
                e.push(format!("generator.openai.base_urls: {u:?} is not an http:// or https:// URL"));
            }
        }
        if self.traces_per_problem == 0 {
            e.push("generator.openai.traces_per_problem: expected an integer ≥ 1, got 0".into());
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            e.push(format!("generator.openai.temperature: expected 0 to 2, got {}", self.temperature));
        }
        if let Some(p) = self.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            e.push(format!("generator.openai.top_p: expected a value in (0, 1], got {p}"));
        }
        if self.max_tokens == 0 {
            e.push("generator.openai.max_tokens: expected an integer ≥ 1, got 0".into());
        }
        if self.logprobs > 20 {
            e.push(format!("generator.openai.logprobs: expected 0 to 20, got {}", self.logprobs));
        }
        if self.max_concurrency_per_endpoint == 0 {
            e.push("generator.openai.max_concurrency_per_endpoint: expected an integer ≥ 1, got 0".into());
        }
        if !(self.request_timeout_s > 0.0 && self.request_timeout_s.is_finite()) {
            e.push(format!("generator.openai.request_timeout_s: expected a positive number of seconds, got {}", self.request_timeout_s));
        }
        let k = "generator.openai";
        at_most(&format!("{k}.traces_per_problem"), self.traces_per_problem, 100_000, e);
        at_most(&format!("{k}.max_tokens"), self.max_tokens, 10_000_000, e);
        at_most(&format!("{k}.max_concurrency_per_endpoint"), self.max_concurrency_per_endpoint, 100_000, e);
        at_most(&format!("{k}.max_retries"), self.max_retries, 1_000_000, e);
        at_most(&format!("{k}.request_timeout_s"), self.request_timeout_s, 86_400.0, e);
        at_most(&format!("{k}.backoff_base_ms"), self.backoff_base_ms, 600_000, e);
        at_most(&format!("{k}.backoff_max_ms"), self.backoff_max_ms, 3_600_000, e);
        at_most(&format!("{k}.step_ms"), self.step_ms, 60_000, e);
        if let Some(top_k) = self.top_k {
            if top_k == 0 {
                e.push(format!("{k}.top_k: expected an integer ≥ 1 (or leave it out to send none), got 0"));
            }
            at_most(&format!("{k}.top_k"), top_k, 1_000_000, e);
        }
        for (key, bytes) in [("max_body_bytes", self.max_body_bytes), ("max_sse_line_bytes", self.max_sse_line_bytes)] {
            if bytes < MIN_CAP_BYTES {
                e.push(format!("{k}.{key}: expected at least {MIN_CAP_BYTES} bytes, got {bytes}"));
            }
            at_most(&format!("{k}.{key}"), bytes, MAX_CAP_BYTES, e);
        }
        at_most(&format!("{k}.max_tokens_margin"), self.max_tokens_margin, 1_000_000, e);
        if self.backoff_max_ms < self.backoff_base_ms {
            e.push("generator.openai.backoff_max_ms: expected at least backoff_base_ms".into());
        }
        if self.api == Api::Completions && !self.prompt_template.contains("{question}") {
            e.push("generator.openai.prompt_template: expected a `{question}` placeholder".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_keys() {
        let c = OpenAiConfig { base_urls: vec!["localhost:80".into()], max_tokens: 0, top_p: Some(1.5), ..OpenAiConfig::default() };
        let mut e = Vec::new();
        c.check(&mut e);
        let all = e.join("\n");
        for key in ["base_urls: \"localhost:80\"", "max_tokens", "top_p"] {
            assert!(all.contains(key), "{key} missing from {all}");
        }
    }

    #[test]
    fn a_key_in_the_file_is_redacted_when_shown() {
        let c: OpenAiConfig = serde_norway::from_str("api_key: sk-in-the-file").unwrap();
        assert_eq!(c.api_key_env, "OPENAI_API_KEY");
        assert_eq!(c.resolve_api_key().as_ref().map(ApiKey::expose), Some("sk-in-the-file"));
        let shown = [format!("{c:?}"), serde_json::to_string(&c).unwrap(), serde_norway::to_string(&c).unwrap()];
        for s in shown {
            assert!(!s.contains("sk-in-the-file") && s.contains(REDACTED), "{s}");
        }
    }

    #[test]
    fn an_unset_or_empty_variable_means_no_key() {
        let c = OpenAiConfig { api_key_env: "DEEPPRUNE_TEST_KEY_THAT_IS_NEVER_SET".into(), ..OpenAiConfig::default() };
        assert!(c.resolve_api_key().is_none());
        let mut e = Vec::new();
        OpenAiConfig { api_key_env: String::new(), ..c }.check(&mut e);
        assert!(e.iter().any(|m| m.contains("generator.openai.api_key_env")), "{e:?}");
    }
}
