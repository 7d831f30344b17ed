//! The result of a run: the JSON file described by `schema.json`, how its
//! figures are computed from the counters, and the file written atomically
//! and read back. The summary printed at the end is [`super::summary`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::geecache::stats::CacheStats;
use crate::geecache::stats::{GroupReport, GroupSettings, GroupStatsSnapshot};
use crate::geecache::{HashKind, NodeStats};
use crate::harness::cluster::Faults;
use crate::harness::driver::{new_histogram, ClientInterval, ErrorCounts, StopReason};
use crate::harness::events::Event;
use crate::harness::latency::{HistogramData, LatencyFigures};
use crate::harness::reference::Calibration;
use crate::harness::scenario::Applied;
use crate::harness::slowdb::SlowDbFigures;
use crate::harness::workload::Workload;
use crate::stats::Estimate;
use crate::units::ByteSize;

/// The result format's version: raised whenever a field changes meaning or
/// goes away, so readers can refuse what they do not understand.
pub const SCHEMA_VERSION: u32 = 2;

/// How a run's series was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesReading {
    /// An interval holds the requests that ended in it; the cluster is read
    /// by a timer at each interval's end, while requests are in flight.
    #[default]
    Timer,
    /// One request in flight: an interval holds the requests sent in it,
    /// and the cluster is read between two requests, so each interval's
    /// cluster figures are exactly those of its requests.
    BetweenRequests,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResult {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The program that wrote the result.
    pub tool: Tool,
    /// When the run began and ended, RFC 3339 UTC.
    pub started_at: String,
    /// When the measurement began, in milliseconds since the Unix epoch
    /// (what `merge` aligns drivers' series by); absent in older results.
    #[serde(default)]
    pub measure_started_unix_ms: Option<u64>,
    /// When the run ended.
    pub finished_at: String,
    /// `cluster`: the run started its own cluster; `target`: it drove one
    /// that was already running.
    pub mode: Mode,
    /// The API URL that was driven.
    pub target: String,
    /// Where the workload came from: a path or `built-in:NAME`.
    pub workload_source: String,
    /// The workload as run, flags applied.
    pub workload: Workload,
    /// The machine the run ran on.
    pub machine: Machine,
    /// What the driver saw.
    pub client: ClientFigures,
    /// What the cluster did; `null` when no node's figures could be read.
    pub cluster: Option<ClusterFigures>,
    /// Each node, in node order.
    pub nodes: Vec<NodeFigures>,
    /// The measurement interval by interval (`workload.interval` long).
    pub series: Vec<IntervalFigures>,
    /// How the series was read (older results: `timer`).
    #[serde(default)]
    pub series_reading: SeriesReading,
    /// Each of the workload's events: what was asked, what it did and
    /// what it cost (see `harness::scenario`).
    #[serde(default)]
    pub events: Vec<EventFigures>,
    /// The latency histogram itself (`client.latency_from` says from when).
    pub histogram: HistogramData,
    /// An open loop's service-time histogram (from each request's actual
    /// send); absent in a closed loop, where it is `histogram`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_histogram: Option<HistogramData>,
    /// The loopback limit measured before the run; `null` with
    /// `--no-calibrate`.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// Regressions injected on purpose (`--inject-delay`,
    /// `--inject-cache-off`); absent in normal runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Faults>,
    /// Each trial's timed figures (`--repeat`), in the order they ran;
    /// empty in older results, which are one trial.
    #[serde(default)]
    pub trials: Vec<Trial>,
    /// The median of each timed figure over the trials, with its interval.
    #[serde(default)]
    pub timed: Option<TimedFigures>,
    /// The results this one merges (`merge`), by file; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// In target mode: the cluster's settings as far as the nodes'
    /// `/_stats` reported them, each marked observed or assumed (the
    /// workload's value, which the target may not share); absent in
    /// cluster mode, where the workload's settings are the cluster's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_settings: Option<TargetSettings>,
    /// For a deterministic run of several trials: whether every trial
    /// counted the same (slow-store loads, hits, peer fetches, node by
    /// node); `null` otherwise.
    #[serde(default)]
    pub trials_agree: Option<bool>,
}

/// The timed figures of one trial of a run: each trial starts its own
/// cluster and measures its own calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// When it began.
    pub started_at: String,
    /// How long its measurement took.
    pub duration_secs: f64,
    /// Its measured requests.
    pub requests: u64,
    /// Those that failed.
    pub errors: u64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Its latency percentiles.
    pub latency_us: LatencyFigures,
    /// An open loop's service-time percentiles; absent in a closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time_us: Option<LatencyFigures>,
    /// The loopback limit it measured first; `null` without calibration.
    pub calibration: Option<Calibration>,
    /// Whether a second of it fell more than 15% below its median second
    /// (see `Steadiness`): it stays in the figures, marked.
    pub unsteady: bool,
    /// Its slow-store loads, a counted figure.
    pub slowdb_loads: Option<u64>,
    /// Its API hit ratio, a counted figure.
    pub api_hit_ratio: Option<f64>,
}

impl Trial {
    /// The trial a single-trial result is.
    pub fn of(result: &RunResult) -> Trial {
        Trial {
            started_at: result.started_at.clone(),
            duration_secs: result.client.duration_secs,
            requests: result.client.requests,
            errors: result.client.errors.total,
            throughput_rps: result.client.throughput_rps,
            latency_us: result.client.latency_us.clone(),
            service_time_us: result.client.service_time_us.clone(),
            calibration: result.calibration.clone(),
            unsteady: result.steadiness().is_some_and(|s| s.unsteady()),
            slowdb_loads: result.cluster.as_ref().map(|cluster| cluster.slowdb.loads),
            api_hit_ratio: result
                .cluster
                .as_ref()
                .and_then(|cluster| cluster.api_hit_ratio),
        }
    }
}

