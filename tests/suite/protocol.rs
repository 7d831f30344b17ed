//! The peer protocol on real nodes: statuses, escaping, the client's
//! keep-alive pool and timeout, dead peers and clean shutdown.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{get, raw_request, Cluster, EchoDb};
use geecache_bench::geecache::h1::ConnectionError;
use geecache_bench::geecache::http::{HttpClient, HttpGetter};
use geecache_bench::geecache::path::{peer_path, BASE_PATH};
use geecache_bench::geecache::{
    Group, GroupOptions, Node, NodeConfig, NodeError, NodeStats, PeerError, PeerGetter,
};

fn getter(node: &Node, timeout: Duration) -> HttpGetter {
    HttpGetter::new(node.url(), timeout)
}

const AWKWARD_KEYS: [&str; 12] = [
    "a b",
    "a/b",
    "/",
    "a//b",
    "/lead",
    "trail/",
    "100%",
    "%41",
    "a+b",
    "ключ",
    "日本語",
    "?x=1&y#z",
];

#[tokio::test]
async fn statuses_follow_the_protocol() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let addr = cluster.nodes[0].addr();

    let ok = get(addr, "/geecache/g/key1").await;
    assert_eq!((ok.status, ok.text().as_str()), (200, "value-of:key1"));
    assert_eq!(ok.header("content-type"), Some("application/octet-stream"));

    for path in [
        "/geecache/g",
        "/geecache//key1",
        "/geecache/g/%zz",
        "/geecache/g/%ff",
    ] {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        assert!(
            reply.text().contains("malformed"),
            "{path}: {}",
            reply.text()
        );
    }
    let empty_key = get(addr, "/geecache/g/").await;
    assert_eq!(
        (empty_key.status, empty_key.text().trim_end()),
        (400, "key is required")
    );

    let unknown = get(addr, "/geecache/nope/key1").await;
    assert_eq!(
        (unknown.status, unknown.text().trim_end()),
        (404, "no such group: nope")
    );

    let failed = get(addr, "/geecache/g/missing1").await;
    assert_eq!(
        (failed.status, failed.text().trim_end()),
        (500, "missing1 not exist")
    );

    let posted = raw_request(addr, "POST", "/geecache/g/key1").await;
    assert_eq!(posted.status, 405);
    assert_eq!(get(addr, "/elsewhere").await.status, 404);
    cluster.shutdown().await;
}

