//! The GitHub Actions recipe in `.github/workflows/`: valid YAML, nothing
//! installed beyond the Rust toolchain but valgrind and strace (the counted
//! pass), the README's test command and the
//! same gate as `.ci/run`, and a gate step that really appends the verdict
//! table to the job summary (run here with bash, the binary in cargo's
//! place).

use crate::common;

use common::{scratch, text};
use yaml_rust2::{Yaml, YamlLoader};

const WORKFLOW: &str = ".github/workflows/bench.yml";

fn workflow() -> Yaml {
    let source = std::fs::read_to_string(WORKFLOW).unwrap();
    let mut documents = YamlLoader::load_from_str(&source).expect("the workflow is valid YAML");
    assert_eq!(documents.len(), 1);
    documents.remove(0)
}

/// The steps of the workflow's one job.
fn steps(workflow: &Yaml) -> Vec<Yaml> {
    let jobs = workflow["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1, "one job");
    let (_, job) = jobs.iter().next().unwrap();
    assert_eq!(job["runs-on"].as_str(), Some("ubuntu-latest"));
    assert!(job["timeout-minutes"].as_i64().is_some(), "a job timeout");
    job["steps"].as_vec().expect("steps").clone()
}

/// The README's command marked "the tests", from its first lines.
fn readme_test_command() -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let line = readme
        .lines()
        .take(10)
        .find(|line| line.contains("# the tests"))
        .expect("the README's first lines give the test command");
    line.split('#').next().unwrap().trim().to_owned()
}

#[test]
fn the_workflow_runs_the_tests_and_the_gate_and_installs_only_the_tools_the_tests_need() {
    let workflow = workflow();
    assert!(workflow["name"].as_str().is_some());
    let on = &workflow["on"];
    assert!(!on["push"].is_badvalue() && !on["pull_request"].is_badvalue());
    let steps = steps(&workflow);
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect();
    // Actions used: the checkout and keeping the result, no toolchain or
    // package setup.
    for step in &steps {
        if let Some(action) = step["uses"].as_str() {
            assert!(
                action.starts_with("actions/checkout@")
                    || action.starts_with("actions/upload-artifact@"),
                "{action}"
            );
        }
    }
    // valgrind and strace (the counted pass), tmux and Chromium (the live
    // view's and the report's tests) from the runner's packages, once, and
    // nothing else.
    let install =
        "sudo apt-get update -qq && sudo apt-get install -y -qq valgrind strace tmux chromium";
    assert_eq!(
        runs.iter().filter(|run| run.trim() == install).count(),
        1,
        "{runs:?}"
    );
    for run in runs.iter().filter(|run| run.trim() != install) {
        for installer in [
            "apt-get",
            "apt ",
            "cargo install",
            "curl",
            "pip",
            "brew",
            "rustup component add",
        ] {
            assert!(!run.contains(installer), "installs with {installer}: {run}");
        }
    }
    // The README's test command, as written (with --locked at most).
    let test = readme_test_command();
    assert!(
        runs.iter().any(|run| run
            .lines()
            .any(|line| line.trim() == test || line.trim() == format!("{test} --locked"))),
        "{test} in {runs:?}"
    );
    // The gate of .ci/run: same workload, trials and baseline.
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    let gate = runs
        .iter()
        .find(|run| run.contains("GITHUB_STEP_SUMMARY"))
        .expect("a step writes the job summary");
    for part in [
        "--workload ci --repeat 3 --count",
        "results/baseline/ci.json",
        " check ",
    ] {
        assert!(ci.contains(part), ".ci/run: {part}");
        assert!(gate.contains(part), "the workflow's gate: {part}");
    }
    assert!(gate.contains("--format markdown"));
}

#[test]
fn the_gate_step_appends_the_verdict_table_and_keeps_the_checks_status() {
    if !common::counting_tools() {
        return;
    }
    let steps = steps(&workflow());
    let script = steps
        .iter()
        .filter_map(|step| step["run"].as_str())
        .find(|run| run.contains("GITHUB_STEP_SUMMARY"))
        .unwrap()
        .replace(
            "cargo run --release --locked --quiet --",
            env!("CARGO_BIN_EXE_geecache-bench"),
        )
        // One trial and a short counted pass are enough to see the step
        // work (check then compares the medians alone).
        .replace("--repeat 3", "--repeat 1")
        .replace("--count ", "--count --count-requests 500 ");
    assert!(!script.contains("cargo"), "{script}");
    assert!(script.contains("--repeat 1"), "{script}");
    assert!(script.contains("--count-requests 500"), "{script}");
    let directory = scratch("workflow");
    std::fs::create_dir_all(directory.join("target")).unwrap();
    std::fs::create_dir_all(directory.join("results/baseline")).unwrap();
    std::fs::copy(
        "results/baseline/ci.json",
        directory.join("results/baseline/ci.json"),
    )
    .unwrap();
    let summary = directory.join("summary.md");
    let run = |script: &str| {
        std::process::Command::new("bash")
            .args(["-e", "-c", script])
            .current_dir(&directory)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    let output = run(&script);
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("## Regression gate"), "{written}");
    assert!(written.contains("| figure |"), "{written}");
    assert!(written.contains("| slowdb loads / request |"), "{written}");
    assert!(
        written.contains("no regression") || written.contains("REGRESSION"),
        "{written}"
    );
    // The step's status is check's: 0 without a regression, 1 with.
    let regressed = written.contains("REGRESSION");
    assert_eq!(
        output.status.code(),
        Some(i32::from(regressed)),
        "{}",
        text(&output.stderr)
    );

    // An injected regression fails the step, and the table still lands
    // (without a counted pass: its figures are then missing, which fails
    // too, but the cache figures regress whatever they say).
    std::fs::remove_file(&summary).unwrap();
    let slowed = script
        .replace("--count --count-requests 500 ", "")
        .replace("--no-progress", "--no-progress --inject-cache-off");
    let output = run(&slowed);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.contains("REGRESSION"), "{written}");
}
