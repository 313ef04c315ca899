//! deepprune: parallel LLM reasoning without the redundancy (DeepPrune, arXiv 2510.08483).
//!
//! - [`trace`]: problems, traces, token streams, the dataset loader and the truncator's prefix logic.
//! - [`answer`]: final-answer extraction, normalisation and equivalence.
//! - [`judge`]: pair judges (oracle, lexical, embedding, the Burn cross-encoder) and their serving worker.
//! - [`cluster`]: DeepPrune's online greedy clustering, as a plain struct.
//! - [`vote`]: majority voting and the finishing policies.
//! - [`metrics`]: AUROC, TNR at a fixed FNR, cons@k and bootstrap intervals.
//! - [`config`]: the pipeline YAML, its validation and `--set` overrides.
//! - [`pipeline`]: the five supervised actix actors and their wiring.
//! - [`report`]: per-problem results, `report.json` and the printed table.

pub mod answer;
pub mod cluster;
pub mod config;
pub mod deepconf;
pub mod judge;
pub mod metrics;
pub mod pipeline;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod trace;
pub mod vote;
