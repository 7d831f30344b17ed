//! The driver against servers that fail in each way it counts, and a cluster
//! with a dead peer.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{run, scratch, text};
use geecache_bench::harness::cluster::Cluster;
use geecache_bench::harness::driver::{
    Control, Driver, DriverConfig, KeySampler, Phase, PhaseReport,
};
use geecache_bench::harness::slowdb::{SlowDb, ValueSizes};
use geecache_bench::harness::workload::{self, Bound, Distribution};

async fn drive(
    base_url: &str,
    prefix: &str,
    requests: u64,
    value_size: Option<u64>,
) -> PhaseReport {
    let driver = Driver::new(DriverConfig {
        base_url: base_url.to_owned(),
        path_prefix: prefix.to_owned(),
        sampler: KeySampler::new(100, Distribution::Uniform, 1).unwrap(),
        concurrency: 4,
        rate: None,
        timeout: Duration::from_millis(300),
        missing_share: 0.0,
        values: value_size.map(|size| ValueSizes::Fixed(size as usize)),
        trace: None,
        shard: geecache_bench::harness::shard::Shard::WHOLE,
    })
    .unwrap();
    let phase = Phase::new(
        1,
        Bound::Requests(requests),
        Instant::now() + Duration::from_secs(60),
    );
    driver.run(phase, &Arc::new(Control::default())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_counted_by_kind() {
    // Statuses: a path the node does not have.
    let workload = workload::load("ci").unwrap().workload;
    let db = SlowDb::new(100, 10, workload.slowdb, 1);
    let mut settings = workload.cluster;
    settings.nodes = 1;
    let cluster = Cluster::start(&settings, db, None).await.unwrap();
    let report = drive(&cluster.api_url(), "/nope?key=key", 20, Some(10)).await;
    assert_eq!(report.counts.errors.status.get(&404), Some(&20));
    assert_eq!(report.counts.errors.total, 20);
    assert_eq!(
        report.histogram.len(),
        20,
        "answers with any status are timed"
    );

    // Wrong values: the store's values are 10 bytes, the driver expects 11.
    let report = drive(&cluster.api_url(), "/api?key=key", 20, Some(11)).await;
    assert_eq!(report.counts.errors.wrong_value, 20);
    let report = drive(&cluster.api_url(), "/api?key=key", 20, Some(10)).await;
    assert_eq!((report.counts.ok, report.counts.errors.total), (20, 0));
    // Answers only, even with error statuses: no failure recorded.
    assert!(report.failed_histogram.is_none());
    cluster.shutdown().await;

    // Timeouts: a server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let report = drive(&silent_url, "/api?key=key", 8, None).await;
    assert_eq!(report.counts.errors.timeout, 8);
    assert_eq!(report.histogram.len(), 0, "no answer, no latency");
    // Each is recorded at its time to failure: the 300 ms timeout.
    let failed = report.failed_histogram.as_ref().expect("failures recorded");
    assert_eq!(failed.len(), 8);
    assert!(
        failed.min() >= 300_000 && failed.max() < 2_000_000,
        "{}",
        failed.min()
    );
    holder.abort();

    // Connection errors: nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let report = drive(&closed_url, "/api?key=key", 8, None).await;
    assert_eq!(report.counts.errors.connection, 8);
    assert_eq!(report.counts.requests, 8);
    assert_eq!(report.failed_histogram.map(|failed| failed.len()), Some(8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_peer_is_counted_and_its_keys_load_on_the_api_node() {
    let workload = workload::load("ci").unwrap().workload;
    let db = SlowDb::new(
        workload.keys,
        workload.value_size as usize,
        workload.slowdb,
        3,
    );
    let cluster = Cluster::start(&workload.cluster, db.clone(), None)
        .await
        .unwrap();
    cluster.stop_node(2).await;
    let before = db.snapshot();
    let stopped_gets = |stats: &[Option<geecache_bench::geecache::NodeStats>]| {
        stats[2].as_ref().unwrap().groups["scores"].stats.gets
    };
    let gets_before = stopped_gets(&cluster.stats());
    let report = drive(
        &cluster.api_url(),
        "/api?key=key",
        500,
        Some(workload.value_size),
    )
    .await;
    // Every request still gets its value.
    assert_eq!(report.counts.ok, 500);
    let stats = cluster.stats();
    // The stopped node's counters stay readable, and it served nothing.
    assert_eq!(stopped_gets(&stats), gets_before);
    let api = &stats[0].as_ref().unwrap().groups["scores"].stats;
    assert!(api.peer_errors > 0, "{api:?}");
    let loads = db.snapshot().since(&before);
    assert_eq!(loads.per_node[2], 0);
    assert!(loads.per_node[0] >= api.peer_errors);
    cluster.shutdown().await;
}

#[test]
fn an_unreachable_target_ends_the_run_before_it_starts() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let directory = scratch("unreachable");
    let output = run(&[
        "--workload",
        "ci",
        "--target",
        &format!("http://127.0.0.1:{port}/api"),
        "--results-dir",
        directory.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach the target"), "{stderr}");
    assert_eq!(std::fs::read_dir(&directory).unwrap().count(), 0);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_target_that_fails_every_request_is_a_failed_run_with_a_result() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // A node answers the probe (/_stats) but 404 at a path it does not have.
    let directory = scratch("all-failed");
    let out = directory.join("failed.json");
    let workload = workload::load("ci").unwrap().workload;
    let db = SlowDb::new(100, 10, workload.slowdb, 1);
    let mut settings = workload.cluster;
    settings.nodes = 1;
    let cluster = runtime
        .block_on(Cluster::start(&settings, db, None))
        .unwrap();
    let output = run(&[
        "--workload",
        "ci",
        "--requests",
        "50",
        "--warmup",
        "0",
        "--target",
        &format!("{}/nope", cluster.api_url()),
        "--out",
        out.to_str().unwrap(),
        "--no-calibrate",
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("every one of the 50 requests failed"),
        "{stderr}"
    );
    let result = common::read_checked(&out);
    assert_eq!(result.client.errors.status.get(&404), Some(&50));
    runtime.block_on(cluster.shutdown());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn driver_check_reports_each_round_the_cpu_per_request_and_memory() {
    let output = run(&[
        "driver-check",
        "--duration",
        "300ms",
        "--concurrency",
        "8",
        "--rounds",
        "2",
        "--no-wrk",
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("geecache-bench driver"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        // round, tool (two words), requests, req/s, p50, p99, errors, cpu
        let requests: u64 = cells[3].parse().unwrap();
        assert!(requests > 100, "{row}");
        assert_eq!(cells[7], "0", "{row}");
        let cpu: f64 = cells[8].parse().unwrap();
        assert!(cpu > 0.0, "{row}");
    }
    assert!(stdout.contains("driver memory: resident"), "{stdout}");

    let output = run(&["driver-check", "--rounds", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--rounds"));
}

/// An open loop's phase ends by itself however it is bounded: after its
/// count (more workers than requests), at its duration, at its time limit
/// and at a stop; each under a deadline, so a worker left waiting for its
/// pacer fails the test instead of hanging it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_open_loop_phase_ends_by_itself() {
    use geecache_bench::harness::driver::StopReason;
    let workload = workload::load("ci").unwrap().workload;
    let mut settings = workload.cluster;
    settings.nodes = 1;
    let cluster = Cluster::start(&settings, SlowDb::new(100, 10, workload.slowdb, 1), None)
        .await
        .unwrap();
    let driver = |concurrency| {
        Driver::new(DriverConfig {
            base_url: cluster.api_url(),
            path_prefix: "/api?key=key".to_owned(),
            sampler: KeySampler::new(100, Distribution::Uniform, 1).unwrap(),
            concurrency,
            rate: Some(2000.0),
            timeout: Duration::from_secs(1),
            missing_share: 0.0,
            values: Some(ValueSizes::Fixed(10)),
            trace: None,
            shard: geecache_bench::harness::shard::Shard::WHOLE,
        })
        .unwrap()
    };
    let ends = |driver: Driver, bound, time_limit: Duration, control: Arc<Control>| async move {
        let phase = Phase::new(1, bound, Instant::now() + time_limit);
        tokio::time::timeout(Duration::from_secs(20), driver.run(phase, &control))
            .await
            .expect("the phase ended")
    };
    let long = Duration::from_secs(60);

    let counted = ends(driver(16), Bound::Requests(10), long, Arc::default()).await;
    assert_eq!(counted.counts.requests, 10);
    assert_eq!(counted.stopped_by, StopReason::Requests);
    assert_eq!(counted.service_histogram.unwrap().len(), 10);

    let timed = ends(
        driver(64),
        Bound::Duration(Duration::from_millis(300)),
        long,
        Arc::default(),
    )
    .await;
    assert_eq!(timed.counts.requests + timed.unsent, 600);
    assert_eq!(timed.stopped_by, StopReason::Duration);

    let limited = ends(
        driver(8),
        Bound::Duration(Duration::from_secs(30)),
        Duration::from_millis(300),
        Arc::default(),
    )
    .await;
    assert_eq!(limited.stopped_by, StopReason::TimeLimit);
    assert!(limited.counts.requests <= 600, "{:?}", limited.counts);

    let control = Arc::new(Control::default());
    let stopper = Arc::clone(&control);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper
            .stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let stopped = ends(driver(8), Bound::Duration(long), long, control).await;
    assert_eq!(stopped.stopped_by, StopReason::Interrupted);
    assert!(stopped.counts.requests < 10_000, "{:?}", stopped.counts);
    cluster.shutdown().await;
}

#[test]
fn requests_that_time_out_are_recorded_at_their_time_to_failure() {
    // Loads take 30 ms on average (exponential) and the driver waits
    // 30 ms: about a third of the loads time out (and are not cached),
    // the others answer and fill the cache.
    let directory = scratch("timeouts");
    let (result, stdout) = common::run_workload_printing(
        &directory,
        "timeouts",
        r#"{
  "name": "timeouts", "keys": 40, "requests": 200, "warmup_requests": 0,
  "concurrency": 2, "value_size": 20, "timeout": "30ms",
  "slowdb": { "latency": { "kind": "exponential", "mean": "30ms" }, "missing_share": 0.0 },
  "cluster": { "nodes": 1 }
}"#,
        &[],
    );
    let client = &result.client;
    assert!(client.errors.timeout > 0, "{stdout}");
    let failed = client
        .failed_latency_us
        .as_ref()
        .expect("failures recorded");
    // At their time to failure: the timeout, not less.
    assert!(failed.min >= 30_000, "{failed:?}");
    let histogram = result.failed_histogram.as_ref().unwrap().decode().unwrap();
    assert_eq!(
        histogram.len(),
        client.errors.timeout + client.errors.connection
    );
    assert_eq!(
        result.histogram.decode().unwrap().len() + histogram.len(),
        client.requests
    );
    // Every request together reaches the failures' time.
    let all = client.all_latency_us.as_ref().unwrap();
    assert!(all.max >= failed.min && all.p99 >= client.latency_us.p99);
    assert!(
        stdout.contains("(closed loop: from each send, which makes it the service time; answered requests only)")
            && stdout.contains(&format!(
                "failed us   p50 {}",
                failed.p50
            ))
            && stdout.contains("all us      p50"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&directory).unwrap();
}
