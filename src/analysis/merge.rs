//! `merge`: the results of drivers that drove one cluster at the same time
//! (one per host when one driver is not enough) made one result: counts
//! summed, histograms added exactly (the percentiles of the union, not
//! averages of percentiles), series aligned by wall-clock interval, and the
//! cluster figures from each node's `/_stats` over the union of the drivers'
//! time spans.

use std::collections::BTreeMap;

use crate::analysis::differences;
use crate::geecache::NodeStats;
use crate::harness::latency::HistogramError;
use crate::harness::registry::one_trial;
use crate::harness::report::{
    self, group_of, ClusterFigures, IntervalFigures, Mode, NodeFigures, RunResult, ShardFigures,
};
use crate::units::rfc3339;

/// Why results cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The results do not come from drivers of one cluster and workload.
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// A histogram could not be read or added.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// Why results are not the drivers of one run: each names the result
/// (by its file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No result.
    #[error("nothing to merge: give two results or more")]
    Nothing,
    /// One result.
    #[error("{0}: one result; merge needs two or more")]
    OnlyOne(String),
    /// A result of a run that started its own cluster.
    #[error(
        "{0}: a run of its own cluster; merge combines --target runs of drivers \
         that drove one cluster at the same time"
    )]
    OwnCluster(String),
    /// Two results of different targets.
    #[error("{name} drove {target} and {first_name} drove {first_target}: different targets")]
    Targets {
        /// The result.
        name: String,
        /// Its target.
        target: String,
        /// The first result.
        first_name: String,
        /// The first's target.
        first_target: String,
    },
    /// A result of several trials.
    #[error("{name}: {trials} trials; merge combines single trials")]
    Trials {
        /// The result.
        name: String,
        /// Its trials.
        trials: usize,
    },
    /// A result without its measurement's start (an older one).
    #[error("{0}: no measure_started_unix_ms (an older result): its series cannot be aligned")]
    NoStart(String),
    /// Results of different workloads.
    #[error("the results ran different workloads ({})", .0.join(", "))]
    Workloads(Vec<String>),
    /// A whole run's result among shards.
    #[error(
        "{whole} is not a shard, and {first_name} is shard {}/{}: give the shards of one run",
        first.index,
        first.count
    )]
    NotAShard {
        /// The unsharded result.
        whole: String,
        /// The first sharded result.
        first_name: String,
        /// Its shard.
        first: ShardFigures,
    },
    /// A shard of another run.
    #[error(
        "{name} is shard {}/{} of another run (fingerprint {}) than {first_name}'s \
         {}/{} (fingerprint {}): its workload, target or nodes differ",
        shard.index,
        shard.count,
        shard.fingerprint,
        first.index,
        first.count,
        first.fingerprint
    )]
    OtherRun {
        /// The result.
        name: String,
        /// Its shard.
        shard: ShardFigures,
        /// The first sharded result.
        first_name: String,
        /// Its shard.
        first: ShardFigures,
    },
    /// One shard in two results.
    #[error("shard {index}/{count} is given twice: {earlier} and {name}")]
    Twice {
        /// The shard.
        index: u32,
        /// The run's shards.
        count: u32,
        /// The first result with it.
        earlier: String,
        /// The second.
        name: String,
    },
    /// A shard beyond the run's count.
    #[error("{name}: shard {index}/{count} does not exist")]
    NoSuchShard {
        /// The result.
        name: String,
        /// Its shard.
        index: u32,
        /// The run's shards.
        count: u32,
    },
    /// Shards no result has.
    #[error(
        "shard {} of the run (fingerprint {fingerprint}) is missing: merge needs every shard once",
        missing.join(", ")
    )]
    Missing {
        /// Each missing shard, as `index/count`.
        missing: Vec<String>,
        /// The run's fingerprint.
        fingerprint: String,
    },
}

/// When a result's measurement began and ended, in milliseconds since the
/// Unix epoch.
fn span_ms(result: &RunResult) -> Option<(u64, u64)> {
    let start = result.measure_started_unix_ms?;
    Some((
        start,
        start + (result.client.duration_secs * 1000.0).round() as u64,
    ))
}

/// Of one node's readings, each beside the moment its driver's span began,
/// the one taken first: the one that had counted the fewest gets, as
/// counters only grow. Two drivers' spans, in milliseconds, cannot order
/// readings taken moments apart, and the later start reading would drop
/// the other driver's first requests from the union.
fn first_reading<'a>(
    readings: impl Iterator<Item = (&'a NodeStats, u64)>,
) -> Option<&'a NodeStats> {
    readings
        .min_by_key(|(stats, at)| (stats.gets(), *at))
        .map(|(stats, _)| stats)
}

