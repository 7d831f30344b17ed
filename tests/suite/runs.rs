//! How runs behave: open and closed loops, bounds, expected misses, the
//! stampede singleflight prevents, and what an interrupted run keeps. Each
//! runs the real binary on a real cluster on 127.0.0.1.

use crate::common;

use std::time::{Duration, Instant};

use common::{binary, read_checked, run_workload, scratch, text};
use geecache_bench::harness::driver::{KeySampler, StopReason};
use geecache_bench::harness::slowdb::is_missing;
use geecache_bench::harness::workload::Distribution;

#[test]
fn open_loop_latency_counts_from_the_intended_send_time() {
    let directory = scratch("runs");
    // One request in flight at a time, each a 5 ms slow-store load (the
    // 1-byte cache keeps nothing), offered at 1000 per second: requests
    // queue, and request i waits at least i * 4 ms for its turn.
    let workload = r#"{
        "keys": 1000, "requests": 200, "rate": 1000, "concurrency": 1,
        "slowdb": { "latency": { "kind": "fixed", "value": "5ms" } },
        "cluster": { "nodes": 1, "cache_bytes": "1B" }
    }"#;
    let result = run_workload(&directory, "open", workload, &[]);
    let client = &result.client;
    assert_eq!(client.ok, 200);
    // The median request waited for about 100 before it: >= 400 ms.
    assert!(client.latency_us.p50 >= 200_000, "{:?}", client.latency_us);
    assert!(
        client.latency_us.max >= 199 * 4_000,
        "{:?}",
        client.latency_us
    );
    // Every request loaded; nothing was cached.
    assert_eq!(result.cluster.unwrap().slowdb.loads, 200);

    // Open loop by duration: exactly rate x duration requests are meant,
    // and each is sent or counted unsent. On a quiet machine all go; on
    // one whose cores are taken, a request handed out more than 1 ms after
    // the end is counted, not sent late (the driver's rule, `BEHIND`).
    let workload = r#"{
        "keys": 1000, "duration": "1s", "rate": 500, "concurrency": 8,
        "slowdb": { "latency": { "kind": "none" } }, "cluster": { "nodes": 2 }
    }"#;
    let result = run_workload(&directory, "paced", workload, &[]);
    assert_eq!(
        result.client.requests + result.client.unsent,
        500,
        "{:?}",
        result.client
    );
    assert!(result.client.requests > 0);
    assert_eq!(result.client.stopped_by, StopReason::Duration);
    // The last request was meant for 998 ms in.
    assert!(
        result.client.duration_secs >= 0.998,
        "{}",
        result.client.duration_secs
    );
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn duration_and_time_limit_bound_a_closed_loop() {
    let directory = scratch("bounds");
    let workload = r#"{ "keys": 1000, "concurrency": 4, "cluster": { "nodes": 2 } }"#;
    let result = run_workload(&directory, "duration", workload, &["--duration", "1s"]);
    let client = &result.client;
    assert_eq!(client.stopped_by, StopReason::Duration);
    assert!(client.duration_secs >= 1.0);
    assert!(client.requests > 0);
    assert!(result.series.len() >= 2, "{:?}", result.series);
    let series_total: u64 = result
        .series
        .iter()
        .map(|interval| interval.client.requests)
        .sum();
    assert_eq!(series_total, client.requests);

    // The time limit wins over a longer duration.
    let limited = r#"{ "keys": 1000, "duration": "1h", "time_limit": "1s",
                       "concurrency": 4, "cluster": { "nodes": 1 } }"#;
    let result = run_workload(&directory, "limited", limited, &[]);
    assert_eq!(result.client.stopped_by, StopReason::TimeLimit);
    assert!(result.client.requests > 0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn missing_keys_are_expected_misses_not_errors() {
    let directory = scratch("missing");
    let workload = r#"{
        "keys": 500, "requests": 2000, "concurrency": 8, "seed": 3,
        "slowdb": { "latency": { "kind": "none" }, "missing_share": 0.25 },
        "cluster": { "nodes": 3 }
    }"#;
    let result = run_workload(&directory, "missing", workload, &[]);
    let client = &result.client;
    // Exactly the requests whose key the workload marks missing.
    let sampler = KeySampler::new(500, Distribution::Zipf { exponent: 1.0 }, 3).unwrap();
    let expected = (0..2000)
        .filter(|&request| is_missing(sampler.index(1, request), 0.25))
        .count() as u64;
    assert!(expected > 0);
    assert_eq!(client.missing, expected);
    assert_eq!(client.ok + client.missing, client.requests);
    assert_eq!(client.errors.total, 0);
    let slowdb = result.cluster.unwrap().slowdb;
    assert!(slowdb.missing_loads.unwrap() > 0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn singleflight_prevents_the_stampede_of_a_hot_key() {
    let directory = scratch("stampede");
    let figures = |switch: &str| {
        let result = run_workload(
            &directory,
            &format!("hot-{switch}"),
            include_str!("../../workloads/hot-key.json"),
            &["--requests", "3000", "--singleflight", switch],
        );
        assert_eq!(result.client.ok, 3000);
        result.cluster.unwrap().slowdb
    };
    let on = figures("on");
    let off = figures("off");
    // With singleflight, each key is loaded once; without it, the first
    // wave of requests for the hottest keys all go to the slow store.
    assert_eq!(on.duplicate_loads, Some(0), "{on:?}");
    assert!(off.duplicate_loads.unwrap() > 10, "{off:?}");
    assert!(off.max_loads_per_key.unwrap() > 1, "{off:?}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn the_source_header_flag_turns_latency_by_source_on_and_off() {
    let directory = scratch("source-header");
    // ci turns the header on; the flag turns it off, and the result says so.
    let off = run_workload(
        &directory,
        "off",
        include_str!("../../workloads/ci.json"),
        &["--requests", "500", "--source-header", "off"],
    );
    assert!(!off.workload.cluster.source_header);
    assert!(off.client.latency_by_source.is_none());
    // A workload without it, turned on: every answer has a source.
    let on = run_workload(
        &directory,
        "on",
        r#"{ "requests": 500, "keys": 200 }"#,
        &["--source-header", "on"],
    );
    assert!(on.workload.cluster.source_header);
    let by_source = on.client.latency_by_source.as_ref().unwrap();
    let answers: u64 = [&by_source.hit, &by_source.peer, &by_source.load]
        .iter()
        .filter_map(|source| source.as_ref().map(|source| source.answers))
        .sum();
    assert_eq!(answers, on.client.ok);
    let output = common::run(&["--workload", "ci", "--source-header", "sometimes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--source-header"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn an_interrupted_run_keeps_what_it_measured() {
    let directory = scratch("interrupt");
    let out = directory.join("interrupted.json");
    let mut child = binary()
        .args([
            "--workload",
            "ci",
            "--duration",
            "60s",
            "--concurrency",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--no-calibrate",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the run did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("interrupted"));
    let result = read_checked(&out);
    assert_eq!(result.client.stopped_by, StopReason::Interrupted);
    assert!(result.client.requests > 0);
    assert!(result.client.duration_secs < 60.0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_run_says_what_memory_it_held_and_leaves_no_file_open() {
    let directory = scratch("memory");
    // Small caches that evict all along, 250 ms intervals: a reading at
    // each interval's end.
    let workload = r#"{
        "keys": 20000, "duration": "1500ms", "concurrency": 16, "interval": "250ms",
        "slowdb": { "latency": { "kind": "none" } },
        "cluster": { "nodes": 3, "cache_bytes": "64KiB" }
    }"#;
    let (result, printed) = common::run_workload_printing(&directory, "memory", workload, &[]);
    let memory = result.memory.as_ref().expect("Linux has /proc/self");
    assert!(memory.samples.len() >= 5, "{memory:?}");
    for pair in memory.samples.windows(2) {
        assert!(pair[1].at_secs > pair[0].at_secs, "{memory:?}");
    }
    assert!(
        (memory.samples[0].at_secs - 0.25).abs() < 1e-9,
        "{memory:?}"
    );
    let highest = memory
        .samples
        .iter()
        .map(|sample| sample.rss_bytes)
        .max()
        .unwrap();
    assert!(memory.peak_rss_bytes >= highest.max(memory.rss_end_bytes));
    // Three nodes' caches, buffers and the driver: more than at the start.
    assert!(memory.rss_end_bytes > memory.rss_start_bytes, "{memory:?}");
    // Every connection of the cluster and the driver closed with them.
    assert!(memory.sockets_end <= memory.sockets_start, "{memory:?}");
    assert!(memory.fds_end <= memory.fds_start, "{memory:?}");
    let line = printed
        .lines()
        .find(|line| line.starts_with("memory  resident"))
        .expect("a memory line");
    assert!(
        line.contains(&format!(
            "open files {} -> {}",
            memory.fds_start, memory.fds_end
        )),
        "{line}"
    );
    assert!(!line.contains("MORE THAN BEFORE"), "{line}");
    std::fs::remove_dir_all(&directory).unwrap();
}
