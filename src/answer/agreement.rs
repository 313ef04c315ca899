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
    /// Traces with a `correct` label left out of `traces`: their problem has no gold answer, or
    /// is not in the problems file.
    pub traces_ungraded: u64,
    /// The problems of those traces, in the traces file's order.
    pub ungraded_pids: Vec<String>,
}

/// Compares our verdicts with the reference labels. Each answer is extracted knowing how its
/// trace ended, where the file says. Traces without `answer_class` are left out of the pair
/// count; traces without `correct`, of the trace count; labelled traces whose problem has no
/// gold are left out of it too, and counted in `traces_ungraded`.
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
        let Some(g) = gold.get(pid.as_str()) else {
            let labelled = ts.iter().filter(|t| t.correct.is_some()).count() as u64;
            if labelled > 0 {
                a.traces_ungraded += labelled;
                a.ungraded_pids.push(pid.clone());
            }
            continue;
        };
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::trace::Trace;

    #[test]
    fn labelled_traces_of_problems_without_gold_are_counted_apart() {
        let trace = |pid: &str, sample: u32, text: &str, correct: bool| {
            Arc::new(Trace {
                pid: pid.into(),
                sample,
                text: text.into(),
                tok_bytes: None,
                conf: None,
                finish: None,
                answer: None,
                answer_class: Some(0),
                correct: Some(correct),
            })
        };
        let problem = |pid: &str, gold: Option<&str>| Problem {
            pid: pid.into(),
            source: None,
            question: String::new(),
            gold: gold.map(Into::into),
            split: None,
        };
        let problems = vec![problem("graded", Some("4")), problem("no-gold", None)];
        let traces = TraceSet {
            problems: vec![
                ("graded".into(), vec![trace("graded", 0, "\\boxed{4}", true), trace("graded", 1, "\\boxed{5}", true)]),
                ("no-gold".into(), vec![trace("no-gold", 0, "\\boxed{4}", true)]),
                ("unknown".into(), vec![trace("unknown", 0, "\\boxed{4}", true), trace("unknown", 1, "\\boxed{4}", false)]),
            ],
        };
        let a = check(&problems, &traces);
        assert_eq!((a.traces, a.traces_we_reject, a.pairs), (2, 1, 2), "{a:?}");
        assert_eq!(a.traces_ungraded, 3, "{a:?}");
        assert_eq!(a.ungraded_pids, ["no-gold", "unknown"]);
    }
}