/// Of one node's readings, each beside the moment its driver's span ended,
/// the one taken last: the one that had counted the most gets.
fn last_reading<'a>(readings: impl Iterator<Item = (&'a NodeStats, u64)>) -> Option<&'a NodeStats> {
    readings
        .max_by_key(|(stats, at)| (stats.gets(), *at))
        .map(|(stats, _)| stats)
}

/// Checks that `named` results can be merged: two or more `--target`
/// results of one target and one workload, one trial each, with their
/// measurement start recorded.
fn check(named: &[(String, RunResult)]) -> Result<(), MergeError> {
    let refuse = |refusal: Refusal| Err(MergeError::Refused(Box::new(refusal)));
    let Some((first_name, first)) = named.first() else {
        return refuse(Refusal::Nothing);
    };
    if named.len() < 2 {
        return refuse(Refusal::OnlyOne(first_name.clone()));
    }
    for (name, result) in named {
        if result.mode != Mode::Target {
            return refuse(Refusal::OwnCluster(name.clone()));
        }
        if result.target != first.target {
            return refuse(Refusal::Targets {
                name: name.clone(),
                target: result.target.clone(),
                first_name: first_name.clone(),
                first_target: first.target.clone(),
            });
        }
        if result.trials.len() > 1 {
            return refuse(Refusal::Trials {
                name: name.clone(),
                trials: result.trials.len(),
            });
        }
        if span_ms(result).is_none() {
            return refuse(Refusal::NoStart(name.clone()));
        }
    }
    check_shards(named)?;
    let workload = differences::of_workload(&differences::between(
        named.iter().map(|(_, result)| result),
    ));
    if !workload.is_empty() {
        return refuse(Refusal::Workloads(workload));
    }
    Ok(())
}

/// Checks that sharded results are every shard of one run, each once:
/// one fingerprint and one count, no index missing or given twice. Results
/// of unsharded drivers are not mixed in.
fn check_shards(named: &[(String, RunResult)]) -> Result<(), MergeError> {
    let refuse = |refusal: Refusal| Err(MergeError::Refused(Box::new(refusal)));
    let sharded: Vec<_> = named
        .iter()
        .filter_map(|(name, result)| Some((name, result.shard.as_ref()?)))
        .collect();
    let Some(&(first_name, first)) = sharded.first() else {
        return Ok(());
    };
    if sharded.len() < named.len() {
        let whole = named
            .iter()
            .find(|(_, result)| result.shard.is_none())
            .map_or("", |(name, _)| name.as_str());
        return refuse(Refusal::NotAShard {
            whole: whole.to_owned(),
            first_name: first_name.clone(),
            first: first.clone(),
        });
    }
    let mut seen: Vec<Option<&str>> = vec![None; first.count as usize];
    for &(name, shard) in &sharded {
        if shard.fingerprint != first.fingerprint || shard.count != first.count {
            return refuse(Refusal::OtherRun {
                name: name.clone(),
                shard: shard.clone(),
                first_name: first_name.clone(),
                first: first.clone(),
            });
        }
        match seen.get_mut(shard.index as usize) {
            Some(Some(earlier)) => {
                return refuse(Refusal::Twice {
                    index: shard.index,
                    count: shard.count,
                    earlier: (*earlier).to_owned(),
                    name: name.clone(),
                })
            }
            Some(slot) => *slot = Some(name.as_str()),
            None => {
                return refuse(Refusal::NoSuchShard {
                    name: name.clone(),
                    index: shard.index,
                    count: shard.count,
                })
            }
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, name)| name.is_none())
        .map(|(index, _)| format!("{index}/{}", first.count))
        .collect();
    if !missing.is_empty() {
        return refuse(Refusal::Missing {
            missing,
            fingerprint: first.fingerprint.clone(),
        });
    }
    Ok(())
}

