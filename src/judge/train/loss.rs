//! The training losses over the cross-encoder's logits: focal loss (Lin et al. 2017), as
//! DeepPrune trains its judge, and plain binary cross-entropy.

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;

/// Focal loss over logits, mean over the batch. `labels` are 0/1. With γ = 0 and α = 0.5 it is
/// half the binary cross-entropy.
pub fn focal_loss<B: Backend>(logits: Tensor<B, 1>, labels: Tensor<B, 1>, gamma: f32, alpha: f32) -> Tensor<B, 1> {
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_sigmoid(logits.neg());
    // log p_t: the log-probability given to the true label.
    let log_pt = log_p * labels.clone() + log_not_p * (labels.clone().neg() + 1.0);
    let pt = log_pt.clone().exp();
    let alpha_t = labels.clone() * alpha + (labels.neg() + 1.0) * (1.0 - alpha);
    let modulator = (pt.neg() + 1.0).clamp_min(0.0).powf_scalar(gamma);
    (alpha_t * modulator * log_pt).neg().mean()
}

/// Binary cross-entropy over logits, mean over the batch.
pub fn bce_loss<B: Backend>(logits: Tensor<B, 1>, labels: Tensor<B, 1>) -> Tensor<B, 1> {
    let log_p = log_sigmoid(logits.clone());
    let log_not_p = log_sigmoid(logits.neg());
    (log_p * labels.clone() + log_not_p * (labels.neg() + 1.0)).neg().mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn focal_loss_matches_hand_computed_values() {
        let device = Default::default();
        let logits = Tensor::<Flex, 1>::from_floats([2.0, -1.0, 0.0], &device);
        let labels = Tensor::<Flex, 1>::from_floats([1.0, 1.0, 0.0], &device);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let pts = [sig(2.0), sig(-1.0), 1.0 - sig(0.0)];
        let alphas = [0.25, 0.25, 0.75];
        let want: f64 = pts.iter().zip(alphas).map(|(&p, a)| -a * (1.0 - p).powi(2) * p.ln()).sum::<f64>() / 3.0;
        let got: f32 = focal_loss(logits.clone(), labels.clone(), 2.0, 0.25).into_scalar().elem();
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        // γ = 0, α = 0.5: half the BCE.
        let half: f32 = focal_loss(logits.clone(), labels.clone(), 0.0, 0.5).into_scalar().elem();
        let bce: f32 = bce_loss(logits, labels).into_scalar().elem();
        assert!((half * 2.0 - bce).abs() < 1e-5, "{half} {bce}");
    }
}
