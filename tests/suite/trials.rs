//! Repeated trials (`--repeat`) on real clusters on 127.0.0.1: every trial
//! kept, histograms added exactly, medians with intervals, deterministic
//! trials checked to count alike, and comparisons that say whether a
//! difference is real.

use crate::common;

use common::{run, run_workload, scratch, text};

const SMALL: &str = r#"{
  "name": "trials", "keys": 500, "requests": 1500, "warmup_requests": 200,
  "concurrency": 4, "value_size": 50,
  "slowdb": { "latency": { "kind": "none" }, "missing_share": 0.0 },
  "seed": 3
}"#;

#[test]
fn repeated_trials_are_kept_added_and_summarised_with_intervals() {
    let directory = scratch("trials");
    let result = run_workload(
        &directory,
        "repeat",
        SMALL,
        &["--repeat", "3", "--deterministic"],
    );
    assert_eq!(result.trials.len(), 3);
    // Every answer of every trial is in the histogram.
    let histogram = result.histogram.decode().unwrap();
    let answered: u64 = result.trials.iter().map(|trial| trial.requests).sum();
    assert_eq!(histogram.len(), answered);
    assert_eq!(answered, 3 * 1500);
    // One request in flight and a request count: every trial counts alike.
    assert_eq!(result.trials_agree, Some(true));
    let loads: Vec<Option<u64>> = result
        .trials
        .iter()
        .map(|trial| trial.slowdb_loads)
        .collect();
    assert!(loads
        .iter()
        .all(|&count| count == loads[0] && count.is_some()));
    // Medians with intervals that hold them; the headline is the median.
    let timed = result.timed.as_ref().unwrap();
    assert_eq!(timed.trials, 3);
    let throughput = timed.figures["throughput_rps"];
    let (low, high) = (throughput.low.unwrap(), throughput.high.unwrap());
    assert!(low <= throughput.median && throughput.median <= high);
    assert_eq!(result.client.throughput_rps, throughput.median);
    let mut rates: Vec<f64> = result
        .trials
        .iter()
        .map(|trial| trial.throughput_rps)
        .collect();
    rates.sort_by(f64::total_cmp);
    assert_eq!(
        (low, throughput.median, high),
        (rates[0], rates[1], rates[2])
    );
    // The range of three trials covers the median three times in four.
    assert_eq!(throughput.confidence, Some(0.75));
    // Too short for whole seconds: its 100 ms slices hold every request
    // that ended, and say how steady it was.
    let slices = result
        .slices
        .as_ref()
        .expect("a short run keeps its slices");
    assert_eq!(slices.slice_secs, 0.1);
    if result.client.duration_secs < 3.0 {
        assert_eq!(slices.requests.iter().sum::<u64>(), result.client.requests);
        let whole = (result.client.duration_secs / 0.1).floor() as usize;
        assert!(slices.requests.len() >= whole, "{slices:?}");
    }
    let steadiness = result.steadiness();
    assert_eq!(
        steadiness.is_some(),
        slices.requests.len() > 3,
        "{slices:?} {steadiness:?}"
    );
    // No calibration: no limit fraction.
    assert!(!timed.figures.contains_key("limit_fraction"));

    // One trial: the same fields, no interval.
    let single = run_workload(&directory, "single", SMALL, &[]);
    assert_eq!(single.trials.len(), 1);
    let throughput = single.timed.as_ref().unwrap().figures["throughput_rps"];
    assert_eq!((throughput.low, throughput.high), (None, None));
    assert_eq!(single.trials_agree, None);

    // A result compared with itself: no clear difference in any timed
    // figure; against one trial: no verdict.
    let repeated = directory.join("repeat-result.json");
    let once = directory.join("single-result.json");
    let verdicts = |files: [&std::path::Path; 2]| {
        let output = run(&[
            "compare",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let comparison: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        comparison["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row.get("verdicts").is_some())
            .map(|row| {
                (
                    row["key"].as_str().unwrap().to_owned(),
                    row["verdicts"][1].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<(String, String)>>()
    };
    let itself = verdicts([&repeated, &repeated]);
    // Without calibration, an open loop or the source header: throughput,
    // three latency percentiles and the process's CPU per request.
    assert_eq!(itself.len(), 5, "{itself:?}");
    assert!(
        itself
            .iter()
            .all(|(_, verdict)| verdict == "no_clear_difference"),
        "{itself:?}"
    );
    let against_one = verdicts([&repeated, &once]);
    assert!(
        against_one
            .iter()
            .all(|(_, verdict)| verdict == "one_trial"),
        "{against_one:?}"
    );
    let output = run(&[
        "compare",
        repeated.to_str().unwrap(),
        once.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    let markdown = text(&output.stdout);
    assert!(
        markdown.contains("| figure | A | B | change |")
            && markdown.contains("| :--- | ---: | ---: | ---: |")
            && markdown.contains("one trial: no verdict |"),
        "{markdown}"
    );
    let output = run(&[
        "compare",
        repeated.to_str().unwrap(),
        repeated.to_str().unwrap(),
    ]);
    let table = text(&output.stdout);
    assert!(
        table.contains("+0.0% [") && table.contains("no clear difference (sees ±"),
        "{table}"
    );
    assert!(
        table.contains(
            "B against A: 3 v 3 trials, intervals at 90.0%: the most these trials give \
             (95% needs 4 a side)"
        ),
        "{table}"
    );
}

#[test]
fn repeat_refuses_what_it_cannot_do() {
    for bad in ["0", "101", "many"] {
        let output = run(&["--workload", "ci", "--repeat", bad]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(text(&output.stderr).contains("--repeat"), "{bad}");
    }
}
