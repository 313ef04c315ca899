//! The compile step: a pipeline file as written (its YAML document, `--set` overrides applied)
//! becomes a checked [`PipelineConfig`]. Every section is read and checked even when another
//! has errors, so one load reports every problem of the file, each naming its key.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_norway::Value;

use super::faults::{FaultConfig, Stage};
use super::generator::{self, GeneratorConfig, GeneratorKind};
use super::judge::JudgeConfig;
use super::load::{empty_map, parse, set_path, ConfigError, RelativePaths, YamlFile};
use super::sections::{ClustererConfig, OutputConfig, TruncatorConfig, VoterConfig};

/// A whole pipeline, checked: what [`PipelineConfig::load`] returns.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineConfig {
    /// Where traces come from.
    pub generator: GeneratorConfig,
    /// Where prefixes end.
    pub truncator: TruncatorConfig,
    /// The pair judge and its batcher.
    pub judge: JudgeConfig,
    /// Online greedy clustering.
    pub clusterer: ClustererConfig,
    /// Finishing and voting.
    pub voter: VoterConfig,
    /// Where results go.
    pub output: OutputConfig,
    /// Fault injection, for tests only; off unless configured.
    pub faults: FaultConfig,
}

/// The sections of a pipeline file, each `None` when it has an error of its own: what a
/// [`Check`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    /// `generator`.
    pub generator: Option<&'a GeneratorConfig>,
    /// `truncator`.
    pub truncator: Option<&'a TruncatorConfig>,
    /// `judge`.
    pub judge: Option<&'a JudgeConfig>,
    /// `clusterer`.
    pub clusterer: Option<&'a ClustererConfig>,
    /// `voter`.
    pub voter: Option<&'a VoterConfig>,
    /// `output`.
    pub output: Option<&'a OutputConfig>,
    /// `faults`.
    pub faults: Option<&'a FaultConfig>,
    /// How an error shows a path the file held.
    pub paths: &'a RelativePaths,
}

