//! Multi-head self-attention, the part of the encoder whose implementation the serving
//! kernels change most ([`Attention`]): Burn's fused op, Burn's reference composition, the
//! [`Attention::Deferred`] composition, or a flash kernel ([`kernels::flash`],
//! [`kernels::flash2`]), each falling back where it does not run.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::module::{attention, attention_fallback};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor};

use super::model::{dense, linear, Attention};
#[cfg(doc)]
use super::model::BertEncoder;
use crate::judge::kernels::{self, Matmul};

/// Multi-head self-attention with its output projection.
#[derive(Module, Debug)]
pub struct BertSelfAttention<B: Backend> {
    /// Query projection.
    pub query: Linear<B>,
    /// Key projection.
    pub key: Linear<B>,
    /// Value projection.
    pub value: Linear<B>,
    /// Projection of the concatenated heads back to the hidden width.
    pub output: Linear<B>,
    /// Number of heads.
    pub num_heads: usize,
    /// Which attention implementation runs; see [`Attention`].
    #[module(skip)]
    pub implementation: Attention,
    /// Each [`Projection`]'s concatenated weight and bias, built once by
    /// [`BertEncoder::frozen`] for serving. `None` while training: the concatenation is then
    /// redone on every call, so it always sees the current weights.
    #[module(skip)]
    pub frozen_qkv: Option<Vec<(Tensor<B, 2>, Tensor<B, 1>)>>,
}

/// The projections of the attention input that run as one matmul each: one `[hidden, 3 ·
/// hidden]` matmul runs faster on a GPU than three `[hidden, hidden]` ones. The `[CLS]`-only
/// last layer needs queries for one row and keys and values for all, hence `Q` and `Kv`.
#[derive(Debug, Clone, Copy)]
enum Projection {
    Qkv = 0,
    Q = 1,
    Kv = 2,
}

/// The key-padding mask, built once per forward pass and shared by every layer. The additive
/// form that [`Attention::Deferred`] reads is derived from it on first use, so each forward
/// pass builds only the forms its layers read.
pub(super) struct KeyPadding<B: Backend> {
    /// `[batch, len]`, 0 on padded keys: what [`Attention::Flash`] reads.
    keys: Tensor<B, 2, Int>,
    /// `[batch, 1, 1, len]`, true on padded keys.
    mask: Tensor<B, 4, burn::tensor::Bool>,
    /// `[batch, 1, 1, len]`: 0 on real keys, −∞ on padded ones.
    bias: std::cell::OnceCell<Tensor<B, 4>>,
}

impl<B: Backend> KeyPadding<B> {
    pub(super) fn new(attention_mask: &Tensor<B, 2, Int>) -> Self {
        let [batch, len] = attention_mask.dims();
        let mask = attention_mask.clone().equal_elem(0).reshape([batch, 1, 1, len]);
        Self { keys: attention_mask.clone(), mask, bias: std::cell::OnceCell::new() }
    }

    fn bias(&self) -> Tensor<B, 4> {
        self.bias
            .get_or_init(|| Tensor::zeros(self.mask.dims(), &self.mask.device()).mask_fill(self.mask.clone(), f32::NEG_INFINITY))
            .clone()
    }
}

/// Softmax attention `softmax(q·kᵀ + bias) · v` with the queries already scaled by `1/√d`,
/// normalised after the value product. The row maximum is subtracted before `exp` as in any
/// stable softmax; it is detached because softmax does not depend on it. Every row has a real
/// key (`[CLS]`), so the maximum is finite.
pub fn attention_deferred<B: Backend>(q: Tensor<B, 4>, k: Tensor<B, 4>, v: Tensor<B, 4>, bias: Tensor<B, 4>) -> Tensor<B, 4> {
    let scores = q.matmul(k.transpose()) + bias;
    let max = scores.clone().max_dim(3).detach();
    let weights = (scores - max).exp();
    let total = weights.clone().sum_dim(3);
    weights.matmul(v) / total
}

impl<B: Backend> BertSelfAttention<B> {
    /// Builds the concatenated query/key/value weights once, for serving; see
    /// [`BertEncoder::frozen`].
    pub(super) fn freeze(&mut self) {
        self.frozen_qkv = None;
        let frozen = [Projection::Qkv, Projection::Q, Projection::Kv].map(|p| self.projection(p));
        self.frozen_qkv = Some(frozen.into());
    }