/// Merges `named` results (name, result) of drivers that drove one cluster
/// at once.
pub fn merge(named: &[(String, RunResult)]) -> Result<RunResult, MergeError> {
    check(named)?;
    let spans: Vec<(u64, u64)> = named
        .iter()
        .filter_map(|(_, result)| span_ms(result))
        .collect();
    let earliest = (0..named.len()).min_by_key(|&at| spans[at].0).unwrap_or(0);
    let latest = (0..named.len()).max_by_key(|&at| spans[at].1).unwrap_or(0);
    let (start, end) = (spans[earliest].0, spans[latest].1);
    let mut merged = named[earliest].1.clone();

    // The driver's counts, summed; the histograms, added.
    let histograms =
        report::histograms_added(named.iter().map(|(name, result)| (name.as_str(), result)))
            .map_err(MergeError::Histogram)?;
    sum_clients(&mut merged, named, earliest, (start, end));
    merged
        .set_histograms(histograms)
        .map_err(MergeError::Histogram)?;

    merge_nodes(&mut merged, named);
    union_facts(&mut merged, named, &spans, start);
    Ok(one_trial(merged))
}

/// The drivers' counts summed into `merged`, which holds the `earliest`
/// driver's already, over the union of their spans from `start` to `end`.
fn sum_clients(
    merged: &mut RunResult,
    named: &[(String, RunResult)],
    earliest: usize,
    (start, end): (u64, u64),
) {
    // The earliest driver's counts are the merged result's already.
    let client = &mut merged.client;
    for (at, (_, result)) in named.iter().enumerate() {
        if at == earliest {
            continue;
        }
        let other = &result.client;
        client.requests += other.requests;
        client.responses += other.responses;
        client.ok += other.ok;
        client.missing += other.missing;
        client.errors.merge(&other.errors);
        client.warmup_requests += other.warmup_requests;
        client.connections += other.connections;
        client.unsent += other.unsent;
    }
    // Each driver's CPU was its own process's, on its own host: none is the
    // union's.
    client.cpu_us_per_request = None;
    client.duration_secs = (end - start) as f64 / 1000.0;
    client.throughput_rps = if client.duration_secs > 0.0 {
        client.requests as f64 / client.duration_secs
    } else {
        0.0
    };
}

/// Each node's figures over the union of the spans, and the cluster's
/// made of them.
fn merge_nodes(merged: &mut RunResult, named: &[(String, RunResult)]) {
    // Each node over the union of the spans: from the earliest reading at
    // a start to the latest at an end.
    // Each driver's figures of a node, found by its name on the ring (the
    // drivers may list their --peers in different orders).
    let readings_of = |url: &str| {
        named
            .iter()
            .filter_map(|(_, result)| {
                let node = result.nodes.iter().find(|node| node.url == url)?;
                Some((span_ms(result)?, node))
            })
            .collect::<Vec<_>>()
    };
    for (index, node) in merged.nodes.iter_mut().enumerate() {
        let readings = readings_of(&node.url);
        let start_reading = first_reading(
            readings
                .iter()
                .filter_map(|((start, _), node)| Some((node.stats_start.as_ref()?, *start))),
        )
        .cloned();
        let end_reading = last_reading(
            readings
                .iter()
                .filter_map(|((_, end), node)| Some((node.stats_end.as_ref()?, *end))),
        )
        .cloned();
        let delta = start_reading
            .as_ref()
            .zip(end_reading.as_ref())
            .map(|(start, end)| end.since(start));
        let mut figures = NodeFigures::at(index, &node.url, &node.listen, node.api);
        figures.ring_share = node.ring_share;
        figures.keys_owned = node.keys_owned;
        figures.set_stats(delta, None);
        figures.stats_start = start_reading;
        figures.stats_end = end_reading;
        *node = figures;
    }
    let groups: Vec<_> = merged
        .nodes
        .iter()
        .filter_map(|node| node.stats.as_ref().and_then(group_of))
        .collect();
    let api = merged
        .nodes
        .iter()
        .find(|node| node.api)
        .and_then(|node| node.stats.as_ref().and_then(group_of));
    merged.cluster = ClusterFigures::of(
        api.map(|(stats, _)| stats),
        groups.iter().map(|(stats, _)| stats),
        None,
        merged.client.requests,
    );
}

