//! Nodes on several hosts: `serve` processes listening on 127.0.0.2,
//! 127.0.0.3 and 127.0.0.4 (distinct addresses, as separate machines
//! would have), each named on the ring by the URL it advertises, driven by
//! a `--target` run that reads every node's `/_stats`.

use crate::common;

use common::{read_checked, run, scratch, text, Servers};

/// The flags of a short `ci` run that drives `target`, reads `peers` and
/// writes `out`.
fn target_run(target: &str, peers: &[String], seed: &str, out: &std::path::Path) -> Vec<String> {
    [
        "--workload",
        "ci",
        "--requests",
        "3000",
        "--warmup",
        "200",
        "--seed",
        seed,
        "--no-calibrate",
        "--no-progress",
        "--target",
        target,
        "--peers",
        &peers.join(","),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect()
}

/// The command lines of `serve` nodes on `hosts`, all on `port`, the
/// first also serving the API on `api_port`, running `workload`; and their
/// peer URLs.
pub(crate) fn serve_on_hosts(
    hosts: &[&str],
    port: u16,
    api_port: u16,
    workload: &str,
) -> (Vec<Vec<String>>, Vec<String>) {
    let peers: Vec<String> = hosts
        .iter()
        .map(|host| format!("http://{host}:{port}"))
        .collect();
    let commands = hosts
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let mut args: Vec<String> = vec![
                "serve".into(),
                "--listen".into(),
                format!("{host}:{port}"),
                "--peers".into(),
                peers.join(","),
                "--workload".into(),
                workload.into(),
            ];
            if index == 0 {
                args.extend(["--api-port".into(), api_port.to_string()]);
            }
            args
        })
        .collect();
    (commands, peers)
}

