//! GeeCache in Rust: the system under test.
//!
//! A rebuild of the GeeCache tutorial (itself a clone of groupcache), one
//! idea per module as in groupcache:
//!
//! - [`lru`]: a least-recently-used cache bounded by bytes.
//! - `keyhash`: the seeded hash of the maps a request looks keys up in.
//! - `byteview`: the immutable value the cache hands out ([`ByteView`]).
//! - `cache`: an LRU behind a lock, with its counters.
//! - `consistent_hash`: the ring of virtual nodes that maps keys to peers
//!   ([`HashRing`]).
//! - [`singleflight`]: merges concurrent loads of one key.
//! - `group`: a namespace with a getter, a main cache and peers; the load
//!   path ([`Group`]).
//! - [`peers`]: the seams a group uses to pick a peer and fetch from it.
//! - [`path`]: the peer protocol's paths: the base path, escaping, queries.
//! - [`http`]: the pooled client that fetches from peers, and the peer pool.
//! - [`h1`]: one HTTP/1.1 client connection, as the peer client and the
//!   load driver use it.
//! - `failure`: how an exchange fails: no answer (`ConnectionError`) or a
//!   broken one (`Broken`).
//! - `node`: one HTTP server with its groups and ring; shuts down cleanly
//!   ([`Node`]).
//! - [`server`]: the HTTP/1.1 accept loop with graceful shutdown that nodes use.
//! - [`breakage`]: answers broken on purpose (reset, cut short, a wrong
//!   length, stalled), for fault injection.
//! - `source`: where an API answer came from (cache, owner, load), as its
//!   header tells the client ([`Source`]).
//! - `stats`: lock-free counters with groupcache's names ([`GroupReport`],
//!   [`NodeStats`]).
//! - `metrics`: the same counters in the Prometheus text format
//!   (`GET /metrics`).
//!
//! There is no global state: every [`Node`] owns its groups, so a
//! whole cluster can run in one process.

pub mod breakage;
mod byteview;
mod cache;
mod consistent_hash;
mod failure;
pub(crate) mod group;
pub mod h1;
pub mod http;
mod keyhash;
pub mod lru;
mod metrics;
pub(crate) mod node;
pub mod path;
pub mod peers;
pub mod server;
pub mod singleflight;
pub(crate) mod source;
pub(crate) mod stats;

pub use byteview::ByteView;
pub use consistent_hash::{HashKind, HashRing, RingHasher};
pub use group::{
    BoxError, Getter, GetterFn, Group, GroupError, GroupOptions, PeersAlreadyRegistered, Route,
};
pub use node::{Node, NodeConfig, NodeError, NodeStats};
pub use peers::{PeerError, PeerGetter, PeerPicker};
pub use source::Source;
pub use stats::{CacheStats, GroupReport, GroupSettings, GroupStatsSnapshot};
