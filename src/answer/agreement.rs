//! How often our answer extraction and equivalence agree with a dataset's reference labels.

use std::collections::HashMap;

use serde::Serialize;

use super::{extract_with_finish, Answer};
use crate::trace::dataset::TraceSet;
use crate::trace::Problem;

/// Agreement with the reference labels (`answer_class`, `correct`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    /// Same-problem trace pairs compared.
    pub pairs: u64,
    /// Share of pairs where our same/different verdict equals the reference's.
    pub pair_agreement: f64,
    /// Traces graded (those with a `correct` label and a gold answer).
    pub traces: u64,
    /// Share of graded traces where our correctness verdict equals the reference's.
    pub correct_agreement: f64,
    /// Pairs we call the same that the reference calls different.
    pub pairs_we_merge: u64,
    /// Pairs we call different that the reference calls the same.
    pub pairs_we_split: u64,
    /// Traces we grade correct that the reference grades wrong.
    pub traces_we_accept: u64,
    /// Traces we grade wrong that the reference grades correct.
    pub traces_we_reject: u64,
}

/// Compares our verdicts with the reference labels. Each answer is extracted knowing how its
/// trace ended, where the file says. Traces without `answer_class` are left out of the pair
/// count; traces without `correct` or whose problem has no gold, of the trace count.
pub fn check(problems: &[Problem], traces: &TraceSet) -> Agreement {
    let gold: HashMap<&str, Answer> =
        problems.iter().filter_map(|p| p.gold.as_deref().map(|g| (p.pid.as_str(), Answer::parse(g)))).collect();
    let mut a = Agreement::default();
    let (mut pair_hits, mut trace_hits) = (0u64, 0u64);
    for (pid, ts) in &traces.problems {
        let ours: Vec<Option<Answer>> =
            ts.iter().map(|t| extract_with_finish(&t.text, t.finish).map(|s| Answer::parse(&s))).collect();
        for i in 0..ts.len() {
            for j in (i + 1)..ts.len() {
                let (Some(ci), Some(cj)) = (ts[i].answer_class, ts[j].answer_class) else { continue };
                let reference = ci == cj && ci >= 0;
                let mine = match (&ours[i], &ours[j]) {
                    (Some(x), Some(y)) => x.equivalent(y),
                    _ => false,
                };
                a.pairs += 1;
                match (mine, reference) {
                    (true, false) => a.pairs_we_merge += 1,
                    (false, true) => a.pairs_we_split += 1,
                    _ => pair_hits += 1,
                }
            }
        }
        let Some(g) = gold.get(pid.as_str()) else { continue };
        for (t, mine) in ts.iter().zip(&ours) {
            let Some(reference) = t.correct else { continue };
            let mine = mine.as_ref().is_some_and(|m| m.equivalent(g));
            a.traces += 1;
            match (mine, reference) {
                (true, false) => a.traces_we_accept += 1,
                (false, true) => a.traces_we_reject += 1,
                _ => trace_hits += 1,
            }
        }
    }
    a.pair_agreement = if a.pairs > 0 { pair_hits as f64 / a.pairs as f64 } else { 0.0 };
    a.correct_agreement = if a.traces > 0 { trace_hits as f64 / a.traces as f64 } else { 0.0 };
    a
}
