//! End-to-end tests of the harness: the real binary against real clusters on
//! 127.0.0.1, checked through the result files it writes.

use crate::common;

use common::{free_ports, read_checked, run, run_target, scratch, text, Servers};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use geecache_bench::geecache::{HashRing, NodeStats};
use geecache_bench::harness::cluster::Cluster;
use geecache_bench::harness::driver::{Control, Driver, DriverConfig, KeySampler, Phase};
use geecache_bench::harness::report::Mode;
use geecache_bench::harness::slowdb::{SlowDb, ValueSizes};
use geecache_bench::harness::workload::{self, Bound};

fn group_loads(stats: &NodeStats) -> u64 {
    stats
        .groups
        .values()
        .map(|group| group.stats.local_loads + group.stats.local_load_errs)
        .sum()
}

#[test]
fn a_ci_run_on_three_nodes_writes_a_consistent_result() {
    let directory = scratch("ci");
    let out = directory.join("ci.json");
    let output = run(&[
        "--nodes",
        "3",
        "--workload",
        "workloads/ci.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("result: {}", out.display())),
        "{stdout}"
    );
    assert!(stdout.contains("peer-fetch ratio"), "{stdout}");

    let result = read_checked(&out);
    let workload = &result.workload;
    let client = &result.client;
    assert_eq!(result.mode, Mode::Cluster);
    assert_eq!(workload.bound(), Bound::Requests(client.requests));
    // Every request was answered, rightly, and recorded once.
    let histogram = result.histogram.decode().unwrap();
    assert_eq!(histogram.len(), client.requests);
    assert_eq!(client.responses, client.requests);
    assert_eq!(client.ok, client.requests);
    assert_eq!(client.errors.total, 0);
    assert_eq!(client.latency_us.max, histogram.max());
    // The process's CPU time over the measurement: some, and no more than
    // every core for its whole span (10 ms of slack for the readings).
    let cpu = client.cpu_us_per_request.expect("cpu per request") * client.requests as f64;
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    assert!(cpu > 0.0, "{cpu}");
    assert!(
        cpu <= client.duration_secs * 1e6 * cores + 10_000.0,
        "{cpu} us of CPU in {} s on {cores} cores",
        client.duration_secs
    );
    assert_eq!(
        result.trials[0].cpu_us_per_request,
        client.cpu_us_per_request
    );
    // Nodes sharing this process cannot tell their CPU apart: none reports it.
    assert!(result
        .nodes
        .iter()
        .all(|node| node.stats.as_ref().unwrap().process_cpu_us.is_none()));
    assert!(
        stdout.contains(&format!(
            "process CPU us / request {:.2}  (the driver and the cluster in this process",
            client.cpu_us_per_request.unwrap()
        )),
        "{stdout}"
    );
    let series_total: u64 = result
        .series
        .iter()
        .map(|interval| interval.client.requests)
        .sum();
    assert_eq!(series_total, client.requests);
    // The cluster's counters, read at each interval's end, add up to the
    // run's totals.
    let cluster_of = |at: usize| result.series[at].cluster.as_ref().expect("cluster series");
    let loads: u64 = (0..result.series.len())
        .map(|at| cluster_of(at).slowdb_loads)
        .sum();
    let peer_fetches: u64 = (0..result.series.len())
        .map(|at| cluster_of(at).peer_fetches)
        .sum();
    let api_hits: u64 = (0..result.series.len())
        .map(|at| cluster_of(at).api_hits.unwrap())
        .sum();
    let api_stats = result.nodes[0].stats.as_ref().unwrap().groups["scores"].stats;
    assert_eq!(loads, result.cluster.as_ref().unwrap().slowdb.loads);
    assert_eq!(peer_fetches, api_stats.peer_loads);
    assert_eq!(api_hits, api_stats.cache_hits);
    assert!(result
        .series
        .iter()
        .all(|interval| cluster_of(interval.client.interval as usize).nodes.len() == 3));
    // One keep-alive connection per worker, warm-up included.
    assert_eq!(client.connections, u64::from(workload.concurrency));

    let cluster = result.cluster.as_ref().expect("cluster figures");
    // The loopback limit was measured, and the run's fraction of it follows
    // from its peer-fetch ratio.
    let calibration = result.calibration.as_ref().expect("calibrated by default");
    assert!(calibration.one_hop.throughput_rps > 0.0 && calibration.two_hop.throughput_rps > 0.0);
    let share = cluster.peer_fetch_ratio.unwrap();
    let limit = 1.0
        / ((1.0 - share) / calibration.one_hop.throughput_rps
            + share / calibration.two_hop.throughput_rps);
    assert!((calibration.blended_limit_rps.unwrap() - limit).abs() < 1e-6 * limit);
    assert!((calibration.limit_fraction.unwrap() - client.throughput_rps / limit).abs() < 1e-9);
    let slowdb = &cluster.slowdb;
    let keys_loaded = slowdb.keys_loaded.unwrap();
    assert!(keys_loaded > 0);
    assert!(slowdb.loads >= keys_loaded);
    assert_eq!(slowdb.duplicate_loads, Some(slowdb.loads - keys_loaded));
    assert_eq!(cluster.api_gets, Some(client.requests));
    assert_eq!(result.nodes.len(), 3);
    let node_loads: u64 = result
        .nodes
        .iter()
        .map(|node| node.slowdb_loads.unwrap())
        .sum();
    assert_eq!(node_loads, slowdb.loads);
    // The store's count and the groups' own counters agree, node by node.
    for node in &result.nodes {
        assert_eq!(
            node.slowdb_loads,
            node.stats.as_ref().map(group_loads),
            "node {}",
            node.index
        );
    }
    let api = &result.nodes[0];
    assert!(api.api && result.nodes[1..].iter().all(|node| !node.api));
    let api_group = &api.stats.as_ref().unwrap().groups["scores"].stats;
    assert_eq!(
        cluster.peer_fetch_ratio,
        Some(api_group.peer_loads as f64 / client.requests as f64)
    );
    // Peers were asked exactly as often as the API node fetched from them.
    let served_to_peers: u64 = result.nodes[1..]
        .iter()
        .map(|node| {
            node.stats.as_ref().unwrap().groups["scores"]
                .stats
                .server_requests
        })
        .sum();
    assert_eq!(served_to_peers, api_group.peer_loads);
    // Nodes are named on the ring as in the source document, whatever port
    // they listen on, so the placement is the same in every run: the one a
    // ring over those names gives.
    let mut ring = HashRing::new(workload.cluster.replicas as usize, workload.cluster.hash);
    ring.add((0..3).map(|index| format!("http://localhost:{}", 8001 + index)));
    for node in &result.nodes {
        assert_eq!(node.url, format!("http://localhost:{}", 8001 + node.index));
        assert!(
            node.listen.starts_with("http://127.0.0.1:"),
            "{}",
            node.listen
        );
        let owned = (0..workload.keys)
            .filter(|&index| ring.get(&format!("key{index}")) == Some(node.url.as_str()))
            .count() as u64;
        assert_eq!(node.keys_owned, Some(owned));
    }
    // The ring splits the key space and the hash space among the nodes.
    let owned: u64 = result
        .nodes
        .iter()
        .map(|node| node.keys_owned.unwrap())
        .sum();
    assert_eq!(owned, workload.keys);
    let shares: f64 = result
        .nodes
        .iter()
        .map(|node| node.ring_share.unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "{shares}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_identical_pass_loads_nothing_new() {
    let loaded = workload::load("workloads/ci.json").unwrap();
    let workload = loaded.workload;
    let settings = workload.cluster;
    // The cache holds the whole key space.
    let key_space_bytes = workload.keys * (workload.value_size + 10);
    assert!(settings.cache_bytes.bytes() > key_space_bytes);
    assert!(settings.singleflight);

    let db = SlowDb::new(
        workload.keys,
        workload.value_size as usize,
        workload.slowdb,
        3,
    );
    let cluster = Cluster::start(&settings, db.clone(), None).await.unwrap();
    let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed).unwrap();
    let driver = Driver::new(DriverConfig {
        base_url: cluster.api_url().to_owned(),
        path_prefix: "/api?key=key".to_owned(),
        sampler: sampler.clone(),
        concurrency: 16,
        rate: None,
        timeout: Duration::from_secs(5),
        missing_share: 0.0,
        values: Some(ValueSizes::Fixed(workload.value_size as usize)),
        trace: None,
        shard: geecache_bench::harness::shard::Shard::WHOLE,
    })
    .unwrap();
    let requests = 5000;
    let phase = Phase::new(
        1,
        Bound::Requests(requests),
        Instant::now() + Duration::from_secs(120),
    );
    let control = Arc::new(Control::default());

    let start = db.snapshot();
    let first = driver.run(phase.clone(), &control).await;
    let middle = db.snapshot();
    let second = driver.run(phase, &control).await;
    let end = db.snapshot();
    assert_eq!(first.counts.ok, requests);
    assert_eq!(second.counts.ok, requests);

    let wanted: HashSet<u64> = (0..requests)
        .map(|request| sampler.index(1, request))
        .collect();
    let first_loads = middle.since(&start);
    assert_eq!(first_loads.keys_loaded, wanted.len() as u64);
    assert_eq!(
        first_loads.loads,
        wanted.len() as u64,
        "each key loaded once"
    );
    assert_eq!(first_loads.duplicate_loads, 0);
    let second_loads = end.since(&middle);
    assert_eq!(second_loads.loads, 0, "{second_loads:?}");
    cluster.shutdown().await;
}

#[test]
fn bad_workload_files_exit_2_and_name_the_field() {
    let directory = scratch("bad");
    let results = directory.join("results");
    let cases = [
        ("unknown", r#"{"keyz": 5}"#, "unknown field `keyz`"),
        (
            "unknown-nested",
            r#"{"cluster": {"node": 3}}"#,
            "cluster.node",
        ),
        ("type", r#"{"keys": "many"}"#, "keys: invalid type"),
        (
            "range",
            r#"{"keys": 0}"#,
            "keys: 0 is out of range: allowed 1 to 10000000",
        ),
        (
            "nodes",
            r#"{"cluster": {"nodes": 100}}"#,
            "cluster.nodes: 100 is out of range",
        ),
        (
            "size",
            r#"{"cluster": {"cache_bytes": "lots"}}"#,
            "cluster.cache_bytes",
        ),
        (
            "share",
            r#"{"slowdb": {"missing_share": 2}}"#,
            "slowdb.missing_share: 2 is out of range",
        ),
        (
            "kind",
            r#"{"distribution": {"kind": "pareto"}}"#,
            "distribution",
        ),
        (
            "exponent",
            r#"{"distribution": {"kind": "zipf", "exponent": 99}}"#,
            "distribution.exponent",
        ),
        (
            "latency",
            r#"{"slowdb": {"latency": {"kind": "fixed", "value": "2 days"}}}"#,
            "slowdb.latency: invalid duration",
        ),
        ("both", r#"{"requests": 10, "duration": "1s"}"#, "not both"),
        ("rate", r#"{"rate": -5}"#, "rate: -5 is out of range"),
        ("truncated", r#"{"keys": 10"#, "EOF"),
        ("empty", "", "EOF"),
        ("array", "[1, 2]", "invalid type"),
    ];
    for (name, content, expected) in cases {
        let path = directory.join(format!("{name}.json"));
        std::fs::write(&path, content).unwrap();
        let output = run(&[
            "--workload",
            path.to_str().unwrap(),
            "--results-dir",
            results.to_str().unwrap(),
        ]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{name}: the file is named: {stderr}"
        );
    }
    let flag_cases: [(&[&str], &str); 4] = [
        (&["--workload", "no-such-workload"], "not found"),
        (
            &["--workload", "ci", "--nodes", "0"],
            "cluster.nodes (set by --nodes): 0 is out of range",
        ),
        (
            &["--workload", "ci", "--cache-bytes", "12 furlongs"],
            "--cache-bytes",
        ),
        (
            &["--workload", "ci", "--target", "http://example.com:80/api"],
            "not a loopback address",
        ),
    ];
    for (args, expected) in flag_cases {
        let mut args = args.to_vec();
        args.extend(["--results-dir", results.to_str().unwrap()]);
        let output = run(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }
    // Nothing ran, so nothing was written.
    assert!(!results.exists());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let directory = scratch("port");
    let output = run(&[
        "--workload",
        "ci",
        "--base-port",
        &port.to_string(),
        "--results-dir",
        directory.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    drop(taken);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn serve_mode_answers_the_source_documents_demo_and_target_runs_read_its_nodes() {
    let ports = free_ports(4);
    let (nodes, api_port) = (&ports[..3], ports[3]);
    let servers = Servers::start(nodes, api_port);
    let api: std::net::SocketAddr = ([127, 0, 0, 1], api_port).into();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // run.sh: three concurrent curls for Tom.
        let answers = futures_join3(
            common::get(api, "/api?key=Tom"),
            common::get(api, "/api?key=Tom"),
            common::get(api, "/api?key=Tom"),
        )
        .await;
        for reply in answers {
            assert_eq!(reply.status, 200);
            assert_eq!(reply.text(), "630");
        }
        let kate = common::get(api, "/api?key=Kate").await;
        assert_eq!(kate.status, 500);
        assert!(kate.text().contains("Kate not exist"), "{}", kate.text());
        // Tom was searched once, Kate once, across the whole cluster.
        let mut loads = 0;
        let mut failed = 0;
        for port in nodes {
            let reply = common::get(([127, 0, 0, 1], *port).into(), "/_stats").await;
            let stats: NodeStats = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(stats.url, format!("http://localhost:{port}"));
            let group = &stats.groups["scores"].stats;
            loads += group.local_loads;
            failed += group.local_load_errs;
        }
        assert_eq!((loads, failed), (1, 1));
    });

    let directory = scratch("target");
    let peers: Vec<String> = nodes
        .iter()
        .map(|port| format!("http://localhost:{port}"))
        .collect();
    let target = format!("http://localhost:{api_port}/api");
    let out = directory.join("target.json");
    let output = run_target(&target, &peers, 3000, &out);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let result = read_checked(&out);
    assert_eq!(result.mode, Mode::Target);
    assert_eq!(result.target, target);
    assert_eq!(result.client.ok, 3000);
    let urls: Vec<&str> = result.nodes.iter().map(|node| node.url.as_str()).collect();
    assert_eq!(urls, peers);
    // The API listens on its own port, but belongs to the third node.
    let api_nodes: Vec<usize> = result
        .nodes
        .iter()
        .filter(|node| node.api)
        .map(|node| node.index)
        .collect();
    assert_eq!(api_nodes, [2]);
    // GeeCache nodes report their settings: every one is observed, and
    // the first line shows them as the target's.
    let settings = result.target_settings.as_ref().expect("target settings");
    assert_eq!(settings.nodes.value, 3);
    let cluster_settings = &result.workload.cluster;
    assert_eq!(settings.replicas.value, cluster_settings.replicas as usize);
    assert_eq!(settings.cache_bytes.value, cluster_settings.cache_bytes);
    assert_eq!(settings.singleflight.value, cluster_settings.singleflight);
    for source in [
        settings.nodes.source,
        settings.replicas.source,
        settings.hash.source,
        settings.cache_bytes.source,
        settings.singleflight.source,
        settings.hot_cache.source,
    ] {
        assert_eq!(
            source,
            geecache_bench::harness::report::SettingOrigin::Observed
        );
    }
    assert!(settings.disagree.is_empty());
    let first = text(&output.stdout).lines().next().unwrap().to_owned();
    assert!(first.contains("3 nodes on its ring"), "{first}");
    assert!(!first.contains("unknown"), "{first}");
    assert!(result.nodes.iter().all(|node| node.stats_error.is_none()));
    let cluster = result.cluster.expect("cluster figures from /_stats");
    let node_loads: u64 = result
        .nodes
        .iter()
        .map(|node| node.slowdb_loads.unwrap())
        .sum();
    assert_eq!(cluster.slowdb.loads, node_loads);
    assert!(cluster.slowdb.loads > 0);
    assert_eq!(cluster.api_gets, Some(3000));
    assert_eq!(cluster.slowdb.keys_loaded, None);
    let owned: u64 = result
        .nodes
        .iter()
        .map(|node| node.keys_owned.unwrap())
        .sum();
    assert_eq!(owned, result.workload.keys);
    // The series' cluster figures come from each peer's /_stats, read at
    // every interval's end, and add up to the run's.
    let series_loads: u64 = result
        .series
        .iter()
        .map(|interval| {
            interval
                .cluster
                .as_ref()
                .map_or(0, |cluster| cluster.slowdb_loads)
        })
        .sum();
    assert_eq!(series_loads, cluster.slowdb.loads);
    assert!(result.series.iter().all(|interval| interval
        .cluster
        .as_ref()
        .is_some_and(|cluster| cluster.nodes.len() == 3)));

    // Without --peers the cluster figures are marked absent.
    let bare = directory.join("bare.json");
    let output = run_target(&target, &[], 500, &bare);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let result = read_checked(&bare);
    assert!(result.cluster.is_none());
    assert!(result
        .series
        .iter()
        .all(|interval| interval.cluster.is_none()));
    assert!(result.nodes.is_empty());
    assert!(text(&output.stdout).contains("cluster figures: absent"));

    servers.stop();
    std::fs::remove_dir_all(&directory).unwrap();
}

/// Runs three futures at once.
async fn futures_join3<T>(
    a: impl std::future::Future<Output = T>,
    b: impl std::future::Future<Output = T>,
    c: impl std::future::Future<Output = T>,
) -> [T; 3] {
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}
