//! Loading problems and traces from JSONL files, gzip-compressed or plain.
//!
//! The format is `../shared/data/README.md`'s: one JSON object per line. Every malformed line is
//! reported with the file, the 1-based line number and the field at fault.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value};

use super::{Finish, Problem, Trace};

/// Why a dataset file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened.
    #[error("{path}: cannot open: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is a directory, a device or another thing that is not a file.
    #[error("{path}: {problem}")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, and what was expected.
        problem: &'static str,
    },
    /// Reading (or decompressing) failed part-way.
    #[error("{path}:{line}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The line being read.
        line: usize,
        /// The I/O or gzip error.
        source: std::io::Error,
    },
    /// A line is not a JSON object.
    #[error("{path}:{line}: not a JSON object: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// A field is missing, of the wrong type, or inconsistent.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The field at fault.
        field: &'static str,
        /// What was expected.
        message: String,
    },
    /// The file holds no JSON object at all (empty, or only blank lines).
    #[error("{path}: no records; expected one JSON object per line")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The same key appears twice.
    #[error("{path}:{line}: duplicate {what}")]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the second occurrence.
        line: usize,
        /// Which key.
        what: String,
    },
    /// Traces of a problem the problems file does not have: a graded run could not grade them.
    #[error(
        "{traces}: traces of {} not in {problems}: {}; expected every trace's `pid` in the problems file \
         (or set `generator.ungraded: true` to run without accuracy)",
        count(.pids.len(), "problem"), pid_list(.pids)
    )]
    UnknownPids {
        /// The traces file.
        traces: PathBuf,
        /// The problems file.
        problems: PathBuf,
        /// The pids of those traces, in the traces file's order.
        pids: Vec<String>,
    },
    /// Problems a graded run reaches that have no gold answer.
    #[error(
        "{problems}: no `gold` answer for {} the run grades: {}; expected a `gold` field on each \
         (or set `generator.ungraded: true` to run without accuracy)",
        count(.pids.len(), "problem"), pid_list(.pids)
    )]
    NoGold {
        /// The problems file.
        problems: PathBuf,
        /// The pids, in the order the run reaches them.
        pids: Vec<String>,
    },
}

/// Pids shown in an error message before the rest are counted.
const PIDS_SHOWN: usize = 10;

/// `"a", "b" and 3 more`: at most ten pids, quoted, for a message about them.
pub fn pid_list(pids: &[String]) -> String {
    let shown: Vec<String> = pids.iter().take(PIDS_SHOWN).map(|p| format!("{p:?}")).collect();
    match pids.len().saturating_sub(PIDS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// `1 problem`, `3 problems`: `n` and the noun, plural unless `n` is 1.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Checks that every problem of `traces` (read from `traces_path`) is in `problems` (read from
/// `problems_path`), so that each can be graded.
pub fn check_traces_have_problems(
    traces_path: &Path,
    traces: &TraceSet,
    problems_path: &Path,
    problems: &[Problem],
) -> Result<(), DatasetError> {
    let known: HashSet<&str> = problems.iter().map(|p| p.pid.as_str()).collect();
    let pids: Vec<String> =
        traces.problems.iter().map(|(pid, _)| pid).filter(|pid| !known.contains(pid.as_str())).cloned().collect();
    if pids.is_empty() {
        return Ok(());
    }
    Err(DatasetError::UnknownPids { traces: traces_path.to_path_buf(), problems: problems_path.to_path_buf(), pids })
}

/// Checks that each of `pids` is a problem of `problems` (read from `problems_path`) with a gold
/// answer. A pid in no problem counts as one without gold.
pub fn check_gold<'a>(
    problems_path: &Path,
    problems: &[Problem],
    pids: impl IntoIterator<Item = &'a str>,
) -> Result<(), DatasetError> {
    let graded: HashSet<&str> = problems.iter().filter(|p| p.gold.is_some()).map(|p| p.pid.as_str()).collect();
    let pids: Vec<String> = pids.into_iter().filter(|pid| !graded.contains(pid)).map(str::to_string).collect();
    if pids.is_empty() {
        return Ok(());
    }
    Err(DatasetError::NoGold { problems: problems_path.to_path_buf(), pids })
}

/// Traces grouped by problem, in file order of first appearance; traces sorted by sample.
#[derive(Debug, Clone, Default)]
pub struct TraceSet {
    /// `(pid, traces)` in order of first appearance in the file.
    pub problems: Vec<(String, Vec<Arc<Trace>>)>,
}

impl TraceSet {
    /// Total number of traces.
    pub fn len(&self) -> usize {
        self.problems.iter().map(|(_, t)| t.len()).sum()
    }

    /// True when no trace was loaded.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The traces of one problem.
    pub fn get(&self, pid: &str) -> Option<&[Arc<Trace>]> {
        self.problems.iter().find(|(p, _)| p == pid).map(|(_, t)| t.as_slice())
    }
}

/// What is wrong with `path` as a data file, or `None` when it is a regular file (or a link to
/// one): "does not exist", "is a directory" or "is not a regular file", each with what was
/// expected. Config checks and the loaders say the same.
pub fn not_a_file(path: &Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) if m.is_dir() => Some("is a directory; expected a file"),
        Ok(_) => Some("is not a regular file (a device, pipe or socket); expected a file"),
        Err(_) => Some("does not exist"),
    }
}

