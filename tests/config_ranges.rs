//! `configs/reference.yaml` states the valid range of every numeric key (`Range [1, 65536]`,
//! `Range (0.0, 86400.0]`). Here each stated range is checked against the config's own checks:
//! the value at a closed end loads, the value just past it is an error naming the key, and the
//! same the other way round at an open end. A range changed in the code and not in the file, or
//! the other way round, fails here.

mod common;

use deepprune::config::PipelineConfig;

/// One end of a range.
#[derive(Debug, Clone, Copy)]
struct End {
    value: Number,
    /// True when the end itself is allowed (`[` or `]`).
    closed: bool,
}

/// A bound as written: an integer, or a number with a decimal point.
#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        if text.contains(['.', 'e', 'E']) {
            text.parse().ok().map(Number::Float)
        } else {
            text.parse().ok().map(Number::Int)
        }
    }

    /// The number moved by the smallest step that a config value can tell apart: 1 for an
    /// integer, a millionth (relative, at least 1e-6) for a float.
    fn step(self, up: bool) -> Number {
        let sign: i32 = if up { 1 } else { -1 };
        match self {
            Number::Int(i) => Number::Int(i + i128::from(sign)),
            Number::Float(f) => Number::Float(f + f64::from(sign) * (f.abs() * 1e-6).max(1e-6)),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    fn yaml(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => format!("{f}"),
        }
    }
}

/// A key of the reference with its stated range.
#[derive(Debug)]
struct Documented {
    /// The document it is in (0: replay, 1: synthetic, 2: openai).
    document: usize,
    /// Its dotted key, e.g. `generator.openai.max_tokens`.
    key: String,
    /// Its value in the reference, as written.
    value: String,
    /// Its range, when the comment above it states one.
    range: Option<(End, End)>,
}

/// Finds `Range [lo, hi]` (or with `(` and `)` for open ends) in a comment.
fn range_in(comment: &str) -> Option<(End, End)> {
    let at = comment.find("Range ")? + "Range ".len();
    let rest = &comment[at..];
    let open = rest.chars().next()?;
    let close_at = rest.find([']', ')'])?;
    let close = rest[close_at..].chars().next()?;
    let (lo, hi) = rest[1..close_at].split_once(',')?;
    let lo = End { value: Number::parse(lo)?, closed: open == '[' };
    let hi = End { value: Number::parse(hi)?, closed: close == ']' };
    matches!(open, '[' | '(').then_some((lo, hi))
}

/// Every key of every document of the reference, with the comment lines right above it.
fn documented_keys(text: &str) -> Vec<Documented> {
    let mut out = Vec::new();
    for (document, body) in text.split("\n---\n").enumerate() {
        // (indent, key) of the mappings the current line is inside.
        let mut parents: Vec<(usize, String)> = Vec::new();
        let mut comment = String::new();
        for line in body.lines() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if let Some(c) = trimmed.strip_prefix('#') {
                comment.push_str(c);
                comment.push(' ');
                continue;
            }
            let Some((key, value)) = trimmed.split_once(':') else {
                // A continued list or a blank line ends the comment block.
                comment.clear();
                continue;
            };
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                comment.clear();
                continue;
            }
            parents.retain(|(i, _)| *i < indent);
            let dotted: Vec<&str> = parents.iter().map(|(_, k)| k.as_str()).chain([key]).collect();
            let value = value.split(" #").next().unwrap_or("").trim().to_string();
            out.push(Documented { document, key: dotted.join("."), range: range_in(&comment), value: value.clone() });
            if value.is_empty() {
                parents.push((indent, key.to_string()));
            }
            comment.clear();
        }
    }
    out
}

/// A valid pipeline of the reference's `document` kind, on the shipped sample data, so that
/// each row has only the fault it is about.
fn base(document: usize) -> String {
    let root = common::root();
    let problems = root.join("data/sample/problems.jsonl").display().to_string();
    match document {
        0 => format!("generator:\n  problems: {problems}\n  traces: {}\n", root.join("data/sample/traces.jsonl.gz").display()),
        1 => "generator:\n  kind: synthetic\n".to_string(),
        _ => format!("generator:\n  kind: openai\n  problems: {problems}\n  openai:\n    base_urls: [http://127.0.0.1:9]\n"),
    }
}

