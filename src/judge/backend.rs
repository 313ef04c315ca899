//! Picks the Burn backend for a judge: `flex` on the CPU (f32), CUDA behind the `cuda` crate
//! feature (f32 for training, bf16 for inference).

use std::path::Path;

use super::bert::KernelRequest;
use super::kernels::Kernels;
use super::neural::{EmbeddingJudge, ModelJudge};
use super::train::{train, EpochReport, TrainConfig, TrainError};
use super::{JudgeError, PairJudge};
use crate::config::DeviceKind;

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "device cuda needs a build with the `cuda` feature: cargo build --release --features cuda";

/// Trains on the config's device.
pub fn train_on_device(config: &TrainConfig, progress: bool) -> Result<Vec<EpochReport>, TrainError> {
    match config.device {
        DeviceKind::Cpu => train::<burn::backend::Autodiff<burn::backend::Flex>>(config, &Default::default(), progress),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                train::<burn::backend::Autodiff<burn::backend::Cuda>>(config, &Default::default(), progress)
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(TrainError::Model(NO_CUDA.into()))
            }
        }
    }
}

/// The kernels to serve with on `device`: those asked for, else the fastest measured there.
/// `flash`, `flash2`, `cublaslt` and the `fused` norm are CUDA only, so asking for them on the
/// CPU is an error.
fn checked(request: KernelRequest, device: DeviceKind) -> Result<Kernels, JudgeError> {
    Kernels::resolve(request, device).map_err(JudgeError::Model)
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
    match device {
        DeviceKind::Cpu => {
            Ok(Box::new(ModelJudge::<burn::backend::Flex>::load(dir, batch_size, kernels, buckets, Default::default())?))
        }
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                Ok(Box::new(ModelJudge::<B>::load(dir, batch_size, kernels, buckets, Default::default())?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (dir, batch_size, kernels, buckets);
                Err(JudgeError::Model(NO_CUDA.into()))
            }
        }
    }
}

/// The MiniLM embedding-cosine baseline on `device`.
pub fn embedding_judge(
    base: &Path,
    device: DeviceKind,
    batch_size: usize,
    kernels: KernelRequest,
) -> Result<Box<dyn PairJudge>, JudgeError> {
    let kernels = checked(kernels, device)?;
    match device {
        DeviceKind::Cpu => Ok(Box::new(EmbeddingJudge::<burn::backend::Flex>::load(base, batch_size, kernels, Default::default())?)),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                Ok(Box::new(EmbeddingJudge::<B>::load(base, batch_size, kernels, Default::default())?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (base, batch_size, kernels);
                Err(JudgeError::Model(NO_CUDA.into()))
            }
        }
    }
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
            Some(d) => super::bert::load_checkpoint::<B>(d, &device).map_err(|e| JudgeError::Model(e.to_string()))?,
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
    match device {
        DeviceKind::Cpu => go::<burn::backend::Flex>(dir, "cpu flex f32", batch, max_len, pairs, 1024, breakdown, kernels),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                go::<burn::backend::Cuda<burn::tensor::bf16, i32>>(dir, "cuda bf16", batch, max_len, pairs, 8192, breakdown, kernels)
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (dir, batch, max_len, pairs, breakdown, kernels);
                Err(JudgeError::Model(NO_CUDA.into()))
            }
        }
    }
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
    use super::bench::{matmul_rate, MatmulRate};
    checked(KernelRequest { matmul: Some(matmul), ..Default::default() }, device)?;
    let measure = |name: &str, tflops: f64, diff: Option<f64>| MatmulRate {
        device: name.to_string(),
        shape,
        rhs,
        split,
        matmul,
        tflops,
        max_rel_diff_vs_burn: diff,
    };
    match device {
        DeviceKind::Cpu => {
            let device = Default::default();
            let tflops = matmul_rate::<burn::backend::Flex>(&device, shape, rhs, split, matmul, reps, MATMUL_SECONDS);
            Ok(measure("cpu flex f32", tflops, None))
        }
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                let device = Default::default();
                let tflops = matmul_rate::<B>(&device, shape, rhs, split, matmul, reps, MATMUL_SECONDS);
                Ok(measure("cuda bf16", tflops, super::bench::dense_difference::<B>(&device, shape, matmul)))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (measure, reps);
                Err(JudgeError::Model(NO_CUDA.into()))
            }
        }
    }
}
