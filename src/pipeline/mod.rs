//! The streaming pipeline: five supervised actix actors and their wiring.
//!
//! - [`messages`]: every message between stages.
//! - [`generator`]: steps each problem's traces (replayed in virtual time, or live); stops
//!   pruned traces.
//! - [`truncator`]: cuts each trace's comparable prefix.
//! - [`judge_batcher`]: batches pair comparisons for the judge worker thread.
//! - [`clusterer`]: online greedy clustering; decides which traces to prune.
//! - [`voter`]: completes the survivors and majority-votes.
//! - [`faults`]: fault injection (tests only) and restart bookkeeping.
//! - [`redelivery`]: every data-path message is sent again after a retriable failure.
//! - [`synthetic`]: the synthetic load source.
//! - [`live`], [`openai`]: the live trace source, streaming from OpenAI-compatible servers.
//! - [`plan`]: loads a pipeline for a run, with the checks that need the judge's checkpoint.
//! - [`check`]: the checks before a run: data files, the output folder, the servers.
//! - [`run`]: builds the actors from a config, runs to completion, and reports.
//! - [`shutdown`]: stopping a run early on SIGINT or SIGTERM.

pub mod check;
pub mod clusterer;
pub mod faults;
pub mod generator;
pub mod judge_batcher;
pub mod live;
pub mod messages;
pub mod openai;
pub mod plan;
pub mod redelivery;
pub mod run;
pub mod shutdown;
pub mod synthetic;
pub mod truncator;
pub mod voter;

use crate::judge::JudgeError;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The judge failed.
    #[error("judge: {0}")]
    Judge(#[from] JudgeError),
    /// A stage's mailbox closed (the actor stopped for good).
    #[error("a stage stopped: {0}")]
    Mailbox(#[from] actix::MailboxError),
    /// An injected fault (tests only): the stage answered with an error. Retried by the sender.
    #[error("injected fault in the {stage} stage")]
    Injected {
        /// The stage.
        stage: &'static str,
    },
    /// The stage stopped (and is restarting) while it held the message. Retried by the sender.
    #[error("the {stage} stage restarted while handling the message")]
    Restarted {
        /// The stage.
        stage: &'static str,
    },
    /// A stage restarted too often: the run stops instead of looping.
    #[error("the {stage} stage restarted {restarts} times within {window_s} s (faults.max_restarts); stopping the run")]
    TooManyRestarts {
        /// The stage.
        stage: &'static str,
        /// Restarts within the window.
        restarts: usize,
        /// The window, in seconds.
        window_s: f64,
    },
    /// A stage received a message it cannot have expected.
    #[error("{0}")]
    Protocol(String),
    /// The data could not be loaded or used.
    #[error(transparent)]
    Dataset(#[from] crate::trace::dataset::DatasetError),
    /// The generator cannot replay the data.
    #[error("generator: {0}")]
    Generator(String),
    /// Results could not be written.
    #[error("writing results to {path}: {source}")]
    Output {
        /// The output directory.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
