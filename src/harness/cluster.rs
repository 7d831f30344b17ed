//! A GeeCache cluster in one process: N nodes on 127.0.0.1, each with its
//! own `scores` group over the shared slow store; node 0 also serves `/api`,
//! as in the source document.
//!
//! Nodes are named on the ring as the source document names them,
//! `http://localhost:8001`, `8002`, ..., whatever port they listen on, so
//! every run places each key on the same node: results of different runs
//! compare, and the placement is the source document's.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use crate::geecache::breakage::Breakage;
use crate::geecache::server::Limits;
use crate::geecache::{Group, GroupOptions, HashRing, Node, NodeConfig, NodeError, NodeStats};
use crate::harness::slowdb::SlowDb;
use crate::harness::workload::ClusterSettings;
use crate::units::Span;

/// The group every node serves, named as in the source document.
pub(crate) const GROUP: &str = "scores";

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
    /// Units of pure CPU work added to every request each node serves
    /// (`geecache::node::burn`): a cost as fine as a few instructions.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cpu: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Faults {
    /// Whether there is no fault at all.
    pub fn is_none(&self) -> bool {
        self.delay.is_none() && !self.cache_off && self.cpu == 0
    }
}

/// The group options a cluster's nodes use.
pub(crate) fn group_options(settings: &ClusterSettings) -> GroupOptions {
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
pub(crate) fn node_config(settings: &ClusterSettings, addr: SocketAddr, api: bool) -> NodeConfig {
    NodeConfig {
        addr,
        replicas: settings.replicas as usize,
        hash: settings.hash,
        peer_timeout: settings.peer_timeout.0,
        api,
        limits: Limits {
            header_timeout: settings.header_timeout.0,
            idle_timeout: settings.idle_timeout.0,
            max_connections: settings.max_connections as usize,
        },
        base_path: settings.base_path.clone(),
        source_header: settings.source_header,
        ..NodeConfig::default()
    }
}

/// Running nodes that know each other. Membership can change while load
/// runs: nodes stop and start, join and leave (a scenario's events).
pub struct Cluster {
    settings: ClusterSettings,
    faults: Faults,
    base_port: Option<u16>,
    members: RwLock<Members>,
    db: SlowDb,
}

/// Every node the cluster has had, in node order (node `i` is
/// [`ring_name`]`(i)` on the ring); a node that left stays, stopped and off
/// the rings, so its counters can still be read.
struct Members {
    nodes: Vec<Arc<Node>>,
    /// Whether each node is on the rings (false once it left).
    on_ring: Vec<bool>,
}

/// The rings before and after a membership change.
pub struct RingChange {
    /// The ring every node had before.
    pub before: HashRing,
    /// The ring every member has after.
    pub after: HashRing,
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
        let cluster = Cluster {
            settings: settings.clone(),
            faults,
            base_port,
            members: RwLock::new(Members {
                nodes: Vec::new(),
                on_ring: Vec::new(),
            }),
            db,
        };
        for _ in 0..settings.nodes {
            let node = cluster.launch().await?;
            cluster.members_mut().push(node);
        }
        cluster.route_members();
        Ok(cluster)
    }

    /// Starts the next node (index = the nodes so far) without routes.
    async fn launch(&self) -> Result<Node, ClusterError> {
        let index = self.members().nodes.len();
        let port = match self.base_port {
            None => 0,
            Some(base) => {
                u16::try_from(usize::from(base) + index).map_err(|_| ClusterError::Ports {
                    base,
                    nodes: index + 1,
                })?
            }
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let options = self.faults.group_options(&self.settings);
        let group = Arc::new(Group::new(GROUP, options, self.db.getter(index)));
        let mut config = node_config(&self.settings, addr, index == 0);
        config.url = Some(ring_name(index));
        config.injected_delay = self.faults.delay.map(Span::duration).unwrap_or_default();
        config.injected_cpu = self.faults.cpu;
        Node::start(config, vec![group])
            .await
            .map_err(|source| ClusterError::Node { index, source })
    }

    /// Gives every node on the ring the ring of the members.
    fn route_members(&self) {
        let members = self.members();
        let (names, urls) = (members.names(), members.urls());
        let routes: Vec<(&str, &str)> = (0..members.nodes.len())
            .filter(|&index| members.on_ring[index])
            .map(|index| (names[index].as_str(), urls[index].as_str()))
            .collect();
        for (index, node) in members.nodes.iter().enumerate() {
            if members.on_ring[index] {
                node.set_routes(&routes);
            }
        }
    }

    fn members(&self) -> RwLockReadGuard<'_, Members> {
        self.members
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn members_mut(&self) -> RwLockWriteGuard<'_, Members> {
        self.members
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Node `index`, when there is one.
    fn node(&self, index: usize) -> Option<Arc<Node>> {
        self.members().nodes.get(index).cloned()
    }

    /// The API node's base URL.
    pub fn api_url(&self) -> String {
        self.urls().swap_remove(0)
    }

    /// Every node's name on the ring, in node order, those that left
    /// included.
    pub fn names(&self) -> Vec<String> {
        self.members().names()
    }

    /// Every node's base URL (where it listens), in node order.
    pub fn urls(&self) -> Vec<String> {
        self.members().urls()
    }

    /// The slow store.
    pub fn db(&self) -> &SlowDb {
        &self.db
    }

    /// The ring as every member has it.
    pub fn ring(&self) -> Option<HashRing> {
        self.members().nodes.first().map(|node| node.ring())
    }

    /// Every node's figures, in node order; a stopped node's and a departed
    /// one's are as they were when it stopped.
    pub fn stats(&self) -> Vec<Option<NodeStats>> {
        self.members()
            .nodes
            .iter()
            .map(|node| Some(node.stats()))
            .collect()
    }

    /// Whether each node, in node order, is on the rings and answering
    /// (false for a stopped node and a departed one).
    pub fn answering(&self) -> Vec<bool> {
        let members = self.members();
        members
            .nodes
            .iter()
            .zip(&members.on_ring)
            .map(|(node, on_ring)| *on_ring && node.is_listening())
            .collect()
    }

    /// Stops node `index`: it answers nothing, and its peers, which still
    /// have it on their rings, fail to fetch from it and load locally.
    pub async fn stop_node(&self, index: usize) {
        if let Some(node) = self.node(index) {
            node.stop_listening().await;
        }
    }

    /// Starts stopped node `index` again on its address, with the cache it
    /// had when `keep_cache`, else empty as a restarted process's.
    pub async fn start_node(&self, index: usize, keep_cache: bool) -> Result<(), ClusterError> {
        let Some(node) = self.node(index) else {
            return Ok(());
        };
        if !keep_cache {
            if let Some(group) = node.group(GROUP) {
                group.clear_caches();
            }
        }
        node.listen_again()
            .await
            .map_err(|source| ClusterError::Node { index, source })
    }

    /// Makes every request node `index` serves wait `delay` first.
    pub fn slow_node(&self, index: usize, delay: std::time::Duration) {
        if let Some(node) = self.node(index) {
            node.set_delay(delay);
        }
    }

    /// Makes node `index` break `share` of its answers as `how` says, or
    /// mends them with `None`.
    pub fn break_node(&self, index: usize, how: Option<Breakage>, share: f64) {
        if let Some(node) = self.node(index) {
            node.set_breakage(how, share);
        }
    }

    /// A new node joins: it starts, and every member's ring gets it.
    pub async fn add_node(&self) -> Result<RingChange, ClusterError> {
        let before = self.ring();
        let node = self.launch().await?;
        self.members_mut().push(node);
        self.route_members();
        Ok(self.change_since(before))
    }

    /// Node `index` leaves gracefully: every other member's ring drops it,
    /// then it stops.
    pub async fn remove_node(&self, index: usize) -> RingChange {
        let before = self.ring();
        let node = {
            let mut members = self.members_mut();
            if let Some(on_ring) = members.on_ring.get_mut(index) {
                *on_ring = false;
            }
            members.nodes.get(index).cloned()
        };
        self.route_members();
        if let Some(node) = node {
            node.stop_listening().await;
        }
        self.change_since(before)
    }

    fn change_since(&self, before: Option<HashRing>) -> RingChange {
        let after = self
            .ring()
            .unwrap_or_else(|| HashRing::new(self.settings.replicas as usize, self.settings.hash));
        RingChange {
            before: before.unwrap_or_else(|| after.clone()),
            after,
        }
    }

    /// Stops every node and waits for each.
    pub async fn shutdown(&self) {
        let nodes = std::mem::take(&mut self.members_mut().nodes);
        for node in nodes {
            match Arc::try_unwrap(node) {
                Ok(node) => node.shutdown().await,
                Err(shared) => shared.stop_listening().await,
            }
        }
    }
}

impl Members {
    /// Each node's name on the ring.
    fn names(&self) -> Vec<String> {
        (0..self.nodes.len()).map(ring_name).collect()
    }

    /// Each node's base URL, where it listens.
    fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("http://{}", node.addr()))
            .collect()
    }

    fn push(&mut self, node: Node) {
        self.on_ring.push(true);
        self.nodes.push(Arc::new(node));
    }
}