/// Opens a file, decompressing it when it starts with the gzip magic bytes; says which.
fn open(path: &Path) -> Result<(Box<dyn BufRead>, bool), DatasetError> {
    if let Some(problem) = not_a_file(path).filter(|_| path.exists()) {
        return Err(DatasetError::NotAFile { path: path.to_path_buf(), problem });
    }
    let open_err = |source| DatasetError::Open { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(open_err)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(open_err)?;
    let file = File::open(path).map_err(open_err)?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok((Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))), true))
    } else {
        Ok((Box::new(BufReader::new(file)), false))
    }
}

/// Calls `f(line_number, object)` for each non-blank line of a JSONL file; a file with no
/// object at all is an error.
fn for_each_object(
    path: &Path,
    mut f: impl FnMut(usize, &Map<String, Value>) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    let (reader, gzip) = open(path)?;
    let mut records = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|source| {
            let source = match (gzip, source.kind()) {
                (true, std::io::ErrorKind::UnexpectedEof) => {
                    std::io::Error::new(source.kind(), format!("gzip data ends early (truncated file?): {source}"))
                }
                (true, kind) => std::io::Error::new(kind, format!("corrupt gzip data: {source}")),
                (false, _) => source,
            };
            DatasetError::Read { path: path.to_path_buf(), line: line_no, source }
        })?;
        // A UTF-8 byte-order mark (some editors write one) is not part of the first record.
        let line = if line_no == 1 { line.strip_prefix('\u{feff}').unwrap_or(&line) } else { &line };
        if line.trim().is_empty() {
            continue;
        }
        records += 1;
        let value: Value = serde_json::from_str(line).map_err(|e| {
            // serde_json counts lines within this one line; only its column is worth saying.
            let message = e.to_string();
            let message = match message.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())) {
                Some(m) => format!("{m} at column {}", e.column()),
                None => message,
            };
            DatasetError::Json { path: path.to_path_buf(), line: line_no, message }
        })?;
        let Value::Object(obj) = value else {
            return Err(DatasetError::Json {
                path: path.to_path_buf(),
                line: line_no,
                message: "expected an object, found another JSON value".into(),
            });
        };
        f(line_no, &obj)?;
    }
    if records == 0 {
        return Err(DatasetError::Empty { path: path.to_path_buf() });
    }
    Ok(())
}