/// Keys whose range holds only with another key set to fit (a check across keys).
fn companions(key: &str) -> &'static [&'static str] {
    match key {
        "clusterer.band" => &["truncator.later=[128]"],
        "generator.openai.backoff_base_ms" => &["generator.openai.backoff_max_ms=3600000"],
        "generator.openai.backoff_max_ms" => &["generator.openai.backoff_base_ms=0"],
        _ => &[],
    }
}

#[test]
fn every_numeric_key_states_its_range() {
    let text = std::fs::read_to_string(common::root().join("configs/reference.yaml")).unwrap();
    let keys = documented_keys(&text);
    let ranged: Vec<&str> = keys.iter().filter(|k| k.range.is_some()).map(|k| k.key.as_str()).collect();
    let unstated: Vec<&str> = keys
        .iter()
        .filter(|k| k.value.parse::<f64>().is_ok() && !ranged.contains(&k.key.as_str()))
        .map(|k| k.key.as_str())
        .collect();
    assert!(unstated.is_empty(), "numeric keys without a `Range [lo, hi]` in their comment: {unstated:?}");
    // The parser found the keys: a broken one would make the next test pass on nothing.
    assert!(ranged.len() >= 50, "only {} ranges found: {ranged:?}", ranged.len());
    for k in keys.iter().filter(|k| k.range.is_some()) {
        let Ok(value) = k.value.parse::<f64>() else { continue };
        let (lo, hi) = k.range.unwrap();
        let inside = |end: End, above: bool| {
            let e = end.value.as_f64();
            if above { value > e || (end.closed && value == e) } else { value < e || (end.closed && value == e) }
        };
        assert!(inside(lo, true) && inside(hi, false), "{}: the reference's value {value} is outside its own range", k.key);
    }
}

#[test]
fn each_stated_range_is_the_range_the_config_checks() {
    let text = std::fs::read_to_string(common::root().join("configs/reference.yaml")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for k in documented_keys(&text) {
        let Some((lo, hi)) = k.range else { continue };
        let base = base(k.document);
        // (value, should load): each end, and the value just past it.
        let rows = [
            (lo.value, lo.closed),
            (if lo.closed { lo.value.step(false) } else { lo.value.step(true) }, !lo.closed),
            (hi.value, hi.closed),
            (if hi.closed { hi.value.step(true) } else { hi.value.step(false) }, !hi.closed),
        ];
        for (value, loads) in rows {
            let row = format!("{}={}", k.key, value.yaml());
            let mut overrides: Vec<String> = companions(&k.key).iter().map(|s| s.to_string()).collect();
            overrides.push(row.clone());
            let got = PipelineConfig::from_yaml(&base, "t.yaml", &overrides);
            checked += 1;
            match (got, loads) {
                (Ok(_), true) => {}
                (Err(e), true) => failures.push(format!("{row}: inside the stated range but rejected: {e}")),
                (Ok(_), false) => failures.push(format!("{row}: outside the stated range but accepted")),
                (Err(e), false) if !e.to_string().contains(&format!("{}:", k.key)) => {
                    failures.push(format!("{row}: rejected, but the error does not name the key: {e}"))
                }
                (Err(_), false) => {}
            }
        }
    }
    assert!(checked >= 200, "only {checked} values checked");
    assert!(failures.is_empty(), "{} disagreement(s) between configs/reference.yaml and the code:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ranges_are_read_as_written() {
    let (lo, hi) = range_in(" Tokens per step. Range [1, 1000000]. More words").unwrap();
    assert!(matches!((lo.value, lo.closed, hi.value, hi.closed), (Number::Int(1), true, Number::Int(1_000_000), true)));
    let (lo, hi) = range_in("Range (0.0, 86400.0]").unwrap();
    assert!(matches!((lo.value, lo.closed, hi.closed), (Number::Float(f), false, true) if f == 0.0));
    assert!(matches!(hi.value, Number::Float(f) if f == 86_400.0));
    assert!(range_in("in [0, 1), e.g. [128, 256]").is_none(), "only a `Range` states a range");
    let keys = documented_keys("a:\n  # Range [0, 2].\n  b: 1\n  c:\n    d: x\ne: 2\n---\nf: 3 # inline\n");
    let got: Vec<(usize, &str, &str, bool)> =
        keys.iter().map(|k| (k.document, k.key.as_str(), k.value.as_str(), k.range.is_some())).collect();
    assert_eq!(
        got,
        vec![(0, "a", "", false), (0, "a.b", "1", true), (0, "a.c", "", false), (0, "a.c.d", "x", false), (0, "e", "2", false), (1, "f", "3", false)]
    );
}
