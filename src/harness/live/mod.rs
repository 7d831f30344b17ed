//! The live view of a run: what a person watching a run in a terminal sees
//! while it goes, a few times a second.
//!
//! Beside this file: `view` (a [`Snapshot`] drawn with ratatui, tested
//! against its test backend) and [`screen`] (the terminal: the alternate
//! screen, keys, and what the program writes to stderr meanwhile).
//!
//! The run tells the [`LiveFeed`] what it is doing (the stage, the trial,
//! the measurement's length) and hands it what it already collects: the
//! driver's series so far ([`SoFar`]), the cluster's counters read at each
//! interval's end, and the scenario's events. The view reads those; it adds
//! nothing to a request's path.

pub mod screen;
mod view;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::driver::{ClientInterval, Counts, LiveFigures, SoFar};
use crate::harness::report::steadiness::Steadiness;
use crate::harness::report::ClusterInterval;
use crate::harness::workload::{Bound, Workload};

/// What a run is doing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    /// Starting the cluster or reaching the target.
    Starting,
    /// Measuring the loopback limit.
    Calibrating,
    /// The warm-up: requests sent and not measured.
    WarmUp,
    /// The measurement.
    Measuring,
    /// The counted pass under valgrind and strace.
    CountedPass,
    /// Done: writing the result.
    Finishing,
}

impl Stage {
    fn label(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Calibrating => "calibrating",
            Stage::WarmUp => "warm-up",
            Stage::Measuring => "measuring",
            Stage::CountedPass => "counted pass",
            Stage::Finishing => "writing the result",
        }
    }
}

/// What the cluster did, as a live view reads it: the run so far and the
/// newest interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterGlimpse {
    /// Since the measurement began.
    pub run: Option<ClusterInterval>,
    /// In the newest interval read.
    pub last: Option<ClusterInterval>,
    /// Seconds since the measurement began, at the newest reading.
    pub run_secs: f64,
    /// The newest interval's length, in seconds.
    pub last_secs: f64,
    /// Each node.
    pub nodes: Vec<NodeRow>,
}

/// One node in the live view's table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeRow {
    /// Its name on the ring.
    pub name: String,
    /// Whether it serves the API.
    pub api: bool,
    /// Whether its counters could be read at the newest reading.
    pub up: bool,
    /// Gets it served since the measurement began.
    pub served: u64,
    /// Its slow-store loads since then.
    pub loads: u64,
    /// Bytes in its main cache now.
    pub cache_bytes: u64,
    /// Its main cache's evictions since then.
    pub evictions: u64,
}

/// Reads the cluster's figures for the view.
pub type ClusterReader = Box<dyn Fn() -> Option<ClusterGlimpse> + Send + Sync>;
/// Reads the events fired so far, each said in a line.
pub type EventReader = Box<dyn Fn() -> Vec<String> + Send + Sync>;

/// What a running measurement lets the view read.
pub struct Watched {
    /// The driver's phase so far.
    pub driver: Arc<SoFar>,
    /// The cluster's counters, where the run reads them.
    pub cluster: Option<ClusterReader>,
    /// The scenario's events, where it has any.
    pub events: Option<EventReader>,
}

/// What the run tells the view, and what the view reads from it.
pub struct LiveFeed {
    state: Mutex<State>,
    /// Lines written to stderr while the view was up.
    messages: Mutex<VecDeque<String>>,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveFeed(..)")
    }
}

struct State {
    title: String,
    trial: Option<(u32, u32)>,
    stage: Stage,
    since: Instant,
    /// The driver's answer count when the stage began.
    done_base: u64,
    /// How long the stage is.
    length: Option<Bound>,
    open_loop: Option<f64>,
    /// The first event's time, past which dips are the scenario's.
    first_event_secs: Option<f64>,
    watched: Option<Arc<Watched>>,
    /// The driver's answer count at recent frames, to tell the last second.
    counted: VecDeque<(Instant, u64)>,
}

/// How many of the most recent lines of stderr the view keeps.
const MESSAGES: usize = 50;

/// How many of the newest intervals the view's charts show.
pub const CHART_INTERVALS: usize = 120;

