//! Driving a cluster that is not ours: nodes that serve the API but have no
//! `/_stats` (another GeeCache implementation). The summary and the result
//! say which peers could not be read and why, show the target and its
//! peers, and mark every setting no node reported as unknown instead of
//! printing the workload's as if it were the target's.

use crate::common;

use common::{next_request_head, read_checked, run, run_target, scratch, text};
use geecache_bench::harness::report::SettingOrigin;
use tokio::io::AsyncWriteExt;

/// A node of another implementation: `GET /api?key=K` answers the key's
/// value, anything else 404; keep-alive, one request at a time.
async fn foreign_node() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                while let Some(head) = next_request_head(&mut stream, &mut buffer).await {
                    let path = head.split_whitespace().nth(1).unwrap_or("");
                    let (status, body) = match path.strip_prefix("/api?key=") {
                        Some(key) => ("200 OK", format!("value of {key}")),
                        None => ("404 Not Found", "no such page".to_owned()),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, task)
}

#[test]
fn peers_without_stats_are_named_and_the_targets_settings_marked_unknown() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<(u16, tokio::task::JoinHandle<()>)> = runtime.block_on(async {
        vec![
            foreign_node().await,
            foreign_node().await,
            foreign_node().await,
        ]
    });
    let peers: Vec<String> = nodes
        .iter()
        .map(|(port, _)| format!("http://127.0.0.1:{port}"))
        .collect();
    let target = format!("{}/api", peers[0]);
    let directory = scratch("target-foreign");
    let out = directory.join("foreign.json");
    let output = run_target(&target, &peers, 500, &out);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = text(&output.stdout);
    let result = read_checked(&out);
    assert_eq!(result.client.ok, 500);
    assert!(result.cluster.is_none());

    // Each peer's problem, in the result and in the summary.
    for (node, url) in result.nodes.iter().zip(&peers) {
        assert_eq!(&node.url, url);
        assert_eq!(node.stats_error.as_deref(), Some("answered 404 Not Found"));
    }
    let problems: Vec<String> = peers
        .iter()
        .map(|url| format!("{url} answered 404 Not Found"))
        .collect();
    assert!(
        summary.contains(&format!(
            "cluster figures: absent: no node's /_stats could be read: {}",
            problems.join("; ")
        )),
        "{summary}"
    );
    assert!(!summary.contains("give --peers"), "{summary}");

    // The first line shows the target and what is known of it; the
    // workload's settings are not passed off as the target's.
    let first = summary.lines().next().unwrap();
    assert!(
        first.contains(&format!(
            "target {target}  3 nodes given by --peers  replicas unknown  hash unknown  \
             cache size unknown  singleflight unknown  hot cache unknown"
        )),
        "{first}"
    );
    assert!(!first.contains("0 nodes"), "{first}");
    assert_eq!(
        summary.lines().nth(1).unwrap(),
        format!("peers  {}", peers.join("  "))
    );
    let settings = result.target_settings.expect("target settings");
    assert_eq!(
        (settings.nodes.value, settings.nodes.source),
        (3, SettingOrigin::Given)
    );
    for source in [
        settings.replicas.source,
        settings.hash.source,
        settings.cache_bytes.source,
        settings.singleflight.source,
        settings.hot_cache.source,
    ] {
        assert_eq!(source, SettingOrigin::Assumed);
    }

    // Without --peers: the target alone, its nodes unknown.
    let bare = directory.join("bare.json");
    let output = run_target(&target, &[], 200, &bare);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = text(&output.stdout);
    assert!(
        summary.contains("cluster figures: absent (give --peers to read each node's /_stats)"),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .next()
            .unwrap()
            .contains("nodes unknown  replicas unknown"),
        "{summary}"
    );
    let settings = read_checked(&bare).target_settings.unwrap();
    assert_eq!(settings.nodes.source, SettingOrigin::Assumed);
    // compare lists what is known of each target among the differences.
    let output = run(&[
        "compare",
        out.to_str().unwrap(),
        bare.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let comparison: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let fields: Vec<&str> = comparison["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|difference| difference["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"target_settings.nodes.source"),
        "{fields:?}"
    );
    for (_, task) in nodes {
        task.abort();
    }
}

#[test]
fn an_unreadable_peer_is_warned_about_once_and_its_ring_share_is_unknown() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<(u16, tokio::task::JoinHandle<()>)> =
        runtime.block_on(async { vec![foreign_node().await, foreign_node().await] });
    let peers: Vec<String> = nodes
        .iter()
        .map(|(port, _)| format!("http://127.0.0.1:{port}"))
        .collect();
    let target = format!("{}/api", peers[0]);
    let directory = scratch("target-warn-once");
    let out = directory.join("warned.json");
    let joined = peers.join(",");
    // Ten 100 ms intervals: the counters are read at each interval's end.
    let output = run(&[
        "--workload",
        "ci",
        "--target",
        &target,
        "--peers",
        &joined,
        "--duration",
        "1s",
        "--interval",
        "100ms",
        "--warmup",
        "0",
        "--no-calibrate",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    for url in &peers {
        let first = format!("{url}: /_stats answered 404 Not Found");
        assert_eq!(
            stderr.lines().filter(|line| line.contains(&first)).count(),
            1,
            "{stderr}"
        );
        let total = stderr
            .lines()
            .find(|line| line.contains(&format!("{url}: /_stats could not be read ")))
            .unwrap_or_else(|| panic!("no count for {url} in\n{stderr}"));
        let count: u64 = total
            .split("could not be read ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|count| count.parse().ok())
            .unwrap();
        assert!(count >= 10, "{total}");
    }
    // The ring's replicas and hash are unknown: so are shares and keys.
    let result = read_checked(&out);
    for node in &result.nodes {
        assert_eq!((node.ring_share, node.keys_owned), (None, None));
    }
    let summary = text(&output.stdout);
    let row = summary
        .lines()
        .find(|line| line.contains(&peers[1]) && line.trim_start().starts_with('1'))
        .unwrap_or_else(|| panic!("no node row in\n{summary}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[3..5], ["-", "-"], "{row}");
    for (_, task) in nodes {
        task.abort();
    }
}
