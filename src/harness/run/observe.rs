//! Reading the cluster's counters: from the run's own nodes and store, or
//! from a target's `/_stats`; between requests or on a timer at each
//! interval's end; and the ring the nodes use.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::geecache::http::HttpClient;
use crate::geecache::peers::BoxFuture;
use crate::geecache::{HashRing, NodeStats};
use crate::harness::cluster::Cluster;
use crate::harness::driver::IntervalReader;
use crate::harness::live::{ClusterGlimpse, NodeRow};
use crate::harness::report::{group_of, ClusterInterval, NodeCounters};

/// Where the run reads the cluster's counters.
pub(super) enum Observer {
    /// Its own cluster: straight from the nodes and the store.
    Local(Arc<Cluster>),
    /// A cluster elsewhere: the API node's and each peer's `/_stats`.
    Remote {
        api: HttpClient,
        peers: Vec<(String, HttpClient)>,
        /// Each node whose `/_stats` could not be read: its first problem
        /// and how many readings failed.
        failures: Unread,
    },
}

/// The `/_stats` readings that failed, by node: each is warned about once,
/// when it first fails, and counted ([`Unread::finish`] tells the count).
#[derive(Default)]
pub(super) struct Unread(Mutex<BTreeMap<String, (String, u64)>>);

impl Unread {
    /// Notes `name`'s reading; warns at its first failure.
    fn note(&self, name: &str, read: &Result<NodeStats, String>) {
        let Err(problem) = read else { return };
        let Ok(mut failures) = self.0.lock() else {
            return;
        };
        let entry = failures
            .entry(name.to_owned())
            .or_insert_with(|| (problem.clone(), 0));
        if entry.1 == 0 {
            log::warn!("{name}: /_stats {problem}");
        }
        entry.1 += 1;
    }

    /// Says how often each node's `/_stats` failed in all, where it failed
    /// more than once.
    pub(super) fn finish(&self) {
        let Ok(failures) = self.0.lock() else { return };
        for (name, (problem, count)) in failures.iter().filter(|(_, (_, count))| *count > 1) {
            log::warn!("{name}: /_stats could not be read {count} times in all ({problem})");
        }
    }
}

/// Every node's group counters at one moment, and the store's loads by
/// node where the run owns the store: what the series is made of.
#[derive(Clone, Default)]
pub(super) struct Counters {
    pub(super) nodes: Vec<NodeCounters>,
    pub(super) db_loads: Option<Vec<u64>>,
}

impl Counters {
    pub(super) fn of(reading: &CounterReading) -> Counters {
        Counters {
            nodes: group_counters(&reading.nodes),
            db_loads: reading.db.as_ref().map(|db| db.per_node.clone()),
        }
    }
}

/// Each node's group counters, from its figures where it could be read.
pub(super) fn group_counters(nodes: &[Option<NodeStats>]) -> Vec<NodeCounters> {
    nodes
        .iter()
        .map(|node| node.as_ref().and_then(group_of))
        .collect()
}

/// Every counter at one moment.
pub(super) struct CounterReading {
    /// The API node, when readable.
    pub(super) api: Option<NodeStats>,
    /// Each node, when readable.
    pub(super) nodes: Vec<Option<NodeStats>>,
    /// A target's node that could not be read: why, by index.
    pub(super) problems: Vec<Option<String>>,
    /// The store, in cluster mode.
    pub(super) db: Option<crate::harness::slowdb::SlowDbSnapshot>,
}

impl Observer {
    pub(super) async fn read(&self) -> CounterReading {
        match self {
            Observer::Local(cluster) => {
                let nodes = cluster.stats();
                CounterReading {
                    api: nodes.first().cloned().flatten(),
                    nodes,
                    problems: Vec::new(),
                    db: Some(cluster.db().snapshot()),
                }
            }
            Observer::Remote {
                api,
                peers,
                failures,
            } => {
                let mut nodes = Vec::with_capacity(peers.len());
                let mut problems = Vec::with_capacity(peers.len());
                for (url, client) in peers {
                    let read = fetch_stats(client).await;
                    failures.note(url, &read);
                    problems.push(read.as_ref().err().cloned());
                    nodes.push(read.ok());
                }
                let api_read = fetch_stats(api).await;
                failures.note("the target", &api_read);
                CounterReading {
                    api: api_read.ok(),
                    nodes,
                    problems,
                    db: None,
                }
            }
        }
    }

    /// The counters the series needs, without the store's per-key counts.
    pub(super) async fn counters(&self) -> Counters {
        match self {
            Observer::Local(cluster) => Counters {
                nodes: group_counters(&cluster.stats()),
                db_loads: Some(cluster.db().loads_per_node()),
            },
            Observer::Remote { .. } => Counters::of(&self.read().await),
        }
    }

    /// Which node serves the API, by index.
    pub(super) fn api_index(&self, reading: &CounterReading) -> Option<usize> {
        match self {
            Observer::Local(_) => Some(0),
            Observer::Remote { peers, .. } => {
                let url = &reading.api.as_ref()?.url;
                peers.iter().position(|(peer, _)| peer == url)
            }
        }
    }

