//! What a scenario changes on the driver's side of a phase: the keys asked
//! for (a moved hot set), the events due before given requests, and an
//! open loop's schedule with its rate changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::geecache::peers::BoxFuture;
use crate::harness::shard::Shard;
/// Applies a scenario's event, by its index in the workload's events.
pub trait EventHook: Send + Sync {
    /// Carries out event `event` and returns when it is done.
    fn apply(&self, event: usize) -> BoxFuture<'_, ()>;
}

/// What a scenario changes on the driver's side of a phase: the keys asked
/// for, the open loop's schedule, and the events that must happen before a
/// given request is sent.
pub struct Steering {
    /// Requests of the phase handed out so far: the number of the next.
    pub(super) requests: AtomicU64,
    /// Added to each request's key index, modulo the key space (the hot
    /// set moved).
    pub(super) key_offset: AtomicU64,
    /// Request-indexed events, applied by the worker about to send the
    /// request they name.
    pub(super) gate: Option<RequestGate>,
    /// The open loop's schedule with its rate changes.
    pub(super) schedule: Option<RateSchedule>,
}

/// Request-indexed events, in request order.
pub(super) struct RequestGate {
    /// (request number, event index), sorted.
    due: Vec<(u64, usize)>,
    /// The request number of the next event not yet applied; `u64::MAX`
    /// when none is left.
    next_due: AtomicU64,
    /// How many of `due` have been applied.
    cursor: tokio::sync::Mutex<usize>,
    hook: Arc<dyn EventHook>,
}

impl Steering {
    /// Steering with request-indexed events `due` ((request, event index))
    /// carried out by `hook`, and an open loop's `schedule`.
    pub fn new(
        mut due: Vec<(u64, usize)>,
        hook: Option<Arc<dyn EventHook>>,
        schedule: Option<RateSchedule>,
    ) -> Steering {
        due.sort_unstable();
        let gate = hook.filter(|_| !due.is_empty()).map(|hook| RequestGate {
            next_due: AtomicU64::new(due[0].0),
            due,
            cursor: tokio::sync::Mutex::new(0),
            hook,
        });
        Steering {
            requests: AtomicU64::new(0),
            key_offset: AtomicU64::new(0),
            gate,
            schedule,
        }
    }

    /// Moves the hot set: from now on request keys are shifted by `offset`.
    pub fn shift_keys(&self, offset: u64) {
        self.key_offset.store(offset, Ordering::Relaxed);
    }

    /// Requests of the phase handed out so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Applies every event due at or before `request`, once, before the
    /// request is sent; other workers reaching a due request wait for it.
    pub(super) async fn before(&self, request: u64) {
        let Some(gate) = &self.gate else {
            return;
        };
        if request < gate.next_due.load(Ordering::Acquire) {
            return;
        }
        let mut cursor = gate.cursor.lock().await;
        while let Some(&(at, event)) = gate.due.get(*cursor) {
            if at > request {
                break;
            }
            gate.hook.apply(event).await;
            *cursor += 1;
        }
        let next = gate.due.get(*cursor).map_or(u64::MAX, |&(at, _)| at);
        gate.next_due.store(next, Ordering::Release);
    }
}

/// An open loop's schedule: the rate, and where it changes.
#[derive(Clone, Debug, PartialEq)]
pub struct RateSchedule {
    /// (first request, its time since the start, rate from there on),
    /// in request order; the first starts at request 0.
    segments: Vec<(u64, Duration, f64)>,
}

/// When a rate change happens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateChange {
    /// At this time since the start.
    At(Duration),
    /// Before this request.
    AtRequest(u64),
}

impl RateSchedule {
    /// `rate` from the start, then each change in turn (in time order).
    pub fn new(rate: f64, changes: &[(RateChange, f64)]) -> RateSchedule {
        let mut segments = vec![(0, Duration::ZERO, rate)];
        for &(when, rate) in changes {
            let &(first, offset, previous) = segments.last().expect("one segment at least");
            let (request, time) = match when {
                RateChange::At(time) => {
                    let since = time.saturating_sub(offset).as_secs_f64();
                    (first + (since * previous).ceil() as u64, time.max(offset))
                }
                RateChange::AtRequest(request) => {
                    let request = request.max(first);
                    let since = (request - first) as f64 / previous;
                    (request, offset + Duration::from_secs_f64(since))
                }
            };
            segments.push((request, time, rate));
        }
        RateSchedule { segments }
    }

    /// A trace's own times: each run of reads sharing a time bucket
    /// (`runs`: time in ms, reads) spread evenly across the bucket
    /// (`resolution_ms` wide), the whole divided by `speed`, from the first
    /// run's time on.
    pub fn from_timeline(runs: &[(u64, u64)], resolution_ms: u64, speed: f64) -> RateSchedule {
        let origin = runs.first().map_or(0, |run| run.0);
        let width = resolution_ms.max(1) as f64 / 1000.0 / speed;
        let mut first = 0;
        let segments = runs
            .iter()
            .map(|&(at, count)| {
                let offset = Duration::from_secs_f64((at - origin) as f64 / 1000.0 / speed);
                let segment = (first, offset, count as f64 / width);
                first += count;
                segment
            })
            .collect::<Vec<_>>();
        if segments.is_empty() {
            return RateSchedule::new(1.0, &[]);
        }
        RateSchedule { segments }
    }

    /// A schedule of its pieces: (first request, its time since the start,
    /// rate from there on), in order, the first from request 0 at time 0.
    pub fn from_segments(segments: Vec<(u64, Duration, f64)>) -> RateSchedule {
        if segments.is_empty() {
            return RateSchedule::new(1.0, &[]);
        }
        RateSchedule { segments }
    }

