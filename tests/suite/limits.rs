//! Nodes hold against clients that misbehave: a request head that never
//! completes and a connection that never sends are closed on time, and
//! over the connection cap a newcomer gets a 503 while the open
//! connections, a peer's among them, are served on.

use crate::common;

use std::time::{Duration, Instant};

use common::{Cluster, EchoDb};
use geecache_bench::geecache::server::Limits;
use geecache_bench::geecache::GroupOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER: Duration = Duration::from_millis(300);
const IDLE: Duration = Duration::from_millis(700);

/// Waits until the server closes `stream`; returns how long that took and
/// what it sent first.
async fn until_closed(stream: &mut TcpStream) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), received),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => panic!("still open after 10 s"),
        }
    }
}

#[tokio::test]
async fn partial_heads_and_idle_connections_are_closed_on_time() {
    let cluster: Cluster<EchoDb> =
        Cluster::start_with(1, 0, "scores", GroupOptions::default(), |_, config| {
            config.limits = Limits {
                header_timeout: HEADER,
                idle_timeout: IDLE,
                max_connections: 100,
            }
        })
        .await;
    let addr = cluster.nodes[0].addr();

    // Half a request head, then nothing: closed after the header timeout,
    // not before it.
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"GET /geecache/scores/key HTTP/1.1\r\nHost: x")
        .await
        .unwrap();
    let (waited, _) = until_closed(&mut partial).await;
    assert!(
        waited >= HEADER && waited < HEADER + Duration::from_secs(1),
        "{waited:?}"
    );

    // Nothing at all: closed after the idle timeout.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (waited, _) = until_closed(&mut silent).await;
    assert!(
        waited >= IDLE && waited < IDLE + Duration::from_secs(1),
        "{waited:?}"
    );

    // A whole request, answered; then idle: closed after the idle timeout.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /geecache/scores/key HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (waited, answer) = until_closed(&mut kept).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    assert!(
        waited >= IDLE && waited < IDLE + Duration::from_secs(1),
        "{waited:?}"
    );

    // A head sent slowly but within the timeout is answered.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    for part in [
        "GET /geecache/scores/slow HTTP/1.1\r\n",
        "Host: x\r\n",
        "\r\n",
    ] {
        slow.write_all(part.as_bytes()).await.unwrap();
        tokio::time::sleep(HEADER / 4).await;
    }
    let mut head = [0u8; 12];
    slow.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    // The node still serves.
    let reply = common::get(addr, "/geecache/scores/after").await;
    assert_eq!(reply.status, 200);
    cluster.shutdown().await;
}

#[tokio::test]
async fn over_the_cap_newcomers_get_503_and_peers_are_served_on() {
    const CAP: usize = 4;
    let cluster: Cluster<EchoDb> =
        Cluster::start_with(2, 0, "scores", GroupOptions::default(), |index, config| {
            config.limits = Limits {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: if index == 1 { CAP } else { 100 },
            }
        })
        .await;
    let (api, capped) = (cluster.nodes[0].addr(), cluster.nodes[1].addr());
    // Keys the capped node owns: the API node fetches them from it.
    let owned: Vec<String> = (0..200)
        .map(|index| format!("k{index}"))
        .filter(|key| cluster.owner_of(key) == 1)
        .take(2)
        .collect();
    assert_eq!(owned.len(), 2);
    let first = common::get(api, &format!("/api?key={}", owned[0])).await;
    assert_eq!(first.status, 200, "{}", first.text());

    // Fill the capped node up with connections that send nothing.
    let mut hogs = Vec::new();
    loop {
        let mut hog = TcpStream::connect(capped).await.unwrap();
        // An over-cap connection is answered at once and closed.
        let mut buffer = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(200), hog.read(&mut buffer)).await {
            Err(_) => hogs.push(hog),
            Ok(read) => {
                let read = read.unwrap();
                assert!(
                    buffer[..read].starts_with(b"HTTP/1.1 503"),
                    "{:?}",
                    String::from_utf8_lossy(&buffer[..read])
                );
                break;
            }
        }
        assert!(hogs.len() <= CAP, "no cap at {} connections", hogs.len());
    }
    assert!(!hogs.is_empty() && hogs.len() < CAP, "{} hogs", hogs.len());

    // The API node's pooled connection to it still serves a peer fetch.
    let second = common::get(api, &format!("/api?key={}", owned[1])).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let stats = cluster.nodes[1].stats();
    assert_eq!(stats.groups["scores"].stats.server_requests, 2);
    drop(hogs);
    cluster.shutdown().await;
}
