//! A target's cluster settings as far as its nodes' `/_stats` reported
//! them: each setting observed, given or assumed, and which the nodes
//! disagree on. Cluster mode needs none: the workload's settings are the
//! cluster's.

use serde::{Deserialize, Serialize};

use crate::geecache::stats::{GroupReport, GroupSettings};
use crate::geecache::{HashKind, NodeStats};
use crate::units::ByteSize;

/// Where a target-mode setting's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingOrigin {
    /// A node's `/_stats` reported it.
    Observed,
    /// The command line gave it (`--peers`).
    Given,
    /// No node reported it: the workload's value, which the target may not
    /// share.
    Assumed,
}

/// One setting of a target's cluster and where its value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Where it comes from.
    pub source: SettingOrigin,
}

/// A target's cluster settings, as far as they are known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// Nodes on the ring: observed from a node's ring, or the `--peers`
    /// given, or assumed.
    pub nodes: Setting<usize>,
    /// Virtual nodes per peer.
    pub replicas: Setting<usize>,
    /// The ring's hash.
    pub hash: Setting<HashKind>,
    /// Each node's main-cache bound.
    pub cache_bytes: Setting<ByteSize>,
    /// Whether concurrent loads of a key merge.
    pub singleflight: Setting<bool>,
    /// Whether the hot cache is on.
    pub hot_cache: Setting<bool>,
    /// Settings the nodes reported differently (the first one read is
    /// kept above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagree: Vec<String>,
}

impl TargetSettings {
    /// What the target's nodes reported (`readings`, the API node's
    /// first), over the `workload`'s settings, with `peers` given.
    pub fn of(
        readings: &[&NodeStats],
        workload: &crate::harness::workload::ClusterSettings,
        peers: usize,
    ) -> TargetSettings {
        let groups: Vec<GroupSettings> = readings
            .iter()
            .filter_map(|stats| harness_group(stats)?.settings)
            .collect();
        let rings = |value: fn(&NodeStats) -> usize| -> Vec<usize> {
            readings.iter().map(|stats| value(stats)).collect()
        };
        let mut disagree = Vec::new();
        let mut nodes = reported(
            "nodes",
            &rings(|stats| stats.peers.len()),
            workload.nodes as usize,
            &mut disagree,
        );
        // No ring read: the --peers given say how many nodes there are.
        if nodes.source == SettingOrigin::Assumed && peers > 0 {
            nodes = Setting {
                value: peers,
                source: SettingOrigin::Given,
            };
        }
        let hashes: Vec<HashKind> = readings.iter().map(|stats| stats.hash).collect();
        let cache: Vec<ByteSize> = groups
            .iter()
            .map(|group| ByteSize(group.cache_bytes))
            .collect();
        let flights: Vec<bool> = groups.iter().map(|group| group.singleflight).collect();
        let hots: Vec<bool> = groups.iter().map(|group| group.hot_cache).collect();
        TargetSettings {
            nodes,
            replicas: reported(
                "replicas",
                &rings(|stats| stats.replicas),
                workload.replicas as usize,
                &mut disagree,
            ),
            hash: reported("hash", &hashes, workload.hash, &mut disagree),
            cache_bytes: reported("cache_bytes", &cache, workload.cache_bytes, &mut disagree),
            singleflight: reported(
                "singleflight",
                &flights,
                workload.singleflight,
                &mut disagree,
            ),
            hot_cache: reported("hot_cache", &hots, workload.hot_cache, &mut disagree),
            disagree,
        }
    }
}

/// The first of the `values` the nodes reported, observed (`name` goes to
/// `disagree` when they differ), or, with none, `assumed`.
fn reported<T: Copy + PartialEq>(
    name: &str,
    values: &[T],
    assumed: T,
    disagree: &mut Vec<String>,
) -> Setting<T> {
    if values.windows(2).any(|pair| pair[0] != pair[1]) {
        disagree.push(name.to_owned());
    }
    match values.first() {
        Some(&value) => Setting {
            value,
            source: SettingOrigin::Observed,
        },
        None => Setting {
            value: assumed,
            source: SettingOrigin::Assumed,
        },
    }
}

/// A node's group: the harness's, or its only one.
pub(super) fn harness_group(stats: &NodeStats) -> Option<&GroupReport> {
    stats
        .groups
        .get(crate::harness::cluster::GROUP)
        .or_else(|| stats.groups.values().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_settings_are_observed_where_a_node_reported_them() {
        let workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        let node = |replicas: usize, settings: Option<GroupSettings>| {
            let mut stats = NodeStats {
                url: "http://a".to_owned(),
                connections: 0,
                replicas,
                hash: HashKind::Xxh3,
                peers: vec!["http://a".to_owned(), "http://b".to_owned()],
                groups: Default::default(),
                process_cpu_us: None,
                broken_sent: Default::default(),
            };
            stats.groups.insert(
                "scores".to_owned(),
                GroupReport {
                    stats: Default::default(),
                    main_cache: Default::default(),
                    hot_cache: None,
                    settings,
                },
            );
            stats
        };
        let switches = GroupSettings {
            cache_bytes: 4096,
            singleflight: false,
            hot_cache: true,
        };
        // Two nodes that disagree on replicas; one reports its group's
        // settings, the other (an older version) does not.
        let (first, second) = (node(10, Some(switches)), node(20, None));
        let settings = TargetSettings::of(&[&first, &second], &workload.cluster, 5);
        assert_eq!(
            (settings.nodes.value, settings.nodes.source),
            (2, SettingOrigin::Observed)
        );
        assert_eq!(
            (settings.replicas.value, settings.replicas.source),
            (10, SettingOrigin::Observed)
        );
        assert_eq!(settings.hash.value, HashKind::Xxh3);
        assert_eq!(settings.cache_bytes.value, ByteSize(4096));
        assert_eq!(
            (settings.singleflight.value, settings.hot_cache.value),
            (false, true)
        );
        assert_eq!(settings.disagree, ["replicas"]);
        // Nodes without group settings: the ring is observed, the rest is
        // the workload's, assumed.
        let settings = TargetSettings::of(&[&second], &workload.cluster, 5);
        assert_eq!(settings.replicas.source, SettingOrigin::Observed);
        assert_eq!(
            (settings.cache_bytes.value, settings.cache_bytes.source),
            (workload.cluster.cache_bytes, SettingOrigin::Assumed)
        );
        assert_eq!(settings.singleflight.source, SettingOrigin::Assumed);
        // Nothing read: the peers given, the rest assumed.
        let settings = TargetSettings::of(&[], &workload.cluster, 5);
        assert_eq!(
            (settings.nodes.value, settings.nodes.source),
            (5, SettingOrigin::Given)
        );
        assert_eq!(settings.hash.source, SettingOrigin::Assumed);
        assert!(settings.disagree.is_empty());
    }
}