    /// How many requests are meant to be sent before `end` (time since
    /// the start).
    pub fn scheduled_before(&self, end: Duration) -> u64 {
        // The last segment starting before `end`; within it, no more than
        // the next one's first (a trace's segments have gaps between them).
        let at = self
            .segments
            .partition_point(|segment| segment.1 < end)
            .saturating_sub(1);
        let (first, offset, rate) = self.segments[at];
        let within = first + (end.saturating_sub(offset).as_secs_f64() * rate).ceil() as u64;
        match self.segments.get(at + 1) {
            Some(next) => within.min(next.0),
            None => within,
        }
    }

    /// When `shard`'s request `local` is meant to be sent: when this
    /// schedule sends its number in the one-driver sequence.
    #[inline]
    pub fn intended_for(&self, shard: Shard, local: u64) -> Duration {
        self.intended(shard.global(local))
    }

    /// How many of `shard`'s requests are meant to be sent before `end`.
    pub fn scheduled_before_for(&self, shard: Shard, end: Duration) -> u64 {
        shard.share(self.scheduled_before(end))
    }

    /// When request `request` is meant to be sent, as time since the start.
    pub fn intended(&self, request: u64) -> Duration {
        let at = self
            .segments
            .partition_point(|segment| segment.0 <= request)
            .saturating_sub(1);
        let (first, offset, rate) = self.segments[at];
        offset + Duration::from_secs_f64(request.saturating_sub(first) as f64 / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_loops_shards_interleave_into_the_one_schedule() {
        // 1000/s, then 4000/s from request 3000.
        let schedule = RateSchedule::new(1000.0, &[(RateChange::AtRequest(3000), 4000.0)]);
        let count = 3;
        let mut times: Vec<Duration> = (0..count)
            .flat_map(|index| {
                let shard = Shard { index, count };
                let schedule = &schedule;
                (0..shard.share(6000)).map(move |local| schedule.intended_for(shard, local))
            })
            .collect();
        times.sort();
        let one: Vec<Duration> = (0..6000)
            .map(|request| schedule.intended(request))
            .collect();
        assert_eq!(times, one);
        // Each shard's due count is its share of the one schedule's.
        let end = Duration::from_millis(3500);
        let due: u64 = (0..count)
            .map(|index| schedule.scheduled_before_for(Shard { index, count }, end))
            .sum();
        assert_eq!(due, schedule.scheduled_before(end));
    }

    #[test]
    fn a_rate_schedule_changes_rate_at_a_time_or_a_request() {
        let ms = Duration::from_millis;
        let steady = RateSchedule::new(100.0, &[]);
        assert_eq!(steady.intended(0), Duration::ZERO);
        assert_eq!(steady.intended(250), ms(2500));
        // 100/s for 2 s (requests 0 to 199), then 1000/s from 2 s on.
        let by_time = RateSchedule::new(100.0, &[(RateChange::At(ms(2000)), 1000.0)]);
        assert_eq!(by_time.intended(199), ms(1990));
        assert_eq!(by_time.intended(200), ms(2000));
        assert_eq!(by_time.intended(300), ms(2100));
        // Then back down at request 1200 (3 s).
        let and_back = RateSchedule::new(
            100.0,
            &[
                (RateChange::At(ms(2000)), 1000.0),
                (RateChange::AtRequest(1200), 10.0),
            ],
        );
        assert_eq!(and_back.intended(1200), ms(3000));
        assert_eq!(and_back.intended(1201), ms(3100));
        // A change between two sends takes effect at its time.
        let odd = RateSchedule::new(3.0, &[(RateChange::At(ms(500)), 2.0)]);
        assert_eq!(odd.intended(1), Duration::from_secs_f64(1.0 / 3.0));
        assert_eq!(odd.intended(2), ms(500));
        assert_eq!(odd.intended(3), ms(1000));
    }

    #[test]
    fn a_schedule_counts_the_requests_meant_before_a_time() {
        let ms = Duration::from_millis;
        let steady = RateSchedule::new(100.0, &[]);
        assert_eq!(steady.scheduled_before(Duration::ZERO), 0);
        assert_eq!(steady.scheduled_before(ms(1000)), 100);
        // Requests 0..=50 are meant before 505 ms.
        assert_eq!(steady.scheduled_before(ms(505)), 51);
        let staged = RateSchedule::new(100.0, &[(RateChange::At(ms(1000)), 200.0)]);
        assert_eq!(staged.scheduled_before(ms(1000)), 100);
        assert_eq!(staged.scheduled_before(ms(1500)), 200);
        for request in [0, 99, 100, 150, 199] {
            let at = staged.intended(request);
            assert!(staged.scheduled_before(at) <= request, "{request}");
            assert!(staged.scheduled_before(at + ms(1)) > request, "{request}");
        }
    }

    #[test]
    fn a_timeline_spreads_each_second_and_keeps_the_gaps() {
        let ms = Duration::from_millis;
        // 4 reads at 100 s, none at 101, 2 at 102: replayed twice as fast.
        let schedule = RateSchedule::from_timeline(&[(100_000, 4), (102_000, 2)], 1000, 2.0);
        let times: Vec<Duration> = (0..6).map(|request| schedule.intended(request)).collect();
        assert_eq!(
            times,
            [ms(0), ms(125), ms(250), ms(375), ms(1000), ms(1250)]
        );
        assert_eq!(schedule.scheduled_before(ms(1)), 1);
        assert_eq!(schedule.scheduled_before(ms(376)), 4);
        // In the gap, nothing more is due.
        assert_eq!(schedule.scheduled_before(ms(900)), 4);
        assert_eq!(schedule.scheduled_before(ms(1001)), 5);
        // After the last run its rate goes on (4/s): the trace's end stops
        // the requests.
        assert_eq!(schedule.scheduled_before(ms(5000)), 4 + 16);
    }
}
