//! Training and evaluation pairs for the judge, built within each problem.
//!
//! A pair's label is `same = (class_i == class_j && class_i >= 0)`: the final answers are
//! equivalent. Each prefix is cut by the pipeline's own truncator. Splits are by problem, never
//! by pair, so no problem's traces leak from training into validation. The minority label is
//! oversampled for training; validation pairs are sampled stratified by problem.

use std::collections::HashMap;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::judge::bert::{EncodedPair, PairEncoder};
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

/// Splits problems into (train, validation) by problem id: every problem with a held-out id is
/// held out, so a question sampled from two generators (two trace files) never sits on both
/// sides. With unique ids this is [`split_problems`] over `0..pids.len()`.
pub fn split_problems_by_pid(pids: &[&str], validation_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut unique: Vec<&str> = Vec::new();
    for p in pids {
        if !unique.contains(p) {
            unique.push(p);
        }
    }
    let (_, val_ids) = split_problems(unique.len(), validation_fraction, seed);
    let held: std::collections::HashSet<&str> = val_ids.iter().map(|&i| unique[i]).collect();
    (0..pids.len()).partition(|&i| !held.contains(pids[i]))
}

/// Each pair repeated by its problem's weight: `floor(w)` copies, and one more with
/// probability `w − floor(w)` (seeded). A weight of 1 keeps every pair once.
pub fn weighted(pairs: Vec<LabelledPair>, weight: impl Fn(usize) -> f64, seed: u64) -> Vec<LabelledPair> {
    use rand::Rng;
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5EED_0F_5EED);
    let mut out = Vec::with_capacity(pairs.len());
    for p in pairs {
        let w = weight(p.problem).max(0.0);
        let copies = w.floor() as usize + usize::from(rng.random_bool(w.fract()));
        out.extend(std::iter::repeat_n(p, copies));
    }
    out
}

/// One pair list from several checkpoints' lists of the same pairs (built by [`all_pairs`] over
/// the same problems, so index i is the same two traces in each): each pair is taken at one
/// checkpoint drawn uniformly with a seed. One list is returned as it is.
pub fn mix_checkpoints(mut per_checkpoint: Vec<Vec<LabelledPair>>, seed: u64) -> Vec<LabelledPair> {
    use rand::Rng;
    if per_checkpoint.len() <= 1 {
        return per_checkpoint.pop().unwrap_or_default();
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xC4EC_4B01);
    let n = per_checkpoint[0].len();
    debug_assert!(per_checkpoint.iter().all(|l| l.len() == n), "checkpoints list the same pairs");
    (0..n).map(|i| per_checkpoint[rng.random_range(0..per_checkpoint.len())][i].clone()).collect()
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

/// Pairs framed from cached ids, with their labels and problems.
pub(super) struct Framed {
    pub(super) items: Vec<EncodedPair>,
    pub(super) labels: Vec<bool>,
    pub(super) problems: Vec<usize>,
}

/// Frames `pairs` from the WordPiece ids of each prefix, keyed by `(problem, sample, tokens)`.
pub(super) fn frame(pairs: &[LabelledPair], ids: &HashMap<(usize, u32, usize), Vec<u32>>, encoder: &PairEncoder) -> Framed {
    let get =
        |problem: usize, p: &crate::trace::TracePrefix| ids.get(&(problem, p.sample, p.tokens)).map(Vec::as_slice).unwrap_or(&[]);
    Framed {
        items: pairs.iter().map(|p| encoder.pair_from_ids(get(p.problem, &p.a), get(p.problem, &p.b), encoder.max_len())).collect(),
        labels: pairs.iter().map(|p| p.same).collect(),
        problems: pairs.iter().map(|p| p.problem).collect(),
    }
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
    fn a_question_from_two_files_lands_on_one_side_of_the_split() {
        let pids: Vec<String> = (0..40).map(|i| format!("q{i}")).chain((0..40).map(|i| format!("q{i}"))).collect();
        let refs: Vec<&str> = pids.iter().map(String::as_str).collect();
        let (train, val) = split_problems_by_pid(&refs, 0.25, 3);
        assert_eq!((train.len(), val.len()), (60, 20));
        for &v in &val {
            assert!(val.contains(&((v + 40) % 80)), "{} held out in one file only", pids[v]);
        }
        // With unique ids it is the plain split.
        let (t1, v1) = split_problems_by_pid(&refs[..40], 0.25, 3);
        assert_eq!((t1, v1), split_problems(40, 0.25, 3));
    }

    #[test]
    fn mixed_checkpoints_take_each_pair_once_at_some_checkpoint() {
        let short = vec![vec![prefix(0, 1), prefix(1, 1), prefix(2, 2), prefix(3, 2)]];
        let long: Vec<Vec<Arc<TracePrefix>>> =
            vec![short[0].iter().map(|p| Arc::new(TracePrefix { tokens: 128, ..(**p).clone() })).collect()];
        let mixed = mix_checkpoints(vec![all_pairs(&short, &[0]), all_pairs(&long, &[0])], 5);
        assert_eq!(mixed.len(), 6);
        let at_long = mixed.iter().filter(|p| p.a.tokens == 128).count();
        assert!((1..6).contains(&at_long), "{at_long} of 6 at the later checkpoint");
        assert!(mixed.iter().all(|p| p.a.tokens == p.b.tokens), "both prefixes of a pair at one checkpoint");
        let pairs: Vec<(u32, u32)> = mixed.iter().map(|p| (p.a.sample, p.b.sample)).collect();
        assert_eq!(pairs, all_pairs(&short, &[0]).iter().map(|p| (p.a.sample, p.b.sample)).collect::<Vec<_>>());
    }

    #[test]
    fn weights_repeat_and_subsample_pairs() {
        let prefixes = vec![vec![prefix(0, 1), prefix(1, 1), prefix(2, 2)]; 2];
        let pairs: Vec<LabelledPair> = (0..200).flat_map(|_| all_pairs(&prefixes, &[0, 1])).collect();
        let w = weighted(pairs.clone(), |p| if p == 0 { 3.0 } else { 0.25 }, 1);
        assert_eq!(w.iter().filter(|p| p.problem == 0).count(), 3 * 600);
        let light = w.iter().filter(|p| p.problem == 1).count();
        assert!((100..200).contains(&light), "{light} of 600 kept at weight 0.25");
        assert_eq!(weighted(pairs.clone(), |_| 1.0, 1).len(), pairs.len());
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
