//! A scenario carried out: each event of the workload applied to the
//! cluster, the store or the driver at its moment (a timer for `at`, the
//! driver's gate for `at_request`), what it did recorded, and afterwards
//! what it cost, read off the interval series.
//!
//! The cost of each event is computed from the series in
//! [`crate::harness::report`].

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::geecache::peers::BoxFuture;
use crate::harness::cluster::Cluster;
use crate::harness::driver::{EventHook, RateChange, RateSchedule, Steering};
use crate::harness::events::{Action, Event};
use crate::harness::ownership::key_moves;

/// What the harness can act on in a run.
pub struct Levers {
    /// The cluster and its slow store, when the run started its own.
    pub cluster: Option<Arc<Cluster>>,
    /// The keys in the key space, for moved keys.
    pub keys: u64,
}

/// What applying an event did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// When, in seconds since the measurement began.
    pub at_secs: f64,
    /// The measured requests handed out by then.
    pub at_request: u64,
    /// For a join or a leave: keys whose owner changed, of the key space.
    pub moved_share: Option<f64>,
    /// The least a join or a leave could move.
    pub ideal_moved_share: Option<f64>,
    /// Why it could not be carried out.
    pub error: Option<String>,
}

/// How many intervals of `length` have ended by `at` since the start.
fn ends_by(at: Duration, length: Duration) -> usize {
    if length.is_zero() {
        return 0;
    }
    usize::try_from(at.as_nanos() / length.as_nanos()).unwrap_or(usize::MAX)
}

/// A workload's events during one measurement.
pub struct Scenario {
    events: Vec<Event>,
    levers: Levers,
    steering: Arc<Steering>,
    start: Instant,
    applied: Mutex<Vec<Option<Applied>>>,
}

impl Scenario {
    /// The scenario of `events` over `levers`, for a measurement that
    /// starts at `start` with an open loop at `rate`, or at a trace's
    /// `timeline` (or a closed loop). Returns it with the steering the
    /// driver's measured phase takes.
    pub fn new(
        events: &[Event],
        levers: Levers,
        start: Instant,
        rate: Option<f64>,
        timeline: Option<RateSchedule>,
    ) -> (Arc<Scenario>, Arc<Steering>) {
        let mut changes: Vec<(RateChange, f64)> = events
            .iter()
            .filter_map(|event| match event.action {
                Action::SetRate { rate } => Some((
                    match (event.at, event.at_request) {
                        (Some(at), _) => RateChange::At(at.0),
                        (None, request) => RateChange::AtRequest(request.unwrap_or(0)),
                    },
                    rate,
                )),
                _ => None,
            })
            .collect();
        changes.sort_by(|a, b| match (a.0, b.0) {
            (RateChange::At(x), RateChange::At(y)) => x.cmp(&y),
            (RateChange::AtRequest(x), RateChange::AtRequest(y)) => x.cmp(&y),
            _ => std::cmp::Ordering::Equal,
        });
        let schedule = timeline.or_else(|| rate.map(|rate| RateSchedule::new(rate, &changes)));
        let due: Vec<(u64, usize)> = events
            .iter()
            .enumerate()
            .filter_map(|(index, event)| event.at_request.map(|request| (request, index)))
            .collect();
        // The scenario is the gate's hook and holds the steering: the hook
        // points back at it weakly.
        let scenario = Arc::new_cyclic(|weak: &Weak<Scenario>| {
            let hook = Arc::new(Deferred(weak.clone())) as Arc<dyn EventHook>;
            Scenario {
                events: events.to_vec(),
                levers,
                steering: Arc::new(Steering::new(due, Some(hook), schedule)),
                start,
                applied: Mutex::new(vec![None; events.len()]),
            }
        });
        let steering = Arc::clone(&scenario.steering);
        (scenario, steering)
    }

