//! The oracle judge: reference labels, an upper bound on what any judge can do.

use std::collections::HashMap;
use std::sync::Arc;

use super::{JudgeError, PairInput, PairJudge};
use crate::trace::TracePrefix;

/// Scores 1 when both traces have the same reference answer class (≥ 0), else 0.
///
/// The labels come from the dataset (`answer_class`), looked up by `(pid, sample)`, or from the
/// prefix itself when it carries one.
#[derive(Debug, Default)]
pub struct OracleJudge {
    labels: HashMap<(Arc<str>, u32), i64>,
}

impl OracleJudge {
    /// An oracle over these `(pid, sample) → answer_class` labels.
    pub fn new(labels: HashMap<(Arc<str>, u32), i64>) -> Self {
        Self { labels }
    }

    fn class(&self, t: &TracePrefix) -> Result<i64, JudgeError> {
        t.answer_class
            .or_else(|| self.labels.get(&(t.pid.clone(), t.sample)).copied())
            .ok_or_else(|| JudgeError::NoLabel { trace: format!("{}#{}", t.pid, t.sample) })
    }
}

impl PairJudge for OracleJudge {
    fn name(&self) -> &str {
        "oracle"
    }

    fn score(&mut self, pairs: &[PairInput]) -> Result<Vec<f32>, JudgeError> {
        pairs
            .iter()
            .map(|p| {
                let (a, b) = (self.class(&p.a)?, self.class(&p.b)?);
                Ok(if a == b && a >= 0 { 1.0 } else { 0.0 })
            })
            .collect()
    }
}
