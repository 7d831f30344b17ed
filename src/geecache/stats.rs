//! Counters with groupcache's names, kept as lock-free atomics and read as
//! plain serializable snapshots.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::breakage::BrokenSent;
use super::consistent_hash::HashKind;
use super::h1::Broken;

/// Declares a struct of atomic counters and its snapshot twin, so the two
/// lists of names cannot drift apart.
macro_rules! counters {
    ($(#[$meta:meta])* $live:ident => $snapshot:ident { $($(#[$field_meta:meta])* $field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $live {
            $($(#[$field_meta])* pub $field: AtomicU64,)+
        }

        /// A point-in-time copy of the counters. A counter a node does not
        /// report (an older version's) reads as zero.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $snapshot {
            $($(#[$field_meta])* pub $field: u64,)+
        }

        impl $live {
            /// Reads every counter. Each read is atomic; the set is not, which
            /// is fine for counters that only grow.
            pub fn snapshot(&self) -> $snapshot {
                $snapshot {
                    $($field: self.$field.load(Ordering::Relaxed),)+
                }
            }
        }

        // Not every set's snapshot is read by name or differenced: the
        // cache's is read whole, into `CacheStats`.
        #[allow(dead_code)]
        impl $snapshot {
            /// Every counter by its name, in declaration order.
            pub fn named(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field),)+]
            }

            /// What the counters did since `earlier`, a snapshot of the same
            /// counters taken before this one.
            pub fn since(&self, earlier: &$snapshot) -> $snapshot {
                $snapshot {
                    $($field: self.$field.saturating_sub(earlier.$field),)+
                }
            }
        }
    };
}

counters! {
    /// What a group did, with groupcache's names.
    GroupStats => GroupStatsSnapshot {
        /// Every `get`, hits and misses alike.
        gets,
        /// Gets answered from the main or the hot cache.
        cache_hits,
        /// Values fetched from a peer.
        peer_loads,
        /// Peer fetches that failed (and fell back to a local load).
        peer_errors,
        /// Of those, answers whose connection was reset midway.
        peer_resets,
        /// Of those, answers cut short: the peer closed before the end.
        peer_truncated,
        /// Of those, answers that began and then stopped until the timeout.
        peer_stalled,
        /// Of those, answers that did not parse or disagreed with their
        /// own framing (a wrong `Content-Length`).
        peer_malformed,
        /// Gets that missed the cache and went to load.
        loads,
        /// Loads that ran after singleflight merged concurrent ones.
        loads_deduped,
        /// Values loaded from the getter (the slow store).
        local_loads,
        /// Getter calls that failed.
        local_load_errs,
        /// Requests this group served to peers over HTTP.
        server_requests,
    }
}

impl GroupStats {
    /// The counter of peer answers broken in the way `kind` says.
    pub fn broken(&self, kind: Broken) -> &AtomicU64 {
        match kind {
            Broken::Reset => &self.peer_resets,
            Broken::Truncated => &self.peer_truncated,
            Broken::Stalled => &self.peer_stalled,
            Broken::Malformed => &self.peer_malformed,
        }
    }
}

counters! {
    /// What a cache did; `bytes` and `items` are read from the LRU itself.
    CacheCounters => CacheCountersSnapshot {
        /// Lookups.
        gets,
        /// Lookups that found the key.
        hits,
        /// Entries pushed out by the byte bound.
        evictions,
    }
}

/// A cache's figures as groupcache reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Bytes held: keys plus values.
    pub bytes: u64,
    /// Entries held.
    pub items: u64,
    /// Lookups.
    pub gets: u64,
    /// Lookups that found the key.
    pub hits: u64,
    /// Entries pushed out by the byte bound.
    pub evictions: u64,
}

impl CacheStats {
    /// What the cache did since `earlier`: the counters as differences, the
    /// gauges (`bytes`, `items`) as they are now.
    pub fn since(&self, earlier: &CacheStats) -> CacheStats {
        CacheStats {
            bytes: self.bytes,
            items: self.items,
            gets: self.gets.saturating_sub(earlier.gets),
            hits: self.hits.saturating_sub(earlier.hits),
            evictions: self.evictions.saturating_sub(earlier.evictions),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A group's figures, as `/_stats` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupReport {
    /// The group's counters.
    pub stats: GroupStatsSnapshot,
    /// The main cache.
    pub main_cache: CacheStats,
    /// The hot cache, when it is on.
    pub hot_cache: Option<CacheStats>,
    /// How the group caches and loads; absent from nodes that do not say
    /// (other implementations, older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<GroupSettings>,
}

/// How a group caches and loads, as `/_stats` reports it, so that a driver
/// of a cluster it did not start knows what it measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    /// The main cache's bound in bytes; 0 is unbounded.
    pub cache_bytes: u64,
    /// Whether concurrent loads of one key merge into one.
    pub singleflight: bool,
    /// Whether some values fetched from peers are kept in a hot cache.
    pub hot_cache: bool,
}

/// A node's figures, as `/_stats` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStats {
    /// The node's base URL, its name on the ring.
    pub url: String,
    /// Connections the node accepted: with keep-alive clients this stays
    /// near the number of clients, however many requests they send.
    pub connections: u64,
    /// Virtual nodes per peer on the node's ring.
    pub replicas: usize,
    /// The ring's hash.
    pub hash: HashKind,
    /// The peers on the node's ring, this node included, in the order given.
    pub peers: Vec<String>,
    /// Each group by name.
    pub groups: BTreeMap<String, GroupReport>,
    /// CPU time (user and system) of the node's process so far, in
    /// microseconds: only when the node is its own process (`serve`), as
    /// nodes sharing a process cannot tell their shares apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_cpu_us: Option<u64>,
    /// Answers the node broke on purpose (a scenario's `break_node`), by
    /// breakage; absent while it has broken none.
    #[serde(default, skip_serializing_if = "BrokenSent::is_zero")]
    pub broken_sent: BrokenSent,
}