/// The median of each timed figure over a result's trials, with its
/// interval ([`crate::stats`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedFigures {
    /// How the medians and intervals are made.
    pub method: String,
    /// Trials.
    pub trials: usize,
    /// Trials marked unsteady.
    pub unsteady_trials: usize,
    /// Each timed figure that the trials have, by its key
    /// (`harness::registry`).
    pub figures: std::collections::BTreeMap<String, Estimate>,
}

impl RunResult {
    /// The result's trials: those recorded, or, in an older result, the
    /// one it is.
    pub fn trial_list(&self) -> Vec<Trial> {
        if self.trials.is_empty() {
            vec![Trial::of(self)]
        } else {
            self.trials.clone()
        }
    }

    /// Takes `histograms` (latency, and an open loop's service time) as
    /// its own, with the figures they give.
    pub fn set_histograms(
        &mut self,
        (latency, service): (Histogram<u64>, Option<Histogram<u64>>),
    ) -> Result<(), String> {
        self.client.latency_us = LatencyFigures::of(&latency);
        self.histogram = HistogramData::encode(&latency)?;
        self.client.service_time_us = service.as_ref().map(LatencyFigures::of);
        self.service_histogram = service.as_ref().map(HistogramData::encode).transpose()?;
        Ok(())
    }

    /// How steady the run's throughput was, before its first event.
    pub fn steadiness(&self) -> Option<Steadiness> {
        let first_event = self
            .events
            .iter()
            .filter_map(|event| event.at_secs)
            .min_by(f64::total_cmp);
        Steadiness::of(&self.series, first_event)
    }
}

/// The histograms of `results` (each named for errors) added together:
/// the latency ones, and the service-time ones when every result has one.
pub fn histograms_added<'a>(
    results: impl IntoIterator<Item = (&'a str, &'a RunResult)>,
) -> Result<(Histogram<u64>, Option<Histogram<u64>>), String> {
    let mut latency = new_histogram();
    let mut service = Some(new_histogram());
    for (name, result) in results {
        let add = |sum: &mut Histogram<u64>, data: &HistogramData| {
            let histogram = data.decode().map_err(|error| format!("{name}: {error}"))?;
            sum.add(&histogram)
                .map_err(|error| format!("{name}: adding its histogram: {error:?}"))
        };
        add(&mut latency, &result.histogram)?;
        service = match (service, &result.service_histogram) {
            (Some(mut sum), Some(data)) => {
                add(&mut sum, data)?;
                Some(sum)
            }
            _ => None,
        };
    }
    Ok((latency, service))
}

/// The program that wrote a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `geecache-bench`.
    pub name: String,
    /// The crate's version.
    pub version: String,
}

impl Tool {
    /// This program.
    pub fn current() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// How the cluster under test came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Started by the run, in its own process.
    Cluster,
    /// Already running elsewhere (`--target`).
    Target,
}

/// The machine a run ran on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// `linux`, `macos`, ...
    pub os: String,
    /// The distribution's name, when known.
    pub os_release: Option<String>,
    /// The kernel's release, when known.
    pub kernel: Option<String>,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// The CPU's model name, when known.
    pub cpu: Option<String>,
    /// `release` or `debug`: a debug build's figures are not representative.
    pub profile: String,
}

impl Machine {
    /// This machine.
    pub fn current() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let os_release = read("/etc/os-release").and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        });
        let cpu = read("/proc/cpuinfo").and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        });
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os: std::env::consts::OS.to_owned(),
            os_release,
            kernel: read("/proc/sys/kernel/osrelease").map(|text| text.trim().to_owned()),
            arch: std::env::consts::ARCH.to_owned(),
            cpu,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
        }
    }
}

/// What the driver saw during the measurement (warm-up excluded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFigures {
    /// Requests that ended, answered or failed.
    pub requests: u64,
    /// Requests answered with any status: the histogram's count.
    pub responses: u64,
    /// 200 with the right value.
    pub ok: u64,
    /// 500 for keys the workload says do not exist: expected.
    pub missing: u64,
    /// Failures by kind.
    pub errors: ErrorCounts,
    /// Requests sent before measuring.
    pub warmup_requests: u64,
    /// From the first request sent to the last answer, in seconds.
    pub duration_secs: f64,
    /// `requests / duration_secs`.
    pub throughput_rps: f64,
    /// Latency of the answered requests, in microseconds, from the time
    /// `latency_from` names.
    pub latency_us: LatencyFigures,
    /// `intended_send` in an open loop (from the time the schedule meant a
    /// request to be sent: a stall counts against every request it
    /// delayed), `send` in a closed loop; `null` in older results.
    #[serde(default)]
    pub latency_from: Option<LatencyFrom>,
    /// An open loop's service time: from each request's actual send to its
    /// answer, in microseconds; `null` in a closed loop, where it is
    /// `latency_us`.
    #[serde(default)]
    pub service_time_us: Option<LatencyFigures>,
    /// Why the measurement ended.
    pub stopped_by: StopReason,
    /// Connections the driver opened, warm-up included.
    pub connections: u64,
    /// An open loop bounded by a duration that fell behind: requests its
    /// schedule meant to send before the end that were never sent (the
    /// cluster was overloaded). Not errors; 0 otherwise.
    #[serde(default)]
    pub unsent: u64,
}

/// Where a target-mode setting's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
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
    pub source: Source,
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
        if nodes.source == Source::Assumed && peers > 0 {
            nodes = Setting {
                value: peers,
                source: Source::Given,
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
            source: Source::Observed,
        },
        None => Setting {
            value: assumed,
            source: Source::Assumed,
        },
    }
}