    /// The weight and bias of one [`Projection`], the attention scale `1/√d` folded into the
    /// query part so that no pass over the scores applies it. From the frozen copy when serving,
    /// else built from the current weights.
    fn projection(&self, which: Projection) -> (Tensor<B, 2>, Tensor<B, 1>) {
        if let Some(frozen) = &self.frozen_qkv {
            return frozen[which as usize].clone();
        }
        let [hidden, _] = self.query.weight.dims();
        let scale = 1.0 / ((hidden / self.num_heads) as f64).sqrt();
        let part = |l: &Linear<B>, scale: f64| {
            let bias = match &l.bias {
                Some(b) => b.val(),
                None => Tensor::zeros([l.weight.dims()[1]], &l.weight.device()),
            };
            (l.weight.val() * scale, bias * scale)
        };
        let parts = match which {
            Projection::Qkv => vec![part(&self.query, scale), part(&self.key, 1.0), part(&self.value, 1.0)],
            Projection::Q => vec![part(&self.query, scale)],
            Projection::Kv => vec![part(&self.key, 1.0), part(&self.value, 1.0)],
        };
        let (weights, biases): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        (Tensor::cat(weights, 1), Tensor::cat(biases, 0))
    }

    /// Attention of the queries from `x_q` (`[batch, q_len, hidden]`) over the keys and values
    /// from `x` (`[batch, seq, hidden]`). `x_q` is `x` itself, or its `[CLS]` row alone where
    /// only that row is read.
    pub(super) fn run(&self, x_q: Option<Tensor<B, 3>>, x: Tensor<B, 3>, padding: &KeyPadding<B>, matmul: Matmul) -> Tensor<B, 3> {
        let [batch, seq, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let heads = |t: Tensor<B, 3>| {
            let [_, len, _] = t.dims();
            t.reshape([batch, len, self.num_heads, head_dim]).swap_dims(1, 2)
        };
        let affine = |x: Tensor<B, 3>, which: Projection| {
            let (weight, bias) = self.projection(which);
            dense(x, weight, bias, matmul)
        };
        let (q, k, v) = match x_q {
            None => {
                let y = affine(x, Projection::Qkv);
                let flash = || kernels::flash::attention(&y, &padding.keys, self.num_heads);
                let context = match self.implementation {
                    Attention::Flash2 => kernels::flash2::attention(&y, &padding.keys, self.num_heads, seq).or_else(flash),
                    Attention::Flash => flash(),
                    _ => None,
                };
                if let Some(context) = context {
                    return linear(&self.output, context, matmul);
                }
                (y.clone().narrow(2, 0, hidden), y.clone().narrow(2, hidden, hidden), y.narrow(2, 2 * hidden, hidden))
            }
            Some(x_q) => {
                // `Flash2` computes the first rows' attention alone, from the projection of every
                // row: one third more of the k/v product's work, and no copies of its halves.
                if self.implementation == Attention::Flash2 && kernels::flash2::available::<B>() {
                    let [_, q_len, _] = x_q.dims();
                    let y = affine(x.clone(), Projection::Qkv);
                    if let Some(context) = kernels::flash2::attention(&y, &padding.keys, self.num_heads, q_len) {
                        return linear(&self.output, context, matmul);
                    }
                }
                let kv = affine(x, Projection::Kv);
                (affine(x_q, Projection::Q), kv.clone().narrow(2, 0, hidden), kv.narrow(2, hidden, hidden))
            }
        };
        let [_, q_len, _] = q.dims();
        let (q, k, v) = (heads(q), heads(k), heads(v));
        // The queries carry the scale already.
        let options = AttentionModuleOptions { scale: Some(1.0), ..Default::default() };
        let mask = || Some(padding.mask.clone().expand([batch, self.num_heads, q_len, seq]));
        let context = match self.implementation {
            Attention::Fused => attention(q, k, v, mask(), None, options),
            Attention::Unfused => attention_fallback(q, k, v, mask(), None, options),
            Attention::Deferred | Attention::Flash | Attention::Flash2 => attention_deferred(q, k, v, padding.bias()),
        };
        let context = context.swap_dims(1, 2).reshape([batch, q_len, hidden]);
        linear(&self.output, context, matmul)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    type B = Flex;

    #[test]
    fn deferred_attention_gives_no_weight_to_padded_keys() {
        // One query over three keys, the last padded: its huge value must not leak in, and the
        // result is the softmax-weighted mean of the first two values.
        let device = Default::default();
        let t = |v: Vec<f32>, shape: [usize; 4]| Tensor::<B, 4>::from_data(TensorData::new(v, shape), &device);
        let q = t(vec![1.0], [1, 1, 1, 1]);
        let k = t(vec![0.0, 2.0, 50.0], [1, 1, 3, 1]);
        let v = t(vec![1.0, 3.0, 1e6], [1, 1, 3, 1]);
        let padding = KeyPadding::new(&Tensor::<B, 2, Int>::from_data(TensorData::new(vec![1i64, 1, 0], [1, 3]), &device));
        let got = attention_deferred(q, k, v, padding.bias()).into_data().to_vec::<f32>().unwrap()[0];
        let (w0, w1) = (1.0f32, 2.0f32.exp());
        let expected = (w0 * 1.0 + w1 * 3.0) / (w0 + w1);
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }
}
