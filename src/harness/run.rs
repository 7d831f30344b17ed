//! One run from start to result: start a cluster (or find the target's
//! nodes), warm up, read every counter, measure, read them again, and turn
//! the differences into a [`RunResult`].

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{oneshot, watch};

use crate::geecache::http::HttpClient;
use crate::geecache::peers::BoxFuture;
use crate::geecache::stats::{CacheStats, GroupStatsSnapshot};
use crate::geecache::{HashRing, NodeStats};
use crate::harness::cluster::{Cluster, ClusterError, Faults};
use crate::harness::driver::{
    ClientInterval, Control, Driver, DriverConfig, IntervalReader, KeySampler, Phase, PhaseReport,
};
use crate::harness::events::{added_nodes, keys_owned};
use crate::harness::latency::{HistogramData, LatencyFigures};
use crate::harness::reference::{self, Calibration};
use crate::harness::registry::one_trial;
use crate::harness::report::{
    self, group_of, ClientFigures, ClusterFigures, ClusterInterval, IntervalFigures, LatencyFrom,
    Machine, Mode, NodeCounters, NodeFigures, RunResult, SeriesReading, TargetSettings, Tool,
    SCHEMA_VERSION,
};
use crate::harness::scenario::{Applied, Levers, Scenario};
use crate::harness::slowdb::{SlowDb, SlowDbFigures};
use crate::harness::workload::{Bound, Workload};
use crate::units::rfc3339;

/// Key streams: warm-up and measurement ask for different keys.
pub const WARMUP_STREAM: u64 = 0;
pub const MEASURE_STREAM: u64 = 1;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The workload, flags applied.
    pub workload: Workload,
    /// Where it came from.
    pub source: String,
    /// Drive this API URL instead of starting a cluster.
    pub target: Option<String>,
    /// In target mode, the nodes whose `/_stats` to read.
    pub peers: Vec<String>,
    /// Allow `target` and `peers` on hosts other than this one.
    pub allow_remote: bool,
    /// Start the cluster's nodes on this port and the following ones.
    pub base_port: Option<u16>,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// The loopback limit: measured before the run, taken as given (a sweep
    /// measures it once for all its runs), or skipped.
    pub calibrate: Calibrate,
    /// Regressions on purpose, to show that `check` catches them.
    pub faults: Faults,
}

/// Where a run's calibration comes from.
#[derive(Clone, Debug)]
pub enum Calibrate {
    /// Measure each reference server for this long before the run.
    Measure(Duration),
    /// Use this one, measured earlier with the same driver settings.
    Given(Calibration),
    /// None: the result has no limit fraction.
    Skip,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cluster did not start.
    #[error("cannot start the cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// The target or a peer URL is not usable.
    #[error("{0}")]
    Url(String),
    /// The plan asks for what cannot be done.
    #[error("{0}")]
    Usage(String),
    /// The workload cannot be sampled.
    #[error("{0}")]
    Workload(String),
    /// The target does not answer.
    #[error("cannot reach the target {url}: {message}")]
    Unreachable {
        /// The target.
        url: String,
        /// What the client saw.
        message: String,
    },
    /// The reference servers could not be measured.
    #[error("{0}")]
    Calibration(String),
    /// The histogram could not be serialized.
    #[error("{0}")]
    Histogram(String),
}

/// Where the run reads the cluster's counters.
enum Observer {
    /// Its own cluster: straight from the nodes and the store.
    Local(Arc<Cluster>),
    /// A cluster elsewhere: the API node's and each peer's `/_stats`.
    Remote {
        api: HttpClient,
        peers: Vec<(String, HttpClient)>,
    },
}

/// Every node's group counters at one moment, and the store's loads by
/// node where the run owns the store: what the series is made of.
#[derive(Clone)]
struct Counters {
    nodes: Vec<NodeCounters>,
    db_loads: Option<Vec<u64>>,
}

