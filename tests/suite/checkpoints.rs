//! A driver killed mid-run leaves a valid result of what it measured: the
//! result so far is rewritten atomically as each interval becomes whole,
//! marked incomplete, and `compare` and `merge` name it as such.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::{read_checked, run, scratch, text};
use geecache_bench::harness::driver::StopReason;
use geecache_bench::harness::report::RunResult;

/// Long enough that nothing ends it but the kill: 200 ms intervals over
/// 60 s, a few connections.
const LONG: &str = r#"{
  "name": "long",
  "keys": 2000,
  "distribution": { "kind": "zipf", "exponent": 1.0 },
  "duration": "60s",
  "time_limit": "90s",
  "interval": "200ms",
  "warmup_requests": 200,
  "concurrency": 4,
  "value_size": 64,
  "slowdb": { "latency": { "kind": "fixed", "value": "0ms" }, "missing_share": 0.0 },
  "cluster": { "nodes": 3, "replicas": 50, "cache_bytes": "64KiB" },
  "seed": 5
}"#;

fn spawn(args: &[&str]) -> Child {
    common::binary()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 60 s) until `path` holds a result that `ready` accepts,
/// and returns it.
fn wait_for(path: &Path, ready: impl Fn(&RunResult) -> bool) -> RunResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // A rename replaces the file whole: what is read is a whole result.
        if let Ok(result) = geecache_bench::harness::report::read(path) {
            if ready(&result) {
                return result;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no such checkpoint in {path:?} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL: nothing of the driver's runs after it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_driver_killed_mid_run_leaves_a_whole_result_of_what_it_measured() {
    let directory = scratch("checkpoints");
    let workload = directory.join("long.json");
    std::fs::write(&workload, LONG).unwrap();
    let out = directory.join("killed.json");
    let child = spawn(&[
        "--workload",
        workload.to_str().unwrap(),
        "--no-calibrate",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    // A first checkpoint, then one that reaches further: it is rewritten.
    let first = wait_for(&out, |result| result.incomplete.is_some());
    let first_last = first.incomplete.as_ref().unwrap().last_interval.unwrap();
    wait_for(&out, |result| {
        result.incomplete.as_ref().unwrap().last_interval > Some(first_last + 2)
    });
    kill(child);

    let result = read_checked(&out);
    let incomplete = result.incomplete.as_ref().expect("marked incomplete");
    let last = incomplete.last_interval.unwrap();
    assert!(last > first_last + 2);
    assert_eq!((incomplete.trials_whole, incomplete.trials_asked), (0, 1));
    // It ends at the end of its last whole interval, and holds every one
    // before it.
    assert_eq!(result.client.stopped_by, StopReason::Unfinished);
    assert!((incomplete.measured_secs - (last + 1) as f64 * 0.2).abs() < 1e-9);
    assert_eq!(result.client.duration_secs, incomplete.measured_secs);
    assert_eq!(result.series.len() as u64, last + 1);
    // Its figures agree with one another as a whole result's do: the
    // series' requests are the run's, the histogram holds every answer.
    let in_series: u64 = result.series.iter().map(|row| row.client.requests).sum();
    assert!(result.client.requests > 0);
    assert_eq!(in_series, result.client.requests);
    assert_eq!(result.client.errors.total, 0);
    let histogram = result.histogram.decode().unwrap();
    assert_eq!(histogram.len(), result.client.responses);
    assert_eq!(result.client.responses, result.client.requests);
    // The nodes were read at the same interval's end (a moment after it,
    // while the driver went on): they served the driver's requests and the
    // few that ended while they were read, not the seconds up to the kill.
    let api_gets = result.cluster.as_ref().unwrap().api_gets.unwrap();
    let requests = result.client.requests;
    assert!(
        (requests..=requests + requests / 20).contains(&api_gets),
        "the API node served {api_gets} against the driver's {}",
        result.client.requests
    );
    assert!(result.series.iter().all(|row| row.cluster.is_some()));
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");

    // The tools that read it say what it is.
    let path = out.to_str().unwrap();
    let output = run(&["compare", path, path]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    assert!(
        printed.contains(&format!(
            "INCOMPLETE: A was written while the run went on: it holds {:.1} s of measurement \
             (intervals 0 to {last})",
            incomplete.measured_secs
        )),
        "{printed}"
    );
    let output = run(&["compare", path, path, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["incomplete"].as_array().unwrap().len(), 2);
}

#[test]
fn a_run_that_ends_leaves_no_mark_and_trials_are_kept_between_them() {
    let directory = scratch("checkpoints-trials");
    let workload = directory.join("long.json");
    // Three trials of 1.5 s: the first ends long before the run does.
    let short = LONG.replace(r#""duration": "60s""#, r#""duration": "1500ms""#);
    std::fs::write(&workload, short).unwrap();
    let out = directory.join("trials.json");
    let args = [
        "--workload",
        workload.to_str().unwrap(),
        "--no-calibrate",
        "--no-progress",
        "--repeat",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    let child = spawn(&args);
    let between = wait_for(&out, |result| {
        result
            .incomplete
            .as_ref()
            .is_some_and(|incomplete| incomplete.trials_whole >= 1)
    });
    let incomplete = between.incomplete.unwrap();
    assert_eq!(incomplete.trials_asked, 3);
    // Whole trials, and perhaps the next one's intervals so far.
    let expected =
        incomplete.trials_whole as usize + usize::from(incomplete.last_interval.is_some());
    assert_eq!(between.trials.len(), expected);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));

    // The run's end rewrites it whole, unmarked.
    let whole = read_checked(&out);
    assert!(whole.incomplete.is_none());
    assert_eq!(whole.trials.len(), 3);
    assert_ne!(whole.client.stopped_by, StopReason::Unfinished);

    // --no-checkpoints writes only at the end: killed after it would have
    // written several, it leaves nothing.
    std::fs::write(&workload, LONG).unwrap();
    let quiet = directory.join("quiet.json");
    let child = spawn(&[
        "--workload",
        workload.to_str().unwrap(),
        "--no-calibrate",
        "--no-progress",
        "--no-checkpoints",
        "--out",
        quiet.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_secs(6));
    kill(child);
    assert!(!quiet.exists());
}
