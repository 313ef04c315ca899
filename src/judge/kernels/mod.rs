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
