//! The crate's layout holds what `src/lib.rs` promises: every module is
//! named there and in its parent's opening comment, each room imports only
//! the rooms before it (the system under test nothing of the harness), no
//! two modules import each other, directly or around a circle, only the
//! registry names a figure's key, no file is over 800 lines unless it
//! says why, no function is over 120 lines, and a module is public only
//! where a caller outside the library names it.

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
/// `analysis/plot/mod.rs` -> `analysis::plot`, `lib.rs` -> ``; the
/// binary's files under `bin`: `bin/geecache-bench/commands/run.rs` ->
/// `bin::commands::run`, its `main.rs` -> `bin`.
fn module_of(file: &Path) -> String {
    if let Ok(inner) = file.strip_prefix("bin/geecache-bench") {
        let module = module_of(inner);
        return if module.is_empty() {
            "bin".to_owned()
        } else {
            format!("bin::{module}")
        };
    }
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
            let Some(close) = tree.rfind('}').filter(|close| *close > open) else {
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

/// A `use` statement's text with its whitespace and its aliases gone:
/// `a::{b as c, d}` -> `a::{b,d}`.
fn without_aliases(statement: &str) -> String {
    let mut out = String::new();
    let mut words = statement.split_whitespace();
    while let Some(word) = words.next() {
        if word == "as" {
            // The alias, and whatever closes after it (`c,`, `c}`).
            let alias = words.next().unwrap_or("");
            out.extend(
                alias
                    .chars()
                    .skip_while(|ch| ch.is_alphanumeric() || *ch == '_'),
            );
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Every path the file names from the crate's root, as module paths
/// (`crate::` and `super::` resolved).
fn named_paths(module: &str, is_mod_file: bool, text: &str) -> Vec<String> {
    // A file's test module, at its end: there `super` is the file's module.
    let test_module = [
        "#[cfg(test)]\nmod tests",
        "#[cfg(test)]\npub(crate) mod tests",
    ]
    .iter()
    .find_map(|start| Some((text.find(start)?, start.len())));
    if let Some((at, length)) = test_module {
        let mut paths = named_paths(module, is_mod_file, &text[..at]);
        let inner = if module.is_empty() {
            "tests".to_owned()
        } else {
            format!("{module}::tests")
        };
        paths.extend(named_paths(&inner, false, &text[at + length..]));
        return paths;
    }
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
        // A statement begins its line (after its visibility), or a block:
        // `use` in a string ("use one clock") is none.
        let line = &code[code[..at].rfind('\n').map_or(0, |newline| newline + 1)..at];
        let at_word = matches!(line.trim(), "" | "pub" | "pub(crate)" | "pub(super)")
            || line.trim_end().ends_with('{');
        let statement = &code[at + 4..];
        if !at_word {
            continue;
        }
        let end = statement.find(';').unwrap_or(statement.len());
        let statement = without_aliases(&statement[..end]);
        if ["crate::", "super::", "geecache_bench::"]
            .iter()
            .any(|start| statement.starts_with(start))
        {
            expand("", &statement, &mut paths);
        } else if statement.starts_with(|c: char| c.is_ascii_lowercase())
            && !code[..at].trim_end().ends_with("pub")
        {
            // A path from the module itself: its child modules (or an
            // outside crate, which no module of ours owns). A folder's
            // `pub use` of a child is its facade, not a use of the child.
            let statement = statement.trim_start_matches("self::");
            let prefix = if module.is_empty() {
                "@".to_owned()
            } else {
                format!("@{module}::")
            };
            expand(&prefix, statement, &mut paths);
        }
    }
    // Paths written inline in the code.
    for start in ["crate::", "super::", "geecache_bench::"] {
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
    // `crate::` is the binary's root in its files, the library's elsewhere;
    // the binary names the library `geecache_bench::`.
    let root = if module == "bin" || module.starts_with("bin::") {
        "bin::"
    } else {
        ""
    };
    let join = |head: &str, tail: &str| format!("{head}{tail}");
    paths
        .into_iter()
        .filter_map(|path| {
            let path = path.trim_end_matches("::self");
            if let Some(tail) = path.strip_prefix("super::") {
                Some(
                    format!("{parent}::{tail}")
                        .trim_start_matches("::")
                        .to_owned(),
                )
            } else if let Some(tail) = path.strip_prefix("crate::") {
                Some(join(root, tail))
            } else if let Some(tail) = path.strip_prefix("geecache_bench::") {
                Some(tail.to_owned())
            } else {
                path.strip_prefix('@').map(str::to_owned)
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
                fn f() { crate::table::align(&[], |_| true); }\n";
    let mut paths = named_paths("analysis::sweep", false, text);
    paths.sort();
    assert_eq!(
        paths,
        [
            "analysis::GridArgs",
            "analysis::fail",
            "harness::report",
            "harness::report::RunResult",
            "harness::run",
            "table::align",
        ]
    );
    // In the binary, `crate::` is its own root and the library is
    // `geecache_bench::`.
    let text = "use geecache_bench::harness::{report, run};\n\
                use geecache_bench::analysis::capacity::{compare as by_rate, show};\n\
                use super::{fail, GridArgs};\n\
                fn f() { crate::cli::main(); geecache_bench::table::align(&[], |_| true); }\n\
                fn g() { say(\"mix them: use one clock } for {all\"); }\n";
    let mut paths = named_paths("bin::commands::sweep", false, text);
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths,
        [
            "analysis::capacity::compare",
            "analysis::capacity::show",
            "bin::cli::main",
            "bin::commands::GridArgs",
            "bin::commands::fail",
            "harness::report",
            "harness::run",
            "table::align",
        ]
    );
    // A folder's mod.rs naming its children: relative paths.
    // A test module's `super` is the file's own module.
    let text = "use super::X;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
    let mut paths = named_paths("harness::driver::steering", false, text);
    paths.dedup();
    assert_eq!(
        paths,
        ["harness::driver::X", "harness::driver::steering::*"]
    );
    // A folder's mod.rs using its children by relative paths; its `pub
    // use` is a facade, not a use.
    let text = "mod pacer;\npub use keys::KeySampler;\nuse pacer::{pace, Pacer};\n";
    let mut paths = named_paths("harness::driver", true, text);
    paths.sort();
    assert_eq!(
        paths,
        [
            "harness::driver::pacer::Pacer",
            "harness::driver::pacer::pace"
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
    assert!(graph["bin::commands::run"].contains("harness::run"));
    assert!(graph["bin::cli"].contains("bin::commands"));
    // The command line belongs to the binary: the library has none.
    assert!(!graph
        .keys()
        .any(|module| module == "commands" || module == "cli"));
    // The gate and the sweep read figures from the registry, not compare.
    for reader in ["analysis::check", "analysis::sweep"] {
        assert!(graph[reader].contains("harness::registry"), "{reader}");
        assert!(!graph[reader].contains("analysis::compare"), "{reader}");
    }
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

/// Each room imports only the rooms before it: the harness nothing of the
/// analysis (the readers of results) or of the binary's command line, the
/// shared rooms nothing at all.
#[test]
fn each_room_imports_only_the_rooms_before_it() {
    for (module, imports) in import_graph() {
        let layer = |name: &str| name.split("::").next().unwrap_or("").to_owned();
        let allowed: &[&str] = match layer(&module).as_str() {
            "harness" => &["geecache", "harness", "units", "table", "intervals"],
            "analysis" => &[
                "geecache",
                "harness",
                "analysis",
                "units",
                "table",
                "intervals",
            ],
            "units" | "table" | "intervals" => &[],
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

/// The string literals of Rust source text (comments skipped; plain,
/// byte and raw strings), roughly as the compiler reads them.
fn string_literals(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut literals = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '/' if chars.get(at + 1) == Some(&'/') => {
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
            }
            // A character literal: '"' is no string.
            '\'' if chars.get(at + 2) == Some(&'\'') => at += 3,
            '\'' if chars.get(at + 1) == Some(&'\\') && chars.get(at + 3) == Some(&'\'') => at += 4,
            'r' if matches!(chars.get(at + 1), Some('#' | '"'))
                && (at == 0 || !(chars[at - 1].is_alphanumeric() || chars[at - 1] == '_')) =>
            {
                let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
                let start = at + 1 + hashes;
                if chars.get(start) != Some(&'"') {
                    at += 1;
                    continue;
                }
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let rest: String = chars[start + 1..].iter().collect();
                let end = rest.find(&close).unwrap_or(rest.len());
                literals.push(rest[..end].to_owned());
                at = start + 1 + rest[..end].chars().count() + close.chars().count();
            }
            '"' => {
                let mut literal = String::new();
                at += 1;
                while at < chars.len() && chars[at] != '"' {
                    if chars[at] == '\\' {
                        at += 1;
                    }
                    if let Some(&c) = chars.get(at) {
                        literal.push(c);
                    }
                    at += 1;
                }
                literals.push(literal);
                at += 1;
            }
            _ => at += 1,
        }
    }
    literals
}

/// Whether `word` occurs in `text` with no letter, digit or `_` on either
/// side.
fn has_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(is_word)
            && !text[at + word.len()..].chars().next().is_some_and(is_word)
    })
}

#[test]
fn the_literal_reader_finds_plain_raw_and_escaped_strings() {
    let text = "let a = \"p99_us\"; // \"in a comment\"\n\
                let b = r#\"{\"limit_fraction\": 1}\"#; let c = '\"'; let d = \"x\\\"y\";";
    assert_eq!(
        string_literals(text),
        ["p99_us", "{\"limit_fraction\": 1}", "x\"y"]
    );
    assert!(has_word("a,limit_fraction,b", "limit_fraction"));
    assert!(!has_word("throughput_rps_low", "throughput_rps"));
}

#[test]
fn no_file_but_the_registry_names_a_figure_key() {
    use geecache_bench::harness::registry::{EVENT_FIGURES, FIGURES};
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    // An event's `errors` is a plain word too common to look for.
    let keys: Vec<&str> = FIGURES
        .iter()
        .chain(EVENT_FIGURES.iter())
        .map(|figure| figure.key)
        .filter(|key| key.contains('_'))
        .collect();
    assert!(keys.len() >= 20, "{keys:?}");
    let mut named = Vec::new();
    for file in &files {
        if file.starts_with("harness/registry") {
            continue;
        }
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for literal in string_literals(&text) {
            for key in &keys {
                if has_word(&literal, key) {
                    named.push(format!("{}: {key} in {literal:?}", file.display()));
                }
            }
        }
    }
    assert!(
        named.is_empty(),
        "figure keys named outside harness/registry/:\n{}",
        named.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines_unless_it_says_why() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    for file in files {
        let text = std::fs::read_to_string(src.join(&file)).unwrap();
        let lines = text.lines().count();
        assert!(
            lines <= 800 || opening_comment(&text).contains("over 800 lines"),
            "{}: {lines} lines; split it by idea, or say in its opening comment why \
             one idea needs over 800 lines",
            file.display()
        );
    }
}

/// The opening comment of a source text: its leading `//!` lines.
fn opening_comment(text: &str) -> String {
    text.lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| line.trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a source text declares (`mod x;`, `pub mod x;`,
/// `pub(crate) mod x;`), tests and inline modules left out.
fn declared_modules(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("pub(super) mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// Whether `comment` names the module `child` as a word of its own
/// (`` [`child`] ``, `` `child` ``, `child/`, `parent::child`), not only
/// inside a longer word.
fn names_module(comment: &str, child: &str) -> bool {
    comment.match_indices(child).any(|(at, _)| {
        let before = comment[..at].chars().next_back();
        let after = comment[at + child.len()..].chars().next();
        let is_word = |ch: Option<char>| ch.is_some_and(|ch| ch.is_alphanumeric() || ch == '_');
        !is_word(before) && !is_word(after)
    })
}

#[test]
fn the_module_reader_finds_declarations_and_whole_names() {
    let text = "//! [`fill`] and `stack`.\npub mod fill;\nmod stack;\npub(crate) mod pass;\n\
                #[cfg(test)]\nmod tests {\n}\n";
    assert_eq!(declared_modules(text), ["fill", "stack", "pass"]);
    let comment = opening_comment(text);
    assert!(names_module(&comment, "fill"));
    assert!(names_module(&comment, "stack"));
    assert!(!names_module(&comment, "pass"));
    assert!(!names_module("the fills and passes", "pass"));
    assert!(names_module("see harness::counted, and", "counted"));
}

/// The layout is written in the opening comments: each parent names each
/// of its modules, so that reading down from `src/lib.rs` finds every one.
#[test]
fn every_module_is_named_in_its_parents_opening_comment() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let mut checked = 0;
    let mut unnamed = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(src.join(&file)).unwrap();
        let comment = opening_comment(&text);
        for child in declared_modules(&text) {
            checked += 1;
            if !names_module(&comment, &child) {
                unnamed.push(format!("{}: {child}", file.display()));
            }
        }
    }
    assert!(checked > 100, "the reader found only {checked} modules");
    assert!(
        unnamed.is_empty(),
        "modules their parent's opening comment does not name:\n{}",
        unnamed.join("\n")
    );
}

/// `src/lib.rs` writes the whole layout: every module of the library is
/// named there, by its path (`harness::fill`) or, under its parent's path,
/// by its name (`` `histograms` ``).
#[test]
fn the_crates_opening_comment_names_every_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layout = opening_comment(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let unnamed: Vec<String> = files
        .iter()
        .map(|file| module_of(file))
        .filter(|module| !module.is_empty() && !module.starts_with("bin"))
        .filter(|module| {
            let name = module.rsplit("::").next().unwrap_or(module);
            !(names_module(&layout, module) || names_module(&layout, name))
        })
        .collect();
    assert!(
        unnamed.is_empty(),
        "modules src/lib.rs does not name:\n{}",
        unnamed.join("\n")
    );
}

/// Every `.rs` file of the library's callers outside it: the binary, the
/// tests and the benchmarks.
fn outside_callers() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/bin", "tests", "benches"] {
        let mut found = Vec::new();
        sources(&root.join(dir), &root.join(dir), &mut found);
        files.extend(found.into_iter().map(|file| root.join(dir).join(file)));
    }
    files
}

/// The public modules of the library below its rooms: each `pub mod` whose
/// parents are all public, by its path.
fn public_modules() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let mut public = BTreeSet::from([String::new()]);
    let mut found = Vec::new();
    // Parents before children: a path's parent is a prefix, so sorted
    // paths visit it first.
    let mut by_module: Vec<(String, String)> = files
        .iter()
        .filter(|file| !file.starts_with("bin"))
        .map(|file| {
            let text = std::fs::read_to_string(src.join(file)).unwrap();
            (module_of(file), text)
        })
        .collect();
    by_module.sort();
    for (module, text) in by_module {
        if !public.contains(&module) {
            continue;
        }
        for line in text.lines() {
            let Some(child) = line
                .trim_start()
                .strip_prefix("pub mod ")
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            let path = if module.is_empty() {
                child.to_owned()
            } else {
                format!("{module}::{child}")
            };
            public.insert(path.clone());
            found.push(path);
        }
    }
    found
}

/// A module is public because a caller outside the library needs it: the
/// binary, a test or a benchmark names it (or something in it). The rest
/// are private, or `pub(crate)` for the library's own use, and what
/// callers need of them is re-exported by name.
#[test]
fn a_module_is_public_only_when_a_caller_outside_names_it() {
    let mut named = BTreeSet::new();
    for file in outside_callers() {
        let text = std::fs::read_to_string(&file).unwrap();
        // As the binary's root: its own paths come out as `bin::…`, the
        // library's (`geecache_bench::…`) as the library's.
        named.extend(
            named_paths("bin", true, &text)
                .into_iter()
                .filter(|path| !path.starts_with("bin::")),
        );
    }
    let modules = public_modules();
    assert!(modules.len() > 20, "the reader found only {modules:?}");
    let unneeded: Vec<&String> = modules
        .iter()
        .filter(|module| {
            !named
                .iter()
                .any(|path| path == *module || path.starts_with(&format!("{module}::")))
        })
        .collect();
    assert!(
        unneeded.is_empty(),
        "public modules that nothing outside the library names (make them \
         private or pub(crate), and re-export what a public item's signature \
         shows):\n{unneeded:?}"
    );
}

/// The text with the insides of its comments, strings and character
/// literals blanked (their newlines kept), so that a brace in them counts
/// for nothing.
fn blanked(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        // How many characters from `at` are blanked.
        let span = match c {
            '/' if next == Some('/') => chars[at..].iter().take_while(|&&c| c != '\n').count(),
            '/' if next == Some('*') => {
                let rest: String = chars[at + 2..].iter().collect();
                rest.find("*/")
                    .map_or(chars.len() - at, |end| 2 + rest[..end].chars().count() + 2)
            }
            '\'' if chars.get(at + 2) == Some(&'\'') => 3,
            '\'' if next == Some('\\') && chars.get(at + 3) == Some(&'\'') => 4,
            'r' if matches!(next, Some('#' | '"'))
                && (at == 0 || !(chars[at - 1].is_alphanumeric() || chars[at - 1] == '_')) =>
            {
                let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
                let start = at + 1 + hashes;
                if chars.get(start) != Some(&'"') {
                    1
                } else {
                    let close: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let rest: String = chars[start + 1..].iter().collect();
                    let end = rest.find(&close).unwrap_or(rest.len());
                    1 + hashes + 1 + rest[..end].chars().count() + close.chars().count()
                }
            }
            '"' => {
                let mut end = at + 1;
                while end < chars.len() && chars[end] != '"' {
                    end += if chars[end] == '\\' { 2 } else { 1 };
                }
                end + 1 - at
            }
            _ => {
                out.push(c);
                at += 1;
                continue;
            }
        };
        let end = (at + span).min(chars.len());
        out.extend(chars[at..end].iter().map(|&c| blank(c)));
        at = end;
    }
    out
}

/// The lines (from 0) inside `#[cfg(test)]` modules.
fn test_lines(lines: &[&str]) -> BTreeSet<usize> {
    let mut inside = BTreeSet::new();
    for (at, line) in lines.iter().enumerate() {
        if line.trim() != "#[cfg(test)]" {
            continue;
        }
        let Some(start) = (at + 1..lines.len()).find(|&i| !lines[i].trim().starts_with("#["))
        else {
            continue;
        };
        let declaration = lines[start].trim();
        let declaration = declaration
            .strip_prefix("pub(crate) ")
            .or_else(|| declaration.strip_prefix("pub "))
            .unwrap_or(declaration);
        if !declaration.starts_with("mod ") {
            continue;
        }
        if let Some(end) = closing_line(lines, start) {
            inside.extend(start..=end);
        }
    }
    inside
}

/// The line on which the braces opened from line `start` on close; `None`
/// for a declaration that ends with `;` before any brace.
fn closing_line(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (at, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        return Some(at);
                    }
                }
                ';' if !opened => return None,
                _ => {}
            }
        }
    }
    None
}

/// The name of the function a line declares (`pub(crate) async fn name<T>(`
/// gives `name`), if it declares one.
fn declared_function(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    loop {
        let stripped = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "async ",
            "const ",
            "unsafe ",
        ]
        .iter()
        .find_map(|prefix| rest.strip_prefix(prefix));
        match stripped {
            Some(shorter) => rest = shorter,
            None => break,
        }
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name.find(['(', '<']).unwrap_or(name.len());
    Some(&name[..end]).filter(|name| !name.is_empty())
}

/// Every function of a source text with a body, outside its test modules:
/// its name, its first line (from 1) and its length in lines.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = blanked(text);
    let lines: Vec<&str> = code.lines().collect();
    let tests = test_lines(&lines);
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if tests.contains(&at) {
            continue;
        }
        let Some(name) = declared_function(line) else {
            continue;
        };
        if let Some(end) = closing_line(&lines, at) {
            found.push((name.to_owned(), at + 1, end - at + 1));
        }
    }
    found
}

#[test]
fn the_function_reader_counts_bodies_and_passes_over_strings_traits_and_tests() {
    let text = "//! A module.\n\
                pub(crate) async fn first<T>(a: T) {\n\
                \x20   let s = \"}}}\"; let c = '}'; // }\n\
                \x20   let r = r#\"{\"#;\n\
                }\n\
                trait Seam {\n\
                \x20   fn declared(&self);\n\
                \x20   fn given(&self) -> u8 { 1 }\n\
                }\n\
                #[cfg(test)]\n\
                mod tests {\n\
                \x20   fn helper() {\n\
                \x20   }\n\
                }\n";
    assert_eq!(
        functions(text),
        [("first".to_owned(), 2, 4), ("given".to_owned(), 8, 1)]
    );
}

/// The most lines a function may have: past this, it is split into named
/// steps that read as its outline.
const MOST_LINES: usize = 120;

#[test]
fn no_function_is_over_120_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let mut long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(src.join(&file)).unwrap();
        for (name, line, length) in functions(&text) {
            if length > MOST_LINES {
                long.push(format!("{}:{line}: {name}, {length} lines", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MOST_LINES} lines; split each into named steps:\n{}",
        long.join("\n")
    );
}
