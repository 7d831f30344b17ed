//! One node as its own process, like the source document's `server` binary:
//! the `scores` group over the slow store, its peers given by URL, and
//! optionally the API on a port of its own. Three of them make the source
//! document's `run.sh` cluster.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::geecache::{Group, Node, NodeError};
use crate::harness::cluster::{group_options, node_config, GROUP};
use crate::harness::run::check_host;
use crate::harness::slowdb::SlowDb;
use crate::harness::workload::Workload;

/// The source document's peers: `http://localhost:8001` to `8003`.
pub const DEMO_PEERS: [&str; 3] = [
    "http://localhost:8001",
    "http://localhost:8002",
    "http://localhost:8003",
];

/// The source document's API port.
pub const DEMO_API_PORT: u16 = 9999;

/// How to run a node.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where the node listens: 127.0.0.1:PORT unless given.
    pub listen: SocketAddr,
    /// The node's name on the ring, as its peers reach it; by default the
    /// peer URL with the listening port.
    pub advertise: Option<String>,
    /// Every node's base URL, this one included.
    pub peers: Vec<String>,
    /// Allow peers on hosts other than this one.
    pub allow_remote: bool,
    /// A port for the API on its own, on the listening address.
    pub api_port: Option<u16>,
    /// The slow store's keys, values and latency, and the node's ring and
    /// cache settings.
    pub workload: Workload,
}

/// Why a node could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A peer URL is not `http://HOST:PORT` on an allowed host.
    #[error("--peers: {0}")]
    Peer(String),
    /// The advertised URL is not a peer URL.
    #[error("--advertise: {0}")]
    Advertise(String),
    /// No peer URL names this node.
    #[error("--peers must include this node's own URL ({own}); got {peers}")]
    NotAPeer {
        /// The node's URL, or what it must look like.
        own: String,
        /// The peers given.
        peers: String,
    },
    /// The node did not start.
    #[error("{0}")]
    Node(#[from] NodeError),
}

/// The port of a peer URL, after checking its host is allowed.
fn peer_port(url: &str, allow_remote: bool) -> Result<u16, String> {
    let bad = |why: String| format!("{url:?}: {why}");
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL".to_owned()))?;
    let authority = match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => authority,
        _ => return Err(bad("expected http://HOST:PORT".to_owned())),
    };
    if !matches!(uri.path(), "" | "/") {
        return Err(bad("a peer URL has no path".to_owned()));
    }
    check_host(authority.host(), allow_remote).map_err(bad)?;
    authority
        .port_u16()
        .ok_or_else(|| bad("no port".to_owned()))
}

/// Starts the node, reports where it listens through `ready`, serves until
/// `shutdown` completes, then stops cleanly.
pub async fn serve(
    options: ServeOptions,
    ready: impl FnOnce(&Node, &str),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let peers: Vec<String> = options
        .peers
        .iter()
        .map(|peer| peer.trim_end_matches('/').to_owned())
        .collect();
    let mut by_port = None;
    for peer in &peers {
        if peer_port(peer, options.allow_remote).map_err(ServeError::Peer)? == options.listen.port()
        {
            by_port = Some(peer.clone());
        }
    }
    let own_url = match &options.advertise {
        Some(advertised) => {
            let advertised = advertised.trim_end_matches('/').to_owned();
            peer_port(&advertised, options.allow_remote).map_err(ServeError::Advertise)?;
            if !peers.contains(&advertised) {
                return Err(ServeError::NotAPeer {
                    own: advertised,
                    peers: peers.join(","),
                });
            }
            advertised
        }
        None => by_port.ok_or_else(|| ServeError::NotAPeer {
            own: format!("a URL with port {}", options.listen.port()),
            peers: peers.join(","),
        })?,
    };
    if !options.listen.ip().is_loopback() {
        log::warn!(
            "listening on {}, which is not a loopback address: other machines can reach this node",
            options.listen
        );
    }
    let workload = &options.workload;
    let db = SlowDb::new(
        workload.keys,
        workload.value_size as usize,
        workload.slowdb,
        1,
    );
    let group = Arc::new(Group::new(
        GROUP,
        group_options(&workload.cluster),
        db.getter(0),
    ));
    let mut config = node_config(&workload.cluster, options.listen, false);
    config.url = Some(own_url.clone());
    // The node is this process: its CPU time is the node's.
    config.report_process_cpu = true;
    config.api_addr = options
        .api_port
        .map(|port| SocketAddr::new(options.listen.ip(), port));
    let node = Node::start(config, vec![group]).await?;
    node.set_peers(&peers);
    ready(&node, &own_url);
    shutdown.await;
    node.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::run::address::is_loopback;

    #[test]
    fn peers_must_be_http_urls_with_a_port_on_loopback_unless_allowed() {
        assert_eq!(peer_port("http://localhost:8001", false).unwrap(), 8001);
        assert_eq!(peer_port("http://127.0.0.1:9", false).unwrap(), 9);
        assert_eq!(peer_port("http://127.0.0.3:9", false).unwrap(), 9);
        for bad in [
            "http://example.com:80",
            "https://localhost:8001",
            "http://localhost",
            "localhost:8001",
            "http://localhost:8001/geecache",
            "http://10.0.0.1:8001",
        ] {
            assert!(peer_port(bad, false).is_err(), "{bad}");
        }
        // Another host only when asked for (nothing is connected here).
        assert_eq!(peer_port("http://10.0.0.1:8001", true).unwrap(), 8001);
        assert!(peer_port("https://10.0.0.1:8001", true).is_err());
        assert!(is_loopback("127.0.0.4") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("10.0.0.1") && !is_loopback("example.com"));
    }
}
