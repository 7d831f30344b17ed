//! The HTML report as a person opens it: a real run's `--html` page and
//! `export --html` of its result, loaded in headless Chromium, which must
//! find no error, fetch nothing, and lay every chart out with a size.
//! Chromium is a Debian package: without it the browser's part says
//! `SKIPPED`, unless `GEECACHE_CHROMIUM=required` (`.ci/run` installs it
//! and sets that): then it fails.

use std::path::Path;
use std::process::Command;

use crate::common::{self, scratch};

/// The browser, where there is one.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var("GEECACHE_CHROMIUM").as_deref() != Ok("required"),
            "GEECACHE_CHROMIUM=required, but Chromium is not installed"
        );
        eprintln!("SKIPPED: the report's browser check needs Chromium, which is not installed");
    }
    found
}

/// Headless Chromium's flags for this closed network: no background
/// fetches, a fresh profile.
fn headless(browser: &str, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// What the probe saw of `page` in the browser: every script error, every
/// blocked load, and each chart's laid-out size, a line each.
fn probe(browser: &str, page: &Path, dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(page).unwrap();
    // The page allows no script: its probe's copy allows inline ones alone,
    // and listens before anything else on the page loads.
    let probed = html
        .replacen(
            "default-src 'none';",
            "default-src 'none'; script-src 'unsafe-inline';",
            1,
        )
        .replacen("<head>", &format!("<head><script>{PROBE}</script>"), 1);
    let copy = dir.join("probed.html");
    std::fs::write(&copy, probed).unwrap();
    let output = headless(browser, &dir.join("profile"))
        .args(["--virtual-time-budget=3000", "--dump-dom"])
        .arg(format!("file://{}", copy.display()))
        .output()
        .expect("chromium runs");
    let dom = common::text(&output.stdout);
    let start = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "no probe in the page:\n{dom}\n{}",
            common::text(&output.stderr)
        )
    });
    let rest = &dom[start + "<pre id=\"probe\">".len()..];
    rest[..rest.find("</pre>").unwrap()]
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Records errors, blocked loads and the charts' sizes into `#probe`.
const PROBE: &str = "const seen = [];\
window.addEventListener('error', e => seen.push('error ' + e.message), true);\
document.addEventListener('securitypolicyviolation', e => seen.push('blocked ' + e.blockedURI));\
window.addEventListener('load', () => {\
 for (const svg of document.querySelectorAll('figure svg')) {\
  const box = svg.getBoundingClientRect();\
  seen.push('chart ' + Math.round(box.width) + 'x' + Math.round(box.height));\
 }\
 const pre = document.createElement('pre'); pre.id = 'probe';\
 pre.textContent = seen.join('\\n'); document.body.appendChild(pre);\
});";

