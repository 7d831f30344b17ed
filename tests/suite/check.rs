//! `check` passes a run like its baseline and fails genuine regressions:
//! caching disabled, and a delay on every request; timed figures are
//! compared over three trials each, as in the CI gate.

use crate::common;

use std::path::{Path, PathBuf};

use common::{check, line, run, scratch, text};

/// The CI workload, shortened; the calibration is shorter
/// too (it is not part of the workload, so the results stay comparable).
const WORKLOAD: [&str; 8] = [
    "--workload",
    "ci",
    "--requests",
    "10000",
    "--warmup",
    "1000",
    "--calibrate",
    "500ms",
];

/// Three trials, as the gate runs.
const TRIALS: [&str; 2] = ["--repeat", "3"];

fn result_of(directory: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = directory.join(format!("{name}.json"));
    let mut args = WORKLOAD.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let output = run(&args);
    assert!(output.status.success(), "{name}: {}", text(&output.stderr));
    out
}

#[test]
fn check_passes_a_like_run_and_fails_genuine_regressions() {
    let directory = scratch("check");
    let baseline = result_of(&directory, "baseline", &TRIALS);

    // The same run again passes with the default thresholds: a timed
    // figure regresses only when all of its interval is beyond them.
    let again = result_of(&directory, "again", &TRIALS);
    let (code, report) = check(&baseline, &again, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert!(
        line(&report, "throughput / loopback limit").contains("] 90%, 3 v 3"),
        "{report}"
    );
    // The result's limit fraction is its trials' median, and it says
    // which trial's calibration the summary shows.
    let result = geecache_bench::harness::report::read(&baseline).unwrap();
    let calibration = result.calibration.as_ref().unwrap();
    let mut fractions: Vec<f64> = result
        .trials
        .iter()
        .map(|trial| trial.calibration.as_ref().unwrap().limit_fraction.unwrap())
        .collect();
    fractions.sort_by(f64::total_cmp);
    assert_eq!(calibration.limit_fraction, Some(fractions[1]));
    let shown = calibration.trial.unwrap();
    assert_eq!(
        result.trials[shown - 1]
            .calibration
            .as_ref()
            .unwrap()
            .one_hop,
        calibration.one_hop
    );
    // The same check as a Markdown table, for a CI job summary.
    let (code, markdown) = check(&baseline, &again, &["--format", "markdown"]);
    assert_eq!(code, Some(0), "{markdown}");
    assert!(
        markdown.contains("\n\n| figure | kind | baseline | new |")
            && markdown.contains("| :--- | :--- | ---: | ---: |")
            && markdown.contains("| api hit ratio | counted |")
            && markdown.contains("no regression"),
        "{markdown}"
    );
    assert!(report.contains("no regression"), "{report}");
    assert!(
        line(&report, "slowdb loads / request").ends_with("ok"),
        "{report}"
    );

    // Caching disabled: every request loads from the slow store.
    let uncached = result_of(&directory, "uncached", &["--inject-cache-off"]);
    let (code, report) = check(
        &baseline,
        &uncached,
        &["--throughput-drop", "0.9", "--p99-rise", "50"],
    );
    assert_eq!(code, Some(1), "{report}");
    assert!(
        line(&report, "slowdb loads / request").ends_with("REGRESSION"),
        "{report}"
    );
    assert!(
        line(&report, "cluster hit ratio").ends_with("REGRESSION"),
        "{report}"
    );

    // A sleep on every request: counted figures are untouched, the
    // throughput against the loopback limit collapses, and the p99 rises
    // past its gate. The sleep is 5 ms, or three times the baseline's p99
    // where a busy machine made that larger (up to 25 ms): the rise must
    // stand well above the spread of these trials (the gate allows the p99
    // ratio to double, and flags only a rise its interval is sure of).
    let baseline_p99_ms = result.client.latency_us.p99 as f64 / 1000.0;
    let delay = format!("{:.1}ms", (3.0 * baseline_p99_ms).clamp(5.0, 25.0));
    let slow = result_of(
        &directory,
        "slow",
        &["--inject-delay", &delay, "--repeat", "3"],
    );
    let (code, report) = check(&baseline, &slow, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        line(&report, "throughput / loopback limit").ends_with("REGRESSION"),
        "{report}"
    );
    assert!(
        line(&report, "slowdb loads / request").ends_with("ok"),
        "{report}"
    );

    // Another workload cannot be checked against this baseline.
    let other = result_of(&directory, "other", &["--replicas", "7"]);
    let (code, report) = check(&baseline, &other, &[]);
    assert_eq!(code, Some(2), "{report}");
    assert!(report.contains("workload.cluster.replicas"), "{report}");

    // A result without a calibration lacks the gated timed figures: the
    // gate fails rather than skip them, unless --allow-missing names them.
    let uncalibrated = result_of(&directory, "uncalibrated", &["--no-calibrate"]);
    let (code, report) = check(&baseline, &uncalibrated, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        line(&report, "throughput / loopback limit").ends_with("MISSING (in the baseline only)"),
        "{report}"
    );
    assert!(
        report.contains("3 gated figures of the baseline missing"),
        "{report}"
    );
    let (code, report) = check(
        &baseline,
        &uncalibrated,
        &[
            "--allow-missing",
            "limit_fraction,p99_over_two_hop,hit_p99_over_one_hop",
        ],
    );
    assert_eq!(code, Some(0), "{report}");
    let (code, report) = check(&baseline, &uncalibrated, &["--allow-missing", "speed"]);
    assert_eq!(code, Some(2), "{report}");
    assert!(report.contains("no figure is called \"speed\""), "{report}");

    // Thresholds from a file, and a bad one.
    let thresholds = directory.join("thresholds.json");
    std::fs::write(&thresholds, r#"{"limit_fraction": {"relative": 1.0}}"#).unwrap();
    let (code, report) = check(
        &baseline,
        &slow,
        &["--thresholds", thresholds.to_str().unwrap()],
    );
    assert!(
        line(&report, "throughput / loopback limit").ends_with("ok"),
        "{report}"
    );
    assert_eq!(code, Some(1), "the p99 still regressed: {report}");
    std::fs::write(&thresholds, r#"{"speed": {}}"#).unwrap();
    let (code, report) = check(
        &baseline,
        &slow,
        &["--thresholds", thresholds.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{report}");
    assert!(report.contains("unknown figure"), "{report}");
    std::fs::remove_dir_all(&directory).unwrap();
}
