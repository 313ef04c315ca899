//! Picks the Burn backend for a judge: `flex` on the CPU (f32), CUDA behind the `cuda` crate
//! feature (f32 for training, bf16 for inference).

use std::path::Path;

use super::bert::KernelRequest;
use super::kernels::Kernels;
use super::neural::{EmbeddingJudge, ModelJudge};
use super::train::{train, EpochReport, TrainConfig, TrainError};
use super::{JudgeError, PairJudge};
use crate::config::DeviceKind;

/// A device this build cannot run on: CUDA without the `cuda` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("device cuda needs a build with the `cuda` feature: cargo build --release --features cuda")]
pub struct CudaNotBuilt;

/// Runs `$body` with the type `$B` bound to the backend that serves on `$device`: flex in f32 on
/// the CPU, CUDA in bf16 behind the `cuda` feature. Without that feature, a CUDA device is
/// `Err(CudaNotBuilt.into())`. `$B = ($cpu, $cuda)` names other backends (training's).
macro_rules! on_device {
    ($device:expr, $B:ident => $body:expr) => {
        on_device!($device, $B = (burn::backend::Flex, burn::backend::Cuda<burn::tensor::bf16, i32>) => $body)
    };
    ($device:expr, $B:ident = ($cpu:ty, $cuda:ty) => $body:expr) => {
        match $device {
            DeviceKind::Cpu => {
                type $B = $cpu;
                $body
            }
            DeviceKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    type $B = $cuda;
                    $body
                }
                #[cfg(not(feature = "cuda"))]
                {
                    Err(CudaNotBuilt.into())
                }
            }
        }
    };
}

/// How reports name the backend that serves on `device`.
fn serving_name(device: DeviceKind) -> &'static str {
    match device {
        DeviceKind::Cpu => "cpu flex f32",
        DeviceKind::Cuda => "cuda bf16",
    }
}

/// Trains on the config's device; on CUDA through kernel fusion unless `fusion: false`.
pub fn train_on_device(config: &TrainConfig, progress: bool) -> Result<Vec<EpochReport>, TrainError> {
    use burn::backend::Autodiff;
    #[cfg(feature = "cuda")]
    if config.device == DeviceKind::Cuda && !config.fusion {
        type Unfused = Autodiff<burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>>;
        return train::<Unfused>(config, &Default::default(), progress);
    }
    on_device!(config.device, B = (Autodiff<burn::backend::Flex>, Autodiff<burn::backend::Cuda>) => {
        train::<B>(config, &Default::default(), progress)
    })
}

/// The kernels to serve with on `device`: those asked for, else the fastest measured there.
/// `flash`, `flash2`, `cublaslt` and the `fused` norm are CUDA only, so asking for them on the
/// CPU is an error.
fn checked(request: KernelRequest, device: DeviceKind) -> Result<Kernels, JudgeError> {
    Ok(Kernels::resolve(request, device)?)
}

/// The trained cross-encoder on `device`.
pub fn model_judge(
    dir: &Path,
    device: DeviceKind,
    batch_size: usize,
    kernels: KernelRequest,
    buckets: Option<&[usize]>,
) -> Result<Box<dyn PairJudge>, JudgeError> {
    let kernels = checked(kernels, device)?;
    on_device!(device, B => {
        Ok(Box::new(ModelJudge::<B>::load(dir, batch_size, kernels, buckets, Default::default())?))
    })
}

/// The MiniLM embedding-cosine baseline on `device`.
pub fn embedding_judge(
    base: &Path,
    device: DeviceKind,
    batch_size: usize,
    kernels: KernelRequest,
) -> Result<Box<dyn PairJudge>, JudgeError> {
    let kernels = checked(kernels, device)?;
    on_device!(device, B => Ok(Box::new(EmbeddingJudge::<B>::load(base, batch_size, kernels, Default::default())?)))
}

/// Benchmarks the cross-encoder (the checkpoint in `dir`, or a randomly initialised MiniLM-shape
/// model) on `device`: bf16 on CUDA, f32 on the CPU.
pub fn bench_judge(
    dir: Option<&Path>,
    device: DeviceKind,
    batch: usize,
    max_len: usize,
    pairs: usize,
    breakdown: bool,
    kernels: KernelRequest,
) -> Result<super::bench::JudgeBench, JudgeError> {
    #[allow(clippy::too_many_arguments)]
    fn go<B: burn::prelude::Backend>(
        dir: Option<&Path>,
        name: &str,
        batch: usize,
        max_len: usize,
        pairs: usize,
        peak: usize,
        breakdown: bool,
        kernels: Kernels,
    ) -> Result<super::bench::JudgeBench, JudgeError> {
        let device = B::Device::default();
        let (model, config) = match dir {
            Some(d) => super::bert::load_checkpoint::<B>(d, &device)
                .map_err(|source| JudgeError::Weights { dir: d.to_path_buf(), source })?,
            None => {
                let c = super::bert::CrossEncoderConfig::new(super::bert::BertConfig::all_minilm_l6_v2());
                (c.init::<B>(&device), c)
            }
        };
        let (model, reference) = super::bench::twins(model, &config, &device);
        let reference = reference.with_kernels(Kernels::reference()).frozen();
        let model = model.with_kernels(kernels).frozen();
        let name = format!("{name}, {}", kernels.name());
        let mut report = super::bench::run(&model, &config, &device, &name, batch, max_len, pairs, peak, breakdown);
        if kernels != Kernels::reference() {
            report.max_abs_diff_vs_unfused = Some(super::bench::max_difference(&model, &reference, batch, max_len, &device));
        }
        Ok(report)
    }
    let kernels = checked(kernels, device)?;
    // The side of the square product that measures the device's peak matmul rate.
    let peak = match device {
        DeviceKind::Cpu => 1024,
        DeviceKind::Cuda => 8192,
    };
    let name = serving_name(device);
    on_device!(device, B => go::<B>(dir, name, batch, max_len, pairs, peak, breakdown, kernels))
}

/// How long each `bench matmul` measurement runs at least: long enough that a GPU's clock ramp
/// and launch gaps do not dominate (20 products of a 65,536-row MiniLM layer take 3 ms).
const MATMUL_SECONDS: f64 = 0.5;

/// Measures the matmul rate of one product on `device`, in the precision the judge serves in
/// (bf16 on CUDA, f32 on the CPU): at least `reps` products, and more until `MATMUL_SECONDS`
/// (half a second) have passed. See [`super::bench::matmul_rate`] for `rhs` and `split`.
pub fn bench_matmul(
    device: DeviceKind,
    shape: super::bench::GemmShape,
    rhs: super::bench::RhsLayout,
    split: usize,
    matmul: super::kernels::Matmul,
    reps: usize,
) -> Result<super::bench::MatmulRate, JudgeError> {
    use super::bench::{dense_difference, matmul_rate, MatmulRate};
    checked(KernelRequest { matmul: Some(matmul), ..Default::default() }, device)?;
    let name = serving_name(device);
    on_device!(device, B => {
        let device = Default::default();
        let tflops = matmul_rate::<B>(&device, shape, rhs, split, matmul, reps, MATMUL_SECONDS);
        // `None` on the CPU, where only Burn's matmul runs.
        let max_rel_diff_vs_burn = dense_difference::<B>(&device, shape, matmul);
        Ok(MatmulRate { device: name.to_string(), shape, rhs, split, matmul, tflops, max_rel_diff_vs_burn })
    })
}
