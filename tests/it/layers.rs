//! The layering rules of the crate docs, checked on the sources: no import
//! cycle between modules, and no library module that imports the command line
//! (`cli`, `app`). The same reading as `../shared/tools/layers.py`: `crate::`
//! paths outside comments and `#[cfg(test)]` code, re-exports of lib.rs mapped
//! to their modules, `super::` ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `auth/ntlm/mod.rs` → `auth::ntlm`; `lib.rs` → `lib`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.len() > 1 && parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments, up to the first `#[cfg(test)]`.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path named after `crate::`, and inside `use crate::{…};` groups.
fn targets(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split("};").next().unwrap_or_default();
            for item in inner.split(|c: char| !(is_ident(c) || c == ':')) {
                let item = item.trim_matches(':');
                if !item.is_empty() {
                    out.insert(item.to_string());
                }
            }
            continue;
        }
        let end = rest
            .find(|c: char| !(is_ident(c) || c == ':'))
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(':');
        if !path.is_empty() {
            out.insert(path.to_string());
        }
    }
    out
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_of(&src, f), std::fs::read_to_string(f).unwrap()))
        .collect();
    // `pub use module::{A, B};` in lib.rs: `crate::A` is an import of `module`.
    let mut reexports = BTreeMap::new();
    for line in modules["lib"].lines() {
        if let Some(rest) = line.trim().strip_prefix("pub use ")
            && let Some((module, names)) = rest.split_once("::")
        {
            for name in names
                .split(|c: char| !is_ident(c))
                .filter(|n| !n.is_empty())
            {
                reexports.insert(name.to_string(), module.to_string());
            }
        }
    }
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|i| parts[..i].join("::"))
            .find(|candidate| modules.contains_key(candidate))
            .or_else(|| reexports.get(parts[0]).cloned())
    };
    let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &modules {
        let edges = targets(&code(text))
            .iter()
            .filter_map(|t| resolve(t))
            .filter(|t| t != module && t != "lib" && t != "main")
            .collect();
        graph.insert(module, edges);
    }
    let face = |m: &str| matches!(m.split("::").next(), Some("cli" | "app"));
    let mut problems = Vec::new();
    for (module, edges) in &graph {
        if *module == "lib" || *module == "main" || face(module) {
            continue;
        }
        for edge in edges.iter().filter(|e| face(e)) {
            problems.push(format!("upward: {module} imports {edge}"));
        }
    }
    // A cycle: some module reaches itself again.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = graph[start].iter().cloned().collect();
        while let Some(next) = todo.pop() {
            if next == *start {
                problems.push(format!("cycle through {start}"));
                break;
            }
            if seen.insert(next.clone()) {
                todo.extend(graph.get(next.as_str()).into_iter().flatten().cloned());
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}\ngraph: {graph:#?}");
    assert!(graph.len() > 20, "the sources were read: {graph:?}");
}
