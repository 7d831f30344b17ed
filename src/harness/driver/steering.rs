//! What a scenario changes on the driver's side of a phase: the keys asked
//! for (a moved hot set), the events due before given requests, and an
//! open loop's schedule with its rate changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::geecache::peers::BoxFuture;
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

    /// How many requests are meant to be sent before `end` (time since
    /// the start).
    pub fn scheduled_before(&self, end: Duration) -> u64 {
        let &(first, offset, rate) = self
            .segments
            .iter()
            .rev()
            .find(|segment| segment.1 < end)
            .unwrap_or(&self.segments[0]);
        first + (end.saturating_sub(offset).as_secs_f64() * rate).ceil() as u64
    }

    /// When request `request` is meant to be sent, as time since the start.
    pub fn intended(&self, request: u64) -> Duration {
        let &(first, offset, rate) = self
            .segments
            .iter()
            .rev()
            .find(|segment| segment.0 <= request)
            .unwrap_or(&self.segments[0]);
        offset + Duration::from_secs_f64((request - first) as f64 / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
