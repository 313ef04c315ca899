//! Malformed pipelines and datasets: loading returns an error, never panics, and the message
//! names the file and the key or line at fault.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use deepprune::config::PipelineConfig;
use deepprune::trace::dataset::{load_problems, load_traces};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A valid `generator` section pointing at the shipped sample, so each row has one fault.
fn generator() -> String {
    let root = root();
    format!(
        "generator:\n  problems: {}\n  traces: {}\n",
        root.join("data/sample/problems.jsonl").display(),
        root.join("data/sample/traces.jsonl.gz").display()
    )
}

fn write_tmp(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().write_all(content).unwrap();
    path
}

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(content).unwrap();
    gz.finish().unwrap()
}

/// Runs a loader, turning a panic into a test failure that names the row.
fn must_fail<T, E: std::fmt::Display>(row: &str, load: impl FnOnce() -> Result<T, E>) -> String {
    match catch_unwind(AssertUnwindSafe(load)) {
        Err(_) => panic!("row {row:?}: the loader panicked instead of returning an error"),
        Ok(Ok(_)) => panic!("row {row:?}: the loader accepted malformed input"),
        Ok(Err(e)) => e.to_string(),
    }
}

fn assert_mentions(row: &str, message: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(message.contains(w), "row {row:?}: want {w:?} in the message:\n{message}");
    }
}