/// Where a result's latency is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyFrom {
    /// The time an open loop's schedule meant the request to be sent.
    IntendedSend,
    /// The request's actual send (a closed loop: the service time).
    Send,
}

/// What the cluster did during the measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFigures {
    /// Gets on the API node that came through the API (its gets minus the
    /// requests it served to peers); `null` when the API node's figures
    /// could not be read.
    pub api_gets: Option<u64>,
    /// Cache hits / gets on the API node, API and peer requests together.
    pub api_hit_ratio: Option<f64>,
    /// API-node peer loads / API gets: the share of requests that needed
    /// another node.
    pub peer_fetch_ratio: Option<f64>,
    /// Peer fetches that failed, over every node.
    pub peer_errors: u64,
    /// Cache hits / gets over every node.
    pub cluster_hit_ratio: f64,
    /// The slow store.
    pub slowdb: SlowDbReport,
}

impl ClusterFigures {
    /// The cluster figures of a measurement from its counters: the API
    /// node's group, every node's group, and the slow store's own figures
    /// when the store could be read (else the groups' local loads count).
    /// `None` without any node's figures (a target run without `--peers`):
    /// unknown, not zero.
    pub fn of<'a>(
        api: Option<GroupStatsSnapshot>,
        nodes: impl Iterator<Item = &'a GroupStatsSnapshot> + Clone,
        db: Option<&SlowDbFigures>,
        requests: u64,
    ) -> Option<ClusterFigures> {
        let ratio = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        nodes.clone().next()?;
        let api_gets = api.map(|stats| stats.gets.saturating_sub(stats.server_requests));
        let total_gets: u64 = nodes.clone().map(|stats| stats.gets).sum();
        let total_hits: u64 = nodes.clone().map(|stats| stats.cache_hits).sum();
        let loads = match db {
            Some(figures) => figures.loads,
            None => nodes
                .clone()
                .map(|stats| stats.local_loads + stats.local_load_errs)
                .sum(),
        };
        Some(ClusterFigures {
            api_gets,
            api_hit_ratio: api.and_then(|stats| ratio(stats.cache_hits, stats.gets)),
            peer_fetch_ratio: api.and_then(|stats| ratio(stats.peer_loads, api_gets.unwrap_or(0))),
            peer_errors: nodes.map(|stats| stats.peer_errors).sum(),
            cluster_hit_ratio: ratio(total_hits, total_gets).unwrap_or(0.0),
            slowdb: SlowDbReport {
                loads,
                loads_per_request: ratio(loads, requests).unwrap_or(0.0),
                keys_loaded: db.map(|figures| figures.keys_loaded),
                duplicate_loads: db.map(|figures| figures.duplicate_loads),
                max_loads_per_key: db.map(|figures| figures.max_loads_per_key),
                missing_loads: db.map(|figures| figures.missing_loads),
                mean_latency_us: db.map(|figures| figures.mean_latency_us),
            },
        })
    }
}

/// What the slow store did during the measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowDbReport {
    /// Every load, failed ones included.
    pub loads: u64,
    /// `loads / client.requests`.
    pub loads_per_request: f64,
    /// Distinct key-space keys loaded; `null` in target mode.
    pub keys_loaded: Option<u64>,
    /// Loads beyond the first of each key; `null` in target mode.
    pub duplicate_loads: Option<u64>,
    /// The most loads of any one key; `null` in target mode.
    pub max_loads_per_key: Option<u64>,
    /// Loads of keys that do not exist; `null` in target mode.
    pub missing_loads: Option<u64>,
    /// The mean time a load took in microseconds; `null` in target mode.
    pub mean_latency_us: Option<f64>,
}

/// One node's figures during the measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFigures {
    /// The node's place in the cluster; node 0 serves the API in cluster mode.
    pub index: usize,
    /// The node's name on the ring.
    pub url: String,
    /// Where the node listened (its name, when it listens there).
    pub listen: String,
    /// Whether this node served the API.
    pub api: bool,
    /// The share of the 32-bit hash space the ring gives the node.
    pub ring_share: f64,
    /// Keys of the workload's key space the ring gives the node.
    pub keys_owned: u64,
    /// Gets the node served (API and peer requests); `null` when its figures
    /// could not be read.
    pub requests_served: Option<u64>,
    /// Loads from the slow store by this node.
    pub slowdb_loads: Option<u64>,
    /// Bytes in the main cache at the end.
    pub cache_bytes: Option<u64>,
    /// Entries in the main cache at the end.
    pub cache_items: Option<u64>,
    /// Main-cache evictions during the measurement.
    pub evictions: Option<u64>,
    /// The node's full `/_stats` over the measurement: counters as
    /// differences, cache sizes as at the end.
    pub stats: Option<NodeStats>,
    /// A target's node: its `/_stats` as read when the measurement began
    /// (what `merge` needs to take the union of drivers' spans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_start: Option<NodeStats>,
    /// And as read when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_end: Option<NodeStats>,
    /// A target's node whose `/_stats` could not be read: why (`answered
    /// 404 Not Found`, ...); absent when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_error: Option<String>,
}

/// A node's group: the harness's, or its only one.
fn harness_group(stats: &NodeStats) -> Option<&GroupReport> {
    stats
        .groups
        .get(crate::harness::cluster::GROUP)
        .or_else(|| stats.groups.values().next())
}

/// The group figures of a node: the harness's group, or its only one.
pub fn group_of(stats: &NodeStats) -> Option<(GroupStatsSnapshot, CacheStats)> {
    harness_group(stats).map(|report| (report.stats, report.main_cache))
}

