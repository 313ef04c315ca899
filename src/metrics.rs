//! Evaluation metrics: AUROC, TNR at a fixed FNR, expected cons@k accuracy, bootstrap intervals.

use rand::rngs::SmallRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};

/// Area under the ROC curve of `scores` for binary `labels` (true = positive), with tied scores
/// counted half (Mann–Whitney U). `None` without both classes.
pub fn auroc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len().min(labels.len())).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum_pos, mut n_pos) = (0.0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Average 1-based rank of the tie block.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = idx.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// The ROC curve of `scores` for `labels`: (false-positive rate, true-positive rate) points from
/// (0, 0) to (1, 1), one per distinct score threshold, thinned to about `max_points` by keeping
/// every step-th point (and always both ends). Empty without both classes.
pub fn roc_curve(scores: &[f32], labels: &[bool], max_points: usize) -> Vec<(f64, f64)> {
    let n = scores.len().min(labels.len());
    let n_pos = labels[..n].iter().filter(|&&l| l).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    // Highest score first: lowering the threshold admits pairs in this order.
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && scores[idx[j]] == scores[idx[i]] {
            if labels[idx[j]] {
                tp += 1;
            } else {
                fp += 1;
            }
            j += 1;
        }
        points.push((fp as f64 / n_neg as f64, tp as f64 / n_pos as f64));
        i = j;
    }
    let step = points.len().div_ceil(max_points.max(2));
    let last = points.len() - 1;
    points.into_iter().enumerate().filter(|&(k, _)| k % step == 0 || k == last).map(|(_, p)| p).collect()
}

/// AUROC within each group (problem), averaged over groups that have both labels, weighted by
/// the group's pair count.
pub fn auroc_within(groups: &[usize], scores: &[f32], labels: &[bool]) -> Option<f64> {
    let mut by_group: std::collections::BTreeMap<usize, (Vec<f32>, Vec<bool>)> = Default::default();
    for ((&g, &s), &l) in groups.iter().zip(scores).zip(labels) {
        let e = by_group.entry(g).or_default();
        e.0.push(s);
        e.1.push(l);
    }
    let (mut sum, mut weight) = (0.0, 0.0);
    for (s, l) in by_group.values() {
        if let Some(a) = auroc(s, l) {
            sum += a * s.len() as f64;
            weight += s.len() as f64;
        }
    }
    (weight > 0.0).then(|| sum / weight)
}

/// True-negative rate at the threshold whose false-negative rate is at most `fnr`: a pair is
/// predicted positive when its score is at least the threshold, and the threshold is the highest
/// one that keeps at least `1 - fnr` of the positives.
pub fn tnr_at_fnr(scores: &[f32], labels: &[bool], fnr: f64) -> Option<f64> {
    let mut pos: Vec<f32> = scores.iter().zip(labels).filter(|(_, &l)| l).map(|(&s, _)| s).collect();
    let neg: Vec<f32> = scores.iter().zip(labels).filter(|(_, &l)| !l).map(|(&s, _)| s).collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    pos.sort_by(|a, b| b.total_cmp(a));
    let keep = ((1.0 - fnr) * pos.len() as f64).ceil().max(1.0) as usize;
    let threshold = pos[keep.min(pos.len()) - 1];
    Some(neg.iter().filter(|&&s| s < threshold).count() as f64 / neg.len() as f64)
}

/// Fraction of pairs whose score ≥ `threshold` matches the label.
pub fn accuracy_at(scores: &[f32], labels: &[bool], threshold: f32) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    let hits = scores.iter().zip(labels).filter(|(&s, &l)| (s >= threshold) == l).count();
    hits as f64 / scores.len() as f64
}

/// Expected accuracy of a majority vote over `k` traces drawn without replacement, estimated
/// from `draws` seeded draws. `groups[i]` is trace i's answer group (`None`: no answer) and
/// `correct_group` the group equivalent to the gold answer, if any. Ties are broken uniformly.
pub fn cons_at_k(groups: &[Option<usize>], correct_group: Option<usize>, k: usize, draws: usize, seed: u64) -> f64 {
    let n = groups.len();
    if n == 0 || k == 0 {
        return 0.0;
    }
    let Some(correct) = correct_group else { return 0.0 };
    let k = k.min(n);
    let n_groups = groups.iter().flatten().max().map_or(0, |m| m + 1);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut counts = vec![0usize; n_groups];
    let draws = if k == n { 1 } else { draws.max(1) };
    let mut total = 0.0;
    for _ in 0..draws {
        counts.iter_mut().for_each(|c| *c = 0);
        for i in sample(&mut rng, n, k) {
            if let Some(g) = groups[i] {
                counts[g] += 1;
            }
        }
        let best = counts.iter().copied().max().unwrap_or(0);
        if best == 0 {
            continue;
        }
        let winners = counts.iter().filter(|&&c| c == best).count();
        if counts[correct] == best {
            total += 1.0 / winners as f64;
        }
    }
    total / draws as f64
}

