//! Which kernels serve the encoder: the fastest measured on each device, and a config's or
//! command line's request checked against the device it runs on.
//!
//! Every default here is a measurement (docs/judge.md); the kernels themselves are in the
//! sibling modules, and [`crate::judge::bert`] runs whichever [`Kernels`] it is given.

use super::{Matmul, Norm};
use crate::config::DeviceKind;
use crate::judge::bert::{Attention, KernelRequest, Refusal};

/// The kernels that serve the encoder: self-attention, the dense products, and the residual
/// sums with their LayerNorms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kernels {
    /// How self-attention is computed.
    pub attention: Attention,
    /// Which kernels compute the dense products.
    pub matmul: Matmul,
    /// Which kernels compute the residual sums and LayerNorms.
    pub norm: Norm,
}

/// A kernel asked for on a device it does not run on ([`Kernels::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} `{}` is {}; use device cuda, or {}", .0.key, .0.name, .0.is, .0.instead)]
pub struct UnsupportedKernel(pub Refusal);

impl Attention {
    /// The implementation measured fastest on `device` for serving (docs/judge.md): on an
    /// H100, `Flash2` scored 19,141 pairs/s against 9,483 for `Flash` (512-token pairs, batch
    /// 128, with cuBLASLt and the fused norm), and `Flash` 5,100 against 3,650 for `Deferred`
    /// with Burn's matmul; on the flex CPU backend `Unfused` scored 7.1–7.9 pairs/s against
    /// 5.8–6.1 for `Deferred` and 6.4–6.5 for `Fused` (256-token pairs, batch 32, 2 cores).
    pub fn fastest_on(device: DeviceKind) -> Self {
        match device {
            DeviceKind::Cpu => Self::Unfused,
            DeviceKind::Cuda => Self::Flash2,
        }
    }
}

impl Matmul {
    /// The implementation to serve with on `device` when none is asked for: cuBLASLt on CUDA
    /// (on an H100, with flash attention, 8,130 against 4,996 pairs/s for Burn's matmul at
    /// 512-token pairs; docs/benchmarks.md), Burn on the CPU.
    pub fn fastest_on(device: DeviceKind) -> Self {
        match device {
            DeviceKind::Cpu => Self::Burn,
            DeviceKind::Cuda => Self::CublasLt,
        }
    }
}

impl Norm {
    /// The implementation to serve with on `device` when none is asked for: on an H100, with
    /// flash attention and cuBLASLt, the fused kernel scored 9,613 against 8,130 pairs/s for
    /// Burn's ops at 512-token pairs and 23,482 against 18,404 at 256 (docs/benchmarks.md).
    pub fn fastest_on(device: DeviceKind) -> Self {
        match device {
            DeviceKind::Cpu => Self::Burn,
            DeviceKind::Cuda => Self::Fused,
        }
    }
}

impl Kernels {
    /// The fastest measured on `device`.
    pub fn fastest_on(device: DeviceKind) -> Self {
        Self { attention: Attention::fastest_on(device), matmul: Matmul::fastest_on(device), norm: Norm::fastest_on(device) }
    }

    /// What `request` asks for on `device`, unset parts filled with the fastest there (which
    /// always run there); an error naming the first part that does not run on `device`
    /// ([`KernelRequest::refusals`]).
    pub fn resolve(request: KernelRequest, device: DeviceKind) -> Result<Self, UnsupportedKernel> {
        if let Some(&r) = request.refusals(device).first() {
            return Err(UnsupportedKernel(r));
        }
        let fastest = Self::fastest_on(device);
        Ok(Self {
            attention: request.attention.unwrap_or(fastest.attention),
            matmul: request.matmul.unwrap_or(fastest.matmul),
            norm: request.norm.unwrap_or(fastest.norm),
        })
    }

    /// Burn's reference composition: unfused attention, Burn's matmul and norm.
    pub fn reference() -> Self {
        Self { attention: Attention::Unfused, ..Default::default() }
    }

    /// How reports name them: `flash attention, cublaslt matmul, fused norm`.
    pub fn name(self) -> String {
        format!("{} attention, {} matmul, {} norm", self.attention.name(), self.matmul.name(), self.norm.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_resolve_to_the_fastest_and_refuse_cuda_ones_on_the_cpu() {
        let cuda = Kernels::resolve(KernelRequest::default(), DeviceKind::Cuda).unwrap();
        assert_eq!(cuda, Kernels { attention: Attention::Flash2, matmul: Matmul::CublasLt, norm: Norm::Fused });
        let cpu = Kernels::resolve(KernelRequest::default(), DeviceKind::Cpu).unwrap();
        assert_eq!(cpu, Kernels { attention: Attention::Unfused, matmul: Matmul::Burn, norm: Norm::Burn });
        let asked = KernelRequest { attention: Some(Attention::Deferred), matmul: Some(Matmul::Burn), norm: Some(Norm::Burn) };
        assert_eq!(
            Kernels::resolve(asked, DeviceKind::Cuda).unwrap(),
            Kernels { attention: Attention::Deferred, matmul: Matmul::Burn, norm: Norm::Burn }
        );
        let error = Kernels::resolve(KernelRequest { norm: Some(Norm::Fused), ..Default::default() }, DeviceKind::Cpu).unwrap_err().to_string();
        assert!(error.contains("norm `fused` is a CUDA kernel"), "{error}");
        let error = Kernels::resolve(KernelRequest { matmul: Some(Matmul::CublasLt), ..Default::default() }, DeviceKind::Cpu).unwrap_err().to_string();
        assert!(error.contains("matmul `cublaslt` is a CUDA library"), "{error}");
        let error = Kernels::resolve(KernelRequest { attention: Some(Attention::Flash), ..Default::default() }, DeviceKind::Cpu).unwrap_err().to_string();
        assert!(error.contains("attention `flash` is a CUDA kernel"), "{error}");
        let error = Kernels::resolve(KernelRequest { attention: Some(Attention::Flash2), ..Default::default() }, DeviceKind::Cpu).unwrap_err().to_string();
        assert!(error.contains("attention `flash2` is a CUDA kernel"), "{error}");
    }
}
