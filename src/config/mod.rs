//! The pipeline YAML and the other config files, as plain data: serde structs with
//! `deny_unknown_fields`, `--set` overrides, and a compile step that checks a file and collects
//! every error before reporting.
//!
//! - [`load`]: reading any config file (pipeline, training, sweep) the same way: relative paths
//!   resolved against the file's folder, overrides, errors naming the file and the key.
//! - [`compile`]: a pipeline file as written becomes a checked [`PipelineConfig`].
//! - [`generator`]: the `generator` section, one set of keys per `kind`; [`synthetic`] and
//!   [`openai`] hold the synthetic and live sources' subsections.
//! - [`sections`]: `truncator`, `clusterer`, `voter` and `output`.
//! - [`judge`] and [`kernels`]: the `judge` section and the kernels a neural judge serves with.
//! - [`faults`]: fault injection, for tests only.
//!
//! Every key is documented in `configs/reference.yaml`. Relative paths in a file are relative to
//! the file's folder; paths given with `--set` are relative to the current directory. Nothing
//! here imports the pipeline or the judge: they read these types.

pub mod compile;
pub mod faults;
pub mod generator;
pub mod judge;
pub mod kernels;
pub mod load;
pub mod openai;
pub mod sections;
pub mod synthetic;

pub use compile::{apply_override, Check, PipelineConfig, Sections};
pub use faults::{FaultConfig, FaultMode, Stage};
pub use generator::{
    DeepConfConfig, GeneratorConfig, GeneratorKind, GeneratorSource, OpenAiSource, ReplaySource, StopPolicy, SyntheticSource,
    VirtualSteps,
};
pub use judge::{DeviceKind, JudgeConfig, JudgeKind, MAX_BUCKET_TOKENS};
pub use kernels::{Attention, KernelRequest, Matmul, Norm, Refusal};
pub use load::{load_yaml, set_path, ConfigError, RelativePaths, YamlFile};
pub use openai::{Api, ApiKey, CancelMode, OnBrokenStream, OpenAiConfig};
pub use sections::{ClustererConfig, FinishPolicy, ForcedJoin, OutputConfig, TruncatorConfig, VoterConfig};
pub use synthetic::SyntheticConfig;