impl NodeStats {
    /// Every get of every group so far: it only grows, so of two readings
    /// of one node the one with fewer gets was taken first.
    pub fn gets(&self) -> u64 {
        self.groups.values().map(|report| report.stats.gets).sum()
    }

    /// What the node did since `earlier`, an earlier reading of the same
    /// node: counters as differences, cache sizes as they are now.
    pub fn since(&self, earlier: &NodeStats) -> NodeStats {
        let groups = self
            .groups
            .iter()
            .map(|(name, report)| {
                let report = match earlier.groups.get(name) {
                    Some(before) => GroupReport {
                        stats: report.stats.since(&before.stats),
                        main_cache: report.main_cache.since(&before.main_cache),
                        hot_cache: match (&report.hot_cache, &before.hot_cache) {
                            (Some(now), Some(then)) => Some(now.since(then)),
                            (now, _) => *now,
                        },
                        settings: report.settings,
                    },
                    None => report.clone(),
                };
                (name.clone(), report)
            })
            .collect();
        NodeStats {
            connections: self.connections.saturating_sub(earlier.connections),
            groups,
            process_cpu_us: match (self.process_cpu_us, earlier.process_cpu_us) {
                (Some(now), Some(then)) => Some(now.saturating_sub(then)),
                _ => None,
            },
            broken_sent: self.broken_sent.since(&earlier.broken_sent),
            ..self.clone()
        }
    }
}

/// CPU time this process has used so far, user and system together.
pub fn process_cpu() -> Option<std::time::Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given
    // and returns 0 when it did.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return None;
        }
        usage.assume_init()
    };
    let time = |value: libc::timeval| {
        std::time::Duration::from_secs(value.tv_sec.max(0) as u64)
            + std::time::Duration::from_micros(value.tv_usec.max(0) as u64)
    };
    Some(time(usage.ru_utime) + time(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_copy_every_counter() {
        let stats = GroupStats::default();
        bump(&stats.gets);
        bump(&stats.gets);
        bump(&stats.server_requests);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.gets, 2);
        assert_eq!(snapshot.server_requests, 1);
        assert_eq!(snapshot.cache_hits, 0);
    }

    #[test]
    fn since_gives_differences_of_counters_and_current_gauges() {
        let stats = GroupStats::default();
        bump(&stats.gets);
        let before = stats.snapshot();
        bump(&stats.gets);
        bump(&stats.loads);
        let delta = stats.snapshot().since(&before);
        assert_eq!((delta.gets, delta.loads, delta.cache_hits), (1, 1, 0));

        let earlier = CacheStats {
            bytes: 50,
            items: 5,
            gets: 10,
            hits: 4,
            evictions: 1,
        };
        let later = CacheStats {
            bytes: 40,
            items: 4,
            gets: 15,
            hits: 6,
            evictions: 3,
        };
        assert_eq!(
            later.since(&earlier),
            CacheStats {
                bytes: 40,
                items: 4,
                gets: 5,
                hits: 2,
                evictions: 2
            }
        );
    }

    #[test]
    fn snapshots_serialize_with_groupcaches_names() {
        let json = serde_json::to_value(GroupStats::default().snapshot()).unwrap();
        let names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for name in [
            "gets",
            "cache_hits",
            "peer_loads",
            "peer_errors",
            "peer_resets",
            "peer_truncated",
            "peer_stalled",
            "peer_malformed",
            "loads",
            "loads_deduped",
            "local_loads",
            "local_load_errs",
            "server_requests",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        assert_eq!(names.len(), 13);
        // A node that reports fewer counters (an older version) reads as
        // zero for the rest, not as an error.
        let older: GroupStatsSnapshot = serde_json::from_str(r#"{ "gets": 3 }"#).unwrap();
        assert_eq!((older.gets, older.peer_resets), (3, 0));
    }
}
