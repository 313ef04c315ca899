//! `deepprune-run pipeline.yaml [--set section.key=value]...`: runs a pipeline and reports.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use deepprune::config::GeneratorSource;
use deepprune::pipeline::plan;
use deepprune::pipeline::run::{run_blocking, ReplayData};
use deepprune::report;

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
}

fn main() -> anyhow::Result<()> {
    deepprune::exit_on_panic();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = plan::load(&args.pipeline, &args.set)?;
    let data = ReplayData::load(&config).context("loading the generator's data")?;
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
    let (results, report) = run_blocking(&config, &data, progress.clone())?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let dir = &config.output.dir;
    report::write(dir, &results, &report).with_context(|| format!("writing results to {}", dir.display()))?;
    print!("{}", report.table());
    println!("report: {}", dir.join("report.json").display());
    Ok(())
}