    /// Each node's name on the ring and where it listens.
    pub(super) fn nodes(&self) -> Vec<(String, String)> {
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
/// connection's error).
async fn fetch_stats(client: &HttpClient) -> Result<NodeStats, String> {
    let problem = match client.get("/_stats").await {
        Ok((status, body)) if status.is_success() => match serde_json::from_slice(&body) {
            Ok(stats) => return Ok(stats),
            Err(error) => format!("answered {status}, not GeeCache node stats: {error}"),
        },
        Ok((status, _)) => format!("answered {status}"),
        Err(error) => format!("unreadable: {error}"),
    };
    Err(problem)
}

/// The ring the nodes use: the cluster's own, or one rebuilt from what the
/// target's nodes report; `None` when no node reported its replicas and
/// hash (the workload's are not the target's).
pub(super) fn ring_of(observer: &Observer, reading: &CounterReading) -> Option<HashRing> {
    match observer {
        Observer::Local(cluster) => cluster.ring(),
        Observer::Remote { .. } => {
            let stats = reading.nodes.iter().flatten().chain(&reading.api).next()?;
            let (replicas, hash, members) = (stats.replicas, stats.hash, stats.peers.clone());
            if members.is_empty() {
                return None;
            }
            let mut ring = HashRing::new(replicas, hash);
            ring.add(members);
            Some(ring)
        }
    }
}

/// The counters read at each interval's end, and, for checkpoints, the
/// whole readings of the latest ones.
pub(super) struct Samples {
    counters: Mutex<Vec<Counters>>,
    /// How many intervals' ends have been read: events wait on it (see
    /// [`Samples::intervals_read`]).
    read: tokio::sync::watch::Sender<usize>,
    /// (interval, the reading at its end), the latest [`KEPT`]; kept only
    /// when asked for.
    readings: Option<Mutex<VecDeque<Kept>>>,
}

/// An interval, and the whole reading at its end.
type Kept = (usize, Arc<CounterReading>);

/// The most intervals' whole readings [`Samples`] keeps: more than a
/// checkpoint lags behind the newest (the series keeps 3 s open: 30 intervals
/// of the shortest, 100 ms). A checkpoint drops those it has passed, so
/// only the lag's are held: a reading holds the store's count of each key
/// (400 KB for 100,000 keys), and 64 of them were most of a soak's memory.
const KEPT: usize = 64;

impl Samples {
    /// A store that keeps whole readings when `readings` says so.
    pub(super) fn new(readings: bool) -> Samples {
        Samples {
            counters: Mutex::new(Vec::new()),
            read: tokio::sync::watch::Sender::new(0),
            readings: readings.then(|| Mutex::new(VecDeque::new())),
        }
    }

    /// The count of intervals whose end has been read, as it rises. An
    /// event due at an interval's end waits for that reading, so that what
    /// the event causes falls in the interval after it, never before: the
    /// reading of every node takes a while, and an event fired meanwhile
    /// would have its first effects counted in the interval it follows.
    pub(super) fn intervals_read(&self) -> tokio::sync::watch::Receiver<usize> {
        self.read.subscribe()
    }

    /// Reads `observer` at the end of `ended` intervals (more than one when
    /// no request was sent in some).
    async fn read(&self, observer: &Observer, ended: u64) {
        let (counters, reading) = match &self.readings {
            Some(_) => {
                let reading = observer.read().await;
                (Counters::of(&reading), Some(Arc::new(reading)))
            }
            None => (observer.counters().await, None),
        };
        self.record(counters, reading, ended);
    }

    /// Keeps the counters (and the whole reading, when asked for) read at
    /// the end of `ended` intervals.
    fn record(&self, counters: Counters, reading: Option<Arc<CounterReading>>, ended: u64) {
        let mut all = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..ended {
            all.push(counters.clone());
        }
        if let (Some(readings), Some(reading)) = (&self.readings, reading) {
            let mut readings = readings.lock().unwrap_or_else(|p| p.into_inner());
            readings.push_back((all.len() - 1, reading));
            while readings.len() > KEPT {
                readings.pop_front();
            }
        }
        self.read.send_replace(all.len());
    }

    /// How many interval ends have been read, and the counters at the two
    /// newest.
    pub(super) fn newest(&self) -> (usize, Option<Counters>, Option<Counters>) {
        let all = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let previous = all.len().checked_sub(2).map(|at| all[at].clone());
        (all.len(), previous, all.last().cloned())
    }

    /// The readings so far, taken out.
    pub(super) fn take(&self) -> Vec<Counters> {
        std::mem::take(&mut *self.counters.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The counters at the ends of intervals 0 to `last`, and the whole
    /// reading at the end of `last`; `None` when it was not kept. Readings
    /// of earlier intervals are dropped: checkpoints only move forward.
    pub(super) fn up_to(&self, last: u64) -> Option<(Vec<Counters>, Arc<CounterReading>)> {
        let last = usize::try_from(last).ok()?;
        let reading = {
            let mut readings = self
                .readings
                .as_ref()?
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            readings.retain(|(interval, _)| *interval >= last);
            readings
                .front()
                .filter(|(interval, _)| *interval == last)
                .map(|(_, reading)| Arc::clone(reading))?
        };
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        Some((counters.get(..=last)?.to_vec(), reading))
    }
}

/// Reads the counters when the driver's only worker says intervals have
/// ended, between two requests.
pub(super) struct BetweenRequests {
    pub(super) observer: Arc<Observer>,
    pub(super) samples: Arc<Samples>,
}

impl IntervalReader for BetweenRequests {
    fn intervals_ended(&self, ended: u64) -> BoxFuture<'_, ()> {
        Box::pin(self.samples.read(&self.observer, ended))
    }
}

/// Reads the counters at the end of each interval from `start` until
/// `finished` is notified, into `samples`.
pub(super) async fn sample(
    observer: &Observer,
    samples: &Samples,
    (start, interval): (Instant, Duration),
    finished: impl std::future::Future<Output = ()>,
) {
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
                    samples.read(observer, 1).await;
                }
                return;
            }
        }
        samples.read(observer, 1).await;
        next += interval;
    }
}

