//! DeepConf's confidence-based early stopping (arXiv 2508.15260), on the per-token confidence
//! `C = -mean(top-20 log-probabilities)` that the dataset's `conf` field records.
//!
//! - The *group confidence* at token i is the mean of C over the last `window` tokens (fewer at
//!   the start of a trace). The paper uses 2048-token windows on traces of 10k+ tokens; the
//!   traces here average ~380 tokens, so the default window is 64.
//! - Warm-up: the first `n_init` traces run in full. The stop threshold s is the (100 − η)-th
//!   percentile of their *lowest* group confidences: DeepConf-low keeps the top η = 10%,
//!   DeepConf-high the top η = 90%.
//! - Every later trace stops as soon as its group confidence falls below s (once it has at least
//!   `window` tokens, so one uncertain opening token cannot stop it).
//! - The vote weights each finished trace by its lowest group confidence.

/// DeepConf's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeepConfParams {
    /// Tokens in a group.
    pub window: usize,
    /// Warm-up traces run in full to set the threshold.
    pub n_init: usize,
    /// η: the percentage of warm-up traces whose lowest confidence stays above the threshold.
    pub eta: f64,
}

impl DeepConfParams {
    /// DeepConf-low: keep the top 10% (aggressive stopping).
    pub fn low(window: usize, n_init: usize) -> Self {
        Self { window, n_init, eta: 10.0 }
    }
    /// DeepConf-high: keep the top 90% (conservative stopping).
    pub fn high(window: usize, n_init: usize) -> Self {
        Self { window, n_init, eta: 90.0 }
    }
    /// Whether `sample` is a warm-up trace, for a generator that numbers its samples from 0
    /// (live generation): the samples below `n_init`, which are then the `n_init` smallest, the
    /// ones the voter completes (see [`crate::vote::survivors`]).
    pub fn is_warmup(&self, sample: u32) -> bool {
        (sample as usize) < self.n_init
    }
}

/// Group confidence after each token: the mean of the last `window` values (fewer at the start).
pub fn group_confidences(conf: &[f32], window: usize) -> Vec<f32> {
    let window = window.max(1);
    let mut out = Vec::with_capacity(conf.len());
    let mut sum = 0.0f64;
    for (i, &c) in conf.iter().enumerate() {
        sum += c as f64;
        if i >= window {
            sum -= conf[i - window] as f64;
        }
        out.push((sum / (i + 1).min(window) as f64) as f32);
    }
    out
}

/// The lowest group confidence over full windows (over the whole trace if it is shorter).
pub fn lowest_group_confidence(conf: &[f32], window: usize) -> Option<f32> {
    let groups = group_confidences(conf, window);
    let from = window.max(1).min(groups.len()).saturating_sub(1);
    groups[from..].iter().copied().reduce(f32::min)
}

/// The stop threshold: the (100 − η)-th percentile of the warm-up traces' lowest confidences
/// (nearest rank). `None` without warm-up traces.
pub fn threshold(warmup_lowest: &[f32], eta: f64) -> Option<f32> {
    let mut v: Vec<f32> = warmup_lowest.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = ((100.0 - eta) / 100.0).clamp(0.0, 1.0);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Tokens a trace emits before it stops: the first full-window position whose group confidence
/// is below `s`, counted inclusively. `None` if it never drops below `s`.
pub fn stop_after(conf: &[f32], window: usize, s: f32) -> Option<usize> {
    let groups = group_confidences(conf, window);
    let from = window.max(1).saturating_sub(1);
    groups.iter().enumerate().skip(from).find(|(_, &g)| g < s).map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_confidence_is_a_sliding_mean() {
        let g = group_confidences(&[1.0, 3.0, 5.0, 7.0], 2);
        assert_eq!(g, vec![1.0, 2.0, 4.0, 6.0]);
        assert_eq!(lowest_group_confidence(&[1.0, 3.0, 5.0, 7.0], 2), Some(2.0));
        assert_eq!(lowest_group_confidence(&[4.0], 8), Some(4.0));
        assert_eq!(lowest_group_confidence(&[], 8), None);
    }

    #[test]
    fn thresholds_for_low_and_high() {
        let warm: Vec<f32> = (1..=10).map(|x| x as f32).collect();
        // DeepConf-low keeps the top 10%: threshold at the 90th percentile.
        assert_eq!(threshold(&warm, 10.0), Some(9.0));
        // DeepConf-high keeps the top 90%: threshold at the 10th percentile.
        assert_eq!(threshold(&warm, 90.0), Some(1.0));
        assert_eq!(threshold(&[], 10.0), None);
    }

    #[test]
    fn stops_at_the_first_full_window_below_the_threshold() {
        let conf = [9.0, 1.0, 9.0, 9.0, 2.0, 2.0, 9.0];
        // Window 2: groups after each token 9, 5, 5, 9, 5.5, 2, 5.5; the first full window is
        // token 2 (5.0); the first below 3.0 is token 6.
        assert_eq!(stop_after(&conf, 2, 3.0), Some(6));
        assert_eq!(stop_after(&conf, 2, 1.0), None);
        // An uncertain first token alone does not stop a trace.
        assert_eq!(stop_after(&[0.0, 9.0, 9.0], 2, 1.0), None);
    }
}
