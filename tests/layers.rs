//! The layering of `docs/architecture.md`, checked on the source: imports between top-level
//! modules run one way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

/// Top-level module → the top-level modules its non-test code names as `crate::x`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = common::root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if top == "lib" || top == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != top {
                edges.entry(top.clone()).or_default().insert(name);
            }
        }
        edges.entry(top).or_default();
    }
    edges
}

fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(m) = stack.pop() {
        for n in edges.get(&m).into_iter().flatten() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.push(n.clone());
            }
        }
    }
    false
}

#[test]
fn no_import_cycle_joins_two_top_level_modules() {
    let edges = imports();
    assert!(edges.len() >= 10, "the walk found the modules: {edges:?}");
    let cycles: Vec<(&String, &String)> =
        edges.iter().flat_map(|(a, bs)| bs.iter().map(move |b| (a, b))).filter(|(a, b)| reaches(&edges, b, a)).collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
}

#[test]
fn plain_data_imports_no_actor_and_no_sweep() {
    let edges = imports();
    let forbidden: &[(&str, &[&str])] =
        &[("config", &["pipeline", "judge", "sweep"]), ("report", &["pipeline", "sweep"]), ("metrics", &["pipeline", "sweep"])];
    for (module, bad) in forbidden {
        let got = &edges[*module];
        for b in *bad {
            assert!(!got.contains(*b), "{module} imports {b}: {got:?}");
        }
    }
}