impl NodeFigures {
    /// A node's place, without figures yet.
    pub fn at(index: usize, url: &str, listen: &str, api: bool) -> NodeFigures {
        NodeFigures {
            index,
            url: url.to_owned(),
            listen: listen.to_owned(),
            api,
            ring_share: 0.0,
            keys_owned: 0,
            requests_served: None,
            slowdb_loads: None,
            cache_bytes: None,
            cache_items: None,
            evictions: None,
            stats: None,
            stats_start: None,
            stats_end: None,
            stats_error: None,
        }
    }

    /// Sets the figures from the node's `/_stats` over the measurement
    /// (`delta`); its slow-store loads are `store_loads` where the run owns
    /// the store, else its group's local loads.
    pub fn set_stats(&mut self, delta: Option<NodeStats>, store_loads: Option<u64>) {
        let group = delta.as_ref().and_then(group_of);
        self.requests_served = group.map(|(stats, _)| stats.gets);
        self.slowdb_loads = store_loads
            .or_else(|| group.map(|(stats, _)| stats.local_loads + stats.local_load_errs));
        self.cache_bytes = group.map(|(_, cache)| cache.bytes);
        self.cache_items = group.map(|(_, cache)| cache.items);
        self.evictions = group.map(|(_, cache)| cache.evictions);
        self.stats = delta;
    }
}

/// One interval of the measurement: what the driver saw and, where the
/// nodes' counters could be read, what the cluster did. The driver's
/// interval boundaries are the cluster's: the run reads every counter at
/// each interval's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalFigures {
    /// The driver's figures.
    #[serde(flatten)]
    pub client: ClientInterval,
    /// The cluster's; absent when no node's counters could be read.
    #[serde(flatten)]
    pub cluster: Option<ClusterInterval>,
}

/// What the cluster did in one interval, over every node it could read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInterval {
    /// Cache hits on the API node (`null` when it could not be read).
    pub api_hits: Option<u64>,
    /// The API node's hits over its gets.
    pub api_hit_ratio: Option<f64>,
    /// Successful fetches from peers, every node together.
    pub peer_fetches: u64,
    /// Failed fetches from peers (the node then loaded locally).
    pub peer_errors: u64,
    /// Slow-store loads, failed ones included.
    pub slowdb_loads: u64,
    /// Slow-store loads that failed (missing keys, a brownout's errors).
    pub slowdb_load_errors: u64,
    /// Entries the main caches evicted.
    pub evictions: u64,
    /// Each node, in node order; `null` for a node that could not be read.
    pub nodes: Vec<Option<NodeInterval>>,
}

/// What one node did in one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInterval {
    /// Gets, from the API and from peers.
    pub gets: u64,
    /// Main and hot cache hits.
    pub cache_hits: u64,
    /// Successful fetches from peers.
    pub peer_fetches: u64,
    /// Failed fetches from peers.
    pub peer_errors: u64,
    /// Slow-store loads, failed ones included.
    pub slowdb_loads: u64,
    /// Slow-store loads that failed.
    pub slowdb_load_errors: u64,
    /// Main-cache evictions.
    pub evictions: u64,
}

/// One node's counters at one moment: its group's and its main cache's.
pub type NodeCounters = Option<(GroupStatsSnapshot, CacheStats)>;

impl ClusterInterval {
    /// What happened between two readings of every node's counters.
    /// `api` is the API node's index; `db_loads`, the slow store's loads
    /// per node at both ends where the run owns the store (else the
    /// groups' local loads count). `None` when no node could be read.
    pub fn between(
        before: &[NodeCounters],
        after: &[NodeCounters],
        api: Option<usize>,
        db_loads: Option<(&[u64], &[u64])>,
    ) -> Option<ClusterInterval> {
        let nodes: Vec<Option<NodeInterval>> = after
            .iter()
            .enumerate()
            .map(|(index, now)| {
                // A node that joined in the interval has no reading before;
                // one that could not be read then has no figures now.
                let (now, then) = match before.get(index) {
                    None => (now.as_ref()?, None),
                    Some(then) => (now.as_ref()?, Some(then.as_ref()?)),
                };
                let (stats, cache) = match then {
                    Some((stats, cache)) => (now.0.since(stats), now.1.since(cache)),
                    None => (now.0, now.1),
                };
                let slowdb_loads = match db_loads {
                    Some((then, now)) => now
                        .get(index)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(then.get(index).copied().unwrap_or(0)),
                    None => stats.local_loads + stats.local_load_errs,
                };
                Some(NodeInterval {
                    gets: stats.gets,
                    cache_hits: stats.cache_hits,
                    peer_fetches: stats.peer_loads,
                    peer_errors: stats.peer_errors,
                    slowdb_loads,
                    slowdb_load_errors: stats.local_load_errs,
                    evictions: cache.evictions,
                })
            })
            .collect();
        if nodes.iter().all(Option::is_none) {
            return None;
        }
        let sum = |field: fn(&NodeInterval) -> u64| nodes.iter().flatten().map(field).sum();
        let api_node = api.and_then(|index| nodes.get(index).copied().flatten());
        Some(ClusterInterval {
            api_hits: api_node.map(|node| node.cache_hits),
            api_hit_ratio: api_node
                .filter(|node| node.gets > 0)
                .map(|node| node.cache_hits as f64 / node.gets as f64),
            peer_fetches: sum(|node| node.peer_fetches),
            peer_errors: sum(|node| node.peer_errors),
            slowdb_loads: sum(|node| node.slowdb_loads),
            slowdb_load_errors: sum(|node| node.slowdb_load_errors),
            evictions: sum(|node| node.evictions),
            nodes,
        })
    }
}