#[test]
fn malformed_pipelines_are_errors_naming_file_and_key() {
    let g = generator();
    // (row, YAML, --set overrides, text the message must contain)
    let rows: Vec<(&str, String, Vec<&str>, Vec<&str>)> = vec![
        (
            "unknown key",
            format!("{g}clusterer:\n  taux: 0.5\n"),
            vec![],
            vec!["clusterer.taux: unknown key `taux`", "expected one of `tau`"],
        ),
        (
            "unknown section",
            format!("{g}clusterr:\n  tau: 0.5\n"),
            vec![],
            vec!["unknown section `clusterr`", "expected one of generator"],
        ),
        (
            "wrong type",
            format!("{g}clusterer:\n  tau: \"high\"\n"),
            vec![],
            vec!["clusterer.tau: wrong type: string \"high\", expected a number"],
        ),
        (
            "unknown attention implementation",
            format!("{g}judge:\n  attention: flashy\n"),
            vec![],
            vec!["judge.attention: unknown value `flashy`, expected one of `fused`, `unfused`, `deferred`, `flash`, `flash2`"],
        ),
        (
            "flash attention on the cpu",
            format!("{g}judge:\n  attention: flash\n"),
            vec![],
            vec!["judge.attention: `flash` is a CUDA kernel; expected judge.device cuda"],
        ),
        (
            "flash2 attention on the cpu",
            format!("{g}judge:\n  attention: flash2\n"),
            vec![],
            vec!["judge.attention: `flash2` is a CUDA kernel; expected judge.device cuda"],
        ),
        (
            "cublaslt on the cpu",
            format!("{g}judge:\n  matmul: cublaslt\n"),
            vec![],
            vec!["judge.matmul: `cublaslt` is a CUDA library; expected judge.device cuda"],
        ),
        (
            "fused norm on the cpu",
            format!("{g}judge:\n  norm: fused\n"),
            vec![],
            vec!["judge.norm: `fused` is a CUDA kernel; expected judge.device cuda"],
        ),
        (
            "unknown matmul implementation",
            format!("{g}judge:\n  matmul: cublas\n"),
            vec![],
            vec!["judge.matmul: unknown value `cublas`, expected one of `burn`, `cublaslt`"],
        ),
        (
            "serving bucket out of range",
            format!("{g}judge:\n  buckets: [256, 0]\n"),
            vec![],
            vec!["judge.buckets: bad length buckets [256, 0]: expected a non-empty list of lengths in 1..=512"],
        ),
        ("no serving buckets", format!("{g}judge:\n  buckets: []\n"), vec![], vec!["judge.buckets: bad length buckets []"]),
        ("tau above 1", format!("{g}clusterer:\n  tau: 1.5\n"), vec![], vec!["clusterer.tau: expected a number in [0, 1], got 1.5"]),
        ("tau below 0", format!("{g}clusterer:\n  tau: -0.1\n"), vec![], vec!["clusterer.tau: expected a number in [0, 1], got -0.1"]),
        ("tau NaN", format!("{g}clusterer:\n  tau: .nan\n"), vec![], vec!["clusterer.tau: expected a number in [0, 1], got NaN"]),
        ("empty file", String::new(), vec![], vec!["generator.traces: required", "generator.problems: required"]),
        ("only a comment", "# nothing here\n".into(), vec![], vec!["generator.traces: required"]),
        ("not a mapping: list", "- generator\n- judge\n".into(), vec![], vec!["expected a mapping with sections generator"]),
        ("not a mapping: scalar", "42\n".into(), vec![], vec!["expected a mapping with sections generator"]),
        ("section not a mapping", format!("{g}clusterer: 5\n"), vec![], vec!["clusterer: wrong type: integer `5`, expected a mapping of keys"]),
        (
            "missing traces file",
            format!("generator:\n  problems: {}\n  traces: /nonexistent/traces.jsonl\n", root().join("data/sample/problems.jsonl").display()),
            vec![],
            vec!["generator.traces: file /nonexistent/traces.jsonl does not exist"],
        ),
        ("generator.traces unset", "generator:\n  kind: replay\n".into(), vec![], vec!["generator.traces: required for the replay generator"]),
        ("--set without =", g.clone(), vec!["clusterer.tau"], vec!["--set \"clusterer.tau\": expected section.key=value"]),
        ("--set without a section", g.clone(), vec!["tau=0.3"], vec!["--set \"tau=0.3\": expected section.key=value"]),
        ("--set unknown section", g.clone(), vec!["clusterr.tau=0.3"], vec!["--set clusterr.tau: unknown section `clusterr`"]),
        ("--set unknown key", g.clone(), vec!["clusterer.taux=0.3"], vec!["clusterer.taux: unknown key `taux`"]),
        ("--set wrong type", g.clone(), vec!["judge.max_batch_pairs=many"], vec!["judge.max_batch_pairs: wrong type: string \"many\", expected a non-negative integer"]),
        (
            "--set into a scalar",
            format!("{g}clusterer:\n  tau: 0.5\n"),
            vec!["clusterer.tau.x=1"],
            vec!["--set clusterer.tau.x: `clusterer.tau` holds a value, not a section of keys"],
        ),
        ("--set creating a map", g.clone(), vec!["clusterer.tau.x=1"], vec!["clusterer.tau: wrong type: map, expected a number"]),
        ("judge model without path", format!("{g}judge:\n  kind: model\n"), vec![], vec!["judge.path: required for judge.kind model"]),
        (
            "judge model path without checkpoint",
            format!("{g}judge:\n  kind: model\n  path: /nonexistent/ckpt\n"),
            vec![],
            vec!["judge.path: /nonexistent/ckpt holds no model.safetensors"],
        ),
        ("unknown judge kind", format!("{g}judge:\n  kind: psychic\n"), vec![], vec!["judge.kind: unknown value `psychic`"]),
        ("negative count", format!("{g}truncator:\n  count: -5\n"), vec![], vec!["truncator.count: ", "-5", "expected a non-negative integer"]),
        ("negative p", format!("{g}clusterer:\n  p: -1\n"), vec![], vec!["clusterer.p: ", "-1", "expected a non-negative integer"]),
        ("negative top_k by --set", g.clone(), vec!["voter.top_k=-3"], vec!["voter.top_k: ", "-3", "expected a non-negative integer"]),
        ("zero count", format!("{g}truncator:\n  count: 0\n"), vec![], vec!["truncator.count: expected an integer ≥ 1, got 0"]),
        ("zero K", format!("{g}clusterer:\n  k: 0\n"), vec![], vec!["clusterer.k: expected an integer ≥ 1, got 0"]),
        (
            "later checkpoint not above count",
            format!("{g}truncator:\n  count: 64\n  later: [64, 128]\n"),
            vec![],
            vec!["truncator.later: expected checkpoints in increasing order, each above truncator.count (64), got [64, 128]"],
        ),
        ("later checkpoint of wrong type", format!("{g}truncator:\n  later: 128\n"), vec![], vec!["truncator.later: wrong type: integer `128`, expected a sequence"]),
        (
            "band without later checkpoints",
            format!("{g}clusterer:\n  band: 0.1\n"),
            vec![],
            vec!["clusterer.band: 0.1 waits for a later checkpoint, but truncator.later is empty", "set truncator.later"],
        ),
        ("band of 1", g.clone(), vec!["truncator.later=[128]", "clusterer.band=1"], vec!["clusterer.band: expected a number in [0, 1), got 1"]),
        ("bad reasoning word", format!("{g}truncator:\n  words: [wait, \"no way\"]\n"), vec![], vec!["truncator.words: \"no way\" is not a word"]),
        ("word of wrong type", format!("{g}truncator:\n  words: [wait, {{a: 1}}]\n"), vec![], vec!["truncator.words: wrong type: map"]),
        ("YAML syntax error", format!("{g}clusterer:\n  tau: [0.5\n  p: 3\n"), vec![], vec!["not valid YAML", "line 5"]),
        ("YAML bad indentation", format!("{g}clusterer:\n  tau: 0.5\n   p: 3\n"), vec![], vec!["not valid YAML", "line 6"]),
        ("duplicate key", format!("{g}clusterer:\n  tau: 0.5\n  tau: 0.6\n"), vec![], vec!["not valid YAML", "duplicate", "line 5"]),
        ("unknown anchor", format!("{g}clusterer: *nope\n"), vec![], vec!["not valid YAML", "unknown anchor", "line 4"]),
        (
            "openai without servers",
            format!("generator:\n  kind: openai\n  problems: {}\n", root().join("data/live/problems.jsonl").display()),
            vec![],
            vec!["generator.openai.base_urls: expected at least one server URL"],
        ),
        (
            "openai bad settings",
            format!(
                "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [localhost:8000]\n    max_tokens: 0\n    api: grpc\n",
                root().join("data/live/problems.jsonl").display()
            ),
            vec![],
            vec!["generator.openai.api: unknown value `grpc`"],
        ),
        (
            "openai bad URL and zero max_tokens",
            format!(
                "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [localhost:8000]\n    max_tokens: 0\n",
                root().join("data/live/problems.jsonl").display()
            ),
            vec![],
            vec!["generator.openai.base_urls: \"localhost:8000\" is not an http:// or https:// URL", "generator.openai.max_tokens: expected an integer ≥ 1, got 0"],
        ),
        (
            "openai without problems",
            "generator:\n  kind: openai\n  openai:\n    base_urls: [http://127.0.0.1:1]\n".into(),
            vec![],
            vec!["generator.problems: required for the openai generator"],
        ),
        (
            "openai unknown key",
            format!(
                "generator:\n  kind: openai\n  problems: {}\n  openai:\n    base_urls: [http://127.0.0.1:1]\n    temprature: 0.5\n",
                root().join("data/live/problems.jsonl").display()
            ),
            vec![],
            vec!["generator.openai.temprature: unknown key `temprature`"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (row, yaml, overrides, wanted)) in rows.iter().enumerate() {
        let path = write_tmp(dir.path(), &format!("pipeline-{i}.yaml"), yaml.as_bytes());
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let message = must_fail(row, || PipelineConfig::load(&path, &overrides));
        assert_mentions(row, &message, &[&path.display().to_string()]);
        assert_mentions(row, &message, wanted);
    }
}

#[test]
fn missing_pipeline_file_is_an_error_naming_it() {
    let message = must_fail("missing file", || PipelineConfig::load(Path::new("/nonexistent/pipeline.yaml"), &[]));
    assert_mentions("missing file", &message, &["/nonexistent/pipeline.yaml", "cannot read the file"]);
}

#[derive(Clone, Copy, Debug)]
enum Loader {
    Traces,
    Problems,
}

#[test]
fn malformed_datasets_are_errors_naming_file_line_and_field() {
    let ok = r#"{"pid":"p","sample":0,"text":"abc"}"#;
    let ok1 = r#"{"pid":"p","sample":1,"text":"abc"}"#;
    let many: String = (0..200).map(|i| format!("{{\"pid\":\"p\",\"sample\":{i},\"text\":\"trace number {i}\"}}\n")).collect();
    let full_gz = gzip(many.as_bytes());
    let truncated_gz = full_gz[..full_gz.len() / 2].to_vec();
    let mut bad_crc_gz = gzip(format!("{ok}\n").as_bytes());
    let n = bad_crc_gz.len();
    bad_crc_gz[n - 8] ^= 0xff;
    // (row, file name, content, loader, text the message must contain besides the file name)
    let rows: Vec<(&str, &str, Vec<u8>, Loader, Vec<&str>)> = vec![
        (
            "invalid JSON on line 3",
            "traces.jsonl",
            format!("{ok}\n{ok1}\n{{\"pid\":\"p\",\"sample\":2,\n").into_bytes(),
            Loader::Traces,
            vec![":3: not a JSON object: EOF while parsing a value at column 22"],
        ),
        ("JSON array, not object", "traces.jsonl", b"[1, 2]\n".to_vec(), Loader::Traces, vec![":1: not a JSON object: expected an object"]),
        ("missing pid", "traces.jsonl", br#"{"sample":0,"text":"abc"}"#.to_vec(), Loader::Traces, vec![":1: field `pid`: missing"]),
        ("pid of wrong type", "traces.jsonl", br#"{"pid":7,"sample":0,"text":"abc"}"#.to_vec(), Loader::Traces, vec![":1: field `pid`: expected a string, found a number"]),
        ("missing sample", "traces.jsonl", format!("{ok}\n{{\"pid\":\"p\",\"text\":\"x\"}}\n").into_bytes(), Loader::Traces, vec![":2: field `sample`: missing"]),
        ("sample too large", "traces.jsonl", br#"{"pid":"p","sample":4294967296,"text":"abc"}"#.to_vec(), Loader::Traces, vec![":1: field `sample`: expected a non-negative integer"]),
        (
            "tok_bytes of wrong type",
            "traces.jsonl",
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":[1,2]}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `tok_bytes`: expected a base64 string, found an array"],
        ),
        (
            "tok_bytes not base64",
            "traces.jsonl",
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":"%%%"}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `tok_bytes`: expected base64"],
        ),
        (
            "tok_bytes not summing to the text length",
            "traces.jsonl",
            // [1, 1] = "AQE=": 2 bytes of tokens for 3 bytes of text.
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":"AQE="}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `tok_bytes`: token lengths sum to 2 bytes but `text` has 3 bytes"],
        ),
        (
            "zero-length token",
            "traces.jsonl",
            // [3, 0] = "AwA=".
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":"AwA="}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `tok_bytes`: a token has length 0"],
        ),
        (
            "n_tokens disagrees with tok_bytes",
            "traces.jsonl",
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":"AQEB","n_tokens":4}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `n_tokens`: says 4 tokens but `tok_bytes` holds 3"],
        ),
        (
            "conf of wrong length",
            "traces.jsonl",
            br#"{"pid":"p","sample":0,"text":"abc","tok_bytes":"AQEB","conf":"AQ=="}"#.to_vec(),
            Loader::Traces,
            vec![":1: field `conf`: holds 1 values but there are 3 tokens"],
        ),
        ("duplicate trace", "traces.jsonl", format!("{ok}\n{ok}\n").into_bytes(), Loader::Traces, vec![":2: duplicate trace (pid \"p\", sample 0)"]),
        ("invalid UTF-8", "traces.jsonl", b"{\"pid\":\"p\",\"sample\":0,\"text\":\"a\xff\"}\n".to_vec(), Loader::Traces, vec![":1: cannot read"]),
        ("truncated gzip", "traces.jsonl.gz", truncated_gz, Loader::Traces, vec!["cannot read: gzip data ends early"]),
        ("gzip with a bad checksum", "traces.jsonl.gz", bad_crc_gz, Loader::Traces, vec!["cannot read: corrupt gzip data"]),
        ("empty traces file", "traces.jsonl", Vec::new(), Loader::Traces, vec!["no records; expected one JSON object per line"]),
        ("blank traces file", "traces.jsonl", b"\n  \n\n".to_vec(), Loader::Traces, vec!["no records"]),
        ("empty gzip", "traces.jsonl.gz", gzip(b""), Loader::Traces, vec!["no records"]),
        ("empty problems file", "problems.jsonl", Vec::new(), Loader::Problems, vec!["no records"]),
        ("problem without pid", "problems.jsonl", br#"{"question":"1+1?","gold":"2"}"#.to_vec(), Loader::Problems, vec![":1: field `pid`: missing"]),
        (
            // `gold` may be left out (an ungraded problem) but not be of another type.
            "problem with an array answer",
            "problems.jsonl",
            br#"{"pid":"q","question":"1+1?","gold":[2]}"#.to_vec(),
            Loader::Problems,
            vec![":1: field `gold`: expected a string, found an array"],
        ),
        (
            "problem question of wrong type",
            "problems.jsonl",
            "{\"pid\":\"a\",\"question\":\"?\"}\n{\"pid\":\"q\",\"question\":{}}\n".to_string().into_bytes(),
            Loader::Problems,
            vec![":2: field `question`: expected a string, found an object"],
        ),
        (
            "duplicate problem",
            "problems.jsonl",
            b"{\"pid\":\"q\",\"question\":\"?\"}\n{\"pid\":\"q\",\"question\":\"?\"}\n".to_vec(),
            Loader::Problems,
            vec![":2: duplicate pid \"q\""],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (row, name, content, loader, wanted)) in rows.iter().enumerate() {
        let path = write_tmp(dir.path(), &format!("{i}-{name}"), content);
        let message = match loader {
            Loader::Traces => must_fail(row, || load_traces(&path)),
            Loader::Problems => must_fail(row, || load_problems(&path)),
        };
        assert_mentions(row, &message, &[&path.display().to_string()]);
        assert_mentions(row, &message, wanted);
    }
}

#[test]
fn a_missing_gold_answer_is_an_ungraded_problem_not_an_error() {
    // problems.jsonl's answer field is `gold`; the loader accepts a problem without it. Only an
    // ungraded run may then use the problem; a graded one stops, naming it (tests/grading.rs).
    let dir = tempfile::tempdir().unwrap();
    let path = write_tmp(dir.path(), "problems.jsonl", br#"{"pid":"q","question":"1+1?"}"#);
    let problems = load_problems(&path).unwrap();
    assert_eq!(problems[0].gold, None);
}

#[test]
fn a_directory_or_a_device_given_as_a_file_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &Path, &str)] = &[
        ("a directory", dir.path(), "is a directory; expected a file"),
        ("a device", Path::new("/dev/null"), "is not a regular file (a device, pipe or socket); expected a file"),
    ];
    for (row, path, wanted) in cases {
        // The loaders, and the config check on the same path.
        let message = must_fail(row, || load_traces(path));
        assert_mentions(row, &message, &[&path.display().to_string(), wanted]);
        let message = must_fail(row, || load_problems(path));
        assert_mentions(row, &message, &[wanted]);
        let yaml = format!("{}truncator: {{count: 64}}\n", generator().replace(&root().join("data/sample/traces.jsonl.gz").display().to_string(), &path.display().to_string()));
        let message = must_fail(row, || PipelineConfig::from_yaml(&yaml, "t.yaml", &[]));
        assert_mentions(row, &message, &["generator.traces: file", wanted]);
    }
}

