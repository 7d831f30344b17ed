//! Peers that break mid-answer: a node told to break its answers resets
//! the connection midway, cuts the body short, announces a wrong
//! `Content-Length` or stops after the head. The node asking it loads
//! locally and counts each kind apart (`/_stats`, `/metrics`); a client of
//! a broken API node sees each kind as its own error; and a scenario's
//! `break_node` shows all of it in a run's result. Real nodes on
//! 127.0.0.1, real HTTP.

use crate::common;

use std::time::Duration;

use common::{get, run, run_workload_printing, scratch, text, Cluster, EchoDb};
use geecache_bench::geecache::breakage::Breakage;
use geecache_bench::geecache::h1::Broken;
use geecache_bench::geecache::http::{ClientError, HttpClient};
use geecache_bench::geecache::GroupOptions;

/// What each breakage looks like to the client that reads it.
const SEEN_AS: [(Breakage, Broken); 4] = [
    (Breakage::Reset, Broken::Reset),
    (Breakage::Truncate, Broken::Truncated),
    (Breakage::WrongLength, Broken::Malformed),
    (Breakage::Stall, Broken::Stalled),
];

/// The peer timeout of the clusters here: a stalled answer costs this.
const PEER_TIMEOUT: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_peer_answer_is_counted_by_kind_and_the_asker_loads_locally() {
    let cluster = Cluster::<EchoDb>::start_with(2, 0, "g", GroupOptions::default(), |_, config| {
        config.peer_timeout = PEER_TIMEOUT;
    })
    .await;
    let api = cluster.nodes[0].addr();
    let mut owned = (0..)
        .map(|i| format!("key{i}"))
        .filter(|key| cluster.owner_of(key) == 1);
    for (count, (breakage, kind)) in SEEN_AS.into_iter().enumerate() {
        cluster.nodes[1].set_breakage(Some(breakage), 1.0);
        let key = owned.next().unwrap();
        let reply = get(api, &format!("/api?key={key}")).await;
        // The API node loaded the value itself, whole.
        assert_eq!(
            (reply.status, reply.text()),
            (200, format!("value-of:{key}")),
            "{breakage}"
        );
        let stats = cluster.nodes[0].stats().groups["g"].stats;
        let counted = [
            (Broken::Reset, stats.peer_resets),
            (Broken::Truncated, stats.peer_truncated),
            (Broken::Stalled, stats.peer_stalled),
            (Broken::Malformed, stats.peer_malformed),
        ];
        // This kind once more; every other as before.
        for (seen, value) in counted {
            let expected = SEEN_AS[..=count]
                .iter()
                .filter(|(_, earlier)| *earlier == seen)
                .count() as u64;
            assert_eq!(value, expected, "{breakage}: {seen} counted {value}");
        }
        assert_eq!(stats.peer_errors, count as u64 + 1, "{breakage}");
        assert_eq!(stats.peer_loads, 0, "{breakage}");
        assert_eq!(stats.local_loads, count as u64 + 1, "{breakage}");
        // The owner counts what it broke.
        let sent = cluster.nodes[1].broken_sent();
        let sent_of = sent
            .named()
            .into_iter()
            .find(|(how, _)| *how == breakage)
            .unwrap()
            .1;
        assert_eq!((sent_of, sent.total()), (1, count as u64 + 1), "{breakage}");
        let this_kind = counted.iter().find(|(seen, _)| *seen == kind).unwrap().1;
        assert_eq!(this_kind, 1, "{breakage} is seen as {kind}");
    }
    // The broken node's own figures stay readable, and say it all.
    let owner = cluster.nodes[1].addr();
    let stats = get(owner, "/_stats").await;
    assert_eq!(stats.status, 200);
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    assert_eq!(stats["broken_sent"]["wrong_length"], 1, "{stats}");
    let metrics = get(api, "/metrics").await.text();
    for line in [
        "geecache_group_peer_resets_total{group=\"g\"} 1",
        "geecache_group_peer_truncated_total{group=\"g\"} 1",
        "geecache_group_peer_stalled_total{group=\"g\"} 1",
        "geecache_group_peer_malformed_total{group=\"g\"} 1",
        "geecache_group_peer_errors_total{group=\"g\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    let metrics = get(owner, "/metrics").await.text();
    assert!(
        metrics.contains("geecache_broken_answers_total{how=\"stall\"} 1"),
        "{metrics}"
    );
    // Mended, the owner answers whole again.
    cluster.nodes[1].set_breakage(None, 1.0);
    let key = owned.next().unwrap();
    get(api, &format!("/api?key={key}")).await;
    let stats = cluster.nodes[0].stats().groups["g"].stats;
    assert_eq!((stats.peer_loads, stats.peer_errors), (1, 4));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_broken_api_node_sees_each_kind_as_its_own_error() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let client = HttpClient::new(cluster.nodes[0].url(), PEER_TIMEOUT).unwrap();
    for (breakage, kind) in SEEN_AS {
        cluster.nodes[0].set_breakage(Some(breakage), 1.0);
        match client.get("/api?key=k").await {
            Err(ClientError::Broken {
                kind: seen,
                message,
            }) => {
                assert_eq!(seen, kind, "{breakage}: {message}");
                assert!(
                    message.contains(&cluster.nodes[0].addr().to_string()),
                    "{message}"
                );
            }
            other => panic!("{breakage}: {other:?}"),
        }
        // The next request, on a new connection or the kept one, is whole.
        cluster.nodes[0].set_breakage(None, 1.0);
        let (status, body) = client.get("/api?key=k").await.unwrap();
        assert_eq!((status.as_u16(), &body[..]), (200, &b"value-of:k"[..]));
    }
    // A share breaks that share, evenly: every second answer here.
    cluster.nodes[0].set_breakage(Some(Breakage::Truncate), 0.5);
    let mut broken = 0;
    for _ in 0..10 {
        if client.get("/api?key=k").await.is_err() {
            broken += 1;
        }
    }
    assert_eq!(broken, 5);
    assert_eq!(cluster.nodes[0].broken_sent().truncate, 6);
    cluster.shutdown().await;
}

#[test]
fn a_scenario_breaks_a_peer_and_the_api_node_and_the_result_counts_each_kind() {
    let directory = scratch("breakage");
    // Three nodes, the caches too small to keep much, so that peers answer
    // all along. Node 1 resets its answers from 0.5 s to 1 s and sends a
    // wrong length from 1 s to 1.5 s; the API node cuts a quarter of its
    // answers short from 2 s to 2.5 s.
    let workload = r#"{
        "keys": 2000, "distribution": { "kind": "uniform" }, "duration": "3s",
        "warmup_requests": 500, "concurrency": 4, "interval": "250ms",
        "slowdb": { "latency": { "kind": "none" } },
        "cluster": { "nodes": 3, "cache_bytes": "1B", "peer_timeout": "500ms" },
        "events": [
            { "at": "500ms", "action": "break_node", "node": 1, "how": "reset" },
            { "at": "1s", "action": "break_node", "node": 1, "how": "wrong_length" },
            { "at": "1500ms", "action": "break_node", "node": 1, "how": "none" },
            { "at": "2s", "action": "break_node", "node": 0, "how": "truncate", "share": 0.25 },
            { "at": "2500ms", "action": "break_node", "node": 0, "how": "none" }
        ]
    }"#;
    let (result, printed) = run_workload_printing(&directory, "breakage", workload, &[]);
    assert!(result
        .events
        .iter()
        .all(|event| event.applied && event.error.is_none()));
    let cluster = result.cluster.as_ref().unwrap();
    let node = |index: usize| result.nodes[index].stats.as_ref().unwrap();
    let sent = node(1).broken_sent;
    assert!(sent.reset > 0 && sent.wrong_length > 0, "{sent:?}");
    assert_eq!((sent.truncate, sent.stall), (0, 0));
    // Every answer node 1 broke was a peer's answer, counted by its kind.
    assert_eq!(cluster.peer_broken.reset, sent.reset, "{cluster:?}");
    assert_eq!(
        cluster.peer_broken.malformed, sent.wrong_length,
        "{cluster:?}"
    );
    assert_eq!(cluster.peer_broken.truncated, 0);
    // The API node's broken answers are the driver's, and nothing else
    // failed: peers' broken answers were loaded locally instead.
    let api_sent = node(0).broken_sent;
    assert!(api_sent.truncate > 0, "{api_sent:?}");
    let errors = &result.client.errors;
    assert_eq!(errors.broken.truncated, api_sent.truncate, "{errors:?}");
    assert_eq!(errors.total, errors.broken.total(), "{errors:?}");
    assert_eq!(errors.broken.total(), api_sent.total(), "{errors:?}");
    // The summary names them.
    for named in [
        format!("broken answers: {} truncated", api_sent.truncate),
        format!(
            "peer errors {} (broken answers: {} reset, {} malformed)",
            cluster.peer_errors, sent.reset, sent.wrong_length
        ),
        format!(
            "answers broken on purpose  node 0: {} truncate; node 1: {} reset, {} wrong_length",
            api_sent.truncate, sent.reset, sent.wrong_length
        ),
    ] {
        assert!(printed.contains(&named), "{named} not in\n{printed}");
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn break_node_is_checked_before_the_run_and_the_model_refuses_it() {
    let directory = scratch("breakage-checks");
    for (event, says) in [
        (
            r#"{ "at": "1s", "action": "break_node", "node": 1, "how": "melt" }"#,
            "how \"melt\" is not a breakage: reset, truncate",
        ),
        (
            r#"{ "at": "1s", "action": "break_node", "node": 1, "how": "reset", "share": 0 }"#,
            "events[0].share",
        ),
        (
            r#"{ "at": "1s", "action": "break_node", "node": 7, "how": "stall" }"#,
            "events[0].node",
        ),
    ] {
        let file = directory.join("bad.json");
        std::fs::write(
            &file,
            format!(r#"{{ "duration": "2s", "cluster": {{ "nodes": 2 }}, "events": [{event}] }}"#),
        )
        .unwrap();
        let output = run(&["--workload", file.to_str().unwrap(), "--no-calibrate"]);
        assert_eq!(output.status.code(), Some(2), "{event}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(says), "{event}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let file = directory.join("model.json");
    std::fs::write(
        &file,
        r#"{ "requests": 1000, "cluster": { "nodes": 2 },
             "events": [{ "at_request": 10, "action": "break_node", "node": 1, "how": "stall" }] }"#,
    )
    .unwrap();
    let output = run(&["simulate", "--workload", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("break_node"), "{stderr}");
    std::fs::remove_dir_all(&directory).unwrap();
}
