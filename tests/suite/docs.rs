//! The README and the pages of `docs/` against the program: every page is
//! linked from the README, every relative link and anchor leads somewhere,
//! every command line in a block marked `<!-- runnable -->` runs and
//! succeeds, in order, page by page, in a scratch directory holding a copy
//! of `workloads/` and `results/baseline/`, and every line of a block
//! marked `<!-- output -->` is a line the command before it printed (spaces
//! aside), so a page that shows the wrong figures fails.

use crate::common;

use std::path::{Path, PathBuf};

use common::{scratch, text};

/// README.md, then docs/*.md in name order.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![PathBuf::from("README.md")];
    pages.extend(docs);
    pages
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// to dashes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(page: &str) -> Vec<String> {
    page.lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| slug(line.trim_start_matches('#')))
        .collect()
}

/// The targets of a page's Markdown links `[text](target)`.
fn links(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            found.push(rest[..end].to_owned());
        }
    }
    found
}

#[test]
fn every_page_is_reachable_and_every_link_leads_somewhere() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let readme_links = links(&readme);
    for page in pages().iter().skip(1) {
        let name = page.to_str().unwrap();
        assert!(
            readme_links.iter().any(|link| link == name),
            "README.md does not link {name}"
        );
    }
    for page in pages() {
        let source = std::fs::read_to_string(&page).unwrap();
        let directory = page.parent().unwrap_or(Path::new(""));
        for link in links(&source) {
            if link.starts_with("http://") || link.starts_with("https://") {
                continue;
            }
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                directory.join(file)
            };
            assert!(
                target.exists(),
                "{}: the link {link} leads nowhere",
                page.display()
            );
            if !anchor.is_empty() {
                let target_text = std::fs::read_to_string(&target).unwrap();
                assert!(
                    anchors(&target_text).iter().any(|a| a == anchor),
                    "{}: {link}: no heading makes #{anchor}",
                    page.display()
                );
            }
        }
    }
}

/// What a page asks of the program, in order.
#[derive(Debug, PartialEq)]
enum Step {
    /// A command line of a block marked `<!-- runnable -->`.
    Run(String),
    /// The lines of a block marked `<!-- output -->`: each must be a line
    /// of the last command's output.
    Shows(Vec<String>),
}

/// The lines of the block that starts at `at`: an indented block or a
/// fenced one; returns them and the line after the block.
fn block_at(lines: &[&str], mut at: usize) -> (Vec<String>, usize) {
    let mut block = Vec::new();
    if lines.get(at).is_some_and(|line| line.starts_with("```")) {
        at += 1;
        while at < lines.len() && !lines[at].starts_with("```") {
            block.push(lines[at].to_owned());
            at += 1;
        }
    } else {
        while at < lines.len() && lines[at].starts_with("    ") {
            block.push(lines[at][4..].to_owned());
            at += 1;
        }
    }
    (block, at)
}

/// The steps of a page: the command lines of each block marked
/// `<!-- runnable -->` (lines joined where they end in `\`), and the
/// lines of each block marked `<!-- output -->`.
fn steps(page: &str) -> Vec<Step> {
    let lines: Vec<&str> = page.lines().collect();
    let mut steps = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let mark = lines[at].trim();
        if mark != "<!-- runnable -->" && mark != "<!-- output -->" {
            at += 1;
            continue;
        }
        let (block, after) = block_at(&lines, at + 1);
        at = after;
        assert!(!block.is_empty(), "a {mark} mark without a block");
        if mark == "<!-- output -->" {
            steps.push(Step::Shows(
                block
                    .into_iter()
                    .filter(|line| !line.trim().is_empty())
                    .collect(),
            ));
            continue;
        }
        let mut joined = String::new();
        for line in block {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(part) => {
                    joined.push_str(part.trim_end());
                    joined.push(' ');
                }
                None => {
                    joined.push_str(line);
                    steps.push(Step::Run(std::mem::take(&mut joined)));
                }
            }
        }
    }
    steps
}

/// The command lines of each block marked `<!-- runnable -->`.
fn runnable_commands(page: &str) -> Vec<String> {
    steps(page)
        .into_iter()
        .filter_map(|step| match step {
            Step::Run(command) => Some(command),
            Step::Shows(_) => None,
        })
        .collect()
}

