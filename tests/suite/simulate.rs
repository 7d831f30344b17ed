//! The in-memory model predicts a deterministic run's counters exactly:
//! real clusters on 127.0.0.1, one request in flight, checked with
//! `simulate --verify` for caches below the hot set and above the key
//! space, 1, 3 and 5 nodes, both hashes, the hot cache, singleflight off
//! and missing keys. The miss-ratio curve (`mrc`) too: deterministic runs
//! at three cache sizes land exactly on it, for a workload and a trace.

use crate::common;

use std::path::{Path, PathBuf};

use common::{read_checked, run, scratch, text};
use geecache_bench::harness::report::SeriesReading;

const WORKLOAD: &str = r#"{
  "name": "model",
  "keys": 2000,
  "distribution": { "kind": "zipf", "exponent": 1.0 },
  "requests": 3000,
  "warmup_requests": 500,
  "value_size": 100,
  "slowdb": { "latency": { "kind": "none" }, "missing_share": 0.05 },
  "cluster": { "source_header": true },
  "seed": 11
}"#;

fn deterministic_run(directory: &Path, name: &str, flags: &[&str]) -> PathBuf {
    common::deterministic_run(directory, name, WORKLOAD, flags)
}

fn verify(result: &Path) -> (Option<i32>, String) {
    let output = run(&["simulate", "--verify", result.to_str().unwrap()]);
    (
        output.status.code(),
        text(&output.stdout) + &text(&output.stderr),
    )
}

#[test]
fn the_model_predicts_every_counter_of_deterministic_runs() {
    let directory = scratch("simulate");
    let configurations: [(&str, &[&str]); 5] = [
        // Smaller than the hot set: evictions and loads again.
        (
            "3n-crc32-small",
            &["--nodes", "3", "--hash", "crc32", "--cache-bytes", "4KiB"],
        ),
        // Larger than the key space.
        (
            "3n-xxh3-large",
            &["--nodes", "3", "--hash", "xxh3", "--cache-bytes", "1MiB"],
        ),
        ("1n-crc32-small", &["--nodes", "1", "--cache-bytes", "4KiB"]),
        (
            "5n-xxh3-small-hot",
            &[
                "--nodes",
                "5",
                "--hash",
                "xxh3",
                "--replicas",
                "10",
                "--cache-bytes",
                "8KiB",
                "--hot-cache",
                "on",
            ],
        ),
        (
            "5n-crc32-large-nosf",
            &[
                "--nodes",
                "5",
                "--hash",
                "crc32",
                "--replicas",
                "200",
                "--cache-bytes",
                "1MiB",
                "--singleflight",
                "off",
            ],
        ),
    ];
    for (name, flags) in configurations {
        let path = deterministic_run(&directory, name, flags);
        let (code, report) = verify(&path);
        assert_eq!(code, Some(0), "{name}:\n{report}");
        assert!(
            report.contains("every counter as predicted"),
            "{name}:\n{report}"
        );

        // The run did what the configuration is for, so agreement means
        // something.
        let result = read_checked(&path);
        let cluster = result.cluster.as_ref().unwrap();
        let evictions: u64 = result.nodes.iter().filter_map(|node| node.evictions).sum();
        assert!(cluster.slowdb.missing_loads.unwrap() > 0, "{name}");
        if name.contains("small") {
            assert!(evictions > 0, "{name}");
            assert!(cluster.slowdb.duplicate_loads.unwrap() > 0, "{name}");
        } else {
            assert_eq!(evictions, 0, "{name}");
        }
        if result.nodes.len() > 1 {
            assert!(cluster.peer_fetch_ratio.unwrap() > 0.3, "{name}");
        } else {
            assert_eq!(cluster.peer_fetch_ratio, Some(0.0), "{name}");
        }
        if name.contains("hot") {
            let hot = result.nodes[0].stats.as_ref().unwrap().groups["scores"]
                .hot_cache
                .unwrap();
            assert!(hot.hits > 0, "{name}: {hot:?}");
        }
    }
}