impl Counters {
    fn of(reading: &Reading) -> Counters {
        Counters {
            nodes: group_counters(&reading.nodes),
            db_loads: reading.db.as_ref().map(|db| db.per_node.clone()),
        }
    }
}

/// Each node's group counters, from its figures where it could be read.
fn group_counters(nodes: &[Option<NodeStats>]) -> Vec<NodeCounters> {
    nodes
        .iter()
        .map(|node| node.as_ref().and_then(group_of))
        .collect()
}

/// Every counter at one moment.
struct Reading {
    /// The API node, when readable.
    api: Option<NodeStats>,
    /// Each node, when readable.
    nodes: Vec<Option<NodeStats>>,
    /// A target's node that could not be read: why, by index.
    problems: Vec<Option<String>>,
    /// The store, in cluster mode.
    db: Option<crate::harness::slowdb::SlowDbSnapshot>,
}

impl Observer {
    async fn read(&self) -> Reading {
        match self {
            Observer::Local(cluster) => {
                let nodes = cluster.stats();
                Reading {
                    api: nodes.first().cloned().flatten(),
                    nodes,
                    problems: Vec::new(),
                    db: Some(cluster.db().snapshot()),
                }
            }
            Observer::Remote { api, peers } => {
                let mut nodes = Vec::with_capacity(peers.len());
                let mut problems = Vec::with_capacity(peers.len());
                for (url, client) in peers {
                    let read = fetch_stats(client, url).await;
                    problems.push(read.as_ref().err().cloned());
                    nodes.push(read.ok());
                }
                Reading {
                    api: fetch_stats(api, "the target").await.ok(),
                    nodes,
                    problems,
                    db: None,
                }
            }
        }
    }

    /// The counters the series needs, without the store's per-key counts.
    async fn counters(&self) -> Counters {
        match self {
            Observer::Local(cluster) => Counters {
                nodes: group_counters(&cluster.stats()),
                db_loads: Some(cluster.db().loads_per_node()),
            },
            Observer::Remote { .. } => Counters::of(&self.read().await),
        }
    }

    /// Which node serves the API, by index.
    fn api_index(&self, reading: &Reading) -> Option<usize> {
        match self {
            Observer::Local(_) => Some(0),
            Observer::Remote { peers, .. } => {
                let url = &reading.api.as_ref()?.url;
                peers.iter().position(|(peer, _)| peer == url)
            }
        }
    }

    /// Each node's name on the ring and where it listens.
    fn nodes(&self) -> Vec<(String, String)> {
        match self {
            Observer::Local(cluster) => cluster.names().into_iter().zip(cluster.urls()).collect(),
            Observer::Remote { peers, .. } => peers
                .iter()
                .map(|(url, _)| (url.clone(), url.clone()))
                .collect(),
        }
    }
}

/// A node's `/_stats`, or why it could not be read (`answered 404 Not
/// Found`, `answered 200 OK, not GeeCache node stats: ...`, the
/// connection's error), which is also logged.
async fn fetch_stats(client: &HttpClient, name: &str) -> Result<NodeStats, String> {
    let problem = match client.get("/_stats").await {
        Ok((status, body)) if status.is_success() => match serde_json::from_slice(&body) {
            Ok(stats) => return Ok(stats),
            Err(error) => format!("answered {status}, not GeeCache node stats: {error}"),
        },
        Ok((status, _)) => format!("answered {status}"),
        Err(error) => format!("unreadable: {error}"),
    };
    log::warn!("{name}: /_stats {problem}");
    Err(problem)
}

