//! Reading a YAML config file, the same way for pipeline, training and sweep files: the
//! document, its relative paths resolved against the file's folder, `--set` overrides, and
//! errors that name the file, the key and what was expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_norway::Value;

/// Why a config file could not be used: every problem found, each naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {} error(s):\n  - {}", errors.len(), errors.join("\n  - "))]
pub struct ConfigError {
    /// The config file.
    pub file: String,
    /// One line per problem.
    pub errors: Vec<String>,
}

/// A config file's YAML document, before it is read into its types.
#[derive(Debug, Clone)]
pub struct YamlFile {
    /// The file, as errors name it.
    pub file: String,
    /// The document; an empty file is an empty mapping.
    pub doc: Value,
    /// The relative paths the file held, and the folder they were resolved against.
    pub paths: RelativePaths,
}

impl YamlFile {
    /// Reads and parses `path`; an unreadable file or invalid YAML is an error naming it.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError { file: file.clone(), errors: vec![format!("cannot read the file: {e}")] })?;
        Self::parse(&text, &file)
    }

    /// Parses `text`, the contents of `file`. Relative paths in it are relative to `file`'s
    /// folder.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        // A UTF-8 byte-order mark (some editors write one) is not YAML; the text after it is.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut doc: Value = if text.trim().is_empty() {
            empty_map()
        } else {
            serde_norway::from_str(text)
                .map_err(|e| ConfigError { file: file.to_string(), errors: vec![format!("not valid YAML: {e}")] })?
        };
        if doc.is_null() {
            doc = empty_map();
        }
        let folder = Path::new(file).parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Self { file: file.to_string(), doc, paths: RelativePaths { folder, written: BTreeMap::new() } })
    }

    /// Resolves the relative paths at the dotted `keys` against the file's folder. Call it
    /// before applying overrides: a path given with `--set` stays relative to the current
    /// directory. A `*` segment stands for every item of a list (`traces.*.path`). Returns an
    /// error per path that cannot be resolved.
    pub fn resolve_paths(&mut self, keys: &[&str]) -> Vec<String> {
        let mut errors = Vec::new();
        if self.paths.folder.as_os_str().is_empty() {
            return errors;
        }
        let keys: Vec<String> = keys.iter().flat_map(|k| expand_items(&self.doc, k)).collect();
        for key in &keys {
            let mut node = Some(&mut self.doc);
            for k in key.split('.') {
                node = node.and_then(|n| match (k.parse::<usize>(), n) {
                    (Ok(i), Value::Sequence(items)) => items.get_mut(i),
                    (_, n) => n.get_mut(k),
                });
            }
            let Some(Value::String(written)) = node else { continue };
            if Path::new(written.as_str()).is_absolute() {
                continue;
            }
            let resolved = self.paths.folder.join(written.as_str());
            match resolved.to_str() {
                Some(r) => {
                    self.paths.written.insert(key.clone(), PathBuf::from(written.as_str()));
                    *written = r.to_string();
                }
                None => errors.push(format!(
                    "{key}: cannot resolve {written} against {}: the folder's name is not UTF-8",
                    self.paths.folder.display()
                )),
            }
        }
        errors
    }

    /// An error naming this file.
    pub fn error(&self, errors: Vec<String>) -> ConfigError {
        ConfigError { file: self.file.clone(), errors }
    }
}

/// `key` with its first `*` segment replaced by each index of the list found there (and so on
/// for later ones); `key` itself when it has none, or nothing where no list is found.
fn expand_items(doc: &Value, key: &str) -> Vec<String> {
    let Some((head, tail)) = key.split_once('*') else { return vec![key.to_string()] };
    let prefix = head.trim_end_matches('.');
    let mut node = Some(doc);
    for k in prefix.split('.').filter(|k| !k.is_empty()) {
        node = node.and_then(|n| match (k.parse::<usize>(), n) {
            (Ok(i), Value::Sequence(items)) => items.get(i),
            (_, n) => n.get(k),
        });
    }
    let Some(Value::Sequence(items)) = node else { return Vec::new() };
    (0..items.len()).flat_map(|i| expand_items(doc, &format!("{head}{i}{tail}"))).collect()
}

/// The relative paths a config file held, resolved against its folder, so that an error can
/// show a path as the file wrote it.
#[derive(Debug, Clone, Default)]
pub struct RelativePaths {
    /// The folder of the file.
    folder: PathBuf,
    /// What the file wrote at each dotted key whose path was resolved.
    written: BTreeMap<String, PathBuf>,
}