#[test]
fn a_runs_report_holds_every_part_and_opens_in_a_browser_with_charts_that_have_size() {
    let dir = scratch("html-report");
    let (result, page) = (dir.join("run.json"), dir.join("run.html"));
    let output = common::run(&[
        "--workload",
        "ci",
        "--requests",
        "6000",
        "--interval",
        "100ms",
        "--no-calibrate",
        "--out",
        result.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    let summary = common::text(&output.stdout);
    // The summary as printed (its figures, escaped), every part in turn.
    let first = summary.lines().nth(1).unwrap();
    assert!(html.contains(first), "{first}");
    for part in [
        "<h2>Summary</h2>",
        "<h2>Charts</h2>",
        "<h2>Nodes</h2>",
        "<h2>Series</h2>",
        "<h2>Configuration</h2>",
        "<h2>Machine</h2>",
        "http://localhost:8001",
        "&quot;cores&quot;",
    ] {
        assert!(html.contains(part), "{part} missing");
    }
    assert_eq!(
        html.matches("<figure><svg").count(),
        2,
        "the latency and series charts"
    );
    // Nothing from elsewhere.
    for outside in ["<script", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    // export --html of the result makes the same page, beside it by default.
    let exported = common::run(&["export", "--html", result.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        common::text(&exported.stderr)
    );
    let beside = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert_eq!(
        beside.replace(&*dir.to_string_lossy(), ""),
        html.replace(&*dir.to_string_lossy(), "")
    );
    // Bad input is named: a missing result, a file that is not one.
    let missing = common::run(&["export", "--html", dir.join("none.json").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(common::text(&missing.stderr).contains("none.json"));

    let Some(browser) = chromium() else {
        return;
    };
    let seen = probe(browser, &page, &dir);
    let charts: Vec<(u32, u32)> = seen
        .iter()
        .filter_map(|line| {
            let (width, height) = line.strip_prefix("chart ")?.split_once('x')?;
            Some((width.parse().ok()?, height.parse().ok()?))
        })
        .collect();
    assert_eq!(charts.len(), 2, "{seen:?}");
    assert!(
        charts
            .iter()
            .all(|&(width, height)| width >= 300 && height >= 150),
        "{seen:?}"
    );
    let wrong: Vec<&String> = seen
        .iter()
        .filter(|line| !line.starts_with("chart "))
        .collect();
    assert!(wrong.is_empty(), "errors or blocked loads: {wrong:?}");
    // And the probe sees what is wrong: a page that fetches is blocked.
    let fetching = dir.join("fetching.html");
    std::fs::write(
        &fetching,
        html.replacen(
            "</body>",
            "<img src=\"http://127.0.0.1:9/x.png\"></body>",
            1,
        ),
    )
    .unwrap();
    let seen = probe(browser, &fetching, &dir);
    assert!(
        seen.iter().any(|line| line.starts_with("blocked")),
        "{seen:?}"
    );
}

#[test]
fn compare_sweep_and_mrc_write_their_tables_and_charts_as_pages() {
    let dir = scratch("html-pages");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    // Two small runs, compared: the verdicts as printed, and the charts.
    for (name, replicas) in [("a.json", "10"), ("b.json", "100")] {
        let output = common::run(&[
            "--workload",
            "ci",
            "--requests",
            "3000",
            "--replicas",
            replicas,
            "--repeat",
            "3",
            "--no-calibrate",
            "--out",
            &path(name),
        ]);
        assert!(output.status.success(), "{}", common::text(&output.stderr));
    }
    let output = common::run(&[
        "compare",
        &path("a.json"),
        &path("b.json"),
        "--html",
        &path("c.html"),
    ]);
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let page = std::fs::read_to_string(dir.join("c.html")).unwrap();
    let printed = common::text(&output.stdout);
    // Every line of the table, escaped as the page holds it.
    for line in printed.lines().filter(|line| !line.trim().is_empty()) {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(page.contains(escaped.trim_end()), "{line:?} missing");
    }
    assert!(page.contains("<h2>Comparison</h2>") && page.contains("<h2>Configuration</h2>"));
    assert_eq!(page.matches("<figure><svg").count(), 1);
    // The miss-ratio curve: its table and its chart.
    let output = common::run(&["mrc", "--workload", "ci", "--html", &path("m.html")]);
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let page = std::fs::read_to_string(dir.join("m.html")).unwrap();
    let header = common::text(&output.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(page.contains(header.trim_end()), "{header}");
    assert_eq!(page.matches("<figure><svg").count(), 1);
    let lone = common::run(&["mrc", "--workload", "ci", "--runs", &path("a.json")]);
    assert_eq!(lone.status.code(), Some(2));
    assert!(common::text(&lone.stderr).contains("--runs"));
    // A sweep of two configurations.
    let output = common::run(&[
        "sweep",
        "--workload",
        "ci",
        "--requests",
        "2000",
        "--replicas",
        "10,100",
        "--no-calibrate",
        "--no-progress",
        "--results-dir",
        &path("sweep"),
        "--html",
        &path("s.html"),
    ]);
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let page = std::fs::read_to_string(dir.join("s.html")).unwrap();
    assert!(
        page.contains("<h2>Configurations</h2>") && page.contains("crc32"),
        "{page}"
    );
    assert!(page.matches("<figure><svg").count() == 1);

    let Some(browser) = chromium() else {
        return;
    };
    for name in ["c.html", "m.html", "s.html"] {
        let seen = probe(browser, &dir.join(name), &dir);
        assert!(
            !seen.is_empty()
                && seen.iter().all(|line| {
                    line.strip_prefix("chart ")
                        .and_then(|size| size.split_once('x'))
                        .is_some_and(|(width, height)| {
                            width.parse::<u32>().unwrap_or(0) >= 300
                                && height.parse::<u32>().unwrap_or(0) >= 150
                        })
                }),
            "{name}: {seen:?}"
        );
    }
}