/// Splits an API URL into the base (`http://host:port`) and the prefix of
/// each request's path and query (`/api?key=key`).
pub fn split_target(url: &str, allow_remote: bool) -> Result<(String, String), RunError> {
    let bad = |why: &str| RunError::Url(format!("--target {url:?}: {why}"));
    let uri: hyper::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("expected http://HOST:PORT[/api]"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    check_host(authority.host(), allow_remote).map_err(|why| bad(&why))?;
    if authority.port_u16().is_none() {
        return Err(bad("no port"));
    }
    let path = match uri.path() {
        "" | "/" => "/api",
        path => path,
    };
    let prefix = match uri.query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}&key=key"),
        _ => format!("{path}?key=key"),
    };
    Ok((format!("http://{authority}"), prefix))
}

/// Whether `host` is this machine: `localhost` or a loopback address
/// (127.0.0.0/8, `[::1]`).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Loopback hosts are always allowed (127.0.0.2, .3, ... stand in for
/// separate hosts); any other only when `allow_remote` (`--allow-remote`)
/// says so explicitly.
pub fn check_host(host: &str, allow_remote: bool) -> Result<(), String> {
    if is_loopback(host) {
        return Ok(());
    }
    if allow_remote {
        log::info!("{host} is not a loopback address: reaching it over the network");
        return Ok(());
    }
    Err(format!(
        "host {host:?} is not a loopback address (127.0.0.0/8, localhost): \
         give --allow-remote to reach other hosts"
    ))
}