impl RelativePaths {
    /// `path`, the value at the dotted `key`, as an error shows it: as the file wrote it and
    /// what it is relative to (`../data/x.jsonl (relative to pipelines/)`), or as it is when
    /// it was absolute or given with `--set`.
    pub fn show(&self, key: &str, path: &Path) -> String {
        match self.written.get(key) {
            Some(written) if self.folder.join(written) == path => {
                let folder = self.folder.display().to_string();
                let slash = if folder.ends_with('/') { "" } else { "/" };
                format!("{} (relative to {folder}{slash})", written.display())
            }
            _ => path.display().to_string(),
        }
    }
}

/// Reads a whole YAML file as a `T`: relative paths at the dotted `path_keys` resolved against
/// the file's folder, then `key=value` overrides applied (their relative paths stay relative to
/// the current directory). The training and sweep files load through this; a pipeline file,
/// whose sections are read one by one, through [`crate::config::PipelineConfig::load`].
pub fn load_yaml<T: DeserializeOwned>(path: &Path, overrides: &[String], path_keys: &[&str]) -> Result<T, ConfigError> {
    let mut file = YamlFile::read(path)?;
    let mut errors = file.resolve_paths(path_keys);
    for o in overrides {
        if let Err(e) = set_path(&mut file.doc, o) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        match parse(file.doc.clone(), "") {
            Ok(t) => return Ok(t),
            Err(e) => errors.extend(e),
        }
    }
    Err(file.error(errors))
}

/// Pushes `KEY: expected at most MAX, got VALUE` when `value` is above `max`: the upper bounds
/// keep a value that parses from panicking, hanging or exhausting memory later in a run.
pub(super) fn at_most<T: PartialOrd + std::fmt::Display>(key: &str, value: T, max: T, e: &mut Vec<String>) {
    if value > max {
        e.push(format!("{key}: expected at most {max}, got {value}"));
    }
}

/// An empty YAML mapping.
pub(super) fn empty_map() -> Value {
    Value::Mapping(Default::default())
}

/// Sets the dotted `a.b.c=value` path in a YAML document, creating mappings on the way. The
/// value is read as YAML, so `0.3` is a number and `[a, b]` a list.
pub fn set_path(doc: &mut Value, assignment: &str) -> Result<(), String> {
    let Some((path, raw)) = assignment.split_once('=') else {
        return Err(format!("--set {assignment:?}: expected key=value"));
    };
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("--set {assignment:?}: empty key"));
    }
    let value: Value = serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    if !doc.is_mapping() {
        *doc = empty_map();
    }
    let mut node = doc;
    for (i, key) in keys.iter().enumerate() {
        let Value::Mapping(map) = node else {
            // `doc` is a mapping, so i ≥ 1 here: the key before holds a plain value.
            return Err(format!("--set {path}: `{}` holds a value, not a section of keys", keys[..i].join(".")));
        };
        if i + 1 == keys.len() {
            map.insert(Value::String((*key).to_string()), value);
            return Ok(());
        }
        node = map.entry(Value::String((*key).to_string())).or_insert_with(empty_map);
        if node.is_null() {
            *node = empty_map();
        }
    }
    Ok(())
}

/// Reads `value` as a `T`. Each error names the dotted key at fault, under `at` (the section's
/// name, or empty for a whole file), and says what a YAML author would write. Every bad key is
/// reported, not only the first: a key at fault is taken out and the rest read again.
pub fn parse<T: DeserializeOwned>(mut value: Value, at: &str) -> Result<T, Vec<String>> {
    let mut errors = Vec::new();
    // Each round removes one key, so this ends; the cap bounds a pathological document.
    for _ in 0..64 {
        let e = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(t) if errors.is_empty() => return Ok(t),
            Ok(_) => return Err(errors),
            Err(e) => e,
        };
        let path: Vec<serde_path_to_error::Segment> = e.path().iter().cloned().collect();
        // List indices are left out: `truncator.words` names the key a YAML author looks for.
        let keys = path.iter().filter_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(key.as_str()),
            _ => None,
        });
        let key: Vec<&str> = std::iter::once(at).filter(|a| !a.is_empty()).chain(keys).collect();
        let mut message = describe_serde_error(&e.inner().to_string());
        if message.contains("expected a Value::Tagged enum") {
            // An enum given a map or a number: name its values, as for an unknown string.
            let allowed = with_value_at(&value, &path, Value::String(String::new()))
                .and_then(|probe| serde_path_to_error::deserialize::<_, T>(probe).err())
                .map(|e| describe_serde_error(&e.inner().to_string()))
                .and_then(|m| m.find("expected ").map(|i| m[i..].to_string()));
            message = message.replace("expected a Value::Tagged enum", allowed.as_deref().unwrap_or("expected one of the listed values"));
        }
        let message = if key.is_empty() { message } else { format!("{}: {message}", key.join(".")) };
        // A key missing once others were taken out may be one of them: stop there.
        if errors.contains(&message) || (!errors.is_empty() && message.contains("missing key")) {
            return Err(errors);
        }
        errors.push(message);
        match without_key_at(&value, &path) {
            Some(rest) => value = rest,
            None => return Err(errors),
        }
    }
    Err(errors)
}

