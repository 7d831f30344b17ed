//! One node as its own process, like the source document's `server` binary:
//! the `scores` group over the slow store, its peers given by URL, and
//! optionally the API on a port of its own. Three of them make the source
//! document's `run.sh` cluster.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::geecache::{Group, Node, NodeError};
use crate::harness::cluster::{group_options, node_config, GROUP};
use crate::harness::resolve::Resolve;
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
    /// peer URL with the listening address's host and port, or else the
    /// one with its port whose host is `hostname`.
    pub advertise: Option<String>,
    /// The machine's name (a pod's, `nodes-2`), which a peer URL's host
    /// may name (`nodes-2.nodes`); `None` when unknown.
    pub hostname: Option<String>,
    /// After the shutdown signal, how long the node keeps serving while
    /// `/_ready` answers 503, so that a load balancer stops sending it
    /// requests before it closes.
    pub drain: Duration,
    /// Every node's base URL, this one included.
    pub peers: Vec<String>,
    /// Allow peers on hosts other than this one.
    pub allow_remote: bool,
    /// Addresses for peers' hosts in place of the name service: a peer
    /// keeps its URL as its name on the ring and is reached at the address.
    pub resolve: Resolve,
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
    Peer(PeerUrlError),
    /// The advertised URL is not a peer URL.
    #[error("--advertise: {0}")]
    Advertise(PeerUrlError),
    /// No peer URL names this node.
    #[error("--peers must include this node's own URL ({own}); got {peers}")]
    NotAPeer {
        /// The node's URL, or what it must look like.
        own: String,
        /// The peers given.
        peers: String,
    },
    /// Several peer URLs name the listening address.
    #[error(
        "listening on {listen}, several peer URLs match {by}: {matches}; give --advertise \
         to say which is this node"
    )]
    Ambiguous {
        /// Where the node listens.
        listen: SocketAddr,
        /// What they matched: the listening address or the host name.
        by: &'static str,
        /// The peer URLs that match.
        matches: String,
    },
    /// The node did not start.
    #[error("{0}")]
    Node(#[from] NodeError),
}

/// A URL that is not a peer's `http://HOST:PORT` on an allowed host.
#[derive(Debug, thiserror::Error)]
#[error("{url:?}: {why}")]
pub struct PeerUrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub why: String,
}

/// The host and port of a peer URL, after checking its host is allowed.
fn peer_host_port(url: &str, allow_remote: bool) -> Result<(String, u16), PeerUrlError> {
    let bad = |why: String| PeerUrlError {
        url: url.to_owned(),
        why,
    };
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL".to_owned()))?;
    let authority = match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(authority)) => authority,
        _ => return Err(bad("expected http://HOST:PORT".to_owned())),
    };
    if !matches!(uri.path(), "" | "/") {
        return Err(bad("a peer URL has no path".to_owned()));
    }
    check_host(authority.host(), allow_remote).map_err(bad)?;
    let port = authority
        .port_u16()
        .ok_or_else(|| bad("no port".to_owned()))?;
    Ok((authority.host().to_owned(), port))
}

/// Whether a peer URL's host names the address `ip`: the same address
/// written out, or `localhost` for a loopback listener of 127.0.0.1 or
/// ::1. An unspecified address (0.0.0.0, all interfaces) names no host.
fn host_is_address(host: &str, ip: IpAddr) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(address) => address == ip && !ip.is_unspecified(),
        Err(_) => {
            bare.eq_ignore_ascii_case("localhost")
                && (ip == IpAddr::from(Ipv4Addr::LOCALHOST)
                    || ip == IpAddr::from(Ipv6Addr::LOCALHOST))
        }
    }
}

