//! `deepprune`: tool subcommands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use deepprune::answer::agreement;
use deepprune::trace::dataset::{load_problems, load_traces};

/// deepprune tools.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Final-answer extraction and equivalence.
    Answers {
        #[command(subcommand)]
        command: AnswersCommand,
    },
}

#[derive(Subcommand)]
enum AnswersCommand {
    /// How often our same/different and correctness verdicts agree with the dataset's labels.
    Check {
        /// problems.jsonl (gold answers).
        #[arg(long)]
        problems: PathBuf,
        /// Traces file (JSONL, optionally gzip) with `answer_class` and `correct`.
        #[arg(long)]
        traces: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Answers { command: AnswersCommand::Check { problems, traces, json } } => {
            let problems = load_problems(&problems).context("loading problems")?;
            let traces = load_traces(&traces).context("loading traces")?;
            let a = agreement::check(&problems, &traces);
            if json {
                println!("{}", serde_json::to_string(&a)?);
            } else {
                println!("pair verdicts:        {:.4} agree over {} pairs ({} we merge, {} we split)", a.pair_agreement, a.pairs, a.pairs_we_merge, a.pairs_we_split);
                println!("correctness verdicts: {:.4} agree over {} traces ({} we accept, {} we reject)", a.correct_agreement, a.traces, a.traces_we_accept, a.traces_we_reject);
            }
        }
    }
    Ok(())
}
