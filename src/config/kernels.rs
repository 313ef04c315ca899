//! `judge.attention`, `judge.matmul` and `judge.norm`: which kernels a neural judge serves with.
//!
//! These are the settings only. The kernels are in `judge::bert` and `judge::kernels`, which
//! also say which one is fastest on each device; here is what each setting means and where it
//! runs, which is all a config check needs.

use serde::{Deserialize, Serialize};

use super::DeviceKind;

/// How self-attention is computed. All give the same result up to rounding
/// (`every_attention_implementation_gives_the_same_logits` on the CPU; on CUDA, `deepprune bench
/// judge` reports each implementation's largest difference from `Unfused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Attention {
    /// Burn's fused attention op (`burn::tensor::module::attention`). In burn 0.21 on an H100
    /// it is the slowest: 2,044 against 2,920 pairs/s for `Unfused` (docs/judge.md).
    Fused,
    /// Burn's reference composition (`burn::tensor::module::attention_fallback`): scores,
    /// scale, mask, softmax (max, subtract, exp, sum, divide), then the value product.
    Unfused,
    /// The same composition with fewer passes over the `[batch, heads, len, len]` scores,
    /// which dominate the memory traffic: the `1/√d` scale is applied to the queries
    /// (`len × d` values, not `len × len`), the padding mask is an additive `[batch, 1, 1,
    /// len]` bias, and the softmax is normalised after the value product, dividing
    /// `len × d` values instead of `len × len`.
    #[default]
    Deferred,
    /// One CubeCL kernel for the whole attention of a layer, the scores kept on chip (the
    /// judge's `flash` kernel). Served in bf16 on CUDA only; layers it does not cover (the
    /// `[CLS]`-only last layer, other head widths) use `Deferred`.
    Flash,
    /// FlashAttention-2's design in hand-written CUDA C++ compiled at run time by NVRTC, the
    /// scores kept in registers (the judge's `flash2` kernel), for full layers and the
    /// `[CLS]`-only last one. Served in bf16 on CUDA only; full layers it does not cover use
    /// `Flash`, then `Deferred`, and the last layer `Deferred`.
    Flash2,
}

impl Attention {
    /// Every implementation, in the order error messages list them.
    pub const ALL: [Self; 5] = [Self::Fused, Self::Unfused, Self::Deferred, Self::Flash, Self::Flash2];

    /// Parses a name written by [`Attention::name`].
    pub fn parse(name: &str) -> Option<Self> {
        by_name(&Self::ALL, Self::name, name).ok()
    }

    /// Whether the implementation runs on `device`: `Flash` and `Flash2` are CUDA kernels, the
    /// others run anywhere.
    pub fn runs_on(self, device: DeviceKind) -> bool {
        !matches!(self, Self::Flash | Self::Flash2) || device == DeviceKind::Cuda
    }

    /// The implementation's name, as configs, the command line and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fused => "fused",
            Self::Unfused => "unfused",
            Self::Deferred => "deferred",
            Self::Flash => "flash",
            Self::Flash2 => "flash2",
        }
    }
}

/// Which kernels compute the encoder's dense products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Matmul {
    /// Burn's own matmul (CubeCL kernels on CUDA), with the bias and GELU fused into it.
    #[default]
    Burn,
    /// NVIDIA's cuBLASLt, bf16 on CUDA only (the judge's `dense` kernel module says how it runs).
    CublasLt,
}

impl Matmul {
    /// Every implementation, in the order error messages list them.
    pub const ALL: [Self; 2] = [Self::Burn, Self::CublasLt];

    /// Parses a name written by [`Matmul::name`].
    pub fn parse(name: &str) -> Option<Self> {
        by_name(&Self::ALL, Self::name, name).ok()
    }

    /// Whether the implementation runs on `device`: cuBLASLt is a CUDA library.
    pub fn runs_on(self, device: DeviceKind) -> bool {
        self != Self::CublasLt || device == DeviceKind::Cuda
    }

    /// The implementation's name, as configs, the command line and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::CublasLt => "cublaslt",
        }
    }
}

/// How the residual sum and LayerNorm after each attention and feed-forward block are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Norm {
    /// Burn's ops: the sum, then `LayerNorm::forward`.
    #[default]
    Burn,
    /// One CUDA kernel for both (the judge's `norm` kernel module); bf16 on CUDA only.
    Fused,
}