/// Carries out `plan`. `control` can stop it early (Ctrl-C); what was
/// measured until then is still reported.
pub async fn run(plan: &RunPlan, control: &Arc<Control>) -> Result<RunResult, RunError> {
    let workload = &plan.workload;
    let started_at = SystemTime::now();
    if plan.target.is_some() {
        if let Some((index, event)) = workload
            .events
            .iter()
            .enumerate()
            .find(|(_, event)| !event.action.applies_to_a_target())
        {
            return Err(RunError::Usage(format!(
                "events[{index}] ({event}): with --target only shift_keys and set_rate can \
                 happen, as the harness does not own the target's nodes"
            )));
        }
    }
    let (observer, base_url, path_prefix, mode) = match &plan.target {
        None => {
            let db = SlowDb::new(
                workload.keys,
                workload.value_size as usize,
                workload.slowdb,
                (workload.cluster.nodes + added_nodes(&workload.events)) as usize,
            );
            let cluster =
                Cluster::start_with(&workload.cluster, db, plan.base_port, plan.faults).await?;
            let base = cluster.api_url();
            (
                Observer::Local(Arc::new(cluster)),
                base,
                "/api?key=key".to_owned(),
                Mode::Cluster,
            )
        }
        Some(target) => {
            let (base, prefix) = split_target(target, plan.allow_remote)?;
            let timeout = workload.timeout.0;
            let client = |url: &str| {
                HttpClient::new(url, timeout).map_err(|error| RunError::Url(error.to_string()))
            };
            let mut peers = Vec::new();
            for peer in &plan.peers {
                let (peer_base, _) = split_target(peer, plan.allow_remote).map_err(|error| {
                    RunError::Url(error.to_string().replace("--target", "--peers"))
                })?;
                peers.push((peer.trim_end_matches('/').to_owned(), client(&peer_base)?));
            }
            let api = client(&base)?;
            // A target that cannot be reached ends the run before it starts;
            // one that answers anything (even 404) is there.
            if let Err(error) = api.get("/_stats").await {
                return Err(RunError::Unreachable {
                    url: target.clone(),
                    message: error.to_string(),
                });
            }
            (Observer::Remote { api, peers }, base, prefix, Mode::Target)
        }
    };
    let observer = Arc::new(observer);
    // With the cluster up (so a port in use fails at once) but idle: the
    // loopback limit.
    let calibration = match &plan.calibrate {
        Calibrate::Measure(duration) => Some(
            reference::calibrate(
                workload.concurrency as usize,
                *duration,
                workload.value_size as usize,
            )
            .await
            .map_err(RunError::Calibration)?,
        ),
        Calibrate::Given(calibration) => Some(calibration.clone()),
        Calibrate::Skip => None,
    };
    let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed)
        .map_err(RunError::Workload)?;
    let driver = Driver::new(DriverConfig {
        base_url: base_url.clone(),
        path_prefix: path_prefix.clone(),
        sampler,
        concurrency: workload.concurrency as usize,
        rate: workload.rate,
        timeout: workload.timeout.0,
        missing_share: workload.slowdb.missing_share,
        // Another process's store may make other values.
        value_size: (mode == Mode::Cluster).then_some(workload.value_size),
    })
    .map_err(|error| RunError::Url(error.to_string()))?;

    let time_limit = Instant::now() + workload.time_limit.0;
    let progress = plan.progress.then(|| Progress::start(workload, control));
    if workload.warmup_requests > 0 {
        let warmup = Phase::new(
            WARMUP_STREAM,
            Bound::Requests(workload.warmup_requests),
            time_limit,
        );
        driver.run(warmup, control).await;
    }
    if let Some(progress) = &progress {
        progress.measuring(control.done.load(Ordering::Relaxed));
    }
    let before = observer.read().await;
    let start = Instant::now();
    let measure_started_unix_ms = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let scenario = (!workload.events.is_empty()).then(|| {
        let levers = Levers {
            cluster: match &*observer {
                Observer::Local(cluster) => Some(Arc::clone(cluster)),
                Observer::Remote { .. } => None,
            },
            keys: workload.keys,
        };
        Scenario::new(&workload.events, levers, start, workload.rate)
    });
    // One request in flight: the cluster is read between requests, so each
    // interval's cluster figures are exactly its requests'.
    let between = (workload.concurrency == 1).then(|| {
        Arc::new(BetweenRequests {
            observer: Arc::clone(&observer),
            samples: Mutex::new(Vec::new()),
        })
    });
    let measure = Phase {
        start: Some(start),
        interval: workload.interval.0,
        steering: scenario.as_ref().map(|(_, steering)| Arc::clone(steering)),
        reader: between
            .clone()
            .map(|reader| reader as Arc<dyn IntervalReader>),
        ..Phase::new(MEASURE_STREAM, workload.bound(), time_limit)
    };
    let (finish, finished) = watch::channel(false);
    let until_finished = || {
        let mut finished = finished.clone();
        async move {
            let _ = finished.wait_for(|done| *done).await;
        }
    };
    let (report, mut samples, ()) = tokio::join!(
        async {
            let report = driver.run(measure, control).await;
            finish.send_replace(true);
            report
        },
        async {
            match &between {
                Some(reader) => {
                    until_finished().await;
                    reader.take()
                }
                None => sample(&observer, start, workload.interval.0, until_finished()).await,
            }
        },
        async {
            if let Some((scenario, _)) = &scenario {
                scenario.run_timed(until_finished()).await;
            }
        },
    );
    let after = observer.read().await;
    samples.insert(0, Counters::of(&before));
    samples.push(Counters::of(&after));
    let api_index = observer.api_index(&after);
    if let Some(progress) = progress {
        progress.finish().await;
    }

    let ring = ring_of(&observer, &after, workload);
    let node_names = observer.nodes();
    let applied = scenario
        .map(|(scenario, _)| scenario.applied())
        .unwrap_or_default();
    let result = assemble(Assembly {
        plan,
        mode,
        target: plan
            .target
            .clone()
            .unwrap_or_else(|| format!("{base_url}/api")),
        started_at,
        report: &report,
        connections: driver.connections_opened(),
        before: &before,
        after: &after,
        nodes: &node_names,
        ring: ring.as_ref(),
        calibration,
        samples: &samples,
        api_index,
        applied: &applied,
        measure_started_unix_ms,
        series_reading: if between.is_some() {
            SeriesReading::BetweenRequests
        } else {
            SeriesReading::Timer
        },
    })?;
    if let Observer::Local(cluster) = &*observer {
        cluster.shutdown().await;
    }
    Ok(result)
}

