//! The layout of `src/` the README promises: no stage reads from the report
//! (only `outputs/` and the binary do), and the top-level modules import
//! each other without a circle, so a change to one reaches only those
//! above it. Read from the source text: every `crate::NAME` path (and the
//! crate root's and the binary's own paths into its modules) outside
//! comments is an arrow from the file's top-level module to NAME.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a file under `src/` belongs to (`crate` for
/// lib.rs, `main` for the binary).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    match first.as_str() {
        "lib.rs" => "crate".into(),
        "main.rs" => "main".into(),
        f => f.trim_end_matches(".rs").into(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (line comments, doc comments
/// and block comments; string contents are kept, which only adds arrows).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        if in_str {
            if b[i] == b'\\' {
                out.push_str(&text[i..(i + 2).min(b.len())]);
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                in_str = false;
            }
            out.push(b[i] as char);
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |k| i + 4 + k);
            i = end;
        } else {
            if b[i] == b'"' && !(i > 0 && b[i - 1] == b'\'') {
                in_str = true;
            }
            // Multi-byte characters outside strings are copied whole.
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Every `PREFIX::name` in `code`, `name` a lower-case identifier.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let pat = format!("{prefix}::");
    let mut from = 0;
    while let Some(k) = code[from..].find(&pat) {
        let at = from + k;
        let before = code[..at].chars().next_back();
        from = at + pat.len();
        // `mycrate::x` and `std::io::x` are not paths into this crate.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[from..];
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 {
            out.push(&rest[..len]);
        }
    }
    out
}

/// The arrows between top-level modules: module -> modules it uses, each
/// with a file that uses it.
fn import_graph() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap().to_path_buf();
        let from = module_of(&rel);
        let text = code(&std::fs::read_to_string(f).unwrap());
        let mut used: Vec<&str> = paths_after(&text, "crate");
        if from == "main" {
            used.extend(paths_after(&text, "greenhalo"));
        }
        if from == "crate" {
            // The root names its modules directly (`access::Access`).
            for m in &modules {
                if !paths_after(&text, m).is_empty() || text.contains(&format!("{m}::{{")) {
                    used.push(m);
                }
            }
        }
        for to in used {
            let to = if modules.contains(to) { to } else { continue };
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to.to_string())
                    .or_insert_with(|| rel.clone());
            }
        }
    }
    graph
}

#[test]
fn no_module_but_outputs_and_the_binary_reads_from_the_report() {
    let graph = import_graph();
    let readers: Vec<(&String, &PathBuf)> = graph
        .iter()
        .filter_map(|(from, to)| to.get("report").map(|f| (from, f)))
        .filter(|(from, _)| !matches!(from.as_str(), "outputs" | "main"))
        .collect();
    assert!(
        readers.is_empty(),
        "modules that import the report: {readers:?}"
    );
    // The check reads what it should: outputs does use the report.
    assert!(graph["outputs"].contains_key("report"));
}

#[test]
fn top_level_modules_import_each_other_without_a_circle() {
    let graph = import_graph();
    // Depth-first search; a module met again while still on the path
    // closes a circle, printed with the file behind each arrow.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeMap<String, PathBuf>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(k) = path.iter().position(|p| p == m) {
            let circle: Vec<String> = path[k..]
                .iter()
                .zip(path[k + 1..].iter().chain(std::iter::once(&m.to_string())))
                .map(|(a, b)| format!("{a} -> {b} ({})", graph[a][b].display()))
                .collect();
            panic!("import circle: {}", circle.join(", "));
        }
        path.push(m.to_string());
        for to in graph.get(m).into_iter().flat_map(|t| t.keys()) {
            visit(to, graph, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let (mut path, mut done) = (Vec::new(), BTreeSet::new());
    for m in graph.keys() {
        visit(m, &graph, &mut path, &mut done);
    }
    // The graph is the real one: the stages sit on the solver and the
    // formatting, and the pipeline on the stages.
    assert!(graph["roads"].contains_key("solve"));
    assert!(graph["parcels"].contains_key("solve"));
    assert!(graph["report"].contains_key("fmt"));
    assert!(graph["crate"].contains_key("roads"));
}

#[test]
fn the_pipeline_reads_in_one_screen() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let start = lib
        .find("pub fn pipeline(")
        .expect("lib.rs has the pipeline");
    let len = lib[start..]
        .lines()
        .position(|l| l == "}")
        .expect("the pipeline ends")
        + 1;
    assert!(len <= 90, "pipeline is {len} lines");
}

#[test]
fn the_graph_reader_sees_paths_and_skips_comments() {
    let text = code("use crate::roads::X; // crate::report::y\n/* crate::finance */ let s = \"crate::fmt\";\nmycrate::solve::z(); std::io::stdout();");
    assert_eq!(paths_after(&text, "crate"), vec!["roads", "fmt"]);
    assert!(paths_after(&text, "io").is_empty());
}
