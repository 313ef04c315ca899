//! A run's output folder (`output.dir`): one run at a time holds it, each problem is appended
//! to `problems.jsonl` as it finishes, and the final files replace the old ones whole.
//!
//! - **One writer.** [`OutputDir::lock`] takes an exclusive lock on `output.dir/.lock` (the
//!   operating system's file lock, `flock` on Linux) and keeps it until it is dropped; the
//!   system releases it when the process ends, however it ends. A second run into the same
//!   folder fails at once, naming it.
//! - **Appended as it goes.** [`ProblemSink`] writes each finished problem as one line, in the
//!   order they finish, with one `write` call and no buffering, so a run that is killed keeps
//!   every line it wrote.
//! - **Atomic results.** [`write()`] writes `problems.jsonl` (in replay order) and `report.json`
//!   to temporary names in the folder and renames them over the old ones: a reader sees the old
//!   file or the new one, never half of one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{ProblemResult, RunReport};

/// The lock file's name in the output folder.
pub const LOCK_FILE: &str = ".lock";

/// Why the output folder cannot be used. Each names `output.dir` and the path.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The folder cannot be made.
    #[error("output.dir {}: cannot create the folder: {source}", .dir.display())]
    Create {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another run holds the folder.
    #[error(
        "output.dir {} is in use by another run{} (it holds {}); wait for that run to end or choose another output.dir",
        .dir.display(),
        .holder.as_ref().map_or_else(String::new, |pid| format!(" (process {pid})")),
        .dir.join(LOCK_FILE).display()
    )]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// The process id the holder wrote into the lock file, if it could be read.
        holder: Option<u32>,
    },
    /// A file in the folder cannot be written.
    #[error("output.dir {}: cannot write {}: {source}", .dir.display(), .path.display())]
    Write {
        /// The folder.
        dir: PathBuf,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A run's hold on its output folder, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    /// Held open for the lock; it holds this process's id.
    _lock: File,
}

impl OutputDir {
    /// Creates `dir` if needed, takes its lock, and checks that a file can be written and
    /// removed in it.
    pub fn lock(dir: &Path) -> Result<Self, OutputError> {
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Create { dir: dir.to_path_buf(), source })?;
        let write_error = |path: &Path| {
            let (dir, path) = (dir.to_path_buf(), path.to_path_buf());
            move |source| OutputError::Write { dir, path, source }
        };
        let path = dir.join(LOCK_FILE);
        // Not truncated on open: until the lock is ours, the file is the holder's.
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(write_error(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
                return Err(OutputError::Locked { dir: dir.to_path_buf(), holder });
            }
            Err(TryLockError::Error(source)) => return Err(OutputError::Write { dir: dir.to_path_buf(), path, source }),
        }
        file.set_len(0).and_then(|()| write!(file, "{}", std::process::id())).map_err(write_error(&path))?;
        // The lock file shows that a file can be made here; this shows one can be filled and removed.
        let probe = dir.join(format!(".write-check-{}", std::process::id()));
        std::fs::write(&probe, b"ok\n").and_then(|()| std::fs::remove_file(&probe)).map_err(write_error(&probe))?;
        Ok(Self { dir: dir.to_path_buf(), _lock: file })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A sink that appends to `problems.jsonl` in the folder, emptied first. An earlier run's
    /// `report.json` is removed, so that it is never read as the report of this run's problems
    /// (this run writes its own at the end, unless it is killed).
    pub fn sink(&self) -> Result<ProblemSink, OutputError> {
        let error = |path: PathBuf| move |source| OutputError::Write { dir: self.dir.clone(), path, source };
        let report = self.dir.join("report.json");
        match std::fs::remove_file(&report) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(error(report)(e)),
            _ => {}
        }
        let problems = self.dir.join("problems.jsonl");
        ProblemSink::create(&problems).map_err(error(problems.clone()))
    }

    /// Writes the final `problems.jsonl` and `report.json` ([`write()`]).
    pub fn write(&self, results: &[ProblemResult], report: &RunReport) -> Result<(), OutputError> {
        write_files(&self.dir, results, report).map_err(|(path, source)| OutputError::Write { dir: self.dir.clone(), path, source })
    }
}

/// Appends each finished problem to a `problems.jsonl` as one line, so that a run stopped any
/// way keeps every problem it finished.
#[derive(Debug)]
pub struct ProblemSink {
    path: PathBuf,
    file: File,
}