/// The ring the nodes use: the cluster's own, or one rebuilt from what the
/// target's nodes report (or, failing that, from the workload).
fn ring_of(observer: &Observer, reading: &Reading, workload: &Workload) -> Option<HashRing> {
    match observer {
        Observer::Local(cluster) => cluster.ring(),
        Observer::Remote { peers, .. } => {
            let reported = reading.nodes.iter().flatten().chain(&reading.api).next();
            let (replicas, hash, members) = match reported {
                Some(stats) => (stats.replicas, stats.hash, stats.peers.clone()),
                None => (
                    workload.cluster.replicas as usize,
                    workload.cluster.hash,
                    peers.iter().map(|(url, _)| url.clone()).collect(),
                ),
            };
            if members.is_empty() {
                return None;
            }
            let mut ring = HashRing::new(replicas, hash);
            ring.add(members);
            Some(ring)
        }
    }
}

struct Assembly<'a> {
    plan: &'a RunPlan,
    mode: Mode,
    target: String,
    started_at: SystemTime,
    report: &'a PhaseReport,
    connections: u64,
    before: &'a Reading,
    after: &'a Reading,
    /// (name on the ring, listening URL) of each node.
    nodes: &'a [(String, String)],
    ring: Option<&'a HashRing>,
    calibration: Option<Calibration>,
    /// The counters at the start, at each interval's end, and at the end.
    samples: &'a [Counters],
    /// The API node, by index.
    api_index: Option<usize>,
    /// What each of the workload's events did.
    applied: &'a [Option<Applied>],
    /// How the series was read.
    series_reading: SeriesReading,
    /// When the measurement began, in milliseconds since the Unix epoch.
    measure_started_unix_ms: u64,
}

/// Reads the counters when the driver's only worker says intervals have
/// ended, between two requests.
struct BetweenRequests {
    observer: Arc<Observer>,
    samples: Mutex<Vec<Counters>>,
}

impl BetweenRequests {
    /// The readings so far, taken out.
    fn take(&self) -> Vec<Counters> {
        self.samples
            .lock()
            .map(|mut samples| std::mem::take(&mut *samples))
            .unwrap_or_default()
    }
}

impl IntervalReader for BetweenRequests {
    fn intervals_ended(&self, ended: u64) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let counters = self.observer.counters().await;
            if let Ok(mut samples) = self.samples.lock() {
                for _ in 1..ended {
                    samples.push(counters.clone());
                }
                samples.push(counters);
            }
        })
    }
}

/// Reads the counters at the end of each interval from `start` until
/// `finished` is notified.
async fn sample(
    observer: &Observer,
    start: Instant,
    interval: Duration,
    finished: impl std::future::Future<Output = ()>,
) -> Vec<Counters> {
    let mut samples = Vec::new();
    let mut next = start + interval;
    tokio::pin!(finished);
    loop {
        // An interval's end that has come is read even when the
        // measurement finished at the same moment.
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = &mut finished => {
                // The timer may lag the end by a millisecond: an interval
                // end already past is still read.
                if Instant::now() >= next {
                    samples.push(observer.counters().await);
                }
                return samples;
            }
        }
        samples.push(observer.counters().await);
        next += interval;
    }
}

/// The driver's series with the cluster's figures of each interval beside
/// them.
fn series_of(
    client: &[ClientInterval],
    samples: &[Counters],
    api_index: Option<usize>,
) -> Vec<IntervalFigures> {
    client
        .iter()
        .enumerate()
        .map(|(at, entry)| {
            let cluster = samples
                .get(at)
                .zip(samples.get(at + 1))
                .and_then(|(then, now)| {
                    let db = then.db_loads.as_deref().zip(now.db_loads.as_deref());
                    ClusterInterval::between(&then.nodes, &now.nodes, api_index, db)
                });
            IntervalFigures {
                client: entry.clone(),
                cluster,
            }
        })
        .collect()
}

