//! An open loop's two latencies: from the time its schedule meant each
//! request to go (what a user waits, coordinated omission corrected) and
//! from the request's actual send (the service time). A cluster made slow
//! on purpose falls behind the schedule, so the first exceeds the second;
//! a closed loop records one and says so.

use crate::common;

use common::{run, run_workload, scratch, text};

#[test]
fn a_slow_clusters_intended_time_latency_exceeds_its_service_time() {
    let directory = scratch("open-loop");
    // One node whose every answer takes at least 10 ms, two in flight:
    // under 200 requests per second, and the schedule asks for 1000.
    let open = run_workload(
        &directory,
        "open",
        r#"{ "name": "open", "keys": 1000, "rate": 1000, "requests": 120,
             "concurrency": 2, "warmup_requests": 0, "timeout": "5s",
             "cluster": { "nodes": 1 } }"#,
        &["--inject-delay", "10ms"],
    );
    let client = &open.client;
    assert_eq!(client.errors.total, 0, "{client:?}");
    let latency = &client.latency_us;
    let service = client
        .service_time_us
        .as_ref()
        .expect("an open loop's service time");
    assert_eq!(
        serde_json::to_value(client.latency_from).unwrap(),
        "intended_send"
    );
    // Every answer took the injected delay at least, from its send.
    assert!(service.min >= 10_000, "{service:?}");
    // The backlog: every figure from the intended send is at least the
    // service time's, and the middle and the tail are well beyond it.
    for (from_intended, from_send) in [
        (latency.min, service.min),
        (latency.p50, service.p50),
        (latency.p99, service.p99),
        (latency.max, service.max),
    ] {
        assert!(from_intended >= from_send, "{latency:?} {service:?}");
    }
    assert!(latency.p50 > 2 * service.p50, "{latency:?} {service:?}");
    assert!(latency.max > 2 * service.max, "{latency:?} {service:?}");
    // Both histograms hold every answer.
    let histogram = open.histogram.decode().unwrap();
    let service_histogram = open.service_histogram.as_ref().unwrap().decode().unwrap();
    assert_eq!(histogram.len(), 120);
    assert_eq!(service_histogram.len(), 120);
    assert_eq!(service_histogram.value_at_quantile(0.99), service.p99);
    // Both are timed figures of the trial.
    let timed = &open.timed.as_ref().unwrap().figures;
    assert_eq!(timed["service_p99_us"].median, service.p99 as f64);
    assert_eq!(timed["p99_us"].median, latency.p99 as f64);

    let summary = geecache_bench::harness::summary::summary(&open, None);
    assert!(
        summary
            .contains("(open loop: from each request's intended send; every request: none failed)"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("service us  p50 {}", service.p50)),
        "{summary}"
    );

    // export --service writes the service-time distribution.
    let open_file = directory.join("open-result.json");
    let output = run(&["export", "--hgrm", open_file.to_str().unwrap(), "--service"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rows =
        geecache_bench::harness::latency::read_percentile_distribution(&text(&output.stdout))
            .unwrap();
    let median = rows.iter().find(|row| row.1 == 0.5).unwrap();
    assert_eq!((median.0 * 1000.0).round() as u64, service.p50);

    // A closed loop records one latency, from the send, and says so.
    let closed = run_workload(
        &directory,
        "closed",
        r#"{ "name": "closed", "keys": 1000, "requests": 60, "concurrency": 2,
             "warmup_requests": 0, "cluster": { "nodes": 1 } }"#,
        &["--inject-delay", "10ms"],
    );
    assert_eq!(
        serde_json::to_value(closed.client.latency_from).unwrap(),
        "send"
    );
    assert!(closed.client.service_time_us.is_none());
    assert!(closed.service_histogram.is_none());
    assert!(closed.client.latency_us.min >= 10_000);
    let summary = geecache_bench::harness::summary::summary(&closed, None);
    assert!(
        summary.contains("closed loop: from each send, which makes it the service time"),
        "{summary}"
    );
    assert!(!summary.contains("service us"), "{summary}");
    let closed_file = directory.join("closed-result.json");
    let output = run(&[
        "export",
        "--hgrm",
        closed_file.to_str().unwrap(),
        "--service",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no service-time histogram"),
        "{}",
        text(&output.stderr)
    );

    // compare shows both latencies of the open loop, and the service rows
    // only where a result has them.
    let output = run(&[
        "compare",
        open_file.to_str().unwrap(),
        open_file.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains("latency p99 us"), "{table}");
    assert!(table.contains("service time p99 us"), "{table}");
    let output = run(&[
        "compare",
        closed_file.to_str().unwrap(),
        closed_file.to_str().unwrap(),
    ]);
    assert!(!text(&output.stdout).contains("service time"));
}

#[test]
fn a_run_in_stages_follows_its_schedule_and_the_model_counts_it() {
    let directory = scratch("stages");
    // 1 s at 200/s, a 2 s ramp to 1000/s, 1 s at 1000/s: 2400 requests,
    // and per half second 100, 100, then the ramp's 150, 250, 350, 450,
    // then 500, 500.
    let workload = r#"{ "name": "stages", "keys": 1000, "warmup_requests": 200,
         "concurrency": 16, "interval": "500ms",
         "slowdb": { "latency": { "kind": "none" } },
         "stages": [ { "duration": "1s", "rate": 200 },
                     { "duration": "2s", "rate": 1000, "ramp": true },
                     { "duration": "1s", "rate": 1000 } ] }"#;
    let (result, summary) =
        common::run_workload_printing(&directory, "stages", workload, &["--series"]);
    let client = &result.client;
    assert!(
        summary.contains(
            "stages 1s at 200/s, 2s ramp to 1000/s, 1s at 1000/s (open loop, 2400 requests \
             scheduled over 4s)"
        ),
        "{summary}"
    );
    let scheduled = client.requests + client.unsent;
    assert!(scheduled.abs_diff(2400) <= 2, "{client:?}");
    assert!(client.service_time_us.is_some(), "an open loop");
    // No request ends before the schedule sends it, and, on a cluster that
    // keeps up, none long after: by the end of each half second the
    // answers lie between the schedule's count then and a quarter second
    // of its rate behind.
    let due = [100u64, 200, 350, 600, 950, 1400, 1900, 2400];
    let rate_then = [200u64, 200, 400, 600, 800, 1000, 1000, 1000];
    let mut ended = 0;
    for (at, interval) in result.series.iter().take(due.len()).enumerate() {
        ended += interval.client.requests;
        assert!(ended <= due[at] + 1, "interval {at}: {ended} > {}", due[at]);
        let behind = due[at].saturating_sub(rate_then[at] / 4);
        assert!(ended >= behind, "interval {at}: {ended} < {behind}");
    }

    // The model follows the stages: it counts their 2400 requests.
    let file = directory.join("stages.json");
    let output = run(&[
        "simulate",
        "--workload",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let predicted: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(predicted[0]["requests"], 2400, "{predicted:#}");

    // A flag that disagrees with the stages is named.
    let output = run(&["--workload", file.to_str().unwrap(), "--rate", "50"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--rate") && stderr.contains("leave rate out"),
        "{stderr}"
    );
}