#[test]
fn a_byte_order_mark_is_accepted_in_yaml_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!("\u{feff}{}", generator());
    assert!(PipelineConfig::from_yaml(&yaml, "t.yaml", &[]).is_ok(), "a YAML file that starts with a BOM loads");
    let line = r#"{"pid":"p","sample":0,"text":"so the answer is \\boxed{4}.","answer_class":0}"#;
    let path = write_tmp(dir.path(), "t.jsonl", format!("\u{feff}{line}\n").as_bytes());
    let traces = load_traces(&path).unwrap();
    assert_eq!(traces.len(), 1);
    let gz = write_tmp(dir.path(), "t.jsonl.gz", &gzip(format!("\u{feff}{line}\n").as_bytes()));
    assert_eq!(load_traces(&gz).unwrap().len(), 1);
}

#[test]
fn every_bad_key_of_a_section_is_named_and_an_enum_lists_its_values() {
    let yaml = format!("{}voter:\n  finish: 3\n  top_k: x\nclusterer:\n  forced_join: {{a: 1}}\n  tau: high\n", generator());
    let message = must_fail("several bad keys", || PipelineConfig::from_yaml(&yaml, "t.yaml", &[]));
    assert_mentions(
        "several bad keys",
        &message,
        &[
            "4 error(s)",
            "voter.finish: wrong type: integer `3`, expected `largest_cluster` or `founders`",
            "voter.top_k: wrong type: string \"x\", expected a non-negative integer",
            "clusterer.forced_join: wrong type: map, expected `abstain` or `count`",
            "clusterer.tau: wrong type: string \"high\", expected a number",
        ],
    );
    assert!(!message.contains("Value::Tagged"), "{message}");
}

