//! Nodes on several hosts: `serve` processes listening on 127.0.0.2,
//! 127.0.0.3 and 127.0.0.4 (distinct addresses, as separate machines
//! would have), each named on the ring by the URL it advertises, driven by
//! a `--target` run that reads every node's `/_stats`.

mod common;

use common::{read_checked, run, scratch, text, Servers};

/// A port free a moment ago on `ip`.
fn free_port(ip: &str) -> u16 {
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
    let peers: Vec<String> = hosts
        .iter()
        .map(|host| format!("http://{host}:{port}"))
        .collect();
    let commands: Vec<Vec<String>> = hosts
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let mut args: Vec<String> = vec![
                "serve".into(),
                "--listen".into(),
                format!("{host}:{port}"),
                "--advertise".into(),
                peers[index].clone(),
                "--peers".into(),
                peers.join(","),
                "--workload".into(),
                "ci".into(),
            ];
            if index == 0 {
                args.extend(["--api-port".into(), api_port.to_string()]);
            }
            args
        })
        .collect();
    let servers = Servers::spawn(&commands);
    // Nothing listens on 127.0.0.1 at that port: each node is on its host.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    let directory = scratch("hosts");
    let out = directory.join("hosts.json");
    let target = format!("http://{}:{api_port}/api", hosts[0]);
    let output = run(&[
        "--workload",
        "ci",
        "--requests",
        "3000",
        "--warmup",
        "300",
        "--no-calibrate",
        "--no-progress",
        "--target",
        &target,
        "--peers",
        &peers.join(","),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let result = read_checked(&out);
    assert_eq!(result.client.errors.total, 0);
    assert_eq!(result.nodes.len(), 3);
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
    // Another host needs --allow-remote.
    let output = run(&[
        "serve",
        "--peers",
        "http://10.0.0.1:8001,http://localhost:8001",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--allow-remote"));
}
