//! The crate's layout holds what `src/lib.rs` promises: the system under
//! test imports nothing of the harness, and no two modules import each other,
//! directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as paths relative to `src/`.
fn sources(src: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(src, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path.strip_prefix(src).unwrap().to_path_buf());
        }
    }
}

/// The module path of a source file: `harness/run.rs` -> `harness::run`,
/// `commands/mod.rs` -> `commands`, `lib.rs` -> ``.
fn module_of(file: &Path) -> String {
    let mut parts: Vec<String> = file
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The text with comments removed, so that a doc link names no edge.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        None => out.push(format!("{prefix}{tree}")),
        Some(open) => {
            let head = format!("{prefix}{}", &tree[..open]);
            let Some(close) = tree.rfind('}') else {
                return;
            };
            let inner = &tree[open + 1..close];
            let (mut depth, mut start) = (0, 0);
            for (at, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&head, &inner[start..at], out);
                        start = at + 1;
                    }
                    _ => {}
                }
            }
            if !inner[start..].trim().is_empty() {
                expand(&head, &inner[start..], out);
            }
        }
    }
}

/// Every path the file names from the crate's root, as module paths
/// (`crate::` and `super::` resolved).
fn named_paths(module: &str, is_mod_file: bool, text: &str) -> Vec<String> {
    let code = code_only(text);
    let parent = {
        let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
        if !is_mod_file {
            parts.pop();
        }
        parts.join("::")
    };
    let mut paths = Vec::new();
    // `use` statements, braces and all.
    for (at, _) in code.match_indices("use ") {
        let at_word = code[..at]
            .chars()
            .next_back()
            .is_none_or(|before| before.is_whitespace() || before == '{');
        let statement = &code[at + 4..];
        if at_word && (statement.starts_with("crate::") || statement.starts_with("super::")) {
            let end = statement.find(';').unwrap_or(statement.len());
            let statement: String = statement[..end].split_whitespace().collect();
            expand("", &statement, &mut paths);
        }
    }
    // Paths written inline in the code.
    for start in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(start) {
            let tail = &rest[at..];
            let end = tail
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == ':'))
                .unwrap_or(tail.len());
            // A path ending in `::` opens braces of a `use`, read above.
            if !tail[..end].ends_with("::") {
                paths.push(tail[..end].to_owned());
            }
            rest = &tail[end..];
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let path = path.trim_end_matches("::self");
            match path.strip_prefix("super::") {
                Some(tail) => Some(
                    format!("{parent}::{tail}")
                        .trim_start_matches("::")
                        .to_owned(),
                ),
                None => path.strip_prefix("crate::").map(str::to_owned),
            }
        })
        .collect()
}

/// The module a path lands in: its longest prefix that is a module of ours.
fn owner<'a>(path: &str, modules: &'a BTreeSet<String>) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .find_map(|len| modules.get(&parts[..len].join("::")))
}

/// Which module imports which, over the whole crate.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(file)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let is_mod_file = matches!(
            file.file_stem().and_then(|stem| stem.to_str()),
            Some("mod" | "lib" | "main")
        );
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let targets: BTreeSet<String> = named_paths(&module, is_mod_file, &text)
            .iter()
            .filter_map(|path| owner(path, &modules))
            .filter(|target| **target != module && !target.is_empty())
            .cloned()
            .collect();
        graph.insert(module, targets);
    }
    graph
}

/// A circle of imports, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|on| on == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_import_reader_sees_braces_super_and_inline_paths() {
    let text = "use crate::harness::{report::{self, RunResult}, run};\n\
                use super::{fail, GridArgs};\n\
                // crate::analysis::plot in a comment is no import\n\
                fn f() { crate::units::align(&[], |_| true); }\n";
    let mut paths = named_paths("commands::sweep", false, text);
    paths.sort();
    assert_eq!(
        paths,
        [
            "commands::GridArgs",
            "commands::fail",
            "harness::report",
            "harness::report::RunResult",
            "harness::run",
            "units::align",
        ]
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn no_two_modules_import_each_other() {
    let graph = import_graph();
    assert!(
        graph.len() > 30,
        "the reader found too few modules: {graph:?}"
    );
    assert!(graph["commands::run"].contains("harness::run"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_system_under_test_knows_nothing_of_the_harness() {
    for (module, imports) in import_graph() {
        if module == "geecache" || module.starts_with("geecache::") {
            for import in imports {
                assert!(
                    import.starts_with("geecache"),
                    "{module} imports {import}, outside the system under test"
                );
            }
        }
    }
}

#[test]
fn the_harness_reads_no_results_and_runs_no_commands() {
    for (module, imports) in import_graph() {
        let layer = |name: &str| name.split("::").next().unwrap_or("").to_owned();
        let allowed: &[&str] = match layer(&module).as_str() {
            "harness" => &["geecache", "harness", "units", "stats"],
            "analysis" => &["geecache", "harness", "analysis", "units", "stats"],
            "units" | "stats" => &[],
            _ => continue,
        };
        for import in imports {
            assert!(
                allowed.contains(&layer(&import).as_str()),
                "{module} imports {import}: {} may use only {allowed:?}",
                layer(&module)
            );
        }
    }
}