/// A line with its runs of spaces made one: aligned columns may shift.
fn words(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The program's arguments of a command line: `cargo run --release [...]
/// -- ARGS` or `geecache-bench ARGS`, split as a shell splits plain words
/// and quoted ones; `None` for anything else.
fn arguments(command: &str) -> Option<Vec<String>> {
    let rest = if let Some(cargo) = command.strip_prefix("cargo run --release") {
        let at = cargo.find(" -- ")?;
        &cargo[at + 4..]
    } else {
        command.strip_prefix("geecache-bench")?
    };
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in rest.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (Some(open), c) if c == open => quote = None,
            (None, c) if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, '&' | '|' | '>' | '<' | ';' | '[' | ']' | '$') => return None,
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    Some(words)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn the_command_lines_marked_runnable_run_and_print_what_the_pages_show() {
    let (mut ran, mut shown) = (0, 0);
    for page in pages() {
        let source = std::fs::read_to_string(&page).unwrap();
        let steps = steps(&source);
        if steps.is_empty() {
            continue;
        }
        let name = page.file_stem().unwrap().to_str().unwrap().to_owned();
        let directory = scratch(&format!("docs-{name}"));
        copy_tree(Path::new("workloads"), &directory.join("workloads"));
        copy_tree(
            Path::new("results/baseline"),
            &directory.join("results/baseline"),
        );
        let mut last: Option<(String, String)> = None;
        for step in steps {
            let command = match step {
                Step::Run(command) => command,
                Step::Shows(lines) => {
                    let (command, stdout) = last.as_ref().unwrap_or_else(|| {
                        panic!("{}: an output block before any command", page.display())
                    });
                    let printed: Vec<String> = stdout.lines().map(words).collect();
                    for line in lines {
                        assert!(
                            printed.contains(&words(&line)),
                            "{}: the page shows a line `{command}` did not print:\n{line}\n\
                             it printed:\n{stdout}",
                            page.display()
                        );
                        shown += 1;
                    }
                    continue;
                }
            };
            let args = arguments(&command).unwrap_or_else(|| {
                panic!(
                    "{}: a runnable line is not one plain command of the program: {command}",
                    page.display()
                )
            });
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_geecache-bench"))
                .args(&args)
                .current_dir(&directory)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: `{command}` exited {:?}:\n{}",
                page.display(),
                output.status.code(),
                text(&output.stderr)
            );
            last = Some((command, text(&output.stdout)));
            ran += 1;
        }
    }
    // The README's run and each page's examples.
    assert!(ran >= 10, "only {ran} runnable command lines");
    // The pages' printed figures: counted ones of deterministic runs, the
    // model's, the ring's and compare's verdicts.
    assert!(shown >= 10, "only {shown} shown lines checked");
}

#[test]
fn runnable_lines_split_as_a_shell_splits_them() {
    assert_eq!(
        arguments("cargo run --release --quiet -- --workload 'my file.json' -o x.json"),
        Some(vec![
            "--workload".to_owned(),
            "my file.json".to_owned(),
            "-o".to_owned(),
            "x.json".to_owned()
        ])
    );
    assert_eq!(
        arguments("geecache-bench ring --nodes 3,8"),
        Some(vec!["ring".into(), "--nodes".into(), "3,8".into()])
    );
    assert_eq!(arguments("geecache-bench serve --port 8001 &"), None);
    assert_eq!(arguments("geecache-bench compare A.json [B.json]"), None);
    assert_eq!(arguments("git commit -m baseline"), None);
    let page = "text\n<!-- runnable -->\n    geecache-bench ring \\\n        --nodes 3\n\nmore\n";
    assert_eq!(
        runnable_commands(page),
        vec!["geecache-bench ring --nodes 3"]
    );
    let shown = "<!-- runnable -->\n    geecache-bench ring\n\n<!-- output -->\n    a  b\n    c\n\n    not shown\n";
    assert_eq!(
        steps(shown),
        [
            Step::Run("geecache-bench ring".to_owned()),
            Step::Shows(vec!["a  b".to_owned(), "c".to_owned()])
        ]
    );
    assert_eq!(words("  a   b  c "), "a b c");
}