#[test]
fn every_numeric_key_at_its_extremes_is_accepted_or_named_and_never_panics() {
    let root = root();
    let problems = root.join("data/sample/problems.jsonl").display().to_string();
    let replay = generator();
    let synthetic = "generator:\n  kind: synthetic\n".to_string();
    let openai = format!("generator:\n  kind: openai\n  problems: {problems}\n  openai:\n    base_urls: [http://127.0.0.1:9]\n");
    let keys: &[(&str, &str)] = &[
        (&replay, "generator.tokens_per_step"),
        (&replay, "generator.decision_delay_steps"),
        (&replay, "generator.concurrent_problems"),
        (&replay, "generator.deepconf_window"),
        (&replay, "generator.deepconf_warmup"),
        (&replay, "generator.max_problems"),
        (&replay, "generator.max_traces"),
        (&replay, "truncator.count"),
        (&replay, "judge.model_batch"),
        (&replay, "judge.max_batch_pairs"),
        (&replay, "judge.max_batch_tokens"),
        (&replay, "judge.max_queue_pairs"),
        (&replay, "judge.max_wait_ms"),
        (&replay, "judge.queue"),
        (&replay, "judge.batch_timeout_s"),
        (&replay, "clusterer.tau"),
        (&replay, "clusterer.band"),
        (&replay, "clusterer.p"),
        (&replay, "clusterer.k"),
        (&replay, "voter.top_k"),
        (&replay, "faults.every"),
        (&replay, "faults.judge_delay_ms"),
        (&replay, "faults.generator_stall_ms"),
        (&replay, "faults.max_restarts"),
        (&replay, "faults.restart_window_s"),
        (&synthetic, "generator.synthetic.problems"),
        (&synthetic, "generator.synthetic.traces_per_problem"),
        (&synthetic, "generator.synthetic.tokens_per_trace"),
        (&synthetic, "generator.synthetic.length_spread"),
        (&synthetic, "generator.synthetic.answer_groups"),
        (&synthetic, "generator.synthetic.similarity"),
        (&openai, "generator.openai.traces_per_problem"),
        (&openai, "generator.openai.temperature"),
        (&openai, "generator.openai.max_tokens"),
        (&openai, "generator.openai.logprobs"),
        (&openai, "generator.openai.max_concurrency_per_endpoint"),
        (&openai, "generator.openai.request_timeout_s"),
        (&openai, "generator.openai.max_retries"),
        (&openai, "generator.openai.backoff_base_ms"),
        (&openai, "generator.openai.backoff_max_ms"),
        (&openai, "generator.openai.step_ms"),
    ];
    // Limits and counts where any large value means "all" or "never" take huge values.
    let huge_is_fine = ["generator.max_problems", "generator.max_traces", "faults.every", "faults.max_restarts"];
    // Values that are out of range for every other key, and values that may be fine.
    let too_big = ["18446744073709551615", "1e20"];
    let others = ["0", "-1", ".nan", "0.5"];
    for (base, key) in keys {
        for value in too_big.iter().chain(&others) {
            let row = format!("{key}={value}");
            let start = std::time::Instant::now();
            let got = catch_unwind(AssertUnwindSafe(|| PipelineConfig::from_yaml(base, "t.yaml", &[row.clone()])))
                .unwrap_or_else(|_| panic!("{row}: loading panicked"));
            assert!(start.elapsed() < std::time::Duration::from_secs(10), "{row}: loading took {:?}", start.elapsed());
            match got {
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains(key), "{row}: the error does not name the key: {message}");
                }
                Ok(_) => assert!(!too_big.contains(value) || huge_is_fine.contains(key), "{row}: an absurd value was accepted"),
            }
        }
    }
}