impl LiveFeed {
    /// A feed for runs of `workload`, titled by its configuration.
    pub fn new(workload: &Workload) -> LiveFeed {
        let title = workload.headline();
        LiveFeed {
            state: Mutex::new(State {
                title,
                trial: None,
                stage: Stage::Starting,
                since: Instant::now(),
                done_base: 0,
                length: None,
                open_loop: workload.rate,
                first_event_secs: None,
                watched: None,
                counted: VecDeque::new(),
            }),
            messages: Mutex::new(VecDeque::new()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Trial `index` (from 0) of `of` begins.
    pub fn trial(&self, index: u32, of: u32) {
        self.state().trial = (of > 1).then_some((index + 1, of));
    }

    /// The run moves to `stage`, of `length` when it has one, with the
    /// driver's answers at `done` so far.
    pub fn stage(&self, stage: Stage, length: Option<Bound>, done: u64) {
        let mut state = self.state();
        state.stage = stage;
        state.since = Instant::now();
        state.done_base = done;
        state.length = length;
        state.counted.clear();
        if stage != Stage::Measuring && stage != Stage::WarmUp {
            state.watched = None;
        }
    }

    /// What the run is doing now.
    pub fn stage_now(&self) -> Stage {
        self.state().stage
    }

    /// The running phase's series, cluster and events can be read now;
    /// the first event, if any, fires at `first_event_secs`.
    pub fn watch(&self, watched: Watched, first_event_secs: Option<f64>) {
        let mut state = self.state();
        state.watched = Some(Arc::new(watched));
        state.first_event_secs = first_event_secs;
    }

    /// Keeps a line the program wrote to stderr while the view was up.
    pub fn message(&self, line: String) {
        let mut messages = self
            .messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        messages.push_back(line);
        while messages.len() > MESSAGES {
            messages.pop_front();
        }
    }

    /// What the view shows now, with the driver's answer count at `done`.
    pub fn snapshot(&self, done: u64) -> Snapshot {
        let now = Instant::now();
        let (mut snapshot, watched) = {
            let mut state = self.state();
            let counted = done.saturating_sub(state.done_base);
            state.counted.push_back((now, counted));
            while state
                .counted
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_millis(1500))
            {
                state.counted.pop_front();
            }
            let elapsed = now.duration_since(state.since);
            let stage = match state.trial {
                Some((trial, of)) => format!("trial {trial} of {of}: {}", state.stage.label()),
                None => state.stage.label().to_owned(),
            };
            let progress = progress(state.length, counted, elapsed);
            let last_second = last_second(&state.counted);
            let snapshot = Snapshot {
                title: state.title.clone(),
                stage,
                progress,
                elapsed_secs: elapsed.as_secs_f64(),
                open_loop: state.open_loop,
                throughput: [
                    last_second,
                    (elapsed.as_secs_f64() > 0.0).then(|| counted as f64 / elapsed.as_secs_f64()),
                ],
                ..Snapshot::default()
            };
            let watched = match state.stage {
                Stage::WarmUp | Stage::Measuring => state.watched.clone(),
                _ => None,
            };
            (
                snapshot,
                watched.map(|watched| (watched, state.first_event_secs)),
            )
        };
        if let Some((watched, first_event_secs)) = watched {
            if let Some((figures, _)) = watched.driver.live() {
                snapshot.fill_driver(&figures, first_event_secs);
            }
            if let Some(cluster) = watched.cluster.as_ref().and_then(|read| read()) {
                snapshot.fill_cluster(cluster);
            }
            if let Some(events) = &watched.events {
                snapshot.events = events();
            }
        }
        snapshot.messages = self
            .messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect();
        snapshot
    }
}

/// The stage's progress: its share done, and what that is.
fn progress(length: Option<Bound>, counted: u64, elapsed: Duration) -> Option<(f64, String)> {
    match length? {
        Bound::Requests(requests) => Some((
            (counted as f64 / requests.max(1) as f64).min(1.0),
            format!(
                "{} / {} requests",
                crate::table::thousands(counted),
                crate::table::thousands(requests)
            ),
        )),
        Bound::Duration(length) => Some((
            (elapsed.as_secs_f64() / length.as_secs_f64().max(1e-9)).min(1.0),
            format!(
                "{:.1} / {:.1} s",
                elapsed.as_secs_f64().min(length.as_secs_f64()),
                length.as_secs_f64()
            ),
        )),
    }
}

/// Answers per second over the newest second of the frames' counts.
fn last_second(counted: &VecDeque<(Instant, u64)>) -> Option<f64> {
    let (newest_at, newest) = *counted.back()?;
    let (oldest_at, oldest) = counted
        .iter()
        .find(|(at, _)| newest_at.duration_since(*at) <= Duration::from_millis(1000))
        .copied()?;
    let span = newest_at.duration_since(oldest_at).as_secs_f64();
    (span >= 0.2).then(|| newest.saturating_sub(oldest) as f64 / span)
}

/// What the view draws: every figure as it stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The workload and the cluster's configuration.
    pub title: String,
    /// The trial and the stage.
    pub stage: String,
    /// The stage's share done, and what that is.
    pub progress: Option<(f64, String)>,
    /// Seconds in the stage.
    pub elapsed_secs: f64,
    /// An open loop's rate.
    pub open_loop: Option<f64>,
    /// Answers per second: over the last second, and over the stage.
    pub throughput: [Option<f64>; 2],
    /// The newest ended interval's length, in seconds.
    pub window_secs: f64,
    /// The newest ended interval's latency percentiles (50, 99, 99.9) and
    /// the stage's, in microseconds: from each intended send in an open
    /// loop.
    pub latency: [Option<[u64; 3]>; 2],
    /// An open loop's service time likewise, from each actual send.
    pub service: [Option<[u64; 3]>; 2],
    /// Every answer of the stage by outcome.
    pub counts: Counts,
    /// The newest intervals' throughput and p99, oldest first.
    pub history: Vec<ClientInterval>,
    /// Requests of every ended interval: those the cluster's newest
    /// reading has seen.
    pub ended_requests: u64,
    /// The cluster, where it is read.
    pub cluster: Option<ClusterGlimpse>,
    /// The events fired so far.
    pub events: Vec<String>,
    /// What looks wrong so far.
    pub warnings: Vec<String>,
    /// The newest lines the program wrote to stderr.
    pub messages: Vec<String>,
}

impl Snapshot {
    fn fill_driver(&mut self, figures: &LiveFigures, first_event_secs: Option<f64>) {
        self.window_secs = figures.interval.as_secs_f64();
        let last = figures.last.as_ref().map(|(_, last)| last);
        self.latency = [last.and_then(|last| last.latency), figures.whole.latency];
        self.service = [last.and_then(|last| last.service), figures.whole.service];
        self.counts = figures.whole.counts.clone();
        self.ended_requests = figures.rows.iter().map(|row| row.requests).sum();
        let skip = figures.rows.len().saturating_sub(CHART_INTERVALS);
        self.history = figures.rows[skip..].to_vec();
        if let Some(steadiness) = Steadiness::of(&figures.rows, first_event_secs) {
            if steadiness.unsteady() {
                self.warnings.push(format!(
                    "UNSTEADY: throughput by second {} (median {:.0} req/s)",
                    steadiness.range(),
                    steadiness.median_rps
                ));
            }
        }
        let errors = &figures.whole.counts.errors;
        if errors.total > 0 {
            self.warnings.push(format!(
                "{} of {} requests failed",
                crate::table::thousands(errors.total),
                crate::table::thousands(figures.whole.counts.requests)
            ));
        }
    }

