//! The README and the pages of `docs/` against the program: every page is
//! linked from the README, every relative link and anchor leads somewhere,
//! and every command line in a block marked `<!-- runnable -->` runs and
//! succeeds, in order, page by page, in a scratch directory holding a copy
//! of `workloads/` and `results/baseline/`.

mod common;

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

/// The command lines of each block marked `<!-- runnable -->`: an indented
/// block or a fenced one, lines joined where they end in `\`.
fn runnable_commands(page: &str) -> Vec<String> {
    let lines: Vec<&str> = page.lines().collect();
    let mut commands = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].trim() != "<!-- runnable -->" {
            at += 1;
            continue;
        }
        at += 1;
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
        assert!(!block.is_empty(), "a runnable mark without a block");
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
                    commands.push(std::mem::take(&mut joined));
                }
            }
        }
    }
    commands
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
fn the_command_lines_marked_runnable_run() {
    let mut ran = 0;
    for page in pages() {
        let source = std::fs::read_to_string(&page).unwrap();
        let commands = runnable_commands(&source);
        if commands.is_empty() {
            continue;
        }
        let name = page.file_stem().unwrap().to_str().unwrap().to_owned();
        let directory = scratch(&format!("docs-{name}"));
        copy_tree(Path::new("workloads"), &directory.join("workloads"));
        copy_tree(
            Path::new("results/baseline"),
            &directory.join("results/baseline"),
        );
        for command in commands {
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
            ran += 1;
        }
    }
    // The README's run and each page's examples.
    assert!(ran >= 10, "only {ran} runnable command lines");
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
}
