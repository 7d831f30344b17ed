//! An open loop that asks far more than the cluster can serve ends sending
//! at its duration: what it could not send is counted as unsent, the
//! requests in flight get their timeout, and the summary says the cluster
//! was overloaded.

use crate::common;

use common::{run_workload, scratch};

#[test]
fn an_overloaded_open_loop_ends_on_time_and_reports_its_backlog() {
    let directory = scratch("overload");
    // One node whose every answer takes 10 ms, four in flight: about 360
    // requests per second; the schedule asks for 4000.
    let result = run_workload(
        &directory,
        "overload",
        r#"{ "name": "overload", "keys": 1000, "rate": 4000, "duration": "1s",
             "concurrency": 4, "warmup_requests": 0, "timeout": "1s",
             "cluster": { "nodes": 1 } }"#,
        &["--inject-delay", "10ms"],
    );
    let client = &result.client;
    // Duration + timeout + 1 s at the most.
    assert!(client.duration_secs < 3.0, "{client:?}");
    assert!(client.unsent > 0, "{client:?}");
    // Every request scheduled before the end was either sent or counted.
    assert_eq!(client.requests + client.unsent, 4000, "{client:?}");
    assert!(client.requests < 1000, "{client:?}");
    assert_eq!(client.errors.total, 0, "{client:?}");

    // The summary says it plainly.
    let summary = geecache_bench::harness::summary::summary(&result, None);
    assert!(
        summary.contains("OVERLOADED: the open loop asked for 4000 req/s"),
        "{summary}"
    );
    // A run that keeps up sends everything and says nothing of the kind.
    let easy = run_workload(
        &directory,
        "easy",
        r#"{ "name": "easy", "keys": 1000, "rate": 200, "duration": "1s",
             "concurrency": 4, "warmup_requests": 0, "cluster": { "nodes": 1 } }"#,
        &[],
    );
    assert_eq!(easy.client.unsent, 0);
    assert_eq!(easy.client.requests, 200);
}
