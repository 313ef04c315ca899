//! A live run's traces, recorded in the dataset format to replay later or to train the judge on.

use std::path::{Path, PathBuf};

use super::{LiveProblem, LiveTrace};
use crate::answer::{self, Answer};
use crate::pipeline::PipelineError;
use crate::report::Outcome;

/// Writes live traces in the dataset format (`../shared/data/README.md`): a directory with
/// `problems.jsonl` and `traces.jsonl`. Finished traces carry `finish`, their extracted
/// `answer`, an `answer_class` (equal classes for answers this crate judges equivalent, -1 for
/// none) and `correct`; pruned and failed traces hold their partial text with those fields
/// null, and every line says its `outcome`. A cut trace (its server ran past `max_tokens`) is
/// recorded as finished at the token limit (`finish: length`, only a boxed answer), with
/// `outcome: cut`.
pub(super) struct Recorder {
    dir: PathBuf,
    problems: std::io::BufWriter<std::fs::File>,
    traces: std::io::BufWriter<std::fs::File>,
}

impl Recorder {
    /// Creates (or truncates) the record directory's files.
    pub(super) fn create(dir: &Path) -> Result<Self, PipelineError> {
        std::fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
        let open = |name: &str| {
            let path = dir.join(name);
            std::fs::File::create(&path).map(std::io::BufWriter::new).map_err(io(path))
        };
        Ok(Self { dir: dir.to_path_buf(), problems: open("problems.jsonl")?, traces: open("traces.jsonl")? })
    }

    pub(super) fn write(&mut self, problem: &LiveProblem, traces: &[LiveTrace]) -> Result<(), PipelineError> {
        use base64::Engine;
        use std::io::Write;
        let b64 = base64::engine::general_purpose::STANDARD;
        let gold = problem.gold.as_deref().map(Answer::parse);
        let mut classes: Vec<Answer> = Vec::new();
        let mut lines = Vec::new();
        for t in traces {
            let finished = t.outcome.as_ref().is_some_and(|(o, _)| matches!(o, Outcome::Finished | Outcome::Cut));
            let extracted = finished.then(|| answer::extract_with_finish(&t.text, t.finish.as_deref().and_then(crate::trace::Finish::from_reason))).flatten();
            let class = finished.then(|| match &extracted {
                None => -1,
                Some(a) => {
                    let a = Answer::parse(a);
                    let c = classes.iter().position(|c| c.equivalent(&a)).unwrap_or_else(|| {
                        classes.push(a);
                        classes.len() - 1
                    });
                    c as i64
                }
            });
            let correct = match (&gold, &extracted, finished) {
                (Some(g), Some(a), true) => Some(Answer::parse(a).equivalent(g)),
                (Some(_), None, true) => Some(false),
                _ => None,
            };
            let (lens, conf) = dataset_tokens(&t.token_lens, t.confidences(), t.text.len());
            let finish = match (finished, t.finish.as_deref()) {
                (true, Some("length")) => Some("length"),
                (true, _) => Some("stop"),
                _ => None,
            };
            lines.push(serde_json::json!({
                "pid": problem.pid.as_ref(),
                "sample": t.sample,
                "text": t.text,
                "n_tokens": lens.len(),
                "finish": finish,
                "tok_bytes": b64.encode(&lens),
                "conf": conf.map(|c| b64.encode(c)),
                "answer": extracted,
                "answer_class": class,
                "correct": correct,
                "outcome": t.outcome.as_ref().map(|(o, _)| *o),
            }));
        }
        let problem_line = serde_json::json!({ "pid": problem.pid.as_ref(), "question": problem.question.as_ref(), "gold": problem.gold });
        writeln!(self.problems, "{problem_line}").and_then(|_| self.problems.flush()).map_err(io(self.dir.join("problems.jsonl")))?;
        for line in lines {
            writeln!(self.traces, "{line}").map_err(io(self.dir.join("traces.jsonl")))?;
        }
        self.traces.flush().map_err(io(self.dir.join("traces.jsonl")))
    }
}

/// Maps an I/O error on `path` to the run's error.
fn io(path: PathBuf) -> impl FnOnce(std::io::Error) -> PipelineError {
    move |source| PipelineError::Output { path, source }
}

/// Tokens as the dataset stores them: one byte of length each, 1 to 255, summing to the text,
/// and a confidence byte `round(10 C)` each when every token has one. A token of 0 bytes merges
/// into the next (keeping the lower confidence); one longer than 255 bytes splits; text the
/// lengths do not cover becomes one more token.
fn dataset_tokens(lens: &[usize], conf: Option<&[f32]>, text_len: usize) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut out_lens = Vec::with_capacity(lens.len());
    let mut out_conf = Vec::with_capacity(lens.len());
    let mut carry = (0usize, f32::INFINITY);
    let mut total = 0usize;
    let push = |len: usize, c: f32, out_lens: &mut Vec<u8>, out_conf: &mut Vec<u8>| {
        let mut left = len;
        while left > 0 {
            let b = left.min(255);
            out_lens.push(b as u8);
            out_conf.push((c * 10.0).round().clamp(0.0, 255.0) as u8);
            left -= b;
        }
    };
    for (i, &l) in lens.iter().enumerate() {
        let c = conf.map_or(0.0, |c| c[i]);
        carry = (carry.0 + l, carry.1.min(c));
        if carry.0 > 0 && total + carry.0 <= text_len {
            total += carry.0;
            push(carry.0, carry.1, &mut out_lens, &mut out_conf);
            carry = (0, f32::INFINITY);
        }
    }
    push(text_len - total, carry.1.min(out_conf.last().map_or(0.0, |&c| f32::from(c) / 10.0)), &mut out_lens, &mut out_conf);
    (out_lens, conf.map(|_| out_conf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_tokens_fit_the_text() {
        let lens = |l: &[usize], n| dataset_tokens(l, None, n).0;
        assert_eq!(lens(&[2, 0, 3], 5), vec![2, 3]);
        assert_eq!(lens(&[300], 300), vec![255, 45]);
        assert_eq!(lens(&[2, 2], 6), vec![2, 2, 2]);
        assert_eq!(lens(&[4, 4], 6), vec![4, 2]);
        assert_eq!(lens(&[], 0), Vec::<u8>::new());
        let (l, c) = dataset_tokens(&[1, 0, 2, 300], Some(&[1.0, 0.5, 2.0, 3.0]), 303);
        assert_eq!((l, c), (vec![1, 2, 255, 45], Some(vec![10, 5, 30, 30])));
    }
}
