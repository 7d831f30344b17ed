//! A GeeCache cluster in one process: N nodes on 127.0.0.1, each with its
//! own `scores` group over the shared slow store; node 0 also serves `/api`,
//! as in the source document.
//!
//! Nodes are named on the ring as the source document names them,
//! `http://localhost:8001`, `8002`, ..., whatever port they listen on, so
//! every run places each key on the same node: results of different runs
//! compare, and the placement is the source document's.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::geecache::{Group, GroupOptions, HashRing, Node, NodeConfig, NodeError, NodeStats};
use crate::harness::slowdb::SlowDb;
use crate::harness::workload::ClusterSettings;
use crate::units::Span;

/// The group every node serves, named as in the source document.
pub const GROUP: &str = "scores";

/// The ring name of node `index`: `http://localhost:8001` for node 0.
pub fn ring_name(index: usize) -> String {
    format!("http://localhost:{}", 8001 + index)
}

/// Why a cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A node could not start (for instance, its port is in use).
    #[error("node {index}: {source}")]
    Node {
        /// Which node.
        index: usize,
        /// Why.
        source: NodeError,
    },
    /// `--base-port` plus the node count passes the last port.
    #[error("--base-port {base} leaves no room for {nodes} nodes (ports end at 65535)")]
    Ports {
        /// The first port.
        base: u16,
        /// Nodes asked for.
        nodes: usize,
    },
}

/// Regressions on purpose, outside the workload: a result with faults still
/// runs its baseline's workload, so `check` compares the two and must catch
/// the fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added to every request each node serves.
    pub delay: Option<Span>,
    /// Every node keeps nothing in its caches.
    pub cache_off: bool,
}

impl Faults {
    /// Whether there is no fault at all.
    pub fn is_none(&self) -> bool {
        self.delay.is_none() && !self.cache_off
    }
}

/// The group options a cluster's nodes use.
pub fn group_options(settings: &ClusterSettings) -> GroupOptions {
    GroupOptions {
        cache_bytes: usize::try_from(settings.cache_bytes.bytes()).unwrap_or(usize::MAX),
        singleflight: settings.singleflight,
        hot_cache: settings.hot_cache,
    }
}

impl Faults {
    /// The group options a cluster's nodes use under these faults.
    pub fn group_options(&self, settings: &ClusterSettings) -> GroupOptions {
        let mut options = group_options(settings);
        if self.cache_off {
            // One byte holds no entry: each is evicted as it is added.
            options.cache_bytes = 1;
            options.hot_cache = false;
        }
        options
    }
}

/// A node's configuration in a cluster, before its address is known.
pub fn node_config(settings: &ClusterSettings, addr: SocketAddr, api: bool) -> NodeConfig {
    NodeConfig {
        addr,
        replicas: settings.replicas as usize,
        hash: settings.hash,
        peer_timeout: settings.peer_timeout.0,
        api,
        ..NodeConfig::default()
    }
}

/// Running nodes that know each other.
pub struct Cluster {
    nodes: Vec<Option<Node>>,
    /// Names on the ring.
    names: Vec<String>,
    /// Where each node listens.
    urls: Vec<String>,
    db: SlowDb,
}

impl Cluster {
    /// Starts `settings.nodes` nodes over `db`, on ephemeral ports or on
    /// `base_port`, `base_port + 1`, ...
    pub async fn start(
        settings: &ClusterSettings,
        db: SlowDb,
        base_port: Option<u16>,
    ) -> Result<Cluster, ClusterError> {
        Cluster::start_with(settings, db, base_port, Faults::default()).await
    }

    /// As [`Cluster::start`], with `faults` injected.
    pub async fn start_with(
        settings: &ClusterSettings,
        db: SlowDb,
        base_port: Option<u16>,
        faults: Faults,
    ) -> Result<Cluster, ClusterError> {
        let count = settings.nodes as usize;
        let mut nodes = Vec::with_capacity(count);
        for index in 0..count {
            let port = match base_port {
                None => 0,
                Some(base) => u16::try_from(usize::from(base) + index)
                    .map_err(|_| ClusterError::Ports { base, nodes: count })?,
            };
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let options = faults.group_options(settings);
            let group = Arc::new(Group::new(GROUP, options, db.getter(index)));
            let mut config = node_config(settings, addr, index == 0);
            config.url = Some(ring_name(index));
            config.injected_delay = faults.delay.map(Span::duration).unwrap_or_default();
            let node = Node::start(config, vec![group])
                .await
                .map_err(|source| ClusterError::Node { index, source })?;
            nodes.push(node);
        }
        let names: Vec<String> = (0..count).map(ring_name).collect();
        let urls: Vec<String> = nodes
            .iter()
            .map(|node| format!("http://{}", node.addr()))
            .collect();
        let routes: Vec<(&str, &str)> = names
            .iter()
            .zip(&urls)
            .map(|(name, url)| (name.as_str(), url.as_str()))
            .collect();
        for node in &nodes {
            node.set_routes(&routes);
        }
        Ok(Cluster {
            nodes: nodes.into_iter().map(Some).collect(),
            names,
            urls,
            db,
        })
    }

    /// The API node's base URL.
    pub fn api_url(&self) -> &str {
        &self.urls[0]
    }

    /// Every node's name on the ring, in node order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every node's base URL (where it listens), in node order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The slow store.
    pub fn db(&self) -> &SlowDb {
        &self.db
    }

    /// The ring as every node has it.
    pub fn ring(&self) -> Option<HashRing> {
        self.nodes.iter().flatten().next().map(Node::ring)
    }

    /// Every running node's figures, in node order (`None` for a stopped node).
    pub fn stats(&self) -> Vec<Option<NodeStats>> {
        self.nodes
            .iter()
            .map(|node| node.as_ref().map(Node::stats))
            .collect()
    }

    /// Stops node `index` (fault injection): its peers' fetches fail from
    /// now on and they load locally. Stopping node 0 stops the API.
    pub async fn stop_node(&mut self, index: usize) {
        if let Some(node) = self.nodes.get_mut(index).and_then(Option::take) {
            node.shutdown().await;
        }
    }

    /// Stops every node and waits for each.
    pub async fn shutdown(self) {
        for node in self.nodes.into_iter().flatten() {
            node.shutdown().await;
        }
    }
}