#[test]
fn deterministic_runs_repeat_exactly_and_verify_names_a_counter_that_differs() {
    let directory = scratch("simulate-repeat");
    let flags = ["--nodes", "3", "--cache-bytes", "4KiB"];
    let first = read_checked(&deterministic_run(&directory, "first", &flags));
    let second_path = deterministic_run(&directory, "second", &flags);
    let second = read_checked(&second_path);
    let counters = |result: &geecache_bench::harness::report::RunResult| {
        let mut cluster = result.cluster.clone().unwrap();
        cluster.slowdb.mean_latency_us = None;
        let nodes: Vec<_> = result
            .nodes
            .iter()
            .map(|node| {
                (
                    node.slowdb_loads,
                    node.evictions,
                    node.stats.as_ref().unwrap().groups["scores"].clone(),
                )
            })
            .collect();
        (cluster, nodes)
    };
    assert_eq!(counters(&first), counters(&second));

    // Each answer's source, as the API node named it, matches its counters
    // exactly: its cache hits, its fetches from peers, its own loads.
    let cluster = first.cluster.as_ref().unwrap();
    let api = first.nodes[0].stats.as_ref().unwrap().groups["scores"].stats;
    let by_source = first.client.latency_by_source.as_ref().unwrap();
    let answers = |source: Option<&geecache_bench::harness::latency::SourceLatency>| {
        source.map_or(0, |source| source.answers)
    };
    let requests = first.client.requests;
    assert_eq!(answers(by_source.hit.as_ref()), api.cache_hits);
    // A missing key's owner answers with its failed load: a peer error.
    assert_eq!(
        answers(by_source.peer.as_ref()),
        api.peer_loads + api.peer_errors
    );
    assert_eq!(
        answers(by_source.load.as_ref()),
        api.local_loads + api.local_load_errs
    );
    assert_eq!(
        answers(by_source.hit.as_ref()) as f64 / requests as f64,
        cluster.api_hit_ratio.unwrap()
    );
    assert_eq!(
        answers(by_source.hit.as_ref())
            + answers(by_source.peer.as_ref())
            + answers(by_source.load.as_ref()),
        // The workload's missing keys are answered too, their failed loads
        // named as loads.
        first.client.ok + first.client.missing
    );
    // No latency is compared: this slow store has none, so a load costs a
    // hit's time and a few microseconds of CPU, an order a busy machine
    // can flip; the counts above say each answer is under its source.

    // One eviction more on node 1 than the model predicts.
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&second_path).unwrap()).unwrap();
    let evictions = &mut raw["nodes"][1]["stats"]["groups"]["scores"]["main_cache"]["evictions"];
    *evictions = serde_json::json!(evictions.as_u64().unwrap() + 1);
    let tampered = directory.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_string(&raw).unwrap()).unwrap();
    let (code, report) = verify(&tampered);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("1 figures differ"), "{report}");
    assert!(report.contains("nodes[1].main_cache.evictions"), "{report}");
}