impl ProblemSink {
    /// Creates (or empties) the file at `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self { path: path.to_path_buf(), file: File::create(path)? })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `result` as one line. The line goes to the file with one `write` call and no
    /// buffer in this process: once this returns, a killed process keeps it.
    pub fn append(&mut self, result: &ProblemResult) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(result)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

/// Writes `problems.jsonl` (one line per result, in the order given) and `report.json` into
/// `dir`, each to a temporary name first and then renamed over the old file.
pub fn write(dir: &Path, results: &[ProblemResult], report: &RunReport) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_files(dir, results, report).map_err(|(_, e)| e)
}

/// [`write`] into an existing folder; an error names the file.
fn write_files(dir: &Path, results: &[ProblemResult], report: &RunReport) -> Result<(), (PathBuf, std::io::Error)> {
    let mut lines = Vec::new();
    for r in results {
        serde_json::to_writer(&mut lines, r).map_err(|e| (dir.join("problems.jsonl"), e.into()))?;
        lines.push(b'\n');
    }
    let problems = dir.join("problems.jsonl");
    replace(&problems, &lines).map_err(|e| (problems, e))?;
    let path = dir.join("report.json");
    let json = serde_json::to_string_pretty(report).map_err(|e| (path.clone(), e.into()))? + "\n";
    replace(&path, json.as_bytes()).map_err(|e| (path, e))
}

/// Replaces the file at `path` with `bytes`: written beside it under a temporary name, then
/// renamed, so that a reader sees the whole old file or the whole new one.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(pid: &str) -> ProblemResult {
        ProblemResult {
            pid: pid.into(),
            n_traces: 2,
            answer: Some("4".into()),
            correct: Some(true),
            tokens: 10,
            clusters: vec![vec![0, 1]],
            forced_joins: vec![],
            survivors: vec![0],
            pruned: vec![1],
            judge_pairs: 1,
            baseline: None,
            staged: None,
        }
    }

    #[test]
    fn a_second_lock_on_the_folder_fails_naming_it_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let first = OutputDir::lock(&dir).unwrap();
        assert!(dir.is_dir());
        // A second open file description conflicts with the first, as a second process's would.
        let err = OutputDir::lock(&dir).unwrap_err();
        assert!(matches!(err, OutputError::Locked { holder: Some(pid), .. } if pid == std::process::id()), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with(&format!("output.dir {} is in use by another run (process ", dir.display())), "{message}");
        drop(first);
        let again = OutputDir::lock(&dir).unwrap();
        assert_eq!(again.path(), dir);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, [LOCK_FILE], "the write check leaves nothing behind");
    }

    #[test]
    fn a_folder_under_a_file_cannot_be_used_and_the_error_names_it() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), "").unwrap();
        let dir = tmp.path().join("file/out");
        let err = OutputDir::lock(&dir).unwrap_err();
        assert!(matches!(err, OutputError::Create { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&format!("output.dir {}: cannot create the folder: ", dir.display())), "{err}");
    }

    #[test]
    fn the_sink_appends_lines_and_the_final_write_replaces_them() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::lock(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("problems.jsonl"), "an earlier run's line\n").unwrap();
        std::fs::write(tmp.path().join("report.json"), "an earlier run's report\n").unwrap();
        let mut sink = out.sink().unwrap();
        assert!(!tmp.path().join("report.json").exists(), "an earlier run's report stays beside this run's problems");
        for pid in ["b", "a"] {
            sink.append(&result(pid)).unwrap();
        }
        let read = || std::fs::read_to_string(sink.path()).unwrap();
        let pids: Vec<String> =
            read().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["pid"].to_string()).collect();
        assert_eq!(pids, ["\"b\"", "\"a\""], "emptied first, then one line per problem in the order they came");
        let results = [result("a"), result("b")];
        let report = RunReport::from_results(&results, "lexical", 1.0);
        out.write(&results, &report).unwrap();
        assert!(std::fs::read_to_string(tmp.path().join("problems.jsonl")).unwrap().starts_with("{\"pid\":\"a\""));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap()).unwrap();
        assert_eq!(json["problems"], 2);
        let mut names: Vec<String> =
            std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, [LOCK_FILE, "problems.jsonl", "report.json"], "no temporary file is left");
    }
}