    fn fill_cluster(&mut self, cluster: ClusterGlimpse) {
        let evicted: u64 = cluster.nodes.iter().map(|node| node.evictions).sum();
        let half_done = self.progress.as_ref().is_some_and(|(done, _)| *done >= 0.5);
        if evicted == 0 && half_done && !cluster.nodes.is_empty() {
            self.warnings.push(
                "caches not filled: no node has evicted anything yet, so the cache size has \
                 made no difference so far"
                    .to_owned(),
            );
        }
        let down: Vec<String> = cluster
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| !node.up)
            .map(|(index, _)| index.to_string())
            .collect();
        if !down.is_empty() {
            self.warnings.push(format!("node {} down", down.join(", ")));
        }
        self.cluster = Some(cluster);
    }

    /// The errors by kind, each with its count.
    pub fn errors_by_kind(&self) -> Vec<(String, u64)> {
        let errors = &self.counts.errors;
        let mut kinds: Vec<(String, u64)> = errors
            .status
            .iter()
            .map(|(status, count)| (format!("status {status}"), *count))
            .collect();
        kinds.extend([
            ("timeout".to_owned(), errors.timeout),
            ("connection".to_owned(), errors.connection),
            ("wrong value".to_owned(), errors.wrong_value),
        ]);
        kinds.extend(
            crate::geecache::h1::Broken::ALL
                .iter()
                .map(|&kind| (format!("broken: {kind}"), errors.broken.of(kind))),
        );
        kinds.retain(|(_, count)| *count > 0);
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_second_is_the_count_over_the_newest_second() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let counted: VecDeque<(Instant, u64)> = [(0, 0), (250, 100), (500, 300), (1250, 1800)]
            .into_iter()
            .map(|(ms, count)| (at(ms), count))
            .collect();
        // From 250 ms to 1250 ms: 1700 in one second.
        assert_eq!(last_second(&counted), Some(1700.0));
        // One frame tells nothing.
        let one: VecDeque<_> = [(at(0), 5)].into_iter().collect();
        assert_eq!(last_second(&one), None);
    }