// The cost of an event, in the result's `events` and docs/scenarios.md:
// - the *baseline* is the mean of up to three intervals before the one the
//   event falls in: slow-store loads and client errors per second and the
//   API hit ratio; an event that comes before the previous one recovered
//   (a node starts again, a brownout ends) keeps the previous one's
//   baseline, the level of the undisturbed cluster;
// - the event has *recovered* at the start of the first of three
//   consecutive intervals after its own in which slow-store loads and
//   client errors per second are at most 10% (plus one per interval) above
//   the baseline and the API hit ratio at most 10% below it;
//   `recovery_secs` is the time from the event to then, `null` when that
//   does not happen before the next event or the end of the run;
// - its *window* runs from its interval to the recovery (or to the next
//   event, or the end); `errors` are the client errors in the window and
//   `extra_slowdb_loads` the loads in it beyond the baseline's rate.

/// The level of the cluster before an event.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Slow-store loads per second.
    pub slowdb_loads_per_sec: f64,
    /// Client errors per second.
    pub errors_per_sec: f64,
    /// The API node's hit ratio; `null` when unknown.
    pub api_hit_ratio: Option<f64>,
}

/// One event of a run: what was asked, what it did and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventFigures {
    /// The event as the workload gives it.
    #[serde(flatten)]
    pub event: Event,
    /// Whether it happened before the measurement ended.
    pub applied: bool,
    /// When it happened, in seconds since the measurement began.
    pub at_secs: Option<f64>,
    /// The measured requests handed out by then.
    pub applied_at_request: Option<u64>,
    /// Why it could not be carried out, if it could not.
    pub error: Option<String>,
    /// The level before it; `null` when no interval preceded it.
    pub baseline: Option<Baseline>,
    /// Client errors in its window.
    pub errors: u64,
    /// Slow-store loads in its window beyond the baseline's rate.
    pub extra_slowdb_loads: Option<i64>,
    /// Seconds from the event until loads, errors and hit ratio were back
    /// within 10% of the baseline for three intervals; `null` when they
    /// were not before the next event or the end.
    pub recovery_secs: Option<f64>,
    /// The window's length in seconds: to the recovery, the next event or
    /// the end.
    pub window_secs: Option<f64>,
    /// For a join or a leave: the share of the key space whose owner
    /// changed.
    pub moved_share: Option<f64>,
    /// The least a join (1/(n+1)) or a leave (the leaver's key share) can
    /// move.
    pub ideal_moved_share: Option<f64>,
}

/// Intervals before an event that make its baseline.
const BASELINE_INTERVALS: usize = 3;
/// Consecutive intervals back at the baseline that make a recovery.
const RECOVERY_INTERVALS: usize = 3;

/// What each event did and cost, from what applying it recorded and the
/// run's series of `interval_secs` intervals.
pub fn costs(
    events: &[Event],
    applied: &[Option<Applied>],
    series: &[IntervalFigures],
    interval_secs: f64,
) -> Vec<EventFigures> {
    let mut figures: Vec<EventFigures> = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let done = applied.get(index).cloned().flatten();
            EventFigures {
                event: event.clone(),
                applied: done.is_some(),
                at_secs: done.as_ref().map(|done| done.at_secs),
                applied_at_request: done.as_ref().map(|done| done.at_request),
                error: done.as_ref().and_then(|done| done.error.clone()),
                baseline: None,
                errors: 0,
                extra_slowdb_loads: None,
                recovery_secs: None,
                window_secs: None,
                moved_share: done.as_ref().and_then(|done| done.moved_share),
                ideal_moved_share: done.as_ref().and_then(|done| done.ideal_moved_share),
            }
        })
        .collect();
    // In time order: an event that comes before the one before it has
    // recovered (a node starts again, a brownout ends) is measured against
    // the level before that one, the undisturbed cluster.
    let mut order: Vec<(f64, usize)> = figures
        .iter()
        .enumerate()
        .filter_map(|(index, figures)| Some((figures.at_secs?, index)))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut carried: Option<Baseline> = None;
    for (position, &(at, index)) in order.iter().enumerate() {
        let next = order[position + 1..]
            .iter()
            .map(|&(time, _)| time)
            .find(|&time| time > at);
        cost_of(
            &mut figures[index],
            at,
            next,
            carried,
            series,
            interval_secs,
        );
        let figures = &figures[index];
        carried = figures.baseline.filter(|_| figures.recovery_secs.is_none());
    }
    figures
}

