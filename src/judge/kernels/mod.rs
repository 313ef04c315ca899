//! The encoder's serving kernels on CUDA, apart from the BERT architecture that calls them. Each
//! returns `None` wherever it does not run (the CPU, another precision, a shape it does not
//! cover), and the encoder then uses Burn's ops.
//!
//! - [`select`]: which kernels serve on a device ([`Kernels`]): the fastest measured there, or
//!   those asked for, checked.
//! - [`flash`]: flash attention in CubeCL, the scores kept on chip.
//! - [`flash2`]: flash attention in FlashAttention-2's design, hand-written CUDA C++
//!   (`flash2.cu`) compiled at run time by NVRTC.
//! - [`dense`]: the dense products (`x · W + b`) through cuBLASLt.
//! - [`norm`]: the residual sum and LayerNorm as one CubeCL kernel.
//! - `cuda_op` (`cuda` feature): the served backend and the way into burn's fusion stream.
//! - `cuda_stream` (`cuda` feature): CubeCL's CUDA stream and context, for the kernels that do
//!   not launch through CubeCL.

#[cfg(feature = "cuda")]
mod cuda_op;
#[cfg(feature = "cuda")]
mod cuda_stream;
pub mod dense;
pub mod flash;
pub mod flash2;
pub mod norm;
pub mod select;

pub use dense::Matmul;
pub use norm::Norm;
pub use select::Kernels;

/// Why a CUDA library or kernel that does not launch through CubeCL (the stream probe,
/// cuBLASLt, flash2) cannot be used. Each is reported once, in a warning, and the encoder then
/// uses another kernel or Burn's ops.
#[cfg(feature = "cuda")]
#[derive(Debug, Clone, thiserror::Error)]
enum CudaError {
    /// A CUDA library is not installed where it is looked for.
    #[error("{library} could not be loaded")]
    Library {
        /// The library, e.g. `libcupti`.
        library: &'static str,
    },
    /// A call into the driver, NVRTC, CUPTI or cuBLASLt failed.
    #[error("{call}: {message}")]
    Call {
        /// What was called or set up, e.g. `CUDA context`.
        call: &'static str,
        /// What the library reported.
        message: String,
    },
    /// The GPU is older than a kernel needs.
    #[error("it needs compute capability 8.0 or newer (bf16 mma.sync, cp.async); this GPU has {major}.{minor}")]
    ComputeCapability {
        /// The GPU's major version.
        major: i32,
        /// The GPU's minor version.
        minor: i32,
    },
    /// The stream probe's launch reached the driver unseen.
    #[error("the probe kernel's launch was not seen")]
    ProbeUnseen,
    /// The CUPTI callback panicked while it held the stream it saw.
    #[error("the CUPTI callback panicked")]
    CallbackPanicked,
}

#[cfg(feature = "cuda")]
impl CudaError {
    /// A failed `call`, with what the library reported as `message`.
    fn call(call: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Call { call, message: message.to_string() }
    }
}
