//! Scenarios on real clusters: each event action, carried out during a run
//! of the real binary on 127.0.0.1, must do what it says, seen in the
//! result's series and events. Small workloads with short intervals keep
//! each run to a few seconds.

use crate::common;

use std::path::Path;

use common::{run, run_workload, scratch, text};
use geecache_bench::geecache::HashRing;
use geecache_bench::harness::cluster::ring_name;
use geecache_bench::harness::ownership::key_moves;
use geecache_bench::harness::report::{ClusterInterval, IntervalFigures, RunResult};

/// The shared part of every scenario: a warm cluster of three nodes under
/// a closed loop for 3 s in 250 ms intervals.
const BASE: &str = r#"{ "keys": 2000, "distribution": { "kind": "uniform" }, "duration": "3s",
    "warmup_requests": 6000, "concurrency": 8, "interval": "250ms",
    "slowdb": { "latency": { "kind": "fixed", "value": "200us" } } }"#;

/// Runs [`BASE`] with the fields of `body` (the inside of a JSON object)
/// put over it; a field given as `null` is taken out.
fn scenario(directory: &Path, name: &str, body: &str, flags: &[&str]) -> RunResult {
    let mut workload: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(BASE).unwrap();
    let changes: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&format!("{{ {body} }}")).unwrap();
    for (field, value) in changes {
        if value.is_null() {
            workload.remove(&field);
        } else {
            workload.insert(field, value);
        }
    }
    let result = run_workload(
        directory,
        name,
        &serde_json::Value::Object(workload).to_string(),
        flags,
    );
    assert!(!result.events.is_empty());
    result
}

/// A cluster figure added up over intervals.
fn total(intervals: &[&IntervalFigures], field: fn(&ClusterInterval) -> u64) -> u64 {
    intervals
        .iter()
        .map(|interval| field(cluster(interval)))
        .sum()
}

/// Intervals that start in [from, to).
fn between(result: &RunResult, from: f64, to: f64) -> Vec<&IntervalFigures> {
    result
        .series
        .iter()
        .filter(|interval| interval.client.start_secs >= from && interval.client.start_secs < to)
        .collect()
}

fn cluster(interval: &IntervalFigures) -> &ClusterInterval {
    interval
        .cluster
        .as_ref()
        .expect("cluster figures in every interval")
}

/// Intervals that end at or before `secs`.
fn before(result: &RunResult, secs: f64) -> Vec<&IntervalFigures> {
    let length = result.workload.interval.0.as_secs_f64();
    result
        .series
        .iter()
        .filter(|interval| interval.client.start_secs + length <= secs + 1e-9)
        .collect()
}

/// Intervals that start at or after `secs`, the last (partial) one left out.
fn after(result: &RunResult, secs: f64) -> Vec<&IntervalFigures> {
    let whole = &result.series[..result.series.len() - 1];
    whole
        .iter()
        .filter(|interval| interval.client.start_secs >= secs - 1e-9)
        .collect()
}

/// When event `index` happened, in seconds since the measurement began.
/// An event is never early, but on a busy machine it can be late: the
/// thread that fires it may wait for a core. A test that expects a change
/// from an event counts from this moment, not from the time it asked for.
fn happened(result: &RunResult, index: usize) -> f64 {
    result.events[index]
        .at_secs
        .unwrap_or_else(|| panic!("event {index} did not happen: {:?}", result.events))
}

/// The start of the interval in which `secs` falls.
fn interval_of(result: &RunResult, secs: f64) -> f64 {
    let length = result.workload.interval.0.as_secs_f64();
    (secs / length + 1e-9).floor() * length
}

/// Intervals that start after the one in which event `index` happened
/// (and `settle` seconds after it): every moment of them follows it. The
/// series must still hold one, or the event was too late to test.
fn after_event(result: &RunResult, index: usize, settle: f64) -> Vec<&IntervalFigures> {
    let length = result.workload.interval.0.as_secs_f64();
    let intervals = after(
        result,
        interval_of(result, happened(result, index) + settle) + length,
    );
    assert!(
        !intervals.is_empty(),
        "event {index} happened at {:.3} s, too late for an interval after it",
        happened(result, index)
    );
    intervals
}

fn node_field(
    interval: &IntervalFigures,
    node: usize,
    field: fn(&geecache_bench::harness::report::NodeInterval) -> u64,
) -> u64 {
    cluster(interval)
        .nodes
        .get(node)
        .copied()
        .flatten()
        .map_or(0, |figures| field(&figures))
}