/// What the live view reads of the cluster: the counters at the newest
/// interval ends, against those before the measurement.
pub(super) fn cluster_glimpse(
    observer: &Observer,
    samples: &Samples,
    (before, api): (&Counters, Option<usize>),
    interval: Duration,
) -> Option<ClusterGlimpse> {
    let names: Vec<String> = observer.nodes().into_iter().map(|(name, _)| name).collect();
    // A node of the run's own cluster is up while it answers; one
    // elsewhere, while its `/_stats` can be read.
    let answering = match observer {
        Observer::Local(cluster) => Some(cluster.answering()),
        Observer::Remote { .. } => None,
    };
    let (read, previous, latest) = samples.newest();
    let latest = latest?;
    let previous = previous.unwrap_or_else(|| before.clone());
    let between = |from: &Counters| {
        let db = from.db_loads.as_deref().zip(latest.db_loads.as_deref());
        ClusterInterval::between(&from.nodes, &latest.nodes, api, db)
    };
    let run = between(before);
    let nodes = latest
        .nodes
        .iter()
        .enumerate()
        .map(|(index, counters)| {
            let did = run
                .as_ref()
                .and_then(|run| run.nodes.get(index).copied().flatten())
                .unwrap_or_default();
            NodeRow {
                name: names.get(index).cloned().unwrap_or_default(),
                api: api == Some(index),
                up: counters.is_some()
                    && answering
                        .as_ref()
                        .is_none_or(|answering| answering.get(index) == Some(&true)),
                served: did.gets,
                loads: did.slowdb_loads,
                cache_bytes: counters.as_ref().map_or(0, |(_, cache)| cache.bytes),
                evictions: did.evictions,
            }
        })
        .collect();
    Some(ClusterGlimpse {
        last: between(&previous),
        run,
        run_secs: read as f64 * interval.as_secs_f64(),
        last_secs: interval.as_secs_f64(),
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> Option<Arc<CounterReading>> {
        Some(Arc::new(CounterReading {
            api: None,
            nodes: Vec::new(),
            problems: Vec::new(),
            db: None,
        }))
    }

    fn kept(samples: &Samples) -> Vec<usize> {
        let readings = samples.readings.as_ref().unwrap().lock().unwrap();
        readings.iter().map(|(interval, _)| *interval).collect()
    }

    #[test]
    fn checkpoints_drop_the_readings_they_have_passed() {
        let samples = Samples::new(true);
        let reads = samples.intervals_read();
        for _ in 0..10 {
            samples.record(Counters::default(), reading(), 1);
        }
        assert_eq!(*reads.borrow(), 10);
        assert_eq!(kept(&samples), (0..10).collect::<Vec<_>>());
        let (counters, _) = samples.up_to(5).expect("interval 5 was kept");
        assert_eq!(counters.len(), 6);
        assert_eq!(kept(&samples), (5..10).collect::<Vec<_>>());
        // Behind the last checkpoint: gone.
        assert!(samples.up_to(3).is_none());
        assert!(samples.up_to(8).is_some());
        assert_eq!(kept(&samples), vec![8, 9]);
        // Two intervals ended at one reading: one reading, two counts.
        samples.record(Counters::default(), reading(), 2);
        assert_eq!(*reads.borrow(), 12);
        assert_eq!(kept(&samples), vec![8, 9, 11]);
    }

    #[test]
    fn no_more_than_kept_readings_are_held_without_checkpoints() {
        let samples = Samples::new(true);
        for _ in 0..KEPT + 5 {
            samples.record(Counters::default(), reading(), 1);
        }
        assert_eq!(kept(&samples).len(), KEPT);
        assert_eq!(kept(&samples)[0], 5);
    }
}