/// A port free a moment ago on `ip`.
pub(crate) fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn nodes_on_three_loopback_hosts_form_one_cluster() {
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    // One port number on every host: only the address tells them apart.
    let port = free_port(hosts[0]);
    let api_port = free_port(hosts[0]);
    let (mut commands, peers) = serve_on_hosts(&hosts, port, api_port, "ci");
    // Named on the ring by the peer URL of its address and port (the last
    // two), or by the URL it advertises (the first).
    commands[0].extend(["--advertise".into(), peers[0].clone()]);
    let servers = Servers::spawn(&commands);
    // Nothing listens on 127.0.0.1 at that port: each node is on its host.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    let directory = scratch("hosts");
    let out = directory.join("hosts.json");
    let target = format!("http://{}:{api_port}/api", hosts[0]);
    let args = target_run(&target, &peers, "7", &out);
    let output = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let result = read_checked(&out);
    assert_eq!(result.client.errors.total, 0);
    assert_eq!(result.nodes.len(), 3);
    // Each node is its own process: /_stats gives its CPU time, and the
    // API node (which answered all 3000 requests) used some.
    let cpu = |index: usize| result.nodes[index].stats.as_ref().unwrap().process_cpu_us;
    assert!(
        (0..3).all(|index| cpu(index).is_some()),
        "{:?}",
        result.nodes
    );
    assert!(cpu(0).unwrap() > 0);
    let printed = text(&output.stdout);
    let header = printed
        .lines()
        .find(|line| line.starts_with("node "))
        .unwrap_or_else(|| panic!("no node table in {printed}"));
    assert!(header.ends_with("cpu us/req"), "{printed}");
    // Every host served peer fetches: the ring spans the three addresses.
    for (node, peer) in result.nodes.iter().zip(&peers) {
        let stats = node.stats.as_ref().expect("each node's /_stats");
        assert_eq!(&stats.url, peer);
        assert_eq!(stats.peers, peers);
        if stats.url != peers[0] {
            assert!(
                stats.groups["scores"].stats.server_requests > 0,
                "{peer} served no peer fetch"
            );
        }
    }
    let cluster = result.cluster.as_ref().unwrap();
    assert!(cluster.peer_fetch_ratio.unwrap() > 0.3, "{cluster:?}");
    servers.stop();

    // An advertised URL that is not among the peers is refused.
    let output = run(&[
        "serve",
        "--listen",
        &format!("127.0.0.5:{port}"),
        "--advertise",
        "http://127.0.0.5:1",
        "--peers",
        &peers.join(","),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("http://127.0.0.5:1"),
        "{}",
        text(&output.stderr)
    );
    // A listening address that no peer URL has, or that two name.
    for (listen, peers, named) in [
        (format!("127.0.0.5:{port}"), peers.join(","), "127.0.0.5"),
        (
            format!("127.0.0.1:{port}"),
            format!("http://127.0.0.1:{port},http://localhost:{port}"),
            "several peer URLs",
        ),
    ] {
        let output = run(&["serve", "--listen", &listen, "--peers", &peers]);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            text(&output.stderr).contains(named),
            "{}",
            text(&output.stderr)
        );
    }
    // Another host needs --allow-remote.
    let output = run(&[
        "serve",
        "--peers",
        "http://10.0.0.1:8001,http://localhost:8001",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--allow-remote"));
}

#[test]
fn two_drivers_at_once_merge_into_one_result() {
    let ports = common::free_ports(4);
    let servers = Servers::start(&ports[..3], ports[3]);
    let peers: Vec<String> = ports[..3]
        .iter()
        .map(|port| format!("http://localhost:{port}"))
        .collect();
    let target = format!("http://127.0.0.1:{}/api", ports[3]);
    let directory = scratch("merge");
    let out = |name: &str| directory.join(format!("{name}.json"));
    // Two drivers at the same time, each with its own key sequence.
    // The second driver lists the peers in another order.
    let reversed: Vec<String> = peers.iter().rev().cloned().collect();
    let drivers: Vec<std::process::Child> = [("a", "1", &peers), ("b", "2", &reversed)]
        .iter()
        .map(|(name, seed, peers)| {
            common::binary()
                .args(target_run(&target, peers, seed, &out(name)))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for driver in drivers {
        let output = driver.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let (a, b) = (read_checked(&out("a")), read_checked(&out("b")));
    let output = run(&[
        "merge",
        out("a").to_str().unwrap(),
        out("b").to_str().unwrap(),
        "--out",
        out("merged").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let merged = read_checked(&out("merged"));
    assert_eq!(merged.merged_from.len(), 2);
    // Counts summed; the histogram the exact sum of the two, so its p99 is
    // the union's, not an average of the two p99s.
    assert_eq!(
        merged.client.requests,
        a.client.requests + b.client.requests
    );
    let mut union = a.histogram.decode().unwrap();
    union.add(b.histogram.decode().unwrap()).unwrap();
    let histogram = merged.histogram.decode().unwrap();
    assert_eq!(histogram.len(), union.len());
    assert_eq!(histogram.len(), 6000);
    assert_eq!(merged.client.latency_us.p99, union.value_at_quantile(0.99));
    // The API node served at least every measured request of both drivers
    // over the union of their spans.
    let cluster = merged.cluster.as_ref().unwrap();
    assert!(cluster.api_gets.unwrap() >= 6000, "{cluster:?}");
    // Each node's figures cover both drivers' spans, matched by name.
    for node in &merged.nodes {
        let served = |result: &geecache_bench::harness::report::RunResult| {
            let mine = result
                .nodes
                .iter()
                .find(|other| other.url == node.url)
                .unwrap();
            mine.requests_served.unwrap()
        };
        let union = node.requests_served.unwrap();
        assert!(union >= served(&a) && union >= served(&b), "{}", node.url);
    }
    // The series on one grid holds every request.
    let sent: u64 = merged
        .series
        .iter()
        .map(|entry| entry.client.requests)
        .sum();
    assert_eq!(sent, 6000);
    servers.stop();

    // Results of a run's own cluster, or of different workloads, are refused.
    common::run_workload(&directory, "own", r#"{ "requests": 100 }"#, &[]);
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out("b")).unwrap()).unwrap();
    raw["workload"]["keys"] = 999.into();
    std::fs::write(out("other-keys"), raw.to_string()).unwrap();
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out("b")).unwrap()).unwrap();
    raw["target"] = "http://127.0.0.9:1/api".into();
    std::fs::write(out("other-target"), raw.to_string()).unwrap();
    let (a_path, merged_path) = (out("a"), out("refused"));
    for (with, expected) in [
        (directory.join("own-result.json"), "its own cluster"),
        (out("other-keys"), "different workloads"),
        (out("other-target"), "different targets"),
    ] {
        let output = run(&[
            "merge",
            a_path.to_str().unwrap(),
            with.to_str().unwrap(),
            "--out",
            merged_path.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
        assert!(
            text(&output.stderr).contains(expected),
            "{}",
            text(&output.stderr)
        );
    }
    assert!(!merged_path.exists());
}

#[test]
fn runs_and_serve_take_the_upstream_base_path() {
    let directory = scratch("base-path");
    // A run's own cluster on /_geecache/: its peers fetch from each other.
    let result = common::run_workload(
        &directory,
        "upstream",
        r#"{ "name": "upstream", "keys": 500, "requests": 2000, "warmup_requests": 0 }"#,
        &["--base-path", "/_geecache/"],
    );
    assert_eq!(result.workload.cluster.base_path, "/_geecache/");
    assert_eq!(result.client.errors.total, 0);
    let cluster = result.cluster.as_ref().unwrap();
    assert!(cluster.peer_fetch_ratio.unwrap() > 0.3, "{cluster:?}");
    assert_eq!(cluster.peer_errors, 0);

    // serve on it: peer requests answered there, and not on /geecache/.
    let ports = common::free_ports(2);
    let peers = format!(
        "http://localhost:{},http://localhost:{}",
        ports[0], ports[1]
    );
    let commands: Vec<Vec<String>> = ports
        .iter()
        .map(|port| {
            [
                "serve",
                "--port",
                &port.to_string(),
                "--peers",
                &peers,
                "--workload",
                "ci",
                "--base-path",
                "/_geecache",
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect()
        })
        .collect();
    let servers = Servers::spawn(&commands);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let node: std::net::SocketAddr = ([127, 0, 0, 1], ports[0]).into();
        assert_eq!(
            common::get(node, "/_geecache/scores/key1").await.status,
            200
        );
        assert_eq!(common::get(node, "/geecache/scores/key1").await.status, 404);
    });
    servers.stop();

    // A base path that is not one is refused, naming the field.
    let output = run(&["--workload", "ci", "--base-path", "geecache"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cluster.base_path") && stderr.contains("--base-path"),
        "{stderr}"
    );
}

#[test]
fn a_node_answers_readiness_and_drains_on_sigterm() {
    let port = free_port("127.0.0.2");
    let api_port = free_port("127.0.0.2");
    let peer = format!("http://127.0.0.2:{port}");
    let commands = vec![[
        "serve",
        "--listen",
        &format!("127.0.0.2:{port}"),
        "--peers",
        &peer,
        "--api-port",
        &api_port.to_string(),
        "--workload",
        "ci",
        "--drain",
        "3s",
    ]
    .map(str::to_owned)
    .to_vec()];
    let mut servers = Servers::spawn(&commands);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let node: std::net::SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    let api: std::net::SocketAddr = format!("127.0.0.2:{api_port}").parse().unwrap();
    let ready = |addr| runtime.block_on(common::get(addr, "/_ready"));
    let reply = ready(node);
    assert_eq!((reply.status, reply.text().trim()), (200, "ready"));
    assert_eq!(ready(api).status, 200);

    let child = servers.0.pop().unwrap();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    // Draining: not ready, and still serving what comes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ready(node).status != 503 {
        assert!(
            std::time::Instant::now() < deadline,
            "/_ready never said draining"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(ready(node).text().trim(), "draining");
    let answer = runtime.block_on(common::get(api, "/api?key=key1"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Then it stops by itself, cleanly.
    servers.0.push(child);
    servers.stop();
    assert!(std::net::TcpStream::connect(node).is_err());
}
