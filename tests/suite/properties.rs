//! Bad input, thrown systematically: arbitrary request lines, paths,
//! queries and headers at a live node (never a panic, never a 5xx, the node
//! serves on afterwards), and arbitrary workload JSON (an error that names
//! the problem, or a workload that validates; never a panic).

use crate::common;

use std::sync::OnceLock;
use std::time::Duration;

use common::{Cluster, EchoDb};
use geecache_bench::geecache::GroupOptions;
use geecache_bench::harness::workload;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// One runtime and one live two-node cluster for every case.
fn live() -> &'static (Runtime, std::net::SocketAddr) {
    static LIVE: OnceLock<(Runtime, std::net::SocketAddr)> = OnceLock::new();
    LIVE.get_or_init(|| {
        let runtime = Runtime::new().unwrap();
        let addr = runtime.block_on(async {
            let cluster: Cluster<EchoDb> =
                Cluster::start(2, 0, "scores", GroupOptions::default()).await;
            let addr = cluster.nodes[0].addr();
            // The nodes live as long as the test process.
            std::mem::forget(cluster);
            addr
        });
        (runtime, addr)
    })
}

/// Sends `raw` on a fresh connection and returns the status the node
/// answered, or `None` when it closed the connection without one.
fn send(raw: &[u8]) -> Option<u16> {
    let (runtime, addr) = live();
    runtime.block_on(async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        // A node may close on a request it refuses before reading it all.
        let _ = stream.write_all(raw).await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("the node answers or closes within 5 s");
        if read.is_err() && answer.is_empty() {
            return None;
        }
        let line = answer.split(|&byte| byte == b'\r').next()?;
        let line = std::str::from_utf8(line).ok()?;
        line.split(' ').nth(1)?.parse().ok()
    })
}

/// Request targets: real routes, broken escapes, odd bytes, long runs.
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        "/geecache/[a-z%/ ]{0,12}/[ -~]{0,24}",
        "/api\\?[a-z=&%+]{0,30}",
        "/_stats[ -~]{0,8}",
        "/metrics",
        "[ -~]{0,64}",
        "/[\\x00-\\x7f]{0,40}",
        "/%[0-9a-zA-Z%]{0,6}",
        "\\*",
    ]
}

fn head_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9:_-]{1,16}: [ -~]{0,40}",
        "[ -~]{0,60}",
        "Content-Length: [0-9a-z-]{0,6}",
        "Transfer-Encoding: [a-z, ]{0,20}",
        "Host:",
    ]
}

#[test]
fn a_node_answers_any_request_with_a_status_below_500() {
    // Half well formed (a real method, version and headers around any
    // target), half anything at all.
    let well_formed = (
        prop_oneof!["GET", "POST", "HEAD"],
        target(),
        Just("HTTP/1.1".to_owned()),
        proptest::collection::vec("X-[A-Za-z]{1,8}: [a-z0-9 ]{0,20}", 0..3).prop_map(
            |mut headers| {
                headers.push("Host: node".to_owned());
                headers
            },
        ),
    );
    let junk = (
        prop_oneof!["GET", "POST", "PUT", "DELETE", "[A-Z]{1,10}", "[ -~]{0,8}"],
        target(),
        prop_oneof!["HTTP/1.1", "HTTP/1.0", "HTTP/[0-9].[0-9]", "[ -~]{0,8}"],
        proptest::collection::vec(head_line(), 0..6),
    );
    let request = prop_oneof![well_formed, junk];
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<Option<u16>, u32>::new());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(400)
    });
    runner
        .run(&request, |(method, target, version, headers)| {
            let mut raw = format!("{method} {target} {version}\r\n");
            for header in &headers {
                raw.push_str(header);
                raw.push_str("\r\n");
            }
            raw.push_str("Connection: close\r\n\r\n");
            let status = send(raw.as_bytes());
            *statuses.lock().unwrap().entry(status).or_default() += 1;
            if let Some(status) = status {
                prop_assert!(status < 500, "{status} for {raw:?}");
            }
            Ok(())
        })
        .unwrap();
    // The storm reached every kind of answer: served, refused as malformed,
    // not found.
    let statuses = statuses.into_inner().unwrap();
    for expected in [200, 400, 404] {
        assert!(statuses.contains_key(&Some(expected)), "{statuses:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_workload_is_parsed_or_refused_by_name(text in workload_json()) {
        match workload::parse(&text, "prop", "prop") {
            Ok(parsed) => {
                // A workload that parses has passed every check: its
                // values are in range.
                prop_assert!(parsed.keys >= 1 && parsed.concurrency >= 1);
                prop_assert!(parsed.cluster.nodes >= 1);
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.starts_with("prop"), "{message}");
                prop_assert!(message.len() > 6, "{message}");
            }
        }
    }
}

/// JSON objects with the workload's fields (and some others) holding any
/// kind of value, and text that is not JSON at all.
fn workload_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e12f64..1e12).prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof!["1ms", "10s", "-1s", "0s", "16MiB", "0", "1e9h", "zipf", "fixed"]
            .prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(field(), inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    });
    prop_oneof![
        4 => proptest::collection::btree_map(field(), value, 0..6)
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect()).to_string()),
        1 => "[ -~]{0,40}",
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![
            "name",
            "keys",
            "requests",
            "duration",
            "warmup_requests",
            "concurrency",
            "rate",
            "value_size",
            "seed",
            "timeout",
            "time_limit",
            "interval",
            "distribution",
            "slowdb",
            "cluster",
            "events",
            "kind",
            "exponent",
            "latency",
            "value",
            "mean",
            "missing_share",
            "nodes",
            "replicas",
            "hash",
            "cache_bytes",
            "singleflight",
            "hot_cache",
            "peer_timeout",
            "base_path",
            "max_connections",
            "at",
            "at_request",
            "action",
            "node",
            "offset",
            "error_share",
            "delay",
            "keep_cache"
        ],
        "[a-z_]{1,10}",
    ]
}

#[test]
fn the_node_still_serves_after_the_storm() {
    // Runs after or beside the property tests: either way the node must
    // answer a well-formed get.
    let status = send(b"GET /api?key=calm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, Some(200));
}
