//! Problems, traces and their token streams, the dataset loader, and the truncator's prefix logic.

pub mod dataset;
pub mod truncate;

use std::sync::Arc;

/// A problem: its question and, where known, its reference answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Problem id, unique across the dataset.
    pub pid: String,
    /// The benchmark it came from, if recorded.
    pub source: Option<String>,
    /// The question as given to the generator.
    pub question: String,
    /// The reference answer; `None` when the problem is ungraded.
    pub gold: Option<String>,
    /// `train` or `eval`, if recorded.
    pub split: Option<String>,
}

/// How a trace ended in the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finish {
    /// The model ended the trace itself.
    Stop,
    /// The trace was cut at the token limit.
    Length,
}

impl Finish {
    /// An OpenAI-compatible server's `finish_reason`: `stop` and `length`; others are unknown.
    pub fn from_reason(reason: &str) -> Option<Self> {
        match reason {
            "stop" => Some(Finish::Stop),
            "length" => Some(Finish::Length),
            _ => None,
        }
    }
}

/// One sampled reasoning trace of a problem.
///
/// Only `pid`, `sample` and `text` are required. Token boundaries, confidences and the
/// reference labels are optional; tools that need them say so when they are missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Problem id.
    pub pid: String,
    /// Sample index within the problem; `(pid, sample)` is unique.
    pub sample: u32,
    /// The generated text.
    pub text: Arc<str>,
    /// UTF-8 byte length of each generator token, when known.
    pub tok_bytes: Option<Vec<u8>>,
    /// DeepConf token confidence `C = -mean(top-20 logprobs)` per token, when known.
    pub conf: Option<Vec<f32>>,
    /// How the trace ended, when known.
    pub finish: Option<Finish>,
    /// Reference answer extracted by the dataset's maker, when known.
    pub answer: Option<String>,
    /// Reference answer class: equal classes ≥ 0 mean equivalent answers; -1 means no answer.
    pub answer_class: Option<i64>,
    /// Reference correctness label, when known.
    pub correct: Option<bool>,
}

impl Trace {
    /// Number of generator tokens, when token boundaries are known.
    pub fn n_tokens(&self) -> Option<usize> {
        self.tok_bytes.as_ref().map(Vec::len)
    }

    /// A short name for messages: `pid#sample`.
    pub fn name(&self) -> String {
        format!("{}#{}", self.pid, self.sample)
    }
}

/// The comparable prefix of a trace, as the truncator cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePrefix {
    /// Problem id.
    pub pid: Arc<str>,
    /// Sample index within the problem.
    pub sample: u32,
    /// The prefix text (cut at a token boundary, then at the last whole UTF-8 character).
    pub text: Arc<str>,
    /// Generator tokens in the prefix.
    pub tokens: usize,
    /// True when the trace ended before the cut point, so the prefix is the whole trace.
    pub whole_trace: bool,
    /// The reference answer class, carried only for the `oracle` judge and for evaluation.
    pub answer_class: Option<i64>,
}
