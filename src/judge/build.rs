//! Builds the judge a run's `judge` section asks for (`judge.kind`), on the thread that will own
//! it: the oracle from the replayed traces' labels, the lexical judge, the neural judges on their
//! device, or the judges that score nothing (`none`, `noop`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::lexical::LexicalJudge;
use super::oracle::OracleJudge;
use super::{backend, JudgeError, NoopJudge, PairInput, PairJudge};
use crate::config::{JudgeConfig, JudgeKind};
use crate::trace::Trace;

/// The judge `judge` asks for. `traces` are the replayed problems, `(pid, traces)`; the oracle
/// reads its labels from them, and every other judge ignores them.
pub fn make_judge(judge: &JudgeConfig, traces: &[(String, Vec<Arc<Trace>>)]) -> Result<Box<dyn PairJudge>, JudgeError> {
    Ok(match judge.kind {
        JudgeKind::Oracle => {
            let mut labels = HashMap::new();
            for (pid, traces) in traces {
                let pid: Arc<str> = pid.as_str().into();
                for t in traces {
                    let class = t.answer_class.ok_or_else(|| JudgeError::NoLabel { trace: t.name() })?;
                    labels.insert((pid.clone(), t.sample), class);
                }
            }
            Box::new(OracleJudge::new(labels))
        }
        JudgeKind::Lexical => Box::new(LexicalJudge::default()),
        JudgeKind::Model => {
            let dir = judge.path.as_deref().ok_or(JudgeError::MissingSetting { key: "judge.path" })?;
            backend::model_judge(dir, judge.device, judge.model_batch, judge.kernels(), judge.buckets.as_deref())?
        }
        JudgeKind::Embedding => {
            let default = PathBuf::from(super::bert::weights::BASE_MODEL_DIR);
            let dir = judge.path.clone().unwrap_or(default);
            backend::embedding_judge(&dir, judge.device, judge.model_batch, judge.kernels())?
        }
        JudgeKind::None => Box::new(NoJudge),
        JudgeKind::Noop => Box::new(NoopJudge),
    })
}

/// `judge`, made slower by `delay` per batch where `delay` is not zero
/// (`faults.judge_delay_ms`; tests only).
pub fn slowed(judge: Box<dyn PairJudge>, delay: Duration) -> Box<dyn PairJudge> {
    if delay.is_zero() {
        judge
    } else {
        Box::new(Slowed { inner: judge, delay })
    }
}

/// Judge for `judge.kind: none`: the clusterer never asks it anything.
struct NoJudge;

impl PairJudge for NoJudge {
    fn name(&self) -> &str {
        "none"
    }
    fn score(&mut self, _: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        Err(JudgeError::NothingToJudge)
    }
}

/// A judge made slower by a fixed time per batch (`faults.judge_delay_ms`; tests only).
struct Slowed {
    inner: Box<dyn PairJudge>,
    delay: Duration,
}

impl PairJudge for Slowed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        std::thread::sleep(self.delay);
        self.inner.score(pairs)
    }
    fn release_hook(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.inner.release_hook()
    }
}