/// cons@k where k may be fractional: linear interpolation between the neighbouring integers,
/// so a token budget between k and k+1 traces is compared fairly.
pub fn cons_at_fractional_k(groups: &[Option<usize>], correct_group: Option<usize>, k: f64, draws: usize, seed: u64) -> f64 {
    let n = groups.len() as f64;
    let k = k.clamp(1.0, n.max(1.0));
    let lo = k.floor();
    let frac = k - lo;
    let a = cons_at_k(groups, correct_group, lo as usize, draws, seed);
    if frac < 1e-9 {
        return a;
    }
    let b = cons_at_k(groups, correct_group, lo as usize + 1, draws, seed);
    a + frac * (b - a)
}

/// 95% percentile-bootstrap interval of the mean of `values`, resampling items.
pub fn bootstrap_mean_ci(values: &[f64], resamples: usize, seed: u64) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples.max(1))
        .map(|_| (0..values.len()).map(|_| values[rng.random_range(0..values.len())]).sum::<f64>() / values.len() as f64)
        .collect();
    means.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_curve_steps_and_area() {
        // Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg).
        let s = [0.9, 0.8, 0.7, 0.1];
        let l = [true, false, true, false];
        let c = roc_curve(&s, &l, 100);
        assert_eq!(c, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        // The trapezoid area under the curve equals the rank AUROC.
        let area: f64 = c.windows(2).map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0).sum();
        assert!((area - auroc(&s, &l).unwrap()).abs() < 1e-12);
        assert!(roc_curve(&s, &[true; 4], 10).is_empty());
        // Thinning keeps both ends.
        let many: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let labels: Vec<bool> = (0..1000).map(|i| i % 3 == 0).collect();
        let thin = roc_curve(&many, &labels, 50);
        assert!(thin.len() <= 52, "{}", thin.len());
        assert_eq!(thin.first(), Some(&(0.0, 0.0)));
        assert_eq!(thin.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn auroc_known_values() {
        let cases: &[(&[f32], &[bool], Option<f64>)] = &[
            (&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true], Some(1.0)),
            (&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true], Some(0.0)),
            (&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true], Some(0.5)),
            (&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true], Some(0.75)),
            (&[0.1, 0.2], &[true, true], None),
        ];
        for (s, l, want) in cases {
            let got = auroc(s, l);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{s:?}: {g} != {w}"),
                (g, w) => assert_eq!(g, *w),
            }
        }
    }

    #[test]
    fn within_problem_auroc_ignores_between_problem_offsets() {
        // Each problem alone is perfectly ranked, but problem 1's scores all sit below problem 0's
        // negatives, so pooled AUROC is lower than the within-problem figure.
        let groups = [0, 0, 1, 1];
        let scores = [0.6, 0.9, 0.1, 0.3];
        let labels = [false, true, false, true];
        assert_eq!(auroc_within(&groups, &scores, &labels), Some(1.0));
        assert!(auroc(&scores, &labels).unwrap() < 1.0);
    }

    #[test]
    fn tnr_at_fnr_picks_the_threshold_keeping_80_percent_of_positives() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.1, 0.5, 0.65, 0.2, 0.3, 0.95];
        let labels = [true, true, true, true, true, false, false, false, false, false];
        // Keep 4 of 5 positives: threshold 0.6; negatives below 0.6: 0.5, 0.2, 0.3.
        assert_eq!(tnr_at_fnr(&scores, &labels, 0.2), Some(0.6));
    }

    #[test]
    fn cons_at_k_edges() {
        let groups = [Some(0), Some(0), Some(1)];
        assert_eq!(cons_at_k(&groups, Some(0), 3, 100, 1), 1.0);
        assert_eq!(cons_at_k(&groups, Some(1), 3, 100, 1), 0.0);
        // k = 1: accuracy is the share of correct traces.
        let p = cons_at_k(&groups, Some(0), 1, 20_000, 1);
        assert!((p - 2.0 / 3.0).abs() < 0.02, "{p}");
        // k = 2 over {0,0,1}: draws {0,0} win; {0,1} ties and is split: 1/3 + 2/3 * 1/2.
        let p = cons_at_k(&groups, Some(0), 2, 20_000, 1);
        assert!((p - 2.0 / 3.0).abs() < 0.02, "{p}");
        assert_eq!(cons_at_k(&groups, None, 3, 10, 1), 0.0);
    }

    #[test]
    fn bootstrap_interval_brackets_the_mean() {
        let v: Vec<f64> = (0..100).map(|i| (i % 2) as f64).collect();
        let (lo, hi) = bootstrap_mean_ci(&v, 500, 3);
        assert!(lo < 0.5 && hi > 0.5 && lo > 0.3 && hi < 0.7, "{lo} {hi}");
    }
}