impl Norm {
    /// Every implementation, in the order error messages list them.
    pub const ALL: [Self; 2] = [Self::Burn, Self::Fused];

    /// Parses a name written by [`Norm::name`].
    pub fn parse(name: &str) -> Option<Self> {
        by_name(&Self::ALL, Self::name, name).ok()
    }

    /// Whether the implementation runs on `device`: the fused kernel is CUDA only.
    pub fn runs_on(self, device: DeviceKind) -> bool {
        self != Self::Fused || device == DeviceKind::Cuda
    }

    /// The implementation's name, as configs, the command line and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::Fused => "fused",
        }
    }
}

/// The kernels a config or command line asks for; unset ones are the fastest measured on the
/// device (the judge decides which that is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelRequest {
    /// `judge.attention`.
    pub attention: Option<Attention>,
    /// `judge.matmul`.
    pub matmul: Option<Matmul>,
    /// `judge.norm`.
    pub norm: Option<Norm>,
}

/// A kernel asked for on a device it does not run on, in the words error messages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The config key: `attention`, `matmul` or `norm`.
    pub key: &'static str,
    /// The kernel's name (`flash`, `flash2`, `cublaslt`, `fused`).
    pub name: &'static str,
    /// What it is: `a CUDA kernel` or `a CUDA library`.
    pub is: &'static str,
    /// What to ask for instead.
    pub instead: &'static str,
}

impl KernelRequest {
    /// Every asked-for kernel that does not run on `device` (`flash`, `flash2`, `cublaslt` and
    /// the `fused` norm are CUDA only). The config check and the judge's kernel selection both
    /// report these.
    pub fn refusals(self, device: DeviceKind) -> Vec<Refusal> {
        let refuse = |runs: bool, key, name, is, instead| (!runs).then_some(Refusal { key, name, is, instead });
        [
            self.attention.and_then(|a| refuse(a.runs_on(device), "attention", a.name(), "a CUDA kernel", "another attention")),
            self.matmul.and_then(|m| refuse(m.runs_on(device), "matmul", m.name(), "a CUDA library", "matmul `burn`")),
            self.norm.and_then(|n| refuse(n.runs_on(device), "norm", n.name(), "a CUDA kernel", "norm `burn`")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The member of `all` that `name_of` calls `name`, or an error listing the names: how configs
/// and the command line read [`Attention`], [`Matmul`] and [`Norm`].
pub(crate) fn by_name<T: Copy>(all: &[T], name_of: fn(T) -> &'static str, name: &str) -> Result<T, String> {
    all.iter().copied().find(|&t| name_of(t) == name).ok_or_else(|| {
        let names: Vec<String> = all.iter().map(|&t| format!("`{}`", name_of(t))).collect();
        format!("unknown value `{name}`, expected one of {}", names.join(", "))
    })
}

/// Reads a kernel setting by name, as `#[serde(try_from = "String")]` asks.
macro_rules! named {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = String;

            fn try_from(name: String) -> Result<Self, String> {
                by_name(&Self::ALL, Self::name, &name)
            }
        }

        impl From<$t> for &'static str {
            fn from(kernel: $t) -> Self {
                kernel.name()
            }
        }
    )*};
}
named!(Attention, Matmul, Norm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_kernels_are_refused_on_the_cpu_and_named_as_configs_write_them() {
        let all = KernelRequest { attention: Some(Attention::Flash2), matmul: Some(Matmul::CublasLt), norm: Some(Norm::Fused) };
        let refused: Vec<(&str, &str)> = all.refusals(DeviceKind::Cpu).iter().map(|r| (r.key, r.name)).collect();
        assert_eq!(refused, vec![("attention", "flash2"), ("matmul", "cublaslt"), ("norm", "fused")]);
        assert!(all.refusals(DeviceKind::Cuda).is_empty());
        for a in Attention::ALL {
            assert_eq!(Attention::parse(a.name()), Some(a));
        }
        assert_eq!(
            Attention::try_from("flashy".to_string()).unwrap_err(),
            "unknown value `flashy`, expected one of `fused`, `unfused`, `deferred`, `flash`, `flash2`"
        );
    }
}