    /// Applies the time-indexed events, each at its time, until
    /// `finished` completes (the measurement is over). `boundaries` gives
    /// the count of interval ends read so far and the interval's length:
    /// an event due at or after an interval's end waits until that end has
    /// been read, for at most one interval, so that its effects fall after
    /// the reading.
    pub async fn run_timed(
        &self,
        finished: impl std::future::Future<Output = ()>,
        (mut read, length): (tokio::sync::watch::Receiver<usize>, Duration),
    ) {
        let mut order: Vec<usize> = (0..self.events.len())
            .filter(|&index| self.events[index].at.is_some())
            .collect();
        order.sort_by_key(|&index| self.events[index].at.map(|at| at.0));
        tokio::pin!(finished);
        for index in order {
            let Some(at) = self.events[index].at else {
                continue;
            };
            let due = self.start + at.0;
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = &mut finished => return,
            }
            let ended = ends_by(at.0, length);
            tokio::select! {
                _ = tokio::time::timeout(length, read.wait_for(|&read| read >= ended)) => {}
                _ = &mut finished => return,
            }
            self.apply(index).await;
        }
    }

    /// Carries out event `index` and records what it did.
    pub async fn apply(&self, index: usize) {
        let Some(event) = self.events.get(index) else {
            return;
        };
        let mut applied = Applied {
            at_secs: self.start.elapsed().as_secs_f64(),
            // A request-indexed event happens before the request it names;
            // a timed one when the driver has handed out this many.
            at_request: event.at_request.unwrap_or_else(|| self.steering.requests()),
            ..Applied::default()
        };
        let cluster = self.levers.cluster.as_deref();
        let node = |node: u32| node as usize;
        match event.action {
            Action::StopNode { node: index } => {
                if let Some(cluster) = cluster {
                    cluster.stop_node(node(index)).await;
                }
            }
            Action::StartNode {
                node: index,
                keep_cache,
            } => {
                if let Some(cluster) = cluster {
                    if let Err(error) = cluster.start_node(node(index), keep_cache).await {
                        applied.error = Some(error.to_string());
                    }
                }
            }
            Action::SlowNode { node: index, delay } => {
                if let Some(cluster) = cluster {
                    cluster.slow_node(node(index), delay.0);
                }
            }
            Action::BreakNode {
                node: index,
                how,
                share,
            } => {
                if let Some(cluster) = cluster {
                    cluster.break_node(node(index), how, share);
                }
            }
            Action::AddNode {} | Action::RemoveNode { .. } => {
                if let Some(cluster) = cluster {
                    let change = match event.action {
                        Action::RemoveNode { node: index } => {
                            Ok(cluster.remove_node(node(index)).await)
                        }
                        _ => cluster.add_node().await,
                    };
                    match change {
                        Ok(change) => {
                            let moves = key_moves(&change.before, &change.after, self.levers.keys);
                            applied.moved_share = Some(moves.moved_share());
                            applied.ideal_moved_share = Some(moves.ideal_share);
                        }
                        Err(error) => applied.error = Some(error.to_string()),
                    }
                }
            }
            Action::Slowdb {
                latency,
                error_share,
            } => {
                if let Some(cluster) = cluster {
                    cluster.db().brownout(latency, error_share);
                }
            }
            Action::ShiftKeys { offset } => self.steering.shift_keys(offset),
            // The schedule already holds the change.
            Action::SetRate { .. } => {}
        }
        if let Some(error) = &applied.error {
            log::warn!("event {index} ({event}) failed: {error}");
        }
        self.applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(applied);
    }

    /// What each event did, in the workload's order; `None` for an event
    /// the measurement ended before.
    pub fn applied(&self) -> Vec<Option<Applied>> {
        self.applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The gate's hook: the scenario, held weakly.
struct Deferred(Weak<Scenario>);

impl EventHook for Deferred {
    fn apply(&self, event: usize) -> BoxFuture<'_, ()> {
        let scenario = self.0.upgrade();
        Box::pin(async move {
            if let Some(scenario) = scenario {
                scenario.apply(event).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift_at(at: Duration) -> (Arc<Scenario>, Instant) {
        let event: Event =
            serde_json::from_value(serde_json::json!({ "action": "shift_keys", "offset": 1 }))
                .unwrap();
        let event = Event {
            at: Some(crate::units::Span(at)),
            ..event
        };
        let start = Instant::now();
        let levers = Levers {
            cluster: None,
            keys: 10,
        };
        (Scenario::new(&[event], levers, start, None, None).0, start)
    }

    #[test]
    fn interval_ends_are_counted_whole() {
        let length = Duration::from_millis(250);
        assert_eq!(ends_by(Duration::ZERO, length), 0);
        assert_eq!(ends_by(Duration::from_millis(249), length), 0);
        assert_eq!(ends_by(Duration::from_millis(250), length), 1);
        assert_eq!(ends_by(Duration::from_secs(1), length), 4);
        assert_eq!(ends_by(Duration::from_secs(1), Duration::ZERO), 0);
    }

    #[tokio::test]
    async fn an_event_at_an_intervals_end_waits_for_its_reading() {
        // Due at the first interval's end (50 ms); the reading comes 30 ms
        // later. Applied after the reading, or, had it never come, after
        // waiting one interval (100 ms), never before both.
        let (scenario, start) = shift_at(Duration::from_millis(50));
        let (read, reads) = tokio::sync::watch::channel(0);
        let length = Duration::from_millis(50);
        let reader = async {
            tokio::time::sleep_until((start + Duration::from_millis(80)).into()).await;
            let at = start.elapsed().as_secs_f64();
            read.send_replace(1);
            at
        };
        let finished = tokio::time::sleep(Duration::from_secs(5));
        let (read_at, ()) = tokio::join!(reader, scenario.run_timed(finished, (reads, length)));
        let applied = scenario.applied()[0].clone().expect("applied");
        assert!(
            applied.at_secs >= read_at.min(0.1),
            "applied at {} s, the reading at {read_at} s",
            applied.at_secs
        );
    }

    #[tokio::test]
    async fn an_event_whose_reading_is_in_goes_at_once() {
        // Due at the first interval's end (3 s), whose reading is in: no
        // wait. Waiting out the interval (to 6 s) would outlast the
        // measurement (5 s), and the event would never happen.
        let length = Duration::from_secs(3);
        let (scenario, _) = shift_at(length);
        let (_read, reads) = tokio::sync::watch::channel(1);
        let finished = tokio::time::sleep(Duration::from_secs(5));
        scenario.run_timed(finished, (reads, length)).await;
        assert!(scenario.applied()[0].is_some());
    }
}