#[test]
fn simulate_sweeps_a_grid_and_refuses_what_it_cannot_model() {
    let output = run(&[
        "simulate",
        "--workload",
        "ci",
        "--nodes",
        "1,3",
        "--replicas",
        "10,50",
        "--cache-bytes",
        "4KiB,1MiB",
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");

    let directory = scratch("simulate-plot");
    let svg_path = directory.join("model.svg");
    let output = run(&[
        "simulate",
        "--workload",
        "ci",
        "--replicas",
        "10,50,200",
        "--cache-bytes",
        "4KiB,64KiB,1MiB",
        "--plot",
        svg_path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    // Against cache size a line per replica count; against replicas a line
    // per cache size; two figures each.
    assert_eq!(svg.matches("<polyline").count(), 3 * 4, "{svg}");

    let output = run(&["simulate", "--workload", "ci", "--requests", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["simulate", "--workload", "ci", "--nodes", "65"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("cluster.nodes"),
        "{}",
        text(&output.stderr)
    );
    let output = run(&["--deterministic", "--duration", "1s"]);
    assert_eq!(output.status.code(), Some(2));
    // A scenario is not predicted as if its events did not happen.
    let output = run(&[
        "simulate",
        "--workload",
        "node-failure",
        "--requests",
        "1000",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("stop_node"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_model_follows_request_indexed_events_counter_by_counter() {
    let directory = scratch("simulate-events");
    let out = common::deterministic_run(
        &directory,
        "events",
        r#"{
          "name": "model-events", "keys": 2000,
          "distribution": { "kind": "zipf", "exponent": 1.0 },
          "requests": 4000, "warmup_requests": 500, "value_size": 100,
          "slowdb": { "latency": { "kind": "fixed", "value": "300us" }, "missing_share": 0.05 },
          "cluster": { "cache_bytes": "64KiB" }, "seed": 11, "interval": "100ms",
          "events": [
            { "at_request": 800, "action": "stop_node", "node": 2 },
            { "at_request": 1600, "action": "slowdb", "error_share": 0.3 },
            { "at_request": 2000, "action": "start_node", "node": 2 },
            { "at_request": 2400, "action": "slowdb", "error_share": 0 },
            { "at_request": 2800, "action": "shift_keys", "offset": 700 },
            { "at_request": 3200, "action": "stop_node", "node": 1 },
            { "at_request": 3600, "action": "start_node", "node": 1, "keep_cache": true },
            { "at_request": 3700, "action": "add_node" },
            { "at_request": 3850, "action": "remove_node", "node": 2 }
          ]
        }"#,
        &[],
    );
    let result = read_checked(&out);
    // The events did something the model has to follow: peer errors while
    // nodes were down, failed loads in the brownout.
    let api = &result.nodes[0].stats.as_ref().unwrap().groups["scores"].stats;
    assert!(api.peer_errors > 0 && api.local_load_errs > 0, "{api:?}");
    let (code, report) = verify(&out);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("every counter as predicted"), "{report}");

    // Interval by interval too: the series was read between requests, and
    // every interval's cluster figures are the model's for its requests.
    assert_eq!(result.series_reading, SeriesReading::BetweenRequests);
    let intervals = result.series.len();
    assert!(intervals >= 4, "{intervals} intervals: too few to test");
    assert!(
        report.contains(&format!("each of the series' {intervals} intervals")),
        "{report}"
    );
    let sent: u64 = result
        .series
        .iter()
        .map(|entry| entry.client.requests)
        .sum();
    assert_eq!(sent, result.client.requests);
    // One load moved from one interval to the next is found, by name.
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let busy = result
        .series
        .iter()
        .position(|entry| entry.cluster.as_ref().is_some_and(|c| c.slowdb_loads > 0))
        .expect("an interval with loads");
    assert!(busy + 1 < intervals, "loads only in the last interval");
    for (at, change) in [(busy, -1), (busy + 1, 1)] {
        let loads = &mut raw["series"][at]["slowdb_loads"];
        *loads = (loads.as_i64().unwrap() + change).into();
    }
    let moved = directory.join("moved.json");
    std::fs::write(&moved, serde_json::to_string(&raw).unwrap()).unwrap();
    let (code, report) = verify(&moved);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains(&format!("series[{busy}].cluster.slowdb_loads"))
            && report.contains(&format!("series[{}].cluster.slowdb_loads", busy + 1)),
        "{report}"
    );

    // simulate predicts the same loads from the workload alone.
    let output = run(&[
        "simulate",
        "--workload",
        directory.join("events-workload.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let predictions: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        predictions[0]["cluster"]["slowdb"]["loads"].as_u64(),
        Some(result.cluster.as_ref().unwrap().slowdb.loads)
    );

    // The joined node is predicted as the fourth.
    assert_eq!(result.nodes.len(), 4);
    assert_eq!(predictions[0]["nodes"].as_array().unwrap().len(), 4);

    // Each event's cost comes with the prediction; the join and the leave
    // move the keys the run's rings moved.
    let costs = predictions[0]["events"].as_array().unwrap();
    assert_eq!(costs.len(), result.events.len());
    for at in [7, 8] {
        let run_share = result.events[at].moved_share.expect("a ring change");
        assert_eq!(costs[at]["moved_share"].as_f64(), Some(run_share), "{at}");
        assert!(run_share > 0.0);
    }
    assert_eq!(costs[0]["moved_share"], serde_json::Value::Null);
    // The brownout (events 1 to 3) fails requests; the model counts them.
    assert!(costs[1]["errors"].as_u64().unwrap() > 0, "{costs:?}");

    // What the model cannot follow is refused, naming the event.
    let slow = directory.join("slow.json");
    std::fs::write(
        &slow,
        r#"{ "requests": 100,
             "events": [{ "at_request": 10, "action": "slow_node", "node": 1, "delay": "1s" }] }"#,
    )
    .unwrap();
    let output = run(&["simulate", "--workload", slow.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("slow_node"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn simulate_reports_each_events_cost_per_configuration_without_a_server() {
    let directory = scratch("simulate-event-costs");
    let workload = directory.join("join.json");
    std::fs::write(
        &workload,
        r#"{ "name": "join", "keys": 20000, "requests": 200000, "warmup_requests": 50000,
             "distribution": { "kind": "zipf", "exponent": 1.0 }, "seed": 5,
             "cluster": { "cache_bytes": "16MiB" },
             "events": [{ "at_request": 100000, "action": "add_node" }] }"#,
    )
    .unwrap();
    let path = workload.to_str().unwrap();
    let grid = ["--nodes", "3", "--hash", "xxh3", "--replicas", "1,1000"];
    let mut args = vec!["simulate", "--workload", path, "--format", "json"];
    args.extend_from_slice(&grid);
    let output = run(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let predictions: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let predictions = predictions.as_array().unwrap();
    assert_eq!(predictions.len(), 2);
    for prediction in predictions {
        // 1% of the requests by default.
        assert_eq!(prediction["interval_requests"].as_u64(), Some(2000));
        let join = &prediction["events"][0];
        // The keys moved are ring's for the same ring and key space.
        let replicas = prediction["replicas"].as_u64().unwrap().to_string();
        let ring = run(&[
            "ring",
            "--nodes",
            "3",
            "--hash",
            "xxh3",
            "--replicas",
            &replicas,
            "--join",
            "1",
            "--keys",
            "20000",
            "--format",
            "json",
        ]);
        assert!(ring.status.success(), "{}", text(&ring.stderr));
        let ring: serde_json::Value = serde_json::from_slice(&ring.stdout).unwrap();
        assert_eq!(join["moved_share"], ring[0]["moved_share"], "{replicas}");
        assert_eq!(join["ideal_moved_share"].as_f64(), Some(0.25));
        // A cache that held the hot set loads the moved keys again.
        assert!(join["extra_slowdb_loads"].as_i64().unwrap() > 0, "{join}");
        assert!(join["baseline_loads_per_request"].as_f64().unwrap() > 0.0);
        assert_eq!(join["errors"].as_u64(), Some(0));
    }
    // 1000 replicas move about the ideal share; one replica per node does not.
    let distance = |prediction: &serde_json::Value| {
        (prediction["events"][0]["moved_share"].as_f64().unwrap() - 0.25).abs()
    };
    assert!(
        distance(&predictions[1]) < 0.02,
        "{}",
        predictions[1]["events"]
    );
    assert!(distance(&predictions[0]) > distance(&predictions[1]));

    // The table has a row per configuration and event; CSV four columns more.
    let mut args = vec![
        "simulate",
        "--workload",
        path,
        "--interval-requests",
        "5000",
    ];
    args.extend_from_slice(&grid);
    let table = text(&run(&args).stdout);
    assert!(
        table.contains("at request 100000: add_node")
            && table.contains("intervals of 5000 requests"),
        "{table}"
    );
    let mut args = vec!["simulate", "--workload", path, "--format", "csv"];
    args.extend_from_slice(&grid);
    let csv = text(&run(&args).stdout);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(header.len(), row.len());
    assert_eq!(header[header.len() - 4], "event0_moved_share");
}

// The miss-ratio curve (`mrc`) against the same deterministic runs.

/// Each node's slow-store loads in the result at `path`.
fn node_loads(path: &Path) -> Vec<u64> {
    read_checked(path)
        .nodes
        .iter()
        .map(|node| node.slowdb_loads.unwrap())
        .collect()
}

/// Each node's slow-store loads at `size` per node, from `mrc --format csv`.
fn curve_loads(workload: &str, flags: &[&str], size: &str) -> Vec<u64> {
    let mut args = vec![
        "mrc",
        "--workload",
        workload,
        "--format",
        "csv",
        "--cache-bytes",
        size,
    ];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let bytes = geecache_bench::units::ByteSize::parse(size)
        .unwrap()
        .0
        .to_string();
    let row: Vec<&str> = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[0] == bytes)
        .unwrap_or_else(|| panic!("no row for {size} in\n{csv}"));
    header
        .iter()
        .zip(&row)
        .filter(|(name, _)| name.starts_with("node") && name.ends_with("_loads"))
        .map(|(_, value)| value.parse().unwrap())
        .collect()
}

#[test]
fn deterministic_runs_at_three_sizes_land_on_the_curve() {
    let dir = scratch("mrc-runs");
    let workload = dir.join("w.json");
    std::fs::write(
        &workload,
        r#"{ "name": "mrc", "keys": 3000, "distribution": { "kind": "zipf", "exponent": 0.9 },
             "requests": 4000, "warmup_requests": 1000, "value_size": 120,
             "slowdb": { "latency": { "kind": "none" }, "missing_share": 0.03 } }"#,
    )
    .unwrap();
    let workload = workload.to_str().unwrap();
    for size in ["24KiB", "96KiB", "384KiB"] {
        let out = common::deterministic_run(
            &dir,
            &format!("run-{size}"),
            &std::fs::read_to_string(workload).unwrap(),
            &["--cache-bytes", size],
        );
        let loads = node_loads(&out);
        assert_eq!(loads, curve_loads(workload, &[], size), "{size}");
    }
    // A trace, its sizes included: the shipped sample.
    for size in ["16KiB", "64KiB", "256KiB"] {
        let flags = ["--requests", "3000", "--warmup", "1000"];
        let out = dir.join(format!("trace-{size}.json"));
        let output = run(&[
            "--workload",
            "twitter-sample",
            "--deterministic",
            "--requests",
            "3000",
            "--warmup",
            "1000",
            "--cache-bytes",
            size,
            "--slowdb-latency",
            "none",
            "--no-calibrate",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let loads = node_loads(&out);
        assert_eq!(loads, curve_loads("twitter-sample", &flags, size), "{size}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_curve_falls_as_caches_grow_and_prints_in_three_formats() {
    let flags = [
        "mrc",
        "--workload",
        "ci",
        "--requests",
        "20000",
        "--warmup",
        "2000",
    ];
    let table = run(&flags);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(table.contains("every size in one pass"), "{table}");
    let json = run(&[&flags[..], &["--format", "json"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let points = json["points"].as_array().unwrap();
    assert!(points.len() >= 5, "{json}");
    let ratios: Vec<f64> = points
        .iter()
        .map(|point| point["miss_ratio"].as_f64().unwrap())
        .collect();
    assert!(
        ratios.windows(2).all(|pair| pair[1] <= pair[0]),
        "{ratios:?}"
    );
    assert!(ratios[0] > ratios[ratios.len() - 1]);
    let refused = run(&["mrc", "--workload", "hot-shift"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("events"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn timed_runs_at_three_sizes_land_within_their_trials_interval() {
    // Two requests in flight, bounded by a count: the caches see the
    // requests a little out of order, so trials differ by a few loads; the
    // curve (one request at a time) lies in their interval. A store that
    // answers at once keeps a miss's value from reaching its cache later
    // than a hit would (with 1 ms loads the runs sit a few loads below);
    // with four in flight the runs sit up to a load in 3,700 off, outside
    // an interval of six trials that agree to a load.
    let dir = scratch("mrc-timed");
    let workload = dir.join("w.json");
    std::fs::write(
        &workload,
        r#"{ "name": "curve-timed", "keys": 3000,
             "distribution": { "kind": "zipf", "exponent": 0.9 },
             "requests": 30000, "warmup_requests": 3000, "value_size": 100,
             "concurrency": 2, "slowdb": { "latency": { "kind": "none" } } }"#,
    )
    .unwrap();
    let workload = workload.to_str().unwrap();
    for size in ["32KiB", "64KiB", "128KiB"] {
        let out = dir.join(format!("run-{size}.json"));
        let output = run(&[
            "--workload",
            workload,
            "--cache-bytes",
            size,
            "--repeat",
            "6",
            "--no-calibrate",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let result = read_checked(&out);
        assert_eq!(result.trials.len(), 6);
        let per_trial: Vec<f64> = result
            .trials
            .iter()
            .map(|trial| trial.slowdb_loads.unwrap() as f64 / trial.requests as f64)
            .collect();
        let interval = geecache_bench::intervals::estimate(&per_trial).unwrap();
        let curve = curve_loads(workload, &[], size).iter().sum::<u64>() as f64 / 30000.0;
        let (low, high) = (interval.low.unwrap(), interval.high.unwrap());
        eprintln!("{size}: curve {curve}, trials {per_trial:?}");
        assert!(
            low <= curve && curve <= high,
            "{size}: the curve's {curve} outside the trials' [{low}, {high}] ({:.1}%): {per_trial:?}",
            interval.confidence.unwrap() * 100.0
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// `advise`: its answers against the curve and the ring they came from.

fn advise_json(flags: &[&str]) -> serde_json::Value {
    let output = run(&[&["advise", "--format", "json"], flags].concat());
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn advice_is_the_smallest_cache_and_fewest_replicas_the_curve_and_ring_confirm() {
    let keys = [
        "--workload",
        "ci",
        "--requests",
        "20000",
        "--warmup",
        "2000",
        "--hash",
        "xxh3",
    ];
    let advice = advise_json(&[&keys[..], &["--hit-ratio", "0.8", "--imbalance", "1.15"]].concat());
    let replicas = advice["replicas"]["replicas"].as_u64().unwrap();
    assert_eq!(advice["ring"]["replicas"].as_u64(), Some(replicas));
    let size = advice["cache"]["cache_bytes"].as_u64().unwrap();
    let below = advice["cache"]["below"]["cache_bytes"].as_u64().unwrap();
    assert!(
        below < size && size - below <= size / 1024 + 1,
        "{below} {size}"
    );
    // The curve at the advised size meets the goal, one step below not.
    let replicas_flag = replicas.to_string();
    let mut flags = keys.to_vec();
    flags.extend(["--replicas", &replicas_flag]);
    let at = curve_loads("ci", &flags[2..], &format!("{size}B"));
    let short = curve_loads("ci", &flags[2..], &format!("{below}B"));
    let (at, short) = (at.iter().sum::<u64>(), short.iter().sum::<u64>());
    assert!(
        at as f64 / 20000.0 <= 0.2 && short as f64 / 20000.0 > 0.2,
        "{at} {short}"
    );
    assert_eq!(advice["cache"]["at"]["loads"].as_u64(), Some(at));
    // The ring: the advised count meets the bound, the one below does not.
    let ring = |replicas: u64| {
        let output = run(&[
            "ring",
            "--nodes",
            "3",
            "--hash",
            "xxh3",
            "--keys",
            &advice["keys"].to_string(),
            "--replicas",
            &replicas.to_string(),
            "--format",
            "json",
        ]);
        let reports: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        reports[0]["key_imbalance"].as_f64().unwrap()
    };
    assert!(ring(replicas) <= 1.15);
    assert_eq!(
        advice["replicas"]["at"]["key_imbalance"].as_f64(),
        Some(ring(replicas))
    );
    if replicas > 1 {
        assert!(ring(replicas - 1) > 1.15);
    }
    // The table says the same, with its evidence.
    let table = run(&[
        &["advise"],
        &keys[..],
        &["--hit-ratio", "0.8", "--imbalance", "1.15"],
    ]
    .concat());
    let table = text(&table.stdout);
    assert!(
        table.contains(&format!("advised  {replicas} replicas")),
        "{table}"
    );
    assert!(table.contains(&format!("--cache-bytes {size}")), "{table}");
    assert!(table.contains(&format!("short    {below} B")), "{table}");
}

#[test]
fn advice_on_a_trace_is_verified_by_a_run() {
    let dir = scratch("advise-verify");
    let out = dir.join("advice.json");
    let output = run(&[
        "advise",
        "--workload",
        "twitter-sample",
        "--requests",
        "3000",
        "--warmup",
        "1000",
        "--loads-per-second",
        "500",
        "--rate",
        "2000",
        "--verify",
        "--repeat",
        "3",
        "-c",
        "1",
        "--slowdb-latency",
        "none",
        "--results-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("verified  3 trial(s)"), "{stdout}");
    assert!(stdout.contains("goal     met"), "{stdout}");
    let advice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let size = advice["cache"]["cache_bytes"].as_u64().unwrap();
    let landing = &advice["verify"];
    assert_eq!(landing["trials"].as_u64(), Some(3));
    // One request in flight, with a store that answers at once: the caches
    // see the requests in the curve's order, so the run lands on the curve.
    // (Sixteen in flight put a CI run one load off on two nodes.)
    assert_eq!(landing["within"].as_bool(), Some(true), "{landing}");
    let result = read_checked(Path::new(landing["result"].as_str().unwrap()));
    assert_eq!(result.workload.cluster.cache_bytes.0, size);
    assert_eq!(result.workload.rate, Some(2000.0));
    let cluster = result.cluster.as_ref().unwrap();
    let loads = cluster.slowdb.loads;
    assert!(loads as f64 / 3000.0 * 2000.0 <= 500.0, "{loads}");
    let predicted: Vec<u64> = advice["cache"]["at"]["node_loads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|loads| loads.as_u64().unwrap())
        .collect();
    let measured = node_loads(Path::new(landing["result"].as_str().unwrap()));
    // A peer fetch that fails (a peer too slow under a loaded machine) is
    // loaded by the asking node instead, off the curve's ring: node by node
    // the run is then only as exact as its failed fetches allow.
    if cluster.peer_errors == 0 {
        assert_eq!(measured, predicted);
    } else {
        let off: u64 = measured
            .iter()
            .zip(&predicted)
            .map(|(m, p)| m.abs_diff(*p))
            .sum();
        assert!(off <= 4 * cluster.peer_errors, "{measured:?} {predicted:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn advise_refuses_goals_it_cannot_use_and_says_when_none_is_met() {
    for (flags, says) in [
        (vec!["advise"], "--hit-ratio"),
        (vec!["advise", "--hit-ratio", "1.5"], "--hit-ratio: 1.5"),
        (vec!["advise", "--moved-on-join", "0.5x"], "1x or more"),
        (
            vec!["advise", "--imbalance", "1.1", "--verify"],
            "cache goal",
        ),
        (vec!["advise", "--loads-per-second", "10"], "--rate"),
        (vec!["advise", "--imbalance", "0.9"], "1 or more"),
        (
            vec!["advise", "--hit-ratio", "0.5", "--workload", "hot-shift"],
            "events",
        ),
    ] {
        let output = run(&flags);
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
    }
    // Out of reach: first uses alone miss more.
    let output = run(&[
        "advise",
        "--workload",
        "ci",
        "--requests",
        "5000",
        "--hit-ratio",
        "0.999",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("no size meets it"),
        "{}",
        text(&output.stdout)
    );
    assert!(text(&output.stderr).contains("no configuration searched meets the goal"));
}