/// Field access that names the file, line and field in its errors.
struct Fields<'a> {
    path: &'a Path,
    line: usize,
    obj: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn err(&self, field: &'static str, message: impl Into<String>) -> DatasetError {
        DatasetError::Field { path: self.path.to_path_buf(), line: self.line, field, message: message.into() }
    }

    fn present(&self, field: &'static str) -> Option<&Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &'static str) -> Result<String, DatasetError> {
        self.opt_string(field)?.ok_or_else(|| self.err(field, "missing; expected a string"))
    }

    fn opt_string(&self, field: &'static str) -> Result<Option<String>, DatasetError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(field, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// Gold answers are sometimes plain JSON numbers in other datasets.
    fn opt_answer(&self, field: &'static str) -> Result<Option<String>, DatasetError> {
        match self.present(field) {
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            _ => self.opt_string(field),
        }
    }

    fn opt_i64(&self, field: &'static str) -> Result<Option<i64>, DatasetError> {
        match self.present(field) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(field, format!("expected an integer, found {}", kind(v)))),
        }
    }

    fn opt_bool(&self, field: &'static str) -> Result<Option<bool>, DatasetError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(field, format!("expected true or false, found {}", kind(other)))),
        }
    }

    fn opt_base64(&self, field: &'static str) -> Result<Option<Vec<u8>>, DatasetError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map(Some)
                .map_err(|e| self.err(field, format!("expected base64: {e}"))),
            Some(other) => Err(self.err(field, format!("expected a base64 string, found {}", kind(other)))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Loads `problems.jsonl`: `pid` is required; `question` (empty when left out), `gold` (a
/// problem without it can only be run ungraded: [`check_gold`]), `source` and `split` are
/// optional.
pub fn load_problems(path: &Path) -> Result<Vec<Problem>, DatasetError> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for_each_object(path, |line, obj| {
        let f = Fields { path, line, obj };
        let pid = f.string("pid")?;
        if !seen.insert(pid.clone()) {
            return Err(DatasetError::Duplicate { path: path.to_path_buf(), line, what: format!("pid {pid:?}") });
        }
        problems.push(Problem {
            pid,
            source: f.opt_string("source")?,
            question: f.opt_string("question")?.unwrap_or_default(),
            gold: f.opt_answer("gold")?,
            split: f.opt_string("split")?,
        });
        Ok(())
    })?;
    Ok(problems)
}

/// Parses one trace object; `line` and `path` are for error messages.
pub fn parse_trace(path: &Path, line: usize, obj: &Map<String, Value>) -> Result<Trace, DatasetError> {
    let f = Fields { path, line, obj };
    let pid = f.string("pid")?;
    let sample = match f.present("sample") {
        Some(v) => v
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| f.err("sample", format!("expected a non-negative integer, found {v}")))?,
        None => return Err(f.err("sample", "missing; expected a non-negative integer")),
    };
    let text = f.string("text")?;
    let mut tok_bytes = f.opt_base64("tok_bytes")?;
    if let Some(tb) = &mut tok_bytes {
        let total: usize = tb.iter().map(|&b| b as usize).sum();
        if total < text.len() && repair_replacement_chars(tb, &text) {
            tracing::warn!(file = %path.display(), line, "tok_bytes repaired around U+FFFD replacement characters");
        }
        let total: usize = tb.iter().map(|&b| b as usize).sum();
        if total != text.len() {
            return Err(f.err(
                "tok_bytes",
                format!("token lengths sum to {total} bytes but `text` has {} bytes", text.len()),
            ));
        }
        if tb.contains(&0) {
            return Err(f.err("tok_bytes", "a token has length 0; expected lengths of at least 1 byte"));
        }
    }
    let n_tokens = match f.present("n_tokens") {
        None => None,
        Some(v) => Some(
            v.as_u64().ok_or_else(|| f.err("n_tokens", format!("expected a non-negative integer, found {v}")))? as usize,
        ),
    };
    if let (Some(n), Some(tb)) = (n_tokens, &tok_bytes) {
        if n != tb.len() {
            return Err(f.err("n_tokens", format!("says {n} tokens but `tok_bytes` holds {}", tb.len())));
        }
    }
    let conf = f.opt_base64("conf")?.map(|c| c.iter().map(|&b| b as f32 / 10.0).collect::<Vec<_>>());
    if let (Some(c), Some(tb)) = (&conf, &tok_bytes) {
        if c.len() != tb.len() {
            return Err(f.err("conf", format!("holds {} values but there are {} tokens", c.len(), tb.len())));
        }
    }
    let finish = match f.opt_string("finish")?.as_deref() {
        None => None,
        Some("stop") => Some(Finish::Stop),
        Some("length") => Some(Finish::Length),
        Some(other) => return Err(f.err("finish", format!("expected \"stop\" or \"length\", found {other:?}"))),
    };
    Ok(Trace {
        pid,
        sample,
        text: text.into(),
        tok_bytes,
        conf,
        finish,
        answer: f.opt_answer("answer")?,
        answer_class: f.opt_i64("answer_class")?,
        correct: f.opt_bool("correct")?,
    })
}

/// A generator that emitted invalid UTF-8 bytes has them replaced by U+FFFD (3 bytes) in
/// `text`, so the token lengths fall short of the text. The missing bytes are given to the token
/// holding the first replacement character (and, past 255 bytes, its successors): token count
/// and every boundary before it stay exact. Returns false when no repair applies.
fn repair_replacement_chars(lens: &mut [u8], text: &str) -> bool {
    let Some(at) = text.find('\u{FFFD}') else { return false };
    let total: usize = lens.iter().map(|&b| b as usize).sum();
    let mut missing = text.len().saturating_sub(total);
    let mut end = 0usize;
    let mut first = None;
    for (i, &l) in lens.iter().enumerate() {
        end += l as usize;
        if end > at {
            first = Some(i);
            break;
        }
    }
    let Some(first) = first.or(lens.len().checked_sub(1)) else { return false };
    for l in &mut lens[first..] {
        let add = missing.min(255 - *l as usize);
        *l += add as u8;
        missing -= add;
        if missing == 0 {
            return true;
        }
    }
    false
}

/// Loads a traces file, grouping traces by problem and sorting each problem's traces by sample.
pub fn load_traces(path: &Path) -> Result<TraceSet, DatasetError> {
    let mut order: Vec<String> = Vec::new();
    let mut by_pid: BTreeMap<String, Vec<Arc<Trace>>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for_each_object(path, |line, obj| {
        let trace = parse_trace(path, line, obj)?;
        if !seen.insert((trace.pid.clone(), trace.sample)) {
            return Err(DatasetError::Duplicate {
                path: path.to_path_buf(),
                line,
                what: format!("trace (pid {:?}, sample {})", trace.pid, trace.sample),
            });
        }
        if !by_pid.contains_key(&trace.pid) {
            order.push(trace.pid.clone());
        }
        by_pid.entry(trace.pid.clone()).or_default().push(Arc::new(trace));
        Ok(())
    })?;
    let problems = order
        .into_iter()
        .map(|pid| {
            let mut traces = by_pid.remove(&pid).unwrap_or_default();
            traces.sort_by_key(|t| t.sample);
            (pid, traces)
        })
        .collect();
    Ok(TraceSet { problems })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn decodes_token_lengths_and_confidence() {
        // "ab" + "c": lengths [2, 1] = base64 "AgE="; conf bytes [10, 25] = "Chk=".
        let f = write_tmp(
            r#"{"pid":"p","sample":0,"text":"abc","n_tokens":2,"finish":"stop","tok_bytes":"AgE=","conf":"Chk=","answer":"3","answer_class":0,"correct":true}"#,
        );
        let set = load_traces(f.path()).unwrap();
        let t = &set.get("p").unwrap()[0];
        assert_eq!(t.tok_bytes.as_deref(), Some(&[2u8, 1][..]));
        assert_eq!(t.conf.as_deref(), Some(&[1.0f32, 2.5][..]));
        assert_eq!(t.finish, Some(Finish::Stop));
        assert_eq!(t.correct, Some(true));
    }

    #[test]
    fn minimal_trace_needs_only_pid_sample_text() {
        let f = write_tmp("{\"pid\":\"p\",\"sample\":1,\"text\":\"x\"}\n\n{\"pid\":\"p\",\"sample\":0,\"text\":\"y\"}\n");
        let set = load_traces(f.path()).unwrap();
        let samples: Vec<u32> = set.get("p").unwrap().iter().map(|t| t.sample).collect();
        assert_eq!(samples, vec![0, 1]);
        assert!(set.get("p").unwrap()[0].tok_bytes.is_none());
    }

    #[test]
    fn malformed_lines_name_file_line_and_field() {
        let cases = [
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"x\"}\n{\"pid\":\"p\",\"text\":\"x\"}", ":2: field `sample`: missing"),
            ("{\"pid\":\"p\",\"sample\":-1,\"text\":\"x\"}", ":1: field `sample`: expected a non-negative integer"),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":7}", ":1: field `text`: expected a string, found a number"),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"abc\",\"tok_bytes\":\"AQ==\"}", ":1: field `tok_bytes`: token lengths sum to 1 bytes"),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"x\",\"tok_bytes\":\"%%%\"}", ":1: field `tok_bytes`: expected base64"),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"x\",\"finish\":\"done\"}", ":1: field `finish`: expected \"stop\" or \"length\""),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"x\",\"answer_class\":\"a\"}", ":1: field `answer_class`: expected an integer"),
            ("{\"pid\":\"p\",\"sample\":0,", ":1: not a JSON object"),
            ("[1,2]", ":1: not a JSON object: expected an object"),
            ("{\"pid\":\"p\",\"sample\":0,\"text\":\"x\"}\n{\"pid\":\"p\",\"sample\":0,\"text\":\"x\"}", ":2: duplicate trace"),
        ];
        for (content, expected) in cases {
            let f = write_tmp(content);
            let err = load_traces(f.path()).unwrap_err().to_string();
            assert!(err.contains(expected), "for {content:?}: got {err:?}, want {expected:?}");
            assert!(err.contains(&f.path().display().to_string()), "error must name the file: {err}");
        }
    }

    #[test]
    fn replacement_characters_are_repaired() {
        // Two tokens "a" + one invalid byte, shown as U+FFFD (3 bytes): lengths [1, 1] → [1, 3].
        let mut lens = vec![1u8, 1, 1];
        assert!(repair_replacement_chars(&mut lens, "a\u{FFFD}b"));
        assert_eq!(lens, vec![1, 3, 1]);
        let mut lens = vec![1u8, 1];
        assert!(!repair_replacement_chars(&mut lens, "abc"));
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let err = load_problems(Path::new("/nonexistent/problems.jsonl")).unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/problems.jsonl: cannot open"), "{err}");
    }

    #[test]
    fn reads_gzip() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"pid\":\"q\",\"question\":\"?\",\"gold\":4}\n").unwrap();
        f.write_all(&gz.finish().unwrap()).unwrap();
        let problems = load_problems(f.path()).unwrap();
        assert_eq!(problems[0].gold.as_deref(), Some("4"));
    }

    #[test]
    fn graded_data_names_the_files_and_the_pids_at_fault() {
        let problem = |pid: &str, gold: Option<&str>| Problem {
            pid: pid.into(),
            source: None,
            question: String::new(),
            gold: gold.map(Into::into),
            split: None,
        };
        let problems = vec![problem("a", Some("1")), problem("b", None)];
        let trace = |pid: &str| {
            let t = Trace {
                pid: pid.into(),
                sample: 0,
                text: "x".into(),
                tok_bytes: None,
                conf: None,
                finish: None,
                answer: None,
                answer_class: None,
                correct: None,
            };
            (pid.to_string(), vec![Arc::new(t)])
        };
        let (t, p) = (Path::new("t.jsonl"), Path::new("p.jsonl"));
        let known = TraceSet { problems: vec![trace("a"), trace("b")] };
        check_traces_have_problems(t, &known, p, &problems).unwrap();
        let orphans = TraceSet { problems: vec![trace("a"), trace("z"), trace("y")] };
        let err = check_traces_have_problems(t, &orphans, p, &problems).unwrap_err().to_string();
        assert!(err.starts_with(r#"t.jsonl: traces of 2 problems not in p.jsonl: "z", "y"; expected every trace's `pid`"#), "{err}");
        assert!(err.ends_with("(or set `generator.ungraded: true` to run without accuracy)"), "{err}");

        check_gold(p, &problems, ["a"]).unwrap();
        let err = check_gold(p, &problems, ["a", "b", "c"]).unwrap_err().to_string();
        assert!(err.starts_with(r#"p.jsonl: no `gold` answer for 2 problems the run grades: "b", "c"; expected a `gold` field"#), "{err}");
        let err = check_gold(p, &problems, ["b"]).unwrap_err().to_string();
        assert!(err.contains(r#"for 1 problem the run grades: "b";"#), "{err}");

        let many: Vec<String> = (0..13).map(|i| format!("q{i}")).collect();
        let err = check_gold(p, &problems, many.iter().map(String::as_str)).unwrap_err().to_string();
        assert!(err.contains(r#"for 13 problems the run grades: "q0", "q1", "#), "{err}");
        assert!(err.contains(r#""q9" and 3 more;"#) && !err.contains("q10"), "{err}");
    }
}
