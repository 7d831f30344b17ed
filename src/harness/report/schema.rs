//! The result's schema: every struct of the JSON file `schema.json`
//! describes, and how the client, cluster, node and interval figures are
//! computed from the counters a run read.

use serde::{Deserialize, Serialize};

use super::coordination::{Incomplete, ShardFigures, StartFigures};
use super::machine::{Machine, Tool};
use super::memory::ProcessMemory;
use super::series::IntervalFigures;
use super::steadiness::{Slices, Steadiness};
use super::target::{harness_group, TargetSettings};
use crate::geecache::stats::CacheStats;
use crate::geecache::stats::GroupStatsSnapshot;
use crate::geecache::NodeStats;
use crate::harness::calibration::Calibration;
use crate::harness::cluster::Faults;
use crate::harness::counted::costs::CountedPass;
use crate::harness::driver::{BrokenCounts, ErrorCounts, StopReason};
use crate::harness::events::Event;
use crate::harness::fill::CacheFill;
use crate::harness::latency::{BySource, HistogramData, LatencyFigures};
use crate::harness::slowdb::SlowDbFigures;
use crate::harness::trace::TraceInfo;
use crate::harness::workload::Workload;
use crate::intervals::Estimate;

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
    /// Whether the nodes' main caches filled (evicted anything) and, if
    /// not, what would have filled them; absent in target mode and older
    /// results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caches: Option<CacheFill>,
    /// The trace the run replayed: its file, format, size and hash, and
    /// what of it was kept; absent when keys came from a distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceInfo>,
    /// A run shorter than four seconds: requests by 100 ms slice, which
    /// tell how steady it was; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slices: Option<Slices>,
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
    /// The time to failure of the requests that got no answer (timeouts,
    /// connection failures), from the same start as `histogram`; absent
    /// when none failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_histogram: Option<HistogramData>,
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
    /// Instructions and system calls per request of a counted pass
    /// (`--count`): the workload run deterministically under callgrind and
    /// strace, and the bare reference servers the same way; absent without
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<CountedPass>,
    /// The process's resident memory and open files over the run (Linux);
    /// absent where they cannot be read, and from merged results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ProcessMemory>,
    /// A sharded run (`--shard I/N`): which shard this is, what it did of
    /// the whole (`workload` is the whole run's), and the fingerprint its
    /// run's shards share; absent for a run of one driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardFigures>,
    /// A run given a start moment (`--start-at`, `--start-after`): when it
    /// was asked to begin measuring and when it did; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartFigures>,
    /// A merged result: how far apart its drivers began measuring, the
    /// latest start less the earliest, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_skew_ms: Option<u64>,
    /// A result written while its run went on, to be left behind should
    /// the driver be killed: how much of the run it holds; absent in a
    /// result written at the run's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<Incomplete>,
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
    /// The process's CPU time per measured request (see
    /// [`ClientFigures::cpu_us_per_request`]); absent in older results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_request: Option<f64>,
    /// Its latency by where the API node got each value (see
    /// [`ClientFigures::latency_by_source`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_by_source: Option<BySource>,
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
            cpu_us_per_request: result.client.cpu_us_per_request,
            latency_by_source: result.client.latency_by_source.clone(),
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
/// interval ([`crate::intervals`]).
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

    /// How steady the run's throughput was, before its first event.
    pub fn steadiness(&self) -> Option<Steadiness> {
        let first_event = self
            .events
            .iter()
            .filter_map(|event| event.at_secs)
            .min_by(f64::total_cmp);
        Steadiness::of(self.series.iter().map(|entry| &entry.client), first_event)
            .or_else(|| Steadiness::of_slices(self.slices.as_ref()?, first_event))
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
    /// Latency of the answered requests (error statuses included), in
    /// microseconds, from the time `latency_from` names; requests that got
    /// no answer are in `failed_latency_us` and `all_latency_us`.
    pub latency_us: LatencyFigures,
    /// The time to failure of the requests that got no answer (timeouts,
    /// connection failures), from the same start; absent when none failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_latency_us: Option<LatencyFigures>,
    /// Every request that ended: the answered at their latency, the failed
    /// at their time to failure; absent when none failed (it is then
    /// `latency_us`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_latency_us: Option<LatencyFigures>,
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
    /// This process's CPU time (user and system, from the OS) during the
    /// measurement, in microseconds per measured request: the driver's and,
    /// in cluster mode, the in-process cluster's together; absent in older
    /// results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_request: Option<f64>,
    /// The latency of answers by where the API node got their value
    /// (`X-GeeCache-Source`); absent when no answer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_by_source: Option<BySource>,
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
    /// Of those, the answers that began and broke, by kind; absent when
    /// none did (and from results written before they were counted).
    #[serde(default, skip_serializing_if = "BrokenCounts::is_zero")]
    pub peer_broken: BrokenCounts,
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
            peer_errors: nodes.clone().map(|stats| stats.peer_errors).sum(),
            peer_broken: BrokenCounts {
                reset: nodes.clone().map(|stats| stats.peer_resets).sum(),
                truncated: nodes.clone().map(|stats| stats.peer_truncated).sum(),
                stalled: nodes.clone().map(|stats| stats.peer_stalled).sum(),
                malformed: nodes.map(|stats| stats.peer_malformed).sum(),
            },
            cluster_hit_ratio: ratio(total_hits, total_gets).unwrap_or(0.0),
            slowdb: SlowDbReport {
                loads,
                loads_per_request: ratio(loads, requests).unwrap_or(0.0),
                keys_loaded: db.map(|figures| figures.keys_loaded),
                duplicate_loads: db.map(|figures| figures.duplicate_loads),
                first_loads: db.map(|figures| figures.first_loads),
                repeat_loads: db.map(|figures| figures.repeat_loads),
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
    /// Loads of keys never loaded before, warm-up included (compulsory:
    /// no cache saves them); absent in target mode and older results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_loads: Option<u64>,
    /// Loads of keys loaded before (capacity, fallback, stampedes): what a
    /// larger cache could save; absent in target mode and older results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_loads: Option<u64>,
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
    /// The share of the 32-bit hash space the ring gives the node; `null`
    /// when the ring is unknown (a target whose nodes did not report their
    /// replicas and hash).
    pub ring_share: Option<f64>,
    /// Keys of the workload's key space the ring gives the node; `null`
    /// when the ring is unknown.
    pub keys_owned: Option<u64>,
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

/// The group figures of a node: the harness's group, or its only one.
pub(crate) fn group_of(stats: &NodeStats) -> Option<(GroupStatsSnapshot, CacheStats)> {
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
            ring_share: None,
            keys_owned: None,
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
    /// Another event (by index) in the same interval of the series, whose
    /// figures hold this one's cost too: the series cannot tell them
    /// apart, so their cost is counted once, there. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_with: Option<usize>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::harness::latency::new_histogram;

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
                failed_latency_us: None,
                all_latency_us: None,
                latency_from: Some(LatencyFrom::Send),
                service_time_us: None,
                stopped_by: StopReason::Requests,
                connections: 1,
                unsent: 0,
                cpu_us_per_request: None,
                latency_by_source: None,
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
            slices: None,
            caches: None,
            trace: None,
            failed_histogram: None,
            calibration: None,
            faults: None,
            counted: None,
            memory: None,
            shard: None,
            start: None,
            start_skew_ms: None,
            incomplete: None,
        }
    }
}