/// A check that needs more than the config holds, such as a trained judge's checkpoint on disk:
/// the layer that owns that knowledge passes it to [`PipelineConfig::load_with`], which runs it
/// beside the config's own checks so that one load still reports every error. It pushes one
/// message per problem, each naming its key.
pub type Check = fn(&Sections<'_>, &mut Vec<String>);

/// The sections of a pipeline file, in order.
const SECTIONS: [&str; 7] = ["generator", "truncator", "judge", "clusterer", "voter", "output", "faults"];

/// The keys that hold paths; relative ones in the file are relative to the file's folder.
const PATH_KEYS: [&str; 5] = ["generator.problems", "generator.traces", "judge.path", "output.dir", "output.record"];

/// Applies one `section.key=value` override of a pipeline; the value is read as YAML (so `0.3`
/// is a number).
pub fn apply_override(doc: &mut Value, assignment: &str) -> Result<(), String> {
    let Some((path, _)) = assignment.split_once('=') else {
        return Err(format!("--set {assignment:?}: expected section.key=value"));
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.len() < 2 || keys.iter().any(|k| k.is_empty()) {
        return Err(format!("--set {assignment:?}: expected section.key=value, e.g. clusterer.tau=0.5"));
    }
    if !SECTIONS.contains(&keys[0]) {
        return Err(format!("--set {path}: unknown section `{}`, expected one of {}", keys[0], SECTIONS.join(", ")));
    }
    set_path(doc, assignment)
}

impl PipelineConfig {
    /// Reads a pipeline file, applies `--set` overrides, and checks it.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::load_with(path, overrides, &[])
    }

    /// [`PipelineConfig::load`], with `checks` run beside the config's own.
    pub fn load_with(path: &Path, overrides: &[String], checks: &[Check]) -> Result<Self, ConfigError> {
        compile(YamlFile::read(path)?, overrides, checks)
    }

    /// Reads and checks a pipeline from YAML text; `file` names it in errors, and relative paths
    /// in it are relative to `file`'s folder.
    pub fn from_yaml(text: &str, file: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::from_yaml_with(text, file, overrides, &[])
    }

    /// [`PipelineConfig::from_yaml`], with `checks` run beside the config's own.
    pub fn from_yaml_with(text: &str, file: &str, overrides: &[String], checks: &[Check]) -> Result<Self, ConfigError> {
        compile(YamlFile::parse(text, file)?, overrides, checks)
    }

    /// The config's own checks again, on the config as it is now; returns every problem found.
    /// Empty for a config that [`PipelineConfig::load`] returned.
    pub fn validate(&self) -> Vec<String> {
        let doc = serde_norway::to_value(self).expect("a config serialises to YAML; this is a bug");
        let file = YamlFile { file: String::new(), doc, paths: RelativePaths::default() };
        compile(file, &[], &[]).err().map_or_else(Vec::new, |e| e.errors)
    }
}

/// Compiles a pipeline file: relative paths resolved, overrides applied, every section read and
/// checked, then the checks across sections and `checks`.
fn compile(mut file: YamlFile, overrides: &[String], checks: &[Check]) -> Result<PipelineConfig, ConfigError> {
    if !file.doc.is_mapping() {
        let sections = "expected a mapping with sections generator, truncator, judge, clusterer, voter, output";
        return Err(file.error(vec![sections.into()]));
    }
    let mut errors = file.resolve_paths(&PATH_KEYS);
    for o in overrides {
        if let Err(e) = apply_override(&mut file.doc, o) {
            errors.push(e);
        }
    }
    let doc = &file.doc;
    if let Value::Mapping(map) = doc {
        for key in map.keys() {
            let name = key.as_str().unwrap_or("<non-string key>");
            if !SECTIONS.contains(&name) {
                errors.push(format!("unknown section `{name}`, expected one of {}", SECTIONS.join(", ")));
            }
        }
    }
    let paths = &file.paths;
    let generator = generator::compile(doc.get("generator"), paths, &mut errors);
    let truncator = section::<TruncatorConfig>(doc, "truncator", &mut errors);
    let judge = section::<JudgeConfig>(doc, "judge", &mut errors);
    let clusterer = section::<ClustererConfig>(doc, "clusterer", &mut errors);
    let voter = section::<VoterConfig>(doc, "voter", &mut errors);
    let output = section::<OutputConfig>(doc, "output", &mut errors);
    let faults = section::<FaultConfig>(doc, "faults", &mut errors);
    // Sections that were read are still checked, so one load reports every error.
    let mut e = Vec::new();
    if let Some(t) = &truncator {
        t.check(&mut e);
    }
    if let Some(j) = &judge {
        j.check(paths, &mut e);
    }
    if let Some(c) = &clusterer {
        c.check(&mut e);
    }
    if let Some(v) = &voter {
        v.check(&mut e);
    }
    if let Some(f) = &faults {
        f.check(&mut e);
    }
    let sections = Sections {
        generator: generator.as_ref(),
        truncator: truncator.as_ref(),
        judge: judge.as_ref(),
        clusterer: clusterer.as_ref(),
        voter: voter.as_ref(),
        output: output.as_ref(),
        faults: faults.as_ref(),
        paths,
    };
    check_live_faults(&sections, &mut e);
    if let (Some(t), Some(c)) = (sections.truncator, sections.clusterer) {
        super::sections::check_staged(t, c, &mut e);
    }
    for check in checks {
        check(&sections, &mut e);
    }
    errors.extend(e);
    match (generator, truncator, judge, clusterer, voter, output, faults) {
        (Some(generator), Some(truncator), Some(judge), Some(clusterer), Some(voter), Some(output), Some(faults))
            if errors.is_empty() =>
        {
            Ok(PipelineConfig { generator, truncator, judge, clusterer, voter, output, faults })
        }
        _ => Err(file.error(errors)),
    }
}

/// Reads section `name` of `doc` (absent: every key at its default); an error names the key.
fn section<T: DeserializeOwned>(doc: &Value, name: &str, errors: &mut Vec<String>) -> Option<T> {
    let value = match doc.get(name) {
        None | Some(Value::Null) => empty_map(),
        Some(v) => v.clone(),
    };
    parse(value, name).map_err(|e| errors.extend(e)).ok()
}

/// The live generator's faults are real (servers, networks): the injected generator faults
/// and stalls apply to the replay and synthetic sources only.
fn check_live_faults(s: &Sections<'_>, e: &mut Vec<String>) {
    let (Some(g), Some(f)) = (s.generator, s.faults) else { return };
    if g.kind() != GeneratorKind::Openai {
        return;
    }
    if f.stage == Some(Stage::Generator) {
        e.push("faults.stage: generator faults are injected into replayed sources only; with the openai generator, fault the server or the network (see tests/live_llama.rs)".into());
    }
    if f.generator_stall_every > 0 {
        e.push("faults.generator_stall_every: applies to replayed sources only, not the openai generator".into());
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::FinishPolicy;
    use crate::trace::truncate::PrefixMode;

    fn sample_paths() -> String {
        let root = env!("CARGO_MANIFEST_DIR");
        format!(
            "generator:\n  problems: {root}/data/sample/problems.jsonl\n  traces: {root}/data/sample/traces.jsonl.gz\n"
        )
    }

    fn errors(yaml: &str, overrides: &[&str]) -> Vec<String> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        match PipelineConfig::from_yaml(yaml, "t.yaml", &o) {
            Ok(_) => vec![],
            Err(e) => {
                assert_eq!(e.file, "t.yaml");
                e.errors
            }
        }
    }

    #[test]
    fn defaults_are_the_papers() {
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &[]).unwrap();
        assert_eq!((c.clusterer.tau, c.clusterer.p, c.clusterer.k), (0.5, 10, 32));
        assert_eq!((c.voter.finish, c.voter.top_k), (FinishPolicy::LargestCluster, 10));
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn errors_name_the_key_and_what_was_expected() {
        let base = sample_paths();
        let cases: Vec<(String, Vec<&str>, Vec<&str>)> = vec![
            (format!("{base}clusterer:\n  taux: 0.5\n"), vec![], vec!["clusterer.taux: unknown key `taux`, expected one of `tau`, `p`, `k`, `seed`"]),
            (format!("{base}clusterer:\n  tau: high\n"), vec![], vec!["clusterer.tau: wrong type: string \"high\", expected a number"]),
            (format!("{base}clusterer:\n  tau: 1.5\n"), vec![], vec!["clusterer.tau: expected a number in [0, 1], got 1.5"]),
            (
                "generator:\n  traces: /nope/t.jsonl\n  problems: /nope/p.jsonl\n".into(),
                vec![],
                vec!["generator.traces: file /nope/t.jsonl does not exist", "generator.problems: file /nope/p.jsonl does not exist"],
            ),
            (
                format!("{base}judge:\n  kind: psychic\nvoter:\n  top_k: 0\nsurprise: 1\n"),
                vec![],
                vec!["judge.kind: unknown value `psychic`", "voter.top_k: expected an integer ≥ 1", "unknown section `surprise`"],
            ),
            (base.clone(), vec!["clusterer.tau=2", "nosuch.key=1", "tau=1"], vec![
                "clusterer.tau: expected a number in [0, 1], got 2",
                "--set nosuch.key: unknown section `nosuch`",
                "--set \"tau=1\": expected section.key=value",
            ]),
        ];
        for (yaml, overrides, wanted) in cases {
            let got = errors(&yaml, &overrides);
            for w in &wanted {
                assert!(got.iter().any(|g| g.contains(w)), "want {w:?} in {got:?} for\n{yaml}");
            }
            assert_eq!(got.len(), wanted.len(), "collected every error and only those: {got:?}");
        }
    }

    #[test]
    fn set_overrides_any_field() {
        let o = vec!["clusterer.tau=0.25".to_string(), "truncator.mode=reasoning_words".into(), "output.dir=/tmp/x".into()];
        let c = PipelineConfig::from_yaml(&sample_paths(), "t.yaml", &o).unwrap();
        assert_eq!(c.clusterer.tau, 0.25);
        assert_eq!(c.truncator.mode, PrefixMode::ReasoningWords);
        assert_eq!(c.output.dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn missing_pipeline_file_names_it() {
        let e = PipelineConfig::load(Path::new("/nope/pipeline.yaml"), &[]).unwrap_err().to_string();
        assert!(e.starts_with("/nope/pipeline.yaml: 1 error(s):\n  - cannot read the file"), "{e}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_file_and_errors_say_so() {
        let root = env!("CARGO_MANIFEST_DIR");
        let yaml = "generator:\n  problems: ../data/sample/problems.jsonl\n  traces: ../data/x.jsonl.gz\noutput:\n  dir: ../out/q\n";
        let file = format!("{root}/pipelines/t.yaml");
        let got = PipelineConfig::from_yaml(yaml, &file, &[]).unwrap_err().errors;
        assert_eq!(got, vec![format!("generator.traces: file ../data/x.jsonl.gz (relative to {root}/pipelines/) does not exist")]);
        let set = vec!["generator.traces=data/sample/traces.jsonl.gz".to_string()];
        let c = PipelineConfig::from_yaml(yaml, &file, &set).unwrap();
        let crate::config::GeneratorSource::Replay(r) = &c.generator.source else { panic!("a replay generator") };
        assert_eq!(r.problems, Path::new(root).join("pipelines/../data/sample/problems.jsonl"));
        assert_eq!(r.traces, PathBuf::from("data/sample/traces.jsonl.gz"), "a --set path is relative to the current directory");
        assert_eq!(c.output.dir, Path::new(root).join("pipelines/../out/q"));
    }

    #[test]
    fn added_checks_report_with_the_configs_own() {
        fn no_lexical(s: &Sections<'_>, e: &mut Vec<String>) {
            if s.judge.is_some_and(|j| j.kind == crate::config::JudgeKind::Lexical) {
                e.push("judge.kind: not lexical".into());
            }
        }
        let yaml = format!("{}clusterer:\n  tau: 2\n", sample_paths());
        let e = PipelineConfig::from_yaml_with(&yaml, "t.yaml", &[], &[no_lexical]).unwrap_err().errors;
        assert_eq!(e, vec!["clusterer.tau: expected a number in [0, 1], got 2".to_string(), "judge.kind: not lexical".into()]);
    }
}
