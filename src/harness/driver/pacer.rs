//! An open loop's pacer: a thread that releases each request at its
//! intended time, one semaphore permit per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::steering::RateSchedule;
use crate::harness::shard::Shard;
use crate::harness::workload::Bound;

/// An open loop's pacer: a thread that lets each request go when its
/// intended time comes, one permit per request. tokio's timer ticks once a
/// millisecond, so a request that slept on it went out up to 2 ms late,
/// and its latency from the intended send counted the delay (a median of
/// 1.5 ms at 1000 req/s against a 48 us service time); a thread's sleep is
/// late by the kernel's timer slack, 50 us by default.
pub(super) struct Pacer {
    /// One for each request whose time has come.
    pub(super) permits: tokio::sync::Semaphore,
    /// Set when the phase is over.
    pub(super) finished: AtomicBool,
}

/// What the pacer follows of a phase.
pub(super) struct Pacing<'a> {
    /// The open loop's schedule; `None` lets every request go.
    pub(super) schedule: Option<&'a RateSchedule>,
    /// The share of the schedule this driver sends.
    pub(super) shard: Shard,
    /// How many requests or how long.
    pub(super) bound: Bound,
    /// When the phase begins.
    pub(super) start: Instant,
    /// No request goes after this.
    pub(super) time_limit: Instant,
    /// Set to stop the phase.
    pub(super) stop: &'a AtomicBool,
    /// Set by the pacer when it stopped at the time limit.
    pub(super) hit_time_limit: &'a AtomicBool,
}

/// How late after the end of an open loop's duration a request due before
/// it may still go: far beyond the pacer's lateness, far below a backlog's.
pub(super) const BEHIND: Duration = Duration::from_millis(1);

/// The longest the pacer sleeps before it looks at the stop flags again.
const PACER_NAP: Duration = Duration::from_millis(10);

/// How long the pacer sleeps while the loop is behind its schedule.
const PACER_NAP_BEHIND: Duration = Duration::from_millis(1);

/// The pacer's thread: releases each request of `state`'s schedule at its
/// intended time (all that are due at once when it wakes late) until the
/// phase's bound, its time limit or a stop. After the last request of a
/// count, one more permit per worker lets each waiting worker find the
/// count done; at a duration's end (after [`BEHIND`], for requests
/// released just before it), the time limit or a stop, the permits close,
/// and the waiting workers stop.
pub(super) fn pace(state: &Pacing<'_>, pacer: &Pacer, workers: usize) {
    let Some(schedule) = state.schedule else {
        pacer.permits.add_permits(workers);
        return;
    };
    let time_limit = state.time_limit;
    let (cap, end) = match state.bound {
        Bound::Requests(count) => (count, time_limit),
        Bound::Duration(length) => (u64::MAX, (state.start + length + BEHIND).min(time_limit)),
    };
    let mut released = 0u64;
    while !pacer.finished.load(Ordering::Relaxed) && !state.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            if now >= time_limit {
                state.hit_time_limit.store(true, Ordering::Relaxed);
            }
            break;
        }
        // A phase given a start still to come: nothing is due before it.
        if now < state.start {
            std::thread::sleep((state.start - now).min(PACER_NAP));
            continue;
        }
        // Every request meant to go at or before now.
        let since = now.saturating_duration_since(state.start) + Duration::from_nanos(1);
        let due = schedule.scheduled_before_for(state.shard, since).min(cap);
        // Permits left from the last release: every worker is busy, the
        // loop is behind, and releasing on time serves nothing, so the
        // pacer naps long and leaves the cores to the cluster.
        let behind = pacer.permits.available_permits() > 0;
        if due > released {
            pacer
                .permits
                .add_permits(usize::try_from(due - released).unwrap_or(usize::MAX));
            released = due;
        }
        if released >= cap {
            pacer.permits.add_permits(workers);
            return;
        }
        let next = state.start + schedule.intended_for(state.shard, released);
        let nap = if behind {
            PACER_NAP_BEHIND
        } else {
            next.saturating_duration_since(Instant::now())
                .min(PACER_NAP)
        };
        std::thread::sleep(nap.min(end.saturating_duration_since(Instant::now())));
    }
    pacer.permits.close();
}
