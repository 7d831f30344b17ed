//! One node as its own process, like the source document's `server` binary:
//! the `scores` group over the slow store, its peers given by URL, and
//! optionally the API on a port of its own. Three of them make the source
//! document's `run.sh` cluster.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::geecache::{Group, Node, NodeError};
use crate::harness::cluster::{group_options, node_config, GROUP};
use crate::harness::run::check_local;
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
    /// The node's port on 127.0.0.1.
    pub port: u16,
    /// Every node's base URL, this one included.
    pub peers: Vec<String>,
    /// A port for the API on its own.
    pub api_port: Option<u16>,
    /// The slow store's keys, values and latency, and the node's ring and
    /// cache settings.
    pub workload: Workload,
}

/// Why a node could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A peer URL is not `http://localhost:PORT` or `http://127.0.0.1:PORT`.
    #[error("--peers: {0}")]
    Peer(String),
    /// No peer URL has this node's port.
    #[error("--peers must include this node's own URL (port {port}); got {peers}")]
    NotAPeer {
        /// The node's port.
        port: u16,
        /// The peers given.
        peers: String,
    },
    /// The node did not start.
    #[error("{0}")]
    Node(#[from] NodeError),
}

/// The port of a peer URL, after checking it is local.
fn peer_port(url: &str) -> Result<u16, ServeError> {
    let bad = |why: String| ServeError::Peer(format!("{url:?}: {why}"));
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL".to_owned()))?;
    let authority = match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => authority,
        _ => return Err(bad("expected http://localhost:PORT".to_owned())),
    };
    if !matches!(uri.path(), "" | "/") {
        return Err(bad("a peer URL has no path".to_owned()));
    }
    check_local(authority.host()).map_err(bad)?;
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
    let mut own_url = None;
    for peer in &peers {
        if peer_port(peer)? == options.port {
            own_url = Some(peer.clone());
        }
    }
    let own_url = own_url.ok_or_else(|| ServeError::NotAPeer {
        port: options.port,
        peers: peers.join(","),
    })?;
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
    let mut config = node_config(
        &workload.cluster,
        SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)),
        false,
    );
    config.url = Some(own_url.clone());
    config.api_addr = options
        .api_port
        .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
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

    #[test]
    fn peers_must_be_local_http_urls_with_a_port() {
        assert_eq!(peer_port("http://localhost:8001").unwrap(), 8001);
        assert_eq!(peer_port("http://127.0.0.1:9").unwrap(), 9);
        for bad in [
            "http://example.com:80",
            "https://localhost:8001",
            "http://localhost",
            "localhost:8001",
            "http://localhost:8001/geecache",
            "http://10.0.0.1:8001",
        ] {
            assert!(peer_port(bad).is_err(), "{bad}");
        }
    }
}