/// Fills in the baseline, recovery and window of an event at `at` seconds,
/// the next one (if any) at `next`.
fn cost_of(
    figures: &mut EventFigures,
    at: f64,
    next: Option<f64>,
    carried: Option<Baseline>,
    series: &[IntervalFigures],
    length: f64,
) {
    if series.is_empty() || length <= 0.0 {
        return;
    }
    let slot = |time: f64| ((time / length).floor().max(0.0) as usize).min(series.len());
    let first = slot(at);
    // The window may reach the next event's interval, not past it.
    let last = next.map_or(series.len(), |next| {
        slot(next).max(first + 1).min(series.len())
    });
    let loads = |at: usize| {
        series[at]
            .cluster
            .as_ref()
            .map(|cluster| cluster.slowdb_loads)
    };
    let hit = |at: usize| {
        series[at]
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.api_hit_ratio)
    };
    let before: Vec<usize> = (first.saturating_sub(BASELINE_INTERVALS)..first).collect();
    let base_loads: Vec<u64> = before.iter().filter_map(|&at| loads(at)).collect();
    let baseline = carried.or_else(|| {
        (!base_loads.is_empty()).then(|| {
            let hits: Vec<f64> = before.iter().filter_map(|&at| hit(at)).collect();
            Baseline {
                slowdb_loads_per_sec: base_loads.iter().sum::<u64>() as f64
                    / base_loads.len() as f64
                    / length,
                errors_per_sec: before
                    .iter()
                    .map(|&at| series[at].client.errors)
                    .sum::<u64>() as f64
                    / before.len() as f64
                    / length,
                api_hit_ratio: (!hits.is_empty())
                    .then(|| hits.iter().sum::<f64>() / hits.len() as f64),
            }
        })
    });
    figures.baseline = baseline;
    let recovered = |at: usize| -> bool {
        let Some(baseline) = baseline else {
            return false;
        };
        let Some(count) = loads(at) else {
            return false;
        };
        let loads_ok = count as f64 <= baseline.slowdb_loads_per_sec * length * 1.1 + 1.0;
        let errors_ok =
            series[at].client.errors as f64 <= baseline.errors_per_sec * length * 1.1 + 1.0;
        let hit_ok = match baseline.api_hit_ratio {
            None => true,
            Some(base) => hit(at).is_some_and(|ratio| ratio >= base * 0.9),
        };
        loads_ok && hit_ok && errors_ok
    };
    let recovery = (first + 1..last).find(|&start| {
        start + RECOVERY_INTERVALS <= last && (start..start + RECOVERY_INTERVALS).all(&recovered)
    });
    let end = recovery.unwrap_or(last);
    let end_secs = match (recovery, next) {
        (Some(recovery), _) => recovery as f64 * length,
        (None, Some(next)) => next,
        (None, None) => series
            .last()
            .map_or(0.0, |entry| entry.client.start_secs + length),
    };
    figures.recovery_secs = recovery.map(|recovery| (recovery as f64 * length - at).max(0.0));
    figures.window_secs = Some((end_secs - at).max(0.0));
    figures.errors = series[first..end]
        .iter()
        .map(|entry| entry.client.errors)
        .sum();
    if let Some(baseline) = baseline {
        let window: Vec<u64> = (first..end).filter_map(loads).collect();
        let expected = baseline.slowdb_loads_per_sec * length * window.len() as f64;
        figures.extra_slowdb_loads =
            Some((window.iter().sum::<u64>() as f64 - expected).round() as i64);
    }
}

/// Why a result could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultFileError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a result this version understands.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The default file name of a result:
/// `<workload>-<nodes>n-<replicas>r-<cache>-<timestamp>.json`.
pub fn default_file_name(result: &RunResult, timestamp: &str) -> String {
    let cluster = &result.workload.cluster;
    let nodes = match result.mode {
        Mode::Cluster => cluster.nodes as usize,
        Mode::Target => result.nodes.len().max(1),
    };
    format!(
        "{}-{}n-{}r-{}-{timestamp}.json",
        result.workload.name,
        nodes,
        cluster.replicas,
        ByteSize(cluster.cache_bytes.bytes())
    )
}

/// Writes `result` to `path` atomically: to a temporary file in the same
/// directory first, then renamed, so a reader never sees half a result.
/// Creates the directory if need be.
pub fn write_atomically(result: &RunResult, path: &Path) -> Result<(), ResultFileError> {
    let mut json = serde_json::to_vec_pretty(result).map_err(|error| ResultFileError::Format {
        path: path.display().to_string(),
        message: error.to_string(),
    })?;
    json.push(b'\n');
    write_bytes_atomically(&json, path)
}

/// Writes `bytes` to `path` through a temporary file and a rename, creating
/// the directory if need be.
pub fn write_bytes_atomically(bytes: &[u8], path: &Path) -> Result<(), ResultFileError> {
    let failed = |source| ResultFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory).map_err(failed)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result.json".to_owned());
    let temporary = directory.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(failed)
}

/// Writes `result` into `directory` under its default name (with `-2`, `-3`
/// ... if a file of that name exists) and returns the path.
pub fn write_in(
    result: &RunResult,
    directory: &Path,
    timestamp: &str,
) -> Result<PathBuf, ResultFileError> {
    let name = default_file_name(result, timestamp);
    let mut path = directory.join(&name);
    let stem = name.trim_end_matches(".json");
    let mut attempt = 2;
    while path.exists() {
        path = directory.join(format!("{stem}-{attempt}.json"));
        attempt += 1;
    }
    write_atomically(result, &path)?;
    Ok(path)
}

/// Reads a result file, refusing other schema versions.
pub fn read(path: &Path) -> Result<RunResult, ResultFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResultFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let format = |message: String| ResultFileError::Format {
        path: path.display().to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format(error.to_string()))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(format(format!(
            "schema version {} is not {SCHEMA_VERSION}, the version this program reads",
            version.map_or("missing".to_owned(), |version| version.to_string())
        )));
    }
    serde_json::from_value(value).map_err(|error| format(error.to_string()))
}

/// How steady throughput was from second to second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steadiness {
    /// The slowest whole second.
    pub min_rps: f64,
    /// The median whole second.
    pub median_rps: f64,
    /// The fastest whole second.
    pub max_rps: f64,
}

impl Steadiness {
    /// The whole seconds of a series (intervals added up to seconds; the
    /// last, partial second left out) before `until_secs` (the first
    /// event: a scenario's dips are its subject, not noise); `None` with
    /// fewer than three.
    pub fn of(series: &[IntervalFigures], until_secs: Option<f64>) -> Option<Steadiness> {
        let mut seconds: Vec<u64> = Vec::new();
        for entry in series {
            let second = entry.client.start_secs.floor() as usize;
            if seconds.len() <= second {
                seconds.resize(second + 1, 0);
            }
            seconds[second] += entry.client.requests;
        }
        seconds.pop();
        if let Some(until) = until_secs {
            seconds.truncate(until.floor().max(0.0) as usize);
        }
        if seconds.len() < 3 {
            return None;
        }
        let mut rates: Vec<f64> = seconds.iter().map(|&requests| requests as f64).collect();
        rates.sort_by(f64::total_cmp);
        Some(Steadiness {
            min_rps: rates[0],
            median_rps: rates[rates.len() / 2],
            max_rps: rates[rates.len() - 1],
        })
    }

