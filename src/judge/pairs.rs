//! Training and evaluation pairs for the judge, built within each problem.
//!
//! A pair's label is `same = (class_i == class_j && class_i >= 0)`: the final answers are
//! equivalent. Each prefix is cut by the pipeline's own truncator. Splits are by problem, never
//! by pair, so no problem's traces leak from training into validation.

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::trace::dataset::TraceSet;
use crate::trace::truncate::{cut, TruncateError, TruncationSpec};
use crate::trace::TracePrefix;

/// One labelled pair of prefixes of the same problem.
#[derive(Debug, Clone)]
pub struct LabelledPair {
    /// Index of the problem in the trace set (for within-problem metrics).
    pub problem: usize,
    /// First prefix.
    pub a: Arc<TracePrefix>,
    /// Second prefix.
    pub b: Arc<TracePrefix>,
    /// True when the final answers are equivalent.
    pub same: bool,
}

/// The prefixes of every labelled trace, per problem, cut with `spec`.
pub fn prefixes(traces: &TraceSet, spec: &TruncationSpec) -> Result<Vec<Vec<Arc<TracePrefix>>>, TruncateError> {
    traces
        .problems
        .iter()
        .map(|(_, ts)| {
            ts.iter()
                .filter(|t| t.answer_class.is_some())
                .map(|t| cut(spec, t).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect()
}

/// Every unordered pair within each listed problem.
pub fn all_pairs(prefixes: &[Vec<Arc<TracePrefix>>], problems: &[usize]) -> Vec<LabelledPair> {
    let mut out = Vec::new();
    for &p in problems {
        let ts = &prefixes[p];
        for i in 0..ts.len() {
            for j in (i + 1)..ts.len() {
                let (ci, cj) = (ts[i].answer_class.unwrap_or(-1), ts[j].answer_class.unwrap_or(-1));
                out.push(LabelledPair { problem: p, a: ts[i].clone(), b: ts[j].clone(), same: ci == cj && ci >= 0 });
            }
        }
    }
    out
}

/// Splits problem indices `0..n` into (train, validation) by a seeded shuffle.
pub fn split_problems(n: usize, validation_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut SmallRng::seed_from_u64(seed));
    let n_val = ((n as f64) * validation_fraction).round() as usize;
    let mut val = idx[..n_val.min(n)].to_vec();
    let mut train = idx[n_val.min(n)..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    (train, val)
}

/// The pairs of problems whose pairs carry both labels. A problem where every pair is
/// different (or every pair the same) teaches only how hard the problem is, which does not
/// tell one trace of a problem from another: the clusterer only ever compares traces of one
/// problem.
pub fn with_both_labels(pairs: Vec<LabelledPair>) -> Vec<LabelledPair> {
    let mut seen: std::collections::HashMap<usize, (bool, bool)> = Default::default();
    for p in &pairs {
        let e = seen.entry(p.problem).or_default();
        if p.same {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    pairs.into_iter().filter(|p| seen.get(&p.problem) == Some(&(true, true))).collect()
}

/// The pair with its prefixes in the other order.
pub fn swapped(p: &LabelledPair) -> LabelledPair {
    LabelledPair { problem: p.problem, a: p.b.clone(), b: p.a.clone(), same: p.same }
}

/// Repeats each minority-class pair so that it appears `factor` times in all (factor 1: off).
/// The minority class is whichever label is rarer.
pub fn oversample_minority(pairs: &[LabelledPair], factor: usize) -> Vec<LabelledPair> {
    let positives = pairs.iter().filter(|p| p.same).count();
    let minority = positives * 2 < pairs.len();
    let mut out = Vec::with_capacity(pairs.len());
    for p in pairs {
        let copies = if p.same == minority { factor.max(1) } else { 1 };
        out.extend(std::iter::repeat_n(p.clone(), copies));
    }
    out
}

/// At most `max_pairs` pairs, sampled with a seed and stratified per problem: each problem
/// keeps the same share of its pairs, so no problem dominates the estimate.
pub fn sample_stratified(pairs: Vec<LabelledPair>, max_pairs: Option<usize>, seed: u64) -> Vec<LabelledPair> {
    let Some(max) = max_pairs.filter(|&m| m < pairs.len()) else { return pairs };
    let share = max as f64 / pairs.len() as f64;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut by_problem: std::collections::BTreeMap<usize, Vec<LabelledPair>> = Default::default();
    for p in pairs {
        by_problem.entry(p.problem).or_default().push(p);
    }
    let mut out = Vec::with_capacity(max);
    for (_, mut ps) in by_problem {
        ps.shuffle(&mut rng);
        let keep = ((ps.len() as f64) * share).round().max(1.0) as usize;
        out.extend(ps.into_iter().take(keep));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(sample: u32, class: i64) -> Arc<TracePrefix> {
        Arc::new(TracePrefix { pid: "p".into(), sample, text: "".into(), tokens: 0, whole_trace: false, answer_class: Some(class) })
    }

    #[test]
    fn labels_need_equal_non_negative_classes() {
        let prefixes = vec![vec![prefix(0, 1), prefix(1, 1), prefix(2, -1), prefix(3, -1)]];
        let pairs = all_pairs(&prefixes, &[0]);
        let same: Vec<(u32, u32)> = pairs.iter().filter(|p| p.same).map(|p| (p.a.sample, p.b.sample)).collect();
        assert_eq!(pairs.len(), 6);
        assert_eq!(same, vec![(0, 1)]);
    }

    #[test]
    fn split_is_by_problem_and_disjoint() {
        let (train, val) = split_problems(100, 0.1, 7);
        assert_eq!((train.len(), val.len()), (90, 10));
        assert!(val.iter().all(|v| !train.contains(v)));
        assert_eq!(split_problems(100, 0.1, 7), (train, val));
    }

    #[test]
    fn problems_with_one_label_only_are_dropped_and_swapping_keeps_the_label() {
        let prefixes = vec![
            vec![prefix(0, 1), prefix(1, 1), prefix(2, 2)],
            vec![prefix(0, 1), prefix(1, 2), prefix(2, -1)],
            vec![prefix(0, 4), prefix(1, 4)],
        ];
        let kept = with_both_labels(all_pairs(&prefixes, &[0, 1, 2]));
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|p| p.problem == 0));
        let s = swapped(&kept[0]);
        assert_eq!((s.a.sample, s.b.sample, s.same), (kept[0].b.sample, kept[0].a.sample, kept[0].same));
    }

    #[test]
    fn oversampling_repeats_the_rarer_label() {
        let prefixes = vec![vec![prefix(0, 1), prefix(1, 1), prefix(2, 2), prefix(3, 3)]];
        let pairs = all_pairs(&prefixes, &[0]);
        let over = oversample_minority(&pairs, 3);
        assert_eq!(over.len(), 6 - 1 + 3);
        assert_eq!(over.iter().filter(|p| p.same).count(), 3);
    }
}