fn assemble(input: Assembly<'_>) -> Result<RunResult, RunError> {
    let workload = &input.plan.workload;
    let report = input.report;
    let counts = &report.counts;
    let seconds = report.elapsed.as_secs_f64();
    let client = ClientFigures {
        requests: counts.requests,
        responses: report.histogram.len(),
        ok: counts.ok,
        missing: counts.missing,
        errors: counts.errors.clone(),
        warmup_requests: workload.warmup_requests,
        duration_secs: seconds,
        throughput_rps: if seconds > 0.0 {
            counts.requests as f64 / seconds
        } else {
            0.0
        },
        latency_us: LatencyFigures::of(&report.histogram),
        latency_from: Some(if report.service_histogram.is_some() {
            LatencyFrom::IntendedSend
        } else {
            LatencyFrom::Send
        }),
        service_time_us: report.service_histogram.as_ref().map(LatencyFigures::of),
        stopped_by: report.stopped_by,
        connections: input.connections,
        unsent: report.unsent,
    };

    // A node that joined during the measurement has no reading before it:
    // all it did is new.
    let deltas: Vec<Option<NodeStats>> = input
        .after
        .nodes
        .iter()
        .enumerate()
        .map(|(index, after)| {
            let after = after.as_ref()?;
            Some(match input.before.nodes.get(index) {
                Some(Some(before)) => after.since(before),
                Some(None) => return None,
                None => after.clone(),
            })
        })
        .collect();
    let api_delta = match (&input.after.api, &input.before.api) {
        (Some(after), Some(before)) => Some(after.since(before)),
        _ => None,
    };
    let db_figures: Option<SlowDbFigures> = match (&input.after.db, &input.before.db) {
        (Some(after), Some(before)) => Some(after.since(before)),
        _ => None,
    };

    // Ring shares and owned keys, by node URL.
    let (shares, owned) = match input.ring {
        Some(ring) => (ring.shares(), keys_owned(ring, workload.keys)),
        None => (Vec::new(), Vec::new()),
    };
    let place = |url: &str| {
        input
            .ring
            .and_then(|ring| ring.peers().iter().position(|peer| peer == url))
    };

    let api_url = input.after.api.as_ref().map(|stats| stats.url.clone());
    let nodes: Vec<NodeFigures> = input
        .nodes
        .iter()
        .enumerate()
        .map(|(index, (url, listen))| {
            let slot = place(url);
            let mut figures = NodeFigures::at(
                index,
                url,
                listen,
                match input.mode {
                    Mode::Cluster => index == 0,
                    Mode::Target => api_url.as_deref() == Some(url.as_str()),
                },
            );
            figures.ring_share = slot
                .and_then(|slot| shares.get(slot))
                .copied()
                .unwrap_or(0.0);
            figures.keys_owned = slot.and_then(|slot| owned.get(slot)).copied().unwrap_or(0);
            figures.set_stats(
                deltas.get(index).cloned().flatten(),
                db_figures
                    .as_ref()
                    .and_then(|figures| figures.per_node.get(index).copied()),
            );
            // A target's nodes keep their readings, so that the results of
            // drivers that ran at once can be merged over their union.
            if input.mode == Mode::Target {
                figures.stats_start = input.before.nodes.get(index).cloned().flatten();
                figures.stats_end = input.after.nodes.get(index).cloned().flatten();
                figures.stats_error = [input.before, input.after]
                    .iter()
                    .find_map(|reading| reading.problems.get(index).cloned().flatten());
            }
            figures
        })
        .collect();

    let node_groups: Vec<(GroupStatsSnapshot, CacheStats)> =
        deltas.iter().flatten().filter_map(group_of).collect();
    let api_group = api_delta.as_ref().and_then(group_of);
    let cluster = ClusterFigures::of(
        api_group.map(|(stats, _)| stats),
        node_groups.iter().map(|(stats, _)| stats),
        db_figures.as_ref(),
        counts.requests,
    );

    let calibration = input.calibration.map(|mut calibration| {
        let peer_fetch_ratio = cluster
            .as_ref()
            .and_then(|cluster| cluster.peer_fetch_ratio);
        calibration.blend(peer_fetch_ratio, client.throughput_rps);
        calibration
    });
    let series = series_of(&report.series, input.samples, input.api_index);
    Ok(one_trial(RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        started_at: rfc3339(input.started_at),
        measure_started_unix_ms: Some(input.measure_started_unix_ms),
        finished_at: rfc3339(SystemTime::now()),
        mode: input.mode,
        target: input.target,
        workload_source: input.plan.source.clone(),
        workload: workload.clone(),
        machine: Machine::current(),
        client,
        cluster,
        nodes,
        events: report::costs(
            &workload.events,
            input.applied,
            &series,
            workload.interval.0.as_secs_f64(),
        ),
        series,
        series_reading: input.series_reading,
        histogram: HistogramData::encode(&report.histogram).map_err(RunError::Histogram)?,
        service_histogram: report
            .service_histogram
            .as_ref()
            .map(HistogramData::encode)
            .transpose()
            .map_err(RunError::Histogram)?,
        calibration,
        faults: (!input.plan.faults.is_none()).then_some(input.plan.faults),
        trials: Vec::new(),
        timed: None,
        trials_agree: None,
        merged_from: Vec::new(),
        target_settings: (input.mode == Mode::Target).then(|| {
            // The API node's reading first, then each peer's.
            let readings: Vec<&NodeStats> = input
                .before
                .api
                .iter()
                .chain(input.before.nodes.iter().flatten())
                .collect();
            TargetSettings::of(&readings, &workload.cluster, input.nodes.len())
        }),
    }))
}