/// The union's series, its span and start, and the figures no one driver
/// can give it (calibration, slices, counted pass, memory, latency by
/// source) left out.
fn union_facts(
    merged: &mut RunResult,
    named: &[(String, RunResult)],
    spans: &[(u64, u64)],
    start: u64,
) {
    merged.series = aligned_series(named, start);
    merged.started_at = named
        .iter()
        .map(|(_, result)| result.started_at.clone())
        .min()
        .unwrap_or_default();
    merged.finished_at = named
        .iter()
        .map(|(_, result)| result.finished_at.clone())
        .max()
        .unwrap_or_else(|| rfc3339(std::time::SystemTime::now()));
    merged.measure_started_unix_ms = Some(start);
    // Each driver's calibration measured its own host's loopback: none
    // describes the union.
    merged.calibration = None;
    // Each driver's slices were its own.
    merged.slices = None;
    // A counted pass needs the run's own cluster: target-mode drivers
    // have none, and one driver's would not describe the others'.
    merged.counted = None;
    // Each driver was its own process, with its own memory.
    merged.memory = None;
    // Each driver's latency by source is figures, not histograms: they do
    // not add up.
    merged.client.latency_by_source = None;
    merged.merged_from = named.iter().map(|(name, _)| name.clone()).collect();
    // The union is the whole run: no shard's, and no one driver's start.
    merged.shard = None;
    merged.start = None;
    merged.start_skew_ms = spans
        .iter()
        .map(|span| span.0)
        .max()
        .map(|latest| latest - start);
    merged.trials = Vec::new();
    // A shard killed mid-run left a checkpoint: the union holds less than
    // the whole run, down to the shortest part.
    merged.incomplete = named
        .iter()
        .filter_map(|(_, result)| result.incomplete.clone())
        .min_by(|a, b| a.measured_secs.total_cmp(&b.measured_secs));
}

/// The drivers' series on one wall-clock grid of the workload's interval
/// from `start`: requests and errors summed; the cluster figures (each
/// driver reads every node) from the first driver that has the interval.
/// An interval's percentiles cannot be added without its histograms, so
/// they are left out (`null`).
fn aligned_series(named: &[(String, RunResult)], start: u64) -> Vec<IntervalFigures> {
    let length_ms = named
        .first()
        .map_or(1000, |(_, result)| {
            result.workload.interval.0.as_millis() as u64
        })
        .max(1);
    let mut slots: BTreeMap<u64, IntervalFigures> = BTreeMap::new();
    for (_, result) in named {
        let Some((begin, _)) = span_ms(result) else {
            continue;
        };
        for entry in &result.series {
            let wall = begin - start + (entry.client.start_secs * 1000.0).round() as u64;
            let slot = (wall + length_ms / 2) / length_ms;
            match slots.get_mut(&slot) {
                Some(merged) => {
                    merged.client.requests += entry.client.requests;
                    merged.client.errors += entry.client.errors;
                    merged.client.throughput_rps += entry.client.throughput_rps;
                    if merged.cluster.is_none() {
                        merged.cluster = entry.cluster.clone();
                    }
                }
                None => {
                    let mut first = entry.clone();
                    first.client.interval = slot;
                    first.client.start_secs = (slot * length_ms) as f64 / 1000.0;
                    first.client.p50_us = None;
                    first.client.p99_us = None;
                    slots.insert(slot, first);
                }
            }
        }
    }
    slots.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::stats::GroupReport;

    fn reading(gets: u64) -> NodeStats {
        let mut stats = NodeStats {
            url: "http://a".to_owned(),
            connections: 0,
            replicas: 1,
            hash: crate::geecache::HashKind::Xxh3,
            peers: vec!["http://a".to_owned()],
            groups: Default::default(),
            process_cpu_us: None,
            broken_sent: Default::default(),
        };
        let mut report = GroupReport {
            stats: Default::default(),
            main_cache: Default::default(),
            hot_cache: None,
            settings: None,
        };
        report.stats.gets = gets;
        stats.groups.insert("scores".to_owned(), report);
        stats
    }

    #[test]
    fn the_union_runs_from_the_reading_with_fewest_gets_to_the_one_with_most() {
        // Driver a's span began a millisecond before b's, but b read the
        // node first (10 gets against a's 14): the union starts at b's.
        let (a_start, b_start) = (reading(14), reading(10));
        let first = first_reading([(&a_start, 1_000), (&b_start, 1_001)].into_iter());
        assert_eq!(first.map(NodeStats::gets), Some(10));
        // Driver a's span ended later, but b read the node last.
        let (a_end, b_end) = (reading(5_990), reading(6_010));
        let last = last_reading([(&a_end, 9_001), (&b_end, 9_000)].into_iter());
        assert_eq!(last.map(NodeStats::gets), Some(6_010));
        // Equal counts fall back on the spans.
        let (early, late) = (reading(7), reading(7));
        let first = first_reading([(&late, 5), (&early, 3)].into_iter()).unwrap();
        assert!(std::ptr::eq(first, &early));
        assert!(first_reading(std::iter::empty()).is_none());
    }
}
