//! The checks before a run, beyond the config's own (those ran when it loaded): the data files
//! load (and, for a graded run, every problem can be graded), the output folder can be locked
//! and written, and a live generator's servers answer.
//! `deepprune-run --check` runs them alone; every run runs them before it starts.

use super::live;
use super::run::ReplayData;
use crate::config::{GeneratorSource, PipelineConfig};
use crate::report::OutputDir;
use crate::trace::dataset::count;

/// What the checks found. Every check runs, so that one pass reports every problem.
#[derive(Debug)]
pub struct Preflight {
    /// The generator's data, if it loaded.
    pub data: Option<ReplayData>,
    /// The output folder, locked for this run, if it could be.
    pub output: Option<OutputDir>,
    /// What passed, one line each.
    pub passed: Vec<String>,
    /// What failed, one line each, naming the key and what was wrong.
    pub failed: Vec<String>,
}

impl Preflight {
    /// The data and the locked folder, when every check passed; else every failure.
    pub fn into_ready(self) -> Result<(ReplayData, OutputDir), Vec<String>> {
        match (self.data, self.output) {
            (Some(data), Some(output)) if self.failed.is_empty() => Ok((data, output)),
            _ => Err(self.failed),
        }
    }
}

/// Runs every check on `config`. The output folder stays locked in the result until it is
/// dropped. Call it outside an async runtime: it runs its own for the server checks.
pub fn preflight(config: &PipelineConfig) -> Preflight {
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    // A graded run also needs every trace's problem and every problem's gold answer.
    let data = match ReplayData::load(config).and_then(|data| data.check_graded(config).map(|()| data)) {
        Ok(data) => {
            passed.push(match &config.generator.source {
                GeneratorSource::Replay(_) => {
                    let traces: usize = data.traces.problems.iter().map(|(_, t)| t.len()).sum();
                    format!("generator: {}, {}", count(data.traces.problems.len(), "problem"), count(traces, "trace"))
                }
                GeneratorSource::Openai(_) => format!("generator: {}", count(data.problems.len(), "problem")),
                GeneratorSource::Synthetic(_) => "generator: synthetic, no data files".into(),
            });
            Some(data)
        }
        Err(e) => {
            failed.push(format!("generator: {e}"));
            None
        }
    };
    let output = match OutputDir::lock(&config.output.dir) {
        Ok(output) => {
            passed.push(format!("output.dir {}: writable, and no other run holds it", config.output.dir.display()));
            Some(output)
        }
        Err(e) => {
            failed.push(e.to_string());
            None
        }
    };
    if let GeneratorSource::Openai(o) = &config.generator.source {
        for r in servers(&o.openai) {
            match r {
                Ok(ok) => passed.push(ok),
                Err(e) => failed.push(e),
            }
        }
    }
    Preflight { data, output, passed, failed }
}

/// [`live::check_servers`] on a runtime of its own, on a thread of its own, so that it works
/// whether or not the caller is inside a runtime.
fn servers(config: &crate::config::OpenAiConfig) -> Vec<Result<String, String>> {
    std::thread::scope(|s| {
        s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(live::check_servers(config)),
            Err(e) => vec![Err(format!("generator.openai.base_urls: cannot start a runtime to check the servers: {e}"))],
        })
        .join()
        .unwrap_or_else(|_| vec![Err("generator.openai.base_urls: the server check panicked; this is a bug".into())])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(overrides: &[String]) -> PipelineConfig {
        let root = env!("CARGO_MANIFEST_DIR");
        let yaml =
            format!("generator:\n  problems: {root}/data/sample/problems.jsonl\n  traces: {root}/data/sample/traces.jsonl.gz\n");
        PipelineConfig::from_yaml(&yaml, "t.yaml", overrides).unwrap()
    }

    #[test]
    fn the_sample_passes_and_its_folder_stays_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let checked = preflight(&sample(&[format!("output.dir={}", out.display())]));
        assert!(checked.failed.is_empty(), "{:?}", checked.failed);
        assert_eq!(checked.passed[0], "generator: 10 problems, 320 traces");
        let (data, _held) = checked.into_ready().unwrap();
        assert_eq!(data.traces.problems.len(), 10);
        let again = preflight(&sample(&[format!("output.dir={}", out.display())]));
        assert_eq!(again.failed.len(), 1, "{:?}", again.failed);
        assert!(again.failed[0].contains("is in use by another run"), "{:?}", again.failed);
    }

    #[test]
    fn a_problem_without_gold_fails_the_check_unless_the_run_is_ungraded() {
        let tmp = tempfile::tempdir().unwrap();
        let root = env!("CARGO_MANIFEST_DIR");
        let text = std::fs::read_to_string(format!("{root}/data/sample/problems.jsonl")).unwrap();
        let mut lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let pid = lines[0]["pid"].as_str().unwrap().to_string();
        lines[0].as_object_mut().unwrap().remove("gold");
        let problems = tmp.path().join("problems.jsonl");
        std::fs::write(&problems, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        let set = |extra: &[&str]| {
            let mut o = vec![format!("generator.problems={}", problems.display()), format!("output.dir={}", tmp.path().join("out").display())];
            o.extend(extra.iter().map(|s| s.to_string()));
            o
        };
        let checked = preflight(&sample(&set(&[])));
        let [failure] = &checked.failed[..] else { panic!("{:?}", checked.failed) };
        assert!(failure.starts_with("generator: ") && failure.contains("no `gold` answer") && failure.contains(&pid), "{failure}");
        drop(checked);
        let ungraded = preflight(&sample(&set(&["generator.ungraded=true"])));
        assert!(ungraded.failed.is_empty(), "{:?}", ungraded.failed);
    }

    #[test]
    fn an_unwritable_folder_and_an_unreachable_server_are_both_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), "").unwrap();
        std::fs::write(tmp.path().join("problems.jsonl"), "{\"pid\": \"p\", \"question\": \"q\", \"gold\": \"1\"}\n").unwrap();
        // A port that was free a moment ago: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let yaml = format!(
            "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [http://127.0.0.1:{port}]\noutput:\n  dir: {}\n",
            tmp.path().join("problems.jsonl").display(),
            tmp.path().join("file/out").display()
        );
        let checked = preflight(&PipelineConfig::from_yaml(&yaml, "t.yaml", &[]).unwrap());
        assert_eq!(checked.passed, ["generator: 1 problem"]);
        let [folder, server] = &checked.failed[..] else { panic!("{:?}", checked.failed) };
        assert!(folder.starts_with(&format!("output.dir {}/file/out: cannot create", tmp.path().display())), "{folder}");
        let url = format!("http://127.0.0.1:{port}");
        assert!(server.starts_with(&format!("generator.openai.base_urls: server {url} does not answer: GET /health: ")), "{server}");
        assert!(server.contains("; GET /v1/models: "), "{server}");
        assert!(checked.into_ready().is_err());
    }
}
