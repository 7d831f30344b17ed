//! geecache-bench: starts a GeeCache cluster on localhost, drives key
//! workloads at it, and records what it measured.
//!
//! Layout:
//! - [`geecache`]: the system under test, a Rust rebuild of GeeCache
//!   (byte-bounded LRU, consistent hashing, singleflight, groups, HTTP peers).
//!   It is a library of its own and knows nothing of the harness.
//! - The harness (workloads, the slow store, the cluster, the driver and the
//!   reports) sits beside it and uses only its public API.

pub mod geecache;