    /// Whether a second fell more than 15% below the median: on a shared
    /// machine, a neighbour took the CPU.
    pub fn unsteady(&self) -> bool {
        self.min_rps < 0.85 * self.median_rps
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::harness::driver::new_histogram;
    use crate::harness::events::Action;

    #[test]
    fn atomic_writes_leave_no_temporary_file_behind_and_fail_clearly() {
        let directory =
            std::env::temp_dir().join(format!("geecache-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let path = directory.join("nested").join("x.json");
        let result = sample();
        write_atomically(&result, &path).unwrap();
        let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["x.json"]);
        assert_eq!(read(&path).unwrap().client, result.client);

        // A directory where the file should go.
        let blocked = directory.join("nested");
        let error = write_atomically(&result, &blocked).unwrap_err();
        assert!(error.to_string().contains("nested"), "{error}");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn other_schema_versions_are_refused() {
        let directory =
            std::env::temp_dir().join(format!("geecache-schema-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("old.json");
        let mut value = serde_json::to_value(sample()).unwrap();
        value["schema_version"] = 99.into();
        std::fs::write(&path, value.to_string()).unwrap();
        let error = read(&path).unwrap_err();
        assert!(error.to_string().contains("schema version 99"), "{error}");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    /// A series of one-second intervals with these loads, hit ratios and
    /// errors.
    fn scenario_series(loads: &[u64], hits: &[f64], errors: &[u64]) -> Vec<IntervalFigures> {
        (0..loads.len())
            .map(|at| IntervalFigures {
                client: ClientInterval {
                    interval: at as u64,
                    start_secs: at as f64,
                    requests: 1000,
                    throughput_rps: 1000.0,
                    p50_us: Some(100),
                    p99_us: Some(900),
                    errors: errors[at],
                },
                cluster: Some(ClusterInterval {
                    api_hits: Some((hits[at] * 1000.0) as u64),
                    api_hit_ratio: Some(hits[at]),
                    peer_fetches: 0,
                    peer_errors: 0,
                    slowdb_loads: loads[at],
                    slowdb_load_errors: 0,
                    evictions: 0,
                    nodes: Vec::new(),
                }),
            })
            .collect()
    }

    fn stop(at: f64) -> (Event, Applied) {
        let event: Event =
            serde_json::from_str(r#"{"at": "3s", "action": "stop_node", "node": 2}"#).unwrap();
        let applied = Applied {
            at_secs: at,
            at_request: 3000,
            ..Applied::default()
        };
        (event, applied)
    }

    #[test]
    fn an_events_cost_is_read_off_the_series() {
        let loads = [10, 10, 10, 100, 60, 20, 10, 11, 10, 10];
        let hits = [0.5, 0.5, 0.5, 0.3, 0.4, 0.44, 0.46, 0.5, 0.5, 0.5];
        let errors = [0, 0, 0, 4, 1, 0, 0, 0, 0, 7];
        let series = scenario_series(&loads, &hits, &errors);
        let (event, applied) = stop(3.2);
        let figures = costs(
            std::slice::from_ref(&event),
            &[Some(applied.clone())],
            &series,
            1.0,
        );
        let cost = &figures[0];
        let baseline = cost.baseline.unwrap();
        assert_eq!(baseline.slowdb_loads_per_sec, 10.0);
        assert_eq!(baseline.api_hit_ratio, Some(0.5));
        // Intervals 6, 7 and 8 are back (11 <= 10 x 1.1 + 1, 0.46 >= 0.45):
        // recovered at 6 s, 2.8 s after the event.
        assert!((cost.recovery_secs.unwrap() - 2.8).abs() < 1e-9);
        assert!((cost.window_secs.unwrap() - 2.8).abs() < 1e-9);
        // The window is intervals 3 to 5: 180 loads where 30 were the rate.
        assert_eq!(cost.extra_slowdb_loads, Some(150));
        assert_eq!(cost.errors, 5);
        assert_eq!(cost.applied_at_request, Some(3000));

        // A next event at 5.5 s ends the window before the recovery.
        let (mut next, mut next_applied) = stop(5.5);
        next.action = Action::StartNode {
            node: 2,
            keep_cache: false,
        };
        next_applied.at_secs = 5.5;
        let both = costs(
            &[event.clone(), next],
            &[Some(applied.clone()), Some(next_applied)],
            &series,
            1.0,
        );
        assert_eq!(both[0].recovery_secs, None);
        assert!((both[0].window_secs.unwrap() - 2.3).abs() < 1e-9);
        // The next event's interval is the next event's: intervals 3 and 4.
        assert_eq!(both[0].extra_slowdb_loads, Some(140));
        // The stop had not recovered: the start is measured against the
        // level before the stop.
        assert_eq!(both[1].baseline, both[0].baseline);

        // Never back: loads stay high to the end.
        let high = scenario_series(
            &[10, 10, 10, 50, 50, 50, 50, 50, 50, 50],
            &[0.5; 10],
            &[0; 10],
        );
        let never = costs(
            std::slice::from_ref(&event),
            &[Some(applied.clone())],
            &high,
            1.0,
        );
        assert_eq!(never[0].recovery_secs, None);
        assert!((never[0].window_secs.unwrap() - 6.8).abs() < 1e-9);
        assert_eq!(never[0].extra_slowdb_loads, Some(7 * 40));

        // In the first interval there is nothing to compare with.
        let early = costs(
            std::slice::from_ref(&event),
            &[Some(stop(0.4).1)],
            &series,
            1.0,
        );
        assert_eq!(
            (early[0].baseline, early[0].extra_slowdb_loads),
            (None, None)
        );
        // An event the run ended before is marked so.
        let missed = costs(&[event], &[None], &series, 1.0);
        assert!(!missed[0].applied && missed[0].at_secs.is_none());
    }

    #[test]
    fn event_figures_read_back_with_the_event_flattened() {
        let series = scenario_series(&[10; 6], &[0.5; 6], &[0; 6]);
        let (event, applied) = stop(3.2);
        let figures = costs(&[event], &[Some(applied)], &series, 1.0);
        let json = serde_json::to_value(&figures).unwrap();
        assert_eq!(json[0]["action"], "stop_node");
        assert_eq!(json[0]["node"], 2);
        assert_eq!(json[0]["at"], "3s");
        let back: Vec<EventFigures> = serde_json::from_value(json).unwrap();
        assert_eq!(back, figures);
    }

    #[test]
    fn a_run_whose_seconds_differ_much_is_unsteady() {
        let series = |length: f64, counts: &[u64]| -> Vec<IntervalFigures> {
            counts
                .iter()
                .enumerate()
                .map(|(at, &requests)| IntervalFigures {
                    client: ClientInterval {
                        interval: at as u64,
                        start_secs: at as f64 * length,
                        requests,
                        throughput_rps: requests as f64 / length,
                        p50_us: Some(500),
                        p99_us: Some(1000),
                        errors: 0,
                    },
                    cluster: None,
                })
                .collect()
        };
        let steady = Steadiness::of(
            &series(1.0, &[80_000, 82_000, 79_000, 81_000, 10_000]),
            None,
        )
        .unwrap();
        // The last, partial second does not count.
        assert_eq!(steady.min_rps, 79e3);
        assert!(!steady.unsteady());
        let dipped = Steadiness::of(
            &series(1.0, &[80_000, 56_000, 81_000, 82_000, 40_000]),
            None,
        )
        .unwrap();
        assert_eq!((dipped.min_rps, dipped.median_rps), (56e3, 81e3));
        assert!(dipped.unsteady());
        assert_eq!(
            Steadiness::of(&series(1.0, &[80_000, 81_000, 1_000]), None),
            None
        );
        // Half-second intervals add up to seconds.
        let halves = series(
            0.5,
            &[
                40_000, 40_000, 41_000, 41_000, 20_000, 20_000, 39_000, 40_000, 5,
            ],
        );
        let seconds = Steadiness::of(&halves, None).unwrap();
        assert_eq!((seconds.min_rps, seconds.max_rps), (40e3, 82e3));
        assert!(seconds.unsteady());
        // Before an event at 2 s, the run was steady.
        assert_eq!(Steadiness::of(&halves, Some(2.0)), None);
        let before = Steadiness::of(
            &series(1.0, &[80_000, 81_000, 80_000, 20_000, 80_000, 1]),
            Some(3.5),
        );
        assert!(!before.unwrap().unsteady());
    }

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
            (2, Source::Observed)
        );
        assert_eq!(
            (settings.replicas.value, settings.replicas.source),
            (10, Source::Observed)
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
        assert_eq!(settings.replicas.source, Source::Observed);
        assert_eq!(
            (settings.cache_bytes.value, settings.cache_bytes.source),
            (workload.cluster.cache_bytes, Source::Assumed)
        );
        assert_eq!(settings.singleflight.source, Source::Assumed);
        // Nothing read: the peers given, the rest assumed.
        let settings = TargetSettings::of(&[], &workload.cluster, 5);
        assert_eq!(
            (settings.nodes.value, settings.nodes.source),
            (5, Source::Given)
        );
        assert_eq!(settings.hash.source, Source::Assumed);
        assert!(settings.disagree.is_empty());
    }

    #[test]
    fn file_names_say_workload_nodes_replicas_and_cache() {
        let result = sample();
        assert_eq!(
            default_file_name(&result, "20261124T231500Z"),
            "test-3n-50r-16MiB-20261124T231500Z.json"
        );
    }

    /// A small result with every section filled.
    pub(crate) fn sample() -> RunResult {
        let workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        let mut histogram = new_histogram();
        histogram.record(250).unwrap();
        RunResult {
            schema_version: SCHEMA_VERSION,
            tool: Tool::current(),
            started_at: "2026-11-24T23:15:00Z".to_owned(),
            measure_started_unix_ms: None,
            finished_at: "2026-11-24T23:15:01Z".to_owned(),
            mode: Mode::Cluster,
            target: "http://127.0.0.1:1/api".to_owned(),
            workload_source: "test".to_owned(),
            workload,
            machine: Machine::current(),
            client: ClientFigures {
                requests: 1,
                responses: 1,
                ok: 1,
                missing: 0,
                errors: ErrorCounts::default(),
                warmup_requests: 0,
                duration_secs: 1.0,
                throughput_rps: 1.0,
                latency_us: LatencyFigures::of(&histogram),
                latency_from: Some(LatencyFrom::Send),
                service_time_us: None,
                stopped_by: StopReason::Requests,
                connections: 1,
                unsent: 0,
            },
            cluster: None,
            nodes: Vec::new(),
            series: Vec::new(),
            series_reading: SeriesReading::Timer,
            events: Vec::new(),
            trials: Vec::new(),
            timed: None,
            trials_agree: None,
            merged_from: Vec::new(),
            target_settings: None,
            histogram: HistogramData::encode(&histogram).unwrap(),
            service_histogram: None,
            calibration: None,
            faults: None,
        }
    }
}