    fn second(index: u64, requests: u64) -> ClientInterval {
        ClientInterval {
            interval: index,
            start_secs: index as f64,
            requests,
            throughput_rps: requests as f64,
            p50_us: Some(500),
            p99_us: Some(2_000),
            errors: 0,
        }
    }

    #[test]
    fn warnings_arise_from_what_the_run_has_collected() {
        // Ten steady seconds, then one at half: UNSTEADY, as the summary
        // would say; before the dip, nothing.
        let mut rows: Vec<ClientInterval> = (0..10).map(|index| second(index, 1000)).collect();
        let figures = |rows: &[ClientInterval]| LiveFigures {
            rows: rows.to_vec(),
            interval: Duration::from_secs(1),
            ..LiveFigures::default()
        };
        let mut steady = Snapshot::default();
        steady.fill_driver(&figures(&rows), None);
        assert!(steady.warnings.is_empty(), "{:?}", steady.warnings);
        assert_eq!(steady.ended_requests, 10_000);
        rows.push(second(10, 500));
        rows.push(second(11, 1000));
        let mut dipped = Snapshot::default();
        dipped.fill_driver(&figures(&rows), None);
        assert!(
            dipped.warnings[0].starts_with("UNSTEADY"),
            "{:?}",
            dipped.warnings
        );
        // A dip after the first event is the scenario's, not noise.
        let mut scenario = Snapshot::default();
        scenario.fill_driver(&figures(&rows), Some(9.0));
        assert!(scenario.warnings.is_empty(), "{:?}", scenario.warnings);
        // No eviction past half the measurement: the cache size has made
        // no difference yet. Before half, or with evictions, nothing.
        let cluster = |evictions: u64| ClusterGlimpse {
            nodes: vec![NodeRow {
                evictions,
                up: true,
                ..NodeRow::default()
            }],
            ..ClusterGlimpse::default()
        };
        for (done, evictions, warned) in [(0.6, 0, true), (0.4, 0, false), (0.6, 5, false)] {
            let mut snapshot = Snapshot {
                progress: Some((done, String::new())),
                ..Snapshot::default()
            };
            snapshot.fill_cluster(cluster(evictions));
            assert_eq!(
                snapshot
                    .warnings
                    .iter()
                    .any(|warning| warning.starts_with("caches not filled")),
                warned,
                "{done} {evictions}"
            );
        }
        let mut down = Snapshot::default();
        let mut glimpse = cluster(5);
        glimpse.nodes.push(NodeRow::default());
        down.fill_cluster(glimpse);
        assert_eq!(down.warnings, vec!["node 1 down".to_owned()]);
    }

    #[test]
    fn progress_is_by_requests_or_by_time() {
        let (share, text) = progress(
            Some(Bound::Requests(200_000)),
            50_000,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!((share, text.as_str()), (0.25, "50,000 / 200,000 requests"));
        let (share, text) = progress(
            Some(Bound::Duration(Duration::from_secs(10))),
            1,
            Duration::from_millis(2500),
        )
        .unwrap();
        assert_eq!((share, text.as_str()), (0.25, "2.5 / 10.0 s"));
        assert_eq!(progress(None, 5, Duration::ZERO), None);
    }
}