/// Whether a peer URL's host is the DNS name of the machine called
/// `hostname`: the name itself, or a name whose first label it is, as a
/// StatefulSet's pod `nodes-2` is `nodes-2.nodes` (or
/// `nodes-2.nodes.default.svc.cluster.local`) to its peers.
fn host_is_named(host: &str, hostname: &str) -> bool {
    !hostname.is_empty()
        && host.parse::<IpAddr>().is_err()
        && (host.eq_ignore_ascii_case(hostname)
            || host
                .split('.')
                .next()
                .is_some_and(|label| label.eq_ignore_ascii_case(hostname)))
}

/// The node's name on the ring when none is advertised: the one peer URL
/// whose host and port are the listening address's, or else the one whose
/// port is the listening port and whose host is the machine's name
/// (`hostname`, a pod's). None or several is an error that names them.
/// `peers` are (URL, host, port), as [`peer_host_port`] reads them.
fn own_url(
    peers: &[(String, String, u16)],
    listen: SocketAddr,
    hostname: Option<&str>,
) -> Result<String, ServeError> {
    let mut by_address = Vec::new();
    let mut by_name = Vec::new();
    for (peer, host, port) in peers {
        if *port != listen.port() {
            continue;
        }
        if host_is_address(host, listen.ip()) {
            by_address.push(peer.clone());
        } else if hostname.is_some_and(|name| host_is_named(host, name)) {
            by_name.push(peer.clone());
        }
    }
    let (found, by) = if by_address.is_empty() {
        (by_name, "the host name")
    } else {
        (by_address, "the listening address")
    };
    match found.len() {
        1 => Ok(found.into_iter().next().unwrap_or_default()),
        0 => Err(ServeError::NotAPeer {
            own: match hostname {
                Some(name) => format!(
                    "listening on {listen}, host name {name:?}: no peer URL has this address \
                     or a host named {name}, with port {}",
                    listen.port()
                ),
                None => format!("listening on {listen}: no peer URL has this address and port"),
            },
            peers: peers
                .iter()
                .map(|(peer, _, _)| peer.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }),
        _ => Err(ServeError::Ambiguous {
            listen,
            by,
            matches: found.join(", "),
        }),
    }
}

/// Starts the node, reports where it listens through `ready`, serves until
/// `signal()` completes, drains (serves on with `/_ready` answering 503)
/// for `options.drain` or until `signal()` completes again, then stops
/// cleanly.
pub async fn serve<F: Future<Output = ()>>(
    options: ServeOptions,
    ready: impl FnOnce(&Node, &str),
    signal: impl Fn() -> F,
) -> Result<(), ServeError> {
    let peers: Vec<String> = options
        .peers
        .iter()
        .map(|peer| peer.trim_end_matches('/').to_owned())
        .collect();
    // Each peer by its name, with where it is reached: the address
    // `--resolve` gives its host, or the host itself.
    let reached: Vec<String> = peers
        .iter()
        .map(|peer| options.resolve.apply(peer))
        .collect();
    let parsed = peers
        .iter()
        .zip(&reached)
        .map(|(peer, at)| {
            let (host, port) = peer_host_port(at, options.allow_remote)?;
            Ok((peer.clone(), host, port))
        })
        .collect::<Result<Vec<_>, PeerUrlError>>()
        .map_err(ServeError::Peer)?;
    let own_url = match &options.advertise {
        Some(advertised) => {
            let advertised = advertised.trim_end_matches('/').to_owned();
            peer_host_port(&advertised, options.allow_remote).map_err(ServeError::Advertise)?;
            if !peers.contains(&advertised) {
                return Err(ServeError::NotAPeer {
                    own: advertised,
                    peers: peers.join(","),
                });
            }
            advertised
        }
        None => own_url(&parsed, options.listen, options.hostname.as_deref())?,
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
    let routes: Vec<(&str, &str)> = peers
        .iter()
        .map(String::as_str)
        .zip(reached.iter().map(String::as_str))
        .collect();
    node.set_routes(&routes);
    ready(&node, &own_url);
    signal().await;
    if !options.drain.is_zero() {
        node.set_ready(false);
        log::info!(
            "draining: /_ready answers 503; serving on for {:?} (or until the next signal)",
            options.drain
        );
        tokio::select! {
            () = tokio::time::sleep(options.drain) => {}
            () = signal() => {}
        }
    }
    node.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::run::address::is_loopback;

    /// [`own_url`] of peer URLs as written.
    fn own(
        peers: &[String],
        listen: SocketAddr,
        hostname: Option<&str>,
        allow_remote: bool,
    ) -> Result<String, ServeError> {
        let parsed: Vec<_> = peers
            .iter()
            .map(|peer| {
                let (host, port) = peer_host_port(peer, allow_remote).unwrap();
                (peer.clone(), host, port)
            })
            .collect();
        own_url(&parsed, listen, hostname)
    }

    fn peer_port(url: &str, allow_remote: bool) -> Result<u16, PeerUrlError> {
        peer_host_port(url, allow_remote).map(|(_, port)| port)
    }

    fn urls(peers: &[&str]) -> Vec<String> {
        peers.iter().map(|peer| peer.to_string()).collect()
    }

    #[test]
    fn a_node_is_the_peer_of_its_listening_address_host_and_port() {
        let peers = urls(&[
            "http://127.0.0.2:18101",
            "http://127.0.0.3:18101",
            "http://127.0.0.4:18101",
        ]);
        for (index, peer) in peers.iter().enumerate() {
            let listen: SocketAddr = format!("127.0.0.{}:18101", index + 2).parse().unwrap();
            assert_eq!(&own(&peers, listen, None, false).unwrap(), peer);
        }
        // localhost is 127.0.0.1 (and ::1), not 127.0.0.2.
        let local = urls(&["http://localhost:8001", "http://localhost:8002"]);
        let listen: SocketAddr = "127.0.0.1:8002".parse().unwrap();
        assert_eq!(own(&local, listen, None, false).unwrap(), local[1]);
        let elsewhere: SocketAddr = "127.0.0.2:8002".parse().unwrap();
        let error = own(&local, elsewhere, None, false).unwrap_err();
        assert!(matches!(error, ServeError::NotAPeer { .. }), "{error}");
        assert!(error.to_string().contains("127.0.0.2:8002"), "{error}");
        // Two names for one address: which one is meant is not guessed.
        let twice = urls(&["http://127.0.0.1:8001", "http://localhost:8001"]);
        let listen: SocketAddr = "127.0.0.1:8001".parse().unwrap();
        let error = own(&twice, listen, None, false).unwrap_err().to_string();
        assert!(
            error.contains("http://127.0.0.1:8001, http://localhost:8001")
                && error.contains("--advertise"),
            "{error}"
        );
    }

    #[test]
    fn a_pod_is_the_peer_its_host_name_begins() {
        let peers = urls(&[
            "http://nodes-0.nodes:8001",
            "http://nodes-1.nodes:8001",
            "http://nodes-10.nodes:8001",
        ]);
        // All interfaces name no host: the pod's name decides.
        let listen: SocketAddr = "0.0.0.0:8001".parse().unwrap();
        for (name, expected) in [("nodes-0", 0), ("nodes-1", 1), ("NODES-10", 2)] {
            assert_eq!(
                own(&peers, listen, Some(name), true).unwrap(),
                peers[expected]
            );
        }
        // A name no peer has, or the right name on another port.
        for (name, port) in [("nodes-2", 8001), ("nodes-1", 8002)] {
            let listen = SocketAddr::from(([0, 0, 0, 0], port));
            let error = own(&peers, listen, Some(name), true)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(name) && error.contains(&port.to_string()),
                "{error}"
            );
        }
        // A full name is matched too; a name is never an address's label.
        let full = urls(&["http://nodes-0.nodes.default.svc.cluster.local:8001"]);
        assert_eq!(own(&full, listen, Some("nodes-0"), true).unwrap(), full[0]);
        assert!(!host_is_named("127.0.0.1", "127"));
    }

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