#[test]
fn a_stopped_node_is_covered_by_fallback_loads_and_peer_errors_last_until_it_starts() {
    let directory = scratch("scenario-stop");
    let svg = directory.join("stop.svg");
    let result = scenario(
        &directory,
        "stop",
        r#""events": [{ "at": "1s", "action": "stop_node", "node": 2 },
                      { "at": "2s", "action": "start_node", "node": 2 }]"#,
        &["--plot", svg.to_str().unwrap()],
    );
    let lines = geecache_bench::harness::summary::event_lines(&result);
    let stop_at = format!("event 0 at {:.2} s", happened(&result, 0));
    assert!(lines.starts_with(&stop_at), "{lines}");
    assert!(
        lines.contains("(at 2s: start_node 2): 0 client errors"),
        "{lines}"
    );
    // The chart: four panels of the series, each with both events marked.
    let chart = std::fs::read_to_string(&svg).unwrap();
    for title in [
        "throughput",
        "p99 latency",
        "API hit ratio",
        "slow-store loads",
    ] {
        assert!(chart.contains(&format!(">{title}</text>")), "{title}");
    }
    assert_eq!(chart.matches(r#"class="event""#).count(), 8);
    assert_eq!(chart.matches(">0: stop_node 2</text>").count(), 4);
    assert_eq!(chart.matches(">1: start_node 2</text>").count(), 4);
    assert_eq!(chart.matches("<polyline").count(), 4);
    // Every key was answered: the API node loaded node 2's keys itself.
    assert_eq!(result.client.errors.total, 0, "{:?}", result.client.errors);
    assert!(result
        .events
        .iter()
        .all(|event| event.applied && event.error.is_none()));
    assert_eq!(
        total(&before(&result, 1.0), |cluster| cluster.peer_errors),
        0
    );
    // After the start, node 2 answers again (one interval for the API
    // node's connections to notice).
    assert_eq!(
        total(&after_event(&result, 1, 0.0), |cluster| cluster.peer_errors),
        0
    );
    // The intervals from the stop's to the last that ends before the start.
    let length = result.workload.interval.0.as_secs_f64();
    let stopped: Vec<&IntervalFigures> = between(
        &result,
        interval_of(&result, happened(&result, 0)),
        interval_of(&result, happened(&result, 1)) - length,
    );
    assert!(total(&stopped, |cluster| cluster.peer_errors) > 0);
    // While stopped (after the requests it had in hand at the stop), node
    // 2 served nothing, and the API node loaded more.
    for interval in &stopped[1..] {
        assert_eq!(node_field(interval, 2, |node| node.gets), 0);
    }
    let api_loads_stopped: u64 = stopped
        .iter()
        .map(|interval| node_field(interval, 0, |node| node.slowdb_loads))
        .sum();
    let api_loads_before: u64 = before(&result, 1.0)
        .iter()
        .map(|interval| node_field(interval, 0, |node| node.slowdb_loads))
        .sum();
    assert!(
        api_loads_stopped > api_loads_before,
        "{api_loads_stopped} <= {api_loads_before}"
    );
    let stop = &result.events[0];
    assert!(stop.extra_slowdb_loads.unwrap() > 0, "{stop:?}");
    assert!(stop.at_secs.unwrap() >= 1.0);
}

#[test]
fn a_join_moves_the_rings_share_of_keys_and_the_new_node_loads_from_then_on() {
    let directory = scratch("scenario-join");
    let result = scenario(
        &directory,
        "join",
        r#""events": [{ "at": "1s", "action": "add_node" }]"#,
        &[],
    );
    assert_eq!(result.client.errors.total, 0);
    assert_eq!(result.nodes.len(), 4);
    let settings = &result.workload.cluster;
    let ring = |nodes: usize| {
        let mut ring = HashRing::new(settings.replicas as usize, settings.hash);
        ring.add((0..nodes).map(ring_name));
        ring
    };
    let moves = key_moves(&ring(3), &ring(4), result.workload.keys);
    let join = &result.events[0];
    assert_eq!(join.moved_share, Some(moves.moved_share()));
    assert_eq!(join.ideal_moved_share, Some(0.25));
    // The new node had no part before the join and loads its keys after.
    for interval in before(&result, 1.0) {
        assert!(
            cluster(interval).nodes.len() == 3 || node_field(interval, 3, |node| node.gets) == 0
        );
    }
    let new_loads: u64 = after(&result, 1.0)
        .iter()
        .map(|interval| node_field(interval, 3, |node| node.slowdb_loads))
        .sum();
    assert!(new_loads > 0);
    assert!(join.extra_slowdb_loads.unwrap() > 0, "{join:?}");
    // The result's nodes: the fourth owns its ring share of the keys.
    assert_eq!(result.nodes[3].keys_owned, Some(moves.after[3]));
    // compare sets the event's cost beside another run's.
    let out = directory.join("join-result.json");
    let output = run(&[
        "compare",
        out.to_str().unwrap(),
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let comparison: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = comparison["rows"].as_array().unwrap();
    let moved = rows
        .iter()
        .find(|row| row["key"] == "events[0].moved_share")
        .expect("the join's moved share is compared");
    assert_eq!(moved["values"][0], moved["values"][1]);
    assert_eq!(moved["label"], "event 0 (add_node): keys moved");
    assert!(rows
        .iter()
        .any(|row| row["key"] == "events[0].extra_slowdb_loads"));
}

#[test]
fn a_leave_hands_the_leavers_keys_to_the_others() {
    let directory = scratch("scenario-leave");
    let result = scenario(
        &directory,
        "leave",
        r#""events": [{ "at": "1s", "action": "remove_node", "node": 1 }]"#,
        &[],
    );
    assert_eq!(result.client.errors.total, 0);
    let leave = &result.events[0];
    // Consistent hashing: exactly the leaver's keys move.
    assert_eq!(leave.moved_share, leave.ideal_moved_share);
    assert!(leave.moved_share.unwrap() > 0.2);
    for interval in after_event(&result, 0, 0.0) {
        assert_eq!(node_field(interval, 1, |node| node.gets), 0);
        assert_eq!(cluster(interval).peer_errors, 0);
    }
    let others: u64 = after(&result, 1.0)
        .iter()
        .map(|interval| {
            node_field(interval, 0, |node| node.slowdb_loads)
                + node_field(interval, 2, |node| node.slowdb_loads)
        })
        .sum();
    assert!(others > 0);
    assert!(leave.extra_slowdb_loads.unwrap() > 0, "{leave:?}");
    assert_eq!(result.nodes[1].keys_owned, Some(0));
}

#[test]
fn a_node_slower_than_the_peer_timeout_costs_peer_timeouts_not_client_errors() {
    let directory = scratch("scenario-slow");
    let result = scenario(
        &directory,
        "slow",
        r#""cluster": { "peer_timeout": "50ms" },
           "events": [{ "at": "1s", "action": "slow_node", "node": 2, "delay": "200ms" },
                      { "at": "2s", "action": "slow_node", "node": 2, "delay": "0s" }]"#,
        &[],
    );
    assert_eq!(result.client.errors.total, 0, "{:?}", result.client.errors);
    assert_eq!(
        total(&before(&result, 1.0), |cluster| cluster.peer_errors),
        0
    );
    let slow: Vec<&IntervalFigures> = between(
        &result,
        interval_of(&result, happened(&result, 0)),
        happened(&result, 1),
    );
    assert!(total(&slow, |cluster| cluster.peer_errors) > 0);
    let api_loads: u64 = slow
        .iter()
        .map(|interval| node_field(interval, 0, |node| node.slowdb_loads))
        .sum();
    assert!(
        api_loads > 0,
        "the API node loads what node 2 is too slow to give"
    );
    // Requests in flight at the second event still wait out their delay.
    assert_eq!(
        total(&after_event(&result, 1, 0.25), |cluster| cluster
            .peer_errors),
        0
    );
}

#[test]
fn a_brownout_fails_loads_that_surface_as_500s_apart_from_missing_keys() {
    let directory = scratch("scenario-brownout");
    let result = scenario(
        &directory,
        "brownout",
        r#""cluster": { "cache_bytes": "1B" },
           "events": [{ "at": "1s", "action": "slowdb", "error_share": 0.3 },
                      { "at": "2s", "action": "slowdb", "error_share": 0 }]"#,
        &[],
    );
    let client = &result.client;
    assert_eq!(client.missing, 0);
    let failed = client.errors.status.get(&500).copied().unwrap_or(0);
    assert!(failed > 0);
    assert_eq!(client.errors.total, failed, "{:?}", client.errors);
    assert_eq!(
        total(&before(&result, 1.0), |cluster| cluster.slowdb_load_errors),
        0
    );
    assert_eq!(
        total(&after_event(&result, 1, 0.0), |cluster| cluster
            .slowdb_load_errors),
        0
    );
    let every: Vec<&IntervalFigures> = result.series.iter().collect();
    let failed_loads = total(&every, |cluster| cluster.slowdb_load_errors);
    // Every failed load failed a request (nothing is cached); two requests
    // for one key in flight at once share a load (singleflight), so a few
    // more requests fail than loads. About 30% of the brownout's did.
    assert!(
        failed_loads <= failed && failed <= failed_loads + failed_loads / 20,
        "{failed_loads} failed loads, {failed} 500s"
    );
    let brownout_requests: u64 = between(
        &result,
        interval_of(&result, happened(&result, 0)),
        happened(&result, 1),
    )
    .into_iter()
    .map(|interval| interval.client.requests)
    .sum();
    let share = failed as f64 / brownout_requests as f64;
    assert!((0.2..0.4).contains(&share), "{share}");
    assert!(result.events[0].errors > 0);
}

#[test]
fn shifting_the_hot_set_raises_slow_store_loads_right_after() {
    let directory = scratch("scenario-shift");
    let result = scenario(
        &directory,
        "shift",
        r#""keys": 20000, "distribution": { "kind": "zipf", "exponent": 1.0 },
           "warmup_requests": 30000, "slowdb": { "latency": { "kind": "none" } },
           "events": [{ "at": "1s", "action": "shift_keys", "offset": 10000 }]"#,
        &[],
    );
    assert_eq!(result.client.errors.total, 0);
    // Loads per request, not loads: the loads of the cold hot set slow the
    // cluster, so the interval after the shift answers fewer requests (on a
    // busy machine, down to 70% of the one before), which a count of loads
    // would set against the jump it measures.
    let loads = |interval: &&IntervalFigures| {
        cluster(interval).slowdb_loads as f64 / interval.client.requests.max(1) as f64
    };
    let shifted = happened(&result, 0);
    let just_before = before(&result, shifted).last().map(loads).unwrap();
    let just_after = after(&result, interval_of(&result, shifted))
        .first()
        .map(loads)
        .unwrap();
    // The new hot set is cold: loads per request jump (about 2x here, alone
    // and beside two busy loops), where they had been falling as the
    // cluster warmed.
    assert!(
        just_after > 1.5 * just_before,
        "{just_before:.4} -> {just_after:.4} loads per request"
    );
    assert!(result.events[0].applied);
}

#[test]
fn an_open_loops_rate_changes_on_schedule() {
    let directory = scratch("scenario-rate");
    let result = scenario(
        &directory,
        "rate",
        r#""rate": 400, "interval": "500ms",
           "events": [{ "at": "1s", "action": "set_rate", "rate": 1600 }]"#,
        &[],
    );
    let requests = |intervals: Vec<&IntervalFigures>| -> Vec<u64> {
        intervals
            .iter()
            .map(|interval| interval.client.requests)
            .collect()
    };
    for count in requests(before(&result, 1.0)) {
        assert!((160..=240).contains(&count), "{count} at 400/s");
    }
    for count in requests(after(&result, 1.5)) {
        assert!((640..=960).contains(&count), "{count} at 1600/s");
    }
}

#[test]
fn request_indexed_events_happen_before_the_request_they_name() {
    let directory = scratch("scenario-at-request");
    let result = scenario(
        &directory,
        "at-request",
        r#""duration": null, "requests": 3000, "concurrency": 1,
           "events": [{ "at_request": 1000, "action": "stop_node", "node": 2 },
                      { "at_request": 2000, "action": "start_node", "node": 2, "keep_cache": true }]"#,
        &[],
    );
    assert_eq!(result.events[0].applied_at_request, Some(1000));
    assert_eq!(result.events[1].applied_at_request, Some(2000));
    assert_eq!(result.client.errors.total, 0);
}

#[test]
fn a_target_run_refuses_events_the_harness_cannot_carry_out() {
    let directory = scratch("scenario-target");
    let file = directory.join("stop.json");
    std::fs::write(
        &file,
        r#"{ "duration": "2s", "events": [{ "at": "1s", "action": "stop_node", "node": 1 }] }"#,
    )
    .unwrap();
    let output = run(&[
        "--workload",
        file.to_str().unwrap(),
        "--target",
        "http://127.0.0.1:9/api",
        "--no-calibrate",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("events[0]") && stderr.contains("stop_node"),
        "{stderr}"
    );
    assert!(stderr.contains("shift_keys and set_rate"), "{stderr}");
}

#[test]
fn events_at_the_same_moment_are_costed_once() {
    let directory = scratch("scenario-together");
    let result = scenario(
        &directory,
        "together",
        r#""events": [{ "at": "1s", "action": "remove_node", "node": 1 },
                      { "at": "1s", "action": "remove_node", "node": 2 }]"#,
        &[],
    );
    let (first, second) = (&result.events[0], &result.events[1]);
    assert!(first.applied && second.applied);
    // Both left in the same 250 ms interval: the first measures, the
    // second points to it and counts nothing itself.
    assert_eq!(first.cost_with, None);
    assert_eq!(second.cost_with, Some(0));
    assert!(first.extra_slowdb_loads.unwrap() > 0, "{first:?}");
    assert_eq!((second.errors, second.extra_slowdb_loads), (0, None));
    // Each still says what it moved.
    assert!(second.moved_share.unwrap() > 0.0);
    let lines = geecache_bench::harness::summary::event_lines(&result);
    assert!(
        lines.contains("in the same interval as event 0, whose cost counts both"),
        "{lines}"
    );
}
