//! Picks the Burn backend for a judge: `flex` on the CPU (f32), CUDA behind the `cuda` crate
//! feature (f32 for training, bf16 for inference).

use std::path::Path;

use super::bert::Attention;
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

/// The attention implementation to serve with on `device`: the one asked for, else the fastest
/// measured there. `flash` is a CUDA kernel, so asking for it on the CPU is an error.
fn checked(attention: Option<Attention>, device: DeviceKind) -> Result<Attention, JudgeError> {
    match attention {
        Some(a) if !a.runs_on(device) => {
            Err(JudgeError::Model(format!("attention `{}` is a CUDA kernel; use device cuda, or another attention", a.name())))
        }
        Some(a) => Ok(a),
        None => Ok(Attention::fastest_on(device)),
    }
}

/// The trained cross-encoder on `device`.
pub fn model_judge(
    dir: &Path,
    device: DeviceKind,
    batch_size: usize,
    attention: Option<Attention>,
    buckets: Option<&[usize]>,
) -> Result<Box<dyn PairJudge>, JudgeError> {
    let attention = checked(attention, device)?;
    match device {
        DeviceKind::Cpu => {
            Ok(Box::new(ModelJudge::<burn::backend::Flex>::load(dir, batch_size, attention, buckets, Default::default())?))
        }
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                Ok(Box::new(ModelJudge::<B>::load(dir, batch_size, attention, buckets, Default::default())?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (dir, batch_size, attention, buckets);
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
    attention: Option<Attention>,
) -> Result<Box<dyn PairJudge>, JudgeError> {
    let attention = checked(attention, device)?;
    match device {
        DeviceKind::Cpu => Ok(Box::new(EmbeddingJudge::<burn::backend::Flex>::load(base, batch_size, attention, Default::default())?)),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                Ok(Box::new(EmbeddingJudge::<B>::load(base, batch_size, attention, Default::default())?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (base, batch_size, attention);
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
    attention: super::bert::Attention,
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
        attention: super::bert::Attention,
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
        let reference = reference.with_attention(super::bert::Attention::Unfused).frozen();
        let model = model.with_attention(attention).frozen();
        let name = format!("{name}, {} attention", attention.name());
        let mut report = super::bench::run(&model, &config, &device, &name, batch, max_len, pairs, peak, breakdown);
        if attention != super::bert::Attention::Unfused {
            report.max_abs_diff_vs_unfused = Some(super::bench::max_difference(&model, &reference, batch, max_len, &device));
        }
        Ok(report)
    }
    let attention = checked(Some(attention), device)?;
    match device {
        DeviceKind::Cpu => go::<burn::backend::Flex>(dir, "cpu flex f32", batch, max_len, pairs, 1024, breakdown, attention),
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                go::<burn::backend::Cuda<burn::tensor::bf16, i32>>(dir, "cuda bf16", batch, max_len, pairs, 8192, breakdown, attention)
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (dir, batch, max_len, pairs, breakdown, attention);
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
    reps: usize,
) -> Result<super::bench::MatmulRate, JudgeError> {
    use super::bench::{matmul_rate, MatmulRate};
    let measure = |name: &str, tflops: f64| MatmulRate { device: name.to_string(), shape, rhs, split, tflops };
    match device {
        DeviceKind::Cpu => {
            let device = Default::default();
            Ok(measure("cpu flex f32", matmul_rate::<burn::backend::Flex>(&device, shape, rhs, split, reps, MATMUL_SECONDS)))
        }
        DeviceKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Cuda<burn::tensor::bf16, i32>;
                let device = Default::default();
                Ok(measure("cuda bf16", matmul_rate::<B>(&device, shape, rhs, split, reps, MATMUL_SECONDS)))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = (measure, reps);
                Err(JudgeError::Model(NO_CUDA.into()))
            }
        }
    }
}