/// `value` with the node at `path` replaced by `node`; `None` when the path leads nowhere.
fn with_value_at(value: &Value, path: &[serde_path_to_error::Segment], node: Value) -> Option<Value> {
    let mut out = value.clone();
    let mut at = &mut out;
    for segment in path {
        at = match segment {
            serde_path_to_error::Segment::Map { key } => at.get_mut(key.as_str())?,
            serde_path_to_error::Segment::Seq { index } => at.get_mut(*index)?,
            _ => return None,
        };
    }
    *at = node;
    Some(out)
}

/// `value` with the key at `path` taken out of its mapping; `None` when there is no such key
/// (the error is about a whole mapping, or a missing key).
fn without_key_at(value: &Value, path: &[serde_path_to_error::Segment]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let serde_path_to_error::Segment::Map { key } = last else { return None };
    let mut out = value.clone();
    let mut at = &mut out;
    for segment in parents {
        at = match segment {
            serde_path_to_error::Segment::Map { key } => at.get_mut(key.as_str())?,
            serde_path_to_error::Segment::Seq { index } => at.get_mut(*index)?,
            _ => return None,
        };
    }
    at.as_mapping_mut()?.remove(key.as_str())?;
    Some(out)
}

/// serde's messages name Rust types ("invalid type: string \"high\", expected f32"); say what a
/// YAML author would write instead.
fn describe_serde_error(msg: &str) -> String {
    let mut msg = msg
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
        .replace("unknown variant", "unknown value")
        .replace("invalid type: ", "wrong type: ");
    for (rust, yaml) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
    ] {
        msg = msg.replace(rust, yaml);
    }
    if let Some(at) = msg.find("expected struct ") {
        let name = at + "expected struct ".len();
        let end = msg[name..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(msg.len(), |n| name + n);
        msg.replace_range(at..end, "expected a mapping of keys");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        data: PathBuf,
        inner: Inner,
        #[serde(default)]
        out: Option<PathBuf>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: usize,
        #[serde(default)]
        words: Vec<String>,
    }

    #[test]
    fn file_paths_are_relative_to_the_file_and_set_paths_to_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf.yaml");
        std::fs::write(&path, "data: ../d.jsonl\ninner: {n: 1}\nout: /abs/out\n").unwrap();
        let s: Shape = load_yaml(&path, &[], &["data", "out"]).unwrap();
        assert_eq!(s.data, dir.path().join("../d.jsonl"));
        assert_eq!(s.out, Some(PathBuf::from("/abs/out")), "absolute paths stay as they are");
        let s: Shape = load_yaml(&path, &["data=x.jsonl".into(), "out=o".into()], &["data", "out"]).unwrap();
        assert_eq!((s.data, s.out), (PathBuf::from("x.jsonl"), Some(PathBuf::from("o"))));

        let mut f = YamlFile::parse("data: ../d.jsonl\n", "pipelines/p.yaml").unwrap();
        assert!(f.resolve_paths(&["data", "missing.key"]).is_empty());
        assert_eq!(f.doc["data"].as_str(), Some("pipelines/../d.jsonl"));
        assert_eq!(f.paths.show("data", Path::new("pipelines/../d.jsonl")), "../d.jsonl (relative to pipelines/)");
        assert_eq!(f.paths.show("data", Path::new("elsewhere.jsonl")), "elsewhere.jsonl", "an override shows as given");
    }

    #[test]
    fn errors_name_the_key_the_file_and_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf.yaml");
        let cases = [
            ("data: d\ninner: {n: -1}\n", "inner.n: invalid value: integer `-1`, expected a non-negative integer"),
            ("data: d\ninner: {n: 1, m: 2}\n", "inner.m: unknown key `m`, expected `n` or `words`"),
            ("data: d\ninner: {n: 1, words: [a, {b: 1}]}\n", "inner.words: wrong type: map, expected a string"),
            ("inner: {n: 1}\n", "missing key `data`"),
            ("data: d\ninner: 5\n", "inner: wrong type: integer `5`, expected a mapping of keys"),
            ("data: [d\n", "not valid YAML"),
        ];
        for (yaml, want) in cases {
            std::fs::write(&path, yaml).unwrap();
            let e = load_yaml::<Shape>(&path, &[], &[]).unwrap_err();
            assert_eq!(e.file, path.display().to_string());
            assert_eq!(e.errors.len(), 1, "{:?}", e.errors);
            assert!(e.errors[0].contains(want), "want {want:?} in {:?}", e.errors[0]);
        }
        let e = load_yaml::<Shape>(&dir.path().join("nope.yaml"), &[], &[]).unwrap_err().to_string();
        assert!(e.contains("nope.yaml: 1 error(s):\n  - cannot read the file"), "{e}");
    }
}
