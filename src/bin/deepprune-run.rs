//! `deepprune-run pipeline.yaml [--set section.key=value]... [--check]`: checks a pipeline, then
//! runs it and reports.
//!
//! Exit codes: 0 the run completed (or `--check` passed); 1 the run failed; 2 the config or a
//! check before the run failed (bad data files, an unwritable or locked `output.dir`, a server
//! that does not answer); 101 a panic; 130 / 143 stopped by SIGINT / SIGTERM, with the problems
//! that finished written.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use deepprune::config::GeneratorSource;
use deepprune::pipeline::run::{run_blocking_with, RunHooks};
use deepprune::pipeline::shutdown::{self, Signal};
use deepprune::pipeline::{check, plan};
use deepprune::report::RunStatus;

/// The exit code of a run that failed.
const FAILED: u8 = 1;
/// The exit code of a bad config or a failed check: nothing ran.
const NOT_RUN: u8 = 2;

/// Run a deepprune pipeline declared in YAML.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The pipeline file (see configs/reference.yaml for every key).
    pipeline: PathBuf,
    /// Override a field: section.key=value (repeatable), e.g. --set clusterer.tau=0.75.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    set: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Check the config, the data files, the output folder and the servers, then exit (0: all
    /// good, 2: a problem) without running.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    deepprune::exit_on_panic();
    deepprune::init_logging();
    match run(&Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(FAILED)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let config = match plan::load(&args.pipeline, &args.set) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(NOT_RUN));
        }
    };
    let checked = check::preflight(&config);
    if args.check {
        println!("ok    {}: the config", args.pipeline.display());
        for line in &checked.passed {
            println!("ok    {line}");
        }
        for line in &checked.failed {
            println!("FAIL  {line}");
        }
        return Ok(ExitCode::from(if checked.failed.is_empty() { 0 } else { NOT_RUN }));
    }
    let (data, output) = match checked.into_ready() {
        Ok(ready) => ready,
        Err(failed) => {
            eprintln!("error: {}: not run, {} check(s) failed:", args.pipeline.display(), failed.len());
            for line in failed {
                eprintln!("  - {line}");
            }
            return Ok(ExitCode::from(NOT_RUN));
        }
    };
    let interrupt = shutdown::on_signals().context("listening for SIGINT and SIGTERM")?;
    let sink = output.sink()?;
    let n = match &config.generator.source {
        GeneratorSource::Replay(r) => data.traces.problems.len().min(r.max_problems.unwrap_or(usize::MAX)),
        GeneratorSource::Openai(o) => data.problems.len().min(o.max_problems.unwrap_or(usize::MAX)),
        GeneratorSource::Synthetic(s) => s.synthetic.problems,
    };
    let progress = (config.output.progress && !args.quiet).then(|| {
        let pb = indicatif::ProgressBar::new(n as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} problems")
                .expect("the template is valid; this is a bug")
                .progress_chars("=> "),
        );
        pb
    });
    let hooks = RunHooks { progress: progress.clone(), interrupt: Some(interrupt.clone()), sink: Some(sink) };
    let (results, report) = run_blocking_with(&config, &data, hooks)?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    output.write(&results, &report)?;
    print!("{}", report.table());
    println!("report: {}", output.path().join("report.json").display());
    Ok(match report.status {
        RunStatus::Complete => ExitCode::SUCCESS,
        RunStatus::Failed => {
            eprintln!("error: the run failed: {}", report.failure.as_deref().unwrap_or("no reason was recorded"));
            ExitCode::from(FAILED)
        }
        RunStatus::Interrupted => {
            let signal = interrupt.signal().unwrap_or(Signal::Interrupt);
            eprintln!("{}: stopped after {} of {n} problems; their results are written", signal.name(), results.len());
            ExitCode::from(signal.exit_code())
        }
    })
}