#[tokio::test]
async fn awkward_keys_round_trip_through_the_client() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "my group/1", GroupOptions::default()).await;
    let peer = getter(&cluster.nodes[0], Duration::from_secs(5));
    for key in AWKWARD_KEYS {
        let value = peer.get("my group/1", key).await.unwrap();
        assert_eq!(value.to_string(), format!("value-of:{key}"), "{key}");
    }
    let loaded = cluster.stores[0].loads.lock().unwrap().clone();
    assert_eq!(loaded, AWKWARD_KEYS.to_vec());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_keys_round_trip_through_the_api_and_peers() {
    let cluster = Cluster::<EchoDb>::start(3, 0, "g", GroupOptions::default()).await;
    let api = cluster.nodes[0].addr();
    let mut owners = [0usize; 3];
    for key in AWKWARD_KEYS {
        let target = format!("/api?key={}", geecache_bench::geecache::path::escape(key));
        let reply = get(api, &target).await;
        assert_eq!(
            (reply.status, reply.text()),
            (200, format!("value-of:{key}")),
            "{key}"
        );
        let owner = cluster.owner_of(key);
        owners[owner] += 1;
        let loads = cluster.stores[owner].loads.lock().unwrap().clone();
        assert!(
            loads.contains(&key.to_string()),
            "{key} not loaded on its owner {owner}"
        );
    }
    assert!(
        owners[1] + owners[2] > 0,
        "some keys must cross to a peer: {owners:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn stats_are_served_as_json() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let addr = cluster.nodes[0].addr();
    get(addr, "/geecache/g/key1").await;
    get(addr, "/geecache/g/key1").await;
    let reply = get(addr, "/_stats").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let stats: NodeStats = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(stats.url, cluster.nodes[0].url());
    let group = &stats.groups["g"];
    assert_eq!(group.stats.server_requests, 2);
    assert_eq!(group.stats.gets, 2);
    assert_eq!(group.stats.cache_hits, 1);
    assert_eq!(group.stats.local_loads, 1);
    assert_eq!(group.main_cache.items, 1);
    assert_eq!(
        group.main_cache.bytes as usize,
        "key1".len() + "value-of:key1".len()
    );
    // The in-process snapshot agrees with what was served.
    assert_eq!(stats.groups, cluster.nodes[0].stats().groups);
    assert!(stats.connections >= 3);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reuses_keep_alive_connections() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let node = &cluster.nodes[0];
    let peer = Arc::new(getter(node, Duration::from_secs(5)));
    let opened = || peer.client().unwrap().connections_opened();
    for i in 0..200 {
        peer.get("g", &format!("key{}", i % 20)).await.unwrap();
    }
    assert_eq!(opened(), 1, "sequential requests share one connection");
    assert_eq!(node.stats().connections, 1);

    // Bursts of 16 need at most 16 connections, however many bursts come:
    // idle connections wait in the pool for the next one.
    let in_flight = 16;
    for round in 0..20 {
        let burst = (0..in_flight).map(|i| {
            let peer = Arc::clone(&peer);
            tokio::spawn(async move { peer.get("g", &format!("key{round}-{i}")).await })
        });
        for fetch in burst.collect::<Vec<_>>() {
            fetch.await.unwrap().unwrap();
        }
    }
    assert!(
        opened() <= in_flight,
        "{} connections for {in_flight} in flight",
        opened()
    );
    assert_eq!(node.stats().connections, opened());
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced() {
    // A node restarted on the same port: the client's pooled connection is
    // dead, and the next request must still succeed.
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let addr = cluster.nodes[0].addr();
    let client = HttpClient::new(cluster.nodes[0].url(), Duration::from_secs(5)).unwrap();
    assert_eq!(
        client
            .get(&peer_path(BASE_PATH, "g", "key1"))
            .await
            .unwrap()
            .0,
        200
    );
    cluster.shutdown().await;

    let config = NodeConfig {
        addr,
        ..NodeConfig::default()
    };
    let group = Arc::new(geecache_bench::geecache::Group::new(
        "g",
        GroupOptions::default(),
        EchoDb::default(),
    ));
    let restarted = Node::start(config, vec![group]).await.unwrap();
    let (status, body) = client
        .get(&peer_path(BASE_PATH, "g", "key2"))
        .await
        .unwrap();
    assert_eq!((status.as_u16(), &body[..]), (200, &b"value-of:key2"[..]));
    assert_eq!(client.connections_opened(), 2);
    restarted.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_never_answers_times_out() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    // Accept connections and hold them open without a word.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let peer = HttpGetter::new(url.clone(), Duration::from_millis(200));
    let error = peer.get("g", "key").await.unwrap_err();
    assert_eq!(
        error,
        PeerError::Timeout {
            peer: url,
            after: Duration::from_millis(200)
        }
    );
    holder.abort();
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let peer = HttpGetter::new(url.clone(), Duration::from_secs(5));
    match peer.get("g", "key").await {
        Err(PeerError::Connection { peer, source }) => {
            assert_eq!(peer, url);
            assert_eq!(
                source.kind(),
                Some(std::io::ErrorKind::ConnectionRefused),
                "{source}"
            );
            assert!(
                matches!(source, ConnectionError::Connect { .. }),
                "{source}"
            );
            assert!(
                source
                    .to_string()
                    .starts_with(&format!("connecting to {}: ", &url[7..])),
                "{source}"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_owner_is_replaced_by_a_local_load() {
    let mut cluster = Cluster::<EchoDb>::start(3, 0, "g", GroupOptions::default()).await;
    let key = (0..)
        .map(|i| format!("key{i}"))
        .find(|key| cluster.owner_of(key) == 2)
        .unwrap();
    let owner = cluster.nodes.remove(2);
    owner.shutdown().await;

    let api = cluster.nodes[0].addr();
    let reply = get(api, &format!("/api?key={key}")).await;
    assert_eq!(
        (reply.status, reply.text()),
        (200, format!("value-of:{key}"))
    );
    let stats = cluster.nodes[0].stats().groups["g"].stats;
    assert_eq!(
        (stats.peer_errors, stats.peer_loads, stats.local_loads),
        (1, 0, 1)
    );
    // Now cached on the API node: no second trip to the dead peer.
    get(api, &format!("/api?key={key}")).await;
    assert_eq!(cluster.nodes[0].stats().groups["g"].stats.peer_errors, 1);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let taken = cluster.nodes[0].addr();
    let config = NodeConfig {
        addr: taken,
        ..NodeConfig::default()
    };
    let error = Node::start(config, vec![])
        .await
        .err()
        .expect("the port is taken");
    assert!(matches!(error, NodeError::Bind { addr, .. } if addr == taken));
    let message = error.to_string();
    assert!(
        message.contains(&taken.to_string()) && message.contains("in use"),
        "{message}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_the_port_and_kept_alive_connections() {
    let cluster = Cluster::<EchoDb>::start(1, 0, "g", GroupOptions::default()).await;
    let node = &cluster.nodes[0];
    let addr = node.addr();
    let client = HttpClient::new(node.url(), Duration::from_secs(2)).unwrap();
    let path = peer_path(BASE_PATH, "g", "key1");
    assert_eq!(client.get(&path).await.unwrap().0, 200);
    cluster.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
    // The pooled connection was closed by the server, so the client fails
    // at once instead of hanging until its timeout.
    match client.get(&path).await {
        Err(geecache_bench::geecache::http::ClientError::Connection(error)) => {
            assert!(error.to_string().contains(&addr.to_string()), "{error}")
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_node_refuses_duplicate_groups() {
    use geecache_bench::geecache::Group;
    let make = || Arc::new(Group::new("g", GroupOptions::default(), EchoDb::default()));
    let error = Node::start(NodeConfig::default(), vec![make(), make()])
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, NodeError::DuplicateGroup(ref name) if name == "g"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stopped_node_is_dead_to_its_peers_and_comes_back_on_its_address() {
    let cluster = Cluster::<EchoDb>::start(2, 0, "g", GroupOptions::default()).await;
    let (api, other) = (&cluster.nodes[0], &cluster.nodes[1]);
    let key = (0..)
        .map(|at| format!("key{at}"))
        .find(|key| cluster.owner_of(key) == 1)
        .unwrap();
    let through_api = format!("/api?key={key}");
    assert_eq!(get(api.addr(), &through_api).await.status, 200);
    let group = other.group("g").unwrap();
    assert_eq!(group.main_cache_stats().items, 1);

    other.stop_listening().await;
    assert!(!other.is_listening());
    assert!(tokio::net::TcpStream::connect(other.addr()).await.is_err());
    // The API node still has it on its ring: the fetch fails, it loads
    // locally, and the client sees no error.
    let errors = api.stats().groups["g"].stats.peer_errors;
    let fresh = format!("/api?key={key}-x");
    let reply = get(api.addr(), &through_api).await;
    assert_eq!(reply.status, 200);
    let reply_fresh = get(api.addr(), &fresh).await;
    assert_eq!(reply_fresh.status, 200);
    let after = api.stats().groups["g"].stats.peer_errors;
    assert!(after > errors, "peer errors {errors} -> {after}");
    // Counters and caches stay readable while stopped.
    assert_eq!(group.main_cache_stats().items, 1);

    other
        .listen_again()
        .await
        .expect("the address is free again");
    assert!(other.is_listening());
    assert_eq!(
        get(other.addr(), &format!("/geecache/g/{key}"))
            .await
            .status,
        200
    );
    // Its cache survived; clearing it is what a restart does.
    let hits = group.stats().cache_hits;
    assert!(hits >= 1);
    group.clear_caches();
    assert_eq!(group.main_cache_stats().items, 0);

    // A slow node: every request waits first.
    other.set_delay(Duration::from_millis(120));
    let started = std::time::Instant::now();
    assert_eq!(get(other.addr(), "/geecache/g/slow").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    other.set_delay(Duration::ZERO);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_cluster_on_the_upstream_base_path_serves_and_fetches_there() {
    let cluster: Cluster<EchoDb> =
        Cluster::start_with(2, 0, "scores", GroupOptions::default(), |_, config| {
            // Without its trailing slash: the node adds it.
            config.base_path = "/_geecache".to_owned();
        })
        .await;
    let owner = cluster.nodes[1].addr();
    // Peer requests live under /_geecache/ now, and not under /geecache/.
    let reply = get(owner, "/_geecache/scores/key1").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(get(owner, "/geecache/scores/key1").await.status, 404);
    // A node of the upstream repository would ask exactly this.
    let upstream = HttpClient::new(&format!("http://{owner}"), Duration::from_secs(2)).unwrap();
    let (status, _) = upstream
        .get(&peer_path("/_geecache/", "scores", "key2"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // The API node fetches the keys node 1 owns from it under the same path.
    let key = (0..100)
        .map(|index| format!("k{index}"))
        .find(|key| cluster.owner_of(key) == 1)
        .unwrap();
    let before = cluster.nodes[1].stats().groups["scores"]
        .stats
        .server_requests;
    let reply = get(cluster.nodes[0].addr(), &format!("/api?key={key}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let after = cluster.nodes[1].stats().groups["scores"]
        .stats
        .server_requests;
    assert_eq!(after, before + 1);
    assert_eq!(
        cluster.nodes[0].stats().groups["scores"].stats.peer_errors,
        0
    );
    cluster.shutdown().await;

    // A base path that is not one is refused when the node starts.
    let group = Arc::new(Group::new(
        "bad",
        GroupOptions::default(),
        EchoDb::default(),
    ));
    let config = NodeConfig {
        base_path: "geecache".to_owned(),
        ..NodeConfig::default()
    };
    let error = Node::start(config, vec![group]).await.err().unwrap();
    assert!(error.to_string().contains("starts with '/'"), "{error}");
}

#[tokio::test]
async fn metrics_give_the_stats_counters_in_the_prometheus_format() {
    let cluster: Cluster<EchoDb> = Cluster::start(2, 0, "scores", GroupOptions::default()).await;
    let api = cluster.nodes[0].addr();
    for key in ["a", "b", "c", "a", "a"] {
        assert_eq!(get(api, &format!("/api?key={key}")).await.status, 200);
    }
    let reply = get(api, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|kind| kind.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.headers
    );
    let text = reply.text();
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap();
    let stats = cluster.nodes[0].stats();
    let group = &stats.groups["scores"];
    let value = |name: &str, cache: Option<&str>| {
        let samples: Vec<&prometheus_parse::Sample> = scrape
            .samples
            .iter()
            .filter(|sample| {
                sample.metric == name
                    && sample.labels.get("group") == Some("scores")
                    && sample.labels.get("cache") == cache
            })
            .collect();
        assert_eq!(samples.len(), 1, "{name} {cache:?} in\n{text}");
        match samples[0].value {
            prometheus_parse::Value::Counter(value)
            | prometheus_parse::Value::Gauge(value)
            | prometheus_parse::Value::Untyped(value) => value as u64,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    // Every group counter, as /_stats has it (the scrape itself is no get).
    for (name, expected) in group.stats.named() {
        assert_eq!(
            value(&format!("geecache_group_{name}_total"), None),
            expected,
            "{name}"
        );
    }
    assert_eq!(value("geecache_group_gets_total", None), 5);
    assert_eq!(
        value("geecache_cache_bytes", Some("main")),
        group.main_cache.bytes
    );
    assert_eq!(
        value("geecache_cache_hits_total", Some("main")),
        group.main_cache.hits
    );
    // Each family is typed: counters end in _total, gauges do not.
    for (name, kind) in [
        ("geecache_group_gets_total", "counter"),
        ("geecache_cache_bytes", "gauge"),
        ("geecache_connections_total", "counter"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{text}");
    }
    cluster.shutdown().await;
}