/// A progress bar on stderr, fed from the driver's count of answers; drawn
/// only when stderr is a terminal.
struct Progress {
    bar: ProgressBar,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    /// When the measurement began, and the driver's count then.
    measuring: Arc<Mutex<Option<(Instant, u64)>>>,
    /// The measurement's length: requests, or seconds.
    length: u64,
}

impl Progress {
    fn start(workload: &Workload, control: &Arc<Control>) -> Progress {
        let (length, by_time) = match workload.bound() {
            Bound::Requests(requests) => (requests, false),
            Bound::Duration(duration) => (duration.as_secs().max(1), true),
        };
        let bar = ProgressBar::new(workload.warmup_requests.max(1));
        let unit = if by_time { "s" } else { "" };
        let template = format!("{{msg:>9}} [{{bar:30}}] {{pos}}/{{len}}{unit} {{prefix}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("warm-up");
        let measuring: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();
        let (stop, mut stopped) = oneshot::channel();
        let task = {
            let bar = bar.clone();
            let control = Arc::clone(control);
            let measuring = Arc::clone(&measuring);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = &mut stopped => break,
                    }
                    let done = control.done.load(Ordering::Relaxed);
                    let since = *measuring
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    match since {
                        None => bar.set_position(done),
                        Some((started, base)) => {
                            let measured = done.saturating_sub(base);
                            let elapsed = started.elapsed().as_secs_f64().max(1e-3);
                            bar.set_prefix(format!("{:.0} req/s", measured as f64 / elapsed));
                            bar.set_position(if by_time { elapsed as u64 } else { measured });
                        }
                    }
                }
            })
        };
        Progress {
            bar,
            stop,
            task,
            measuring,
            length,
        }
    }

    /// The warm-up is over after `done` answers: count from here.
    fn measuring(&self, done: u64) {
        *self
            .measuring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Instant::now(), done));
        self.bar.set_message("measuring");
        self.bar.set_length(self.length);
        self.bar.set_position(0);
    }

    async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.bar.finish_and_clear();
    }
}
