//! deepprune: parallel LLM reasoning without the redundancy (DeepPrune, arXiv 2510.08483).
//!
//! - [`trace`]: problems, traces, token streams, the dataset loader and the truncator's prefix logic.
//! - [`answer`]: final-answer extraction, normalisation and equivalence.
//! - [`judge`]: pair judges (oracle, lexical, embedding, the Burn cross-encoder) and their serving worker.
//! - [`cluster`]: DeepPrune's online greedy clustering (forced joins, staged decisions), as a plain struct.
//! - [`vote`]: majority voting and the finishing policies.
//! - [`deepconf`]: DeepConf's confidence-based early stopping.
//! - [`metrics`]: AUROC, TNR at a fixed FNR, cons@k and bootstrap intervals.
//! - [`config`]: every config file as plain data: one loader, a compile step, `--set` overrides.
//! - [`pipeline`]: the five supervised actix actors, their wiring, the run plan, the checks before a run and shutdown.
//! - [`report`]: per-problem results, the gain over cons@k, `report.json`, the printed table and the output folder.
//! - [`plot`]: accuracy-against-tokens and ROC plots.
//! - [`sweep`]: one pipeline over a grid of settings, against the cons@k curve.

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

/// Makes a panic on any thread end the process, with its message and exit code 101, instead of
/// leaving the run waiting forever on an actor or worker thread that died. The binaries call it
/// first thing; library users decide for themselves.
pub fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::exit(101);
    }));
}

/// Logs to stderr at the level `RUST_LOG` names (default `warn`), in colour only when stderr is a
/// terminal and `NO_COLOR` is unset: a log redirected to a file or a pipe holds plain text.
pub fn init_logging() {
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}
